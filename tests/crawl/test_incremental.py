"""Dedup and incremental runs: crawls over a source tree the test writes and changes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newscrawler.dev.server import LoopbackServer
from tests.conftest import REPO, CrawlRunner, eastmoney_settings

pytestmark = pytest.mark.crawl

OUTLETS = ["深圳新闻网", "财联社", "每日经济新闻"]


def article(n: int, *, outlet: str | None = None, text: str | None = None, day: int = 10) -> dict[str, str]:
    code = f"202205{day:02d}13800{n:05d}"
    return {
        "code": code,
        "title": f"第{n}号新闻：公司公告经营情况",
        "outlet": outlet or OUTLETS[n % len(OUTLETS)],
        "datetime": f"2022-05-{day:02d} {8 + n % 10:02d}:{n % 60:02d}:00",
        "text": text
        or (
            f"<p>　　第{n}号公司今日发布公告称，一季度实现营业收入{n * 7 + 13}亿元，同比增长{n % 40 + 3}%。"
            f"净利润{n * 3 + 2}亿元，董事会建议每10股派发现金红利{n % 9 + 1}元。</p>\r\n"
            f"<p>　　公司表示，将继续加大研发投入，第{n}期项目预计{n % 12 + 1}月投产。</p>"
            f'<p class="em_media">（文章来源：{outlet or OUTLETS[n % len(OUTLETS)]}）</p>'
        ),
    }


def write_source(root: Path, articles: list[dict[str, str]]) -> None:
    """A media feed at ``feeds/media.json`` and a text-API answer per article."""
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    (root / "NewsData").mkdir(parents=True, exist_ok=True)
    record = [
        {
            "title": a["title"],
            "datetime": a["datetime"],
            "medianame": a["outlet"],
            "infoCode": "NW" + a["code"],
        }
        for a in articles
    ]
    (root / "feeds" / "media.json").write_text(json.dumps({"record": record}, ensure_ascii=False), "utf-8")
    for a in articles:
        answer = root / "NewsData" / f"GetNewsText.do@id=NW{a['code']}"
        answer.write_text(json.dumps({"text": a["text"]}, ensure_ascii=False), "utf-8")
        answer.with_name(answer.name + ".headers").write_text("Content-Type: application/json\n", "utf-8")


def settings_for(server: LoopbackServer, **extra: str) -> dict[str, str]:
    return {**eastmoney_settings(server.url), "EASTMONEY_FEEDS": f"{server.url}/feeds/media.json", **extra}


def snapshot(archive: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(archive)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(archive.rglob("*"))
        if p.is_file() and ".newscrawler" not in p.parts
    }


def article_requests(server: LoopbackServer) -> list[str]:
    return [r for r in server.requests if "GetNewsText" in r or r.startswith("/a/")]


def stats(stderr: str, name: str) -> int:
    marker = f"'newscrawler/{name}': "
    if marker not in stderr:
        return 0
    return int(stderr.split(marker, 1)[1].split(",", 1)[0].split("}", 1)[0])


def test_second_run_fetches_nothing_and_rewrites_nothing(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    write_source(source.root, [article(n) for n in range(1, 7)])
    first = crawl("eastmoney", archive, settings=settings_for(source))
    assert first.returncode == 0, first.stderr[-2000:]
    assert len(list((archive / "_posts").glob("*.md"))) == 6
    before = snapshot(archive)
    source.requests.clear()
    time.sleep(0.05)  # so that a rewrite would show in the mtimes

    second = crawl("eastmoney", archive, settings=settings_for(source))
    assert second.returncode == 0, second.stderr[-2000:]
    assert source.requests == ["/feeds/media.json"]
    assert article_requests(source) == []
    assert snapshot(archive) == before
    assert stats(second.stderr, "skipped/known") == 6
    report = json.loads((archive / ".newscrawler" / "last-run.json").read_text("utf-8"))
    assert report["new_posts"] == 0
    assert report["skipped_known"] == 6

    # Two new articles in the feed: only those are fetched.
    write_source(source.root, [article(n) for n in range(1, 9)])
    source.requests.clear()
    third = crawl("eastmoney", archive, settings=settings_for(source))
    assert third.returncode == 0, third.stderr[-2000:]
    assert sorted(article_requests(source)) == sorted(
        f"/NewsData/GetNewsText.do?id=NW{article(n)['code']}" for n in (7, 8)
    )
    after = snapshot(archive)
    assert {k: v for k, v in after.items() if k in before} == before
    report = json.loads((archive / ".newscrawler" / "last-run.json").read_text("utf-8"))
    assert report["new_posts"] == 2
    assert sorted(report["new_post_paths"]) == sorted(
        set(after) - set(before) - {p for p in after if p.startswith("category/")}
    )


def test_same_text_under_another_code_is_one_post(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    original = article(1)
    copy = {**article(2), "outlet": original["outlet"], "text": original["text"].replace("\r\n", "\n")}
    near = {**article(3), "text": original["text"] + "<p>（责任编辑：王五）</p>"}
    different = article(4)
    write_source(source.root, [original, copy, near, different])
    result = crawl("eastmoney", archive, settings=settings_for(source))
    assert result.returncode == 0, result.stderr[-2000:]
    posts = sorted(p.name for p in (archive / "_posts").glob("*.md"))
    assert len(posts) == 2, posts
    same_story = [p for p in posts if any(a["code"] in p for a in (original, copy, near))]
    assert len(same_story) == 1
    assert any(different["code"] in p for p in posts)
    assert (
        stats(result.stderr, "duplicates/content_exact") + stats(result.stderr, "duplicates/content_near")
        == 2
    )


def test_template_flashes_are_not_merged(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    questions = ["公司产品是否应用于新能源汽车？", "公司今年分红计划如何？", "公司是否有回购股份的计划？"]
    flashes = [
        article(n, text=f"<p>每经AI快讯，有投资者在投资者互动平台提问：{q}</p>")
        for n, q in enumerate(questions, start=1)
    ]
    write_source(source.root, flashes)
    result = crawl("eastmoney", archive, settings=settings_for(source))
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list((archive / "_posts").glob("*.md"))) == 3


def test_existing_archive_is_bootstrapped_and_its_slugs_reused(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    old = archive / "old_post"
    old.mkdir(parents=True)
    known = article(1, outlet="深圳新闻网")
    # An old-script post: custom slug, CRLF inside, no +0800, no final newline, old footer.
    old_post = (
        '---\r\nlayout: post\r\ntitle: "旧标题"\r\ndate: 2022-05-10 09:01:00\r\ncategories: szxww\r\n'
        "tags: 深圳新闻网新闻\r\n---\r\n<p>旧正文</p>\r\n\r\n"
        f"<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{known['code']}>\r\n\r\n"
        "[返回深圳新闻网新闻](../category/szxww.html)\r\n[返回首页](../)"
    )
    old_file = old / f"2022-05-10-NW{known['code']}.md"
    old_file.write_bytes(old_post.encode("utf-8"))
    (archive / "_posts").mkdir()
    empty_date = archive / "_posts" / "-202205101380000099.md"
    empty_date.write_text(
        '---\nlayout: post\ntitle: "x"\ndate:  +0800\ncategories: emnews\ntags: 东财滚动新闻\n---\n\n正文',
        "utf-8",
    )
    before = snapshot(archive)
    new = article(2, outlet="深圳新闻网")
    write_source(source.root, [known, new])

    result = crawl("eastmoney", archive, settings=settings_for(source))
    assert result.returncode == 0, result.stderr[-2000:]
    assert article_requests(source) == [f"/NewsData/GetNewsText.do?id=NW{new['code']}"]
    after = snapshot(archive)
    assert {k: v for k, v in after.items() if k in before} == before  # old files untouched
    text = (archive / "_posts" / f"2022-05-10-NW{new['code']}.md").read_text("utf-8")
    assert "categories: szxww\n" in text
    assert "[返回深圳新闻网新闻](//finews.withounder.com/category/szxww.html)" in text
    assert (archive / "category" / "szxww.html").is_file()


def _slow_source(source: LoopbackServer, count: int) -> None:
    write_source(source.root, [article(n) for n in range(1, count + 1)])
    source.delay = 0.25
    source.delay_match = "GetNewsText"


def _popen_crawl(archive: Path, settings: dict[str, str]) -> subprocess.Popen[bytes]:
    """A crawl in the background; its log goes to ``<archive>.log`` (a pipe could fill up)."""
    command = [sys.executable, "-m", "scrapy", "crawl", "eastmoney", "-s", f"ARCHIVE_DIR={archive}"]
    for name, value in {"LOG_LEVEL": "INFO", "CONCURRENT_REQUESTS": "1", **settings}.items():
        command += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with archive.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)


def _wait_for_posts(archive: Path, count: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list((archive / "_posts").glob("*.md"))) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"crawl ended early: {archive.with_suffix('.log').read_text('utf-8')[-2000:]}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("no posts appeared")


def test_killed_run_is_completed_by_the_next(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    _slow_source(source, 16)
    process = _popen_crawl(archive, settings_for(source))
    _wait_for_posts(archive, 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    written_before = len(list((archive / "_posts").glob("*.md")))
    assert written_before < 16

    source.delay = 0
    source.requests.clear()
    result = crawl("eastmoney", archive, settings=settings_for(source))
    assert result.returncode == 0, result.stderr[-2000:]
    posts = sorted(p.name for p in (archive / "_posts").glob("*.md"))
    assert posts == sorted(f"2022-05-10-NW{article(n)['code']}.md" for n in range(1, 17))
    assert not [p for p in archive.rglob("*") if p.name.endswith(".tmp")]
    # Posts the killed run finished are not fetched again (at most the one in flight).
    assert len(article_requests(source)) <= 16 - written_before + 1


def test_second_concurrent_run_exits_at_once(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    _slow_source(source, 12)
    first = _popen_crawl(archive, settings_for(source))
    try:
        _wait_for_posts(archive, 1, first)
        (source.root / "feeds" / "other.json").write_text('{"record": []}', "utf-8")
        started = time.monotonic()
        second = crawl(
            "eastmoney",
            archive,
            settings={**settings_for(source), "EASTMONEY_FEEDS": f"{source.url}/feeds/other.json"},
        )
        elapsed = time.monotonic() - started
        assert second.returncode != 0
        assert "another run is using this archive" in second.stderr
        assert "/feeds/other.json" not in source.requests
        assert elapsed < 30
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    report = json.loads((archive / ".newscrawler" / "last-run.json").read_text("utf-8"))
    assert report["new_posts"] == 12


def test_refused_articles_are_not_fetched_again(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    original = article(1)
    duplicate = {**article(2), "outlet": original["outlet"], "text": original["text"]}
    bad_date = {**article(3), "datetime": "昨天"}
    no_outlet = {**article(4), "outlet": "：：："}
    empty = {**article(5), "text": "<script>alert(1)</script><p>　　</p>"}
    write_source(source.root, [original, duplicate, bad_date, no_outlet, empty])
    first = crawl("eastmoney", archive, settings=settings_for(source, CONCURRENT_REQUESTS="1"))
    assert first.returncode == 0, first.stderr[-2000:]
    assert len(list((archive / "_posts").glob("*.md"))) == 1
    for counter in (
        "duplicates/content_exact",
        "dropped/bad_date",
        "dropped/no_outlet",
        "dropped/empty_body",
    ):
        assert stats(first.stderr, counter) == 1, counter

    source.requests.clear()
    second = crawl("eastmoney", archive, settings=settings_for(source))
    assert second.returncode == 0, second.stderr[-2000:]
    assert article_requests(source) == []
    assert stats(second.stderr, "skipped/known") == 1
    assert stats(second.stderr, "skipped/rejected") == 4

    # Asked for by code, a refused article is fetched again (and refused again).
    source.requests.clear()
    third = crawl(
        "eastmoney", archive, settings=settings_for(source), args={"codes": "NW" + bad_date["code"]}
    )
    assert third.returncode == 0, third.stderr[-2000:]
    assert article_requests(source)


def test_posts_copied_in_by_hand_are_learned_by_a_rescan(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    """An ordinary run reads only the write journal, never the whole archive; a post copied
    in by hand is learned with ``ARCHIVE_RESCAN`` (and would otherwise be fetched again and
    found unchanged: nothing lost either way)."""
    archive, other = tmp_path / "archive", tmp_path / "other"
    write_source(source.root, [article(1), article(2)])
    assert crawl("eastmoney", other, settings=settings_for(source)).returncode == 0
    assert crawl("eastmoney", archive, settings=settings_for(source, EASTMONEY_FEEDS="")).returncode == 0
    by_hand = sorted((other / "_posts").glob("*.md"))
    for post in by_hand:
        (archive / "_posts").mkdir(exist_ok=True)
        (archive / "_posts" / post.name).write_bytes(post.read_bytes())
    source.requests.clear()
    result = crawl("eastmoney", archive, settings=settings_for(source, ARCHIVE_RESCAN="True"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert article_requests(source) == []
    report = json.loads((archive / ".newscrawler" / "last-run.json").read_text("utf-8"))
    assert (report["reconciled_posts"], report["skipped_known"], report["new_posts"]) == (2, 2, 0)
    assert "Recorded 2 posts found on disk but missing from the store" in result.stderr
