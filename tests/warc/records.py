"""Reading WARC files back, for the tests: every record (digests checked), the CDXJ index,
and the structure every WARC file of a crawl must have (used by ``tests/warc/`` and
``tests/crawl/test_archival.py``)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from newscrawler.warc.cdxj import surt_key

WARC_NAME_RE = re.compile(r"newscrawler-\d{17}-\d{5}\.warc\.gz")


@dataclass
class Rec:
    file: str
    offset: int
    length: int
    type: str
    uri: str
    record_id: str
    concurrent_to: str
    warcinfo_id: str
    statusline: str
    protocol: str
    http_headers: list[tuple[str, str]]
    payload: bytes

    @property
    def status(self) -> int:
        return int(self.statusline.split(" ", 1)[0])

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.http_headers if k.lower() == name.lower()), None)


def read_warc(source: Path | bytes, name: str = "") -> list[Rec]:
    """Every record, digests checked (``ArchiveLoadFailed`` on a mismatch)."""
    handle: Any = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    records = []
    with handle:
        iterator = ArchiveIterator(handle, check_digests="raise")
        for record in iterator:
            payload = record.raw_stream.read()
            heads = record.http_headers
            records.append(
                Rec(
                    file=name or (source.name if isinstance(source, Path) else ""),
                    offset=iterator.get_record_offset(),
                    length=iterator.get_record_length(),
                    type=record.rec_type,
                    uri=record.rec_headers.get_header("WARC-Target-URI") or "",
                    record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                    concurrent_to=record.rec_headers.get_header("WARC-Concurrent-To") or "",
                    warcinfo_id=record.rec_headers.get_header("WARC-Warcinfo-ID") or "",
                    statusline=heads.statusline if heads is not None else "",
                    protocol=heads.protocol if heads is not None else "",
                    http_headers=list(heads.headers) if heads is not None else [],
                    payload=payload,
                )
            )
    return records


def warc_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz"))


def all_records(directory: Path) -> list[Rec]:
    return [rec for path in warc_files(directory) for rec in read_warc(path)]


def index_lines(directory: Path) -> list[tuple[str, str, dict[str, str]]]:
    lines = []
    for line in (directory / "index.cdxj").read_text("utf-8").splitlines():
        key, stamp, fields = line.split(" ", 2)
        lines.append((key, stamp, json.loads(fields)))
    return lines


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def check_structure(directory: Path) -> list[Rec]:
    """warcinfo first in each file, request after each response, index == response records."""
    files = warc_files(directory)
    assert files, "no WARC file"
    assert not list(directory.glob("*.open")), "a WARC file was left open"
    records: list[Rec] = []
    for path in files:
        assert WARC_NAME_RE.fullmatch(path.name), path.name
        recs = read_warc(path)
        info = recs[0]
        assert info.type == "warcinfo"
        fields = dict(line.split(": ", 1) for line in info.payload.decode("utf-8").strip().split("\r\n"))
        assert fields["software"].startswith("newscrawler/")
        assert "Scrapy" in fields["software"] and "warcio" in fields["software"]
        assert fields["format"] == "WARC File Format 1.1"
        assert fields["robots"] == "ignore"
        assert "http-header-user-agent" in fields
        body = recs[1:]
        assert len(body) % 2 == 0
        for response, request in zip(body[::2], body[1::2], strict=True):
            assert response.type == "response" and request.type == "request"
            assert request.concurrent_to == response.record_id
            assert request.uri == response.uri
            assert response.warcinfo_id == request.warcinfo_id == info.record_id
            assert f"{request.protocol} {request.statusline}" == f"GET {path_of(response.uri)} HTTP/1.1"
            assert request.header("Host") == urlsplit(response.uri).netloc
            assert (request.header("User-Agent") or "").startswith("newscrawler/")
        records += recs
    responses = [r for r in records if r.type == "response"]
    lines = index_lines(directory)
    assert len(lines) == len(responses)
    by_place = {(r.file, r.offset): r for r in responses}
    for key, stamp, fields in lines:
        rec = by_place[(fields["filename"], int(fields["offset"]))]
        assert fields["url"] == rec.uri
        assert fields["status"] == str(rec.status)
        assert int(fields["length"]) == rec.length
        assert key == surt_key(rec.uri)
        assert re.fullmatch(r"\d{14}", stamp)
    return records
