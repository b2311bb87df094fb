"""Outcome bookkeeping shared by the Scrapy adapters: stats counter names and failure reasons.

Every outcome of a crawl is a stats counter under ``newscrawler/`` and a log line that
names the URL and the reason.
"""

from __future__ import annotations

import re
from typing import Any

PREFIX = "newscrawler"

_NON_WORD_RE = re.compile(r"[^a-z0-9_]+")


def counter(*parts: str) -> str:
    """``newscrawler/<part>/<part>`` with each part reduced to ``[a-z0-9_]``."""
    return "/".join([PREFIX, *(_NON_WORD_RE.sub("_", p.lower()).strip("_") or "unknown" for p in parts)])


def failure_reason(failure: Any) -> str:
    """A short reason for a download failure: ``http_503``, ``timeout``, ``dns`` ..."""
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as net_error
    from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

    value = getattr(failure, "value", failure)
    if isinstance(value, HttpError):
        return f"http_{value.response.status}"
    checks: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
        ((net_error.TimeoutError, net_error.TCPTimedOutError), "timeout"),
        (net_error.DNSLookupError, "dns"),
        (net_error.ConnectionRefusedError, "connection_refused"),
        ((net_error.ConnectionLost, net_error.ConnectionDone, ResponseFailed), "connection_lost"),
        (ResponseNeverReceived, "no_response"),
    )
    for types, reason in checks:
        if isinstance(value, types):
            return reason
    name = type(value).__name__
    if name == "IgnoreRequest":
        return "ignored"
    return _NON_WORD_RE.sub("_", re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()).strip("_")
