"""The shared duplicate filter: scrapy-redis's (fingerprints in a Redis set), with our
single-machine filter's rule that a redirect is never a duplicate
(:mod:`newscrawler.dupefilter`), and article requests left to their claims.

An article request is filtered by its article's claim, when it is queued
(:class:`~newscrawler.distributed.scheduler.ArticleRequestQueue`): a fingerprint kept for
good would keep an article that failed today from being fetched by a later run.
"""

from __future__ import annotations

from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter

from newscrawler.requestmeta import ARTICLE_CODE_META


class SharedDupeFilter(RFPDupeFilter):
    def request_seen(self, request: Request) -> bool:
        if request.meta.get("redirect_urls") or request.meta.get(ARTICLE_CODE_META):
            return False
        return bool(super().request_seen(request))

    def close(self, reason: str = "") -> None:
        """Kept between runs (scrapy-redis's filter deletes its set here)."""
