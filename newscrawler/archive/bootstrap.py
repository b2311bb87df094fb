"""The archive already on disk (SPEC §8): read its posts, fill the seen-articles store.

Posts live in ``<root>/_posts/*.md`` (written by this project or the old
scripts) and ``<root>/old_post/*.md`` (older ones). Every variant seen in the
wild is read: CRLF line ends inside the body, no final newline, a blank line
before the first ``---``, ``date:`` without ``+0800`` (Beijing time) or empty
(``date:  +0800``, file ``_posts/-2022...md``), old footers (back links on
separate lines, ``../emnews/`` or ``//finews.zning.me/...``), broken YAML
quoting in the header. A ``.md`` file that is not a post, or has no article
code, is skipped; an unreadable, binary or non-UTF-8 file is skipped with a
warning. Nothing here ever writes to a post.
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
from datetime import UTC, date, datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path

import yaml

from newscrawler.dates import BEIJING, format_post_date
from newscrawler.dedup.fingerprint import FINGERPRINT_VERSION, fingerprint, html_to_text
from newscrawler.dedup.store import META_BOOTSTRAPPED_AT, SeenStore, StoredArticle
from newscrawler.ids import extract_code, info_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET

logger = logging.getLogger(__name__)

#: Folders of the archive that hold posts, in the order they are read.
POST_DIRS = ("_posts", "old_post")
#: Folders where a killed writer may leave hidden temp files.
TEMP_DIRS = ("_posts", "old_post", "category")
#: ``meta`` key: the fingerprint algorithm version the store's hashes were made with.
META_FINGERPRINT_VERSION = "fingerprint_version"

_DELIMITER_RE = re.compile(r"^---[ \t]*$")
_SOURCE_LINE_RE = re.compile(r"^<((?:https?:)?//[^\s<>]+)>$", re.IGNORECASE)
_BACK_LINK_RE = re.compile(r"^\[返回[^\]]*\]\([^)]*\)")
_HEADER_LINE_RE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?$")
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"(?:[ \t]*(?:(Z)|([+-])(\d{2}):?(\d{2})))?$",
    re.ASCII,
)
_FILE_ID_RE = re.compile(r"(?<![0-9A-Za-z])((?:NW)?[0-9]{18})\.md$", re.IGNORECASE | re.ASCII)
_OUTLET_SUFFIX = "新闻"
#: Shingle digests kept while fingerprinting a chunk of posts (about 100 bytes each).
_CACHE_LIMIT = 300_000


@dataclass(frozen=True, slots=True)
class ParsedPost:
    """What a post file says."""

    title: str
    #: Aware datetime (Beijing time when the header gives no offset); None when missing or invalid.
    date: datetime | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    #: The part between the header and the source line (for rolling news: without the digest).
    body: str
    #: The URL of the ``<...>`` source line, "" when there is none.
    source_url: str
    #: Rolling news: the text of the ``> ...`` blockquote opening the body, else "".
    digest: str
    #: The header did not parse as YAML and was read line by line.
    header_fallback: bool = False


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


def format_date(value: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS +0800`` in Beijing time, as post headers write it; "" for None."""
    return "" if value is None else format_post_date(value)


def parse_date(value: object) -> datetime | None:
    """An aware datetime from a header ``date`` value (YAML may have made it a datetime or a date).

    Stricter and much faster than :func:`newscrawler.dates.parse_date` (a bootstrap reads
    100,000 headers): only the ``YYYY-MM-DD[ HH:MM[:SS]][ offset]`` forms posts use."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=BEIJING)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=BEIJING)
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz: timezone = UTC
    elif sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if offset >= timedelta(hours=24):
            return None
        if sign == "-":
            offset = -offset
        tz = BEIJING if offset == timedelta(hours=8) else timezone(offset)
    else:
        tz = BEIJING
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz
        )
    except ValueError:
        return None


def _as_names(value: object) -> tuple[str, ...]:
    """Jekyll categories/tags: a list, or a string of space-separated names."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(item).strip() for item in value if item is not None and str(item).strip())
    return tuple(str(value).split())


