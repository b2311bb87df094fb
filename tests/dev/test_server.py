"""The loopback server of the demo, the tests and the benches (:mod:`newscrawler.dev.server`)."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from newscrawler.dev.server import FailFirst, LoopbackServer, Ok, Route, Slow, resolve
from tests.support import serve


def test_fault_server_stops_at_once_while_a_slow_answer_sleeps() -> None:
    with serve({"/slow": Slow(30.0)}) as server:
        url = server.url + "/slow"

        def fetch() -> None:
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
                response.read()

        client = threading.Thread(target=fetch)
        client.start()
        deadline = time.monotonic() + 5
        while not server.hits["/slow"] and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    client.join(timeout=5)
    assert not client.is_alive()


def test_fault_server_counts_per_path() -> None:
    routes: dict[str, Route] = {"/flaky": FailFirst(Ok(b"{}"), times=2, status=500)}
    statuses = []
    with serve(routes) as server:
        for _ in range(3):
            try:
                with urllib.request.urlopen(server.url + "/flaky", timeout=5) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
    assert statuses == [500, 500, 200]


def _get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers={"Referer": "http://example.test/"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_routes_come_before_the_fixture_tree_and_a_miss_is_404(tmp_path: Path) -> None:
    (tmp_path / "feed.json").write_bytes(b'{"from": "tree"}')
    (tmp_path / "page.html").write_bytes(b"<p>x</p>")
    (tmp_path / "page.html.headers").write_text("Status: 503\nRetry-After: 7\n", "utf-8")
    (tmp_path / "list@page_index=2").write_bytes(b'{"page": 2}')
    routes: dict[str, Route] = {"/feed.json": Ok(b'{"from": "route"}')}
    with LoopbackServer(tmp_path, routes, kind=lambda target: target.split("?")[0]) as server:
        assert _get(server.url + "/feed.json")[2] == b'{"from": "route"}'
        status, headers, body = _get(server.url + "/page.html")
        assert (status, headers["Retry-After"], headers["Content-Type"], body) == (503, "7", "text/html", b"<p>x</p>")
        assert _get(server.url + "/list?page_index=2&size=20")[2] == b'{"page": 2}'
        assert _get(server.url + "/list")[0] == 404
        status, headers, body = _get(server.url + "/feed.json", method="HEAD")
        assert (status, headers["Content-Length"], body) == (200, "17", b"")
    assert server.hits["/feed.json"] == 2
    assert server.counts["/list"] == 2
    assert server.referers[0] == ("/feed.json", "http://example.test/")
    assert server.first_request is not None and server.last_request is not None


def test_keep_alive_answers_requests_on_one_connection_in_order() -> None:
    routes: dict[str, Route] = {f"/{n}": Ok(str(n).encode()) for n in range(3)}
    with serve(routes) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        bodies = []
        for n in range(3):
            connection.request("GET", f"/{n}")
            bodies.append(connection.getresponse().read())
        connection.close()
    assert bodies == [b"0", b"1", b"2"]
    assert server.requests == ["/0", "/1", "/2"]


def test_a_stopped_server_refuses_connections() -> None:
    with serve({"/": Ok(b"{}")}) as server:
        url = server.url + "/"
        assert _get(url)[0] == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def test_the_fixture_tree_never_answers_from_outside_its_root(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_bytes(b"{}")
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_bytes(b"home")
    assert resolve(root, "/") == root.resolve() / "index.html"
    assert resolve(root, "/../secret.json") is None
    assert resolve(root, "/%2e%2e/secret.json") is None
    assert resolve(root, "/x?a=../../secret.json") is None
