"""The SQLite store in ``STATE_DIR`` (``seen.db``).

Schema versions (``PRAGMA user_version``): 1, the first; 2 adds the column
``figures`` (the figures digest, NULL for the records of version 1, whose text
the store does not have) and puts it in the band indexes, so that the
figures are compared in the index; 3 adds the table ``rejected`` (articles
fetched and refused for good, with the reason), which version 2 kept as
``meta`` keys ``rejected/<code>``. Opening an older store migrates it in one
transaction (from version 1 the band indexes are rebuilt: about 7 s for a
million records, once).

SQLite settings: WAL journal (readers never block the writer, a crash leaves
the database consistent), ``synchronous=FULL``: each commit is fsynced, so a
record that was committed survives a kill and a power loss too. Records are
committed in batches once their posts are durable (``WRITE_BATCH_SIZE``,
``WRITE_BATCH_SECONDS``); losing one would make the next run refetch the article.
The cost is one fsync per batch, and the bootstrap commits in batches too. The page cache is SQLite's
default (2 MiB): lookups use the indexes, nothing is loaded into Python, and
memory does not grow with the store.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal

from newscrawler.dedup.store.base import (
    BAND_MAX_DISTANCE,
    BANDS,
    MASK64,
    META_BOOTSTRAPPED_AT,
    SeenStore,
    StoreCorrupt,
    StoredArticle,
    StoreError,
    bands,
    best_within,
    check_query,
    to_signed64,
    to_unsigned64,
)
from newscrawler.ids import is_code

logger = logging.getLogger(__name__)

_SCHEMA_VERSION = 3

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
CREATE TABLE IF NOT EXISTS slugs (outlet TEXT PRIMARY KEY, slug TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rejected (code INTEGER PRIMARY KEY, reason TEXT NOT NULL);
"""

#: The ``meta`` key prefix under which schema 2 kept the refused articles.
_META_REJECTED_PREFIX = "rejected/"

_TEXT_HASH_INDEX = """
CREATE INDEX IF NOT EXISTS articles_text_hash ON articles(text_hash) WHERE text_hash IS NOT NULL;
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

# Version 2 -> 3: the refused articles move from meta keys to a table of their own.
_MIGRATE_2_TO_3 = f"""
CREATE TABLE IF NOT EXISTS rejected (code INTEGER PRIMARY KEY, reason TEXT NOT NULL);
INSERT OR REPLACE INTO rejected (code, reason)
    SELECT CAST(substr(key, {len(_META_REJECTED_PREFIX) + 1}) AS INTEGER), value FROM meta
    WHERE key GLOB '{_META_REJECTED_PREFIX}[0-9]*' AND length(key) = {len(_META_REJECTED_PREFIX) + 18};
