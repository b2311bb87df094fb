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
from w3lib.encoding import http_content_type_encoding

from newscrawler.ids import extract_code, info_code, split_list_arg
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.outcomes import counter, failure_reason
from newscrawler.sources.eastmoney import (
    ArticlePageParser,
    ArticleText,
    FeedEntry,
    FeedParser,
    SourceError,
    TextApiParser,
    decode_html,
    entries_by_code,
    merge_text,
)

logger = logging.getLogger(__name__)

#: Request meta key naming the article a request is for (used by the skip-known middleware).
ARTICLE_CODE_META = "newscrawler_article_code"
#: Request meta key set on requests for articles the user asked for by ``-a codes``.
EXPLICIT_META = "newscrawler_explicit"


class EastmoneySpider(Spider):
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
        self.text_parser = TextApiParser()
        self.page_parser = ArticlePageParser()
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

    # --- helpers -------------------------------------------------------------------------

    def _inc(self, *parts: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(counter(*parts), count)

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.code_args:
            for raw in self.code_args:
                code = extract_code(raw)
                if code is None:
                    self._inc("errors", "bad_code_argument")
                    logger.error("Not an article code, infoCode or article URL: %r", raw)
                    continue
                yield self._text_request(FeedEntry(code=code, kind="", shape="codes"), explicit=True)
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
        declared = http_content_type_encoding((response.headers.get(b"Content-Type") or b"").decode("latin-1"))
        try:
            result = self.feed_parser.parse(response.body, response.url, declared)
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
                    "Feed %s: %d entries without a valid article code", response.url, result.invalid
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
        logger.error("Feed %s failed: %s", failure.request.url, reason)
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
            yield self._text_request(entry)

    # --- article text --------------------------------------------------------------------------

    def _text_request(self, entry: FeedEntry, explicit: bool = False) -> Request:
        return Request(
            self.text_url.format(info_code=info_code(entry.code), code=entry.code),
            callback=self.parse_text,
            errback=self.text_failed,
            cb_kwargs={"entry": entry},
            meta={ARTICLE_CODE_META: entry.code, EXPLICIT_META: explicit},
        )

    def _page_request(self, entry: FeedEntry, text: ArticleText | None, meta: dict[str, Any]) -> Request:
        return Request(
            self.article_url.format(code=entry.code, info_code=info_code(entry.code)),
            callback=self.parse_page,
            errback=self.page_failed,
            cb_kwargs={"entry": entry, "text": text},
            meta={ARTICLE_CODE_META: entry.code, EXPLICIT_META: meta.get(EXPLICIT_META, False)},
        )

    def parse_text(self, response: Response, entry: FeedEntry) -> Iterator[Request | Article]:
        try:
            text = self.text_parser.parse(response.body, response.url)
        except SourceError as exc:
            self._inc("errors", f"text_api_{exc.reason}")
            logger.warning(
                "Text API %s unusable (%s), falling back to the article page", response.url, exc.reason
            )
            yield self._page_request(entry, None, response.meta)
            return
        if not text.body:
            self._inc("fallback", "text_api_no_text")
            logger.info("Text API %s has no text, falling back to the article page", response.url)
            yield self._page_request(entry, text, response.meta)
        elif self._missing_metadata(entry, text):
            self._inc("fallback", "text_api_no_metadata")
            yield self._page_request(entry, text, response.meta)
        else:
            self._inc("text", "from_text_api")
            yield self._article(entry, text, response.url)

    def text_failed(self, failure: Any) -> Iterator[Request]:
        reason = failure_reason(failure)
        request = failure.request
        if reason == "ignored":
            return
        self._inc("errors", f"text_api_{reason}")
        logger.warning("Text API %s failed (%s), falling back to the article page", request.url, reason)
        yield self._page_request(request.cb_kwargs["entry"], None, request.meta)

    def parse_page(self, response: Response, entry: FeedEntry, text: ArticleText | None) -> Iterator[Article]:
        declared = http_content_type_encoding((response.headers.get(b"Content-Type") or b"").decode("latin-1"))
        try:
            page = self.page_parser.parse(response.url, decode_html(response.body, declared))
        except SourceError as exc:
            self._inc("errors", f"article_page_{exc.reason}")
            logger.error("Article page %s unusable: %s", response.url, exc.reason)
            page = None
        merged = merge_text(text, page)
        if not merged.body:
            self._inc("errors", "no_text")
            logger.error(
                "No text for article %s: text API and article page %s both failed", entry.code, response.url
            )
            return
        if page is not None and page.body and not (text and text.body):
            self._inc("text", "from_article_page")
        else:
            self._inc("text", "from_text_api")
        yield self._article(entry, merged, response.url)

    def page_failed(self, failure: Any) -> Iterator[Article]:
        reason = failure_reason(failure)
        request = failure.request
        if reason == "ignored":
            return
        entry: FeedEntry = request.cb_kwargs["entry"]
        text: ArticleText | None = request.cb_kwargs["text"]
        self._inc("errors", f"article_page_{reason}")
        if text is not None and text.body:
            logger.warning("Article page %s failed (%s); using the text API's answer", request.url, reason)
            yield self._article(entry, text, request.url)
            return
        self._inc("errors", "no_text")
        logger.error("No text for article %s: article page %s failed (%s)", entry.code, request.url, reason)

    # --- items ---------------------------------------------------------------------------------

    @staticmethod
    def _missing_metadata(entry: FeedEntry, text: ArticleText) -> bool:
        if not (entry.title or text.title) or not (entry.date_raw or text.date_raw):
            return True
        return not entry.kind and not text.outlet

    def _article(self, entry: FeedEntry, text: ArticleText, url: str) -> Article:
        kind = entry.kind or (KIND_OUTLET if (entry.outlet or text.outlet) else KIND_EMNEWS)
        digest = entry.digest or (text.summary if kind == KIND_EMNEWS else "")
        source_url = entry.url_w or self.article_url.format(code=entry.code, info_code=info_code(entry.code))
        sources = [s for s in (entry.shape, "text") if s]
        return Article(
            code=entry.code,
            kind=kind,
            title_raw=entry.title or text.title,
            date_raw=entry.date_raw or text.date_raw,
            outlet=entry.outlet or text.outlet,
            body_raw=text.body,
            digest=digest,
            source_url=source_url if kind == KIND_EMNEWS else "",
            url=url,
            sources=sources,
        )
