"""End to end: ``scrapy crawl eastmoney`` as a subprocess against the loopback fixture server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from newscrawler.dev.server import LoopbackServer
from tests.conftest import EASTMONEY, CrawlRunner, eastmoney_settings

pytestmark = pytest.mark.crawl

EXPECTED = EASTMONEY / "expected"
GOOD_FEEDS = ("feeds/media.json", "feeds/rolling.json", "feeds/listapi.json", "feeds/live.js")
SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode={info_code}"
SITE = "//finews.withounder.com"


def _posts(archive: Path) -> list[str]:
    return sorted(str(p.relative_to(archive)) for p in (archive / "_posts").glob("*.md"))


def _feeds(server: LoopbackServer, *names: str) -> str:
    return ",".join(f"{server.url}/{name}" for name in names)


def _check_post(archive: Path, expected: dict[str, object]) -> None:
    text = (archive / str(expected["file"])).read_text("utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\r" not in text
    lines = text.split("\n")
    assert lines[0] == "---"
    assert lines[1] == "layout: post"
    assert yaml.safe_load(lines[2])["title"] == expected["title"]
    assert lines[3] == f"date: {expected['date']}"
    assert lines[4] == f"categories: {expected['categories']}"
    assert lines[5] == f"tags: {expected['tags']}"
    assert lines[6] == "---"
    body = "\n".join(lines[7:])
    if expected.get("body_starts_with"):
        assert body.startswith(str(expected["body_starts_with"]))
    for snippet in expected["body_contains"]:  # type: ignore[attr-defined]
        assert snippet in body
    for bad in ("<script", "<!--", "display:none", "keytip", "　　", "EM_StockImg"):
        assert bad not in body
    if expected["kind"] == "emnews":
        assert lines[-4] == expected["source_line"]
        assert lines[-2] == f"[返回东财滚动新闻]({SITE}/emnews/)｜[返回首页]({SITE}/)"
    else:
        assert lines[-4] == "<" + SHARE.format(info_code=expected["share_info_code"]) + ">"
        slug = expected["categories"]
        assert (
            lines[-2] == f"[返回{expected['outlet']}新闻]({SITE}/category/{slug}.html)｜[返回首页]({SITE}/)"
        )
    assert lines[-3] == ""
    assert lines[-1] == ""


def test_crawl_good_feeds_writes_exact_posts(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    settings = {
        **eastmoney_settings(eastmoney_server.url),
        "EASTMONEY_FEEDS": _feeds(eastmoney_server, *GOOD_FEEDS),
    }
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    expected_posts = json.loads((EXPECTED / "posts.json").read_text("utf-8"))
    assert _posts(archive) == sorted(p["file"] for p in expected_posts)
    for expected in expected_posts:
        _check_post(archive, expected)
    for category in json.loads((EXPECTED / "categories.json").read_text("utf-8")):
        assert (archive / category["file"]).read_text("utf-8") == category["text"]
    assert sorted(p.name for p in (archive / "category").iterdir()) == sorted(
        Path(c["file"]).name for c in json.loads((EXPECTED / "categories.json").read_text("utf-8"))
    )
    assert not list(archive.rglob(".*.tmp"))
    assert "newscrawler/posts/written': 12" in result.stderr


def test_feeds_argument_and_bad_feeds(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    feeds = _feeds(
        eastmoney_server,
        "feeds/empty.json",
        "feeds/truncated.json",
        "feeds/html.json",
        "feeds/unknown.json",
        "feeds/dead.json",
        "feeds/rolling.json",
    )
    result = crawl(
        "eastmoney", archive, settings=eastmoney_settings(eastmoney_server.url), args={"feeds": feeds}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    by_feed = json.loads((EXPECTED / "posts_by_feed.json").read_text("utf-8"))
    assert _posts(archive) == sorted(by_feed["rolling"])
    for name in ("empty", "truncated", "html", "unknown", "dead"):
        assert f"feeds/{name}.json" in result.stderr
    for counter in ("feed_empty", "feed_invalid_json", "feed_html", "feed_unknown_shape", "feed_http_503"):
        assert f"'newscrawler/errors/{counter}': 1" in result.stderr


@pytest.mark.parametrize(
    "form",
    [
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{code}",
        "NW{code}",
        "{code}",
        "http://finance.eastmoney.com/a/{code}.html",
        "http://finance.eastmoney.com/news/1350,{code}.html",
    ],
)
def test_codes_argument_writes_that_one_post(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner, form: str
) -> None:
    archive = tmp_path / "archive"
    code = "202203282325310457"
    result = crawl(
        "eastmoney",
        archive,
        settings=eastmoney_settings(eastmoney_server.url),
        args={"codes": form.format(code=code)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _posts(archive) == [f"_posts/2022-03-28-NW{code}.md"]
    expected = next(p for p in json.loads((EXPECTED / "posts.json").read_text("utf-8")) if p["code"] == code)
    _check_post(archive, expected)
    assert not any("/feeds/" in r for r in eastmoney_server.requests)


def test_items_also_go_to_feed_exports(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    out = tmp_path / "items.jsonl"
    settings = {
        **eastmoney_settings(eastmoney_server.url),
        "FEEDS": json.dumps({str(out): {"format": "jsonlines"}}),
    }
    result = crawl(
        "eastmoney",
        archive,
        settings=settings,
        args={"feeds": _feeds(eastmoney_server, "feeds/rolling.json")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    items = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert sorted(i["code"] for i in items) == sorted(Path(p).stem.split("-")[-1] for p in _posts(archive))
    assert all(i["date"].endswith("+08:00") for i in items)
