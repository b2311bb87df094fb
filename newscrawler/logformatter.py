"""What a run logs: lines for dropped and scraped items that name the article and URL, not
the whole body (:class:`NewsLogFormatter`), Scrapy's own start-up and closing dumps
moved to DEBUG (:func:`scrapy_dumps_at_debug`) so that a scheduled run's log stays short,
and the project's and Scrapy's loggers set to ``LOG_LEVEL`` (:func:`loggers_at`) so that a
message below it costs a level check, not a record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult

#: Scrapy's INFO dumps (logger, message start) that a run logs at DEBUG unless
#: ``NEWSCRAWLER_LOG_DUMPS`` asks for them: the overridden settings, the enabled add-ons and
#: components, the stats at the end.
SCRAPY_DUMPS = (
    ("scrapy.crawler", "Overridden settings"),
    ("scrapy.addons", "Enabled addons"),
    ("scrapy.middleware", "Enabled "),
    ("scrapy.statscollectors", "Dumping Scrapy stats"),
)


class DemoteToDebug(logging.Filter):
    """Turns the INFO records whose message starts with *prefix* into DEBUG records (a
    handler at INFO then leaves them out; ``LOG_LEVEL=DEBUG`` still shows them)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and isinstance(record.msg, str) and record.msg.startswith(self.prefix):
            record.levelno = logging.DEBUG
            record.levelname = logging.getLevelName(logging.DEBUG)
        return True


@contextmanager
def scrapy_dumps_at_debug() -> Iterator[None]:
    """For the length of a ``with`` block, Scrapy's :data:`SCRAPY_DUMPS` are DEBUG records."""
    filters = [(logging.getLogger(name), DemoteToDebug(prefix)) for name, prefix in SCRAPY_DUMPS]
    for target, demote in filters:
        target.addFilter(demote)
    try:
        yield
    finally:
        for target, demote in filters:
            target.removeFilter(demote)


#: The loggers :func:`loggers_at` sets: the project's and Scrapy's (their children inherit).
RUN_LOGGERS = ("newscrawler", "scrapy")


@contextmanager
def loggers_at(level: int | str) -> Iterator[None]:
    """For the length of a ``with`` block, :data:`RUN_LOGGERS` at *level* (``LOG_LEVEL``).

    Scrapy sets the level of its root handler, not of the loggers, so each ``debug`` or
    ``info`` call below ``LOG_LEVEL`` still builds a record that the handler then throws
    away (about 5 µs; several a request and an article). No other handler sees records
    below ``LOG_LEVEL`` in a crawl (Scrapy's log counter uses the same level), so
    nothing is lost."""
    targets = [logging.getLogger(name) for name in RUN_LOGGERS]
    before = [target.level for target in targets]
    for target in targets:
        target.setLevel(level)
    try:
        yield
    finally:
        for target, old in zip(targets, before, strict=True):
            target.setLevel(old)


def _describe(item: Any) -> str:
    code = getattr(item, "code", "") or "?"
    url = getattr(item, "url", "") or "?"
    return f"article {code} from {url}"


class NewsLogFormatter(LogFormatter):
    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> LogFormatterResult:
        level = getattr(exception, "log_level", None) or logging.INFO
        if isinstance(level, str):
            level = getattr(logging, level)
        return {
            "level": level,
            "msg": "Dropped %(item)s: %(exception)s",
            "args": {"item": _describe(item), "exception": exception},
        }

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult:
        return {"level": logging.DEBUG, "msg": "Scraped %(item)s", "args": {"item": _describe(item)}}
