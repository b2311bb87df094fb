"""Downloader middleware: skip articles the archive already has, before fetching them, and
requests for a text source the run switched off."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from newscrawler.archive.session import ArchiveSession
from newscrawler.outcomes import Counters, failure_reason
from newscrawler.requestmeta import ARTICLE_CODE_META, EXPLICIT_META, TEXT_SOURCE_META
from newscrawler.sources.textsources import CONNECTION_FAILURES, SOURCE_LABELS

logger = logging.getLogger(__name__)


class SourceDisabled(IgnoreRequest):
    """A queued request for a text source the breaker switched off: the article moves on
    to the next source (raised by :class:`SkipKnownArticlesMiddleware`)."""


class SkipKnownArticlesMiddleware:
    """A request for an article (``meta[newscrawler_article_code]``) that the store
    already knows — archived, or refused for good by an earlier run (a duplicate story,
    no date ...) — is dropped before it is sent: a scheduled run over unchanged feeds
    makes no article requests. Articles asked for by ``-a codes`` are fetched anyway
    (the dedup pipeline still keeps one post per code)."""

    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.counters = Counters(crawler.stats)
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
        if self.session.is_archived(code):
            self.counters.inc("skipped", "known")
            logger.debug("Skipping %s: article %s is already archived", request.url, code)
            raise IgnoreRequest(f"article {code} is already archived")
        refused = self.session.rejection(code)
        if refused is not None:
            self.session.run.skipped_rejected.append({"code": str(code), "reason": refused})
            self.counters.inc("skipped", "rejected")
            logger.debug("Skipping %s: article %s was refused by an earlier run", request.url, code)
            raise IgnoreRequest(f"article {code} was refused by an earlier run")
        self.session.run.unarchived.add(code)
        self._check_source(request)
        return None

    def _check_source(self, request: Request) -> None:
        """A request queued for a text source that has since been switched off (its host
        is gone) is not sent: the spider moves the article on to the next source."""
        source = request.meta.get(TEXT_SOURCE_META)
        breaker = getattr(self.crawler.spider, "breaker", None)
        if source and breaker is not None and breaker.is_disabled(source):
            raise SourceDisabled(f"text source {source} is switched off for this run")


class TextSourceBreakerMiddleware:
    """Feeds the spider's :class:`~newscrawler.spiders.text.SourceBreaker`: every attempt
    at a text source that fails at the connection level (refused, DNS, timeout) counts
    for its article, every answer (even an HTTP error) resets the source's count. Placed
    closer to the downloader than Scrapy's RetryMiddleware, so attempts count as they
    fail, before they are retried; once the source is off, the queued requests and
    retries for it are not sent (:meth:`SkipKnownArticlesMiddleware._check_source`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.counters = Counters(crawler.stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TextSourceBreakerMiddleware:
        return cls(crawler)

    def _source(self, request: Request) -> str:
        source = request.meta.get(TEXT_SOURCE_META)
        return source if isinstance(source, str) else ""

    def process_response(self, request: Request, response: Response) -> Response:
        source = self._source(request)
        breaker = getattr(self.crawler.spider, "breaker", None)
        if source and breaker is not None:
            breaker.answered(source)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        source = self._source(request)
        breaker = getattr(self.crawler.spider, "breaker", None)
        if not source or breaker is None:
            return
        reason = failure_reason(exception)
        if reason not in CONNECTION_FAILURES:
            return
        if breaker.failed(source, str(request.meta.get(ARTICLE_CODE_META, request.url))):
            self.counters.inc("text", f"{source}_disabled")
            logger.error(
                "%s failed at the connection level for %d articles in a row (last: %s, %s): "
                "not asked again in this run",
                SOURCE_LABELS.get(source, source),
                breaker.threshold,
                request.url,
                reason,
            )
