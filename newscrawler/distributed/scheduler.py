"""The worker's scheduler: article requests in Redis, shared by every worker; the rest local.

:class:`SharedScheduler` routes each request:

* an *article request* (``meta[newscrawler_article_code]``) goes to the shared queue of
  scrapy-redis's scheduler (:class:`ArticleScheduler`, persisted between runs), through
  :class:`ArticleRequestQueue`: scrapy-redis's FIFO queue whose push and pop also move
  the article's claim (:mod:`newscrawler.distributed.shared`), so that no two workers
  fetch one article, and a worker killed mid-run holds nothing for longer than its
  heartbeat;
* every other request (feeds and their older pages, a site's listing pages) stays in
  Scrapy's own scheduler: each worker reads the feeds itself, in the order the spider
  needs, and shares the articles they lead to.

Redis lost mid-run ends the run (``newscrawler/errors/redis_lost``, finish reason
``redis_lost``); a request it could not queue is lost for this run only (its claim runs
out with this worker's heartbeat).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider
from scrapy.core.scheduler import BaseScheduler
from scrapy.core.scheduler import Scheduler as ScrapyScheduler
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis import picklecompat
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler as RedisScheduler
from twisted.internet import task

from newscrawler.archive.session import ArchiveSession
from newscrawler.distributed.dupefilter import SharedDupeFilter
from newscrawler.distributed.shared import REDIS_ANY_ERROR, REDIS_ERRORS, Shared, safe_url
from newscrawler.extensions import SHUTDOWN_REASON
from newscrawler.outcomes import Counters
from newscrawler.requestmeta import ARTICLE_CODE_META, EXPLICIT_META, FOLLOW_UP_META

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

#: The finish reason of a run that lost Redis.
REDIS_LOST_REASON = "redis_lost"
#: Why an article is in the run report's ``lost`` list when Redis was lost before it was handed on.
LOST_ARTICLE_REASON = "errors/redis_lost"


def article_code(request: Request) -> str:
    code = request.meta.get(ARTICLE_CODE_META)
    return code if isinstance(code, str) and code else ""


class ArticleRequestQueue(FifoQueue):
    """scrapy-redis's FIFO queue of requests, each stored as ``<code>\\n<request>``: its
    push queues a request only while nobody else has the article (the claim becomes
    ``q:<queue>``), its pop makes the claim the popping worker's and keeps the request in
    that worker's taken list, each in one Lua script (:class:`Shared`)."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        shared = ArchiveSession.from_crawler(spider.crawler).shared
        if shared is None:
            raise NotConfigured("ArticleRequestQueue needs REDIS_URL")
        self.shared: Shared = shared

    def push(self, request: Request) -> bool:
        code = article_code(request)
        payload = self._encode_request(request)
        meta = request.meta
        follow_up = bool(meta.get(FOLLOW_UP_META) or meta.get("retry_times") or meta.get("redirect_urls"))
        return self.shared.push_request(
            self.key, code, payload, force=bool(meta.get(EXPLICIT_META)), follow_up=follow_up
        )

    def pop(self, timeout: int = 0) -> Request | None:
        taken = self.shared.pop_request(self.key)
        if taken is None:
            return None
        request: Request = self._decode_request(taken[1])
        return request


