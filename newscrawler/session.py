"""The archive a crawl writes into: paths and settings, resolved once per crawler.

Pipelines share one :class:`ArchiveSession` per crawler (the crawler holds it), so
configuration enters once, through ``from_crawler``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler

_ATTR = "_newscrawler_session"


@dataclass
class ArchiveSession:
    archive_dir: Path
    state_dir: Path
    site: str
    share_url_template: str
    article_url_template: str
    #: outlet name -> slug for this run (seeded from the archive by the store).
    slugs: dict[str, str] = field(default_factory=dict)
    #: article codes handled in this run.
    codes_this_run: set[str] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Any) -> ArchiveSession:
        archive_dir = Path(settings.get("ARCHIVE_DIR") or "output")
        state_dir = Path(settings.get("STATE_DIR") or archive_dir / ".newscrawler")
        return cls(
            archive_dir=archive_dir,
            state_dir=state_dir,
            site=str(settings.get("ARCHIVE_SITE") or "").rstrip("/"),
            share_url_template=settings.get("EASTMONEY_SHARE_URL"),
            article_url_template=settings.get("EASTMONEY_ARTICLE_URL"),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        session = getattr(crawler, _ATTR, None)
        if session is None:
            session = cls.from_settings(crawler.settings)
            setattr(crawler, _ATTR, session)
        return session
