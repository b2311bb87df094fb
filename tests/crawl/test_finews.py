"""End to end: ``scrapy crawl finews`` as a subprocess against the rendered fixture site.

The site (``tests/fixtures/finews/site``, see its README) and, for ``follow_shares``, a few
originals (``tests/fixtures/finews/originals``) are served on 127.0.0.1 by
:class:`LoopbackServer`. What each post page holds is the parser's expected JSON
(``tests/fixtures/finews/expected``); these tests check what the crawl makes of it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from scrapy.exceptions import UsageError
from w3lib.html import remove_tags, replace_entities

from newscrawler.archive.layout import DEFAULT_STATE_SUBDIR, REPORT_FILE
from newscrawler.archive.post import digest_text, normalize_title
from newscrawler.dev.server import LoopbackServer
from newscrawler.ids import is_code
from newscrawler.sources.finews import FinewsPostParser
from newscrawler.spiders.finews import FinewsSpider
from tests.conftest import FIXTURES, CrawlRunner, eastmoney_settings

pytestmark = pytest.mark.crawl

FINEWS = FIXTURES / "finews"
SITE_DIR = FINEWS / "site"
ORIGINALS_DIR = FINEWS / "originals"
EXPECTED_DIR = FINEWS / "expected"
SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{code}"
#: The back-link root the tests write with: anything from the crawled site's hosts would show.
BACKUP_SITE = "//backup.example.org"

#: One post per article code: every outlet and rolling-news post of the site, the
#: cailianshe/emnews pair 202204212352239901 once (as the outlet post), ``init`` not at all.
EXPECTED_FILES = [
    "_posts/2021-12-08-202112081206610002.md",
    "_posts/2021-12-08-202112081206920001.md",
    "_posts/2022-02-11-NW202202112274019935.md",
    "_posts/2022-02-14-NW202202142276543210.md",
    "_posts/2022-03-28-NW202203282325207001.md",
    "_posts/2022-03-29-NW202203291326108842.md",
    "_posts/2022-04-15-NW202204151346543210.md",
    "_posts/2022-04-18-NW202204181349876543.md",
    "_posts/2022-04-19-NW202204191350001234.md",
    "_posts/2022-04-20-NW202204202351117702.md",
    "_posts/2022-04-21-NW202204212352239901.md",
    "_posts/2022-04-21-NW202204212352240011.md",
    "_posts/2022-04-22-202204222353301234.md",
    "_posts/2022-04-22-NW202204222353400022.md",
]
#: Linked only from page 2 of the paginated cailianshe category.
PAGE2_ONLY = ["_posts/2022-04-15-NW202204151346543210.md", "_posts/2022-04-18-NW202204181349876543.md"]
CATEGORIES = {"cailianshe": "财联社", "meirijingjixinwen": "每日经济新闻", "shenzhenxinwenwang": "深圳新闻网"}
#: Codes with an original in tests/fixtures/finews/originals, and where it comes from.
ORIGINALS = {
    "202203282325207001": "text_api",
    "202204212352239901": "text_api",
    "202204222353301234": "article_page",
}
ORIGINAL_ONLY = "原文独有"
#: The errors a follow_shares crawl of the site counts (the originals server lacks most articles).
FOLLOW_SHARES_ERRORS = {"text_api_http_404", "article_page_http_404", "article_page_no_article"}
BOTH_KINDS_CODE = "202204212352239901"


# --- helpers ------------------------------------------------------------------------------


def _serve(root: Path) -> Iterator[LoopbackServer]:
    with LoopbackServer(root).running() as server:
        yield server


@pytest.fixture
def site_server() -> Iterator[LoopbackServer]:
    yield from _serve(SITE_DIR)


@pytest.fixture
def originals_server() -> Iterator[LoopbackServer]:
    yield from _serve(ORIGINALS_DIR)


def _expected_posts() -> dict[str, dict[str, Any]]:
    """Post file -> the article the parser reads from the site page that should become it:
    one per article code, the outlet post when a code is both an outlet and an emnews post."""
    by_code: dict[str, dict[str, Any]] = {}
    for path in sorted(EXPECTED_DIR.glob("*.json")):
        article = json.loads(path.read_text("utf-8")).get("article")
        if not article or not is_code(article["code"]):
            continue
        current = by_code.get(article["code"])
        if current is None or (current["kind"] == "emnews" and article["kind"] == "outlet"):
            by_code[article["code"]] = article
    found: dict[str, dict[str, Any]] = {}
    for article in by_code.values():
        post_id = f"NW{article['code']}" if article["kind"] == "outlet" else article["code"]
        found[f"_posts/{article['date_raw'][:10]}-{post_id}.md"] = article
    return found


EXPECTED = _expected_posts()


def _posts(archive: Path) -> list[str]:
    return sorted(p.relative_to(archive).as_posix() for p in (archive / "_posts").glob("*.md"))


def _report(archive: Path) -> dict[str, Any]:
    """The run report of the archive's last run (``<archive>/.newscrawler/last-run.json``)."""
    return json.loads((archive / DEFAULT_STATE_SUBDIR / REPORT_FILE).read_text("utf-8"))


