"""The archive already on disk: read its posts (``_posts/`` and ``old_post/``, every variant
the old scripts wrote) and fill the seen-articles store; nothing here writes to a post
(docs/internals.md "Reading the archive on disk").
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path

from newscrawler.archive.layout import POST_DIRS, TEMP_DIRS
from newscrawler.archive.post import OUTLET_TAG_SUFFIX, format_date, parse_post
from newscrawler.dedup.fingerprint import FINGERPRINT_VERSION, fingerprint, html_to_text
from newscrawler.dedup.store.base import META_BOOTSTRAPPED_AT, SeenStore, StoredArticle
from newscrawler.ids import extract_code, info_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET

logger = logging.getLogger(__name__)

#: ``meta`` key: the fingerprint algorithm version the store's hashes were made with.
META_FINGERPRINT_VERSION = "fingerprint_version"

_FILE_ID_RE = re.compile(r"(?<![0-9A-Za-z])((?:NW)?[0-9]{18})\.md$", re.IGNORECASE | re.ASCII)
#: Shingle digests kept while fingerprinting a chunk of posts (about 100 bytes each).
_CACHE_LIMIT = 300_000


@dataclass(frozen=True, slots=True)
class ArchivedPost:
    """One article post of the archive."""

    #: The 18-digit article code.
    code: str
    #: ``NW...`` (outlet posts) or the 18-digit code (rolling news), as in the file name.
    post_id: str
    #: Path relative to the archive root, ``/``-separated.
    path: str
    #: ``outlet`` or ``emnews``.
    kind: str
    #: The category slug (``emnews`` for rolling news).
    slug: str
    #: The outlet (the tag without its trailing 新闻); "" for rolling news.
    outlet: str
    title: str
    date: datetime | None
    #: Plain text of the body (tags stripped, entities replaced): what fingerprints are taken of.
    text: str
    source_url: str = ""

    def record(self, cache: MutableMapping[str, bytes] | None = None) -> StoredArticle:
        """The store record of this post, fingerprinting its text (*cache*: see :func:`~newscrawler.dedup.fingerprint.simhash`)."""
        return StoredArticle.of(
            code=self.code,
            path=self.path,
            kind=self.kind,
            slug=self.slug,
            fingerprint=fingerprint(self.text, cache),
            date=format_date(self.date),
        )


@dataclass
class BootstrapStats:
    """What :func:`bootstrap` found."""

    #: ``.md`` files looked at.
    files: int = 0
    #: Articles recorded in the store.
    posts: int = 0
    #: Posts skipped because an earlier file has the same article code (``code: [paths]``).
    duplicate_codes: dict[str, list[str]] = field(default_factory=dict)
    #: ``.md`` files that are not article posts (no front matter, no article code).
    not_posts: int = 0
    #: Files that could not be read (I/O error, binary, not UTF-8).
    unreadable: int = 0
    #: Outlet -> slug pairs recorded.
    slugs: int = 0
    #: Outlets whose posts use more than one slug (``outlet: {slug: posts}``); the most used one wins.
    slug_conflicts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        return sum(len(paths) for paths in self.duplicate_codes.values())


# --------------------------------------------------------------------------- parsing


def _outlet_of(tags: tuple[str, ...]) -> str:
    if not tags:
        return ""
    tag = tags[0]
    if tag.endswith(OUTLET_TAG_SUFFIX) and len(tag) > len(OUTLET_TAG_SUFFIX):
        return tag[: -len(OUTLET_TAG_SUFFIX)]
    return tag


def archived_post(rel_path: str, text: str) -> ArchivedPost | None:
    """The :class:`ArchivedPost` of the file *rel_path* holding *text*; None when it is no article post."""
    parsed = parse_post(text)
    if parsed is None:
        return None
    name = rel_path.rsplit("/", 1)[-1]
    code = None
    post_id = ""
    match = _FILE_ID_RE.search(name)
    if match:
        post_id = match.group(1).upper()
        code = extract_code(post_id)
        if code is None:
            post_id = ""
    if code is None and parsed.source_url:
        code = extract_code(parsed.source_url)
    if code is None:
        return None
    kind = KIND_EMNEWS if KIND_EMNEWS in parsed.categories else KIND_OUTLET
    if not post_id:
        post_id = code if kind == KIND_EMNEWS else info_code(code)
    slug = KIND_EMNEWS if kind == KIND_EMNEWS else (parsed.categories[0] if parsed.categories else "")
    return ArchivedPost(
        code=code,
        post_id=post_id,
        path=rel_path,
        kind=kind,
        slug=slug,
        outlet="" if kind == KIND_EMNEWS else _outlet_of(parsed.tags),
        title=parsed.title,
        date=parsed.date,
        text=html_to_text(parsed.body),
        source_url=parsed.source_url,
    )


# --------------------------------------------------------------------------- scanning

#: Outcome of reading one file: the post, or why it was skipped (kind, message).
_Read = ArchivedPost | tuple[str, str]


def _list_folder(directory: Path) -> list[os.DirEntry[str]]:
    """The entries of an archive folder; none when it is missing or cannot be listed (warned)."""
    try:
        return list(os.scandir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        logger.warning("Cannot list archive folder %s: %s", directory, exc)
        return []


def _post_files(root: Path) -> list[str]:
    """Relative paths of the candidate post files, ``_posts/`` first, each folder sorted by name."""
    found: list[str] = []
    for folder in POST_DIRS:
        names = []
        for entry in _list_folder(root / folder):
            if entry.name.startswith(".") or not entry.name.endswith(".md"):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    names.append(entry.name)
            except OSError:
                continue
        found.extend(f"{folder}/{name}" for name in sorted(names))
    return found


def read_post_file(root: Path, rel_path: str) -> _Read:
    """The post of the file *rel_path* below *root*, or why it is none (kind, message)."""
    try:
        data = (root / rel_path).read_bytes()
    except OSError as exc:
        return ("unreadable", f"cannot read {rel_path}: {exc.strerror or exc}")
    if b"\x00" in data:
        return ("unreadable", f"{rel_path} is binary (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ("unreadable", f"{rel_path} is not UTF-8 ({exc.reason} at byte {exc.start})")
    try:
        post = archived_post(rel_path, text)
    except (ValueError, RecursionError) as exc:
        return ("not_post", f"{rel_path} cannot be parsed: {exc}")
    if post is None:
        return ("not_post", f"{rel_path} is not an article post (no front matter or no article code)")
    return post


def log_skip(kind: str, message: str) -> None:
    if kind == "unreadable":
        logger.warning("Skipping archive file: %s", message)
    else:
        logger.info("Skipping archive file: %s", message)


def scan_archive(root: str | Path) -> Iterator[ArchivedPost]:
    """The article posts of the archive at *root*: ``_posts/*.md`` then ``old_post/*.md``, by name."""
    base = Path(root)
    for rel_path in _post_files(base):
        result = read_post_file(base, rel_path)
        if isinstance(result, ArchivedPost):
            yield result
        else:
            log_skip(*result)


# --------------------------------------------------------------------------- bootstrap

#: One post as the bootstrap needs it: (the record, outlet); or a skip (kind, message).
_Fingerprinted = tuple[StoredArticle, str] | tuple[str, str]


def _fingerprint_chunk(root: str, rel_paths: list[str]) -> list[_Fingerprinted]:
    """Read and fingerprint some posts (runs in a worker process)."""
    base = Path(root)
    out: list[_Fingerprinted] = []
    # Most shingles recur from post to post: hash each once per chunk.
    cache: dict[str, bytes] = {}
    for rel_path in rel_paths:
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        result = read_post_file(base, rel_path)
        if isinstance(result, ArchivedPost):
            out.append((result.record(cache), result.outlet))
        else:
            out.append(result)
    return out


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fingerprinted(root: Path, files: list[str], workers: int, chunk: int) -> Iterator[_Fingerprinted]:
    if workers <= 1 or len(files) < 2 * chunk:
        for part in _chunks(files, chunk):
            yield from _fingerprint_chunk(str(root), part)
        return
    # "spawn": a fresh interpreter per worker, nothing inherited from a running crawler (threads,
    # reactor, open sockets). Results come back in file order, so the outcome does not depend on it.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        parts = list(_chunks(files, chunk))
        for result in pool.map(_fingerprint_chunk, [str(root)] * len(parts), parts):
            yield from result


def default_workers() -> int:
    """Worker processes for :func:`bootstrap`: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def bootstrap(
    store: SeenStore,
    root: str | Path,
    *,
    workers: int | None = None,
    batch_size: int = 5000,
    chunk_size: int = 2000,
) -> BootstrapStats:
    """Fill *store* from the archive at *root*: article codes, fingerprints, outlet -> slug map.

    Posts are read in :func:`scan_archive` order; when two files hold the same
    article code the first one is recorded and the others are counted in
    ``duplicate_codes``. Records are written in transactions of *batch_size*.
    Reading and fingerprinting run in *workers* processes (default: the
    CPUs, at most 4) on chunks of *chunk_size* files, in this process when
    there are fewer than two chunks. The outcome does not depend on
    *workers*. Sets ``meta[bootstrapped_at]`` and
    ``meta[fingerprint_version]`` at the end.
    """
    started = time.monotonic()
    base = Path(root)
    stats = BootstrapStats()
    files = _post_files(base)
    stats.files = len(files)
    # Codes recorded so far are looked up in the store, those of the batch in hand here:
    # memory stays bounded by the batch, whatever the size of the archive.
    batch: dict[str, StoredArticle] = {}
    slug_counts: dict[str, Counter[str]] = {}
    worker_count = default_workers() if workers is None else workers
    with store.bulk_load():
        for result in _fingerprinted(base, files, worker_count, max(1, chunk_size)):
            first, second = result
            if not isinstance(first, StoredArticle):
                kind, message = first, str(second)
                log_skip(kind, message)
                if kind == "unreadable":
                    stats.unreadable += 1
                else:
                    stats.not_posts += 1
                continue
            record, outlet = first, str(second)
            # Every outlet post teaches its slug, a duplicate file too.
            if outlet and record.kind == KIND_OUTLET and record.slug:
                slug_counts.setdefault(outlet, Counter())[record.slug] += 1
            kept = batch.get(record.code) or (store.get(record.code) if store.has(record.code) else None)
            # (The same file recorded already: by a bootstrap that was killed half-way.)
            if kept is not None and kept.path != record.path:
                stats.duplicate_codes.setdefault(record.code, []).append(record.path)
                logger.info(
                    "Archive holds article %s twice: keeping %s, ignoring %s", record.code, kept.path, record.path
                )
                continue
            batch[record.code] = record
            if len(batch) >= batch_size:
                stats.posts += store.add_many(batch.values())
                batch = {}
        if batch:
            stats.posts += store.add_many(batch.values())
            batch = {}
    with store.transaction():
        for outlet, counts in sorted(slug_counts.items()):
            # most_common keeps first-seen order among equal counts.
            slug = counts.most_common(1)[0][0]
            if len(counts) > 1:
                stats.slug_conflicts[outlet] = dict(counts)
                logger.warning(
                    "Outlet %s uses several slugs in the archive %s: keeping %s", outlet, dict(counts), slug
                )
            store.set_slug(outlet, slug)
            stats.slugs += 1
        store.set_meta(META_FINGERPRINT_VERSION, str(FINGERPRINT_VERSION))
        store.set_meta(META_BOOTSTRAPPED_AT, time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    stats.seconds = time.monotonic() - started
    logger.info(
        "Bootstrapped the seen-articles store from %s: %d posts, %d duplicate files, %d not posts, "
        "%d unreadable, %d outlets, in %.1f s",
        base,
        stats.posts,
        stats.duplicates,
        stats.not_posts,
        stats.unreadable,
        stats.slugs,
        stats.seconds,
    )
    return stats


def remove_temp_file(path: Path) -> bool:
    """Delete the temp file *path*; False when it was not there or cannot be removed (warned)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        logger.warning("Cannot remove temp file %s: %s", path, exc)
        return False
    return True


def remove_stale_temp_files(root: str | Path) -> int:
    """Delete the hidden temp files (``.<name>.tmp``) a killed writer left; return how many."""
    base = Path(root)
    removed = 0
    for folder in TEMP_DIRS:
        for entry in _list_folder(base / folder):
            name = entry.name
            if not (name.startswith(".") and name.endswith(".tmp") and len(name) > len("..tmp")):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            if remove_temp_file(Path(entry.path)):
                logger.debug("Removed stale temp file %s", entry.path)
                removed += 1
    if removed:
        logger.info("Removed %d stale temp file(s) left by an interrupted run in %s", removed, base)
    return removed
