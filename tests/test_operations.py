"""Operations (README "Operations"): exit statuses, the run summary and report, retention,
and the scheduling recipes in contrib/ (cron, systemd, GitHub Actions, Scrapyd)."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from newscrawler.archive.lock import RunLock
from newscrawler.archive.retention import apply_retention, is_expired, post_day
from newscrawler.dates import BEIJING
from newscrawler.dedup.store.base import StoredArticle
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.dedup.store.sqlite import SQLiteStore
from newscrawler.dev.server import LoopbackServer
from newscrawler.extensions import ExitStatus, summary_lines

from .conftest import REPO, CrawlRunner, eastmoney_settings

CONTRIB = REPO / "contrib"
#: Loopback servers need no politeness (as in conftest.run_crawl).
FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "RETRY_TIMES": "0"}
STATE = ".newscrawler"
OUTLET = "深圳新闻网"

# --------------------------------------------------------------------------- helpers


def code_for(day: date, n: int) -> str:
    return f"{day:%Y%m%d}{n:010d}"


def article(day: date, n: int) -> dict[str, str]:
    """A media-feed article of *day* whose text differs from every other *n*."""
    words = ["营业收入", "净利润", "研发投入", "现金红利", "回购股份", "新建产能", "海外订单", "银行授信"]
    text = "".join(
        f"<p>　　第{n}号公司公告：{words[(n + i) % len(words)]}{n * 13 + i * 7}亿元，同比变动{(n * 5 + i) % 40}%。</p>"
        for i in range(4)
    )
    return {
        "code": code_for(day, n),
        "title": f"第{n}号公司发布公告",
        "datetime": f"{day:%Y-%m-%d} 09:{n % 60:02d}:00",
        "text": text + f'<p class="em_media">（文章来源：{OUTLET}）</p>',
    }


def write_source(root: Path, articles: list[dict[str, str]]) -> None:
    """A media feed at ``feeds/media.json`` and a text-API answer per article."""
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    (root / "NewsData").mkdir(parents=True, exist_ok=True)
    record = [
        {"title": a["title"], "datetime": a["datetime"], "medianame": OUTLET, "infoCode": "NW" + a["code"]}
        for a in articles
    ]
    (root / "feeds" / "media.json").write_text(json.dumps({"record": record}, ensure_ascii=False), "utf-8")
    for a in articles:
        answer = root / "NewsData" / f"GetNewsText.do@id=NW{a['code']}"
        body = {"title": a["title"], "showTime": a["datetime"], "mediaName": OUTLET, "text": a["text"]}
        answer.write_text(json.dumps(body, ensure_ascii=False), "utf-8")
        answer.with_name(answer.name + ".headers").write_text("Content-Type: application/json\n", "utf-8")


def settings_for(server: LoopbackServer, *feeds: str, **extra: str) -> dict[str, str]:
    urls = ",".join(f"{server.url}/{feed}" for feed in feeds or ("feeds/media.json",))
    return {**eastmoney_settings(server.url), "EASTMONEY_FEEDS": urls, **extra}


def report_of(archive: Path) -> dict[str, Any]:
    return json.loads((archive / STATE / "last-run.json").read_text("utf-8"))


def stats(stderr: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r"'(newscrawler/[a-z0-9_/]+)': (\d+)", stderr)}


def posts(archive: Path, folder: str = "_posts") -> list[str]:
    return sorted(p.name for p in (archive / folder).glob("*.md")) if (archive / folder).is_dir() else []


def article_requests(server: LoopbackServer) -> list[str]:
    return [r for r in server.requests if "GetNewsText" in r or r.startswith("/a/")]


def today_beijing() -> date:
    return datetime.now(BEIJING).date()


# --------------------------------------------------------------------------- exit statuses


@pytest.mark.crawl
def test_healthy_run_and_nothing_new_exit_0(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    day = today_beijing() - timedelta(days=1)
    write_source(source.root, [article(day, n) for n in range(1, 4)])
    # One feed of two failing is an ordinary counted error: the run is healthy.
    settings = settings_for(source, "feeds/media.json", "feeds/missing.json")
    first = crawl("eastmoney", archive, settings=settings)
    assert first.returncode == 0, first.stderr[-3000:]
    report = report_of(archive)
    assert (report["exit_status"], report["status"]) == (0, "ok")
    assert report["feeds"] == {"ok": 1, "failed": 1, "entries": 3, "pages": 1}
    assert report["errors"] == {"feed_http_404": 1}

    second = crawl("eastmoney", archive, settings=settings)
    assert second.returncode == 0, second.stderr[-3000:]
    report = report_of(archive)
    assert (report["exit_status"], report["new_posts"], report["skipped_known"]) == (0, 0, 3)


@pytest.mark.crawl
def test_a_run_that_finds_nothing_new_logs_a_dozen_lines_its_summary_last(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    write_source(source.root, [article(today_beijing() - timedelta(days=1), n) for n in range(1, 4)])
    quiet = settings_for(source, NEWSCRAWLER_LOG_DUMPS="False")
    assert crawl("eastmoney", archive, settings=quiet).returncode == 0
    second = crawl("eastmoney", archive, settings=quiet)
    assert second.returncode == 0, second.stderr[-3000:]
    lines = second.stderr.splitlines()
    assert len(lines) <= 20, second.stderr
    for dump in ("Overridden settings", "Enabled ", "Dumping Scrapy stats", "Versions:", "Remote control"):
        assert dump not in second.stderr
    assert "WARNING" not in second.stderr and "ERROR" not in second.stderr
    summary = next(n for n, line in enumerate(lines) if "Run summary:" in line)
    assert all(line.startswith("  ") for line in lines[summary + 1 :])
    # Asked for, or at DEBUG, the dumps are there.
    loud = crawl("eastmoney", archive, settings={**quiet, "NEWSCRAWLER_LOG_DUMPS": "True"})
    assert "Overridden settings" in loud.stderr and "INFO: Dumping Scrapy stats" in loud.stderr
    debug = crawl("eastmoney", archive, settings={**quiet, "LOG_LEVEL": "DEBUG"})
    assert "DEBUG: Dumping Scrapy stats" in debug.stderr and "DEBUG: Enabled item pipelines" in debug.stderr


@pytest.mark.crawl
def test_every_feed_failed_exits_69(tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner) -> None:
    archive = tmp_path / "archive"
    result = crawl(
        "eastmoney", archive, settings=settings_for(source, "feeds/gone.json", "feeds/missing.json")
    )
    assert result.returncode == ExitStatus.ALL_FEEDS_FAILED == 69, result.stderr[-3000:]
    report = report_of(archive)
    assert (report["exit_status"], report["status"]) == (69, "all_feeds_failed")
    assert report["feeds"] == {"ok": 0, "failed": 2}
    assert "exit status 69 (all_feeds_failed)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.crawl
def test_articles_by_code_without_feeds_exit_0(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    one = article(today_beijing() - timedelta(days=1), 1)
    write_source(source.root, [one])
    result = crawl("eastmoney", archive, settings=settings_for(source), args={"codes": one["code"]})
    assert result.returncode == 0, result.stderr[-3000:]
    assert report_of(archive)["feeds"] == {"ok": 0, "failed": 0}


@pytest.mark.crawl
def test_archive_under_a_file_exits_73_without_crawling(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    # Root ignores permission bits: a folder below a regular file cannot be created by anyone.
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder\n", "utf-8")
    write_source(source.root, [article(today_beijing(), 1)])
    result = crawl("eastmoney", blocker / "archive", settings=settings_for(source))
    assert result.returncode == ExitStatus.ARCHIVE_NOT_WRITABLE == 73, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1, lines
    assert "Cannot write" in lines[0] and "Not a directory" in lines[0]
    assert "Traceback" not in result.stderr
    assert source.requests == []


@pytest.mark.crawl
def test_archive_not_writable_with_state_elsewhere_exits_73_and_releases_the_lock(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    (archive / "_posts").mkdir(parents=True)
    (archive / "category").write_text("a file where the category folder belongs\n", "utf-8")
    state = tmp_path / "state"
    write_source(source.root, [article(today_beijing(), 1)])
    result = crawl("eastmoney", archive, settings=settings_for(source, STATE_DIR=str(state)))
    assert result.returncode == 73, result.stderr[-3000:]
    assert f"Cannot write the archive {archive}" in result.stderr
    assert source.requests == []
    with RunLock(state / "lock"):  # released on the way out
        pass


@pytest.mark.crawl
def test_post_write_failure_mid_run_exits_73(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    day = today_beijing() - timedelta(days=1)
    good, bad = article(day, 1), article(day, 2)
    write_source(source.root, [good, bad])
    # A folder where the post belongs: writing it fails with an OS error (for root too).
    (archive / "_posts" / f"{day:%Y-%m-%d}-NW{bad['code']}.md").mkdir(parents=True)
    result = crawl("eastmoney", archive, settings=settings_for(source))
    assert result.returncode == 73, result.stderr[-3000:]
    assert posts(archive) == [f"{day:%Y-%m-%d}-NW{c}.md" for c in sorted((good["code"], bad["code"]))]
    assert (archive / "_posts" / f"{day:%Y-%m-%d}-NW{bad['code']}.md").is_dir()
    report = report_of(archive)
    assert (report["exit_status"], report["status"]) == (73, "archive_not_writable")
    assert report["errors"] == {"archive_write": 1}
    assert report["new_post_paths"] == [f"_posts/{day:%Y-%m-%d}-NW{good['code']}.md"]


@pytest.mark.crawl
def test_lock_held_exits_75_with_one_line(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    write_source(source.root, [article(today_beijing() - timedelta(days=1), 1)])
    with RunLock(archive / STATE / "lock"):
        result = crawl("eastmoney", archive, settings=settings_for(source))
    assert result.returncode == ExitStatus.LOCKED == 75, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, errors
    assert "another run is using this archive" in errors[0]
    assert f"process {os.getpid()}" in errors[0]
    assert "Traceback" not in result.stderr
    assert source.requests == []
    assert not (archive / STATE / "last-run.json").exists()
    assert not (archive / "_posts").exists()

    again = crawl("eastmoney", archive, settings=settings_for(source))
    assert again.returncode == 0, again.stderr[-3000:]
    assert report_of(archive)["new_posts"] == 1


@pytest.mark.crawl
def test_spider_that_does_not_start_still_exits_1(tmp_path: Path, crawl: CrawlRunner) -> None:
    archive = tmp_path / "archive"
    (archive / STATE).mkdir(parents=True)
    import sqlite3

    with sqlite3.connect(archive / STATE / "seen.db") as db:  # a store of a schema from the future
        db.execute("PRAGMA user_version = 99")
    result = crawl("eastmoney", archive, settings={"EASTMONEY_FEEDS": "http://127.0.0.1:9/feed.json"})
    assert result.returncode == ExitStatus.START_FAILED == 1, result.stderr[-3000:]
    with RunLock(archive / STATE / "lock"):  # the lock taken before the start was released
        pass


@pytest.mark.crawl
@pytest.mark.parametrize(
    ("spider", "args", "settings", "message"),
    [
        ("finews", {}, {}, "finews: the start_url argument is required"),
        (
            "finews",
            {"start_url": "http://127.0.0.1:9/", "follow": "true"},
            {},
            "finews: unknown argument -a follow=",
        ),
        ("eastmoney", {"code": "NW202203282325310457"}, {}, "eastmoney: unknown argument -a code="),
        ("eastmoney", {"codes": "notacode"}, {}, "eastmoney: -a codes: 'notacode' names no article"),
        (
            "eastmoney",
            {"feeds": "notaurl"},
            {},
            "eastmoney: -a feeds: 'notaurl' is not an absolute http(s) feed URL",
        ),
        (
            "eastmoney",
            {},
            {"EASTMONEY_FEEDS": "http://127.0.0.1:9/ok.json,ftp://x/y"},
            "EASTMONEY_FEEDS: 'ftp://x/y'",
        ),
        ("eastmoney", {"pages": "0"}, {}, "-a pages must be a positive integer, got '0'"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_fetched_or_written(
    tmp_path: Path,
    crawl: CrawlRunner,
    spider: str,
    args: dict[str, str],
    settings: dict[str, str],
    message: str,
) -> None:
    archive = tmp_path / "archive"
    result = crawl(spider, archive, args=args, settings=settings)
    assert result.returncode == ExitStatus.USAGE == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and message in errors[0], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert not archive.exists()  # no archive folder, no state folder, no lock file


@pytest.mark.crawl
def test_scheduler_arguments_are_not_unknown_arguments(tmp_path: Path, crawl: CrawlRunner) -> None:
    """Scrapyd passes ``-a _job=...``: not a usage error."""
    archive = tmp_path / "archive"
    result = crawl("eastmoney", archive, args={"_job": "abc", "feeds": "http://127.0.0.1:9/feed.json"})
    assert result.returncode == ExitStatus.ALL_FEEDS_FAILED, result.stderr[-3000:]


def test_usage_error_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == ExitStatus.USAGE == 2, result.stderr[-2000:]


def test_crawl_help_lists_the_exit_statuses() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "-h"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for status in ExitStatus:
        assert f" {int(status)} " in text


# --------------------------------------------------------------------------- summary and report


@pytest.mark.crawl
def test_summary_and_report_of_a_fixture_crawl(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    feeds = (
        "feeds/media.json",
        "feeds/rolling.json",
        "feeds/listapi.json",
        "feeds/live.js",
        "feeds/dead.json",
    )
    settings = {
        **eastmoney_settings(eastmoney_server.url),
        "EASTMONEY_FEEDS": ",".join(f"{eastmoney_server.url}/{f}" for f in feeds),
    }
    before = datetime.now(UTC).replace(microsecond=0)
    result = crawl("eastmoney", archive, settings=settings)
    after = datetime.now(UTC)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(f"_posts/{name}" for name in posts(archive))
    assert len(written) == 12

    report = report_of(archive)
    assert report["spider"] == "eastmoney"
    assert report["finish_reason"] == "finished"
    assert (report["exit_status"], report["status"]) == (0, "ok")
    started = datetime.fromisoformat(str(report["started"]))
    finished = datetime.fromisoformat(str(report["finished"]))
    assert before <= started <= finished <= after
    assert report["duration_seconds"] == pytest.approx((finished - started).total_seconds(), abs=1.5)
    assert report["feeds"]["ok"] == 4 and report["feeds"]["failed"] == 1
    assert report["new_posts"] == 12
    assert sorted(report["new_post_paths"]) == written
    assert report["skipped_known"] == 0
    counters = stats(result.stderr)
    assert report["errors"] == {
        k.removeprefix("newscrawler/errors/"): v for k, v in counters.items() if "/errors/" in k
    }
    assert report["errors"]["feed_http_503"] == 1
    assert report["duplicates"] == {
        k.removeprefix("newscrawler/duplicates/"): v for k, v in counters.items() if "/duplicates/" in k
    }
    assert report["dropped"] == {
        k.removeprefix("newscrawler/dropped/"): v for k, v in counters.items() if "/dropped/" in k
    }
    assert report["retention"] == {"days": 0, "today": None, "moved": 0, "conflicts": [], "errors": []}

    # The summary is the last thing in the log: a few lines, ten paths, then a count.
    lines = result.stderr.rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if "Run summary: " in line)
    summary = lines[start:]
    assert summary[0].endswith(
        "Run summary: eastmoney finished in {:.1f} s, exit status 0 (ok)".format(report["duration_seconds"])
    )
    assert summary[1:3] == [
        "  feeds: 4 ok, 1 failed, {} entries".format(report["feeds"]["entries"]),
        "  new posts: 12",
    ]
    assert summary[3:13] == [f"    {path}" for path in report["new_post_paths"][:10]]
    assert summary[13] == "    and 2 more"
    assert summary[14] == "  skipped (already archived): 0; unchanged posts: 0"
    # The fixtures' text API fails for 4 articles the article page then has: recovered, not lost.
    assert report["lost"] == [] and report["recovered"] == 4 and report["skipped_rejected"] == []
    assert summary[15:17] == ["  lost: 0", "  recovered by a fallback source: 4"]
    assert summary[17].startswith("  duplicates: ")
    assert summary[18].startswith("  dropped: ")
    assert summary[19] == "  errors: " + ", ".join(f"{k} {v}" for k, v in report["errors"].items())
    assert len(summary) == 20
    assert "Spider closed (finished)" in lines[start - 1]


def test_summary_lines_render_every_group() -> None:
    report: dict[str, Any] = {
        "spider": "eastmoney",
        "finish_reason": "shutdown",
        "exit_status": 0,
        "status": "ok",
        "duration_seconds": 61.25,
        "feeds": {"ok": 2, "failed": 0},
        "new_posts": 1,
        "new_post_paths": ["_posts/2022-05-10-NW202205101380000001.md"],
        "unchanged_posts": 2,
        "skipped_known": 5,
        "lost": [
            {
                "code": "202205101380000002",
                "url": "http://x/a/202205101380000002.html",
                "reason": "no_text: gone",
            }
        ],
        "recovered": 3,
        "skipped_rejected": [{"code": "202205101380000003", "reason": "dropped/no_date"}],
        "duplicates": {"code": 1, "content_exact": 2},
        "dropped": {"no_date": 1},
        "errors": {},
        "retention": {"days": 30, "moved": 4, "conflicts": ["_posts/x.md"], "errors": []},
    }
    assert summary_lines(report) == [
        "Run summary: eastmoney shutdown in 61.2 s, exit status 0 (ok)",
        "  feeds: 2 ok, 0 failed",
        "  new posts: 1",
        "    _posts/2022-05-10-NW202205101380000001.md",
        "  skipped (already archived): 5; unchanged posts: 2",
        "  lost: 1 (no post: see below)",
        "    202205101380000002 http://x/a/202205101380000002.html: no_text: gone",
        "  recovered by a fallback source: 3",
        "  skipped (refused by an earlier run): 1: 202205101380000003; to try one again: "
        "scrapy crawl eastmoney -a codes=CODE",
        "  duplicates: code 1, content_exact 2",
        "  dropped: no_date 1",
        "  errors: none",
        "  retention: 4 posts older than 30 days moved to old_post/, 1 conflicts",
    ]


# --------------------------------------------------------------------------- retention (pure)

NOON_BEIJING = datetime(2022, 5, 10, 12, 0, tzinfo=BEIJING)


def _post(archive: Path, folder: str, day: date, n: int, *, emnews: bool = False, text: str = "") -> str:
    code = code_for(day, n)
    name = f"{day:%Y-%m-%d}-{'' if emnews else 'NW'}{code}.md"
    path = archive / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or f"---\ntitle: post {n}\n---\n<p>{code}</p>\n", "utf-8")
    return name


def _record(name: str, folder: str = "_posts") -> StoredArticle:
    parsed = post_day(name)
    assert parsed is not None
    return StoredArticle(code=parsed[1], path=f"{folder}/{name}", kind="outlet", slug="s", date="")


def test_post_day_reads_article_post_names_only() -> None:
    assert post_day("2022-03-28-NW202203282325203083.md") == (date(2022, 3, 28), "202203282325203083")
    assert post_day("2022-03-28-202203282325203083.md") == (date(2022, 3, 28), "202203282325203083")
    for name in (
        "2021-12-01-init.md",
        "-202205101380000099.md",
        "2022-13-01-NW202203282325203083.md",
        ".2022-03-28-NW202203282325203083.md.1a2b.tmp",
        "2022-03-28-NW202203282325203083.md.bak",
    ):
        assert post_day(name) is None, name


@pytest.mark.parametrize(("age", "moves"), [(29, False), (30, False), (31, True), (400, True)])
def test_is_expired_at_the_boundary(age: int, moves: bool) -> None:
    today = date(2022, 5, 10)
    assert is_expired(today - timedelta(days=age), today, 30) is moves


def test_retention_moves_posts_older_than_n_days(tmp_path: Path) -> None:
    archive = tmp_path
    today = NOON_BEIJING.date()
    names = {age: _post(archive, "_posts", today - timedelta(days=age), age) for age in (0, 29, 30, 31, 365)}
    rolling = _post(archive, "_posts", today - timedelta(days=45), 7, emnews=True)
    init = archive / "_posts" / "2021-12-01-init.md"
    init.write_text("---\ntitle: 开站大吉\n---\n", "utf-8")
    temp = archive / "_posts" / f".{names[365]}.1a2b.tmp"
    temp.write_text("partial", "utf-8")
    store = MemoryStore()
    for name in [*names.values(), rolling]:
        store.add(_record(name))

    result = apply_retention(archive, 30, store=store, clock=lambda: NOON_BEIJING)

    moved = sorted([names[31], names[365], rolling])
    assert sorted(result.moved) == [f"old_post/{name}" for name in moved]
    assert (result.conflicts, result.errors, result.records_updated) == ([], [], 3)
    assert posts(archive, "old_post") == moved
    assert posts(archive) == sorted([names[0], names[29], names[30], init.name])
    assert temp.exists()
    for name in moved:
        assert store.get(post_day(name)[1]).path == f"old_post/{name}"
    for age in (0, 29, 30):
        assert store.get(post_day(names[age])[1]).path == f"_posts/{names[age]}"

    again = apply_retention(archive, 30, store=store, clock=lambda: NOON_BEIJING)
    assert (again.moved, again.conflicts, again.errors) == ([], [], [])


def test_retention_days_are_counted_in_beijing_time(tmp_path: Path) -> None:
    name = _post(tmp_path, "_posts", date(2022, 4, 9), 1)
    # 17:00 UTC on May 9 is already May 10 in Beijing: the post is 31 days old there.
    late_utc = datetime(2022, 5, 9, 17, 0, tzinfo=UTC)
    early_utc = datetime(2022, 5, 9, 15, 59, tzinfo=UTC)  # still May 9 in Beijing: 30 days
    assert apply_retention(tmp_path, 30, clock=lambda: early_utc).moved == []
    assert apply_retention(tmp_path, 30, clock=lambda: late_utc).moved == [f"old_post/{name}"]
    with pytest.raises(ValueError, match="aware"):
        apply_retention(tmp_path, 30, clock=lambda: datetime(2022, 5, 10, 12, 0))


def test_retention_off_does_nothing(tmp_path: Path) -> None:
    name = _post(tmp_path, "_posts", date(2000, 1, 1), 1)
    assert apply_retention(tmp_path, 0, clock=lambda: NOON_BEIJING).moved == []
    assert posts(tmp_path) == [name]
    assert not (tmp_path / "old_post").exists()


def test_retention_never_overwrites_a_different_old_post(tmp_path: Path) -> None:
    day = date(2022, 1, 1)
    clash = _post(tmp_path, "_posts", day, 1, text="the _posts version\n")
    _post(tmp_path, "old_post", day, 1, text="the old_post version\n")
    same = _post(tmp_path, "_posts", day, 2, text="same bytes\n")
    _post(tmp_path, "old_post", day, 2, text="same bytes\n")
    store = MemoryStore()
    store.add(_record(clash))
    store.add(_record(same))

    result = apply_retention(tmp_path, 30, store=store, clock=lambda: NOON_BEIJING)

    assert result.conflicts == [f"_posts/{clash}"]
    assert result.moved == [f"old_post/{same}"]
    assert (tmp_path / "_posts" / clash).read_text("utf-8") == "the _posts version\n"
    assert (tmp_path / "old_post" / clash).read_text("utf-8") == "the old_post version\n"
    assert not (tmp_path / "_posts" / same).exists()
    assert (tmp_path / "old_post" / same).read_text("utf-8") == "same bytes\n"
    assert store.get(post_day(clash)[1]).path == f"_posts/{clash}"
    assert store.get(post_day(same)[1]).path == f"old_post/{same}"


def test_retention_failed_move_keeps_the_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _post(tmp_path, "_posts", date(2022, 1, 1), 1)
    second = _post(tmp_path, "_posts", date(2022, 1, 2), 2)
    store = MemoryStore()
    store.add(_record(first))
    store.add(_record(second))
    real_replace = Path.replace

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        if self.name == first:
            raise OSError(18, "Invalid cross-device link")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    result = apply_retention(tmp_path, 30, store=store, clock=lambda: NOON_BEIJING)
    assert result.errors == [(f"_posts/{first}", "Invalid cross-device link")]
    assert result.moved == [f"old_post/{second}"]
    assert result.records_updated == 1
    assert store.get(post_day(first)[1]).path == f"_posts/{first}"
    assert store.get(post_day(second)[1]).path == f"old_post/{second}"


def test_retention_completes_a_move_a_killed_run_left_half_done(tmp_path: Path) -> None:
    # Records are pointed at old_post/ before the files move: a kill in between leaves this.
    name = _post(tmp_path, "_posts", date(2022, 1, 1), 1)
    store = MemoryStore()
    store.add(_record(name, folder="old_post"))
    result = apply_retention(tmp_path, 30, store=store, clock=lambda: NOON_BEIJING)
    assert result.moved == [f"old_post/{name}"]
    assert store.get(post_day(name)[1]).path == f"old_post/{name}"


# --------------------------------------------------------------------------- retention (crawls)


@pytest.mark.crawl
def test_retention_at_the_end_of_a_run_and_moved_posts_stay_known(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    today = today_beijing()
    old, recent = article(today - timedelta(days=40), 1), article(today - timedelta(days=2), 2)
    old_name = f"{today - timedelta(days=40):%Y-%m-%d}-NW{old['code']}.md"
    recent_name = f"{today - timedelta(days=2):%Y-%m-%d}-NW{recent['code']}.md"
    write_source(source.root, [old, recent])
    settings = settings_for(source, ARCHIVE_RETENTION_DAYS="30")

    first = crawl("eastmoney", archive, settings=settings)
    assert first.returncode == 0, first.stderr[-3000:]
    assert posts(archive) == [recent_name]
    assert posts(archive, "old_post") == [old_name]
    assert stats(first.stderr)["newscrawler/retention/moved"] == 1
    report = report_of(archive)
    assert report["retention"] == {
        "days": 30,
        "today": today.isoformat(),
        "moved": 1,
        "conflicts": [],
        "errors": [],
    }
    assert "  retention: 1 posts older than 30 days moved to old_post/" in first.stderr
    with SQLiteStore(archive / STATE / "seen.db") as store:
        assert store.get(old["code"]).path == f"old_post/{old_name}"
        assert store.get(recent["code"]).path == f"_posts/{recent_name}"
    moved = archive / "old_post" / old_name
    kept = moved.read_bytes(), moved.stat().st_mtime_ns

    # The feeds again: nothing is fetched, nothing written, the moved post stays moved.
    source.requests.clear()
    time.sleep(0.05)
    second = crawl("eastmoney", archive, settings=settings)
    assert second.returncode == 0, second.stderr[-3000:]
    assert article_requests(source) == []
    assert posts(archive) == [recent_name]
    assert report_of(archive)["skipped_known"] == 2

    # Asked for by code (fetched whatever the store says): the dedup finds it in old_post/.
    third = crawl("eastmoney", archive, settings=settings, args={"codes": old["code"]})
    assert third.returncode == 0, third.stderr[-3000:]
    assert article_requests(source) == [f"/NewsData/GetNewsText.do?id=NW{old['code']}"]
    assert stats(third.stderr)["newscrawler/duplicates/known"] == 1
    assert posts(archive) == [recent_name]
    assert (moved.read_bytes(), moved.stat().st_mtime_ns) == kept
    assert report_of(archive)["new_posts"] == 0


# --------------------------------------------------------------------------- recipes in contrib/


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(path.read_text("utf-8"), source=str(path))
    return parser


def test_systemd_units(tmp_path: Path) -> None:
    service = _unit(CONTRIB / "systemd" / "newscrawler.service")
    timer = _unit(CONTRIB / "systemd" / "newscrawler.timer")
    assert service["Service"]["Type"] == "oneshot"
    workdir = service["Service"]["WorkingDirectory"]
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[0] == f"{workdir}/.venv/bin/scrapy"
    assert command[1:3] == ["crawl", "eastmoney"]
    settings = dict(arg.split("=", 1) for arg in command[3:] if "=" in arg)
    assert settings["ARCHIVE_DIR"].startswith(f"/var/lib/{service['Service']['StateDirectory']}/")
    assert "network-online.target" in service["Unit"]["After"]
    assert service["Service"]["User"]
    assert timer["Timer"]["Unit"] == "newscrawler.service"
    assert timer["Timer"]["OnCalendar"] == "*:0/5"
    assert timer["Install"]["WantedBy"] == "timers.target"

    # .ci/run installs systemd-analyze (Debian's systemd) when it is missing: never skipped.
    analyze = shutil.which("systemd-analyze")
    scrapy = Path(sys.executable).with_name("scrapy")
    assert analyze is not None, "systemd-analyze is needed (apt-get install systemd)"
    assert scrapy.exists(), f"no scrapy script beside {sys.executable}"
    units = tmp_path / "units"
    units.mkdir()
    text = (CONTRIB / "systemd" / "newscrawler.service").read_text("utf-8")
    text = text.replace(f"{workdir}/.venv/bin/scrapy", str(scrapy)).replace(workdir, str(REPO))
    (units / "newscrawler.service").write_text(text, "utf-8")
    shutil.copy(CONTRIB / "systemd" / "newscrawler.timer", units)
    result = subprocess.run(
        [analyze, "verify", str(units / "newscrawler.service"), str(units / "newscrawler.timer")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_distributed_systemd_units(tmp_path: Path) -> None:
    folder = CONTRIB / "distributed"
    writer = _unit(folder / "newscrawler-writer.service")
    worker = _unit(folder / "newscrawler-worker@.service")
    writer_command = shlex.split(writer["Service"]["ExecStart"])
    worker_command = shlex.split(worker["Service"]["ExecStart"])
    assert writer_command[1:3] == ["crawl", "writer"] and worker_command[1:3] == ["crawl", "eastmoney"]
    writer_settings = dict(arg.split("=", 1) for arg in writer_command[3:] if "=" in arg)
    worker_settings = dict(arg.split("=", 1) for arg in worker_command[3:] if "=" in arg)
    assert writer_settings["REDIS_URL"] == worker_settings["REDIS_URL"]
    assert "ARCHIVE_DIR" in writer_settings and "ARCHIVE_DIR" not in worker_settings
    # One STATE_DIR per worker instance (its lock and report), systemd's own folder.
    assert worker_settings["STATE_DIR"] == f"/var/lib/{worker['Service']['StateDirectory']}"
    assert "%i" in worker_settings["STATE_DIR"]
    assert _unit(folder / "newscrawler-writer.timer")["Timer"]["Unit"] == "newscrawler-writer.service"
    assert _unit(folder / "newscrawler-worker@.timer")["Timer"]["Unit"] == "newscrawler-worker@%i.service"

    analyze = shutil.which("systemd-analyze")
    scrapy = Path(sys.executable).with_name("scrapy")
    assert analyze is not None, "systemd-analyze is needed (apt-get install systemd)"
    units = tmp_path / "units"
    units.mkdir()
    names = {
        "newscrawler-writer.service": "newscrawler-writer.service",
        "newscrawler-writer.timer": "newscrawler-writer.timer",
        "newscrawler-worker@.service": "newscrawler-worker@1.service",
        "newscrawler-worker@.timer": "newscrawler-worker@1.timer",
    }
    for source, target in names.items():
        text = (folder / source).read_text("utf-8")
        text = text.replace("/opt/newscrawler/.venv/bin/scrapy", str(scrapy)).replace("/opt/newscrawler", str(REPO))
        (units / target).write_text(text, "utf-8")
    result = subprocess.run(
        [analyze, "verify", *(str(units / name) for name in names.values())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # (redis-server.service, named in After=, is not installed here: ordering on a unit
    # that does not exist is no error.)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load((CONTRIB / "github" / "crawl.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_github_workflow_keys() -> None:
    data = _workflow()
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(on, dict)
    crons = [entry["cron"] for entry in on["schedule"]]
    assert crons == ["*/5 * * * *"]
    assert all(len(cron.split()) == 5 for cron in crons)
    assert "workflow_dispatch" in on
    assert data["permissions"] == {"contents": "write"}
    steps = data["jobs"]["crawl"]["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    crawl_at = next(i for i, run in enumerate(runs) if "scrapy crawl eastmoney" in run)
    commit_at = next(i for i, run in enumerate(runs) if "git commit" in run or " commit " in run)
    assert crawl_at < commit_at
    assert "git push" in runs[commit_at]
    assert steps[commit_at]["if"] == "${{ !cancelled() }}"
    uses = [str(step.get("uses", "")) for step in steps if "uses" in step]
    assert all(re.fullmatch(r"[\w-]+/[\w/-]+@v\d+", u) for u in uses), uses


@pytest.mark.crawl
def test_github_workflow_steps_run_as_written(tmp_path: Path, eastmoney_server: LoopbackServer) -> None:
    """The crawl and commit steps, run by bash as Actions runs them, on a local clone."""
    # .ci/run installs git when it is missing: never skipped.
    assert shutil.which("git") and shutil.which("bash"), "git and bash are needed (apt-get install git)"
    steps = {step.get("name"): step for step in _workflow()["jobs"]["crawl"]["steps"]}
    workspace = tmp_path / "workspace"
    remote = tmp_path / "archive.git"
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "--quiet", "--bare", str(remote)], check=True)
    subprocess.run([*git, "clone", "--quiet", str(remote), str(workspace / "archive")], check=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GITHUB_WORKSPACE": str(workspace),
        "STATE_DIR": str(workspace / ".newscrawler-state"),
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    fixtures = eastmoney_settings(eastmoney_server.url)
    feed = f"{eastmoney_server.url}/feeds/rolling.json"
    crawl_step = str(steps["Crawl"]["run"]).replace(
        "scrapy crawl", f"{shlex.quote(sys.executable)} -m scrapy crawl"
    )
    crawl_step += "".join(f" -s {shlex.quote(f'{k}={v}')}" for k, v in fixtures.items())
    crawl_step += "".join(f" -s {k}={v}" for k, v in {**FAST, "EASTMONEY_FEEDS": shlex.quote(feed)}.items())
    result = subprocess.run(
        ["bash", "-e", "-c", crawl_step],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = posts(workspace / "archive")
    assert written
    assert (workspace / ".newscrawler-state" / "last-run.json").is_file()

    commit_step = str(steps["Commit the new posts"]["run"])
    for _ in range(2):  # the second time there is nothing to commit
        result = subprocess.run(
            ["bash", "-e", "-c", commit_step],
            cwd=workspace / "archive",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing new to commit" in result.stdout
    log = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "--format=%s", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert log[:3] == ["newscrawler:", str(len(written)), "new"]
    assert sorted(p.removeprefix("_posts/") for p in log if p.startswith("_posts/")) == written


def _crontab_command() -> tuple[list[str], str]:
    lines = [
        line
        for line in (CONTRIB / "cron" / "newscrawler.crontab").read_text("utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    return fields[:5], fields[5]


@pytest.mark.crawl
def test_crontab_line_runs_as_written(tmp_path: Path, eastmoney_server: LoopbackServer) -> None:
    schedule, command = _crontab_command()
    assert schedule == ["*/5", "*", "*", "*", "*"]
    assert "%" not in command  # cron would turn it into a newline
    assert command.startswith(
        "cd /opt/newscrawler && mkdir -p /var/log/newscrawler && { .venv/bin/scrapy crawl eastmoney "
    )
    archive, logs = tmp_path / "archive", tmp_path / "logs"  # the log folder does not exist yet
    log = logs / "crawl.log"
    command = (
        command.replace("cd /opt/newscrawler", f"cd {shlex.quote(str(REPO))}")
        .replace(".venv/bin/scrapy", f"{shlex.quote(sys.executable)} -m scrapy")
        .replace("/srv/finews", str(archive))
        .replace("/var/log/newscrawler/crawl.log", str(log))
        .replace("/var/log/newscrawler", str(logs))
    )
    extra = "".join(
        f" -s {shlex.quote(f'{k}={v}')}"
        for k, v in {**eastmoney_settings(eastmoney_server.url), **FAST}.items()
    )
    command = command.replace(" -s LOG_FILE=", f"{extra} -s EASTMONEY_FEEDS=%s -s LOG_FILE=")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(feed: str) -> subprocess.CompletedProcess[str]:
        line = command.replace("%s", shlex.quote(f"{eastmoney_server.url}/{feed}"))
        return subprocess.run(
            ["/bin/sh", "-c", line], env=env, capture_output=True, text=True, timeout=180, check=False
        )

    quiet = run("feeds/rolling.json")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert "Run summary: eastmoney finished" in log.read_text("utf-8")
    loud = run("feeds/gone.json")
    assert loud.stdout == f"newscrawler: scrapy crawl exited with status 69, see {log}\n"
    with RunLock(archive / STATE / "lock"):  # the previous run still going: 75, nothing to mail
        busy = run("feeds/rolling.json")
    assert (busy.stdout, busy.stderr) == ("", "")


@pytest.mark.crawl
def test_scrapyd_can_load_the_project_egg(tmp_path: Path, eastmoney_server: LoopbackServer) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("scrapy.cfg", "setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, project)
    shutil.copytree(
        REPO / "newscrawler", project / "newscrawler", ignore=shutil.ignore_patterns("__pycache__")
    )
    egg = tmp_path / "newscrawler.egg"
    built = subprocess.run(
        [sys.executable, "-m", "scrapyd_client.deploy", "--build-egg", str(egg)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    with zipfile.ZipFile(egg) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode("utf-8")
    assert {
        "newscrawler/settings.py",
        "newscrawler/commands/crawl.py",
        "newscrawler/spiders/eastmoney.py",
    } <= names
    parser = configparser.ConfigParser()
    parser.read_string(entry_points)
    settings_module = parser["scrapy"]["settings"]
    assert settings_module == "newscrawler.settings"

    # As Scrapyd's runner does: the egg on sys.path, the settings module from its entry point.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import newscrawler.settings as s; "
        "print(s.__file__); print(s.COMMANDS_MODULE)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe, str(egg)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.splitlines() == [str(egg / "newscrawler" / "settings.py"), "newscrawler.commands"]
    env |= {"PYTHONPATH": str(egg), "SCRAPY_SETTINGS_MODULE": settings_module}
    listed = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.split() == ["eastmoney", "finews", "writer"]
    archive_dir = tmp_path / "archive"
    command = [sys.executable, "-m", "scrapy", "crawl", "eastmoney", "-a", "_job=0123abcd"]
    command += ["-a", "codes=202203282325310457", "-s", f"ARCHIVE_DIR={archive_dir}"]
    for name, value in {**eastmoney_settings(eastmoney_server.url), **FAST}.items():
        command += ["-s", f"{name}={value}"]
    crawled = subprocess.run(
        command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    assert posts(archive_dir) == ["2022-03-28-NW202203282325310457.md"]
    assert report_of(archive_dir)["exit_status"] == 0


# --------------------------------------------------------------------------- interrupted runs


def _start_crawl(archive: Path, settings: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "eastmoney", "-s", f"ARCHIVE_DIR={archive}"]
    for name, value in {**FAST, "LOG_LEVEL": "INFO", "EASTMONEY_ARTICLE_API_URL": "", **settings}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        command, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )


def _wait_for_article_requests(source: LoopbackServer, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not any("GetNewsText" in path for path in source.requests):
        assert process.poll() is None, "the crawl ended before it asked for an article"
        assert time.monotonic() < deadline, "no article request within 60 s"
        time.sleep(0.05)


@pytest.mark.crawl
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_run_stopped_by_a_signal_exits_130_and_says_so(
    tmp_path: Path, source: LoopbackServer, signal_name: str
) -> None:
    import signal

    archive = tmp_path / "archive"
    day = today_beijing() - timedelta(days=1)
    write_source(source.root, [article(day, n) for n in range(1, 6)])
    source.delay, source.delay_match = 3.0, "GetNewsText"  # articles are slow: the run is mid-way
    process = _start_crawl(archive, settings_for(source))
    _wait_for_article_requests(source, process)
    process.send_signal(getattr(signal, signal_name))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitStatus.INTERRUPTED == 130, stderr[-3000:]
    report = report_of(archive)
    assert (report["status"], report["exit_status"], report["interrupted"]) == ("interrupted", 130, True)
    assert "exit status 130 (interrupted)" in stderr


@pytest.mark.crawl
def test_a_killed_run_leaves_no_report_that_claims_to_be_its(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    import signal

    archive = tmp_path / "archive"
    day = today_beijing() - timedelta(days=1)
    write_source(source.root, [article(day, 1)])
    assert crawl("eastmoney", archive, settings=settings_for(source)).returncode == 0
    assert report_of(archive)["status"] == "ok"
    write_source(source.root, [article(day, n) for n in range(1, 6)])
    source.delay, source.delay_match = 3.0, "GetNewsText"
    source.requests.clear()
    process = _start_crawl(archive, settings_for(source))
    _wait_for_article_requests(source, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    report = report_of(archive)
    assert report["status"] == "running" and report["exit_status"] is None
    assert report["pid"] == process.pid


@pytest.mark.crawl
def test_the_report_lists_lost_articles_and_those_refused_before(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    day = today_beijing() - timedelta(days=1)
    good, undated, missing = article(day, 1), {**article(day, 2), "datetime": "not a date"}, article(day, 3)
    write_source(source.root, [good, undated, missing])
    (source.root / "NewsData" / f"GetNewsText.do@id=NW{missing['code']}").unlink()  # no text anywhere
    first = crawl("eastmoney", archive, settings=settings_for(source))
    assert first.returncode == 0, first.stderr[-3000:]
    lost = {entry["code"]: entry for entry in report_of(archive)["lost"]}
    assert set(lost) == {undated["code"], missing["code"]}
    assert lost[undated["code"]]["reason"] == "dropped/bad_date"
    assert lost[missing["code"]]["reason"].startswith("no_text: ")
    assert lost[missing["code"]]["url"].endswith(f"/a/{missing['code']}.html")
    second = crawl("eastmoney", archive, settings=settings_for(source))
    assert second.returncode == 0, second.stderr[-3000:]
    report = report_of(archive)
    assert report["skipped_rejected"] == [
        {
            "code": undated["code"],
            "reason": "dropped/bad_date",
            "retry": f"scrapy crawl eastmoney -a codes={undated['code']}",
        }
    ]
    assert [entry["code"] for entry in report["lost"]] == [missing["code"]]  # asked again, still lost
    assert "to try one again: scrapy crawl eastmoney -a codes=CODE" in second.stderr
