"""The seen-articles store (SPEC §8): what the archive already holds.

One record per article code (:class:`StoredArticle`): where its post is, its
kind and category slug, and the fingerprints of its text for content
duplicates (:mod:`newscrawler.dedup.fingerprint`). Also the outlet -> slug map
learned from the archive, and a few key/values (``meta``).

Two implementations of :class:`SeenStore`: :class:`SQLiteStore` (the real one,
in ``STATE_DIR``) and :class:`MemoryStore` (tests, dry runs).

Records are added only after their post is durably written: a record says
"this post exists". Near-duplicate lookups use the banding trick: the 64-bit
SimHash is cut into four 16-bit bands, each indexed; two hashes within
Hamming distance 3 agree on at least one band exactly (pigeonhole), so the
candidates are the rows sharing a band, checked in Python. Dedup passes the
item's figures digest (:func:`~newscrawler.dedup.fingerprint.figures_digest`): only
records with the same figures are candidates, and a record without a digest
(written before schema version 2) is never one: it still matches exactly.

Schema versions (``PRAGMA user_version``): 1, the first; 2 adds the column
``figures`` (the figures digest, NULL for the records of version 1, whose text
the store does not have) and puts it in the band indexes, so that the
figures are compared in the index. Opening a version-1 store migrates it in
one transaction (the band indexes are rebuilt: about 7 s for a million
records, once).

SQLite settings: WAL journal (readers never block the writer, a crash leaves
the database consistent), ``synchronous=FULL``: each commit is fsynced, so a
record that was committed survives a kill and a power loss too. A record is
committed right after its post is written; losing one would make the next run
refetch the article and, for a near duplicate written meanwhile under another
code, write the story twice. The cost is one fsync per commit: a handful per
run, and the bootstrap commits in batches. The page cache is SQLite's
default (2 MiB): lookups use the indexes, nothing is loaded into Python, and
memory does not grow with the store.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

from newscrawler.ids import is_code

if TYPE_CHECKING:
    from newscrawler.dedup.fingerprint import Fingerprint

logger = logging.getLogger(__name__)

#: Hamming distance up to which :meth:`SeenStore.find_near` is complete (4 bands of 16 bits).
BAND_MAX_DISTANCE = 3
_BANDS = 4
_BAND_BITS = 16
_BAND_MASK = (1 << _BAND_BITS) - 1
_U64 = 1 << 64
_MASK64 = _U64 - 1
_SCHEMA_VERSION = 2
#: ``meta`` key set when a bootstrap from the archive completed.
META_BOOTSTRAPPED_AT = "bootstrapped_at"


class StoreError(Exception):
    """The store cannot be used."""


class StoreCorrupt(StoreError):
    """The database file is damaged or is not a database."""


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """One archived article."""

    #: The 18-digit article code.
    code: str
    #: The post's path relative to the archive root, ``/``-separated (``_posts/2022-03-28-NW....md``).
    path: str
    #: ``outlet`` or ``emnews``.
    kind: str
    #: The post's category slug.
    slug: str
    #: SHA-256 hex of the normalized text (:func:`~newscrawler.dedup.fingerprint.text_hash`), "" for no text.
    text_hash: str = ""
    #: 64-bit SimHash (unsigned), or None when the text is too short for near matching.
    simhash: int | None = None
    #: The post's date as written in its header (``2022-03-28 17:04:37 +0800``), "" when unknown.
    date: str = ""
    #: 64-bit figures digest (unsigned, :func:`~newscrawler.dedup.fingerprint.figures_digest`), or None
    #: when unknown (no text, too short for near matching, or recorded before schema version 2):
    #: then never near-matched.
    figures: int | None = None

    @classmethod
    def of(
        cls, *, code: str, path: str, kind: str, slug: str, fingerprint: Fingerprint, date: str
    ) -> StoredArticle:
        """The record of a post whose text has *fingerprint*."""
        return cls(
            code, path, kind, slug, fingerprint.text_hash, fingerprint.simhash, date, fingerprint.figures
        )

    def __post_init__(self) -> None:
        if not is_code(self.code):
            raise ValueError(f"not an article code: {self.code!r}")
        if self.text_hash and (len(self.text_hash) != 64 or not _is_hex(self.text_hash)):
            raise ValueError(f"not a SHA-256 hex digest: {self.text_hash!r}")
        if self.simhash is not None and not 0 <= self.simhash < _U64:
            raise ValueError(f"simhash out of the unsigned 64-bit range: {self.simhash}")
        if self.figures is not None and not 0 <= self.figures < _U64:
            raise ValueError(f"figures digest out of the unsigned 64-bit range: {self.figures}")


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


class SeenStore(Protocol):
    """What the pipelines need to know about the archive."""

    def has(self, code: str) -> bool: ...

    def get(self, code: str) -> StoredArticle | None: ...

    def add(self, record: StoredArticle) -> None: ...

    def add_many(self, records: Iterable[StoredArticle]) -> int: ...

    def find_exact(self, text_hash: str) -> str | None: ...

    def find_near(
        self, simhash: int, max_distance: int = BAND_MAX_DISTANCE, *, figures: int | None = None
    ) -> str | None: ...

    def slug_for(self, outlet: str) -> str | None: ...

    def set_slug(self, outlet: str, slug: str) -> None: ...

    def slugs(self) -> dict[str, str]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def count(self) -> int: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...

    def __enter__(self) -> SeenStore: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def bands(simhash: int) -> tuple[int, int, int, int]:
    """The four 16-bit bands of an unsigned 64-bit SimHash, lowest bits first."""
    return (
        simhash & _BAND_MASK,
        (simhash >> 16) & _BAND_MASK,
        (simhash >> 32) & _BAND_MASK,
        (simhash >> 48) & _BAND_MASK,
    )


def to_signed64(value: int) -> int:
    """An unsigned 64-bit value as the signed integer SQLite stores."""
    return value - _U64 if value >= 1 << 63 else value


def to_unsigned64(value: int) -> int:
    """A signed 64-bit integer from SQLite as the unsigned value."""
    return value & _MASK64


def _check_query(simhash: int, max_distance: int, figures: int | None) -> int:
    if not 0 <= max_distance <= BAND_MAX_DISTANCE:
        raise ValueError(
            f"max_distance must be 0..{BAND_MAX_DISTANCE} (4 x 16-bit bands), got {max_distance}"
        )
    if not -(1 << 63) <= simhash < _U64:
        raise ValueError(f"not a 64-bit simhash: {simhash}")
    if figures is not None and not -(1 << 63) <= figures < _U64:
        raise ValueError(f"not a 64-bit figures digest: {figures}")
    return simhash & _MASK64


def _best(query: int, candidates: Iterable[tuple[str, int]], max_distance: int) -> str | None:
    """The candidate code closest to *query* within *max_distance* (ties: the lowest code)."""
    best: tuple[int, str] | None = None
    for code, value in candidates:
        distance = ((query ^ value) & _MASK64).bit_count()
        if distance <= max_distance and (best is None or (distance, code) < best):
            best = (distance, code)
    return best[1] if best else None


def find_duplicate(
    store: SeenStore, text_hash: str, simhash: int | None, figures: int | None = None
) -> str | None:
    """The code of an archived article with the same text (exact hash) or a near one: SimHash
    within ``BAND_MAX_DISTANCE`` bits and the same *figures* digest
    (:func:`~newscrawler.dedup.fingerprint.is_same_story` decides the same way).

    Pass ``simhash=None`` for texts too short for near matching
    (:data:`~newscrawler.dedup.fingerprint.NEAR_MIN_CHARS`); without *figures*
    (unknown) there is no near match either; an empty *text_hash* (no text)
    matches nothing.
    """
    if text_hash:
        code = store.find_exact(text_hash)
        if code is not None:
            return code
    if simhash is not None and figures is not None:
        return store.find_near(simhash, BAND_MAX_DISTANCE, figures=figures)
    return None


# --------------------------------------------------------------------------- memory


class MemoryStore:
    """A :class:`SeenStore` in dictionaries (tests, dry runs); lost on close."""

    def __init__(self) -> None:
        self._articles: dict[str, StoredArticle] = {}
        self._exact: dict[str, set[str]] = {}
        self._bands: tuple[dict[int, set[str]], ...] = tuple({} for _ in range(_BANDS))
        self._slugs: dict[str, str] = {}
        self._meta: dict[str, str] = {}
        self._closed = False

    def _live(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    def has(self, code: str) -> bool:
        self._live()
        return code in self._articles

    def get(self, code: str) -> StoredArticle | None:
        self._live()
        return self._articles.get(code)

    def _unindex(self, record: StoredArticle) -> None:
        if record.text_hash:
            codes = self._exact.get(record.text_hash)
            if codes is not None:
                codes.discard(record.code)
                if not codes:
                    del self._exact[record.text_hash]
        if record.simhash is not None:
            for index, band in zip(self._bands, bands(record.simhash), strict=True):
                codes = index.get(band)
                if codes is not None:
                    codes.discard(record.code)
                    if not codes:
                        del index[band]

    def add(self, record: StoredArticle) -> None:
        self._live()
        old = self._articles.get(record.code)
        if old is not None:
            self._unindex(old)
        self._articles[record.code] = record
        if record.text_hash:
            self._exact.setdefault(record.text_hash, set()).add(record.code)
        if record.simhash is not None:
            for index, band in zip(self._bands, bands(record.simhash), strict=True):
                index.setdefault(band, set()).add(record.code)

    def add_many(self, records: Iterable[StoredArticle]) -> int:
        count = 0
        for record in records:
            self.add(record)
            count += 1
        return count

    def find_exact(self, text_hash: str) -> str | None:
        self._live()
        codes = self._exact.get(text_hash) if text_hash else None
        return min(codes) if codes else None

    def find_near(
        self, simhash: int, max_distance: int = BAND_MAX_DISTANCE, *, figures: int | None = None
    ) -> str | None:
        """The closest record within *max_distance* bits of *simhash* (ties: the lowest
        code); with *figures*, among the records with that figures digest only (records
        without one never qualify). Without *figures*, a SimHash-only lookup: dedup always
        passes them (:func:`find_duplicate`)."""
        self._live()
        query = _check_query(simhash, max_distance, figures)
        wanted = None if figures is None else figures & _MASK64
        codes: set[str] = set()
        for index, band in zip(self._bands, bands(query), strict=True):
            codes |= index.get(band, set())
        candidates = []
        for code in codes:
            record = self._articles[code]
            if record.simhash is not None and (wanted is None or record.figures == wanted):
                candidates.append((code, record.simhash))
        return _best(query, candidates, max_distance)

    def slug_for(self, outlet: str) -> str | None:
        self._live()
        return self._slugs.get(outlet)

    def set_slug(self, outlet: str, slug: str) -> None:
        self._live()
        if not outlet or not slug:
            raise ValueError(f"empty outlet or slug: {outlet!r} -> {slug!r}")
        self._slugs[outlet] = slug

    def slugs(self) -> dict[str, str]:
        self._live()
        return dict(self._slugs)

    def get_meta(self, key: str) -> str | None:
        self._live()
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._live()
        self._meta[key] = value

    def count(self) -> int:
        self._live()
        return len(self._articles)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes (no-op in memory: there is nothing to commit)."""
        self._live()
        yield

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- SQLite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    code INTEGER PRIMARY KEY,      -- the 18-digit article code (fits a signed 64-bit integer)
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    slug TEXT NOT NULL,
    text_hash BLOB,                -- 32-byte SHA-256, NULL without text
    simhash INTEGER,               -- signed 64-bit, NULL when not near-eligible
    b0 INTEGER, b1 INTEGER, b2 INTEGER, b3 INTEGER,  -- its 16-bit bands
    date TEXT NOT NULL,
    figures INTEGER                -- signed 64-bit figures digest, NULL when unknown (schema 2)
);
CREATE INDEX IF NOT EXISTS articles_text_hash ON articles(text_hash) WHERE text_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS slugs (outlet TEXT PRIMARY KEY, slug TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

# The band indexes of schema 2: (band, figures, simhash), covering both lookups (code is the rowid).
_BAND_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_b0 ON articles(b0, figures, simhash) WHERE b0 IS NOT NULL;
CREATE INDEX IF NOT EXISTS articles_b1 ON articles(b1, figures, simhash) WHERE b1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS articles_b2 ON articles(b2, figures, simhash) WHERE b2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS articles_b3 ON articles(b3, figures, simhash) WHERE b3 IS NOT NULL;
"""

# Version 1 -> 2: the figures column (NULL: unknown) and the band indexes with it.
_MIGRATE_1_TO_2 = """
ALTER TABLE articles ADD COLUMN figures INTEGER;
DROP INDEX IF EXISTS articles_b0;
DROP INDEX IF EXISTS articles_b1;
DROP INDEX IF EXISTS articles_b2;
DROP INDEX IF EXISTS articles_b3;
"""

_UPSERT = """
INSERT INTO articles (code, path, kind, slug, text_hash, simhash, b0, b1, b2, b3, date, figures)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(code) DO UPDATE SET
    path = excluded.path, kind = excluded.kind, slug = excluded.slug,
    text_hash = excluded.text_hash, simhash = excluded.simhash,
    b0 = excluded.b0, b1 = excluded.b1, b2 = excluded.b2, b3 = excluded.b3, date = excluded.date,
    figures = excluded.figures
"""

# Each band index covers (band, figures, simhash, code): candidates come from the indexes alone,
# and with the figures only those with the item's digest (NULL, unknown, equals nothing).
# A row found through two bands comes twice: harmless to the distance check.
_NEAR = """
SELECT code, simhash FROM articles WHERE b0 = ?
UNION ALL SELECT code, simhash FROM articles WHERE b1 = ?
UNION ALL SELECT code, simhash FROM articles WHERE b2 = ?
UNION ALL SELECT code, simhash FROM articles WHERE b3 = ?
"""
_NEAR_FIGURES = """
SELECT code, simhash FROM articles WHERE b0 = ? AND figures = ?
UNION ALL SELECT code, simhash FROM articles WHERE b1 = ? AND figures = ?
UNION ALL SELECT code, simhash FROM articles WHERE b2 = ? AND figures = ?
UNION ALL SELECT code, simhash FROM articles WHERE b3 = ? AND figures = ?
"""

IntegrityCheck = Literal["quick", "full", "none"]


def _row(record: StoredArticle) -> tuple[object, ...]:
    if record.simhash is None:
        signed: int | None = None
        band_values: tuple[int | None, ...] = (None,) * _BANDS
    else:
        signed = to_signed64(record.simhash)
        band_values = bands(record.simhash)
    return (
        int(record.code),
        record.path,
        record.kind,
        record.slug,
        bytes.fromhex(record.text_hash) if record.text_hash else None,
        signed,
        *band_values,
        record.date,
        None if record.figures is None else to_signed64(record.figures),
    )


class SQLiteStore:
    """A :class:`SeenStore` in an SQLite database file (WAL, ``synchronous=FULL``).

    Opening checks the file (``integrity``: ``quick`` runs ``PRAGMA
    quick_check``, ``full`` ``PRAGMA integrity_check``, ``none`` only reads
    the schema) and raises :class:`StoreCorrupt` when it is damaged or not a
    database. The connection belongs to the thread that opened the store.
    """

    def __init__(self, path: str | Path, *, integrity: IntegrityCheck = "quick") -> None:
        self.path = Path(path)
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        try:
            self._setup(conn, integrity)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StoreError(f"store {self.path} is locked: {exc}") from exc
            raise StoreCorrupt(f"store {self.path} is corrupt: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _setup(self, conn: sqlite3.Connection, integrity: IntegrityCheck) -> None:
        # The first statement reads page 1: a file that is not a database fails here.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise StoreError(f"store {self.path} has schema version {version}, newer than this program's")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"store {self.path}: cannot use WAL journal (got {mode})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=OFF")
        if integrity != "none":
            pragma = "quick_check" if integrity == "quick" else "integrity_check"
            problems = [row[0] for row in conn.execute(f"PRAGMA {pragma}(5)")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(str(p) for p in problems))
        if version < _SCHEMA_VERSION:
            self._create_or_migrate(conn)
        else:
            conn.execute("SELECT count(*) FROM meta").fetchone()

    def _create_or_migrate(self, conn: sqlite3.Connection) -> None:
        """Create the schema, or bring an older one up to date: one transaction (executescript
        would commit on its own), so a killed migration leaves the old version intact."""
        conn.execute("BEGIN IMMEDIATE")
        version = 0
        try:
            # Read again under the write lock: another connection may have done it meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 1:
                script = _MIGRATE_1_TO_2 + _BAND_INDEXES
                logger.info("Migrating the seen-articles store %s to schema version 2 (figures)", self.path)
            elif version == 0:
                script = _SCHEMA + _BAND_INDEXES
            else:
                script = ""
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={max(version, _SCHEMA_VERSION)}")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if version == 1 and isinstance(exc, sqlite3.DatabaseError):
                # Not StoreCorrupt: the version-1 store is left as it was (rolled back); a failed
                # migration (a full disk, say) must not get it moved aside and rebuilt.
                raise StoreError(f"cannot migrate store {self.path} to schema version 2: {exc}") from exc
            raise
        conn.execute("COMMIT")

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("store is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction for the writes inside (nested: joins the outer one)."""
        db = self._db
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            db.execute("ROLLBACK")
            raise
        self._depth = 0
        db.execute("COMMIT")

    def has(self, code: str) -> bool:
        if not is_code(code):
            return False
        return self._db.execute("SELECT 1 FROM articles WHERE code = ?", (int(code),)).fetchone() is not None

    def get(self, code: str) -> StoredArticle | None:
        if not is_code(code):
            return None
        row = self._db.execute(
            "SELECT code, path, kind, slug, text_hash, simhash, date, figures FROM articles WHERE code = ?",
            (int(code),),
        ).fetchone()
        if row is None:
            return None
        return StoredArticle(
            code=str(row[0]),
            path=row[1],
            kind=row[2],
            slug=row[3],
            text_hash=row[4].hex() if row[4] is not None else "",
            simhash=to_unsigned64(row[5]) if row[5] is not None else None,
            date=row[6],
            figures=to_unsigned64(row[7]) if row[7] is not None else None,
        )

    def add(self, record: StoredArticle) -> None:
        with self.transaction():
            self._db.execute(_UPSERT, _row(record))

    def add_many(self, records: Iterable[StoredArticle]) -> int:
        rows = [_row(record) for record in records]
        with self.transaction():
            self._db.executemany(_UPSERT, rows)
        return len(rows)

    def find_exact(self, text_hash: str) -> str | None:
        if not text_hash:
            return None
        try:
            key = bytes.fromhex(text_hash)
        except ValueError:
            return None
        row = self._db.execute("SELECT min(code) FROM articles WHERE text_hash = ?", (key,)).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def find_near(
        self, simhash: int, max_distance: int = BAND_MAX_DISTANCE, *, figures: int | None = None
    ) -> str | None:
        """See :meth:`MemoryStore.find_near`."""
        query = _check_query(simhash, max_distance, figures)
        if figures is None:
            rows = self._db.execute(_NEAR, bands(query))
        else:
            wanted = to_signed64(figures & _MASK64)
            rows = self._db.execute(_NEAR_FIGURES, [v for band in bands(query) for v in (band, wanted)])
        return _best(query, ((str(code), to_unsigned64(value)) for code, value in rows), max_distance)

    def slug_for(self, outlet: str) -> str | None:
        row = self._db.execute("SELECT slug FROM slugs WHERE outlet = ?", (outlet,)).fetchone()
        return row[0] if row else None

    def set_slug(self, outlet: str, slug: str) -> None:
        if not outlet or not slug:
            raise ValueError(f"empty outlet or slug: {outlet!r} -> {slug!r}")
        with self.transaction():
            self._db.execute(
                "INSERT INTO slugs (outlet, slug) VALUES (?, ?) "
                "ON CONFLICT(outlet) DO UPDATE SET slug = excluded.slug",
                (outlet, slug),
            )

    def slugs(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT outlet, slug FROM slugs ORDER BY outlet"))

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    suffix = 1
    while target.exists():
        suffix += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{suffix}")
    path.replace(target)
    # The WAL and shared-memory files belong to the damaged database: a fresh
    # database must not replay them.
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        if side.exists():
            side.replace(target.with_name(target.name + extra))
    return target


def open_store(
    path: str | Path,
    rebuild: Callable[[SeenStore], object],
    *,
    integrity: IntegrityCheck = "quick",
) -> SQLiteStore:
    """Open the store at *path*, rebuilding it from the archive when needed.

    A corrupt file (and its ``-wal``/``-shm``) is moved aside to
    ``<path>.corrupt-<timestamp>`` with a warning and a fresh store is made.
    *rebuild* is called on the store whenever it has never completed a
    rebuild: a new file, a moved-aside corrupt one, or a rebuild that was
    killed half-way. Once it returns, ``meta[bootstrapped_at]`` is set.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        store = SQLiteStore(path, integrity=integrity)
    except StoreCorrupt as exc:
        aside = _move_aside(path)
        logger.warning("Seen-articles store %s is corrupt (%s): moved it to %s, rebuilding", path, exc, aside)
        store = SQLiteStore(path, integrity="none")
    if store.get_meta(META_BOOTSTRAPPED_AT) is None:
        try:
            rebuild(store)
            if store.get_meta(META_BOOTSTRAPPED_AT) is None:
                store.set_meta(META_BOOTSTRAPPED_AT, time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        except BaseException:
            store.close()
            raise
    return store