class ArticleScheduler(RedisScheduler):
    """scrapy-redis's scheduler, except that a request another worker has is not queued
    (``newscrawler/distributed/claimed_elsewhere``)."""

    def __init__(self, *args: Any, counters: Counters, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counters = counters

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if not self.queue.push(request):
            self.counters.inc("distributed", "claimed_elsewhere")
            logger.debug("Not queueing %s: another worker has article %s", request.url, article_code(request))
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        # (scrapy-redis 0.9.1 passes ``spider=`` to the stats, which Scrapy 2.14+ deprecates.)
        request: Request | None = self.queue.pop(self.idle_before_close)
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


class SharedScheduler(BaseScheduler):
    """Scrapy's scheduler for this worker's own requests, scrapy-redis's for the shared
    article requests (see the module docstring)."""

    def __init__(self, crawler: Crawler, local: ScrapyScheduler, shared: Shared, heartbeat: float) -> None:
        self.crawler = crawler
        self.session = ArchiveSession.from_crawler(crawler)
        self.counters = Counters(crawler.stats)
        self.local = local
        self.shared = shared
        self.heartbeat_seconds = heartbeat
        assert crawler.spidercls is not None
        keys = shared.keys
        self.remote = ArticleScheduler(
            server=shared.client,
            persist=True,
            queue_key=keys.requests(crawler.spidercls.name),
            queue_cls=f"{ArticleRequestQueue.__module__}.{ArticleRequestQueue.__qualname__}",
            dupefilter=SharedDupeFilter(shared.client, keys.dupefilter(crawler.spidercls.name)),
            serializer=picklecompat,
            counters=self.counters,
        )
        self.remote.stats = crawler.stats
        self.lost = False
        self._beat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedScheduler:
        session = ArchiveSession.from_crawler(crawler)
        if session.shared is None:
            raise NotConfigured("SharedScheduler needs REDIS_URL")
        local = ScrapyScheduler.from_crawler(crawler)
        return cls(crawler, local, session.shared, session.config.redis_heartbeat)

    # --- Redis, and losing it -----------------------------------------------------------------

    def _count_loss(self, exc: Exception) -> None:
        self.lost = True
        self.counters.inc("errors", "redis_lost")
        logger.error(
            "Lost Redis at %s (%s): ending the run; what was handed to the writer is safe, "
            "the rest is fetched by a later run",
            safe_url(self.session.config.redis_url),
            exc,
        )

    def _lose(self, exc: Exception) -> None:
        if self.lost:
            return
        self._count_loss(exc)
        engine = self.crawler.engine
        if engine is not None:
            closing = deferred_from_coro(engine.close_spider_async(reason=REDIS_LOST_REASON))
            closing.addErrback(
                lambda failure: logger.debug("Closing after Redis was lost: %s", failure.value)
            )

    def _beat_once(self) -> None:
        if self.lost:
            return
        try:
            requeued = self.shared.heartbeat(self.heartbeat_seconds, self.remote.queue.key)
        except REDIS_ANY_ERROR as exc:
            self._lose(exc)
            return
        if requeued:
            self.counters.inc("distributed", "requeued")
            logger.warning("Queued again %d article requests of workers whose heartbeat ran out", requeued)

    # --- the scheduler interface ----------------------------------------------------------------

    def open(self, spider: Spider) -> Deferred[None] | None:
        try:
            self.remote.open(spider)
        except REDIS_ANY_ERROR as exc:
            self._count_loss(exc)
            raise CloseSpider(REDIS_LOST_REASON) from exc
        self._beat_once()
        self._beat = task.LoopingCall(self._beat_once)
        self._beat.start(max(0.5, self.heartbeat_seconds / 3), now=False)
        return self.local.open(spider)

    def close(self, reason: str) -> Deferred[None] | None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        if not self.lost and reason == SHUTDOWN_REASON:
            try:
                handed_back = self.shared.hand_back()
                logger.info(
                    "Stopped: %d article requests this worker had taken are queued again", handed_back
                )
            except REDIS_ERRORS as exc:
                logger.warning("Could not queue this worker's requests again (%s): the next worker does", exc)
        elif not self.lost:
            try:
                released = self.shared.release(
                    sorted(self.shared.taken), self.session.config.redis_retry_after
                )
                self.shared.leave()
                if released:
                    logger.info(
                        "%d articles this worker tried and did not hand to the writer rest %.0f s",
                        released,
                        self.session.config.redis_retry_after,
                    )
            except REDIS_ERRORS as exc:
                logger.warning(
                    "Could not give back this worker's claims (%s): they run out with its heartbeat", exc
                )
        self.remote.close(reason)
        return self.local.close(reason)

    def _check_lost_elsewhere(self) -> None:
        """Another component of this process found Redis gone: end the run too."""
        if self.shared.lost and not self.lost:
            self._lose(ConnectionError("Redis did not answer another component of this worker"))

    def has_pending_requests(self) -> bool:
        self._check_lost_elsewhere()
        if self.local.has_pending_requests():
            return True
        if self.lost:
            return False
        try:
            return len(self.remote) > 0
        except REDIS_ERRORS as exc:
            self._lose(exc)
            return False

    def enqueue_request(self, request: Request) -> bool:
        code = article_code(request)
        if not code:
            return self.local.enqueue_request(request)
        if self.lost:
            self.session.lose(code, request.url, LOST_ARTICLE_REASON)
            return False
        try:
            return self.remote.enqueue_request(request)
        except REDIS_ERRORS as exc:
            self._lose(exc)
            self.session.lose(code, request.url, LOST_ARTICLE_REASON)
            return False

    def next_request(self) -> Request | None:
        request = self.local.next_request()
        if request is not None or self.lost:
            return request
        try:
            request = self.remote.next_request()
        except REDIS_ERRORS as exc:
            self._lose(exc)
            return None
        return request

    def __len__(self) -> int:
        if self.lost:
            return len(self.local)
        try:
            return len(self.local) + len(self.remote)
        except REDIS_ERRORS as exc:
            self._lose(exc)
            return len(self.local)