def _unquote(value: str) -> str:
    """A header value read without YAML: strip matching quotes, undo simple escapes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return re.sub(r'\\(["\\])', r"\1", inner)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def _read_header(block: str) -> tuple[dict[str, object], bool]:
    """The front matter as a dict: YAML when it parses to a mapping, else ``key: value`` lines."""
    try:
        data = yaml.load(block, Loader=yaml.CSafeLoader) if yaml.__with_libyaml__ else yaml.safe_load(block)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        # Broken quoting, or a value YAML reads as an impossible timestamp (``date: 2022-02-30 10:00:00``).
        data = None
    if isinstance(data, dict):
        return {str(key): value for key, value in data.items()}, False
    header: dict[str, object] = {}
    for line in block.split("\n"):
        match = _HEADER_LINE_RE.match(line.strip())
        if match:
            header.setdefault(match.group(1), _unquote(match.group(2) or ""))
    return header, True


def parse_post(text: str) -> ParsedPost | None:
    """The front matter and parts of a post, or None when *text* is not a post (no ``---`` header)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or not _DELIMITER_RE.match(lines[start]):
        return None
    end = start + 1
    while end < len(lines) and not _DELIMITER_RE.match(lines[end]):
        end += 1
    if end >= len(lines):
        return None
    header, fallback = _read_header("\n".join(lines[start + 1 : end]))
    if not header:
        return None
    rest = lines[end + 1 :]

    source_index = None
    for index in range(len(rest) - 1, -1, -1):
        if _SOURCE_LINE_RE.match(rest[index].strip()):
            source_index = index
            break
    if source_index is not None:
        match = _SOURCE_LINE_RE.match(rest[source_index].strip())
        source_url = match.group(1) if match else ""
        body_lines = rest[:source_index]
    else:
        source_url = ""
        body_lines = list(rest)
        while body_lines and (not body_lines[-1].strip() or _BACK_LINK_RE.match(body_lines[-1].strip())):
            body_lines.pop()

    categories = _as_names(header.get("categories", header.get("category")))
    digest = ""
    if KIND_EMNEWS in categories:
        first = 0
        while first < len(body_lines) and not body_lines[first].strip():
            first += 1
        quote: list[str] = []
        while first < len(body_lines) and body_lines[first].lstrip().startswith(">"):
            quote.append(body_lines[first].lstrip()[1:].strip())
            first += 1
        if quote:
            digest = "\n".join(quote).strip()
            body_lines = body_lines[first:]

    title = header.get("title")
    return ParsedPost(
        title=" ".join(str(title).split()) if title is not None else "",
        date=parse_date(header.get("date")),
        categories=categories,
        tags=_as_names(header.get("tags", header.get("tag"))),
        body="\n".join(body_lines).strip("\n"),
        source_url=source_url,
        digest=digest,
        header_fallback=fallback,
    )


def _outlet_of(tags: tuple[str, ...]) -> str:
    if not tags:
        return ""
    tag = tags[0]
    if tag.endswith(_OUTLET_SUFFIX) and len(tag) > len(_OUTLET_SUFFIX):
        return tag[: -len(_OUTLET_SUFFIX)]
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


def _read_one(root: Path, rel_path: str) -> _Read:
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


def _log_skip(kind: str, message: str) -> None:
    if kind == "unreadable":
        logger.warning("Skipping archive file: %s", message)
    else:
        logger.info("Skipping archive file: %s", message)


def scan_archive(root: str | Path) -> Iterator[ArchivedPost]:
    """The article posts of the archive at *root*: ``_posts/*.md`` then ``old_post/*.md``, by name."""
    base = Path(root)
    for rel_path in _post_files(base):
        result = _read_one(base, rel_path)
        if isinstance(result, ArchivedPost):
            yield result
        else:
            _log_skip(*result)


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
        result = _read_one(base, rel_path)
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
    seen: dict[str, str] = {}
    slug_counts: dict[str, Counter[str]] = {}
    batch: list[StoredArticle] = []
    worker_count = default_workers() if workers is None else workers
    for result in _fingerprinted(base, files, worker_count, max(1, chunk_size)):
        first, second = result
        if not isinstance(first, StoredArticle):
            kind, message = first, str(second)
            _log_skip(kind, message)
            if kind == "unreadable":
                stats.unreadable += 1
            else:
                stats.not_posts += 1
            continue
        record, outlet = first, str(second)
        # Every outlet post teaches its slug, a duplicate file too.
        if outlet and record.kind == KIND_OUTLET and record.slug:
            slug_counts.setdefault(outlet, Counter())[record.slug] += 1
        if record.code in seen:
            stats.duplicate_codes.setdefault(record.code, []).append(record.path)
            logger.info(
                "Archive holds article %s twice: keeping %s, ignoring %s",
                record.code,
                seen[record.code],
                record.path,
            )
            continue
        seen[record.code] = record.path
        batch.append(record)
        if len(batch) >= batch_size:
            stats.posts += store.add_many(batch)
            batch = []
    with store.transaction():
        if batch:
            stats.posts += store.add_many(batch)
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
                Path(entry.path).unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.warning("Cannot remove stale temp file %s: %s", entry.path, exc)
                continue
            logger.debug("Removed stale temp file %s", entry.path)
            removed += 1
    if removed:
        logger.info("Removed %d stale temp file(s) left by an interrupted run in %s", removed, base)
    return removed
