"""The fault server of the reliability crawl (:mod:`tests.faultserver`) itself."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.error
import urllib.request

from tests.faultserver import FailFirst, Ok, Route, Slow, serve


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
