"""``newscrawler.outcomes.failure_reason``: every family of download failure gets its reason.

The exceptions are the ones Scrapy and Twisted raise; the ``IgnoreRequest`` cases are
raised by Scrapy's own middlewares, run in process, so a change of their messages shows.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import pytest
from scrapy import Request
from scrapy import exceptions as scrapy_errors
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from newscrawler.middlewares import SourceDisabled
from newscrawler.outcomes import counter, failed_request, failure_reason, requested_url

from .conftest import project_settings

URL = "http://127.0.0.1:9/a/202204212352230951.html"


def _failure(exc: BaseException, request: Request | None = None) -> Failure:
    failure = Failure(exc)
    if request is not None:
        failure.request = request  # type: ignore[attr-defined]  # as Scrapy sets it for an errback
    return failure


def _cause(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (HttpError(Response(URL, status=503), "Ignoring non-200 response"), "http_503"),
        (HttpError(Response(URL, status=404), "Ignoring non-200 response"), "http_404"),
        (scrapy_errors.DownloadTimeoutError("Getting x took longer than 10 seconds."), "timeout"),
        (net_error.TimeoutError(), "timeout"),
        (net_error.TCPTimedOutError(), "timeout"),
        (scrapy_errors.CannotResolveHostError("nowhere.invalid"), "dns"),
        (net_error.DNSLookupError("nowhere.invalid"), "dns"),
        (scrapy_errors.DownloadConnectionRefusedError(), "connection_refused"),
        (net_error.ConnectionRefusedError(), "connection_refused"),
        (scrapy_errors.ResponseDataLossError(), "data_loss"),
        (ResponseNeverReceived([Failure(net_error.ConnectionDone())]), "no_response"),
        (
            _cause(
                scrapy_errors.DownloadFailedError(),
                ResponseNeverReceived([Failure(net_error.ConnectionLost())]),
            ),
            "no_response",
        ),
        (scrapy_errors.DownloadFailedError(), "connection_lost"),
        (net_error.ConnectionLost(), "connection_lost"),
        (net_error.ConnectionDone(), "connection_lost"),
        (ResponseFailed([Failure(net_error.ConnectionLost())]), "connection_lost"),
        (scrapy_errors.DownloadCancelledError(), "too_large"),
        (defer.CancelledError(), "too_large"),
        (gzip.BadGzipFile("Not a gzipped file"), "bad_encoding"),
        (zlib.error("invalid stored block lengths"), "bad_encoding"),
        (scrapy_errors.UnsupportedURLSchemeError("ftp"), "unsupported_scheme"),
        (IgnoreRequest("article 202204212352230951 is already archived"), "ignored"),
        (SourceDisabled("text source text_api is switched off for this run"), "ignored"),
        (IgnoreRequest(), "ignored"),
        # Anything else: the exception's class name, in snake case.
        (ValueError("x"), "value_error"),
        (KeyError("x"), "key_error"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_each_family_has_its_reason(exc: BaseException, reason: str) -> None:
    assert failure_reason(exc) == reason
    assert failure_reason(_failure(exc, Request(URL))) == reason  # a Twisted Failure, as an errback gets


def test_a_reason_is_a_counter_part() -> None:
    assert counter("errors", "text_api_" + failure_reason(scrapy_errors.DownloadTimeoutError())) == (
        "newscrawler/errors/text_api_timeout"
    )
    assert counter("errors", "Feed HTTP-503!") == "newscrawler/errors/feed_http_503"
    assert counter("errors", "***") == "newscrawler/errors/unknown"


# --- IgnoreRequest, as Scrapy's own middlewares raise it -------------------------------------


def _redirect_failure(urls: list[str], max_times: int) -> Failure:
    """Follow 302s through *urls* (then round again) with Scrapy's RedirectMiddleware until
    it gives up; the failure as the errback gets it (with the last redirected request)."""
    crawler = get_crawler(settings_dict=project_settings(REDIRECT_MAX_TIMES=max_times))
    middleware = RedirectMiddleware.from_crawler(crawler)
    request = Request(urls[0])
    for step in range(1, 100):
        target = urls[step % len(urls)]
        response = Response(request.url, status=302, headers={"Location": target}, request=request)
        try:
            result = middleware.process_response(request, response)
        except IgnoreRequest as exc:
            return _failure(exc, request)
        assert isinstance(result, Request) and result.url == target
        request = result
    raise AssertionError("RedirectMiddleware never gave up")


def test_redirect_loop() -> None:
    failure = _redirect_failure(["http://127.0.0.1:9/loop/a", "http://127.0.0.1:9/loop/b"], max_times=5)
    assert failure_reason(failure) == "redirect_loop"
    request = failed_request(failure)
    assert requested_url(request) == "http://127.0.0.1:9/loop/a"  # the URL first asked for
    assert len(request.meta["redirect_urls"]) == 5


def test_too_many_redirects_without_a_loop() -> None:
    urls = [f"http://127.0.0.1:9/hop/{n}" for n in range(10)]
    failure = _redirect_failure(urls, max_times=3)
    assert failure_reason(failure) == "too_many_redirects"
    assert failed_request(failure).meta["redirect_urls"] == urls[:3]


def test_max_redirections_without_the_request_is_too_many_redirects() -> None:
    assert failure_reason(IgnoreRequest("max redirections reached")) == "too_many_redirects"


class _Forbidding:
    """A robots.txt parser that allows nothing."""

    def allowed(self, url: Any, user_agent: Any) -> bool:
        return False


def test_robots_forbidden() -> None:
    crawler = get_crawler(settings_dict=project_settings(ROBOTSTXT_OBEY=True))
    middleware = RobotsTxtMiddleware.from_crawler(crawler)
    request = Request(URL)
    with pytest.raises(IgnoreRequest) as excinfo:
        middleware.process_request_2(_Forbidding(), request)  # type: ignore[arg-type]
    assert failure_reason(_failure(excinfo.value, request)) == "robots_forbidden"


def test_too_large_once_decompressed() -> None:
    crawler = get_crawler(settings_dict=project_settings(DOWNLOAD_MAXSIZE=10_000))
    middleware = HttpCompressionMiddleware.from_crawler(crawler)
    request = Request(URL)
    body = gzip.compress(b"0" * 100_000)
    assert len(body) < 10_000
    response = Response(URL, body=body, headers={"Content-Encoding": "gzip"}, request=request)
    with pytest.raises(IgnoreRequest) as excinfo:
        middleware.process_response(request, response)
    assert failure_reason(_failure(excinfo.value, request)) == "too_large"
