"""The WARC files of a crawl: HTTP exchanges appended as records to rotated gzip WARC/1.1
files (one writer per file under an exclusive lock, written unbuffered in one go), each
record indexed in ``index.cdxj``, and the files a killed writer left recovered. No Scrapy.
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
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from newscrawler.archive.fsutil import fsync_dir
from newscrawler.warc.cdxj import INDEX_NAME, cdxj_line, index_file, mime_type
from newscrawler.warc.records import (
    CONFORMS_TO,
    WARC_VERSION,
    HttpExchange,
    RecordLocation,
    serialize_exchange,
    serialize_warcinfo,
)

__all__ = ["DEFAULT_MAX_SIZE", "WarcRecorder", "complete_members_end"]

logger = logging.getLogger(__name__)

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
DEFAULT_MAX_SIZE = 100 * 1024 * 1024
DEFAULT_PREFIX = "newscrawler"

_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_READ_CHUNK = 256 * 1024


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
        data, warcinfo_id = serialize_warcinfo(name, self.info)
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
        self._warcinfo_id = warcinfo_id
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

    def write(self, exchange: HttpExchange) -> RecordLocation:
        """Append the exchange's records (and its index line); returns where they went."""
        date = exchange.date or self.clock()
        new_file = False
        if self._handle is None:
            self._open_file()
            new_file = True
        data, length, record_id, digest, warc_date = serialize_exchange(exchange, date, self._warcinfo_id)
        if not new_file and self._size > self._info_size and self._size + len(data) > self.max_size:
            self._close_file()
            self._open_file()
            new_file = True
            data, length, record_id, digest, warc_date = serialize_exchange(exchange, date, self._warcinfo_id)
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
            mime=mime_type(exchange.response_headers),
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
