"""A small loopback HTTP server that serves a fixture tree the way the real sources do.

Used by ``make demo`` and by the end-to-end tests. Stdlib only.

Mapping of a request to a file under *root*:

* ``/path`` -> ``root/path`` (``root/path/index.html`` for a directory);
* ``/path?query`` -> ``root/path@query`` (e.g. ``/NewsData/GetNewsText.do?id=NW2022...``
  -> ``root/NewsData/GetNewsText.do@id=NW2022...``), then ``root/path@name=value`` for each
  non-empty parameter of the query in turn (a feed page: ``getNewsByColumns@page_index=2``,
  ``getFastNewsList@sortEnd=...``), falling back to ``root/path``;
* a sidecar ``<file>.headers`` holds extra response headers, one ``Name: value`` a line,
  and may set the status with ``Status: 503``.

Content types follow the extension (``.json`` -> ``application/json``, ``.js`` ->
``application/javascript``, ``.html`` -> ``text/html``; a file with no known extension
that starts with ``{`` is ``application/json``) without a charset unless the sidecar says
otherwise, as many real servers do. Every request path (and its
``Referer``) is recorded so tests can count what a crawl fetched.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".json": "application/json",
    ".js": "application/javascript",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}


def resolve(root: Path, raw_path: str) -> Path | None:
    """The fixture file for a request path (with query), or None; never outside *root*."""
    parts = urlsplit(raw_path)
    rel = unquote(parts.path).lstrip("/")
    candidates = []
    if parts.query:
        candidates.append(f"{rel}@{unquote(parts.query)}")
        candidates.extend(f"{rel}@{name}={value}" for name, value in parse_qsl(parts.query) if value)
    candidates.append(rel)
    root = root.resolve()
    for candidate in candidates:
        path = (root / candidate).resolve()
        if not path.is_relative_to(root):
            continue
        if path.is_dir():
            path = path / "index.html"
        if path.is_file() and not path.name.endswith(".headers"):
            return path
    return None


def content_type(path: Path, body: bytes) -> str:
    if path.suffix in CONTENT_TYPES:
        return CONTENT_TYPES[path.suffix]
    return "application/json" if body.lstrip()[:1] == b"{" else "application/octet-stream"


class FixtureHandler(BaseHTTPRequestHandler):
    server: FixtureHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.record(self.path, self.headers.get("Referer", ""))
        if self.server.delay and self.server.delay_match in self.path:
            time.sleep(self.server.delay)
        path = resolve(self.server.root, self.path)
        if path is None:
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        status = 200
        body = path.read_bytes()
        headers = {"Content-Type": content_type(path, body)}
        sidecar = path.with_name(path.name + ".headers")
        if sidecar.is_file():
            for line in sidecar.read_text("utf-8").splitlines():
                name, sep, value = line.partition(":")
                if not sep:
                    continue
                if name.strip().lower() == "status":
                    status = int(value.strip())
                else:
                    headers[name.strip()] = value.strip()
        self._send(status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("devserver: %s", format % args)


class FixtureHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), FixtureHandler)
        self.root = Path(root)
        self.requests: list[str] = []
        #: The ``Referer`` each request carried ("" for none), in request order.
        self.referers: list[tuple[str, str]] = []
        #: Seconds to wait before answering requests whose path contains ``delay_match``
        #: (tests use it to hold a crawl open).
        self.delay = 0.0
        self.delay_match = ""
        self._lock = threading.Lock()

    def record(self, path: str, referer: str = "") -> None:
        with self._lock:
            self.requests.append(path)
            self.referers.append((path, referer))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="devserver", daemon=True)
        thread.start()
        return thread

    @contextmanager
    def running(self) -> Iterator[FixtureHTTPServer]:
        """Serve in a background thread for the length of a ``with`` block, then stop and close."""
        self.start_background()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fixture tree on 127.0.0.1.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = FixtureHTTPServer(args.root, args.port)
    print(f"serving {args.root} at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
