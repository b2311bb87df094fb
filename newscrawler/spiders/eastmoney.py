"""``scrapy crawl eastmoney``: feeds -> text API (-> article page) -> Article items.

Navigation only: which request next, with which callback. The parsers of
:mod:`newscrawler.sources.eastmoney` turn responses into values.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response

from newscrawler.ids import extract_code, split_list_arg
from newscrawler.outcomes import failure_reason
from newscrawler.sources.eastmoney import FeedEntry, FeedParser, SourceError, entries_by_code
from newscrawler.spiders.text import ArticleTextMixin, content_type_encoding, failed_url

logger = logging.getLogger(__name__)


class EastmoneySpider(ArticleTextMixin, Spider):
    name = "eastmoney"

    def __init__(
        self,
        *args: Any,
        feeds: str | None = None,
        codes: str | None = None,
        default_feeds: list[str] | None = None,
        text_url: str = "",
        article_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.feed_urls = list(dict.fromkeys(split_list_arg(feeds) if feeds else (default_feeds or [])))
        self.code_args = split_list_arg(codes) if codes else []
        self.text_url = text_url
        self.article_url = article_url
        self.feed_parser = FeedParser()
        self._init_text_parsers()
        self._feed_entries: dict[int, list[FeedEntry]] = {}
        self._feeds_pending = len(self.feed_urls) if not self.code_args else 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> EastmoneySpider:
        settings = crawler.settings
        kwargs.setdefault("default_feeds", settings.getlist("EASTMONEY_FEEDS"))
        kwargs.setdefault("text_url", settings.get("EASTMONEY_TEXT_URL"))
        kwargs.setdefault("article_url", settings.get("EASTMONEY_ARTICLE_URL"))
        spider = cls(*args, **kwargs)
        spider._set_crawler(crawler)
        return spider

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.code_args:
            for raw in self.code_args:
                code = extract_code(raw)
                if code is None:
                    self._inc("errors", "bad_code_argument")
                    logger.error("Not an article code, infoCode or article URL: %r", raw)
                    continue
                yield self.text_request(FeedEntry(code=code, kind="", shape="codes"), explicit=True)
            return
        if not self.feed_urls:
            logger.warning("No feeds configured: set EASTMONEY_FEEDS or pass -a feeds=URL")
        for index, url in enumerate(self.feed_urls):
            yield Request(
                url,
                callback=self.parse_feed,
                errback=self.feed_failed,
                cb_kwargs={"index": index},
                dont_filter=True,
            )

    # --- feeds -------------------------------------------------------------------------------

    def parse_feed(self, response: Response, index: int) -> Iterator[Request]:
        try:
            result = self.feed_parser.parse(response.body, response.url, content_type_encoding(response))
        except SourceError as exc:
            self._inc("errors", f"feed_{exc.reason}")
            self._inc("feeds", "failed")
            logger.error("Feed %s unreadable (%s): %s", response.url, exc.reason, exc.detail)
            self._feed_entries[index] = []
        else:
            if result.charset_mismatch:
                self._inc("errors", "feed_charset_mismatch")
                logger.warning("Feed %s is not UTF-8 as JSON must be; read it as GB18030", response.url)
            if result.invalid:
                self._inc("dropped", "feed_entry_no_code", count=result.invalid)
                logger.warning(
                    "Feed %s: %d entries without a valid article code: %s",
                    response.url,
                    result.invalid,
                    ", ".join(repr(code) for code in result.invalid_codes[:20])
                    + (", ..." if len(result.invalid_codes) > 20 else ""),
                )
            self._inc("feeds", "ok")
            self._inc("feeds", "entries", count=len(result.entries))
            logger.info("Feed %s (%s): %d entries", response.url, result.shape, len(result.entries))
            self._feed_entries[index] = result.entries
        yield from self._feed_done()

    def feed_failed(self, failure: Any) -> Iterator[Request]:
        reason = failure_reason(failure)
        self._inc("errors", f"feed_{reason}")
        self._inc("feeds", "failed")
        logger.error("Feed %s failed: %s", failed_url(failure.request), reason)
        self._feed_entries[failure.request.cb_kwargs["index"]] = []
        yield from self._feed_done()

    def _feed_done(self) -> Iterator[Request]:
        """After the last feed answered, request every article once, in feed order, so
        that which feed's entry wins for a shared code does not depend on timing."""
        self._feeds_pending -= 1
        if self._feeds_pending > 0:
            return
        ordered = [e for i in sorted(self._feed_entries) for e in self._feed_entries[i]]
        chosen = entries_by_code(ordered)
        if len(ordered) > len(chosen):
            self._inc("duplicates", "in_feeds", count=len(ordered) - len(chosen))
        for entry in chosen.values():
            yield self.text_request(entry)
