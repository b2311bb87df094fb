"""The per-stage breakdown of the throughput bench: the project's item pipelines, each
timed inside a real ``scrapy crawl eastmoney``.

``stage_timing.<Name>`` is the project's pipeline class ``<Name>`` (from its
``ITEM_PIPELINES``) with ``process_item`` timed in CPU time of the calling thread
(``time.thread_time``: the reactor thread, system time included, the other threads and
the waits left out) and counted. Used through :func:`timed_pipelines`, with this folder on
``PYTHONPATH``; at exit the process prints one line to stderr::

    STAGE_TIMING {"ValidatePipeline": [cpu_s, items], ...}

which :func:`read_stage_timing` reads back. A timed run costs two clock reads a stage and
an article more than an untimed one (under a microsecond each), so the bench keeps the
timed runs apart from the runs it times as a whole.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from typing import Any

from scrapy.utils.misc import load_object

from newscrawler import settings as project_settings

PREFIX = "STAGE_TIMING "

#: Stage name -> [CPU seconds in process_item, items].
_TOTALS: dict[str, list[float]] = {}
_CLASSES: dict[str, type] = {}


def _project_pipelines() -> dict[str, tuple[str, int]]:
    """Class name -> (object path, priority) of the project's ITEM_PIPELINES."""
    return {path.rsplit(".", 1)[1]: (path, priority) for path, priority in project_settings.ITEM_PIPELINES.items()}


def timed_pipelines() -> dict[str, int]:
    """The ``ITEM_PIPELINES`` of a timed run: each of the project's, timed, at its priority."""
    return {f"{__name__}.{name}": priority for name, (_, priority) in _project_pipelines().items()}


def _timed(name: str) -> type:
    base: Any = load_object(_project_pipelines()[name][0])
    totals = _TOTALS.setdefault(name, [0.0, 0])

    def process_item(self: Any, item: Any) -> Any:
        started = time.thread_time()
        try:
            return base.process_item(self, item)
        finally:
            totals[0] += time.thread_time() - started
            totals[1] += 1

    # Scrapy tells components apart by their qualified name: each its own.
    return type(name, (base,), {"process_item": process_item, "__qualname__": f"Timed{name}", "__module__": __name__})


def __getattr__(name: str) -> type:
    """``stage_timing.ValidatePipeline`` and so on: made when Scrapy first loads them."""
    if name not in _project_pipelines():
        raise AttributeError(name)
    if name not in _CLASSES:
        _CLASSES[name] = _timed(name)
        if len(_CLASSES) == 1:
            atexit.register(_report)
    return _CLASSES[name]


def _report() -> None:
    print(PREFIX + json.dumps(_TOTALS, sort_keys=True), file=sys.stderr, flush=True)


def read_stage_timing(stderr: str) -> dict[str, tuple[float, int]]:
    """The stage times a timed run printed (empty when it printed none)."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(PREFIX):
            return {name: (float(cpu), int(items)) for name, (cpu, items) in json.loads(line[len(PREFIX) :]).items()}
    return {}
