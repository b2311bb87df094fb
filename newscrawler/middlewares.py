"""Downloader middleware: skip articles the archive already has, before fetching them, and
requests for a text source the run switched off."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from newscrawler.outcomes import counter
from newscrawler.session import ArchiveSession
from newscrawler.spiders.text import ARTICLE_CODE_META, EXPLICIT_META, TEXT_SOURCE_META, SourceDisabled

logger = logging.getLogger(__name__)


class SkipKnownArticlesMiddleware:
    """A request for an article (``meta[newscrawler_article_code]``) that the store
    already knows — archived, or refused for good by an earlier run (a duplicate story,
    no date ...) — is dropped before it is sent: a scheduled run over unchanged feeds
    makes no article requests. Articles asked for by ``-a codes`` are fetched anyway
    (the dedup pipeline still keeps one post per code)."""

    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.crawler = crawler
        self.session = session

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SkipKnownArticlesMiddleware:
        return cls(crawler, ArchiveSession.from_crawler(crawler))

    def process_request(self, request: Request) -> Any:
        code = request.meta.get(ARTICLE_CODE_META)
        if not code:
            return None
        if request.meta.get(EXPLICIT_META):
            self._check_source(request)
            return None
        if self.session.open().has(code):
            self.stats.inc_value(counter("skipped", "known"))
            logger.debug("Skipping %s: article %s is already archived", request.url, code)
            raise IgnoreRequest(f"article {code} is already archived")
        if self.session.is_rejected(code):
            self.stats.inc_value(counter("skipped", "rejected"))
            logger.debug("Skipping %s: article %s was refused by an earlier run", request.url, code)
            raise IgnoreRequest(f"article {code} was refused by an earlier run")
        self._check_source(request)
        return None

    def _check_source(self, request: Request) -> None:
        """A request queued for a text source that has since been switched off (its host
        is gone) is not sent: the spider moves the article on to the next source."""
        source = request.meta.get(TEXT_SOURCE_META)
        breaker = getattr(self.crawler.spider, "breaker", None)
        if source and breaker is not None and breaker.is_disabled(source):
            raise SourceDisabled(f"text source {source} is switched off for this run")