def _stats(stderr: str) -> dict[str, int]:
    """The integer stats of the crawl's final stats dump."""
    dump = stderr.rsplit("Dumping Scrapy stats:", 1)[-1]
    return {name: int(value) for name, value in re.findall(r"'([\w/.-]+)': (\d+)[,}]", dump)}


def _plain(html: str) -> str:
    return re.sub(r"[\s\u3000]+", "", remove_tags(replace_entities(html)))


def _site_settings(**extra: str) -> dict[str, str]:
    return {"ARCHIVE_SITE": BACKUP_SITE, **extra}


def _check_post(archive: Path, name: str, article: dict[str, Any], *, original: bool = False) -> str:
    """Check one post file against the post format and the archived page it was made from."""
    text = (archive / name).read_text("utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\r" not in text
    lines = text.split("\n")
    assert lines[0] == "---"
    assert lines[1] == "layout: post"
    title = yaml.safe_load(lines[2])["title"]
    assert title == normalize_title(article["title"]) and title
    assert lines[3] == f"date: {article['date_raw']} +0800"
    code = article["code"]
    if article["kind"] == "emnews":
        assert lines[4] == "categories: emnews"
        assert lines[5] == "tags: 东财滚动新闻"
        source = article["source_url"]
        back = f"[返回东财滚动新闻]({BACKUP_SITE}/emnews/)｜[返回首页]({BACKUP_SITE}/)"
    else:
        assert lines[4] == f"categories: {article['slug']}"
        assert lines[5] == f"tags: {article['outlet']}新闻"
        source = SHARE.format(code=code)
        back = f"[返回{article['outlet']}新闻]({BACKUP_SITE}/category/{article['slug']}.html)｜[返回首页]({BACKUP_SITE}/)"
    assert lines[6] == "---"
    assert lines[-4] == f"<{source}>"
    assert lines[-3] == ""
    assert lines[-2] == back
    assert lines[-1] == ""
    # The site's own source line and back links are not carried into the body: regenerated once.
    assert text.count(source) == 1
    assert text.count("返回首页") == 1
    assert text.count(f"]({BACKUP_SITE}") == 2
    for host in ("withounder", "zning.me", "127.0.0.1"):
        assert host not in text
    body = "\n".join(lines[7:-4])
    for bad in ("<script", "<!--", "display:none", "keytip", "\u3000\u3000", "EM_StockImg", "<small"):
        assert bad not in body
    if article["kind"] == "emnews" and article["digest"]:
        assert body.startswith(f"> {digest_text(article['digest'])}\n\n<")
    else:
        assert body.startswith("<")
    if not original:
        assert _plain(article["body_raw"])[:12] in _plain(body)
    return body


# --- the whole site -------------------------------------------------------------------------


def test_expected_files_match_the_fixture_site() -> None:
    assert sorted(EXPECTED) == EXPECTED_FILES


def test_crawl_writes_every_post_once(
    tmp_path: Path, site_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    result = crawl(
        "finews",
        archive,
        args={"start_url": f"{site_server.url}/"},
        settings=_site_settings(LOG_LEVEL="DEBUG"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _posts(archive) == EXPECTED_FILES
    for name, article in EXPECTED.items():
        _check_post(archive, name, article)
    assert set(PAGE2_ONLY) <= set(_posts(archive))
    assert "/category/cailianshe/page2.html" in site_server.requests
    assert sorted(p.name for p in (archive / "category").iterdir()) == sorted(f"{s}.html" for s in CATEGORIES)
    for slug, outlet in CATEGORIES.items():
        page = (archive / "category" / f"{slug}.html").read_text("utf-8")
        assert page == f"---\nlayout: category\ntitle: {outlet}新闻\ncategory: {slug}\n---\n"
    assert not list(archive.rglob(".*.tmp"))

    stats = _stats(result.stderr)
    assert stats["newscrawler/posts/written"] == len(EXPECTED_FILES)
    assert stats["newscrawler/categories/written"] == len(CATEGORIES)
    assert stats["newscrawler/dropped/bad_code"] == 1  # the site's "init" post: no article code
    assert stats["newscrawler/finews/post_without_code"] == 1
    assert stats["newscrawler/duplicates/finews_same_code"] == 1
    assert not [name for name in stats if name.startswith("newscrawler/errors/")]
    # The rolling-news twin of an outlet post is not even fetched; the outlet post is the one written.
    assert f"/emnews/2022/04/21/{BOTH_KINDS_CODE}.html" not in site_server.requests
    assert f"/cailianshe/2022/04/21/NW{BOTH_KINDS_CODE}.html" in site_server.requests

    # Requests never left the loopback server: everything downloaded was served by it.
    assert stats["downloader/request_count"] == len(site_server.requests)
    assert "offsite/filtered" not in stats
    crawled = re.findall(r"Crawled \(\d+\) <GET (\S+)>", result.stderr)
    assert len(crawled) == len(site_server.requests)
    assert all(url.startswith(f"{site_server.url}/") for url in crawled)
    assert "withounder.com/" not in "\n".join(
        line for line in result.stderr.splitlines() if "Crawled" in line or "offsite" in line.lower()
    )
    assert len(site_server.requests) == len(set(site_server.requests))  # each page once


def test_follow_shares_uses_originals_and_falls_back_to_the_archive(
    tmp_path: Path, site_server: LoopbackServer, originals_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    result = crawl(
        "finews",
        archive,
        args={"start_url": f"{site_server.url}/", "follow_shares": "true"},
        settings=_site_settings(**eastmoney_settings(originals_server.url)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _posts(archive) == EXPECTED_FILES
    for name, article in EXPECTED.items():
        original = article["code"] in ORIGINALS
        body = _check_post(archive, name, article, original=original)
        assert (ORIGINAL_ONLY in body) == original, name

    stats = _stats(result.stderr)
    fallbacks = len(EXPECTED_FILES) - len(ORIGINALS)
    assert stats["newscrawler/fallback/archive_page"] == fallbacks
    assert stats["newscrawler/text/from_text_api"] == 2
    assert stats["newscrawler/text/from_article_page"] == 1
    assert stats["newscrawler/fallback/text_api_no_text"] == 1
    assert stats["newscrawler/posts/written"] == len(EXPECTED_FILES)
    assert stats["newscrawler/dropped/bad_code"] == 1
    assert "newscrawler/errors/no_text" not in stats
    assert {n: v for n, v in stats.items() if n.startswith("newscrawler/errors/")} == {
        "newscrawler/errors/text_api_http_404": fallbacks,
        "newscrawler/errors/article_page_http_404": fallbacks - 1,
        # a "page not found" page served with status 200: no article in it, the archive is kept
        "newscrawler/errors/article_page_no_article": 1,
    }
    # One text-API request per article code, the article page only when the API had nothing.
    text_requests = [r for r in originals_server.requests if r.startswith("/NewsData/")]
    assert len(text_requests) == len(set(text_requests)) == len(EXPECTED_FILES)
    page_requests = [r for r in originals_server.requests if r.startswith("/a/")]
    assert len(page_requests) == fallbacks + 1
    assert "/a/202204222353400022.html" in page_requests
    assert stats["downloader/request_count"] == len(site_server.requests) + len(originals_server.requests)


@pytest.mark.parametrize("follow_shares", [False, True], ids=["archive", "follow_shares"])
def test_second_run_over_the_same_archive_adds_nothing(
    tmp_path: Path,
    site_server: LoopbackServer,
    crawl: CrawlRunner,
    request: pytest.FixtureRequest,
    follow_shares: bool,
) -> None:
    archive = tmp_path / "archive"
    settings = _site_settings()
    args = {"start_url": f"{site_server.url}/"}
    if follow_shares:
        originals: LoopbackServer = request.getfixturevalue("originals_server")
        settings.update(eastmoney_settings(originals.url))
        args["follow_shares"] = "yes"

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {
            p.relative_to(archive).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in archive.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(archive).parts)
        }

    first = crawl("finews", archive, args=args, settings=settings)
    assert first.returncode == 0, first.stderr[-3000:]
    before = snapshot()
    assert sorted(n for n in before if n.startswith("_posts/")) == EXPECTED_FILES
    first_report = _report(archive)
    assert first_report["new_posts"] == len(EXPECTED_FILES)
    (archive / DEFAULT_STATE_SUBDIR / REPORT_FILE).unlink()  # the report read below is the second run's
    second = crawl("finews", archive, args=args, settings=settings)
    assert second.returncode == 0, second.stderr[-3000:]
    assert snapshot() == before
    stats = _stats(second.stderr)
    assert stats.get("newscrawler/posts/written", 0) == 0
    assert stats.get("newscrawler/categories/written", 0) == 0
    assert not list(archive.rglob(".*.tmp"))
    # Nothing written, and not because nothing was read: the second run's report says it
    # read every listing page again and found every post it links already archived.
    report = _report(archive)
    assert (report["finish_reason"], report["exit_status"], report["errors"]) == ("finished", 0, {})
    assert report["new_posts"] == 0 and report["new_post_paths"] == []
    listing_pages = report["counters"]["newscrawler/finews/listing_pages"]
    assert listing_pages == first_report["counters"]["newscrawler/finews/listing_pages"] > 1
    # Every post of the site and the rolling-news twin of BOTH_KINDS_CODE: known, not fetched;
    # only the "init" post (no article code, so never known) is fetched and dropped again.
    assert report["skipped_known"] == len(EXPECTED_FILES) + 1
    assert report["counters"]["newscrawler/finews/post_pages"] == 1
    assert report["dropped"] == {"bad_code": 1}


def test_paused_and_resumed_crawl_loses_nothing(
    tmp_path: Path, site_server: LoopbackServer, originals_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    """JOBDIR: a crawl stopped every few pages and resumed until it finishes writes the same posts
    (the deferred rolling-news pages, the codes already written and the archived copies of the
    posts whose originals are being fetched survive the pauses)."""
    archive = tmp_path / "archive"
    settings = _site_settings(
        JOBDIR=str(tmp_path / "job"),
        CLOSESPIDER_PAGECOUNT="6",
        CONCURRENT_REQUESTS="2",
        **eastmoney_settings(originals_server.url),
    )
    args = {"start_url": f"{site_server.url}/", "follow_shares": "true"}
    reasons = []
    reports: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for _ in range(20):
        (archive / DEFAULT_STATE_SUBDIR / REPORT_FILE).unlink(missing_ok=True)  # each run writes its own
        result = crawl("finews", archive, args=args, settings=settings)
        assert result.returncode == 0, result.stderr[-3000:]
        reason = re.search(r"'finish_reason': '(\w+)'", result.stderr)
        assert reason, result.stderr[-3000:]
        reasons.append(reason.group(1))
        reports.append(_report(archive))
        for name, value in _stats(result.stderr).items():
            totals[name] = totals.get(name, 0) + value
        if reasons[-1] == "finished":
            break
    assert reasons[-1] == "finished" and len(reasons) > 2, reasons
    assert _posts(archive) == EXPECTED_FILES
    for name, article in EXPECTED.items():
        original = article["code"] in ORIGINALS
        assert (ORIGINAL_ONLY in _check_post(archive, name, article, original=original)) == original
    assert totals["newscrawler/posts/written"] == len(EXPECTED_FILES)
    assert totals["newscrawler/fallback/archive_page"] == len(EXPECTED_FILES) - len(ORIGINALS)
    assert totals.get("scheduler/unserializable", 0) == 0
    # The runs' own reports agree: each post written by exactly one of them, the last one finished.
    assert [r["finish_reason"] for r in reports] == reasons
    assert sorted(path for r in reports for path in r["new_post_paths"]) == EXPECTED_FILES
    assert all(set(r["errors"]) <= FOLLOW_SHARES_ERRORS for r in reports)
    assert f"/emnews/2022/04/21/{BOTH_KINDS_CODE}.html" not in site_server.requests


# --- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_url", "message"),
    [
        (None, "start_url argument is required"),
        ("", "start_url argument is required"),
        ("finews.withounder.com", "must be an absolute http(s) URL"),
        ("ftp://127.0.0.1/", "must be an absolute http(s) URL"),
        ("http:///emnews/", "must be an absolute http(s) URL"),
    ],
)
def test_start_url_is_required(
    tmp_path: Path, crawl: CrawlRunner, start_url: str | None, message: str
) -> None:
    archive = tmp_path / "archive"
    args = {} if start_url is None else {"start_url": start_url}
    result = crawl("finews", archive, args=args)
    assert result.returncode != 0
    assert re.search(rf"ERROR: finews: .*{re.escape(message)}", result.stderr), result.stderr[-3000:]
    assert "Spider opened" not in result.stderr
    assert not (archive / "_posts").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(value, True) for value in ("true", "1", "yes", "TRUE", "on")],
        *[(value, False) for value in ("false", "0", "no", "", "Off")],
    ],
)
def test_follow_shares_argument(value: str, expected: bool) -> None:
    spider = FinewsSpider(
        start_url="http://archive.example:8080/",
        follow_shares=value,
        text_url="http://text.example/NewsData/GetNewsText.do?id={info_code}",
        article_url="http://finance.example/a/{code}.html",
    )
    assert spider.follow_shares is expected
    hosts = ["archive.example", "text.example", "finance.example"] if expected else ["archive.example"]
    assert spider.allowed_domains == hosts


def test_follow_shares_argument_must_be_a_boolean() -> None:
    with pytest.raises(UsageError, match="follow_shares"):
        FinewsSpider(start_url="http://archive.example/", follow_shares="maybe")


# --- a small site made up per test: offsite, dead and odd links ------------------------------


def _page(section: str) -> str:
    """A page in the theme's layout; the header links the production host, as the real site does."""
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>金融消息</title></head>\n'
        '<body><div class="wrapper"><header><h1><a href="https://finews.withounder.com/">金融消息</a></h1>'
        "</header>\n<section>\n"
        f"{section}\n"
        '</section><footer><a href="https://github.com/orderedlist">orderedlist</a></footer></div></body></html>\n'
    )


CQ_CODE = "202204011234567890"
CQ_POST = f"/chongqingribao/2022/04/01/NW{CQ_CODE}.html"
DEAD_POST = "/chongqingribao/2022/04/02/NW202204021234567891.html"


def _small_site(root: Path, port: int) -> None:
    """An index linking: one good post, a dead post, the same-looking post on another host
    (localhost instead of 127.0.0.1) and on the production host; an empty page."""
    root.mkdir(parents=True)
    links = [
        CQ_POST,
        DEAD_POST,
        f"http://localhost:{port}/offsite/2022/04/03/NW202204031234567892.html",
        "https://finews.withounder.com/cailianshe/2022/04/21/NW202204212352239901.html",
        "//finews.withounder.com/category/cailianshe.html",
    ]
    items = "\n".join(f'<li><a href="{href}">链接</a></li>' for href in links)
    (root / "index.html").write_text(_page(f"<h2>重庆日报新闻</h2>\n<ul>\n{items}\n</ul>"), "utf-8")
    (root / "empty.html").write_text(_page("<p>这里什么也没有。</p>"), "utf-8")
    post = root / CQ_POST.lstrip("/")
    post.parent.mkdir(parents=True)
    post.write_text(
        _page(
            "<small>(GMT+8, Asia/Shanghai, CST) 2022-04-01 08:30:00</small>\n"
            "<h1>重庆发布稳增长二十条</h1>\n\n"
            "<p>重庆市政府4月1日发布稳增长二十条措施，涵盖财税、金融、就业等方面。</p>\n\n"
            f'<p><a href="{SHARE.format(code=CQ_CODE)}">{SHARE.format(code=CQ_CODE)}</a></p>\n\n'
            '<p><a href="//finews.withounder.com/category/chongqingribao.html">返回重庆日报新闻</a>｜'
            '<a href="//finews.withounder.com/">返回首页</a></p>\n\n'
            "<small>tags: <em>重庆日报新闻</em></small>"
        ),
        "utf-8",
    )


@pytest.fixture
def small_site(tmp_path: Path) -> Iterator[LoopbackServer]:
    root = tmp_path / "site"
    server = LoopbackServer(root)
    _small_site(root, server.port)
    with server.running():
        yield server


def test_offsite_and_dead_links(tmp_path: Path, small_site: LoopbackServer, crawl: CrawlRunner) -> None:
    archive = tmp_path / "archive"
    result = crawl(
        "finews",
        archive,
        args={"start_url": f"{small_site.url}/"},
        settings=_site_settings(LOG_LEVEL="DEBUG"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Only the post on the crawled host; its outlet keeps the site's category slug
    # (the pinyin of 重庆日报 would be "zhongqingribao").
    assert _posts(archive) == [f"_posts/2022-04-01-NW{CQ_CODE}.md"]
    text = (archive / f"_posts/2022-04-01-NW{CQ_CODE}.md").read_text("utf-8")
    assert "categories: chongqingribao\ntags: 重庆日报新闻\n" in text
    assert text.endswith(
        f"[返回重庆日报新闻]({BACKUP_SITE}/category/chongqingribao.html)｜[返回首页]({BACKUP_SITE}/)\n"
    )
    assert (archive / "category" / "chongqingribao.html").is_file()
    # The other hosts' links were never requested (the localhost one would reach this server).
    assert not [r for r in small_site.requests if r.startswith(("/offsite/", "/cailianshe/"))]
    crawled = re.findall(r"Crawled \(\d+\) <GET (\S+)>", result.stderr)
    assert crawled and all(url.startswith(f"{small_site.url}/") for url in crawled)
    # A dead post and a dead category page (the post's back link) are ordinary counted HTTP errors.
    assert DEAD_POST in small_site.requests
    assert "/category/chongqingribao.html" in small_site.requests
    stats = _stats(result.stderr)
    assert stats["newscrawler/errors/finews_post_http_404"] == 1
    assert stats["newscrawler/errors/finews_listing_http_404"] == 1
    assert stats["newscrawler/posts/written"] == 1
    assert f"{small_site.url}{DEAD_POST}" in result.stderr


@pytest.mark.parametrize(
    ("path", "counter", "message"),
    [
        ("/nothing/", "finews_start_http_404", "Site start page"),
        ("/empty.html", "finews_empty_index", "links no post and no listing page"),
    ],
)
def test_unusable_start_page_is_a_counted_error(
    tmp_path: Path, small_site: LoopbackServer, crawl: CrawlRunner, path: str, counter: str, message: str
) -> None:
    archive = tmp_path / "archive"
    result = crawl("finews", archive, args={"start_url": f"{small_site.url}{path}"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert _stats(result.stderr)[f"newscrawler/errors/{counter}"] == 1
    url = f"{small_site.url}{path}"
    assert [
        line for line in result.stderr.splitlines() if "ERROR" in line and message in line and url in line
    ]
    assert small_site.requests == [path]
    assert not (archive / "_posts").exists() or not _posts(archive)


# --- titles that look like markup --------------------------------------------------------


def test_title_text_that_looks_like_a_tag_is_kept() -> None:
    rel = "cailianshe/2022/04/20/NW202204202351117702.html"
    article = FinewsPostParser().parse(f"http://127.0.0.1:8000/{rel}", (SITE_DIR / rel).read_text("utf-8"))
    assert article.title.endswith("<140>")
    assert normalize_title(article.title_raw) == article.title


def test_incremental_run_finds_posts_listed_only_on_category_pages(
    tmp_path: Path, crawl: CrawlRunner
) -> None:
    """A second run skips the known post pages, so it cannot see their back links: the
    category pages are still reached (guessed from the post URLs) and a post that only a
    category page lists is written."""
    site = tmp_path / "site"
    shutil.copytree(SITE_DIR, site)
    with LoopbackServer(site).running() as server:
        archive = tmp_path / "archive"
        first = crawl("finews", archive, args={"start_url": f"{server.url}/"}, settings=_site_settings())
        assert first.returncode == 0, first.stderr[-3000:]
        before = set(_posts(archive))

        old, new = "202203282325207001", "202203282325207999"
        source = site / "shenzhenxinwenwang/2022/03/28" / f"NW{old}.html"
        page = source.read_text("utf-8").replace(old, new)
        page = page.replace("社保服务“适老化”升级 全年惠及百万人次", "前海新设跨境服务中心")
        page = re.sub(
            r"<p>近年来.*?</p>",
            "<p>前海跨境服务中心今日启用，首批入驻机构二十家，提供开户与理财服务。</p>",
            page,
            flags=re.S,
        )
        (source.parent / f"NW{new}.html").write_text(page, "utf-8")
        listing = site / "category" / "shenzhenxinwenwang.html"
        link = f'<li><a href="/shenzhenxinwenwang/2022/03/28/NW{old}.html">'
        text = listing.read_text("utf-8")
        assert link in text
        listing.write_text(
            text.replace(
                link,
                f'<li><a href="/shenzhenxinwenwang/2022/03/28/NW{new}.html">前海新设跨境服务中心</a></li>\n    {link}',
                1,
            ),
            "utf-8",
        )
        server.requests.clear()
        second = crawl("finews", archive, args={"start_url": f"{server.url}/"}, settings=_site_settings())
        assert second.returncode == 0, second.stderr[-3000:]
        assert set(_posts(archive)) - before == {f"_posts/2022-03-28-NW{new}.md"}
        assert "/category/shenzhenxinwenwang.html" in server.requests
        assert f"/shenzhenxinwenwang/2022/03/28/NW{old}.html" not in server.requests  # known: not fetched
