"""Fetching one article's text, shared by the spiders: the text sources of docs/contract.md "Sources" in order.

:class:`ArticleTextMixin` is navigation only. It asks the configured sources for an
article one after the other — the legacy text API (``EASTMONEY_TEXT_URL``), the article
API (``EASTMONEY_ARTICLE_API_URL``), the article page (``EASTMONEY_ARTICLE_URL``); an
empty URL turns a source off — moving on when a source fails, answers garbage, has no
text or lacks the title or date, and yields an :class:`Article`. A source that fails at
the connection level for :data:`BREAKER_THRESHOLD` articles in a row is not asked again
in the run (:class:`SourceBreaker`). A spider may override :meth:`ArticleTextMixin.no_text`
to decide what happens when no source has the text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from newscrawler.archive.session import ArchiveSession
from newscrawler.cleaning.body import clean_body
from newscrawler.ids import CANONICAL_ARTICLE_URL, info_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.middlewares import SourceDisabled
from newscrawler.outcomes import Counters, failed_request, failure_reason, requested_url
from newscrawler.requestmeta import ARTICLE_CODE_META, EXPLICIT_META, FOLLOW_UP_META, TEXT_SOURCE_META
from newscrawler.sources.eastmoney.article_api import ArticleApiParser
from newscrawler.sources.eastmoney.article_page import ArticlePageParser
from newscrawler.sources.eastmoney.common import ArticleText, SourceError, decode_html_checked, merge_text
from newscrawler.sources.eastmoney.feeds import FeedEntry
from newscrawler.sources.eastmoney.text_api import TextApiParser
from newscrawler.sources.textsources import (
    ARTICLE_API,
    ARTICLE_PAGE,
    SOURCE_LABELS,
    TEXT_API,
    SourceBreaker,
    TextSource,
)

logger = logging.getLogger(__name__)


def content_type_encoding(response: Response) -> str | None:
    return http_content_type_encoding((response.headers.get(b"Content-Type") or b"").decode("latin-1"))


def failed_url(request: Request) -> str:
    """The URL a failed request was made for, and where its redirects led, for the log."""
    first = requested_url(request)
    return first if first == request.url else f"{first} (redirected to {request.url})"


def referer_for(url: str, referers: Mapping[str, str]) -> str:
    """The ``Referer`` the source's own pages send (``EASTMONEY_REFERERS``: a URL fragment ->
    referer; the first fragment found in *url* wins), or ""."""
    return next((referer for fragment, referer in referers.items() if fragment and fragment in url), "")


class ArticleTextMixin:
    """The text sources of docs/contract.md "Sources" in order -> :class:`Article`, for any spider."""

    crawler: Crawler
    text_url: str = ""
    article_api_url: str = ""
    article_url: str = ""
    #: URL fragment -> the ``Referer`` that source's own pages send.
    referers: Mapping[str, str]
    #: Request meta keys carried from one source's request to the next.
    CHAIN_META: ClassVar[tuple[str, ...]] = (EXPLICIT_META, FOLLOW_UP_META)

    def _init_text_parsers(self) -> None:
        self.text_parser = TextApiParser()
        self.api_parser = ArticleApiParser()
        self.page_parser = ArticlePageParser()
        self.breaker = SourceBreaker()
        self.text_sources = [
            TextSource(name, template)
            for name, template in (
                (TEXT_API, self.text_url),
                (ARTICLE_API, self.article_api_url),
                (ARTICLE_PAGE, self.article_url),
            )
            if template
        ]
        if not hasattr(self, "referers"):
            self.referers = {}

    def _inc(self, *parts: str, count: int = 1) -> None:
        Counters(self.crawler.stats).inc(*parts, count=count)

    def article_page_url(self, code: str) -> str:
        return self.article_url.format(code=code, info_code=info_code(code)) if self.article_url else ""

    # --- the chain ------------------------------------------------------------------------

    def text_requests(
        self,
        entry: FeedEntry,
        explicit: bool = False,
        meta: Mapping[str, Any] | None = None,
        *,
        follow_up: bool = False,
    ) -> Iterator[Request | Article]:
        """The first source's request for *entry* (or, with no source on, the outcome);
        *meta* (keys of :attr:`CHAIN_META`) goes along from one source to the next.
        *follow_up*: asked while handling a response for the same article (its page)."""
        chain_meta = {**(meta or {}), EXPLICIT_META: explicit, FOLLOW_UP_META: follow_up}
        yield from self._ask(entry, 0, (), chain_meta, "no text source is configured")

    def _ask(
        self, entry: FeedEntry, step: int, texts: tuple[ArticleText, ...], meta: Mapping[str, Any], why: str
    ) -> Iterator[Request | Article]:
        """Ask source number *step* or the next one that is on; after the last, build the
        article from what the sources said (or give up: :meth:`no_text`)."""
        if step > 0:  # the next source, after one that answered or failed
            meta = {**meta, FOLLOW_UP_META: True}
        while step < len(self.text_sources) and self.breaker.is_disabled(self.text_sources[step].name):
            step += 1
        if step < len(self.text_sources):
            yield self._source_request(entry, step, texts, meta)
            return
        if not any(text.body and not text.blank for text in texts):
            yield from self.no_text(entry, why, meta, texts)
            return
        yield self._built(entry, texts)

    def _source_request(
        self, entry: FeedEntry, step: int, texts: tuple[ArticleText, ...], meta: Mapping[str, Any]
    ) -> Request:
        source = self.text_sources[step]
        url = source.url(entry.code)
        referer = referer_for(url, self.referers)
        return Request(
            url,
            callback=self.parse_source,
            errback=self.source_failed,
            cb_kwargs={"entry": entry, "step": step, "texts": texts},
            headers={"Referer": referer} if referer else None,
            meta={
                ARTICLE_CODE_META: entry.code,
                TEXT_SOURCE_META: source.name,
                # The chain goes on to the next source: giving up retrying is no error yet.
                "give_up_log_level": logging.WARNING,
                **{key: meta[key] for key in self.CHAIN_META if key in meta},
            },
        )

    def _read(self, source: TextSource, response: Response) -> ArticleText:
        if source.name == ARTICLE_PAGE:
            html, mislabelled = decode_html_checked(response.body, content_type_encoding(response))
            if mislabelled:
                self._inc("errors", "article_page_charset_mismatch")
                logger.warning(
                    "Article page %s is not in the charset it declares; decoded by its bytes", response.url
                )
            page = self.page_parser.parse(response.url, html)
            page.source = source.name
            return page
        parser = self.text_parser if source.name == TEXT_API else self.api_parser
        text = parser.parse(response.body, response.url, content_type_encoding(response))
        text.source = source.name
        if text.charset_mismatch:
            self._inc("errors", f"{source.name}_charset_mismatch")
            logger.warning(
                "%s %s is not UTF-8 as JSON must be; read it as GB18030",
                SOURCE_LABELS[source.name],
                response.url,
            )
        return text

    def parse_source(
        self, response: Response, entry: FeedEntry, step: int, texts: tuple[ArticleText, ...]
    ) -> Iterator[Request | Article]:
        source = self.text_sources[step]
        label = SOURCE_LABELS[source.name]
        try:
            text = self._read(source, response)
        except SourceError as exc:
            self._inc("errors", f"{source.name}_{exc.reason}")
            logger.warning("%s %s unusable (%s), trying the next source", label, response.url, exc.reason)
            yield from self._ask(entry, step + 1, texts, response.meta, f"{label} {response.url} unusable")
            return
        if text.body:
            # Cleaned once, here, against the base the article will have: the clean step
            # of the pipelines keeps it (Article.body_cleaned) instead of doing it again.
            text.cleaned = clean_body(text.body, self.article_page_url(entry.code) or source.url(entry.code))
            text.blank = not text.cleaned
        texts = (*texts, text)
        if not text.body or text.blank:
            self._inc("fallback", f"{source.name}_no_text")
            logger.info("%s %s has no text, trying the next source", label, response.url)
            yield from self._ask(entry, step + 1, texts, response.meta, f"{label} {response.url} has no text")
            return
        if self._missing_metadata(entry, merge_text(*texts)) and step + 1 < len(self.text_sources):
            self._inc("fallback", f"{source.name}_no_metadata")
            yield from self._ask(entry, step + 1, texts, response.meta, "")
            return
        yield self._built(entry, texts)

    def source_failed(self, failure: Failure) -> Iterator[Request | Article]:
        request = failed_request(failure)
        entry: FeedEntry = request.cb_kwargs["entry"]
        step: int = request.cb_kwargs["step"]
        texts: tuple[ArticleText, ...] = request.cb_kwargs["texts"]
        source = self.text_sources[step]
        label = SOURCE_LABELS[source.name]
        if isinstance(failure.value, SourceDisabled):
            yield from self._ask(entry, step + 1, texts, request.meta, f"{label} is switched off")
            return
        reason = failure_reason(failure)
        if reason == "ignored":
            return
        self._inc("errors", f"{source.name}_{reason}")
        logger.warning("%s %s failed (%s), trying the next source", label, failed_url(request), reason)
        yield from self._ask(
            entry, step + 1, texts, request.meta, f"{label} {failed_url(request)} failed ({reason})"
        )

    def _built(self, entry: FeedEntry, texts: tuple[ArticleText, ...]) -> Article:
        """The article from what the sources said: the body of the first that has text,
        each other field from the first that has it; counted under the body's source."""
        merged = merge_text(*texts)
        body = next((text for text in texts if text.body and not text.blank), None)
        if body is None:  # only blank bodies: the pipelines drop it (empty_body)
            body = next(text for text in texts if text.body)
        merged.body = body.body
        merged.cleaned = body.cleaned
        self._inc("text", f"from_{body.source}")
        if self.text_sources and body.source != self.text_sources[0].name:
            self._inc("text", "recovered")  # a later source had what the first did not
        api_text = next((t for t in texts if t.source == ARTICLE_API and t.body and not t.blank), None)
        return self.build_article(entry, merged, self._source_url_of(entry, body.source), preferred=api_text)

    def _source_url_of(self, entry: FeedEntry, name: str) -> str:
        source = next((s for s in self.text_sources if s.name == name), None)
        return source.url(entry.code) if source else ""

    def no_text(
        self, entry: FeedEntry, why: str, meta: Mapping[str, Any], texts: tuple[ArticleText, ...] = ()
    ) -> Iterator[Article]:
        """No source had text. A body that cleans to nothing goes on to the pipelines,
        which refuse it (``dropped/empty_body``); with no body at all it is counted and
        logged as lost. Spiders with another source override this."""
        if any(text.body for text in texts):
            yield self._built(entry, texts)
            return
        self._inc("errors", "no_text")
        logger.error("No text for article %s: %s", entry.code, why)
        ArchiveSession.from_crawler(self.crawler).lose(
            entry.code, self.article_page_url(entry.code), f"no_text: {why}"
        )

    @staticmethod
    def _missing_metadata(entry: FeedEntry, text: ArticleText) -> bool:
        if not (entry.title or text.title) or not (entry.date_raw or text.date_raw):
            return True
        if entry.kind == KIND_OUTLET:
            return not (entry.outlet or text.outlet)
        return not entry.kind and not text.outlet

    def build_article(
        self, entry: FeedEntry, text: ArticleText, url: str, preferred: ArticleText | None = None
    ) -> Article:
        """The article of *entry* with *text*'s body. The feed's title, date and outlet win
        (docs/contract.md "Sources") unless the entry says otherwise (``metadata_wins``): then the article
        API's (*preferred*) do."""
        first: tuple[object, ...] = (
            (entry, text) if entry.metadata_wins or preferred is None else (preferred, entry, text)
        )

        def pick(name: str) -> str:
            return next((str(getattr(s, name)) for s in first if getattr(s, name, "")), "")

        outlet = pick("outlet")
        kind = entry.kind or (KIND_OUTLET if outlet else KIND_EMNEWS)
        if kind == KIND_OUTLET and not outlet:
            outlet = entry.outlet or text.outlet
        digest = entry.digest or (text.summary if kind == KIND_EMNEWS else "")
        page_url = self.article_page_url(entry.code)
        source_url = entry.url_w or page_url or text.url or CANONICAL_ARTICLE_URL.format(code=entry.code)
        sources = [s for s in (entry.shape, "text") if s]
        return Article(
            code=entry.code,
            kind=kind,
            title_raw=pick("title"),
            date_raw=pick("date_raw"),
            outlet=outlet,
            body_raw=text.body,
            body=text.cleaned,
            body_cleaned=bool(text.cleaned),
            digest=digest,
            source_url=source_url if kind == KIND_EMNEWS else "",
            url=url,
            base_url=page_url or url,
            sources=sources,
        )
