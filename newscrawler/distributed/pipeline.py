"""The worker's last item pipeline: hand each validated, cleaned article to the writer."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from newscrawler.archive.session import ArchiveSession
from newscrawler.distributed.messages import encode_article
from newscrawler.distributed.scheduler import LOST_ARTICLE_REASON
from newscrawler.distributed.shared import REDIS_ERRORS, Shared
from newscrawler.items import KIND_OUTLET, Article
from newscrawler.outcomes import Counters

logger = logging.getLogger(__name__)


class HandOffPipeline:
    """Sends the article to the writer through Redis, with its claim
    (``newscrawler/distributed/handed_off``); when Redis does not answer, the article is
    lost for this run (``newscrawler/errors/redis_lost``) and fetched by a later one."""

    def __init__(self, crawler: Crawler, session: ArchiveSession, shared: Shared) -> None:
        self.counters = Counters(crawler.stats)
        self.session = session
        self.shared = shared

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HandOffPipeline:
        session = ArchiveSession.from_crawler(crawler)
        if session.shared is None:
            raise NotConfigured("HandOffPipeline needs REDIS_URL")
        return cls(crawler, session, session.shared)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        hint = self.session.run.slugs.get(item.outlet, "") if item.kind == KIND_OUTLET else ""
        try:
            self.shared.hand_off(item.code, encode_article(item, hint))
        except REDIS_ERRORS as exc:
            self.counters.inc("errors", "redis_lost")
            self.session.lose(item.code, item.url, LOST_ARTICLE_REASON)
            raise DropItem(
                f"not handed to the writer: Redis did not answer ({exc})", log_level="ERROR"
            ) from exc
        self.counters.inc("distributed", "handed_off")
        logger.debug("Handed article %s (%s) to the writer", item.code, item.url)
        return item
