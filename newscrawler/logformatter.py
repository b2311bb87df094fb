"""Log lines for dropped and scraped items that name the article and URL, not the whole body."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult


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
