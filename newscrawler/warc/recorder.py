"""Web archive of a crawl: HTTP exchanges as WARC/1.1 records (warcio, one gzip member per
record, rotated files, crash recovery) and a CDXJ index as pywb reads it. No Scrapy
(docs/internals.md "WARC capture").
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import re
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from newscrawler.archive.fsutil import fsync_dir

__all__ = [
    "DEFAULT_MAX_SIZE",
    "INDEX_NAME",
    "HttpExchange",
    "RecordLocation",
    "WarcRecorder",
    "complete_members_end",
    "surt_key",
]

logger = logging.getLogger(__name__)

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
INDEX_NAME = "index.cdxj"
DEFAULT_MAX_SIZE = 100 * 1024 * 1024
DEFAULT_PREFIX = "newscrawler"
WARC_VERSION = "1.1"
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CRLF_RE = re.compile(rb"[\r\n]+")
_READ_CHUNK = 256 * 1024

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


def surt_key(url: str) -> str:
    """A SURT-style sort key: ``com,eastmoney,finance)/a/2022.html``.

    Scheme and ``www.`` dropped, host labels reversed (IP addresses kept), a non-default
    port kept, path and query lower-cased, query parameters sorted.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    is_ip = re.fullmatch(r"[0-9.]+", host) or ":" in host
    key = host if is_ip else ",".join(reversed(host.split(".")))
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        key += f":{port}"
    key += ")" + (parts.path or "/").lower()
    if parts.query:
        key += "?" + "&".join(sorted(parts.query.lower().split("&")))
    return key.replace(" ", "%20")


def _timestamp14(warc_date: str) -> str:
    return iso_date_to_datetime(warc_date).strftime("%Y%m%d%H%M%S")


def _mime(headers: Headers) -> str:
    for name, value in headers:
        if name.lower() == b"content-type":
            mime = value.split(b";", 1)[0].strip().lower().decode("latin-1")
            return mime or "unk"
    return "unk"


def cdxj_line(
    *,
    url: str,
    warc_date: str,
    status: int,
    mime: str,
    digest: str,
    filename: str,
    offset: int,
    length: int,
    method: str = "GET",
) -> str:
    """One CDXJ index line (no newline) for a response record."""
    fields: dict[str, str] = {"url": url, "mime": mime, "status": str(status)}
    if digest:
        fields["digest"] = digest.partition(":")[2] or digest
    if method != "GET":
        fields["method"] = method
    fields.update({"length": str(length), "offset": str(offset), "filename": filename})
    return f"{surt_key(url)} {_timestamp14(warc_date)} {json.dumps(fields, ensure_ascii=False)}"


def complete_members_end(handle: IO[bytes]) -> int:
    """Offset just past the last complete gzip member holding a WARC record, from the start.

    Reading stops at the first incomplete member, corrupt data, or complete member that
    does not start with ``WARC/``: what lies before the returned offset is a readable WARC.
    """
    handle.seek(0)
    good_end = 0
    consumed = 0
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    head = b""
    while chunk := handle.read(_READ_CHUNK):
        data = chunk
        while data:
            try:
                out = decompressor.decompress(data)
            except zlib.error:
                return good_end
            if len(head) < 5:
                head += out[: 5 - len(head)]
            if not decompressor.eof:
                consumed += len(data)
                break
            consumed += len(data) - len(decompressor.unused_data)
            if not head.startswith(b"WARC/"):
                return good_end
            good_end = consumed
            data = decompressor.unused_data
            decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
            head = b""
    return good_end


def _write_all(handle: io.FileIO, data: bytes) -> None:
    """Write all of *data* with unbuffered writes (nothing is left in a user-space buffer)."""
    view = memoryview(data)
    while view:
        written = handle.write(view)
        if not written:
            raise OSError(f"short write to {handle.name!r}")
        view = view[written:]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


