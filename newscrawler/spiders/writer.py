"""``scrapy crawl writer``: the distributed mode's one archive writer (docs/distributed.md).

It fetches nothing from the web: its ``start()`` takes the workers' messages from Redis
and yields their articles, which go through the archive's pipelines (deduplicate,
images, write) as in a single-process run, under the run lock and the writer's lease in
Redis, with the same journal, batches, report and exit statuses. What becomes of each
message is the business of :class:`~newscrawler.distributed.intake.Intake`: acknowledged
after a commit, or left for the next writer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings, Settings
from twisted.internet import task

from newscrawler.archive.config import ROLE_WRITER
from newscrawler.archive.session import ArchiveSession
from newscrawler.dedup.store.base import SeenStore
from newscrawler.distributed.intake import Intake
from newscrawler.distributed.messages import ArticleMessage, BadMessage
from newscrawler.distributed.shared import REDIS_ANY_ERROR, Shared, safe_url
from newscrawler.outcomes import Counters, counter

logger = logging.getLogger(__name__)

#: The pipelines a worker has already run on an article.
WORKER_PIPELINES = (
    "newscrawler.pipelines.validate.ValidatePipeline",
    "newscrawler.pipelines.clean.CleanPipeline",
)
#: Seconds between two looks at an empty queue.
POLL_SECONDS = 0.1
#: Articles in the pipelines at once: the writer takes no more messages until some are through.
MAX_IN_FLIGHT = 200
#: The writer's lease in Redis lasts this long, renewed a third as often.
LEASE_SECONDS = 30.0
#: Above every priority a user can give (``-s`` is 40): the writer is the writer.
_ROLE_PRIORITY = 100


class WriterSpider(Spider):
    name = "writer"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        settings.set("NEWSCRAWLER_ROLE", ROLE_WRITER, priority=_ROLE_PRIORITY)
        pipelines = settings.getdict("ITEM_PIPELINES")
        for name in WORKER_PIPELINES:
            pipelines.pop(name, None)
        settings.set("ITEM_PIPELINES", pipelines, priority="spider")

    @classmethod
    def check_arguments(cls, settings: Settings, spargs: dict[str, Any]) -> None:
        if not str(settings.get("REDIS_URL") or "").strip():
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
        config = self.session.config
        self.idle_seconds = config.writer_idle
        self.batch_seconds = config.batch_seconds
        self.intake = Intake(self.shared, pending=self.session.run.run_store.has)
        self.redis_lost = False
        self._lease: task.LoopingCall | None = None
        crawler.signals.connect(self._through, signal=signals.item_scraped)
        crawler.signals.connect(self._through, signal=signals.item_dropped)
        crawler.signals.connect(self._through, signal=signals.item_error)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

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
        self._lease = task.LoopingCall(self._renew_lease)
        self._lease.start(LEASE_SECONDS / 3, now=False)
        try:
            recovered = self.shared.recover()
            self.intake.publish_view(store)
        except REDIS_ANY_ERROR as exc:
            self._lose(exc)
            return
        if recovered:
            self.counters.inc("distributed", "recovered", count=recovered)
            logger.warning("Taking again %d messages a killed writer had not finished", recovered)
        last_activity = last_commit = time.monotonic()
        while not self._stopping():
            if len(self.intake.in_flight) >= MAX_IN_FLIGHT:
                await asyncio.sleep(POLL_SECONDS)
                continue
            try:
                message = self.shared.take()
            except REDIS_ANY_ERROR as exc:
                self._lose(exc)
                return
            if message is None:
                now = time.monotonic()
                if self.intake.finished and now - last_commit >= self.batch_seconds:
                    # Refusals and duplicates only: acknowledged without waiting for a post.
                    self.session.archive.commit_rejections()
                    last_commit = now
                if self.idle_seconds and now - last_activity >= self.idle_seconds:
                    if self._drained():
                        logger.info(
                            "No articles for %.0f s and no worker alive: the writer stops", self.idle_seconds
                        )
                        return
                    last_activity = now
                await asyncio.sleep(POLL_SECONDS)
                continue
            last_activity = time.monotonic()
            article = self._read(message)
            if article is not None:
                yield article

    def _stopping(self) -> bool:
        """Redis is gone, or the archive cannot be written: take no more messages."""
        stats = self.crawler.stats
        return self.redis_lost or bool(stats and stats.get_value(counter("errors", "archive_write")))

    def _read(self, message: bytes) -> Any:
        try:
            decoded = self.intake.read(message)
        except BadMessage as exc:
            self.counters.inc("errors", "redis_bad_message")
            logger.error("Unreadable message from a worker (%s): set aside in %s", exc, self.shared.keys.bad)
            try:
                self.shared.set_aside(message)
            except REDIS_ANY_ERROR as error:
                self._lose(error)
            return None
        self.counters.inc("distributed", "received")
        if isinstance(decoded, ArticleMessage):
            article = decoded.article
            if decoded.slug_hint:
                self.session.run.slugs.setdefault(article.outlet, decoded.slug_hint)
            self.intake.track(id(article), message, decoded)
            return article
        self.session.reject(decoded.code, decoded.reason)
        self.intake.track(0, message, decoded)
        return None

    def _drained(self) -> bool:
        try:
            return self.shared.pending_items() == 0 and self.shared.live_workers() == 0
        except REDIS_ANY_ERROR as exc:
            self._lose(exc)
            return True

    def _renew_lease(self) -> None:
        if self.redis_lost:
            return
        try:
            if not self.shared.lease_writer(LEASE_SECONDS):
                logger.error("Another writer took this Redis prefix over: this one stops taking articles")
                self.redis_lost = True
        except REDIS_ANY_ERROR as exc:
            self._lose(exc)

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

    def _through(self, item: Any, **kwargs: Any) -> None:
        self.intake.through(id(item))

    def acknowledge(self, store: SeenStore) -> None:
        if self.redis_lost:
            return
        left = self.intake.left
        try:
            self.intake.acknowledge(store)
        except REDIS_ANY_ERROR as exc:
            self._lose(exc)
        if self.intake.left > left:
            self.counters.inc("distributed", "left_for_next_writer", count=self.intake.left - left)

    def _closed(self, spider: Spider, reason: str) -> None:
        if self._lease is not None and self._lease.running:
            self._lease.stop()
        if not self.redis_lost:
            try:
                self.shared.unlease_writer()
            except REDIS_ANY_ERROR:
                logger.debug("Could not give the writer's lease back: it runs out by itself")
