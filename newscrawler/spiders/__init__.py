"""Spiders: navigation only. Parsing lives in :mod:`newscrawler.sources`."""
