"""Archival fidelity, end to end: WARC files of every fetch (``WARC_DIR``) and local images
(``ARCHIVE_IMAGES``).

``scrapy crawl`` subprocesses against loopback servers: the eastmoney fixture tree, the
archival fixture tree (images), and small scripted servers kept in this file (a 503 then
200, a redirect, a slow server for ``kill -9``). The pure cores have unit tests of their
own: ``tests/warc/test_recorder.py`` and ``tests/archive/test_images.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from newscrawler.dev.server import LoopbackServer, resolve
from newscrawler.warc.recorder import WarcRecorder, complete_members_end
from tests.conftest import EASTMONEY, FIXTURES, REPO, CrawlRunner, eastmoney_settings
from tests.warc.records import check_structure, index_lines, path_of, read_warc, warc_files

pytestmark = pytest.mark.crawl

ARCHIVAL = FIXTURES / "archival"
GOOD_FEEDS = ("feeds/media.json", "feeds/rolling.json", "feeds/listapi.json", "feeds/live.js")
ARCHIVAL_CODES = ("202205102401234561", "202205102401234562", "202205102401234563")


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
def archival_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(ARCHIVAL).running() as server:
        yield server


JSON = {"Content-Type": "application/json; charset=utf-8"}
EMPTY_FEED = b'{"record": []}'


# ==================================================================== crawls: WARC


def test_warc_records_every_fetch_with_exact_bytes(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
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


def test_images_archived_by_content_and_posts_rewritten(
    tmp_path: Path, archival_server: LoopbackServer, crawl: CrawlRunner
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


def test_archival_is_off_by_default(
    tmp_path: Path, archival_server: LoopbackServer, crawl: CrawlRunner
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
