"""A fault-injecting loopback HTTP server for the reliability tests (stdlib only).

A route table maps a request path (with its query, exactly as requested, e.g.
``/text?id=NW2022...``) to a :class:`Route` that decides how to answer: a good
answer (:class:`Ok`), an HTTP error (:class:`Status`), errors then success
(:class:`FailFirst`), a slow answer (:class:`Slow`), a connection closed mid-body
(:class:`CutBody`), a redirect (:class:`Redirect`, two of them make a loop), a
connection closed before any answer (:class:`Hangup`), a huge body (:class:`Huge`).
Unknown paths answer 404. A test builds a whole fake eastmoney (feeds, text API,
article pages) by mixing faults with good articles in one table.

The server listens on 127.0.0.1 on a free port, serves each connection in its own
thread and is bounded: every sleep ends at :meth:`FaultServer.stop`, every socket
has a timeout, and ``stop`` joins the handler threads.

:func:`crawl_stats` reads the integer stats of a crawl's final stats dump.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_UTF8 = "application/json; charset=utf-8"
HTML_UTF8 = "text/html; charset=utf-8"
#: Upper bound of any sleep in the server (a :class:`Slow` route sleeps less than this).
MAX_SLEEP = 10.0
#: Socket timeout of every connection: an idle or stuck client cannot hold a thread longer.
SOCKET_TIMEOUT = 10.0

_STATS_DUMP = "Dumping Scrapy stats:"
_STAT_RE = re.compile(r"'([^'\n]+)': (\d+)[,}]")


class Route:
    """How to answer one path; ``nth`` counts this path's requests from 1."""

    def serve(self, handler: FaultHandler, nth: int) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Ok(Route):
    """A complete answer (any status, the body exactly as given)."""

    body: bytes = b""
    content_type: str | None = JSON_UTF8
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    def serve(self, handler: FaultHandler, nth: int) -> None:
        headers = dict(self.headers)
        if self.content_type:
            headers.setdefault("Content-Type", self.content_type)
        handler.send_all(self.status, headers, self.body)


@dataclass(frozen=True)
class Status(Route):
    """An HTTP error page, every time: 404, 500, 503 ..."""

    status: int
    body: bytes = b"<html><body><h1>error</h1></body></html>"

    def serve(self, handler: FaultHandler, nth: int) -> None:
        handler.send_all(self.status, {"Content-Type": "text/html"}, self.body)


@dataclass(frozen=True)
class FailFirst(Route):
    """``times`` answers with ``status`` (per path), then ``then``."""

    then: Route
    times: int = 1
    status: int = 503

    def serve(self, handler: FaultHandler, nth: int) -> None:
        if nth <= self.times:
            Status(self.status).serve(handler, nth)
        else:
            self.then.serve(handler, nth - self.times)


@dataclass(frozen=True)
class Slow(Route):
    """Waits ``seconds`` (bounded by :data:`MAX_SLEEP`, cut short by the server's
    stop) before answering with ``then``; past the client's timeout nobody listens."""

    seconds: float
    then: Route = field(default_factory=lambda: Ok(b"{}"))

    def serve(self, handler: FaultHandler, nth: int) -> None:
        if handler.server.stopping.wait(min(self.seconds, MAX_SLEEP)):
            handler.close_connection = True
            return
        handler.swallow_disconnect(lambda: self.then.serve(handler, nth))


@dataclass(frozen=True)
class CutBody(Route):
    """Announces the whole body in ``Content-Length``, sends only ``keep`` bytes of it,
    and closes the connection."""

    body: bytes
    keep: int
    content_type: str = JSON_UTF8

    def serve(self, handler: FaultHandler, nth: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(self.body)))
        handler.end_headers()
        handler.swallow_disconnect(lambda: handler.wfile.write(self.body[: self.keep]))
        handler.close_connection = True


@dataclass(frozen=True)
class Redirect(Route):
    """A ``302`` to ``location`` (a path on this server or a URL)."""

    location: str
    status: int = 302

    def serve(self, handler: FaultHandler, nth: int) -> None:
        handler.send_all(self.status, {"Location": self.location, "Content-Type": "text/html"}, b"")


@dataclass(frozen=True)
class Hangup(Route):
    """Reads the request and closes the connection without a word."""

    def serve(self, handler: FaultHandler, nth: int) -> None:
        handler.close_connection = True


@dataclass(frozen=True)
class Huge(Route):
    """A ``size``-byte JSON body, with its ``Content-Length``, or streamed without one
    (the end of the body is the end of the connection) when ``streamed``."""

    size: int = 5 * 1024 * 1024
    streamed: bool = False

    def serve(self, handler: FaultHandler, nth: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", JSON_UTF8)
        if self.streamed:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        else:
            handler.send_header("Content-Length", str(self.size))
        handler.end_headers()
        chunk = b" " * 65536

        def write() -> None:
            sent = 0
            while sent < self.size and not handler.server.stopping.is_set():
                piece = chunk[: self.size - sent]
                handler.wfile.write(piece)
                sent += len(piece)

        handler.swallow_disconnect(write)


class FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT

    def do_GET(self) -> None:
        nth = self.server.hit(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_all(404, {"Content-Type": "text/plain"}, b"not found")
            return
        route.serve(self, nth)

    def send_all(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.swallow_disconnect(lambda: self.wfile.write(body))

    def swallow_disconnect(self, action: Any) -> None:
        """Run *action*; a client that went away (timeout, cancelled download) ends it."""
        try:
            action()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the crawl's own log says what happened."""


class FaultServer(ThreadingHTTPServer):
    """The route table on ``127.0.0.1:<free port>``; see the module docstring."""

    daemon_threads = False  # joined by server_close(): every handler is bounded
    block_on_close = True
    # A crawl opens dozens of connections at once: socketserver's default backlog of 5
    # would drop connection attempts, and the client would wait for a SYN retry.
    request_queue_size = 128

    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[str] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hit(self, path: str) -> int:
        with self._lock:
            self.requests.append(path)
            self.hits[path] += 1
            return self.hits[path]

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self.serve_forever, name="faultserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=MAX_SLEEP)


@contextmanager
def serve(routes: Mapping[str, Route] | None = None) -> Iterator[FaultServer]:
    """A started :class:`FaultServer`, stopped on exit."""
    server = FaultServer(routes).start()
    try:
        yield server
    finally:
        server.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- bodies ---------------------------------------------------------------------------------


def json_body(value: Any, *, encoding: str = "utf-8", wrap: str = "") -> bytes:
    """*value* as JSON text in *encoding*, optionally as JavaScript ``var <wrap>=...;``."""
    text = json.dumps(value, ensure_ascii=False)
    if wrap:
        text = f"var {wrap}={text};"
    return text.encode(encoding)


# --- reading a crawl's output ------------------------------------------------------------------


def crawl_stats(stderr: str) -> dict[str, int]:
    """The integer stats of the crawl's final stats dump (``{'name': N, ...}``)."""
    if _STATS_DUMP not in stderr:
        return {}
    dump = stderr.rsplit(_STATS_DUMP, 1)[1]
    return {name: int(value) for name, value in _STAT_RE.findall(dump)}


def newscrawler_stats(stderr: str) -> dict[str, int]:
    """Only the project's own counters (``newscrawler/...``)."""
    return {k: v for k, v in crawl_stats(stderr).items() if k.startswith("newscrawler/")}
