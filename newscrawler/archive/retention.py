"""Retention, as the old site did it: article posts older than ``ARCHIVE_RETENTION_DAYS``
(by the date in their file name, Beijing time) move from ``_posts/`` to ``old_post/``, their
store records first, then the files (docs/internals.md "Retention: design notes"). Pure:
:class:`~newscrawler.extensions.RunReport` calls :func:`apply_retention` at the end of a run.
"""

from __future__ import annotations

import dataclasses
import filecmp
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from newscrawler.archive.fsutil import fsync_dir
from newscrawler.archive.layout import OLD_POSTS_DIR, POSTS_DIR
from newscrawler.dates import BEIJING
from newscrawler.dedup.store.base import SeenStore, StoredArticle

logger = logging.getLogger(__name__)


#: ``YYYY-MM-DD-<id>.md`` with an article code as ``<id>``: (year, month, day, code).
_ARTICLE_POST_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(?:NW)?([0-9]{18})\.md$", re.ASCII)

Clock = Callable[[], datetime]


def beijing_now() -> datetime:
    return datetime.now(BEIJING)


@dataclass
class RetentionResult:
    """What :func:`apply_retention` did; paths are relative to the archive, ``/``-separated."""

    days: int
    #: The day (Beijing time) the ages were computed against.
    today: date
    #: Where each moved post is now (``old_post/...``).
    moved: list[str] = field(default_factory=list)
    #: Posts left in ``_posts/`` because ``old_post/`` holds a different file of that name.
    conflicts: list[str] = field(default_factory=list)
    #: Posts that could not be moved: (path, reason).
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: Store records pointed at the new paths.
    records_updated: int = 0


@dataclass(frozen=True)
class _Move:
    name: str
    code: str
    #: ``old_post/`` already holds exactly these bytes: only the ``_posts/`` copy goes.
    duplicate: bool


def post_day(name: str) -> tuple[date, str] | None:
    """The date and article code in an article post's file name, or None for any other name."""
    match = _ARTICLE_POST_RE.match(name)
    if match is None:
        return None
    year, month, day, code = match.groups()
    try:
        return date(int(year), int(month), int(day)), code
    except ValueError:
        return None


def is_expired(day: date, today: date, days: int) -> bool:
    """True when a post dated *day* is more than *days* days old on *today*."""
    return (today - day).days > days


def today_in_beijing(clock: Clock = beijing_now) -> date:
    now = clock()
    if now.tzinfo is None:
        raise ValueError(f"the retention clock must give an aware datetime, got {now!r}")
    return now.astimezone(BEIJING).date()


def expired_posts(archive_dir: Path, days: int, today: date) -> list[tuple[str, str]]:
    """``(file name, article code)`` of the posts in ``_posts/`` older than *days* days, by name."""
    try:
        entries = list(os.scandir(archive_dir / POSTS_DIR))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        parsed = post_day(entry.name)
        if parsed is None or not entry.is_file(follow_symlinks=False):
            continue
        day, code = parsed
        if is_expired(day, today, days):
            found.append((entry.name, code))
    return sorted(found)


def apply_retention(
    archive_dir: Path, days: int, *, store: SeenStore | None = None, clock: Clock = beijing_now
) -> RetentionResult:
    """Move the article posts older than *days* days from ``_posts/`` to ``old_post/`` and
    point their *store* records there. ``days`` <= 0 does nothing."""
    result = RetentionResult(days=days, today=today_in_beijing(clock))
    if days <= 0:
        return result
    posts = archive_dir / POSTS_DIR
    old = archive_dir / OLD_POSTS_DIR
    moves = _plan(posts, old, expired_posts(archive_dir, days, result.today), result)
    if not moves:
        return result
    if not old.is_dir():
        old.mkdir(exist_ok=True)
        fsync_dir(archive_dir)
    previous = _point_records(store, moves, result)
    failed: list[StoredArticle] = []
    for move in moves:
        source, target = posts / move.name, old / move.name
        try:
            if move.duplicate:
                source.unlink()
            else:
                source.replace(target)
        except OSError as exc:
            result.errors.append((f"{POSTS_DIR}/{move.name}", exc.strerror or str(exc)))
            logger.error("Retention: cannot move %s to %s: %s", source, target, exc)
            if move.name in previous:
                failed.append(previous[move.name])
            continue
        result.moved.append(f"{OLD_POSTS_DIR}/{move.name}")
        logger.debug("Retention: moved %s to %s", source, target)
    fsync_dir(old)
    fsync_dir(posts)
    if failed and store is not None:
        with store.transaction():
            for record in failed:
                store.add(record)
        result.records_updated -= len(failed)
    if result.moved:
        logger.info(
            "Retention: moved %d posts older than %d days (before %s) from %s to %s",
            len(result.moved),
            days,
            result.today.isoformat(),
            posts,
            old,
        )
    return result


def _plan(posts: Path, old: Path, expired: list[tuple[str, str]], result: RetentionResult) -> list[_Move]:
    moves = []
    for name, code in expired:
        target = old / name
        if not (target.is_symlink() or target.exists()):
            moves.append(_Move(name, code, duplicate=False))
            continue
        try:
            same = (
                target.is_file()
                and not target.is_symlink()
                and filecmp.cmp(posts / name, target, shallow=False)
            )
        except OSError as exc:
            result.errors.append((f"{POSTS_DIR}/{name}", exc.strerror or str(exc)))
            logger.error("Retention: cannot compare %s with %s: %s", posts / name, target, exc)
            continue
        if same:
            moves.append(_Move(name, code, duplicate=True))
        else:
            result.conflicts.append(f"{POSTS_DIR}/{name}")
            logger.warning(
                "Retention: %s stays in %s: %s holds a different file of that name", name, posts, target
            )
    return moves


def _point_records(
    store: SeenStore | None, moves: list[_Move], result: RetentionResult
) -> dict[str, StoredArticle]:
    """Point the records of the posts about to move at ``old_post/``; return the old records."""
    previous: dict[str, StoredArticle] = {}
    if store is None:
        return previous
    with store.transaction():
        for move in moves:
            record = store.get(move.code)
            if record is None or record.path != f"{POSTS_DIR}/{move.name}":
                continue
            store.add(dataclasses.replace(record, path=f"{OLD_POSTS_DIR}/{move.name}"))
            previous[move.name] = record
    result.records_updated = len(previous)
    return previous
