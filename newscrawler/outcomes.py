"""Outcome bookkeeping shared by the Scrapy adapters: stats counter names and failure reasons.

Every outcome of a crawl is a stats counter under ``newscrawler/`` and a log line that
names the URL and the reason.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.statscollectors import StatsCollector
    from twisted.python.failure import Failure

PREFIX = "newscrawler"

_NON_WORD_RE = re.compile(r"[^a-z0-9_]+")


def counter(*parts: str) -> str:
    """``newscrawler/<part>/<part>`` with each part reduced to ``[a-z0-9_]``."""
    return "/".join([PREFIX, *(_NON_WORD_RE.sub("_", p.lower()).strip("_") or "unknown" for p in parts)])


class Counters:
    """The namespaced stats counters of one component: ``inc("dropped", reason)`` adds to
    ``newscrawler/dropped/<reason>``."""

    def __init__(self, stats: StatsCollector | None) -> None:
        assert stats is not None, "the crawler has no stats collector yet"
        self.stats = stats

    def inc(self, *parts: str, count: int = 1) -> None:
        self.stats.inc_value(counter(*parts), count)


def failure_reason(failure: Any) -> str:
    """A short reason for a download failure: ``http_503``, ``timeout``, ``dns``,
    ``connection_refused``, ``data_loss`` (connection closed mid-body), ``no_response``,
    ``too_large`` (over ``DOWNLOAD_MAXSIZE``, also once decompressed), ``redirect_loop``,
    ``too_many_redirects``, ``robots_forbidden``, ``bad_encoding`` (a body that does not
    decompress) ... and ``ignored`` for a request dropped on purpose (e.g. an article
    already archived), which is no failure.

    Scrapy >= 2.14 wraps Twisted's errors in its own (``DownloadTimeoutError`` ...);
    both families are recognized.
    """
    import gzip
    import zlib

    from scrapy import exceptions as scrapy_errors
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import defer
    from twisted.internet import error as net_error
    from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

    value = getattr(failure, "value", failure)
    if isinstance(value, HttpError):
        return f"http_{value.response.status}"
    if isinstance(value, scrapy_errors.IgnoreRequest):
        return _ignored_reason(value, getattr(failure, "request", None))
    if isinstance(value, scrapy_errors.DownloadFailedError) and isinstance(
        value.__cause__, ResponseNeverReceived
    ):
        return "no_response"
    checks: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
        (
            (scrapy_errors.DownloadTimeoutError, net_error.TimeoutError, net_error.TCPTimedOutError),
            "timeout",
        ),
        ((scrapy_errors.CannotResolveHostError, net_error.DNSLookupError), "dns"),
        (
            (scrapy_errors.DownloadConnectionRefusedError, net_error.ConnectionRefusedError),
            "connection_refused",
        ),
        (scrapy_errors.ResponseDataLossError, "data_loss"),
        (ResponseNeverReceived, "no_response"),
        (
            (
                scrapy_errors.DownloadFailedError,
                net_error.ConnectionLost,
                net_error.ConnectionDone,
                ResponseFailed,
            ),
            "connection_lost",
        ),
        # Scrapy cancels a download itself when its body exceeds DOWNLOAD_MAXSIZE.
        ((scrapy_errors.DownloadCancelledError, defer.CancelledError), "too_large"),
        ((gzip.BadGzipFile, zlib.error), "bad_encoding"),
        (scrapy_errors.UnsupportedURLSchemeError, "unsupported_scheme"),
    )
    for types, reason in checks:
        if isinstance(value, types):
            return reason
    return _snake(type(value).__name__)


def _ignored_reason(value: BaseException, request: Any) -> str:
    """Why an ``IgnoreRequest`` was raised: the failures Scrapy reports this way get a
    reason of their own; anything else was dropped on purpose (``ignored``)."""
    message = str(value)
    if message == "max redirections reached":
        meta = getattr(request, "meta", None) or {}
        chain = [*meta.get("redirect_urls", []), getattr(request, "url", "")]
        return "redirect_loop" if len(set(chain)) < len(chain) else "too_many_redirects"
    if message == "Forbidden by robots.txt":
        return "robots_forbidden"
    if "DOWNLOAD_MAXSIZE" in message:  # HttpCompressionMiddleware: too large once decompressed
        return "too_large"
    return "ignored"


def failed_request(failure: Failure) -> Request:
    """The request of a download failure (Scrapy sets it on the failure for errbacks)."""
    request = getattr(failure, "request", None)
    assert request is not None, "not the failure of a request"
    return request


def requested_url(request: Any) -> str:
    """The URL a request was first made for (before any redirect)."""
    redirects = (getattr(request, "meta", None) or {}).get("redirect_urls") or []
    return str(redirects[0] if redirects else getattr(request, "url", ""))


def _snake(name: str) -> str:
    return _NON_WORD_RE.sub("_", re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()).strip("_")
