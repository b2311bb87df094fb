"""The request dupefilter: Scrapy's, except that a redirect is never a duplicate.

Scrapy sends a redirect's target back through the scheduler, whose dupefilter drops a
URL it has seen before without calling the request's callback or errback. Two removed
articles redirected to one "article not found" page, or an article redirected in a
loop, would then vanish without a log line or a counter. Here a redirected request
always goes on: a loop ends at ``REDIRECT_MAX_TIMES`` and reaches the errback as
``redirect_loop`` (:func:`newscrawler.outcomes.failure_reason`), and a shared target is
fetched once per article that leads to it.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter


class RedirectAwareDupeFilter(RFPDupeFilter):
    def request_seen(self, request: Request) -> bool:
        if request.meta.get("redirect_urls"):
            return False
        return bool(super().request_seen(request))
