"""``WarcMiddleware`` as a component: built with get_crawler, fed Scrapy requests and
responses in process, its WARC files read back with warcio."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from newscrawler.warc.cdxj import INDEX_NAME
from newscrawler.warc.middleware import WarcMiddleware
from tests.conftest import project_settings

URL = "http://127.0.0.1:9/a/202204222353030078.html"
PAGE = "<html><body><div id='ContentBody'><p>正文</p></div></body></html>".encode()


class _Spider(Spider):
    name = "eastmoney"


def _crawler(**settings: Any) -> Crawler:
    crawler = get_crawler(_Spider, settings_dict=project_settings(**settings))
    assert crawler.stats is not None
    crawler.stats.open_spider()
    return crawler


def _stat(crawler: Crawler, name: str) -> int:
    assert crawler.stats is not None
    return int(crawler.stats.get_value(f"newscrawler/warc/{name}", 0))


def _records(directory: Path) -> list[Any]:
    records = []
    for path in sorted(directory.glob("*.warc.gz")):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                records.append(
                    (record.rec_type, record.rec_headers, record.http_headers, record.raw_stream.read())
                )
    return records


@pytest.mark.parametrize("value", ["", "   "])
def test_not_configured_without_warc_dir(value: str, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="newscrawler.warc.middleware"),
        pytest.raises(NotConfigured) as excinfo,
    ):
        WarcMiddleware.from_crawler(_crawler(WARC_DIR=value))
    # Off by default, so silent: no message (Scrapy would log one as a warning), a DEBUG line.
    assert str(excinfo.value) == ""
    assert [r.levelno for r in caplog.records if "WARC_DIR" in r.getMessage()] == [logging.DEBUG]
    assert "WARC_DIR" in project_settings() and project_settings()["WARC_DIR"] == ""  # off by default


def test_a_bad_max_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="WARC_MAX_SIZE"):
        WarcMiddleware.from_crawler(_crawler(WARC_DIR=str(tmp_path), WARC_MAX_SIZE=0))


def test_records_a_response_and_its_request(tmp_path: Path) -> None:
    directory = tmp_path / "warc"
    crawler = _crawler(WARC_DIR=str(directory), WARC_INFO={"operator": "tests"})
    middleware = WarcMiddleware.from_crawler(crawler)
    spider = _Spider()
    middleware.spider_opened(spider)
    body = gzip.compress(PAGE)
    request = Request(URL, headers={"User-Agent": "newscrawler-test", "Referer": "http://127.0.0.1:9/"})
    response = Response(
        URL,
        status=200,
        body=body,
        headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        request=request,
    )
    assert middleware.process_response(request, response) is response
    assert (_stat(crawler, "records"), _stat(crawler, "files")) == (1, 1)
    assert _stat(crawler, "bytes") > len(body)
    middleware.spider_closed(spider)
    assert middleware.recorder is None
    assert not list(directory.glob("*.open"))  # closed: renamed to .warc.gz

    records = _records(directory)
    assert [r[0] for r in records] == ["warcinfo", "response", "request"]
    info = records[0][3].decode()
    assert "operator: tests" in info and "isPartOf: newscrawler-eastmoney" in info
    _, head, http, payload = records[1]
    assert head.get_header("WARC-Target-URI") == URL
    assert http.get_statuscode() == "200"
    assert http.get_header("Content-Encoding") == "gzip"
    assert payload == body  # as received: still gzip-encoded
    _, request_head, request_http, _ = records[2]
    assert request_head.get_header("WARC-Concurrent-To") == head.get_header("WARC-Record-ID")
    assert request_http.get_header("User-Agent") == "newscrawler-test"
    [line] = (directory / INDEX_NAME).read_text("utf-8").splitlines()
    assert json.loads(line.split(" ", 2)[2])["url"] == URL


def test_cached_and_non_http_responses_are_not_recorded(tmp_path: Path) -> None:
    directory = tmp_path / "warc"
    crawler = _crawler(WARC_DIR=str(directory))
    middleware = WarcMiddleware.from_crawler(crawler)
    spider = _Spider()
    # Not opened yet: nothing to write into, the response goes on.
    response = HtmlResponse(URL, body=PAGE)
    assert middleware.process_response(Request(URL), response) is response
    middleware.spider_opened(spider)
    cached = HtmlResponse(URL, body=PAGE, flags=["cached"])
    assert middleware.process_response(Request(URL), cached) is cached
    local = HtmlResponse("file:///tmp/x.html", body=PAGE)
    assert middleware.process_response(Request("file:///tmp/x.html"), local) is local
    assert _stat(crawler, "records") == 0
    middleware.spider_closed(spider)
    assert [r[0] for r in _records(directory)] in ([], ["warcinfo"])


def test_a_failed_write_is_counted_and_the_response_goes_on(tmp_path: Path) -> None:
    crawler = _crawler(WARC_DIR=str(tmp_path / "warc"))
    middleware = WarcMiddleware.from_crawler(crawler)
    spider = _Spider()
    middleware.spider_opened(spider)
    assert middleware.recorder is not None

    def full(exchange: object) -> object:
        raise OSError(28, "No space left on device")

    middleware.recorder.write = full  # type: ignore[method-assign]
    response = HtmlResponse(URL, body=PAGE)
    assert middleware.process_response(Request(URL), response) is response
    assert (_stat(crawler, "errors"), _stat(crawler, "records")) == (1, 0)
    middleware.spider_closed(spider)
