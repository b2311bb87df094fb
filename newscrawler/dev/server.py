"""The one loopback HTTP server of the demo, the tests and the benchmarks (stdlib only).

:class:`LoopbackServer` listens on 127.0.0.1 (a free port unless told one), answers from an
asyncio loop in a daemon thread, and is bounded: at most ``max_connections`` connections,
every read times out, every sleep ends at :meth:`~LoopbackServer.stop`, and the server stops
by itself after ``lifetime`` seconds. What it answers, in this order:

1. a **route table**: a request target (path and query, exactly as requested) mapped to a
   :class:`Route`: a good answer (:class:`Ok`), an HTTP error (:class:`Status`), errors then
   success (:class:`FailFirst`), a slow answer (:class:`Slow`), a connection closed
   mid-body (:class:`CutBody`), a redirect (:class:`Redirect`), a connection closed before
   any answer (:class:`Hangup`), a huge body (:class:`Huge`);
2. a **fixture tree** (*root*), mapped the way the real sources answer, see :func:`resolve`:
   ``/path`` -> ``root/path`` (``root/path/index.html`` for a folder); ``/path?query`` ->
   ``root/path@query``, then ``root/path@name=value`` for each non-empty parameter in turn
   (a feed page: ``getNewsByColumns@page_index=2``), then ``root/path``. A sidecar
   ``<file>.headers`` holds extra response headers, one ``Name: value`` a line, and may set
   the status (``Status: 503``). Content types follow the extension, without a charset
   unless the sidecar gives one, as many real servers do;
3. else ``404``.

Every request is recorded (target, ``Referer``, a count per target and per *kind*, the
time of the first and last one) so that a test or a bench can tell what a crawl fetched.

    python -m newscrawler.dev.server tests/fixtures/eastmoney --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

JSON_UTF8 = "application/json; charset=utf-8"
HTML_UTF8 = "text/html; charset=utf-8"
#: Upper bound of any sleep in the server (a :class:`Slow` route sleeps less than this).
MAX_SLEEP = 10.0
#: Idle time after which a connection is closed: a stuck client cannot hold it longer.
SOCKET_TIMEOUT = 10.0
#: Longest request head accepted (request line and headers).
MAX_HEAD = 16 * 1024

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
_REASONS = {
    200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
    308: "Permanent Redirect", 403: "Forbidden", 404: "Not Found", 410: "Gone", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip


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


def fixture_answer(path: Path) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the fixture file *path* (and its ``.headers`` sidecar)."""
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
    return status, headers, body


