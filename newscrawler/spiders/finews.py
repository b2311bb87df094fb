"""``scrapy crawl finews -a start_url=URL [-a follow_shares=true]``: back up a finews-style archive site.

Navigation only: which page next, with which callback. The parsers of
:mod:`newscrawler.sources.finews` read the pages (docs/contract.md "Sources"):

- the index and every listing page (category pages, ``/emnews/``, pagination pages):
  post links are followed to :meth:`FinewsSpider.parse_post`, listing links to
  :meth:`FinewsSpider.parse_listing`;
- every post page: its back links (category listings, mapped by the parser onto the
  crawled site) are followed as listings, and the post becomes an :class:`Article`;
- with ``follow_shares``, the post's original is fetched through the text sources
  (:class:`ArticleTextMixin`: text API, article API, article page); when none has it
  the archived page's Article is used, so nothing is lost.

The crawl stays on the site's host (plus the text sources' hosts with
``follow_shares``): ``allowed_domains`` for Scrapy's offsite middleware, and an explicit
check before every request. Scrapy's dupefilter stops loops between listings.

One article, one post: an article on the site both as an outlet post and as a
rolling-news (``/emnews/...``) post is written once, as the outlet post. Rolling-news
post pages are requested only once the rest of the crawl is done (on ``spider_idle``),
and those whose code an outlet post already produced are not requested at all; so the
outlet post wins whatever the response order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, UsageError
from scrapy.http import Response, TextResponse
from scrapy.settings import Settings
from twisted.python.failure import Failure

from newscrawler.archive.post import is_safe_slug, normalize_outlet
from newscrawler.archive.session import ArchiveSession
from newscrawler.ids import extract_code, is_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.outcomes import failed_request, failure_reason
from newscrawler.requestmeta import ARTICLE_CODE_META
from newscrawler.sources.eastmoney.common import ArticleText
from newscrawler.sources.eastmoney.feeds import FeedEntry
from newscrawler.sources.finews import (
    SOURCE_NAME,
    FinewsIndexParser,
    FinewsPostParser,
    listing_for_post,
)
from newscrawler.spiders.arguments import check_known, is_http_url, parse_bool
from newscrawler.spiders.text import ArticleTextMixin

logger = logging.getLogger(__name__)


#: A rolling-news post page: ``[/<base>]/emnews/YYYY/MM/DD/<id>.html`` (run on a URL path).
_EMNEWS_POST_PATH_RE = re.compile(r"/emnews/\d{4}/\d{2}/\d{2}/[^/]+\.html$")

#: Request meta key: what kind of site page a request is for (``start``, ``listing``, ``post``).
PAGE_META = "newscrawler_finews_page"
#: Request meta key marking a listing page guessed from a post URL (may not exist).
GUESSED_META = "newscrawler_finews_guessed"
#: Request meta key: the archived post's Article, carried along the requests for its original.
ARCHIVED_META = "newscrawler_finews_archived"

USAGE = "scrapy crawl finews -a start_url=URL [-a follow_shares=true]"


def check_start_url(value: object) -> str:
    """The ``start_url`` argument, checked: an absolute http(s) URL with a host."""
    if value is None or not str(value).strip():
        raise UsageError(f"finews: the start_url argument is required: {USAGE}")
    url = str(value).strip()
    if not is_http_url(url):
        raise UsageError(
            f"finews: start_url must be an absolute http(s) URL of an archive site's index, got {url!r}"
        )
    return url


def host_of(url: str) -> str:
    """The lower-case host name of *url* (no port), "" for junk."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_emnews_post_url(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return bool(_EMNEWS_POST_PATH_RE.search(path))


