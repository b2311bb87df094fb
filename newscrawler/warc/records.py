"""What a WARC record of the crawl is: an HTTP exchange (request and response), its HTTP
heads written exactly as received, and its serialization into gzip WARC/1.1 record bytes
(warcio, one gzip member per record). Pure: no files, no Scrapy.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

__all__ = [
    "CONFORMS_TO",
    "WARC_VERSION",
    "Headers",
    "HttpExchange",
    "RecordLocation",
    "SerializedExchange",
    "request_head",
    "response_head",
    "serialize_exchange",
    "serialize_warcinfo",
    "warc_date",
]

WARC_VERSION = "1.1"
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

_CRLF_RE = re.compile(rb"[\r\n]+")

Headers = Sequence[tuple[bytes, bytes]]


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and the response received for it."""

    url: str
    status: int
    body: bytes = b""
    response_headers: Headers = ()
    method: str = "GET"
    request_headers: Headers = ()
    request_body: bytes = b""
    #: ``HTTP/1.1``, ``HTTP/2`` ... as the client reports it.
    protocol: str = "HTTP/1.1"
    #: Reason phrase; ``None`` means the standard phrase for the status.
    reason: str | None = None
    ip_address: str | None = None
    #: When the response was received (UTC); ``None`` means now.
    date: datetime | None = None


@dataclass(frozen=True)
class RecordLocation:
    """Where the response record of an exchange went."""

    filename: str
    offset: int
    length: int
    record_id: str
    payload_digest: str
    #: Bytes written for the exchange (response and request records).
    size: int
    #: True when the exchange opened a new WARC file.
    new_file: bool


class _RawHead(StatusAndHeaders):
    """HTTP status line and headers written exactly as given (warcio would re-encode)."""

    def __init__(self, raw: bytes, statusline: str, protocol: str) -> None:
        super().__init__(statusline, [], protocol=protocol)
        self.raw = raw

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.raw


def _header_lines(headers: Headers) -> bytes:
    out = bytearray()
    for name, value in headers:
        out += _CRLF_RE.sub(b" ", name).strip() + b": " + _CRLF_RE.sub(b" ", value).strip() + b"\r\n"
    return bytes(out)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def response_head(exchange: HttpExchange) -> tuple[bytes, str, str]:
    """(raw head, status line, protocol) of the response."""
    protocol = exchange.protocol or "HTTP/1.1"
    reason = _reason(exchange.status) if exchange.reason is None else exchange.reason
    statusline = f"{exchange.status} {reason}".rstrip()
    raw = f"{protocol} {statusline}\r\n".encode("latin-1", "replace")
    return raw + _header_lines(exchange.response_headers) + b"\r\n", statusline, protocol


def request_head(exchange: HttpExchange) -> tuple[bytes, str, str]:
    """(raw head, request line, protocol) of the request, with a ``Host`` header."""
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    statusline = f"{exchange.method} {target}"
    protocol = "HTTP/1.1"
    headers = list(exchange.request_headers)
    if not any(name.lower() == b"host" for name, _ in headers):
        headers.insert(0, (b"Host", parts.netloc.rpartition("@")[2].encode("ascii", "replace")))
    raw = f"{statusline} {protocol}\r\n".encode("latin-1", "replace")
    return raw + _header_lines(headers) + b"\r\n", statusline, protocol


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(date: datetime) -> str:
    """``WARC-Date`` of *date*: UTC, with microseconds (``2022-05-10T01:02:03.456789Z``)."""
    return datetime_to_iso_date(date.astimezone(UTC).replace(tzinfo=None), use_micros=True)


class SerializedExchange(NamedTuple):
    """An exchange's ``response`` and ``request`` records, ready to be appended to a file."""

    #: Bytes of both records (two gzip members, the response first).
    data: bytes
    #: Length of the response record's gzip member (it starts at offset 0 of *data*).
    length: int
    record_id: str
    payload_digest: str
    warc_date: str


def serialize_exchange(exchange: HttpExchange, date: datetime, warcinfo_id: str) -> SerializedExchange:
    """The ``response`` record of *exchange* then its ``request`` record, dated *date*."""
    date_value = warc_date(date)
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
    response_id = _record_id()

    raw, statusline, protocol = response_head(exchange)
    response_headers = {
        "WARC-Type": "response",
        "WARC-Record-ID": response_id,
        "WARC-Date": date_value,
        "WARC-Target-URI": exchange.url,
    }
    if exchange.ip_address:
        response_headers["WARC-IP-Address"] = exchange.ip_address
    response_headers["WARC-Warcinfo-ID"] = warcinfo_id
    response = writer.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=_RawHead(raw, statusline, protocol),
        warc_headers_dict=response_headers,
    )
    writer.write_record(response)
    response_length = buffer.tell()

    raw, statusline, protocol = request_head(exchange)
    request = writer.create_warc_record(
        exchange.url,
        "request",
        payload=io.BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        http_headers=_RawHead(raw, statusline, protocol),
        warc_headers_dict={
            "WARC-Type": "request",
            "WARC-Record-ID": _record_id(),
            "WARC-Date": date_value,
            "WARC-Target-URI": exchange.url,
            "WARC-Concurrent-To": response_id,
            "WARC-Warcinfo-ID": warcinfo_id,
        },
    )
    writer.write_record(request)
    digest = response.rec_headers.get_header("WARC-Payload-Digest") or ""
    return SerializedExchange(buffer.getvalue(), response_length, response_id, digest, date_value)


def serialize_warcinfo(filename: str, info: Mapping[str, str]) -> tuple[bytes, str]:
    """(bytes, record id) of the ``warcinfo`` record that starts the WARC file *filename*."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
    record = writer.create_warcinfo_record(filename, info)
    writer.write_record(record)
    return buffer.getvalue(), record.rec_headers.get_header("WARC-Record-ID")