class WarcRecorder:
    """Rotating gzip WARC/1.1 files plus ``index.cdxj`` in *directory*.

    Not thread-safe: one writer per recorder (Scrapy calls it from the reactor thread).
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        info: Mapping[str, str] | None = None,
        prefix: str = DEFAULT_PREFIX,
        fsync_interval: float = 5.0,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_size <= 0:
            raise ValueError(f"WARC max size must be positive, got {max_size}")
        if not _PREFIX_RE.fullmatch(prefix):
            raise ValueError(f"unsafe WARC file prefix {prefix!r}")
        self.directory = Path(directory)
        self.max_size = max_size
        self.info = {
            "format": f"WARC File Format {WARC_VERSION}",
            "conformsTo": CONFORMS_TO,
            **(info or {}),
        }
        self.prefix = prefix
        self.fsync_interval = fsync_interval
        self.clock = clock
        self.monotonic = monotonic
        self.index_path = self.directory / INDEX_NAME
        #: Final paths of the files this recorder closed.
        self.closed_files: list[Path] = []
        self._serial = 0
        self._handle: io.FileIO | None = None
        self._index: IO[str] | None = None
        self._final: Path | None = None
        self._size = 0
        self._info_size = 0
        self._warcinfo_id = ""
        self._last_sync = 0.0

    # ------------------------------------------------------------------ lifecycle

    def recover(self) -> list[Path]:
        """Finish leftover ``.open`` files of dead writers; returns their final paths."""
        self.directory.mkdir(parents=True, exist_ok=True)
        recovered = []
        for path in sorted(self.directory.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")):
            if self._handle is not None and self._final is not None and path.name == self._open_name:
                continue
            final = self._recover_one(path)
            if final is not None:
                recovered.append(final)
        return recovered

    def _recover_one(self, path: Path) -> Path | None:
        final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
        try:
            handle = path.open("r+b")
        except OSError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                logger.info("WARC file %s is being written by another process; left alone", path)
                return None
            if not path.exists():  # finished by another recoverer meanwhile
                return None
            size = handle.seek(0, os.SEEK_END)
            end = complete_members_end(handle)
            if end < size:
                logger.warning(
                    "WARC file %s ends with an incomplete record: cut at byte %d of %d", path, end, size
                )
                handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
            if end == 0:
                path.unlink()
                fsync_dir(self.directory)
                logger.warning("WARC file %s held no complete record: removed", path)
                return None
            if final.exists():
                logger.error("Cannot recover WARC file %s: %s already exists", path, final)
                return None
            path.rename(final)
            fsync_dir(self.directory)
        added = self._reindex(final)
        logger.info("Recovered WARC file %s (%d index lines added)", final, added)
        return final

    def _reindex(self, path: Path) -> int:
        """Append index lines for the response records of *path* the index lacks."""
        known: set[int] = set()
        with contextlib.suppress(FileNotFoundError), self.index_path.open(encoding="utf-8") as index:
            for line in index:
                if path.name not in line:
                    continue
                try:
                    fields = json.loads(line.split(" ", 2)[2])
                except (IndexError, ValueError):
                    continue
                if fields.get("filename") == path.name:
                    known.add(int(fields.get("offset", -1)))
        lines = [line for offset, line in index_file(path) if offset not in known]
        if lines:
            with self.index_path.open("a", encoding="utf-8") as index:
                index.write("".join(f"{line}\n" for line in lines))
                index.flush()
                os.fsync(index.fileno())
        return len(lines)

    @property
    def _open_name(self) -> str:
        return self._final.name + OPEN_SUFFIX if self._final is not None else ""

    @property
    def current_path(self) -> Path | None:
        """The ``.open`` file being written, if any."""
        return self._final.with_name(self._open_name) if self._final is not None else None

    def _open_file(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        while True:
            name = f"{self.prefix}-{stamp}-{self._serial:05d}{WARC_SUFFIX}"
            self._serial += 1
            final = self.directory / name
            if final.exists():
                continue
            try:
                handle = (self.directory / (name + OPEN_SUFFIX)).open("xb", buffering=0)
            except FileExistsError:
                continue
            break
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
        record = writer.create_warcinfo_record(name, self.info)
        writer.write_record(record)
        data = buffer.getvalue()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _write_all(handle, data)
            os.fsync(handle.fileno())
        except OSError:
            handle.close()
            (self.directory / (name + OPEN_SUFFIX)).unlink(missing_ok=True)
            raise
        fsync_dir(self.directory)
        self._handle = handle
        self._final = final
        self._size = self._info_size = len(data)
        self._warcinfo_id = record.rec_headers.get_header("WARC-Record-ID")
        self._last_sync = self.monotonic()
        logger.info("Opened WARC file %s", final)

    def _close_file(self) -> None:
        if self._handle is None or self._final is None:
            return
        handle, final, open_path = self._handle, self._final, self.current_path
        assert open_path is not None
        self._handle = None
        self._final = None
        try:
            os.fsync(handle.fileno())
            open_path.rename(final)
            fsync_dir(self.directory)
        finally:
            handle.close()
        self.closed_files.append(final)
        logger.info("Closed WARC file %s (%d bytes)", final, self._size)

    def close(self) -> None:
        """Close the current file (renamed to ``.warc.gz``) and the index."""
        try:
            self._close_file()
        finally:
            if self._index is not None:
                index, self._index = self._index, None
                try:
                    index.flush()
                    os.fsync(index.fileno())
                finally:
                    index.close()

    def __enter__(self) -> WarcRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------- writing

    def _serialize(self, exchange: HttpExchange, date: datetime) -> tuple[bytes, int, str, str, str]:
        """(bytes of both records, response record length, response id, payload digest, WARC-Date)."""
        warc_date = datetime_to_iso_date(date.astimezone(UTC).replace(tzinfo=None), use_micros=True)
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
        response_id = _record_id()

        raw, statusline, protocol = response_head(exchange)
        response_headers = {
            "WARC-Type": "response",
            "WARC-Record-ID": response_id,
            "WARC-Date": warc_date,
            "WARC-Target-URI": exchange.url,
        }
        if exchange.ip_address:
            response_headers["WARC-IP-Address"] = exchange.ip_address
        response_headers["WARC-Warcinfo-ID"] = self._warcinfo_id
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
                "WARC-Date": warc_date,
                "WARC-Target-URI": exchange.url,
                "WARC-Concurrent-To": response_id,
                "WARC-Warcinfo-ID": self._warcinfo_id,
            },
        )
        writer.write_record(request)
        digest = response.rec_headers.get_header("WARC-Payload-Digest") or ""
        return buffer.getvalue(), response_length, response_id, digest, warc_date

    def write(self, exchange: HttpExchange) -> RecordLocation:
        """Append the exchange's records (and its index line); returns where they went."""
        date = exchange.date or self.clock()
        new_file = False
        if self._handle is None:
            self._open_file()
            new_file = True
        data, length, record_id, digest, warc_date = self._serialize(exchange, date)
        if not new_file and self._size > self._info_size and self._size + len(data) > self.max_size:
            self._close_file()
            self._open_file()
            new_file = True
            data, length, record_id, digest, warc_date = self._serialize(exchange, date)
        assert self._handle is not None and self._final is not None
        offset = self._size
        try:
            _write_all(self._handle, data)
        except OSError:
            self._discard_tail(offset)
            raise
        self._size = offset + len(data)
        filename = self._final.name
        line = cdxj_line(
            url=exchange.url,
            warc_date=warc_date,
            status=exchange.status,
            mime=_mime(exchange.response_headers),
            digest=digest,
            filename=filename,
            offset=offset,
            length=length,
            method=exchange.method,
        )
        if self._index is None:
            self._index = self.index_path.open("a", encoding="utf-8")
        self._index.write(line + "\n")
        self._index.flush()
        if self.monotonic() - self._last_sync >= self.fsync_interval:
            self.sync()
        return RecordLocation(filename, offset, length, record_id, digest, len(data), new_file)

    def _discard_tail(self, offset: int) -> None:
        """After a failed write: cut the file back to *offset*, or give it up to recovery."""
        assert self._handle is not None
        try:
            os.ftruncate(self._handle.fileno(), offset)
            self._handle.seek(offset)
        except OSError:
            logger.error(
                "WARC file %s could not be repaired after a failed write; "
                "left as is for the next run to recover",
                self.current_path,
            )
            handle, self._handle, self._final = self._handle, None, None
            handle.close()

    def sync(self) -> None:
        """fsync the current file and the index."""
        if self._handle is not None:
            os.fsync(self._handle.fileno())
        if self._index is not None:
            self._index.flush()
            os.fsync(self._index.fileno())
        self._last_sync = self.monotonic()


def index_file(path: Path) -> Iterator[tuple[int, str]]:
    """(offset, CDXJ line) for each response record of a WARC file."""
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type != "response" or record.http_headers is None:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            status = int(record.http_headers.get_statuscode() or 0)
            content_type = record.http_headers.get_header("Content-Type") or ""
            offset = iterator.get_record_offset()
            yield (
                offset,
                cdxj_line(
                    url=url,
                    warc_date=record.rec_headers.get_header("WARC-Date") or "",
                    status=status,
                    mime=_mime([(b"Content-Type", content_type.encode("latin-1", "replace"))]),
                    digest=record.rec_headers.get_header("WARC-Payload-Digest") or "",
                    filename=path.name,
                    offset=offset,
                    length=iterator.get_record_length(),
                ),
            )
