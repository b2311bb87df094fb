"""The archive a crawl writes into, shared by the Scrapy components of one crawler:
its configuration (:class:`~newscrawler.archive.config.ArchiveConfig`), the archive
handle (:class:`Archive`: the run lock and the store) and the run's state
(:class:`RunState`), held together by one :class:`ArchiveSession` per crawler.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from newscrawler.archive.bootstrap import archived_post, bootstrap, remove_stale_temp_files
from newscrawler.archive.config import ArchiveConfig
from newscrawler.archive.layout import LOCK_FILE, POST_DIRS, STORE_FILE
from newscrawler.archive.lock import RunLock
from newscrawler.dedup.store.base import SeenStore
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.dedup.store.sqlite import open_store
from newscrawler.ids import is_code

logger = logging.getLogger(__name__)

_ATTR = "_newscrawler_session"
_POST_NAME_RE = re.compile(r"(?:NW)?([0-9]{18})\.md$", re.ASCII)
META_DIRS_STATE = "post_dirs_state"
#: ``meta`` key prefix of articles fetched and refused for good (a duplicate, no date ...).
META_REJECTED_PREFIX = "rejected/"

StoreOpener = Callable[[Path, Path], SeenStore]


def open_sqlite_store(state_dir: Path, archive_dir: Path) -> SeenStore:
    return open_store(state_dir / STORE_FILE, lambda store: bootstrap(store, archive_dir))


@dataclass
class RunState:
    """What one run learns as it goes, shared by the components of its crawler."""

    #: outlet name -> slug (seeded from the store; spiders may add a site's own slugs).
    slugs: dict[str, str] = field(default_factory=dict)
    #: article codes handled in this run.
    codes_this_run: set[str] = field(default_factory=set)
    #: posts written by this run (paths relative to the archive).
    new_posts: list[str] = field(default_factory=list)
    #: records of this run's posts, visible to dedup before the batch is committed.
    run_store: MemoryStore = field(default_factory=MemoryStore)
    #: SimHash shingle digests, shared by the run's fingerprints (bounded by the dedup step).
    shingle_cache: dict[int | str, bytes] = field(default_factory=dict)
    #: Articles this run lost: no text from any source, or refused (``code``, ``url``, ``reason``).
    lost: list[dict[str, str]] = field(default_factory=list)
    #: Articles not fetched because an earlier run refused them (``code``, ``reason``).
    skipped_rejected: list[dict[str, str]] = field(default_factory=list)


class Archive:
    """The archive handle: the run lock and the seen-articles store.

    :meth:`open` — called by every component that needs the store, the first call does
    the work — takes the run lock, removes a killed run's temp files, opens the store
    (bootstrapping it from the posts on disk the first time) and reconciles it with posts
    a killed run wrote but did not record.
    """

    def __init__(self, config: ArchiveConfig, store_opener: StoreOpener = open_sqlite_store) -> None:
        self.config = config
        self.archive_dir = config.archive_dir
        self.state_dir = config.state_dir
        self.store_opener = store_opener
        self.store: SeenStore | None = None
        self.lock: RunLock | None = None
        #: What opening found: temp files of a killed run removed, posts recorded afresh.
        self.stale_temp_files = 0
        self.reconciled = 0

    @property
    def is_open(self) -> bool:
        return self.store is not None

    def lock_archive(self) -> None:
        """Take the run lock (idempotent; :meth:`open` keeps a lock taken here).

        ``scrapy crawl`` (:mod:`newscrawler.commands.crawl`) calls it before the crawl
        starts, so that a second run exits at once, saying why. One lock per archive
        handle: a ``flock`` belongs to an open file description, so a second ``RunLock`` in
        the same process would find the lock held (by this very process). Raises
        ``LockHeld``, or ``OSError`` when ``STATE_DIR`` cannot be created or the lock file
        cannot be opened.
        """
        if self.lock is not None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(self.state_dir / LOCK_FILE)
        lock.acquire()
        self.lock = lock

    def open(self) -> SeenStore:
        """Lock the archive and open the store; idempotent. Raises ``LockHeld``."""
        if self.store is not None:
            return self.store
        self.lock_archive()
        lock = self.lock
        assert lock is not None
        try:
            self.archive_dir.mkdir(parents=True, exist_ok=True)
            self.stale_temp_files = remove_stale_temp_files(self.archive_dir)
            if self.stale_temp_files:
                logger.warning(
                    "Removed %d temp files a killed run left in %s", self.stale_temp_files, self.archive_dir
                )
            store = self.store_opener(self.state_dir, self.archive_dir)
            self.reconciled = self._reconcile(store)
        except BaseException:
            lock.release()
            self.lock = None
            raise
        self.store = store
        logger.info("Archive %s: %d articles known", self.archive_dir, store.count())
        return store

    def is_known(self, code: str) -> bool:
        """Archived, or refused for good by an earlier run."""
        return self.open().has(code) or self.is_rejected(code)

    def is_rejected(self, code: str) -> bool:
        """Fetched by an earlier run and refused for good: not worth fetching again."""
        return self.open().get_meta(META_REJECTED_PREFIX + code) is not None

    def reject(self, code: str, reason: str) -> None:
        """Remember that the article *code* was fetched and refused for a lasting *reason*
        (only while this run holds the archive)."""
        if self.store is not None and is_code(code):
            self.store.set_meta(META_REJECTED_PREFIX + code, reason)

    def close(self) -> None:
        if self.store is not None:
            self.store.set_meta(META_DIRS_STATE, self._dirs_state())
            self.store.close()
            self.store = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _dirs_state(self) -> str:
        parts = []
        for name in POST_DIRS:
            try:
                parts.append(f"{name}:{(self.archive_dir / name).stat().st_mtime_ns}")
            except FileNotFoundError:
                parts.append(f"{name}:-")
        return ",".join(parts)

    def _reconcile(self, store: SeenStore) -> int:
        """Record posts on disk that the store does not know: written by a run that was
        killed before recording them, or put there by hand. Only runs when a post
        folder changed since the last run closed (a directory's mtime changes when
        files are added or removed), so an ordinary run does not list the folders."""
        if store.get_meta(META_DIRS_STATE) == self._dirs_state():
            return 0
        added = 0
        with store.transaction():
            for name in POST_DIRS:
                folder = self.archive_dir / name
                if not folder.is_dir():
                    continue
                for path in folder.iterdir():
                    match = _POST_NAME_RE.search(path.name)
                    if not match or path.name.startswith(".") or store.has(match.group(1)):
                        continue
                    try:
                        post = archived_post(f"{name}/{path.name}", path.read_text("utf-8"))
                    except (OSError, UnicodeDecodeError) as exc:
                        logger.warning("Cannot read %s: %s", path, exc)
                        continue
                    if post is not None and not store.has(post.code):
                        store.add(post.record())
                        added += 1
        if added:
            logger.warning("Recorded %d posts found on disk but missing from the store", added)
        return added


class ArchiveSession:
    """What the Scrapy components of one crawler share: the frozen :class:`ArchiveConfig`,
    the :class:`Archive` handle and the :class:`RunState`. One per crawler, made by the
    first component that asks (:meth:`from_crawler`)."""

    def __init__(self, config: ArchiveConfig, archive: Archive, run: RunState | None = None) -> None:
        self.config = config
        self.archive = archive
        self.run = run or RunState()
        self._slugs_seeded = False

    @classmethod
    def from_settings(
        cls, settings: BaseSettings, store_opener: StoreOpener = open_sqlite_store
    ) -> ArchiveSession:
        config = ArchiveConfig.from_settings(settings)
        return cls(config, Archive(config, store_opener))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        session = getattr(crawler, _ATTR, None)
        if not isinstance(session, ArchiveSession):
            session = cls.from_settings(crawler.settings)
            setattr(crawler, _ATTR, session)
        return session

    def install(self, crawler: Crawler) -> ArchiveSession:
        """Make this the session of *crawler* (tests use it to give a crawler a memory store)."""
        setattr(crawler, _ATTR, self)
        return self

    def open(self) -> SeenStore:
        """The store (the first call opens the archive and seeds the run's slugs from it)."""
        store = self.archive.open()
        if not self._slugs_seeded:
            self._slugs_seeded = True
            for outlet, slug in store.slugs().items():
                self.run.slugs.setdefault(outlet, slug)
        return store

    def is_known(self, code: str) -> bool:
        self.open()
        return self.archive.is_known(code)

    def is_rejected(self, code: str) -> bool:
        self.open()
        return self.archive.is_rejected(code)

    def rejection(self, code: str) -> str | None:
        """Why an earlier run refused the article *code*, or None."""
        return self.open().get_meta(META_REJECTED_PREFIX + code)

    def lose(self, code: str, url: str, reason: str) -> None:
        """Note an article this run lost, for the report."""
        self.run.lost.append({"code": code, "url": url, "reason": reason})
