"""The seen-articles store: the record and the protocol (base), in memory, in SQLite."""
