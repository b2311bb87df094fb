"""Spider arguments and the settings they stand for, checked before anything runs.

``scrapy crawl`` (:mod:`newscrawler.commands.crawl`) calls a spider's
``check_arguments(settings, spargs)`` first: a bad value is a :class:`UsageError` whose
message, one line naming the value, is the only thing logged, and the exit status is 2
(docs/operations.md "Exit statuses"). The spiders check the same values again when they
are built in-process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import UsageError

TRUE_VALUES = frozenset({"true", "1", "yes", "on"})
FALSE_VALUES = frozenset({"false", "0", "no", "off", ""})


def check_known(spider: str, spargs: Mapping[str, Any], known: Iterable[str]) -> None:
    """Every ``-a`` argument is one the spider takes (names starting with ``_``, such as
    Scrapyd's ``_job``, are the scheduler's and pass)."""
    allowed = sorted(known)
    for name in spargs:
        if name not in allowed and not str(name).startswith("_"):
            takes = ", ".join(f"-a {a}" for a in allowed)
            raise UsageError(f"{spider}: unknown argument -a {name}={spargs[name]!r} (it takes {takes})")


def positive_int(value: object, name: str) -> int:
    """*value* as a positive integer; ``UsageError`` (naming *name* and the value) otherwise."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or int(text) < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return int(text)


def parse_bool(value: object, name: str) -> bool:
    """A boolean argument: ``true/1/yes/on`` or ``false/0/no/off``; anything else is an error."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise UsageError(f"{name}={value!r} is not a boolean (use true/false, 1/0, yes/no)")


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False