DELETE FROM meta WHERE key GLOB '{_META_REJECTED_PREFIX}*'
"""

IntegrityCheck = Literal["quick", "full", "none"]


#: ``meta`` keys of the check policy of :func:`open_store`: when the pages were last found
#: sound (Unix time), and set while a process has the store open (cleared by close).
META_CHECKED_AT = "checked_at"
META_OPEN_SINCE = "open_since"


def _check_pages(conn: sqlite3.Connection, integrity: IntegrityCheck) -> None:
    pragma = "quick_check" if integrity == "quick" else "integrity_check"
    problems = [row[0] for row in conn.execute(f"PRAGMA {pragma}(5)")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("; ".join(str(p) for p in problems))


def _row(record: StoredArticle) -> tuple[object, ...]:
    if record.simhash is None:
        signed: int | None = None
        band_values: tuple[int | None, ...] = (None,) * BANDS
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
            _check_pages(conn, integrity)
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
                script = _MIGRATE_1_TO_2 + _BAND_INDEXES + ";" + _MIGRATE_2_TO_3
                logger.info("Migrating the seen-articles store %s to schema version 3 (figures)", self.path)
            elif version == 2:
                script = _MIGRATE_2_TO_3
                logger.info("Migrating the seen-articles store %s to schema version 3 (refused articles)", self.path)
            elif version == 0:
                script = _SCHEMA + _TEXT_HASH_INDEX + _BAND_INDEXES
            else:
                script = ""
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={max(version, _SCHEMA_VERSION)}")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if version in (1, 2) and isinstance(exc, sqlite3.DatabaseError):
                # Not StoreCorrupt: the older store is left as it was (rolled back); a failed
                # migration (a full disk, say) must not get it moved aside and rebuilt.
                raise StoreError(
                    f"cannot migrate store {self.path} to schema version {_SCHEMA_VERSION}: {exc}"
                ) from exc
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
        query = check_query(simhash, max_distance, figures)
        if figures is None:
            rows = self._db.execute(_NEAR, bands(query))
        else:
            wanted = to_signed64(figures & MASK64)
            rows = self._db.execute(_NEAR_FIGURES, [v for band in bands(query) for v in (band, wanted)])
        return best_within(query, ((str(code), to_unsigned64(value)) for code, value in rows), max_distance)

    def rejection(self, code: str) -> str | None:
        if not is_code(code):
            return None
        row = self._db.execute("SELECT reason FROM rejected WHERE code = ?", (int(code),)).fetchone()
        return row[0] if row else None

    def reject_many(self, rejections: Iterable[tuple[str, str]]) -> int:
        rows = [(int(code), reason) for code, reason in rejections if is_code(code)]
        with self.transaction():
            self._db.executemany(
                "INSERT INTO rejected (code, reason) VALUES (?, ?) "
                "ON CONFLICT(code) DO UPDATE SET reason = excluded.reason",
                rows,
            )
        return len(rows)

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

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Many :meth:`add_many` calls at once (a bootstrap): the lookup indexes are
        dropped, then built once at the end, instead of updated row by row (about 3x
        faster inserts), also when the block raises. A process killed in between leaves
        them missing: the next bootstrap (the store is not marked bootstrapped) builds them."""
        indexes = _TEXT_HASH_INDEX + _BAND_INDEXES
        names = re.findall(r"INDEX IF NOT EXISTS (\w+)", indexes)
        with self.transaction():
            for name in names:
                self._db.execute(f"DROP INDEX IF EXISTS {name}")
        try:
            yield
        finally:
            with self.transaction():
                for statement in filter(None, (part.strip() for part in indexes.split(";"))):
                    self._db.execute(statement)

    def iter_codes(self) -> Iterator[str]:
        for (code,) in self._db.execute("SELECT code FROM articles ORDER BY code"):
            yield f"{code:018d}"

    def iter_rejections(self) -> Iterator[tuple[str, str]]:
        for code, reason in self._db.execute("SELECT code, reason FROM rejected ORDER BY code"):
            yield f"{code:018d}", str(reason)

    def check(self, integrity: IntegrityCheck = "quick") -> None:
        """Check every page now (``quick`` or ``full``); raises :class:`StoreCorrupt`."""
        try:
            _check_pages(self._db, integrity)
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"store {self.path} is corrupt: {exc}") from exc

    def _abandon(self) -> None:
        """Close without writing anything (a store found damaged)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                if conn.execute("SELECT 1 FROM meta WHERE key = ?", (META_OPEN_SINCE,)).fetchone():
                    conn.execute("DELETE FROM meta WHERE key = ?", (META_OPEN_SINCE,))
            except sqlite3.Error as exc:
                logger.warning("Cannot mark the store %s closed: %s", self.path, exc)
            finally:
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


def _check_when_due(store: SQLiteStore, integrity: IntegrityCheck, every: float, now: float) -> None:
    """Check *store* when its last check is older than *every* seconds, or it was not closed
    (a killed run); then note the check and that the store is open."""
    checked = store.get_meta(META_CHECKED_AT)
    try:
        due = checked is None or now - float(checked) >= every or now < float(checked)
    except ValueError:
        due = True
    if due or store.get_meta(META_OPEN_SINCE) is not None:
        try:
            store.check(integrity)
        except BaseException:
            store._abandon()
            raise
        checked = f"{now:.0f}"
    with store.transaction():
        store.set_meta(META_CHECKED_AT, checked or f"{now:.0f}")
        store.set_meta(META_OPEN_SINCE, f"{now:.0f}")


def open_store(
    path: str | Path,
    rebuild: Callable[[SeenStore], object],
    *,
    integrity: IntegrityCheck = "quick",
    check_every: float | None = None,
    clock: Callable[[], float] = time.time,
) -> SQLiteStore:
    """Open the store at *path*, rebuilding it from the archive when needed.

    *integrity* checks the pages at every open; with *check_every* (seconds) only when the
    last check is older than that or the store was not closed since it was last opened
    (a killed process): a check reads the whole file (about a second for a million
    articles), too much for a run every few minutes.

    A corrupt file (and its ``-wal``/``-shm``) is moved aside to
    ``<path>.corrupt-<timestamp>`` with a warning and a fresh store is made.
    *rebuild* is called on the store whenever it has never completed a
    rebuild: a new file, a moved-aside corrupt one, or a rebuild that was
    killed half-way. Once it returns, ``meta[bootstrapped_at]`` is set.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if check_every is None:
            store = SQLiteStore(path, integrity=integrity)
        else:
            store = SQLiteStore(path, integrity="none")
            _check_when_due(store, integrity, check_every, clock())
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
