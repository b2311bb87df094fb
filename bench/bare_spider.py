"""The baseline of the throughput bench: a bare Scrapy spider making the eastmoney
spider's requests (each feed in ``EASTMONEY_FEEDS``, then the text-API URL of every
``record`` entry) and yielding nothing.

"Bare" means: the same Scrapy, reactor and download settings as the project (run with
``scrapy runspider`` from the repository, so ``scrapy.cfg`` loads
``newscrawler.settings``: timeouts, retries, size limits, user agent, cookies off; the
bench gives both runs the same concurrency and no delay), but none of the project's
components: no item pipelines, spider or downloader middlewares, extensions or
dupefilter of ours (Scrapy's own built-ins stay), no parsing of the text-API answers
and no items. The difference to ``scrapy crawl
eastmoney`` is thus everything the project adds on top of fetching.

    scrapy runspider bench/bare_spider.py -s EASTMONEY_FEEDS=... -s EASTMONEY_TEXT_URL=...
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from scrapy import Request, Spider
from scrapy.http import Response


class BareSpider(Spider):
    name = "bench_bare"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ITEM_PIPELINES": {},
        "SPIDER_MIDDLEWARES": {},
        "DOWNLOADER_MIDDLEWARES": {},
        "EXTENSIONS": {},
        "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter",
    }

    async def start(self) -> AsyncIterator[Request]:
        for url in self.settings.getlist("EASTMONEY_FEEDS"):
            yield Request(url, callback=self.parse_feed, dont_filter=True)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        template = self.settings.get("EASTMONEY_TEXT_URL")
        for entry in json.loads(response.body)["record"]:
            info_code = entry["infoCode"]
            yield Request(template.format(info_code=info_code, code=info_code[2:]), callback=self.parse_text)

    def parse_text(self, response: Response) -> Iterator[Any]:
        yield from ()
