"""Archival fidelity: WARC files of every fetch (``WARC_DIR``) and local images (``ARCHIVE_IMAGES``).

Unit tests of the pure cores (:mod:`newscrawler.warc.recorder`, :mod:`newscrawler.archive.images`), then
``scrapy crawl`` subprocesses against loopback servers: the eastmoney fixture tree, the
archival fixture tree (images), and small scripted servers kept in this file (a 503 then
200, a redirect, a slow server for ``kill -9``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from warcio.archiveiterator import ArchiveIterator

from newscrawler.archive.images import (
    asset_name,
    image_extension,
    image_sources,
    is_dynamic_chart,
    plan_images,
    rewrite_image_sources,
)
from newscrawler.dev.server import FixtureHTTPServer, resolve
from newscrawler.warc.recorder import HttpExchange, WarcRecorder, complete_members_end, surt_key

from .conftest import EASTMONEY, FIXTURES, REPO, CrawlRunner, eastmoney_settings

ARCHIVAL = FIXTURES / "archival"
GOOD_FEEDS = ("feeds/media.json", "feeds/rolling.json", "feeds/listapi.json", "feeds/live.js")
WARC_NAME_RE = re.compile(r"newscrawler-\d{17}-\d{5}\.warc\.gz")
ARCHIVAL_CODES = ("202205102401234561", "202205102401234562", "202205102401234563")


# ------------------------------------------------------------------------ WARC reading


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


# ----------------------------------------------------------------- scripted servers

Answer = Callable[[str, int], tuple[int, dict[str, str], bytes]]


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status, headers, body = self.server.answer(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class ScriptedServer(ThreadingHTTPServer):
    """Answers ``answer(path, nth time this path is asked)``; records every request."""

    daemon_threads = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self._answer = answer
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.requests: list[str] = []

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.counts[path] += 1
            self.requests.append(path)
            nth = self.counts[path]
        return self._answer(path, nth)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def scripted_server(answer: Answer) -> Iterator[ScriptedServer]:
    server = ScriptedServer(answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def archival_server() -> Iterator[FixtureHTTPServer]:
    with FixtureHTTPServer(ARCHIVAL).running() as server:
        yield server


JSON = {"Content-Type": "application/json; charset=utf-8"}
EMPTY_FEED = b'{"record": []}'


# ============================================================== unit: newscrawler.warc.recorder


def _exchange(i: int, body: bytes = b"", **kw: Any) -> HttpExchange:
    fields: dict[str, Any] = {
        "url": f"http://127.0.0.1:8000/NewsData/GetNewsText.do?id=NW2022051024000000{i:02d}",
        "status": 200,
        "body": body or json.dumps({"n": i, "text": "正文" * 50}).encode("utf-8"),
        "response_headers": [(b"Content-Type", b"application/json; charset=utf-8"), (b"Server", b"test")],
        "request_headers": [(b"User-Agent", b"newscrawler/test"), (b"Accept-Encoding", b"gzip")],
        "ip_address": "127.0.0.1",
    }
    return HttpExchange(**{**fields, **kw})


def test_surt_key() -> None:
    assert surt_key("http://finance.eastmoney.com/a/202203282325203083.html") == (
        "com,eastmoney,finance)/a/202203282325203083.html"
    )
    assert surt_key("https://www.Example.com:443/P?b=2&a=1") == "com,example)/p?a=1&b=2"
    assert surt_key("http://127.0.0.1:8765/x") == "127.0.0.1:8765)/x"
    assert surt_key("http://example.com") == "com,example)/"


def test_recorder_writes_exact_records_and_index(tmp_path: Path) -> None:
    gz_body = gzip.compress(b'{"text": "<p>x</p>"}', mtime=0)
    exchanges = [
        _exchange(1),
        _exchange(
            2,
            body=gz_body,
            status=503,
            response_headers=[(b"Content-Encoding", b"gzip"), (b"Set-Cookie", "a=é".encode())],
        ),
        _exchange(3, body=b"\x00\xff" * 100, reason="Custom Reason"),
    ]
    with WarcRecorder(tmp_path, info={"software": "test", "operator": "me"}) as recorder:
        assert recorder.recover() == []
        locations = [recorder.write(x) for x in exchanges]
        assert recorder.current_path is not None and recorder.current_path.name.endswith(".warc.gz.open")
    [path] = warc_files(tmp_path)
    assert all(loc.filename == path.name for loc in locations)
    records = check_structure_without_ua(tmp_path)
    responses = [r for r in records if r.type == "response"]
    assert [r.payload for r in responses] == [x.body for x in exchanges]
    assert [r.statusline for r in responses] == ["200 OK", "503 Service Unavailable", "200 Custom Reason"]
    assert responses[1].header("Content-Encoding") == "gzip"
    # header bytes are written as given (warcio would %-encode non-ASCII values)
    raw = gzip.decompress(path.read_bytes())
    assert "Set-Cookie: a=é\r\n".encode() in raw
    assert [(r.offset, r.length) for r in responses] == [(loc.offset, loc.length) for loc in locations]
    info = records[0].payload.decode()
    assert "operator: me\r\n" in info and "conformsTo: " in info


def check_structure_without_ua(directory: Path) -> list[Rec]:
    records = []
    for path in warc_files(directory):
        recs = read_warc(path)
        assert recs[0].type == "warcinfo"
        for response, request in zip(recs[1::2], recs[2::2], strict=True):
            assert (response.type, request.type) == ("response", "request")
            assert request.concurrent_to == response.record_id
            assert request.header("Host") == "127.0.0.1:8000"
        records += recs
    lines = index_lines(directory)
    responses = [r for r in records if r.type == "response"]
    assert [(f["filename"], int(f["offset"]), int(f["length"])) for _, _, f in lines] == [
        (r.file, r.offset, r.length) for r in responses
    ]
    return records


def test_recorder_rotates_by_size(tmp_path: Path) -> None:
    with WarcRecorder(tmp_path, max_size=2500, info={"software": "test"}) as recorder:
        for i in range(8):
            recorder.write(_exchange(i))
    files = warc_files(tmp_path)
    assert len(files) >= 3
    for path in files:
        assert WARC_NAME_RE.fullmatch(path.name)
        recs = read_warc(path)
        assert recs[0].type == "warcinfo" and len(recs) >= 3
        if len(recs) > 3:  # a file holding one exchange may exceed the limit, never more
            assert path.stat().st_size <= 2500
    responses = [r for r in check_structure_without_ua(tmp_path) if r.type == "response"]
    assert len(responses) == 8


def test_recover_cuts_incomplete_tail_renames_and_reindexes(tmp_path: Path) -> None:
    live = tmp_path / "live"
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    recorder = WarcRecorder(live, info={"software": "test"})
    for i in range(3):
        recorder.write(_exchange(i))
    assert recorder.current_path is not None
    partial = WarcRecorder(tmp_path / "other", info={"software": "test"})
    extra = partial.write(_exchange(9))
    partial.close()
    member = warc_files(tmp_path / "other")[0].read_bytes()[extra.offset : extra.offset + extra.length]
    # what a killed writer leaves: its .open file with half a record at the end, and an
    # index missing the last line
    leftover = crashed / recorder.current_path.name
    shutil.copyfile(recorder.current_path, leftover)
    with leftover.open("ab") as handle:
        handle.write(member[: len(member) // 2])
    lines = (live / "index.cdxj").read_text("utf-8").splitlines()
    (crashed / "index.cdxj").write_text("\n".join(lines[:-1]) + "\n", "utf-8")
    recorder.close()

    [final] = WarcRecorder(crashed).recover()
    assert final.name == leftover.name.removesuffix(".open")
    assert not leftover.exists()
    records = check_structure_without_ua(crashed)
    assert len([r for r in records if r.type == "response"]) == 3
    assert final.read_bytes() == warc_files(live)[0].read_bytes()
    # nothing left to recover
    assert WarcRecorder(crashed).recover() == []


def test_recover_leaves_a_live_writers_file_alone(tmp_path: Path) -> None:
    writer = WarcRecorder(tmp_path, info={"software": "test"})
    writer.write(_exchange(1))
    other = WarcRecorder(tmp_path, info={"software": "test"})
    assert other.recover() == []
    assert writer.current_path is not None and writer.current_path.exists()
    writer.write(_exchange(2))
    writer.close()
    assert len([r for r in check_structure_without_ua(tmp_path) if r.type == "response"]) == 2


def test_failed_write_is_cut_off_and_writing_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newscrawler.warc.recorder as warc_module

    real = warc_module._write_all

    def disk_full(handle: Any, data: bytes) -> None:
        real(handle, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    with WarcRecorder(tmp_path, info={"software": "test"}) as recorder:
        recorder.write(_exchange(1))
        monkeypatch.setattr(warc_module, "_write_all", disk_full)
        with pytest.raises(OSError):
            recorder.write(_exchange(2))
        monkeypatch.setattr(warc_module, "_write_all", real)
        recorder.write(_exchange(3))
    responses = [r for r in check_structure_without_ua(tmp_path) if r.type == "response"]
    assert [r.uri[-2:] for r in responses] == ["01", "03"]


def test_complete_members_end_stops_at_garbage(tmp_path: Path) -> None:
    with WarcRecorder(tmp_path, info={"software": "test"}) as recorder:
        recorder.write(_exchange(1))
    data = warc_files(tmp_path)[0].read_bytes()
    assert complete_members_end(io.BytesIO(data)) == len(data)
    assert complete_members_end(io.BytesIO(data + b"garbage")) == len(data)
    assert complete_members_end(io.BytesIO(data + gzip.compress(b"not a warc"))) == len(data)
    assert complete_members_end(io.BytesIO(data[:-3])) < len(data) - 3


# ============================================================ unit: newscrawler.archive.images


def test_image_sources_and_rewrite_touch_only_img_src() -> None:
    body = (
        '<p>a<img src="https://x.com/a.png?a=1&amp;b=2" alt="a &quot;q&quot; >b" width="10"></p>\n'
        '<p>&lt;img src="https://x.com/text.png"&gt; <a href="https://x.com/a.png?a=1&amp;b=2">l</a></p>\n'
        '<p><img src="//y.com/GetPic.aspx?nid=1&amp;t=k"><img src="https://x.com/a.png?a=1&amp;b=2"></p>'
    )
    assert image_sources(body) == ["https://x.com/a.png?a=1&b=2", "//y.com/GetPic.aspx?nid=1&t=k"]
    out = rewrite_image_sources(body, {"https://x.com/a.png?a=1&b=2": "/assets/images/ab.png"})
    assert out == body.replace(
        '<img src="https://x.com/a.png?a=1&amp;b=2"', '<img src="/assets/images/ab.png"'
    )
    assert 'href="https://x.com/a.png?a=1&amp;b=2"' in out
    plan = plan_images(body, "http://base.com/x")
    assert plan.downloads == [("https://x.com/a.png?a=1&b=2", "https://x.com/a.png?a=1&b=2")]
    assert plan.dynamic == ["//y.com/GetPic.aspx?nid=1&t=k"]
    assert is_dynamic_chart("https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=1.600031")
    assert not is_dynamic_chart("https://x.com/getpic.aspx.png")


def test_image_extension_and_name() -> None:
    png = (ARCHIVAL / "images" / "chart-a.png").read_bytes()
    assert image_extension(png) == "png"
    assert image_extension((ARCHIVAL / "images" / "photo-b.gif").read_bytes()) == "gif"
    assert image_extension((ARCHIVAL / "images" / "photo-c.jpg").read_bytes()) == "jpg"
    assert image_extension(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_extension(b"<html>blocked</html>", "image/png", "http://x/a.png") is None
    assert (
        image_extension(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml") is None
    )
    assert image_extension(b"\x00\x01heic?", "image/webp") == "webp"
    assert image_extension(b"\x00\x01????", "", "http://x/a.JPEG?s=1") == "jpg"
    assert image_extension(b"\x00\x01????", "application/octet-stream", "http://x/a") is None
    assert asset_name(png, "png") == hashlib.sha1(png, usedforsecurity=False).hexdigest() + ".png"
    with pytest.raises(ValueError):
        asset_name(png, "svg")


# ==================================================================== crawls: WARC


@pytest.mark.crawl
def test_warc_records_every_fetch_with_exact_bytes(
    tmp_path: Path, eastmoney_server: FixtureHTTPServer, crawl: CrawlRunner
) -> None:
    archive, warc = tmp_path / "archive", tmp_path / "warc"
    feeds = ",".join(f"{eastmoney_server.url}/{name}" for name in (*GOOD_FEEDS, "feeds/dead.json"))
    settings = {
        **eastmoney_settings(eastmoney_server.url),
        "EASTMONEY_FEEDS": feeds,
        "WARC_DIR": str(warc),
        "WARC_MAX_SIZE": "40000",
    }
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    records = check_structure(warc)
    assert len(warc_files(warc)) >= 2  # rotated by size
    responses = [r for r in records if r.type == "response"]
    # one response record per request the server answered (retried attempts included)
    assert Counter(path_of(r.uri) for r in responses) == Counter(eastmoney_server.requests)
    assert Counter(path_of(r.uri) for r in responses)["/feeds/dead.json"] == 2
    for rec in responses:
        fixture = resolve(EASTMONEY, path_of(rec.uri))
        if fixture is None:
            assert rec.status == 404 and rec.payload == b"not found"
            continue
        assert rec.payload == fixture.read_bytes(), rec.uri
        sidecar = fixture.with_name(fixture.name + ".headers")
        expected_status = 200
        if sidecar.is_file():
            for line in sidecar.read_text("utf-8").splitlines():
                name, _, value = line.partition(":")
                if name.strip().lower() == "status":
                    expected_status = int(value)
                elif name.strip():
                    assert rec.header(name.strip()) == value.strip()
        assert rec.status == expected_status
        assert rec.header("Content-Length") == str(len(rec.payload))
    # posts are unchanged by archiving, and each one traces to the record of its text
    expected = json.loads((EASTMONEY / "expected" / "posts.json").read_text("utf-8"))
    assert sorted(str(p.relative_to(archive)) for p in (archive / "_posts").glob("*.md")) == sorted(
        p["file"] for p in expected
    )
    ok_urls = [f["url"] for _, _, f in index_lines(warc) if f["status"] == "200"]
    for post in expected:
        source = (
            f"/NewsData/GetNewsText.do?id=NW{post['code']}"
            if post["text_from"] == "text_api"
            else f"/a/{post['code']}.html"
        )
        assert f"{eastmoney_server.url}{source}" in ok_urls
    assert "'newscrawler/warc/records': " in result.stderr


@pytest.mark.crawl
def test_warc_records_each_retry_and_redirect(tmp_path: Path, crawl: CrawlRunner) -> None:
    def answer(path: str, nth: int) -> tuple[int, dict[str, str], bytes]:
        if path == "/flaky.json":
            if nth == 1:
                return 503, {"Content-Type": "text/plain", "Retry-After": "1"}, b"busy, try again"
            return 200, JSON, EMPTY_FEED
        if path == "/old.json":
            return 301, {"Location": "/new.json", "Content-Type": "text/html"}, b"<a href=/new.json>moved</a>"
        if path == "/new.json":
            return 200, JSON, EMPTY_FEED
        return 404, {"Content-Type": "text/plain"}, b"no"

    with scripted_server(answer) as server:
        warc = tmp_path / "warc"
        result = crawl(
            "eastmoney",
            tmp_path / "archive",
            settings={"WARC_DIR": str(warc), "RETRY_TIMES": "2"},
            args={"feeds": f"{server.url}/flaky.json,{server.url}/old.json"},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        requests = list(server.requests)
    responses = [r for r in check_structure(warc) if r.type == "response"]
    got = [(path_of(r.uri), r.status, r.payload) for r in responses]
    assert sorted(got) == sorted(
        [
            ("/flaky.json", 503, b"busy, try again"),
            ("/flaky.json", 200, EMPTY_FEED),
            ("/old.json", 301, b"<a href=/new.json>moved</a>"),
            ("/new.json", 200, EMPTY_FEED),
        ]
    )
    assert Counter(requests) == Counter(p for p, _, _ in got)
    flaky = [r.status for r in responses if r.uri.endswith("/flaky.json")]
    assert flaky == [503, 200]
    moved = next(r for r in responses if r.status == 301)
    assert moved.header("Location") == "/new.json"


def _slow_answer(count: int, delay: float) -> Answer:
    codes = [f"20220510{i:010d}" for i in range(1, count + 1)]
    feed = json.dumps(
        {
            "record": [
                {
                    "title": f"慢速测试文章{n}",
                    "datetime": "2022-05-10 09:30:00",
                    "medianame": "测试财经报",
                    "infoCode": f"NW{code}",
                }
                for n, code in enumerate(codes)
            ]
        },
        ensure_ascii=False,
    ).encode("utf-8")

    def answer(path: str, nth: int) -> tuple[int, dict[str, str], bytes]:
        if path == "/feed.json":
            return 200, JSON, feed
        if path.startswith("/text?id=NW"):
            time.sleep(delay)
            code = path.removeprefix("/text?id=NW")
            text = f"<p>　　第{code}号文章的正文。</p>" + "<p>　　行情内容。</p>" * 20
            return 200, JSON, json.dumps({"title": f"文章{code}", "text": text}, ensure_ascii=False).encode()
        return 404, {"Content-Type": "text/plain"}, b"no"

    return answer


@pytest.mark.crawl
def test_kill_9_leaves_readable_warc_files(tmp_path: Path) -> None:
    warc, archive = tmp_path / "warc", tmp_path / "archive"
    with scripted_server(_slow_answer(400, 0.1)) as server:
        command = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "eastmoney",
            "-a",
            f"feeds={server.url}/feed.json",
        ]
        for name, value in {
            "ARCHIVE_DIR": str(archive),
            "WARC_DIR": str(warc),
            "EASTMONEY_TEXT_URL": f"{server.url}/text?id={{info_code}}",
            "EASTMONEY_ARTICLE_URL": f"{server.url}/a/{{code}}.html",
            "LOG_LEVEL": "INFO",
        }.items():
            command += ["-s", f"{name}={value}"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with (tmp_path / "crawl.log").open("wb") as log:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 90
                index = warc / "index.cdxj"
                while time.monotonic() < deadline and process.poll() is None:
                    if index.exists() and len(index.read_bytes().splitlines()) >= 30:
                        break
                    time.sleep(0.05)
                assert process.poll() is None, "the crawl ended before it could be killed"
                process.send_signal(signal.SIGKILL)
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert len(server.requests) < 401  # killed mid-run

    [leftover] = list(warc.glob("*.warc.gz.open"))
    assert not warc_files(warc)
    data = leftover.read_bytes()
    end = complete_members_end(io.BytesIO(data))
    assert len(data) - end < 8192  # at worst the record being written is missing
    records = read_warc(data[:end], leftover.name.removesuffix(".open"))
    responses = [r for r in records if r.type == "response"]
    assert len(responses) >= 30
    if end == len(data):
        assert len(read_warc(leftover)) == len(records)
    by_offset = {r.offset: r for r in responses}
    for _, _, fields in index_lines(warc):  # every index line points at a complete record
        assert fields["filename"] == leftover.name.removesuffix(".open")
        assert by_offset[int(fields["offset"])].uri == fields["url"]

    # the next run finishes the leftover before writing
    [final] = WarcRecorder(warc).recover()
    assert final.name == leftover.name.removesuffix(".open")
    for path in warc_files(warc):
        read_warc(path)
    records = read_warc(final)
    assert {int(f["offset"]) for _, _, f in index_lines(warc)} == {
        r.offset for r in records if r.type == "response"
    }


# ================================================================== crawls: images


def _front_matter_ok(text: str) -> None:
    lines = text.split("\n")
    assert lines[0] == "---" and lines[1] == "layout: post" and lines[6] == "---"
    assert yaml.safe_load(lines[2])["title"].startswith("归档测试：")
    assert re.fullmatch(r"date: 2022-05-10 \d\d:\d\d:00 \+0800", lines[3])
    assert lines[4] == "categories: ceshicaijingbao" and lines[5] == "tags: 测试财经报新闻"
    assert text.endswith(")\n") and "\r" not in text


def _image_name(name: str, ext: str) -> str:
    return (
        hashlib.sha1((ARCHIVAL / "images" / name).read_bytes(), usedforsecurity=False).hexdigest() + "." + ext
    )


@pytest.mark.crawl
def test_images_archived_by_content_and_posts_rewritten(
    tmp_path: Path, archival_server: FixtureHTTPServer, crawl: CrawlRunner
) -> None:
    archive, warc = tmp_path / "archive", tmp_path / "warc"
    base = archival_server.url
    settings = {**eastmoney_settings(base), "ARCHIVE_IMAGES": "true", "WARC_DIR": str(warc)}
    result = crawl("eastmoney", archive, settings=settings, args={"feeds": f"{base}/feeds/media.json"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert " ERROR: " not in result.stderr, result.stderr[-3000:]

    a, b = _image_name("chart-a.png", "png"), _image_name("photo-b.gif", "gif")
    c, d = _image_name("photo-c.jpg", "jpg"), _image_name("no-type", "png")
    stored = archive / "assets" / "images"
    assert sorted(p.name for p in stored.iterdir()) == sorted({a, b, c, d})
    for name, source in ((a, "chart-a.png"), (b, "photo-b.gif"), (c, "photo-c.jpg"), (d, "no-type")):
        assert (stored / name).read_bytes() == (ARCHIVAL / "images" / source).read_bytes()

    posts = {
        code: (archive / "_posts" / f"2022-05-10-NW{code}.md").read_text("utf-8") for code in ARCHIVAL_CODES
    }
    for text in posts.values():
        _front_matter_ok(text)
    one, two, three = (posts[code] for code in ARCHIVAL_CODES)
    assert f'<img src="/assets/images/{a}" alt="走势图" width="600" height="400">' in one
    assert f'<img src="/assets/images/{b}">' in one
    assert f'<img src="{base}/images/missing.png" alt="缺失">' in one  # 404: keeps its URL
    assert f'<img src="{base}/images/not-an-image.png">' in one  # HTML served as image/png
    assert f'<img src="{base}/GetPic.aspx?nid=1.600031&amp;imageType=k&amp;token=abc"' in one
    assert two.count(f'<img src="/assets/images/{a}">') == 2  # same URL, and same bytes elsewhere
    assert f'<img src="/assets/images/{c}" alt="照片">' in two
    assert f'<img src="/assets/images/{d}">' in two
    assert f'<img src="/assets/images/{c}">' in three  # through a 301
    assert not any(r.startswith("/GetPic.aspx") for r in archival_server.requests)
    assert archival_server.requests.count("/images/chart-a.png") == 1
    for counter, value in (("stored", 7), ("failed", 2), ("skipped_dynamic", 1)):
        assert f"'newscrawler/images/{counter}': {value}," in result.stderr
    assert "images/missing.png of article 202205102401234561 not archived (http_404)" in result.stderr
    assert not list(archive.rglob(".*.tmp"))

    # the WARC files hold the images, and the gzip-encoded text API answer as it was sent
    responses = [r for r in check_structure(warc) if r.type == "response"]
    assert Counter(path_of(r.uri) for r in responses) == Counter(archival_server.requests)
    gz = next(r for r in responses if r.uri.endswith("id=NW202205102401234563"))
    fixture = ARCHIVAL / "NewsData" / "GetNewsText.do@id=NW202205102401234563"
    assert gz.header("Content-Encoding") == "gzip"
    assert gz.payload == fixture.read_bytes() and gz.payload.startswith(b"\x1f\x8b")
    image = next(r for r in responses if r.uri.endswith("/images/photo-b.gif"))
    assert image.payload == (ARCHIVAL / "images" / "photo-b.gif").read_bytes()


@pytest.mark.crawl
def test_archival_is_off_by_default(
    tmp_path: Path, archival_server: FixtureHTTPServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    base = archival_server.url
    result = crawl(
        "eastmoney", archive, settings=eastmoney_settings(base), args={"feeds": f"{base}/feeds/media.json"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (archive / "assets").exists()
    assert not list(tmp_path.rglob("*.warc.gz*")) and not list(tmp_path.rglob("index.cdxj"))
    assert not any(r.startswith("/images/") for r in archival_server.requests)
    one = (archive / "_posts" / f"2022-05-10-NW{ARCHIVAL_CODES[0]}.md").read_text("utf-8")
    assert f'<img src="{base}/images/chart-a.png" alt="走势图" width="600" height="400">' in one
    assert "newscrawler/images/" not in result.stderr and "newscrawler/warc/" not in result.stderr


def test_warc_timestamps_are_utc(tmp_path: Path) -> None:
    when = datetime(2022, 5, 10, 1, 2, 3, 456789, tzinfo=UTC)
    with WarcRecorder(tmp_path, info={"software": "test"}, clock=lambda: when) as recorder:
        recorder.write(_exchange(1, date=when))
    [path] = warc_files(tmp_path)
    assert path.name == "newscrawler-20220510010203456-00000.warc.gz"
    [(_, stamp, _)] = index_lines(tmp_path)
    assert stamp == "20220510010203"
    assert b"WARC-Date: 2022-05-10T01:02:03.456789Z" in gzip.decompress(path.read_bytes())
