"""Project commands (``COMMANDS_MODULE``): ``crawl`` overrides Scrapy's own, see :mod:`.crawl`."""
