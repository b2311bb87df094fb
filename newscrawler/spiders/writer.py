"""``scrapy crawl writer``: the distributed mode's one archive writer (docs/distributed.md).

It fetches nothing from the web: its ``start()`` takes the workers' messages from Redis
and yields their articles, which go through the archive's pipelines (deduplicate,
images, write) as in a single-process run, under the run lock, with the same journal,
batches, report and exit statuses. A message is acknowledged (removed from Redis, its
article published to the shared view, its claim settled) only once the store has
committed what became of its article; a killed writer's unacknowledged messages are
taken again, first, by the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings, Settings

from newscrawler.archive.config import ROLE_WRITER
from newscrawler.archive.session import ArchiveSession
from newscrawler.dedup.store.base import SeenStore
from newscrawler.distributed.messages import ArticleMessage, BadMessage, RefusalMessage, decode
from newscrawler.distributed.shared import REDIS_ERRORS, Shared, safe_url
from newscrawler.items import Article
from newscrawler.outcomes import Counters

logger = logging.getLogger(__name__)

#: The pipelines a worker has already run on an article.
WORKER_PIPELINES = (
    "newscrawler.pipelines.validate.ValidatePipeline",
    "newscrawler.pipelines.clean.CleanPipeline",
)
#: ``meta`` key of the store: the token of the shared view last published from it.
META_SHARED_VIEW = "redis_view"
#: Seconds between two looks at an empty queue.
POLL_SECONDS = 0.1


class WriterSpider(Spider):
    name = "writer"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        settings.set("NEWSCRAWLER_ROLE", ROLE_WRITER, priority="spider")
        pipelines = settings.getdict("ITEM_PIPELINES")
        for name in WORKER_PIPELINES:
            pipelines.pop(name, None)
        settings.set("ITEM_PIPELINES", pipelines, priority="spider")

    @classmethod
    def check_arguments(cls, settings: Settings, spargs: dict[str, Any]) -> None:
        if not settings.get("REDIS_URL"):
            raise UsageError(
                "writer: the writer of the distributed mode needs -s REDIS_URL=redis://host:port/db"
            )
        if spargs:
            raise UsageError(f"writer: takes no arguments (got {', '.join(sorted(spargs))})")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> WriterSpider:
        spider: WriterSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup(crawler)
        return spider

    def setup(self, crawler: Crawler) -> None:
        self.session = ArchiveSession.from_crawler(crawler)
        self.idle_seconds = self.session.config.writer_idle
        #: Articles in the pipelines: id(article) -> (message, code).
        self.in_flight: dict[int, tuple[bytes, str]] = {}
        #: Messages whose article is through the pipelines, to acknowledge after the next commit.
        self.finished: list[tuple[bytes, str]] = []
        self.redis_lost = False
        crawler.signals.connect(self._finished, signal=signals.item_scraped)
        crawler.signals.connect(self._finished, signal=signals.item_dropped)
        crawler.signals.connect(self._finished, signal=signals.item_error)

    @property
    def counters(self) -> Counters:
        return Counters(self.crawler.stats)

    @property
    def shared(self) -> Shared:
        shared = self.session.shared
        assert shared is not None
        return shared

    # --- start: the workers' messages ---------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        store = self.session.open()
        self.session.archive.after_commit.append(self.acknowledge)
        try:
            recovered = self.shared.recover()
            self.publish_view(store)
        except REDIS_ERRORS as exc:
            self._lose(exc)
            return
        if recovered:
            self.counters.inc("distributed", "recovered", count=recovered)
            logger.warning("Taking again %d messages a killed writer had not finished", recovered)
        last_activity = time.monotonic()
        while True:
            try:
                message = self.shared.take()
            except REDIS_ERRORS as exc:
                self._lose(exc)
                return
            if message is None:
                if self.idle_seconds and time.monotonic() - last_activity >= self.idle_seconds:
                    if self._drained():
                        logger.info(
                            "No articles for %.0f s and no worker alive: the writer stops", self.idle_seconds
                        )
                        return
                    last_activity = time.monotonic()
                await asyncio.sleep(POLL_SECONDS)
                continue
            last_activity = time.monotonic()
            article = self._read(message)
            if article is not None:
                yield article

    def _read(self, message: bytes) -> Article | None:
        """The article of *message* (refusals are remembered here and need no pipeline)."""
        try:
            decoded = decode(message)
        except BadMessage as exc:
            self.counters.inc("errors", "redis_bad_message")
            logger.error("Unreadable message from a worker (%s): set aside in %s", exc, self.shared.keys.bad)
            try:
                self.shared.set_aside(message)
            except REDIS_ERRORS as error:
                self._lose(error)
            return None
        self.counters.inc("distributed", "received")
        if isinstance(decoded, RefusalMessage):
            self.session.reject(decoded.code, decoded.reason)
            self.finished.append((message, decoded.code))
            return None
        assert isinstance(decoded, ArticleMessage)
        article = decoded.article
        if decoded.slug_hint:
            self.session.run.slugs.setdefault(article.outlet, decoded.slug_hint)
        self.in_flight[id(article)] = (message, article.code)
        return article

    def _drained(self) -> bool:
        try:
            return self.shared.pending_items() == 0 and self.shared.live_workers() == 0
        except REDIS_ERRORS as exc:
            self._lose(exc)
            return True

    def _lose(self, exc: Exception) -> None:
        if self.redis_lost:
            return
        self.redis_lost = True
        self.counters.inc("errors", "redis_lost")
        logger.error(
            "Lost Redis at %s (%s): the writer stops taking articles; what it took is "
            "written, the rest waits in Redis for the next writer",
            safe_url(self.session.config.redis_url),
            exc,
        )

    # --- acknowledging ------------------------------------------------------------------------

    def _finished(self, item: Any, **kwargs: Any) -> None:
        entry = self.in_flight.pop(id(item), None)
        if entry is not None:
            self.finished.append(entry)

    def acknowledge(self, store: SeenStore) -> None:
        """After a commit: the finished messages are done with; their articles are known,
        refused, or free to be fetched again (the store says which)."""
        if not self.finished or self.redis_lost:
            return
        finished, self.finished = self.finished, []
        codes = [code for _, code in finished]
        known = [code for code in codes if store.has(code)]
        refused = []
        for code in codes:
            reason = None if code in known else store.rejection(code)
            if reason is not None:
                refused.append((code, reason))
        try:
            self.shared.done([message for message, _ in finished], known, refused, settled=codes)
        except REDIS_ERRORS as exc:
            self._lose(exc)

    def publish_view(self, store: SeenStore) -> None:
        """Publish the archive's codes and refusals to Redis when the view there is not
        this store's (first run, a rebuilt store, a Redis that lost its data)."""
        token = store.get_meta(META_SHARED_VIEW)
        if token is not None and token == self.shared.view_token():
            return
        started = time.monotonic()
        token = uuid.uuid4().hex
        published = self.shared.publish(token, store.iter_codes(), store.iter_rejections())
        store.set_meta(META_SHARED_VIEW, token)
        logger.info(
            "Published the shared view of the archive to Redis: %d articles in %.1f s",
            published,
            time.monotonic() - started,
        )
