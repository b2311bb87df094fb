"""Development helpers: the loopback fixture server and ``make demo``."""
