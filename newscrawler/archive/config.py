"""The archive's configuration: read once from the crawler's settings, then frozen.

Every default lives in ``newscrawler/settings.py``; this only reads and checks them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from scrapy.settings import BaseSettings

from newscrawler import settings as project_settings
from newscrawler.archive.layout import DEFAULT_STATE_SUBDIR

logger = logging.getLogger(__name__)

#: ``NEWSCRAWLER_ROLE`` of the distributed mode's writer (the ``writer`` spider sets it).
ROLE_WRITER = "writer"


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
    #: ``REDIS_URL``: the distributed mode's Redis ("" : one process does everything).
    redis_url: str
    #: ``REDIS_KEY_PREFIX``: the prefix of this archive's Redis keys.
    redis_prefix: str
    #: ``REDIS_HEARTBEAT_SECONDS``: how long a worker's claims outlive it.
    redis_heartbeat: float
    #: ``REDIS_RETRY_AFTER_SECONDS``: how long an article a worker tried in vain rests.
    redis_retry_after: float
    #: ``REDIS_WRITER_IDLE_SECONDS``: the writer stops after this long with nothing to do (0: never).
    writer_idle: float
    #: ``NEWSCRAWLER_ROLE``: ``writer`` for the writer spider; with ``REDIS_URL`` any other is a worker.
    role: str

    @property
    def mode(self) -> str:
        """``single`` (one process does everything), or the distributed mode's ``worker`` or ``writer``."""
        return "writer" if self.writer else "worker" if self.worker else "single"

    @property
    def distributed(self) -> bool:
        return bool(self.redis_url)

    @property
    def worker(self) -> bool:
        """A worker of the distributed mode: fetches and cleans, never touches the archive."""
        return bool(self.redis_url) and self.role != ROLE_WRITER

    @property
    def writer(self) -> bool:
        return bool(self.redis_url) and self.role == ROLE_WRITER

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveConfig:
        # An empty ARCHIVE_DIR (-s ARCHIVE_DIR=) means the default, from its one home.
        archive_dir = Path(settings.get("ARCHIVE_DIR") or project_settings.ARCHIVE_DIR)
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
            redis_url=str(settings.get("REDIS_URL") or "").strip(),
            redis_prefix=str(settings.get("REDIS_KEY_PREFIX") or ""),
            redis_heartbeat=max(1.0, settings.getfloat("REDIS_HEARTBEAT_SECONDS")),
            redis_retry_after=max(0.0, settings.getfloat("REDIS_RETRY_AFTER_SECONDS")),
            writer_idle=max(0.0, settings.getfloat("REDIS_WRITER_IDLE_SECONDS")),
            role=str(settings.get("NEWSCRAWLER_ROLE") or ""),
        )
