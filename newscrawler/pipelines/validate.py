"""Validation: a valid code, title and date (and outlet, for outlet posts), normalized."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler

from newscrawler.archive.post import normalize_outlet, normalize_title, safe_source_url
from newscrawler.archive.session import ArchiveSession
from newscrawler.dates import BEIJING, parse_date
from newscrawler.ids import info_code, is_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.outcomes import Counters
from newscrawler.pipelines.base import drop

logger = logging.getLogger(__name__)

#: How far in the future a publication date may lie (clock skew) before it is refused.
FUTURE_TOLERANCE = timedelta(days=1)


class ValidatePipeline:
    """Drops articles without a valid code, title, date (or outlet, for outlet posts);
    normalizes the title, date and outlet."""

    def __init__(self, crawler: Crawler, session: ArchiveSession, clock: Callable[[], datetime]) -> None:
        self.counters = Counters(crawler.stats)
        self.session = session
        self.clock = clock

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler, ArchiveSession.from_crawler(crawler), lambda: datetime.now(BEIJING))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if not is_code(item.code):
            raise drop(self.counters, self.session, item, "bad_code", repr(item.code)[:60])
        item.title_raw = item.title_raw or item.title
        item.title = normalize_title(item.title_raw)
        if not item.title:
            raise drop(self.counters, self.session, item, "no_title")
        item.date_raw = item.date_raw or ""
        date = (
            parse_date(item.date_raw) if item.date_raw else (item.date and parse_date(item.date.isoformat()))
        )
        if date is None:
            raise drop(
                self.counters,
                self.session,
                item,
                "bad_date" if item.date_raw else "no_date",
                repr(item.date_raw)[:60],
            )
        if date > self.clock() + FUTURE_TOLERANCE:
            raise drop(self.counters, self.session, item, "future_date", date.isoformat())
        item.date = date
        if item.kind == KIND_OUTLET:
            outlet = normalize_outlet(item.outlet)
            if not outlet:
                raise drop(self.counters, self.session, item, "no_outlet", repr(item.outlet)[:60])
            item.outlet = outlet
        elif item.kind == KIND_EMNEWS:
            safe = safe_source_url(item.source_url)
            if safe is None:
                if item.source_url:
                    self.counters.inc("fallback", "bad_source_url")
                    logger.warning(
                        "Article %s from %s: unusable source URL %r, using the article page",
                        item.code,
                        item.url,
                        item.source_url[:200],
                    )
                safe = self.session.config.article_url_template.format(
                    code=item.code, info_code=info_code(item.code)
                )
            item.source_url = safe
        else:
            raise drop(self.counters, self.session, item, "bad_kind", repr(item.kind)[:20])
        return item
