"""What the crawl tests share besides the fixtures and the loopback server
(:mod:`newscrawler.dev.server`): a route-table server in a ``with`` block, JSON bodies, and
readers of a crawl's output (:func:`crawl_stats` reads the integer stats of the final
stats dump).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from newscrawler.dev.server import LoopbackServer, Route

_STATS_DUMP = "Dumping Scrapy stats:"
_STAT_RE = re.compile(r"'([^'\n]+)': (\d+)[,}]")


@contextmanager
def serve(routes: Mapping[str, Route] | None = None) -> Iterator[LoopbackServer]:
    """A started route-table :class:`LoopbackServer` (no fixture tree), stopped on exit."""
    with LoopbackServer(routes=routes) as server:
        yield server


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