def response_head(status: int, headers: Mapping[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Exchange:
    """One request being answered: what a :class:`Route` writes its answer to."""

    def __init__(
        self, server: LoopbackServer, writer: asyncio.StreamWriter, method: str, target: str, nth: int
    ) -> None:
        self.server = server
        self.writer = writer
        self.method = method
        self.target = target
        #: This target's requests so far, this one included (from 1).
        self.nth = nth
        #: Set by a route that ends the connection after its answer (or instead of one).
        self.hang_up = False

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A complete answer with its ``Content-Length`` (the head alone for ``HEAD``)."""
        head = response_head(status, headers, len(body))
        self.writer.write(head if self.method == "HEAD" else head + body)
        await self.writer.drain()

    async def send_head(self, status: int, headers: Mapping[str, str], length: int | None) -> None:
        self.writer.write(response_head(status, headers, length))
        await self.writer.drain()

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class Route:
    """How to answer one target; :attr:`Exchange.nth` counts this target's requests."""

    async def serve(self, exchange: Exchange) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Ok(Route):
    """A complete answer (any status, the body exactly as given)."""

    body: bytes = b""
    content_type: str | None = JSON_UTF8
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    async def serve(self, exchange: Exchange) -> None:
        headers = dict(self.headers)
        if self.content_type:
            headers.setdefault("Content-Type", self.content_type)
        await exchange.send(self.status, headers, self.body)


@dataclass(frozen=True)
class Status(Route):
    """An HTTP error page, every time: 404, 500, 503 ..."""

    status: int
    body: bytes = b"<html><body><h1>error</h1></body></html>"

    async def serve(self, exchange: Exchange) -> None:
        await exchange.send(self.status, {"Content-Type": "text/html"}, self.body)


@dataclass(frozen=True)
class FailFirst(Route):
    """``times`` answers with ``status`` (per target), then ``then``."""

    then: Route
    times: int = 1
    status: int = 503

    async def serve(self, exchange: Exchange) -> None:
        if exchange.nth <= self.times:
            await Status(self.status).serve(exchange)
        else:
            exchange.nth -= self.times
            await self.then.serve(exchange)


@dataclass(frozen=True)
class Slow(Route):
    """Waits ``seconds`` (bounded by :data:`MAX_SLEEP`, cut short by the server's stop)
    before answering with ``then``; past the client's timeout nobody listens."""

    seconds: float
    then: Route = field(default_factory=lambda: Ok(b"{}"))

    async def serve(self, exchange: Exchange) -> None:
        await asyncio.sleep(min(self.seconds, MAX_SLEEP))
        await self.then.serve(exchange)


@dataclass(frozen=True)
class CutBody(Route):
    """Announces the whole body in ``Content-Length``, sends only ``keep`` bytes of it, and
    closes the connection."""

    body: bytes
    keep: int
    content_type: str = JSON_UTF8

    async def serve(self, exchange: Exchange) -> None:
        await exchange.send_head(200, {"Content-Type": self.content_type}, len(self.body))
        await exchange.write(self.body[: self.keep])
        exchange.hang_up = True


@dataclass(frozen=True)
class Redirect(Route):
    """A ``302`` (or *status*) to ``location`` (a path on this server or a URL)."""

    location: str
    status: int = 302

    async def serve(self, exchange: Exchange) -> None:
        await exchange.send(self.status, {"Location": self.location, "Content-Type": "text/html"}, b"")


@dataclass(frozen=True)
class Hangup(Route):
    """Reads the request and closes the connection without a word."""

    async def serve(self, exchange: Exchange) -> None:
        exchange.hang_up = True


@dataclass(frozen=True)
class Huge(Route):
    """A ``size``-byte JSON body, with its ``Content-Length``, or streamed without one (the
    end of the body is the end of the connection) when ``streamed``."""

    size: int = 5 * 1024 * 1024
    streamed: bool = False

    async def serve(self, exchange: Exchange) -> None:
        headers = {"Content-Type": JSON_UTF8}
        if self.streamed:
            headers["Connection"] = "close"
            exchange.hang_up = True
        await exchange.send_head(200, headers, None if self.streamed else self.size)
        chunk = b" " * 65536
        sent = 0
        while sent < self.size:
            piece = chunk[: self.size - sent]
            await exchange.write(piece)
            sent += len(piece)


class LoopbackServer:
    """Routes, then a fixture tree, on 127.0.0.1; see the module docstring.

    The port is bound when the server is made (:attr:`url` is known at once; a port in use
    raises ``OSError`` here); :meth:`start` (or ``with server:`` / :meth:`running`) serves
    it in a daemon thread until :meth:`stop`.
    """

    def __init__(
        self,
        root: Path | str | None = None,
        routes: Mapping[str, Route] | None = None,
        *,
        port: int = 0,
        kind: Callable[[str], str] | None = None,
        max_connections: int = 256,
        lifetime: float = 1800.0,
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.routes: dict[str, Route] = dict(routes or {})
        self.kind = kind
        self.max_connections = max_connections
        self.lifetime = lifetime
        #: Seconds to wait before answering targets that contain ``delay_match`` (tests use
        #: it to hold a crawl open).
        self.delay = 0.0
        self.delay_match = ""
        self.requests: list[str] = []
        #: The ``Referer`` each request carried ("" for none), in request order.
        self.referers: list[tuple[str, str]] = []
        self.hits: Counter[str] = Counter()
        #: Requests per ``kind(target)`` (when a *kind* function is given).
        self.counts: Counter[str] = Counter()
        self.first_request: float | None = None
        self.last_request: float | None = None
        self.connections = 0
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(("127.0.0.1", port))
            # A crawl opens dozens of connections at once: a short backlog would drop
            # connection attempts, and the client would wait for a SYN retry.
            self._socket.listen(256)
        except BaseException:
            self._socket.close()
            raise
        self.port = int(self._socket.getsockname()[1])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self.requests = []
            self.referers = []
            self.hits = Counter()
            self.counts = Counter()
            self.first_request = self.last_request = None

    def record(self, target: str, referer: str = "") -> int:
        """Note a request; returns how many *target* had, this one included."""
        now = time.perf_counter()
        with self._lock:
            if self.first_request is None:
                self.first_request = now
            self.last_request = now
            self.requests.append(target)
            self.referers.append((target, referer))
            if self.kind is not None:
                self.counts[self.kind(target)] += 1
            self.hits[target] += 1
            return self.hits[target]

    # -- serving ------------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        return self

    def stop(self) -> None:
        """Stop serving (cuts every sleep and open connection short) and close the port."""
        loop = self._loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
                loop.call_soon_threadsafe(loop.stop)
            self._thread.join(MAX_SLEEP)
        self._socket.close()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (its lifetime ends) or *timeout* seconds pass."""
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def running(self) -> Iterator[LoopbackServer]:
        """Serve for the length of a ``with`` block, then stop."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = loop.run_until_complete(
            asyncio.start_server(self._connection, sock=self._socket, limit=MAX_HEAD)
        )
        loop.call_later(self.lifetime, loop.stop)  # bounded: never outlives its user
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.run_until_complete(_cancel_the_rest())
            loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.connections >= self.max_connections:
            writer.close()
            return
        self.connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.connections -= 1
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read and answer one request; False when the connection is to be closed."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SOCKET_TIMEOUT)
        request_line, _, header_block = head[:-4].partition(b"\r\n")
        parts = request_line.decode("latin-1").split(" ")
        if len(parts) != 3:
            return False
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in header_block.decode("latin-1").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length", "0")
        if length.isdigit() and int(length):
            await asyncio.wait_for(reader.readexactly(int(length)), SOCKET_TIMEOUT)
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        exchange = Exchange(self, writer, method, target, self.record(target, headers.get("referer", "")))
        if self.delay and self.delay_match in target:
            await asyncio.sleep(min(self.delay, MAX_SLEEP))
        await self._answer(exchange)
        return keep_alive and not exchange.hang_up

    async def _answer(self, exchange: Exchange) -> None:
        if exchange.method not in ("GET", "HEAD"):
            await exchange.send(405, {"Content-Type": "text/plain", "Allow": "GET, HEAD"}, b"method not allowed")
            return
        route = self.routes.get(exchange.target)
        if route is not None:
            await route.serve(exchange)
            return
        path = resolve(self.root, exchange.target) if self.root is not None else None
        if path is None:
            await exchange.send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        status, headers, body = fixture_answer(path)
        await exchange.send(status, headers, body)


async def _cancel_the_rest() -> None:
    """Cancel every task of the loop but this one (open connections, sleeping routes)."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fixture tree on 127.0.0.1.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = LoopbackServer(args.root, port=args.port, lifetime=24 * 3600.0)
    print(f"serving {args.root} at {server.url}", flush=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.wait()


if __name__ == "__main__":
    main()
