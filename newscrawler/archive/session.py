"""The archive a crawl writes into, shared by the Scrapy components of one crawler:
its configuration (:class:`~newscrawler.archive.config.ArchiveConfig`), the archive
handle (:class:`Archive`: the run lock and the store) and the run's state
(:class:`RunState`), held together by one :class:`ArchiveSession` per crawler.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from newscrawler.archive.bootstrap import (
    ArchivedPost,
    bootstrap,
    log_skip,
    read_post_file,
    remove_stale_temp_files,
    remove_temp_file,
)
from newscrawler.archive.config import ArchiveConfig
from newscrawler.archive.journal import Journal, JournalEntry
from newscrawler.archive.layout import (
    JOURNAL_FILE,
    LOCK_FILE,
    POST_DIRS,
    REPORT_FILE,
    STORE_FILE,
    WORKER_REPORT_FILE,
)
from newscrawler.archive.lock import RunLock
from newscrawler.dedup.store.base import SeenStore, StoredArticle
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.dedup.store.sqlite import open_store
from newscrawler.ids import is_code

if TYPE_CHECKING:
    from newscrawler.distributed.shared import Shared

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

_ATTR = "_newscrawler_session"
_POST_NAME_RE = re.compile(r"(?:NW)?([0-9]{18})\.md$", re.ASCII)
#: ``meta`` key: since when runs keep the write journal (a store without it, made by an
#: older version, gets one full rescan).
META_JOURNAL_SINCE = "journal_since"

StoreOpener = Callable[[ArchiveConfig], SeenStore]


def open_sqlite_store(config: ArchiveConfig) -> SeenStore:
    """The SQLite store of *config*, bootstrapped from the posts on disk the first time."""

    def rebuild(store: SeenStore) -> None:
        remove_stale_temp_files(config.archive_dir)
        bootstrap(store, config.archive_dir)
        store.set_meta(META_JOURNAL_SINCE, _now())

    every = config.store_check_every
    return open_store(
        config.state_dir / STORE_FILE, rebuild, check_every=every.total_seconds() if every else None
    )


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class RunState:
    """What one run learns as it goes, shared by the components of its crawler."""

    #: outlet name -> slug (seeded from the store; spiders may add a site's own slugs).
    slugs: dict[str, str] = field(default_factory=dict)
    #: article codes handled in this run.
    codes_this_run: set[str] = field(default_factory=set)
    #: article codes the skip-known middleware found not archived before fetching them: the
    #: dedup step does not ask the store again (only this run, in ``codes_this_run``, can
    #: have archived them since).
    unarchived: set[str] = field(default_factory=set)
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
    """The archive handle: the run lock, the seen-articles store and the write journal.

    :meth:`open` — called by every component that needs the store, the first call does
    the work — takes the run lock, replays the write journal a killed run left (its temp
    files removed, its posts that reached the disk recorded: O(what that run did)), opens
    the store (bootstrapping it from the posts on disk the first time) and opens the
    journal for this run. The whole archive is listed only with ``ARCHIVE_RESCAN``, and
    once for a store made before the journal existed.
    """

    def __init__(self, config: ArchiveConfig, store_opener: StoreOpener = open_sqlite_store) -> None:
        self.config = config
        self.archive_dir = config.archive_dir
        self.state_dir = config.state_dir
        self.store_opener = store_opener
        self.store: SeenStore | None = None
        self.lock: RunLock | None = None
        self.journal = Journal(config.state_dir / JOURNAL_FILE)
        #: Refusals of this run, committed with the next batch of posts (:meth:`commit`).
        self.pending_rejections: dict[str, str] = {}
        #: Called with the store after each commit (the distributed writer acknowledges there).
        self.after_commit: list[Callable[[SeenStore], None]] = []
        #: What opening found: temp files of a killed run removed, posts recorded afresh.
        self.stale_temp_files = 0
        self.reconciled = 0

    @property
    def is_open(self) -> bool:
        return self.store is not None

    @property
    def locked(self) -> bool:
        return self.lock is not None

    def lock_archive(self, name: str = LOCK_FILE) -> None:
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
        lock = RunLock(self.state_dir / name)
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
            left = self.journal.entries()
            self.stale_temp_files = self._remove_temp_files(left)
            store = self.store_opener(self.config)
            if self.config.rescan or store.get_meta(META_JOURNAL_SINCE) is None:
                self.stale_temp_files += remove_stale_temp_files(self.archive_dir)
                self.reconciled = self._record_posts(store, self._all_posts())
                store.set_meta(META_JOURNAL_SINCE, store.get_meta(META_JOURNAL_SINCE) or _now())
            else:
                self.reconciled = self._record_posts(
                    store, [entry.relative for entry in left if entry.relative.split("/")[0] in POST_DIRS]
                )
            self.journal.open()
            self.journal.clear()  # what it held is recorded now
        except BaseException:
            self.journal.close()
            lock.release()
            self.lock = None
            raise
        if self.stale_temp_files:
            logger.warning(
                "Removed %d temp files a killed run left in %s", self.stale_temp_files, self.archive_dir
            )
        if self.reconciled:
            logger.warning("Recorded %d posts found on disk but missing from the store", self.reconciled)
        self.store = store
        logger.info("Archive %s opened", self.archive_dir)
        return store

    def note_write(self, relative: str, temp_name: str) -> None:
        """The exporter's journal: *relative* is about to be written through *temp_name*."""
        self.journal.note(relative, temp_name)

    def commit(self, records: Sequence[StoredArticle]) -> None:
        """Record a batch of durable posts and this run's refusals so far, in one
        transaction; then the journal of those posts is done with."""
        store = self.open()
        with store.transaction():
            if records:
                store.add_many(records)
            if self.pending_rejections:
                store.reject_many(self.pending_rejections.items())
        self.pending_rejections.clear()
        self.journal.clear()
        self._committed(store)

    def commit_rejections(self) -> None:
        """Record this run's refusals so far (no posts: the journal stays as it is)."""
        store = self.open()
        if self.pending_rejections:
            with store.transaction():
                store.reject_many(self.pending_rejections.items())
            self.pending_rejections.clear()
        self._committed(store)

    def _committed(self, store: SeenStore) -> None:
        for callback in self.after_commit:
            callback(store)

    def is_rejected(self, code: str) -> bool:
        """Fetched and refused for good: not worth fetching again."""
        return self.rejection(code) is not None

    def rejection(self, code: str) -> str | None:
        """Why the article *code* was refused for good, or None."""
        pending = self.pending_rejections.get(code)
        return pending if pending is not None else self.open().rejection(code)

    def reject(self, code: str, reason: str) -> None:
        """Remember that the article *code* was fetched and refused for a lasting *reason*
        (only while this run holds the archive; committed with the next batch)."""
        if self.store is not None and is_code(code):
            self.pending_rejections[code] = reason

    def close(self) -> None:
        if self.store is not None:
            try:
                self.commit_rejections()
            finally:
                self.store.close()
                self.store = None
        self.journal.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _remove_temp_files(self, entries: Iterable[JournalEntry]) -> int:
        removed = 0
        for entry in entries:
            folder = os.path.dirname(entry.relative)  # noqa: PTH120 (a relative str)
            if "/" in entry.temp_name or not entry.temp_name.startswith("."):
                continue
            removed += remove_temp_file(self.archive_dir / folder / entry.temp_name)
        return removed

    def _all_posts(self) -> list[str]:
        posts: list[str] = []
        for name in POST_DIRS:
            folder = self.archive_dir / name
            if folder.is_dir():
                posts.extend(f"{name}/{path.name}" for path in folder.iterdir())
        return posts

    def _record_posts(self, store: SeenStore, relatives: Iterable[str]) -> int:
        """Record the posts among *relatives* (paths in the archive) that the store does not
        know: written by a run killed before recording them, or put there by hand."""
        added = 0
        with store.transaction():
            for relative in relatives:
                name = relative.rpartition("/")[2]
                match = _POST_NAME_RE.search(name)
                if not match or name.startswith(".") or store.has(match.group(1)):
                    continue
                if not (self.archive_dir / relative).is_file():
                    continue  # noted in the journal, never renamed into place
                post = read_post_file(self.archive_dir, relative)
                if not isinstance(post, ArchivedPost):
                    log_skip(*post)
                    continue
                if not store.has(post.code):
                    store.add(post.record())
                    added += 1
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
        self._shared: Shared | None = None
        self._redis_warned = False

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

    @property
    def shared(self) -> Shared | None:
        """The distributed mode's shared state in Redis (None without ``REDIS_URL``);
        made on first use, nothing is sent before the first command."""
        if self._shared is None and self.config.redis_url:
            from newscrawler.distributed.shared import Keys, Shared, connect

            self._shared = Shared(connect(self.config.redis_url), Keys(self.config.redis_prefix))
        return self._shared

    def open(self) -> SeenStore:
        """The store (the first call opens the archive and seeds the run's slugs from it).
        A worker of the distributed mode never opens the archive: it has no store."""
        if self.config.worker:
            raise RuntimeError("a worker of the distributed mode does not open the archive")
        store = self.archive.open()
        if not self._slugs_seeded:
            self._slugs_seeded = True
            for outlet, slug in store.slugs().items():
                self.run.slugs.setdefault(outlet, slug)
        return store

    @property
    def holds_run(self) -> bool:
        """This run has what it needs to report: the archive open, or (a worker) its lock."""
        return self.archive.locked if self.config.worker else self.archive.is_open

    @property
    def report_file(self) -> Path:
        return self.config.state_dir / (WORKER_REPORT_FILE if self.config.worker else REPORT_FILE)

    def is_archived(self, code: str) -> bool:
        """The archive has a post of the article *code* (a worker asks the shared view:
        when Redis does not answer, not archived: fetching it is the safe side)."""
        if self.config.worker:
            return self._ask_shared(lambda shared: shared.is_archived(code), False)
        return self.open().has(code)

    def is_known(self, code: str) -> bool:
        """Archived, or refused for good by an earlier run (or this one)."""
        return self.is_archived(code) or self.rejection(code) is not None

    def rejection(self, code: str) -> str | None:
        """Why the article *code* was refused for good (by an earlier run or this one), or None."""
        if self.config.worker:
            return self._ask_shared(lambda shared: shared.rejection(code), None)
        self.open()
        return self.archive.rejection(code)

    def reject(self, code: str, reason: str) -> None:
        """Remember that the article *code* was fetched and refused for a lasting *reason*:
        in the store (with the next batch), or, from a worker, by a message to the writer."""
        if not self.config.worker:
            self.archive.reject(code, reason)
            return
        if not is_code(code):
            return
        from newscrawler.distributed.messages import encode_refusal

        self._ask_shared(lambda shared: shared.hand_off(code, encode_refusal(code, reason)), None)

    def _ask_shared(self, ask: Callable[[Shared], _T], default: _T) -> _T:
        shared = self.shared
        assert shared is not None
        from newscrawler.distributed.shared import REDIS_ERRORS

        try:
            return ask(shared)
        except REDIS_ERRORS as exc:
            if not self._redis_warned:
                self._redis_warned = True
                logger.warning("Redis did not answer (%s): articles are fetched as if new", exc)
            return default

    def lose(self, code: str, url: str, reason: str) -> None:
        """Note an article this run lost, for the report."""
        self.run.lost.append({"code": code, "url": url, "reason": reason})
