"""What every item pipeline shares: refusing an article with a counted, logged reason.

A refusal raises :class:`DropItem` with the reason, counted as
``newscrawler/dropped/<reason>`` and logged by Scrapy with the article's URL; one that
fetching again cannot change is remembered in the store, so later runs skip the article.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

from newscrawler.archive.session import ArchiveSession
from newscrawler.items import Article
from newscrawler.outcomes import Counters

#: Drops that fetching the article again would not change: the store remembers them so
#: that a run over unchanged feeds requests nothing (``future_date`` may heal, network
#: failures never reach the pipelines).
REMEMBERED_DROPS = frozenset(
    {"no_title", "no_date", "bad_date", "no_outlet", "bad_kind", "empty_body", "bad_slug", "unsafe_post"}
)


def drop(
    counters: Counters,
    session: ArchiveSession,
    item: Article,
    reason: str,
    detail: str = "",
    level: str = "WARNING",
) -> DropItem:
    """Count and describe a drop (remembered when refetching cannot change it); the
    caller raises what this returns."""
    counters.inc("dropped", reason)
    session.lose(item.code, item.url, f"dropped/{reason}")
    if reason in REMEMBERED_DROPS:
        session.reject(item.code, f"dropped/{reason}")
    return DropItem(f"{reason}{': ' + detail if detail else ''}", log_level=level)
