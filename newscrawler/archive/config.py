"""The archive's configuration: read once from the crawler's settings, then frozen.

Every default lives in ``newscrawler/settings.py``; this only reads and checks them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from scrapy.settings import BaseSettings

from newscrawler.archive.layout import DEFAULT_STATE_SUBDIR

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveConfig:
    #: ``ARCHIVE_DIR``: the archive root.
    archive_dir: Path
    #: ``STATE_DIR``: the store, the lock, the run report.
    state_dir: Path
    #: ``ARCHIVE_SITE`` without a trailing slash: the root of the posts' back links.
    site: str
    #: ``EASTMONEY_SHARE_URL``: the source line of outlet posts.
    share_url_template: str
    #: ``EASTMONEY_ARTICLE_URL``: the source line of rolling posts that have no usable one.
    article_url_template: str
    #: ``DEDUP_CONTENT_WINDOW_DAYS``: content duplicates count only this close in date (None: any).
    content_window: timedelta | None
    #: ``WRITE_BATCH_SIZE`` and ``WRITE_BATCH_SECONDS``: posts made durable and recorded together.
    batch_size: int
    batch_seconds: float
    #: ``ARCHIVE_RETENTION_DAYS`` (0: off).
    retention_days: int
    #: ``ARCHIVE_RESCAN``: list the whole archive at the start (posts added by hand).
    rescan: bool
    #: ``DEDUP_STORE_CHECK_HOURS``: how often the store's pages are checked (None: every run).
    store_check_every: timedelta | None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveConfig:
        archive_dir = Path(settings.get("ARCHIVE_DIR") or "output")
        window = settings.getfloat("DEDUP_CONTENT_WINDOW_DAYS")
        retention = settings.getint("ARCHIVE_RETENTION_DAYS")
        check_hours = settings.getfloat("DEDUP_STORE_CHECK_HOURS")
        if retention < 0:
            logger.warning("ARCHIVE_RETENTION_DAYS=%d is negative: retention is off", retention)
            retention = 0
        return cls(
            archive_dir=archive_dir,
            state_dir=Path(settings.get("STATE_DIR") or archive_dir / DEFAULT_STATE_SUBDIR),
            site=str(settings.get("ARCHIVE_SITE") or "").rstrip("/"),
            share_url_template=str(settings.get("EASTMONEY_SHARE_URL") or ""),
            article_url_template=str(settings.get("EASTMONEY_ARTICLE_URL") or ""),
            content_window=timedelta(days=window) if window > 0 else None,
            batch_size=max(1, settings.getint("WRITE_BATCH_SIZE")),
            batch_seconds=settings.getfloat("WRITE_BATCH_SECONDS"),
            retention_days=retention,
            rescan=settings.getbool("ARCHIVE_RESCAN"),
            store_check_every=timedelta(hours=check_hours) if check_hours > 0 else None,
        )
