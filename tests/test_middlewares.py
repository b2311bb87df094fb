"""The downloader middlewares as components (get_crawler, a memory store, no downloads):
``SkipKnownArticlesMiddleware`` and ``TextSourceBreakerMiddleware``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from newscrawler.archive.config import ArchiveConfig
from newscrawler.archive.session import ArchiveSession
from newscrawler.dedup.store.base import SeenStore, StoredArticle
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.middlewares import SkipKnownArticlesMiddleware, SourceDisabled, TextSourceBreakerMiddleware
from newscrawler.outcomes import failure_reason
from newscrawler.requestmeta import ARTICLE_CODE_META, EXPLICIT_META, TEXT_SOURCE_META
from newscrawler.sources.eastmoney.feeds import FeedEntry
from newscrawler.sources.textsources import BREAKER_THRESHOLD
from newscrawler.spiders.eastmoney import EastmoneySpider

from .conftest import eastmoney_settings, project_settings

BASE = "http://127.0.0.1:9"
KNOWN = "202203282325310457"
REFUSED = "202204212352241873"
NEW = "202204222353030078"


class Crawl:
    """A crawler of the eastmoney spider with the project's settings, on a memory store
    (the archive folder is *tmp_path*: the session takes its run lock there)."""

    def __init__(self, archive: Path) -> None:
        self.crawler: Crawler = get_crawler(
            EastmoneySpider,
            settings_dict=project_settings(ARCHIVE_DIR=str(archive), **eastmoney_settings(BASE)),
        )
        self.store = MemoryStore()

        def opener(config: ArchiveConfig) -> SeenStore:
            return self.store

        self.session = ArchiveSession.from_settings(self.crawler.settings, store_opener=opener).install(
            self.crawler
        )
        self.spider = EastmoneySpider.from_crawler(self.crawler)
        self.crawler.spider = self.spider
        self.skip = SkipKnownArticlesMiddleware.from_crawler(self.crawler)
        self.breaker = TextSourceBreakerMiddleware.from_crawler(self.crawler)

    def stat(self, name: str) -> int:
        assert self.crawler.stats is not None
        return int(self.crawler.stats.get_value(f"newscrawler/{name}", 0))


@pytest.fixture
def crawl(tmp_path: Path) -> Iterator[Crawl]:
    crawl = Crawl(tmp_path / "archive")
    yield crawl
    crawl.session.archive.close()


def article_request(code: str, source: str = "text_api", **meta: object) -> Request:
    return Request(
        f"{BASE}/NewsData/GetNewsText.do?id=NW{code}",
        meta={ARTICLE_CODE_META: code, TEXT_SOURCE_META: source, **meta},
    )


# --- SkipKnownArticlesMiddleware --------------------------------------------------------------


def _remember(crawl: Crawl) -> None:
    crawl.store.add(StoredArticle(KNOWN, f"_posts/2022-03-28-NW{KNOWN}.md", "outlet", "shenzhenxinwenwang"))
    crawl.store.reject_many([(REFUSED, "duplicate")])


def test_a_known_article_is_not_fetched(crawl: Crawl) -> None:
    _remember(crawl)
    with pytest.raises(IgnoreRequest, match=f"article {KNOWN} is already archived") as excinfo:
        crawl.skip.process_request(article_request(KNOWN))
    assert not isinstance(excinfo.value, SourceDisabled)
    assert failure_reason(excinfo.value) == "ignored"  # no failure: the errbacks count nothing
    assert (crawl.stat("skipped/known"), crawl.stat("skipped/rejected")) == (1, 0)


def test_an_article_refused_by_an_earlier_run_is_not_fetched(crawl: Crawl) -> None:
    _remember(crawl)
    with pytest.raises(IgnoreRequest, match=f"article {REFUSED} was refused by an earlier run"):
        crawl.skip.process_request(article_request(REFUSED, source="article_page"))
    assert (crawl.stat("skipped/known"), crawl.stat("skipped/rejected")) == (0, 1)


def test_new_explicit_and_non_article_requests_pass(crawl: Crawl) -> None:
    _remember(crawl)
    assert crawl.skip.process_request(article_request(NEW)) is None
    # -a codes: fetched although archived or refused (the dedup pipeline keeps one post).
    assert crawl.skip.process_request(article_request(KNOWN, **{EXPLICIT_META: True})) is None
    assert crawl.skip.process_request(article_request(REFUSED, **{EXPLICIT_META: True})) is None
    assert crawl.skip.process_request(Request(f"{BASE}/feeds/media.json")) is None  # a feed
    assert (crawl.stat("skipped/known"), crawl.stat("skipped/rejected")) == (0, 0)


def test_the_articles_found_not_archived_are_remembered_for_the_dedup_step(crawl: Crawl) -> None:
    _remember(crawl)
    crawl.skip.process_request(article_request(NEW))
    crawl.skip.process_request(article_request(KNOWN, **{EXPLICIT_META: True}))  # not asked
    with pytest.raises(IgnoreRequest):
        crawl.skip.process_request(article_request(REFUSED))
    assert crawl.session.run.unarchived == {NEW}


def test_a_request_for_a_disabled_text_source_is_not_sent(crawl: Crawl) -> None:
    crawl.spider.breaker.disabled.add("text_api")
    for request in (article_request(NEW), article_request(NEW, **{EXPLICIT_META: True})):
        with pytest.raises(SourceDisabled, match="text source text_api is switched off"):
            crawl.skip.process_request(request)
    # The other sources are still asked.
    assert crawl.skip.process_request(article_request(NEW, source="article_page")) is None
    # Known beats disabled: counted as skipped, not moved on to the next source.
    _remember(crawl)
    with pytest.raises(IgnoreRequest) as excinfo:
        crawl.skip.process_request(article_request(KNOWN))
    assert not isinstance(excinfo.value, SourceDisabled)


def test_a_disabled_source_moves_the_article_on_to_the_next_source(crawl: Crawl) -> None:
    """What the spider does with SourceDisabled: the article page is asked instead."""
    entry = FeedEntry(
        code=NEW, kind="outlet", title="标题", date_raw="2022-04-22 10:02:00", outlet="上海证券报"
    )
    [request] = crawl.spider.text_requests(entry)
    assert isinstance(request, Request) and request.meta[TEXT_SOURCE_META] == "text_api"
    crawl.spider.breaker.disabled.add("text_api")
    with pytest.raises(SourceDisabled) as excinfo:
        crawl.skip.process_request(request)
    failure = Failure(excinfo.value)
    failure.request = request  # type: ignore[attr-defined]
    [page_request] = crawl.spider.source_failed(failure)
    assert isinstance(page_request, Request) and page_request.url == f"{BASE}/a/{NEW}.html"
    assert not [name for name in crawl.crawler.stats.get_stats() if "errors" in name]  # type: ignore[union-attr]


# --- TextSourceBreakerMiddleware --------------------------------------------------------------


CODES = [f"2022042223530300{n:02d}" for n in range(2 * BREAKER_THRESHOLD)]


def _fail(crawl: Crawl, code: str, exc: BaseException | None = None, source: str = "text_api") -> None:
    request = article_request(code, source=source)
    assert crawl.breaker.process_exception(request, exc or DownloadConnectionRefusedError()) is None


def test_distinct_articles_failing_to_connect_switch_the_source_off(crawl: Crawl) -> None:
    for code in CODES[: BREAKER_THRESHOLD - 1]:
        _fail(crawl, code)
    assert not crawl.spider.breaker.is_disabled("text_api")
    assert crawl.stat("text/text_api_disabled") == 0
    _fail(crawl, CODES[BREAKER_THRESHOLD - 1], DownloadTimeoutError())
    assert crawl.spider.breaker.is_disabled("text_api")
    assert crawl.stat("text/text_api_disabled") == 1
    _fail(crawl, CODES[BREAKER_THRESHOLD])  # a queued request failing afterwards
    assert crawl.stat("text/text_api_disabled") == 1  # counted once
    assert not crawl.spider.breaker.is_disabled("article_page")
    with pytest.raises(SourceDisabled):  # and what was queued for it is not sent
        crawl.skip.process_request(article_request(CODES[-1]))


def test_retries_of_one_article_are_one_failure(crawl: Crawl) -> None:
    for _ in range(BREAKER_THRESHOLD * 2):
        _fail(crawl, CODES[0])
    for code in CODES[1 : BREAKER_THRESHOLD - 1]:
        _fail(crawl, code)
    assert not crawl.spider.breaker.is_disabled("text_api")
    assert crawl.stat("text/text_api_disabled") == 0


def test_an_answer_resets_the_count(crawl: Crawl) -> None:
    for code in CODES[: BREAKER_THRESHOLD - 1]:
        _fail(crawl, code)
    request = article_request(CODES[0])
    response = Response(request.url, status=500, request=request)  # even an HTTP error is an answer
    assert crawl.breaker.process_response(request, response) is response
    for code in CODES[BREAKER_THRESHOLD - 1 : 2 * BREAKER_THRESHOLD - 2]:
        _fail(crawl, code)
    assert not crawl.spider.breaker.is_disabled("text_api")
    _fail(crawl, CODES[0])  # the fifth in a row since the answer
    assert crawl.spider.breaker.is_disabled("text_api")
    assert crawl.stat("text/text_api_disabled") == 1


def test_other_failures_and_other_requests_do_not_count(crawl: Crawl) -> None:
    for code in CODES:
        _fail(crawl, code, ResponseDataLossError())  # an answer cut short: the host is there
        crawl.breaker.process_exception(
            Request(f"{BASE}/feeds/{code}.json"), DownloadConnectionRefusedError()
        )
    assert not crawl.spider.breaker.disabled
    # Sources count apart: the article page's failures do not switch the text API off.
    for code in CODES[:BREAKER_THRESHOLD]:
        _fail(crawl, code, source="article_page")
    assert crawl.spider.breaker.disabled == {"article_page"}
    assert crawl.stat("text/article_page_disabled") == 1 and crawl.stat("text/text_api_disabled") == 0


def test_the_breaker_sits_before_retries_and_the_skip_after(crawl: Crawl) -> None:
    """Placed closer to the downloader than RetryMiddleware (attempts count as they fail),
    the skip middleware before it (what is dropped is never counted)."""
    order = crawl.crawler.settings.getdict("DOWNLOADER_MIDDLEWARES")
    skip = order["newscrawler.middlewares.SkipKnownArticlesMiddleware"]
    breaker = order["newscrawler.middlewares.TextSourceBreakerMiddleware"]
    retry = crawl.crawler.settings.getdict("DOWNLOADER_MIDDLEWARES_BASE")[
        "scrapy.downloadermiddlewares.retry.RetryMiddleware"
    ]
    assert skip < retry < breaker
