"""The seen-articles store: both implementations, SQLite durability and corruption handling."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newscrawler.dedup.store.base import (
    META_BOOTSTRAPPED_AT,
    SeenStore,
    StoreCorrupt,
    StoredArticle,
    StoreError,
    bands,
    find_duplicate,
    to_signed64,
    to_unsigned64,
)
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.dedup.store.sqlite import (
    META_CHECKED_AT,
    META_OPEN_SINCE,
    SQLiteStore,
    _move_aside,
    open_store,
)
from tests.conftest import REPO

ROOT = REPO
HASH_A = "a" * 64
HASH_B = "b" * 64
HIGH = 0xF0E1D2C3B4A59687  # >= 2**63: stored as a negative SQLite integer
FIGS = 0x8000_0000_DEAD_BEEF  # a figures digest >= 2**63 too


def record(code: str, **fields: object) -> StoredArticle:
    values: dict[str, object] = {
        "path": f"_posts/2022-03-28-NW{code}.md",
        "kind": "outlet",
        "slug": "shenzhenxinwenwang",
        "text_hash": "",
        "simhash": None,
        "date": "2022-03-28 17:04:37 +0800",
    }
    values.update(fields)
    return StoredArticle(code=code, **values)  # type: ignore[arg-type]


def code(n: int) -> str:
    return f"20220328{n:010d}"


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeenStore]:
    made: SeenStore = SQLiteStore(tmp_path / "seen.db") if request.param == "sqlite" else MemoryStore()
    with made:
        yield made


def test_add_has_get(store: SeenStore) -> None:
    rec = record(code(1), text_hash=HASH_A, simhash=HIGH)
    assert not store.has(code(1))
    assert store.get(code(1)) is None
    store.add(rec)
    assert store.has(code(1))
    assert store.get(code(1)) == rec
    assert not store.has(code(2))
    assert store.count() == 1


def test_unknown_or_malformed_codes_are_not_found(store: SeenStore) -> None:
    store.add(record(code(1)))
    for value in ("", "NW" + code(1), "abc", code(1)[:-1], "20221399" + "0" * 10):
        assert not store.has(value)
        assert store.get(value) is None


def test_add_is_an_upsert_that_reindexes(store: SeenStore) -> None:
    store.add(record(code(1), text_hash=HASH_A, simhash=0x1111_2222_3333_4444))
    store.add(
        record(code(1), text_hash=HASH_B, simhash=HIGH, path="old_post/x.md", kind="emnews", slug="emnews")
    )
    assert store.count() == 1
    got = store.get(code(1))
    assert got is not None and (got.path, got.kind, got.slug, got.simhash) == (
        "old_post/x.md",
        "emnews",
        "emnews",
        HIGH,
    )
    assert store.find_exact(HASH_A) is None
    assert store.find_exact(HASH_B) == code(1)
    assert store.find_near(0x1111_2222_3333_4444, 3) is None
    assert store.find_near(HIGH, 0) == code(1)


def test_add_many(store: SeenStore) -> None:
    assert store.add_many(record(code(i)) for i in range(50)) == 50
    assert store.add_many([]) == 0
    assert store.count() == 50
    assert all(store.has(code(i)) for i in range(50))


def test_find_exact(store: SeenStore) -> None:
    store.add_many([record(code(5), text_hash=HASH_A), record(code(3), text_hash=HASH_A), record(code(4))])
    assert store.find_exact(HASH_A) == code(3)  # several: the lowest code
    assert store.find_exact(HASH_B) is None
    assert store.find_exact("") is None  # a record without text matches nothing


@pytest.mark.parametrize("flipped", [(), (0,), (5, 40), (1, 17, 63), (15, 16, 31)])
def test_find_near_finds_every_hash_within_three_bits(store: SeenStore, flipped: tuple[int, ...]) -> None:
    store.add(record(code(1), simhash=HIGH))
    query = HIGH
    for bit in flipped:
        query ^= 1 << bit
    assert store.find_near(query, 3) == code(1)
    assert store.find_near(query) == code(1)
    if flipped:
        assert store.find_near(query, len(flipped) - 1) is None


@pytest.mark.parametrize(
    "flipped",
    [(0, 1, 2, 3), (0, 16, 32, 48), (60, 61, 62, 63, 1)],
    ids=["four bits in one band", "one bit in each band", "five bits"],
)
def test_find_near_ignores_hashes_four_or_more_bits_away(store: SeenStore, flipped: tuple[int, ...]) -> None:
    store.add(record(code(1), simhash=HIGH))
    query = HIGH
    for bit in flipped:
        query ^= 1 << bit
    assert store.find_near(query, 3) is None


def test_find_near_returns_the_closest_then_the_lowest_code(store: SeenStore) -> None:
    base = 0x0123_4567_89AB_CDEF
    store.add_many(
        [
            record(code(9), simhash=base ^ 0b111),
            record(code(8), simhash=base ^ 0b1),
            record(code(7), simhash=base ^ (1 << 40)),
            record(code(6), simhash=None, text_hash=HASH_A),
        ]
    )
    assert store.find_near(base, 3) in (code(7), code(8))
    assert store.find_near(base, 3) == code(7)  # both at distance 1: the lowest code
    assert store.find_near(base ^ 0b111, 3) == code(9)


def test_find_near_accepts_signed_queries(store: SeenStore) -> None:
    store.add(record(code(1), simhash=HIGH))
    assert store.find_near(to_signed64(HIGH), 0) == code(1)


@pytest.mark.parametrize("distance", [-1, 4, 64])
def test_find_near_refuses_distances_the_bands_cannot_answer(store: SeenStore, distance: int) -> None:
    with pytest.raises(ValueError):
        store.find_near(HIGH, distance)


def test_records_without_simhash_are_not_near_matched(store: SeenStore) -> None:
    store.add(record(code(1), simhash=None, text_hash=HASH_A))
    assert store.find_near(0, 3) is None
    assert store.get(code(1)) == record(code(1), simhash=None, text_hash=HASH_A)


def test_find_duplicate(store: SeenStore) -> None:
    store.add_many(
        [
            record(code(1), text_hash=HASH_A, simhash=HIGH, figures=FIGS),
            record(code(2), text_hash=HASH_B),
            record(code(3), text_hash="d" * 64, simhash=0x1234_5678_9ABC_DEF0),  # no figures digest
        ]
    )
    assert find_duplicate(store, HASH_B, HIGH, FIGS) == code(2)  # exact first
    assert find_duplicate(store, HASH_B, None) == code(2)  # exact matches need no figures
    assert find_duplicate(store, "d" * 64, None) == code(3)  # nor do they need the record's
    assert find_duplicate(store, "c" * 64, HIGH ^ 1, FIGS) == code(1)
    assert find_duplicate(store, "c" * 64, HIGH ^ 1, FIGS ^ 1) is None  # other figures: another story
    assert find_duplicate(store, "c" * 64, HIGH ^ 1) is None  # figures unknown: when unsure, keep
    assert find_duplicate(store, "c" * 64, 0x1234_5678_9ABC_DEF0, FIGS) is None  # the record's unknown
    assert find_duplicate(store, "c" * 64, None) is None
    assert find_duplicate(store, "", None) is None


def test_find_near_with_figures_only_returns_records_with_the_same_figures(store: SeenStore) -> None:
    store.add_many(
        [
            record(code(1), simhash=HIGH, figures=FIGS ^ 1),  # the closest, other figures
            record(code(2), simhash=HIGH ^ 0b11, figures=FIGS),
            record(code(3), simhash=HIGH ^ 0b1, figures=None),  # recorded before figures were kept
            record(code(4), simhash=HIGH ^ 0b111, figures=FIGS),
            record(code(5), simhash=None, text_hash=HASH_A, figures=FIGS),
        ]
    )
    assert store.find_near(HIGH, 3, figures=FIGS) == code(2)
    assert store.find_near(HIGH ^ 0b111, 0, figures=FIGS) == code(4)
    assert store.find_near(HIGH, 3, figures=FIGS ^ 1) == code(1)
    assert store.find_near(HIGH, 3, figures=FIGS ^ 2) is None
    assert store.find_near(HIGH, 3) == code(1)  # SimHash only (tools, benches): any figures
    assert store.find_near(HIGH ^ 0b1, 0) == code(3)
    assert store.find_near(HIGH, 3, figures=to_signed64(FIGS)) == code(2)  # signed digests too
    for value in (-(1 << 63) - 1, 1 << 64):
        with pytest.raises(ValueError):
            store.find_near(HIGH, 3, figures=value)


@pytest.mark.parametrize("flipped", [(), (0,), (5, 40), (1, 17, 63), (15, 16, 31)])
def test_find_near_with_figures_finds_every_hash_within_three_bits(
    store: SeenStore, flipped: tuple[int, ...]
) -> None:
    store.add(record(code(1), simhash=HIGH, figures=FIGS))
    query = HIGH
    for bit in flipped:
        query ^= 1 << bit
    assert store.find_near(query, 3, figures=FIGS) == code(1)
    assert store.find_near(query, 3, figures=FIGS ^ (1 << 63)) is None


def test_figures_digest_is_kept_and_reindexed(store: SeenStore) -> None:
    store.add(record(code(1), text_hash=HASH_A, simhash=HIGH, figures=FIGS))
    assert store.get(code(1)) == record(code(1), text_hash=HASH_A, simhash=HIGH, figures=FIGS)
    store.add(record(code(1), text_hash=HASH_A, simhash=HIGH, figures=FIGS ^ 1))  # upsert
    assert store.find_near(HIGH, 0, figures=FIGS) is None
    assert store.find_near(HIGH, 0, figures=FIGS ^ 1) == code(1)
    got = store.get(code(1))
    assert got is not None and got.figures == FIGS ^ 1


def test_stored_article_of_a_fingerprint_carries_its_figures() -> None:
    from newscrawler.dedup.fingerprint import fingerprint

    fp = fingerprint("沪指收涨0.52%报3245.67点，两市成交额9876亿元。" * 5)
    assert fp.figures is not None
    rec = StoredArticle.of(code=code(1), path="p", kind="outlet", slug="s", fingerprint=fp, date="")
    assert (rec.text_hash, rec.simhash, rec.figures) == (fp.text_hash, fp.simhash, fp.figures)


def test_slugs(store: SeenStore) -> None:
    assert store.slug_for("深圳新闻网") is None
    store.set_slug("深圳新闻网", "shenzhenxinwenwang")
    store.set_slug("财联社", "cailianshe")
    store.set_slug("财联社", "cls")
    assert store.slug_for("深圳新闻网") == "shenzhenxinwenwang"
    assert store.slug_for("财联社") == "cls"
    assert store.slugs() == {"深圳新闻网": "shenzhenxinwenwang", "财联社": "cls"}
    with pytest.raises(ValueError):
        store.set_slug("", "x")


def test_meta(store: SeenStore) -> None:
    assert store.get_meta(META_BOOTSTRAPPED_AT) is None
    store.set_meta(META_BOOTSTRAPPED_AT, "2022-03-28T17:04:37+0800")
    store.set_meta("other", "1")
    store.set_meta("other", "2")
    assert store.get_meta(META_BOOTSTRAPPED_AT) == "2022-03-28T17:04:37+0800"
    assert store.get_meta("other") == "2"


def test_transaction_groups_writes(store: SeenStore) -> None:
    with store.transaction():
        store.add(record(code(1)))
        with store.transaction():
            store.set_slug("财联社", "cailianshe")
        store.set_meta("k", "v")
    assert store.has(code(1)) and store.slug_for("财联社") == "cailianshe" and store.get_meta("k") == "v"


def test_closed_store_refuses_work(store: SeenStore) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.has(code(1))
    store.close()  # twice is fine


@pytest.mark.parametrize(
    "fields",
    [
        {"code": "NW202203282325203083"},
        {"code": "20220399" + "1" * 10},
        {"text_hash": "xyz"},
        {"text_hash": "g" * 64},
        {"simhash": -1},
        {"simhash": 1 << 64},
        {"figures": -1},
        {"figures": 1 << 64},
    ],
)
def test_invalid_records_are_refused(fields: dict[str, object]) -> None:
    values: dict[str, object] = {"code": code(1), "path": "p", "kind": "outlet", "slug": "s"}
    values.update(fields)
    with pytest.raises(ValueError):
        StoredArticle(**values)  # type: ignore[arg-type]


def test_band_and_sign_helpers() -> None:
    assert bands(0x0004_0003_0002_0001) == (1, 2, 3, 4)
    assert to_signed64(HIGH) < 0
    assert to_unsigned64(to_signed64(HIGH)) == HIGH
    assert to_signed64(5) == 5


# --------------------------------------------------------------------------- SQLite only


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "seen.db"
    path.parent.mkdir()
    with SQLiteStore(path) as first:
        first.add_many([record(code(1), text_hash=HASH_A, simhash=HIGH), record(code(2))])
        first.set_slug("财联社", "cailianshe")
        first.set_meta(META_BOOTSTRAPPED_AT, "then")
    with SQLiteStore(path, integrity="full") as second:
        assert second.count() == 2
        assert second.get(code(1)) == record(code(1), text_hash=HASH_A, simhash=HIGH)
        assert second.find_exact(HASH_A) == code(1)
        assert second.find_near(HIGH ^ 0b101, 3) == code(1)
        assert second.slugs() == {"财联社": "cailianshe"}
        assert second.get_meta(META_BOOTSTRAPPED_AT) == "then"


def test_sqlite_settings_and_signed_storage(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    with SQLiteStore(path) as store:
        store.add(record(code(1), simhash=HIGH, figures=FIGS))
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
        assert raw.execute("SELECT simhash, figures FROM articles").fetchone() == (
            HIGH - (1 << 64),
            FIGS - (1 << 64),
        )
        for query in (
            "SELECT code, simhash FROM articles WHERE b2 = 5",
            "SELECT code, simhash FROM articles WHERE b2 = 5 AND figures = 7",
        ):
            plan = " ".join(str(row) for row in raw.execute(f"EXPLAIN QUERY PLAN {query}"))
            assert "COVERING INDEX articles_b2" in plan, plan  # no table lookups
            if "figures" in query:
                assert "figures=?" in plan, plan  # the figures are compared in the index
    finally:
        raw.close()


#: The schema of version 1 as it shipped (the figures digest came with version 2).
_SCHEMA_V1 = """
CREATE TABLE articles (
    code INTEGER PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, slug TEXT NOT NULL,
    text_hash BLOB, simhash INTEGER, b0 INTEGER, b1 INTEGER, b2 INTEGER, b3 INTEGER, date TEXT NOT NULL
);
CREATE INDEX articles_text_hash ON articles(text_hash) WHERE text_hash IS NOT NULL;
CREATE INDEX articles_b0 ON articles(b0, simhash) WHERE b0 IS NOT NULL;
CREATE INDEX articles_b1 ON articles(b1, simhash) WHERE b1 IS NOT NULL;
CREATE INDEX articles_b2 ON articles(b2, simhash) WHERE b2 IS NOT NULL;
CREATE INDEX articles_b3 ON articles(b3, simhash) WHERE b3 IS NOT NULL;
CREATE TABLE slugs (outlet TEXT PRIMARY KEY, slug TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
"""


def _version_1_store(path: Path) -> None:
    """A store as schema version 1 wrote it: code(1) near-eligible, code(2) short."""
    raw = sqlite3.connect(path)
    try:
        raw.executescript(_SCHEMA_V1)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute(
            "INSERT INTO articles VALUES (?, 'p1', 'outlet', 's', ?, ?, ?, ?, ?, ?, 'd1')",
            (int(code(1)), bytes.fromhex(HASH_A), to_signed64(HIGH), *bands(HIGH)),
        )
        raw.execute(
            "INSERT INTO articles VALUES (?, 'p2', 'emnews', 'emnews', ?, NULL, NULL, NULL, NULL, NULL, 'd2')",
            (int(code(2)), bytes.fromhex(HASH_B)),
        )
        raw.execute("INSERT INTO slugs VALUES ('财联社', 'cailianshe')")
        raw.execute("INSERT INTO meta VALUES (?, 'then')", (META_BOOTSTRAPPED_AT,))
        raw.commit()
    finally:
        raw.close()


def test_sqlite_migrates_a_version_1_store(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    _version_1_store(path)
    with SQLiteStore(path, integrity="full") as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
        # Everything kept; the old records have no figures digest.
        assert store.count() == 2
        assert store.get(code(1)) == StoredArticle(code(1), "p1", "outlet", "s", HASH_A, HIGH, "d1", None)
        assert store.get(code(2)) == StoredArticle(
            code(2), "p2", "emnews", "emnews", HASH_B, None, "d2", None
        )
        assert store.slugs() == {"财联社": "cailianshe"}
        assert store.get_meta(META_BOOTSTRAPPED_AT) == "then"
        # Exact matches still work; near ones never against a record without figures.
        assert find_duplicate(store, HASH_A, HIGH, FIGS) == code(1)
        assert find_duplicate(store, HASH_B, None) == code(2)
        assert find_duplicate(store, "c" * 64, HIGH ^ 1, FIGS) is None
        assert store.find_near(HIGH ^ 1, 3) == code(1)  # SimHash only, as before
        # New records get their digest and near-match by it.
        store.add(record(code(3), text_hash="c" * 64, simhash=HIGH ^ 0b11, figures=FIGS))
        assert find_duplicate(store, "e" * 64, HIGH ^ 1, FIGS) == code(3)
        # The band indexes are the new ones, with the figures.
        for band in range(4):
            columns = [row[2] for row in store._db.execute(f"PRAGMA index_info(articles_b{band})")]
            assert columns == [f"b{band}", "figures", "simhash"]
    with SQLiteStore(path) as again:  # a migrated store opens as it is
        assert again.count() == 3
        assert again.get(code(3)) == record(code(3), text_hash="c" * 64, simhash=HIGH ^ 0b11, figures=FIGS)


def test_a_failed_migration_leaves_the_version_1_store_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newscrawler.dedup.store import sqlite as store_module

    path = tmp_path / "seen.db"
    _version_1_store(path)
    monkeypatch.setattr(store_module, "_BAND_INDEXES", "CREATE INDEX broken ON no_such_table(x);")
    with pytest.raises(StoreError, match="cannot migrate") as failed:
        SQLiteStore(path)
    assert not isinstance(failed.value, StoreCorrupt)  # open_store must not move a sound store aside
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = [row[1] for row in raw.execute("PRAGMA table_info(articles)")]
        assert "figures" not in columns
        assert [row[2] for row in raw.execute("PRAGMA index_info(articles_b0)")] == ["b0", "simhash"]
        assert raw.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
    finally:
        raw.close()
    monkeypatch.undo()
    with SQLiteStore(path) as store:  # and the next open migrates it
        assert store.get(code(1)) == StoredArticle(code(1), "p1", "outlet", "s", HASH_A, HIGH, "d1", None)


def _version_2_store(path: Path) -> None:
    """A store as schema version 2 wrote it: the refused articles as meta keys."""
    with SQLiteStore(path) as store:
        store.add(record(code(1)))
        store.set_meta(META_BOOTSTRAPPED_AT, "then")
    raw = sqlite3.connect(path)
    try:
        raw.execute("DROP TABLE rejected")
        raw.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                (f"rejected/{code(2)}", "dropped/no_date"),
                (f"rejected/{code(3)}", "duplicates/content_exact of " + code(1)),
                ("rejected/not-a-code", "junk"),
            ],
        )
        raw.execute("PRAGMA user_version = 2")
        raw.commit()
    finally:
        raw.close()


def test_sqlite_migrates_a_version_2_store_s_refusals_into_their_table(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    _version_2_store(path)
    with SQLiteStore(path) as store:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
        assert store.rejection(code(2)) == "dropped/no_date"
        assert store.rejection(code(3)) == "duplicates/content_exact of " + code(1)
        assert store.rejection(code(1)) is None
        keys = [row[0] for row in store._db.execute("SELECT key FROM meta ORDER BY key")]
        assert keys == [META_BOOTSTRAPPED_AT]  # no rejected/ key left, the junk one included
        assert store.get(code(1)) == record(code(1)) and store.get_meta(META_BOOTSTRAPPED_AT) == "then"


@pytest.mark.parametrize("make", [SQLiteStore, MemoryStore], ids=["sqlite", "memory"])
def test_refusals_are_remembered_with_their_reason(tmp_path: Path, make: Any) -> None:
    store = make(tmp_path / "seen.db") if make is SQLiteStore else make()
    with store:
        assert store.reject_many([(code(1), "dropped/no_date"), ("nope", "x"), (code(2), "dropped/no_title")]) == 2
        store.reject_many([(code(2), "dropped/empty_body")])  # the last reason wins
        assert (store.rejection(code(1)), store.rejection(code(2))) == ("dropped/no_date", "dropped/empty_body")
        assert store.rejection(code(3)) is None and store.rejection("nope") is None
        assert not store.has(code(1))  # refused is not archived


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    SQLiteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 4")
    raw.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path)


def test_sqlite_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "seen.db") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.add(record(code(1)))
            store.set_slug("财联社", "cailianshe")
            raise RuntimeError("boom")
        assert not store.has(code(1))
        assert store.slugs() == {}
        store.add(record(code(2)))
        assert store.count() == 1


def test_not_a_database_raises_store_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    path.write_bytes(b"this is not an SQLite database, just some text\n" * 200)
    with pytest.raises(StoreCorrupt):
        SQLiteStore(path)


def _damage_pages(path: Path) -> None:
    """Overwrite the middle of the file: the pages of the tables and indexes, not the header."""
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 3 * page):
        data[start + 100 : start + 900] = b"\xa5" * 800
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("integrity", ["quick", "full"])
def test_damaged_database_raises_store_corrupt(tmp_path: Path, integrity: str) -> None:
    path = tmp_path / "seen.db"
    with SQLiteStore(path) as store:
        store.add_many(
            record(code(i), text_hash=f"{i:064x}", simhash=i * 0x9E3779B97F4A7C15 % (1 << 64))
            for i in range(3000)
        )
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _damage_pages(path)
    with pytest.raises(StoreCorrupt):
        SQLiteStore(path, integrity=integrity)  # type: ignore[arg-type]


def _filled_store(path: Path, now: float) -> None:
    def rebuild(fresh: SeenStore) -> None:
        fresh.add_many(
            record(code(i), text_hash=f"{i:064x}", simhash=i * 0x9E3779B97F4A7C15 % (1 << 64))
            for i in range(3000)
        )

    store = open_store(path, rebuild, check_every=3600.0, clock=lambda: now)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def _corrupt_copies(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith("seen.db.corrupt-")]


def test_open_store_checks_the_pages_only_when_the_last_check_is_old(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    _filled_store(path, now=1_000_000.0)
    _damage_pages(path)

    def rebuild(fresh: SeenStore) -> None:
        fresh.add(record(code(1)))

    # Checked 10 s ago and closed since: a run every few minutes does not read the whole file.
    within = open_store(path, rebuild, check_every=3600.0, clock=lambda: 1_000_010.0)
    within._abandon()  # (closing would write to the damaged file)
    assert _corrupt_copies(tmp_path) == []
    # An hour later the check is due: the damage is found, the file moved aside and rebuilt.
    later = open_store(path, rebuild, check_every=3600.0, clock=lambda: 1_003_700.0)
    with later:
        assert later.count() == 1
    assert len(_corrupt_copies(tmp_path)) == 1


def test_open_store_checks_the_pages_after_a_process_that_did_not_close_it(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    _filled_store(path, now=1_000_000.0)
    killed = open_store(path, lambda fresh: None, check_every=3600.0, clock=lambda: 1_000_005.0)
    assert killed.get_meta(META_OPEN_SINCE) == "1000005"
    killed._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    killed._abandon()  # what kill -9 leaves: open_since stays
    _damage_pages(path)
    again = open_store(path, lambda fresh: fresh.add(record(code(1))), check_every=3600.0, clock=lambda: 1_000_010.0)
    with again:
        assert again.count() == 1
    assert len(_corrupt_copies(tmp_path)) == 1


def test_a_closed_store_says_so_and_its_check_time_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    _filled_store(path, now=1_000_000.0)
    store = open_store(path, lambda fresh: None, check_every=3600.0, clock=lambda: 1_000_100.0)
    assert store.get_meta(META_CHECKED_AT) == "1000000"  # not checked again: the time stays
    store.close()
    with SQLiteStore(path) as raw:
        assert raw.get_meta(META_OPEN_SINCE) is None


def test_open_store_rebuilds_a_corrupt_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "seen.db"
    path.write_bytes(b"\x00garbage" * 1000)
    (tmp_path / "seen.db-wal").write_bytes(b"stale wal")
    calls: list[SeenStore] = []

    def rebuild(fresh: SeenStore) -> None:
        calls.append(fresh)
        fresh.add(record(code(1)))

    with caplog.at_level(logging.WARNING, logger="newscrawler.dedup.store"):
        store = open_store(path, rebuild)
    with store:
        assert len(calls) == 1 and calls[0] is store
        assert store.has(code(1))
        assert store.get_meta(META_BOOTSTRAPPED_AT)
    aside = [p.name for p in tmp_path.iterdir() if p.name.startswith("seen.db.corrupt-")]
    assert len(aside) == 1
    assert (tmp_path / aside[0]).read_bytes() == b"\x00garbage" * 1000
    wal = tmp_path / "seen.db-wal"
    assert not wal.exists() or wal.read_bytes() != b"stale wal"
    assert any("corrupt" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_moving_a_corrupt_store_aside_takes_its_wal_and_shm(tmp_path: Path) -> None:
    for name, data in (("seen.db", b"main"), ("seen.db-wal", b"wal"), ("seen.db-shm", b"shm")):
        (tmp_path / name).write_bytes(data)
    target = _move_aside(tmp_path / "seen.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [target.name, target.name + "-wal", target.name + "-shm"]
    )
    assert target.name.startswith("seen.db.corrupt-")
    assert (target.parent / (target.name + "-wal")).read_bytes() == b"wal"
    (tmp_path / "seen.db").write_bytes(b"again")
    assert _move_aside(tmp_path / "seen.db") != target  # a second one in the same second gets its own name


def test_open_store_rebuilds_new_and_unfinished_stores_only(tmp_path: Path) -> None:
    path = tmp_path / "state" / "seen.db"
    calls: list[int] = []

    def failing(store: SeenStore) -> None:
        calls.append(1)
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        open_store(path, failing)
    with open_store(path, lambda store: calls.append(2)) as store:  # the unfinished bootstrap is redone
        assert store.get_meta(META_BOOTSTRAPPED_AT)
    with open_store(path, lambda store: calls.append(3)):  # a bootstrapped store is not rebuilt
        pass
    assert calls == [1, 2]
    assert not [p for p in path.parent.iterdir() if ".corrupt-" in p.name]


_WRITER = """
import sys
from newscrawler.dedup.store.base import StoredArticle
from newscrawler.dedup.store.sqlite import SQLiteStore
store = SQLiteStore(sys.argv[1])
i = 0
while True:
    i += 1
    code = f"20220328{i:010d}"
    if i % 10:
        store.add(StoredArticle(code=code, path=f"_posts/{code}.md", kind="emnews", slug="emnews",
                                text_hash=f"{i:064x}", simhash=(i * 0x9E3779B97F4A7C15) % (1 << 64)))
    else:
        store.add_many([StoredArticle(code=f"20220329{i * 100 + j:010d}", path="p", kind="outlet", slug="s")
                        for j in range(50)])
    print(i, flush=True)
"""


def test_sqlite_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    done: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while len(done) < 300 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            done.append(int(line))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(done) >= 300, "the writer did not get going"
    with SQLiteStore(path, integrity="full") as store:
        for i in done:
            if i % 10:
                got = store.get(f"20220328{i:010d}")
                assert got is not None and got.text_hash == f"{i:064x}"
            else:
                assert all(store.has(f"20220329{i * 100 + j:010d}") for j in range(50))
        assert store.count() >= sum(1 if i % 10 else 50 for i in done)


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute("PRAGMA index_list(articles)") if not row[1].startswith("sqlite_")}


EVERY_INDEX = {"articles_text_hash", "articles_b0", "articles_b1", "articles_b2", "articles_b3"}


def test_bulk_load_builds_the_indexes_once_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    with SQLiteStore(path) as store:
        assert _indexes(path) == EVERY_INDEX
        with store.bulk_load():
            assert _indexes(path) == set()
            store.add_many([record(code(1), text_hash=HASH_A, simhash=HIGH, figures=FIGS)])
        assert _indexes(path) == EVERY_INDEX
        # The lookups work (through the rebuilt indexes) and find what was loaded.
        assert store.find_exact(HASH_A) == code(1)
        assert store.find_near(HIGH ^ 0b101, figures=FIGS) == code(1)
        with pytest.raises(RuntimeError), store.bulk_load():
            raise RuntimeError("a bootstrap that fails")
        assert _indexes(path) == EVERY_INDEX


def test_a_bootstrap_killed_without_its_indexes_gets_them_from_the_next(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"

    def killed(store: SeenStore) -> None:
        with sqlite3.connect(path) as conn:  # what a kill inside bulk_load leaves
            for name in EVERY_INDEX:
                conn.execute(f"DROP INDEX {name}")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        open_store(path, killed)
    assert _indexes(path) == set()
    rebuilt = []

    def bootstrap_again(store: SeenStore) -> None:
        with store.bulk_load():
            rebuilt.append(True)

    open_store(path, bootstrap_again).close()
    assert rebuilt == [True] and _indexes(path) == EVERY_INDEX
