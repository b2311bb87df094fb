"""Fetching one article's text, shared by the spiders: text API, then article page.

:class:`ArticleTextMixin` is navigation only: it asks the text API for an article
(``EASTMONEY_TEXT_URL``), falls back to the article page (``EASTMONEY_ARTICLE_URL``)
when the API fails, answers garbage or has no text, and yields an :class:`Article`.
A spider using it sets ``text_url`` and ``article_url`` and may override
:meth:`ArticleTextMixin.no_text` to decide what happens when both sources fail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response
from w3lib.encoding import http_content_type_encoding

from newscrawler.ids import info_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.outcomes import counter, failure_reason, requested_url
from newscrawler.sources.eastmoney import (
    ArticlePageParser,
    ArticleText,
    FeedEntry,
    SourceError,
    TextApiParser,
    decode_html_checked,
    merge_text,
)

logger = logging.getLogger(__name__)

#: Request meta key naming the article a request is for (used by the skip-known middleware).
ARTICLE_CODE_META = "newscrawler_article_code"
#: Request meta key set on requests for articles the user asked for by ``-a codes``.
EXPLICIT_META = "newscrawler_explicit"


def content_type_encoding(response: Response) -> str | None:
    return http_content_type_encoding((response.headers.get(b"Content-Type") or b"").decode("latin-1"))


def failed_url(request: Request) -> str:
    """The URL a failed request was made for, and where its redirects led, for the log."""
    first = requested_url(request)
    return first if first == request.url else f"{first} (redirected to {request.url})"


class ArticleTextMixin:
    """Text API -> article page -> :class:`Article`, for any spider."""

    crawler: Any
    text_url: str = ""
    article_url: str = ""

    def _init_text_parsers(self) -> None:
        self.text_parser = TextApiParser()
        self.page_parser = ArticlePageParser()

    def _inc(self, *parts: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(counter(*parts), count)

    def text_request(self, entry: FeedEntry, explicit: bool = False) -> Request:
        return Request(
            self.text_url.format(info_code=info_code(entry.code), code=entry.code),
            callback=self.parse_text,
            errback=self.text_failed,
            cb_kwargs={"entry": entry},
            meta={ARTICLE_CODE_META: entry.code, EXPLICIT_META: explicit},
        )

    def page_request(self, entry: FeedEntry, text: ArticleText | None, meta: dict[str, Any]) -> Request:
        return Request(
            self.article_url.format(code=entry.code, info_code=info_code(entry.code)),
            callback=self.parse_page,
            errback=self.page_failed,
            cb_kwargs={"entry": entry, "text": text},
            meta={ARTICLE_CODE_META: entry.code, EXPLICIT_META: meta.get(EXPLICIT_META, False)},
        )

    def parse_text(self, response: Response, entry: FeedEntry) -> Iterator[Request | Article]:
        try:
            text = self.text_parser.parse(response.body, response.url, content_type_encoding(response))
        except SourceError as exc:
            self._inc("errors", f"text_api_{exc.reason}")
            logger.warning(
                "Text API %s unusable (%s), falling back to the article page", response.url, exc.reason
            )
            yield self.page_request(entry, None, response.meta)
            return
        if text.charset_mismatch:
            self._inc("errors", "text_api_charset_mismatch")
            logger.warning("Text API %s is not UTF-8 as JSON must be; read it as GB18030", response.url)
        if not text.body:
            self._inc("fallback", "text_api_no_text")
            logger.info("Text API %s has no text, falling back to the article page", response.url)
            yield self.page_request(entry, text, response.meta)
        elif self._missing_metadata(entry, text):
            self._inc("fallback", "text_api_no_metadata")
            yield self.page_request(entry, text, response.meta)
        else:
            self._inc("text", "from_text_api")
            yield self.build_article(entry, text, response.url)

    def text_failed(self, failure: Any) -> Iterator[Request]:
        reason = failure_reason(failure)
        request = failure.request
        if reason == "ignored":
            return
        self._inc("errors", f"text_api_{reason}")
        logger.warning(
            "Text API %s failed (%s), falling back to the article page", failed_url(request), reason
        )
        yield self.page_request(request.cb_kwargs["entry"], None, request.meta)

    def parse_page(self, response: Response, entry: FeedEntry, text: ArticleText | None) -> Iterator[Article]:
        html, mislabelled = decode_html_checked(response.body, content_type_encoding(response))
        if mislabelled:
            self._inc("errors", "article_page_charset_mismatch")
            logger.warning(
                "Article page %s is not in the charset it declares; decoded by its bytes", response.url
            )
        try:
            page = self.page_parser.parse(response.url, html)
        except SourceError as exc:
            self._inc("errors", f"article_page_{exc.reason}")
            logger.error("Article page %s unusable: %s", response.url, exc.reason)
            page = None
        merged = merge_text(text, page)
        if not merged.body:
            yield from self.no_text(entry, f"text API and article page {response.url} both failed")
            return
        if page is not None and page.body and not (text and text.body):
            self._inc("text", "from_article_page")
        else:
            self._inc("text", "from_text_api")
        yield self.build_article(entry, merged, response.url)

    def page_failed(self, failure: Any) -> Iterator[Article]:
        reason = failure_reason(failure)
        request = failure.request
        if reason == "ignored":
            return
        entry: FeedEntry = request.cb_kwargs["entry"]
        text: ArticleText | None = request.cb_kwargs["text"]
        self._inc("errors", f"article_page_{reason}")
        if text is not None and text.body:
            logger.warning(
                "Article page %s failed (%s); using the text API's answer", failed_url(request), reason
            )
            yield self.build_article(entry, text, requested_url(request))
            return
        yield from self.no_text(entry, f"article page {failed_url(request)} failed ({reason})")

    def no_text(self, entry: FeedEntry, why: str) -> Iterator[Article]:
        """Both sources failed: count it and log it. Spiders with another source override this."""
        self._inc("errors", "no_text")
        logger.error("No text for article %s: %s", entry.code, why)
        return iter(())

    @staticmethod
    def _missing_metadata(entry: FeedEntry, text: ArticleText) -> bool:
        if not (entry.title or text.title) or not (entry.date_raw or text.date_raw):
            return True
        return not entry.kind and not text.outlet

    def build_article(self, entry: FeedEntry, text: ArticleText, url: str) -> Article:
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
            base_url=self.article_url.format(code=entry.code, info_code=info_code(entry.code)),
            sources=sources,
        )
