"""newscrawler: a Scrapy project that archives Chinese financial news as Jekyll posts."""

__version__ = "0.1.0"
