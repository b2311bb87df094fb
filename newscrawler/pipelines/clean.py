"""Cleaning: the body sanitized (:mod:`newscrawler.cleaning.body`), the digest as text."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from newscrawler.archive.post import digest_text
from newscrawler.archive.session import ArchiveSession
from newscrawler.cleaning.body import clean_body
from newscrawler.items import KIND_EMNEWS, Article
from newscrawler.outcomes import Counters
from newscrawler.pipelines.base import drop


class CleanPipeline:
    """Sanitizes the body (docs/contract.md "Cleaning rules") and the rolling-news digest; drops empty bodies."""

    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.counters = Counters(crawler.stats)
        self.session = session

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler, ArchiveSession.from_crawler(crawler))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if not (item.body_cleaned and item.body_raw):
            item.body = clean_body(item.body_raw or item.body, base_url=item.base_url or item.url)
            item.body_cleaned = True
        if item.kind == KIND_EMNEWS:
            item.digest = digest_text(item.digest)
        if not item.body:
            raise drop(self.counters, self.session, item, "empty_body")
        return item
