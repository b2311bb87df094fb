"""The write journal (newscrawler.archive.journal) and its replay by the Archive handle
(newscrawler.archive.session): a killed run's leftovers are found from the journal alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from newscrawler.archive.bootstrap import archived_post
from newscrawler.archive.config import ArchiveConfig
from newscrawler.archive.fsutil import atomic_write
from newscrawler.archive.journal import Journal, JournalEntry
from newscrawler.archive.post import render_post, target_for
from newscrawler.archive.session import META_JOURNAL_SINCE, Archive, ArchiveSession
from newscrawler.dates import parse_date
from newscrawler.dedup.store.base import SeenStore
from newscrawler.dedup.store.memory import MemoryStore

CODE_A, CODE_B, CODE_C = "202203282325203083", "202203282325310457", "202204011234567890"


def test_a_journal_lists_what_was_noted_once_each_until_cleared(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    assert journal.entries() == []
    journal.open()
    journal.note("_posts/a.md", ".a.md.1234.tmp")
    journal.note("category/x.html", ".x.html.99.tmp")
    journal.note("_posts/a.md", ".a.md.1234.tmp")
    assert (tmp_path / "journal").read_bytes() == (
        b"_posts/a.md\t.a.md.1234.tmp\ncategory/x.html\t.x.html.99.tmp\n_posts/a.md\t.a.md.1234.tmp\n"
    )
    assert journal.entries() == [
        JournalEntry("_posts/a.md", ".a.md.1234.tmp"),
        JournalEntry("category/x.html", ".x.html.99.tmp"),
    ]
    journal.clear()
    assert journal.entries() == [] and journal.pending == 0
    journal.note("_posts/b.md", ".b.md.5.tmp")  # appends after a clear start at 0
    assert (tmp_path / "journal").read_bytes() == b"_posts/b.md\t.b.md.5.tmp\n"
    journal.close()


def test_a_journal_refuses_names_that_would_break_its_lines(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.open()
    for relative, temp in (("_posts/a\nb.md", ".t"), ("_posts/a\tb.md", ".t"), ("_posts/a.md", ".t\n")):
        with pytest.raises(ValueError, match="cannot journal"):
            journal.note(relative, temp)
    journal.close()
    (tmp_path / "journal").write_bytes(b"garbage\n_posts/a.md\t.a.tmp\n\t\n_posts/torn")  # a torn tail
    assert journal.entries() == [JournalEntry("_posts/a.md", ".a.tmp")]


def test_atomic_write_tells_the_journal_before_the_temp_file_exists(tmp_path: Path) -> None:
    seen: list[tuple[str, bool]] = []
    target = tmp_path / "post.md"

    def note(temp: str) -> None:
        seen.append((temp, (tmp_path / temp).exists()))

    assert atomic_write(target, b"one", durable=False, before_write=note)
    assert len(seen) == 1 and seen[0][0].startswith(".post.md.") and seen[0][1] is False
    assert not atomic_write(target, b"one", durable=False, before_write=note)  # unchanged: not noted
    assert len(seen) == 1


def _post(code: str) -> tuple[str, str]:
    date = parse_date("2022-03-28 23:25:00")
    assert date is not None
    target = target_for(code=code, kind="emnews", date=date, outlet="", slug="emnews", site="//s")
    text = render_post(target=target, title=f"标题{code[-4:]}", date=date, body="<p>正文内容，数字 12%。</p>",
                       source_url=f"http://finance.eastmoney.com/a/{code}.html", site="//s", digest="")  # fmt: skip
    return f"_posts/{target.filename}", text


def _archive(tmp_path: Path, store: MemoryStore, **settings: object) -> Archive:
    crawler = get_crawler(settings_dict={"ARCHIVE_DIR": str(tmp_path / "archive"), **settings})
    config = ArchiveConfig.from_settings(crawler.settings)

    def opener(config: ArchiveConfig) -> SeenStore:
        return store

    return Archive(config, opener)


def _killed_run(tmp_path: Path) -> tuple[Path, MemoryStore]:
    """An archive as a killed run leaves it: post A recorded; post B on disk, journaled, not
    recorded; a journaled temp file; post C copied in by hand (on disk, never journaled)."""
    archive, state = tmp_path / "archive", tmp_path / "archive" / ".newscrawler"
    (archive / "_posts").mkdir(parents=True)
    state.mkdir()
    store = MemoryStore()
    store.set_meta(META_JOURNAL_SINCE, "then")
    for code in (CODE_A, CODE_B, CODE_C):
        relative, text = _post(code)
        (archive / relative).write_text(text, "utf-8")
    relative_a, _ = _post(CODE_A)
    relative_b, _ = _post(CODE_B)
    post_a = archived_post(relative_a, (archive / relative_a).read_text("utf-8"))
    assert post_a is not None
    store.add(post_a.record())
    (archive / "_posts" / ".stale.md.abcd.tmp").write_bytes(b"half")
    (archive / "_posts" / ".other.md.ffff.tmp").write_bytes(b"not journaled")
    (state / "journal").write_text(
        f"{relative_a}\t.a.md.0000.tmp\n{relative_b}\t.b.md.1111.tmp\n_posts/x.md\t.stale.md.abcd.tmp\n", "utf-8"
    )
    return archive, store


def test_opening_replays_the_journal_of_a_killed_run_and_nothing_else(tmp_path: Path) -> None:
    archive_dir, store = _killed_run(tmp_path)
    archive = _archive(tmp_path, store)
    archive.open()
    try:
        assert store.has(CODE_A) and store.has(CODE_B)  # B recorded from the journal
        assert not store.has(CODE_C)  # by hand: not listed without a rescan
        assert (archive.reconciled, archive.stale_temp_files) == (1, 1)
        assert not (archive_dir / "_posts" / ".stale.md.abcd.tmp").exists()
        assert (archive_dir / "_posts" / ".other.md.ffff.tmp").exists()
        assert archive.journal.entries() == []  # replayed, then emptied
    finally:
        archive.close()


def test_a_rescan_records_posts_added_by_hand_and_every_stale_temp_file(tmp_path: Path) -> None:
    archive_dir, store = _killed_run(tmp_path)
    archive = _archive(tmp_path, store, ARCHIVE_RESCAN=True)
    archive.open()
    try:
        assert store.has(CODE_B) and store.has(CODE_C)
        assert archive.reconciled == 2 and archive.stale_temp_files == 2
        assert not [p for p in (archive_dir / "_posts").iterdir() if p.name.endswith(".tmp")]
    finally:
        archive.close()


def test_a_store_from_before_the_journal_gets_one_full_rescan(tmp_path: Path) -> None:
    archive_dir, store = _killed_run(tmp_path)
    store._meta.pop(META_JOURNAL_SINCE)
    first = _archive(tmp_path, store)
    first.open()
    assert store.has(CODE_C) and store.get_meta(META_JOURNAL_SINCE)
    first.close()
    relative, text = _post("202205051111111111")
    (archive_dir / relative).write_text(text, "utf-8")  # by hand, after the upgrade
    store._closed = False  # the same records, opened again by the next run
    second = _archive(tmp_path, store)
    second.open()
    assert not store.has("202205051111111111") and second.reconciled == 0
    second.close()


def test_refusals_wait_for_the_batch_and_are_committed_with_it(tmp_path: Path) -> None:
    store = MemoryStore()
    crawler = get_crawler(settings_dict={"ARCHIVE_DIR": str(tmp_path / "archive")})
    session = ArchiveSession.from_settings(crawler.settings, store_opener=lambda config: store)
    archive = session.archive
    archive.open()
    archive.reject(CODE_A, "dropped/no_date")
    assert store.rejection(CODE_A) is None  # not yet in the store ...
    assert archive.is_rejected(CODE_A) and session.rejection(CODE_A) == "dropped/no_date"  # ... but known
    archive.commit([])
    assert store.rejection(CODE_A) == "dropped/no_date" and not archive.pending_rejections
    archive.reject(CODE_B, "dropped/empty_body")
    archive.reject("not-a-code", "x")
    archive.close()  # the last ones go with the close
    assert store._rejected == {CODE_A: "dropped/no_date", CODE_B: "dropped/empty_body"}


def test_the_journal_file_is_in_the_state_folder(tmp_path: Path) -> None:
    archive = _archive(tmp_path, MemoryStore(), STATE_DIR=str(tmp_path / "state"))
    archive.open()
    try:
        assert archive.journal.path == tmp_path / "state" / "journal"
        assert os.path.isfile(archive.journal.path)
    finally:
        archive.close()
