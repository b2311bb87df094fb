"""``scrapy crawl eastmoney``: feeds (and their older pages) -> text sources -> Article items.

Navigation only: which request next, with which callback. The parsers of
:mod:`newscrawler.sources.eastmoney` package turn responses into values; the text sources are
asked by :class:`newscrawler.spiders.text.ArticleTextMixin`.

Pageable feeds (docs/contract.md "Sources") are followed back page by page while every entry of a page
is new to the archive (or for ``-a pages=N`` pages). Articles are requested once every
feed and page has answered, in feed and page order, so that which entry wins for a code
found twice does not depend on timing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.http import Response
from scrapy.settings import Settings
from twisted.python.failure import Failure

from newscrawler.archive.session import ArchiveSession
from newscrawler.ids import extract_code, split_list_arg
from newscrawler.items import Article
from newscrawler.outcomes import failed_request, failure_reason
from newscrawler.sources.eastmoney.common import ArticleText, SourceError, merge_text
from newscrawler.sources.eastmoney.feeds import (
    PAGEABLE_SHAPES,
    FeedEntry,
    FeedParser,
    FeedResult,
    entries_by_code,
    next_page_url,
)
from newscrawler.spiders.arguments import check_known, is_http_url, positive_int
from newscrawler.spiders.text import ArticleTextMixin, content_type_encoding, failed_url, referer_for

logger = logging.getLogger(__name__)


def parse_pages(value: object) -> int | None:
    """``-a pages=N``: a positive integer, or None when not given."""
    if value is None or value == "":
        return None
    return positive_int(value, "-a pages")


class EastmoneySpider(ArticleTextMixin, Spider):
    name = "eastmoney"

    def __init__(
        self,
        *args: Any,
        feeds: str | None = None,
        codes: str | None = None,
        pages: str | None = None,
        default_feeds: list[str] | None = None,
        text_url: str = "",
        article_api_url: str = "",
        article_url: str = "",
        max_pages: int = 1,
        referers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.feed_urls = list(dict.fromkeys(split_list_arg(feeds) if feeds else (default_feeds or [])))
        self.code_args = split_list_arg(codes) if codes else []
        #: ``-a pages=N``: read N pages of every pageable feed, whatever they hold (a backfill).
        self.pages = parse_pages(pages)
        self.max_pages = positive_int(max_pages, "EASTMONEY_FEED_MAX_PAGES")
        self.text_url = text_url
        self.article_api_url = article_api_url
        self.article_url = article_url
        self.referers = dict(referers or {})
        self.feed_parser = FeedParser()
        self._init_text_parsers()
        #: (feed index, page number) -> the entries of that page.
        self._feed_entries: dict[tuple[int, int], list[FeedEntry]] = {}
        self._feeds_pending = len(self.feed_urls) if not self.code_args else 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> EastmoneySpider:
        settings = crawler.settings
        kwargs.setdefault("default_feeds", settings.getlist("EASTMONEY_FEEDS"))
        kwargs.setdefault("text_url", settings.get("EASTMONEY_TEXT_URL"))
        kwargs.setdefault("article_api_url", settings.get("EASTMONEY_ARTICLE_API_URL"))
        # Read once, by the archive's configuration (it is also the rolling posts' source line).
        kwargs.setdefault("article_url", ArchiveSession.from_crawler(crawler).config.article_url_template)
        kwargs.setdefault("max_pages", settings.get("EASTMONEY_FEED_MAX_PAGES"))
        kwargs.setdefault("referers", settings.getdict("EASTMONEY_REFERERS"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, EastmoneySpider)
        return spider

    #: The ``-a`` arguments this spider takes.
    ARGUMENTS = frozenset({"feeds", "codes", "pages"})

    @classmethod
    def check_arguments(cls, settings: Settings, spargs: Mapping[str, Any]) -> None:
        """Raise ``UsageError`` (one line naming the value) for arguments and settings this
        spider cannot run with; ``scrapy crawl`` calls it before anything is fetched."""
        check_known(cls.name, spargs, cls.ARGUMENTS)
        parse_pages(spargs.get("pages"))
        positive_int(settings.get("EASTMONEY_FEED_MAX_PAGES"), "EASTMONEY_FEED_MAX_PAGES")
        if spargs.get("codes"):
            raws = split_list_arg(str(spargs["codes"]))
            for raw in raws:
                if extract_code(raw) is None:
                    raise UsageError(
                        f"eastmoney: -a codes: {raw!r} names no article (give infoCodes, 18-digit codes, "
                        "or share, article or column URLs)"
                    )
            if not raws:
                raise UsageError("eastmoney: -a codes names no article")
            return
        if spargs.get("feeds"):
            feeds, origin = split_list_arg(str(spargs["feeds"])), "-a feeds"
        else:
            feeds, origin = settings.getlist("EASTMONEY_FEEDS"), "EASTMONEY_FEEDS"
        for url in feeds:
            if not is_http_url(url):
                raise UsageError(f"eastmoney: {origin}: {url!r} is not an absolute http(s) feed URL")

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.code_args:
            for raw in self.code_args:
                code = extract_code(raw)
                if code is None:
                    self._inc("errors", "bad_code_argument")
                    logger.error("Not an article code, infoCode or article URL: %r", raw)
                    continue
                entry = FeedEntry(code=code, kind="", shape="codes", metadata_wins=False)
                for output in self.text_requests(entry, explicit=True):
                    yield output
            return
        if not self.feed_urls:
            logger.warning("No feeds configured: set EASTMONEY_FEEDS or pass -a feeds=URL")
        for index, url in enumerate(self.feed_urls):
            yield self.feed_request(url, index, 1)

    def feed_request(self, url: str, index: int, page: int) -> Request:
        referer = referer_for(url, self.referers)
        return Request(
            url,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"index": index, "page": page},
            headers={"Referer": referer} if referer else None,
            dont_filter=True,
        )

    # --- feeds -------------------------------------------------------------------------------

    def parse_feed(self, response: Response, index: int, page: int = 1) -> Iterator[Request | Article]:
        try:
            result = self.feed_parser.parse(response.body, response.url, content_type_encoding(response))
        except SourceError as exc:
            self._inc("errors", f"feed_{exc.reason}")
            self._inc("feeds", "failed" if page == 1 else "page_failed")
            logger.error("Feed %s unreadable (%s): %s", response.url, exc.reason, exc.detail)
            self._feed_entries[(index, page)] = []
            yield from self._feed_done()
            return
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
        if result.caifuhao:
            self._inc("skipped", "caifuhao", count=result.caifuhao)
            logger.info("Feed %s: %d caifuhao (user) posts skipped", response.url, result.caifuhao)
        if page == 1:
            self._inc("feeds", "ok")
        self._inc("feeds", "pages")
        self._inc("feeds", "entries", count=len(result.entries))
        label = result.shape if page == 1 else f"{result.shape}, page {page}"
        logger.info("Feed %s (%s): %d entries", response.url, label, len(result.entries))
        self._feed_entries[(index, page)] = result.entries
        older = self._older_page(response.url, index, page, result)
        if older is not None:
            yield older
            return
        yield from self._feed_done()

    def _older_page(self, url: str, index: int, page: int, result: FeedResult) -> Request | None:
        """The request for the next older page of this feed, when docs/contract.md "Sources" calls for one."""
        if result.shape not in PAGEABLE_SHAPES or not result.items:
            return None
        limit = self.pages if self.pages is not None else self.max_pages
        if page >= limit:
            return None
        if self.pages is None:
            session = ArchiveSession.from_crawler(self.crawler)
            known = [e.code for e in result.entries if session.is_known(e.code)]
            if known:
                logger.debug("Feed %s page %d holds %d known articles: caught up", url, page, len(known))
                return None
        previous = self._feed_entries.get((index, page - 1))
        if previous is not None and [e.code for e in previous] == [e.code for e in result.entries]:
            logger.warning("Feed %s page %d repeats page %d: the feed ignores paging", url, page, page - 1)
            return None
        next_url = next_page_url(url, result)
        if next_url is None:
            return None
        return self.feed_request(next_url, index, page + 1)

    def feed_failed(self, failure: Failure) -> Iterator[Request | Article]:
        request = failed_request(failure)
        reason = failure_reason(failure)
        page = request.cb_kwargs.get("page", 1)
        self._inc("errors", f"feed_{reason}")
        self._inc("feeds", "failed" if page == 1 else "page_failed")
        logger.error("Feed %s failed: %s", failed_url(request), reason)
        self._feed_entries[(request.cb_kwargs["index"], page)] = []
        yield from self._feed_done()

    def _feed_done(self) -> Iterator[Request | Article]:
        """After the last feed (and its last page) answered, request every article once, in
        feed and page order, so that which entry wins for a shared code does not depend on
        timing."""
        self._feeds_pending -= 1
        if self._feeds_pending > 0:
            return
        ordered = [e for key in sorted(self._feed_entries) for e in self._feed_entries[key]]
        chosen = entries_by_code(ordered)
        if len(ordered) > len(chosen):
            self._inc("duplicates", "in_feeds", count=len(ordered) - len(chosen))
        for entry in chosen.values():
            yield from self.text_requests(entry)

    # --- no text anywhere ---------------------------------------------------------------------

    def no_text(
        self, entry: FeedEntry, why: str, meta: Mapping[str, Any], texts: tuple[ArticleText, ...] = ()
    ) -> Iterator[Article]:
        """A fast-news flash is its own text (docs/contract.md "Sources"): with no text from any source, it
        is written from its ``summary`` (its title when it has none), as one escaped
        paragraph, also when the article came as an outlet post of a column list too."""
        if not entry.flash:
            yield from super().no_text(entry, why, meta, texts)
            return
        self._inc("fallback", "flash_summary")
        self._inc("text", "recovered")
        logger.warning("No text for flash %s (%s): writing it from its summary", entry.code, why)
        flash = ArticleText(body=f"<p>{html.escape(entry.flash, quote=False)}</p>", source="flash")
        yield self.build_article(entry, merge_text(flash, *texts), self.article_page_url(entry.code))