class FinewsSpider(ArticleTextMixin, Spider):
    name = "finews"
    CHAIN_META = (*ArticleTextMixin.CHAIN_META, ARCHIVED_META)

    def __init__(
        self,
        *args: Any,
        start_url: str | None = None,
        follow_shares: str | bool = False,
        text_url: str = "",
        article_api_url: str = "",
        article_url: str = "",
        referers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.start_url = check_start_url(start_url)
        self.follow_shares = parse_bool(follow_shares, "finews: -a follow_shares")
        self.text_url = text_url
        self.article_api_url = article_api_url
        self.article_url = article_url
        self.referers = dict(referers or {})
        self.index_parser = FinewsIndexParser()
        self.post_parser = FinewsPostParser()
        self._init_text_parsers()
        self.allowed_domains = self._allowed_hosts()
        #: The crawl's bookkeeping when Scrapy gives the spider no ``state`` (no ``JOBDIR``).
        self._local_state: dict[str, Any] = {}
        #: Listing pages guessed from post URLs that turned out missing: URL -> reason.
        self._missing_guesses: dict[str, str] = {}
        #: Listing pages some post links back to: their failure is an error, guessed or not.
        self._back_linked: set[str] = set()

    #: The ``-a`` arguments this spider takes.
    ARGUMENTS = frozenset({"start_url", "follow_shares"})

    @classmethod
    def check_arguments(cls, settings: Settings, spargs: Mapping[str, Any]) -> None:
        """``UsageError`` (one line naming the value) for arguments the crawl cannot run with."""
        check_known(cls.name, spargs, cls.ARGUMENTS)
        check_start_url(spargs.get("start_url"))
        parse_bool(spargs.get("follow_shares", False), "finews: -a follow_shares")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FinewsSpider:
        settings = crawler.settings
        kwargs.setdefault("text_url", settings.get("EASTMONEY_TEXT_URL"))
        kwargs.setdefault("article_api_url", settings.get("EASTMONEY_ARTICLE_API_URL"))
        # Read once, by the archive's configuration (it is also the rolling posts' source line).
        kwargs.setdefault("article_url", ArchiveSession.from_crawler(crawler).config.article_url_template)
        kwargs.setdefault("referers", settings.getdict("EASTMONEY_REFERERS"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, FinewsSpider)
        crawler.signals.connect(spider.on_spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_item_scraped, signal=signals.item_scraped)
        return spider

    def _allowed_hosts(self) -> list[str]:
        hosts = [host_of(self.start_url)]
        if self.follow_shares:
            for template in (self.text_url, self.article_api_url, self.article_url):
                hosts.append(host_of(template.format(info_code="NW0", code="0")) if template else "")
        return list(dict.fromkeys(h for h in hosts if h))

    # --- bookkeeping: in ``self.state`` with JOBDIR, so that a resumed crawl carries on ----

    def _state(self) -> dict[str, Any]:
        state = getattr(self, "state", None)
        return state if isinstance(state, dict) else self._local_state

    def _set(self, key: str) -> set[str]:
        found: set[str] = self._state().setdefault(f"finews_{key}", set())
        return found

    @property
    def _deferred(self) -> dict[str, str]:
        """Rolling-news post pages waiting for the rest of the crawl: URL -> article code ("" if none)."""
        found: dict[str, str] = self._state().setdefault("finews_deferred", {})
        return found

    @property
    def _deferred_seen(self) -> set[str]:
        """Every rolling-news post URL ever deferred (a page is deferred, and released, once)."""
        return self._set("deferred_seen")

    @property
    def _scraped_codes(self) -> set[str]:
        """Article codes whose item went through every pipeline in this crawl."""
        return self._set("scraped_codes")

    @property
    def _shared_codes(self) -> set[str]:
        """Article codes whose original was requested (follow_shares): one text request per code."""
        return self._set("shared_codes")

    def _on_site(self, url: str) -> bool:
        return host_of(url) in self.allowed_domains

    # --- start -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        logger.info(
            "Crawling archive site %s%s",
            self.start_url,
            " and refetching each post's original" if self.follow_shares else "",
        )
        yield Request(
            self.start_url,
            callback=self.parse_listing,
            errback=self.site_page_failed,
            meta={PAGE_META: "start"},
        )

    # --- requests for site pages ----------------------------------------------------------

    def listing_request(self, url: str) -> Request:
        return Request(
            url, callback=self.parse_listing, errback=self.site_page_failed, meta={PAGE_META: "listing"}
        )

    def guessed_listing_request(self, post_url: str) -> Request | None:
        """The listing page a post URL implies (``/<category>/YYYY/MM/DD/<id>.html`` ->
        ``/category/<category>.html``, or ``/emnews/``): found without fetching the post, so
        an incremental run that skips known posts still reaches the category pages (and
        the new posts only they list). A guess that does not exist is no error."""
        url = listing_for_post(post_url)
        if url is None:
            return None
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.site_page_failed,
            meta={PAGE_META: "listing", GUESSED_META: True},
        )

    def post_request(self, url: str) -> Request:
        meta: dict[str, Any] = {PAGE_META: "post"}
        code = extract_code(url)
        if code:
            meta[ARTICLE_CODE_META] = code
        return Request(url, callback=self.parse_post, errback=self.site_page_failed, meta=meta)

    def _follow(self, url: str, kind: str, found_on: str) -> bool:
        if not self._on_site(url):
            self._inc("finews", "offsite_link_ignored")
            logger.debug("Not following %s link %s found on %s: not on the crawled site", kind, url, found_on)
            return False
        return True

    # --- listings --------------------------------------------------------------------------

    def _html(self, response: Response) -> str | None:
        if isinstance(response, TextResponse):
            return response.text
        self._inc("errors", "finews_not_html")
        logger.error(
            "Site page %s is not HTML (%s); skipped",
            response.url,
            (response.headers.get(b"Content-Type") or b"?").decode("latin-1"),
        )
        return None

    def parse_listing(self, response: Response) -> Iterator[Request]:
        html = self._html(response)
        if html is None:
            return
        page = response.meta.get(PAGE_META, "listing")
        posts = self.index_parser.post_links(response.url, html)
        listings = self.index_parser.listing_links(response.url, html)
        self._inc("finews", "listing_pages")
        logger.info("Listing %s: %d post links, %d listing links", response.url, len(posts), len(listings))
        if page == "start" and not posts and not listings:
            self._inc("errors", "finews_empty_index")
            logger.error(
                "Start page %s links no post and no listing page: is it a finews-style archive index?",
                response.url,
            )
        for url in posts:
            if not self._follow(url, "post", response.url):
                continue
            guessed = self.guessed_listing_request(url)
            if guessed is not None and self._on_site(guessed.url):
                yield guessed
            if is_emnews_post_url(url):
                self._defer(url)
            else:
                yield self.post_request(url)
        for url in listings:
            if self._follow(url, "listing", response.url):
                yield self.listing_request(url)

    def _defer(self, url: str) -> None:
        if url not in self._deferred_seen:
            self._deferred_seen.add(url)
            self._deferred.setdefault(url, extract_code(url) or "")

    def site_page_failed(self, failure: Failure) -> None:
        reason = failure_reason(failure)
        request = failed_request(failure)
        if reason == "ignored":
            return
        page = request.meta.get(PAGE_META, "page")
        if request.meta.get(GUESSED_META) and request.url not in self._back_linked:
            self._inc("finews", "guessed_listing_missing")
            logger.debug("No listing page at %s (%s), guessed from a post URL", request.url, reason)
            self._missing_guesses[request.url] = reason  # an error if a back link names it
            return
        self._inc("errors", f"finews_{page}_{reason}")
        log = logger.error if page == "start" else logger.warning
        log("Site %s page %s failed: %s", page, request.url, reason)

    # --- rolling-news posts after the rest -------------------------------------------------

    def on_item_scraped(self, item: Any) -> None:
        if isinstance(item, Article) and item.code:
            self._scraped_codes.add(item.code)

    def on_spider_idle(self) -> None:
        """Release the deferred rolling-news post pages, skipping codes already written."""
        deferred = self._deferred
        if not deferred:
            return
        pending = dict(deferred)
        deferred.clear()
        released = 0
        for url, code in pending.items():
            if code and code in self._scraped_codes:
                self._inc("duplicates", "finews_same_code")
                logger.info("Not fetching %s: article %s is already a post from this site", url, code)
                continue
            self.crawler.engine.crawl(self.post_request(url))
            released += 1
        if released:
            logger.info("Fetching %d rolling-news post pages", released)
            raise DontCloseSpider

    # --- posts ------------------------------------------------------------------------------

    def parse_post(self, response: Response) -> Iterator[Request | Article]:
        html = self._html(response)
        if html is None:
            return
        self._inc("finews", "post_pages")
        for url in self.post_parser.back_links(response.url, html):
            if not self._follow(url, "back", response.url):
                continue
            self._back_linked.add(url)
            reason = self._missing_guesses.pop(url, None)
            if reason is not None:  # already requested as a guess, and dead: a dead back link
                self._inc("errors", f"finews_listing_{reason}")
                logger.warning(
                    "Site listing page %s (a back link of %s) failed: %s", url, response.url, reason
                )
            yield self.listing_request(url)
        article = self.post_parser.parse(response.url, html)
        if not is_code(article.code):
            self._inc("finews", "post_without_code")
            logger.info("Post %s has no article code (not a news article)", response.url)
            yield article  # ValidatePipeline drops it, counted as dropped/bad_code
            return
        self._learn_slug(article)
        if not self.follow_shares or article.code in self._shared_codes:
            self._inc("text", "from_archive_page")
            yield article
            return
        self._shared_codes.add(article.code)
        yield from self.share_requests(article)

    def _learn_slug(self, article: Article) -> None:
        """The site's slug for an outlet is the slug its backup uses (docs/contract.md "The post format": the slug the
        archive already uses); one already known for the outlet (from the archive) wins."""
        if article.kind != KIND_OUTLET or not is_safe_slug(article.slug) or article.slug == KIND_EMNEWS:
            return
        outlet = normalize_outlet(article.outlet)
        if not outlet:
            return
        slugs = ArchiveSession.from_crawler(self.crawler).run.slugs
        if outlet not in slugs:
            slugs[outlet] = article.slug
            logger.debug("Outlet %s uses category slug %r on the site", outlet, article.slug)

    @staticmethod
    def entry_for(article: Article) -> FeedEntry:
        """What the archived post says about its article, as a feed would."""
        return FeedEntry(
            code=article.code,
            kind=article.kind,
            title=article.title_raw,
            date_raw=article.date_raw,
            outlet=article.outlet,
            digest=article.digest,
            url_w=article.source_url if article.kind == KIND_EMNEWS else "",
            shape=SOURCE_NAME,
        )

    # --- follow_shares: the original, else the archived page ------------------------------

    def share_requests(self, article: Article) -> Iterator[Request | Article]:
        """The text sources' requests for the original of an archived post; the archived
        Article goes along in the meta (from one source to the next), for :meth:`no_text`.
        The article API's title, date and outlet win over the archived post's."""
        entry = replace(self.entry_for(article), metadata_wins=False)
        yield from self.text_requests(entry, meta={ARCHIVED_META: article}, follow_up=True)

    def no_text(
        self, entry: FeedEntry, why: str, meta: Mapping[str, Any], texts: tuple[ArticleText, ...] = ()
    ) -> Iterator[Article]:
        """No source has the original: the archived page's Article instead."""
        archived = meta.get(ARCHIVED_META)
        if not isinstance(archived, Article) or archived.code != entry.code:
            yield from super().no_text(entry, why, meta, texts)
            return
        self._inc("fallback", "archive_page")
        self._inc("text", "recovered")
        logger.warning(
            "No original for article %s (%s); keeping the archived page %s", entry.code, why, archived.url
        )
        yield archived
