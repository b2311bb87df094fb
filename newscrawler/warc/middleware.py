"""Downloader middleware that records every HTTP exchange of a crawl in WARC files.

Enabled by ``WARC_DIR`` (empty: off, the middleware raises ``NotConfigured``). The
writing is done by :class:`newscrawler.warc.recorder.WarcRecorder`; this adapter turns Scrapy's
request and response into an :class:`~newscrawler.warc.records.HttpExchange`.

It sits at priority 950 in ``DOWNLOADER_MIDDLEWARES``, closer to the downloader than every
built-in middleware (the last one, HttpCacheMiddleware, is 900), so ``process_response``
sees each response as it came off the wire: every retried attempt before RetryMiddleware
(550) retries it, every 3xx before RedirectMiddleware (600) follows it, error statuses
before HttpErrorMiddleware drops them, and bodies still encoded (gzip, br ...) before
HttpCompressionMiddleware (590) decodes them. Requests have all their headers by then
(user agent, ``Accept-Encoding`` ...). Feeds, text API answers, article pages and
images (the image pipeline downloads through the same engine) are all recorded.
Responses served from Scrapy's HTTP cache (flag ``cached``) were not fetched and are not
recorded. Requests that fail without a response (timeouts, refused connections) leave
no record.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import scrapy
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

import newscrawler
from newscrawler.outcomes import Counters
from newscrawler.warc.recorder import WarcRecorder
from newscrawler.warc.records import HttpExchange

logger = logging.getLogger(__name__)


def _software() -> str:
    return f"newscrawler/{newscrawler.__version__} (Scrapy {scrapy.__version__}; warcio {version('warcio')})"


def _headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """Scrapy ``Headers`` (name -> list of values) as (name, value) pairs, in order."""
    pairs = []
    for name, values in headers.items():
        for value in values or [b""]:
            pairs.append((bytes(name), bytes(value)))
    return pairs


class WarcMiddleware:
    """Writes each (request, response) to the WARC files of ``WARC_DIR``."""

    def __init__(self, crawler: Crawler, directory: Path, max_size: int, extra_info: dict[str, str]) -> None:
        self.crawler = crawler
        self.counters = Counters(crawler.stats)
        self.directory = directory
        self.max_size = max_size
        self.extra_info = extra_info
        self.recorder: WarcRecorder | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcMiddleware:
        settings = crawler.settings
        directory = str(settings.get("WARC_DIR") or "").strip()
        if not directory:
            logger.debug("WARC capture is off (WARC_DIR is not set)")
            raise NotConfigured  # off by default: no warning
        max_size = settings.getint("WARC_MAX_SIZE")
        if max_size <= 0:
            raise ValueError(f"WARC_MAX_SIZE must be a positive number of bytes, got {max_size}")
        extra = {str(k): str(v) for k, v in (settings.getdict("WARC_INFO") or {}).items()}
        middleware = cls(crawler, Path(directory), max_size, extra)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def warcinfo(self, spider: Spider) -> dict[str, str]:
        settings = self.crawler.settings
        info = {
            "software": _software(),
            "hostname": socket.gethostname(),
            "http-header-user-agent": str(settings.get("USER_AGENT") or ""),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "isPartOf": f"{settings.get('BOT_NAME')}-{spider.name}",
            "description": f"scrapy crawl {spider.name}",
        }
        info.update(self.extra_info)
        return {k: v for k, v in info.items() if v}

    def spider_opened(self, spider: Spider) -> None:
        self.recorder = WarcRecorder(self.directory, max_size=self.max_size, info=self.warcinfo(spider))
        for path in self.recorder.recover():
            self.counters.inc("warc", "recovered_files")
            logger.warning("Recovered WARC file %s left by an interrupted run", path)

    def spider_closed(self, spider: Spider) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            recorder.close()
            logger.info("WARC files in %s: %d written this run", self.directory, len(recorder.closed_files))

    def process_response(self, request: Request, response: Response) -> Response:
        recorder = self.recorder
        if (
            recorder is None
            or "cached" in response.flags
            or not response.url.lower().startswith(("http://", "https://"))
        ):
            return response
        exchange = HttpExchange(
            url=response.url,
            status=response.status,
            body=response.body,
            response_headers=_headers(response.headers),
            method=request.method,
            request_headers=_headers(request.headers),
            request_body=request.body,
            protocol=response.protocol or "HTTP/1.1",
            ip_address=str(response.ip_address) if response.ip_address else None,
            date=datetime.now(UTC),
        )
        try:
            location = recorder.write(exchange)
        except OSError as exc:
            self.counters.inc("warc", "errors")
            logger.error("Could not write %s to the WARC files in %s: %s", response.url, self.directory, exc)
            return response
        except Exception:  # archiving must never fail the download itself
            self.counters.inc("warc", "errors")
            logger.exception("Could not write %s to the WARC files in %s", response.url, self.directory)
            return response
        self.counters.inc("warc", "records")
        self.counters.inc("warc", "bytes", count=location.size)
        if location.new_file:
            self.counters.inc("warc", "files")
        logger.debug("WARC %s @%d: %s %s", location.filename, location.offset, response.status, response.url)
        return response
