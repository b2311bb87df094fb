"""End to end, today's eastmoney: ``scrapy crawl eastmoney`` with the default
feed URLs (same paths and queries) pointed at a loopback server: column list and fast news
pages, catch-up paging, the article API, the 2025-2026 article page, the circuit breaker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from newscrawler import settings as project_settings
from newscrawler.dev.server import LoopbackServer, closed_port
from tests.conftest import CrawlRunner
from tests.support import crawl_stats

pytestmark = pytest.mark.crawl

COLUMNS_PATH = "/comm/web/getNewsByColumns"
FAST_PATH = "/comm/web/getFastNewsList"
API_PATH = "/kuaixun/v2/api/article/"
FINANCE = "https://finance.eastmoney.com/"
KUAIXUN = "https://kuaixun.eastmoney.com/"

#: The posts a fresh crawl of the fixture tree's 2026 feeds writes.
FIXTURE_POSTS = {
    "_posts/2026-09-19-NW202609193879000101.md",  # column list p1, article API
    "_posts/2026-09-19-NW202609193879000102.md",  # column list p1, article API
    "_posts/2026-09-18-NW202609183878990103.md",  # column list p1, API "no text" -> page
    "_posts/2026-09-18-NW202609183878990104.md",  # column list p1, API 404 -> page
    "_posts/2026-09-18-NW202609183878880105.md",  # column list p2 (and fast news p2): outlet post
    "_posts/2026-09-18-NW202609183878880106.md",  # column list p2
    "_posts/2026-09-19-202609193879000201.md",  # fast news p1
    "_posts/2026-09-19-202609193879000202.md",  # fast news p1
    "_posts/2026-09-19-202609193879000203.md",  # fast news p1: no text anywhere, its flash
    "_posts/2026-09-19-202609183878990204.md",  # fast news p2
}
CAIFUHAO = "202609193879000199"


def default_feeds(base: str) -> list[str]:
    """The default EASTMONEY_FEEDS, same paths and queries, on the loopback server."""
    feeds = []
    for url in project_settings.EASTMONEY_FEEDS:
        parts = urlsplit(url)
        feeds.append(f"{base}{parts.path}?{parts.query}")
    return feeds


def settings_2026(base: str, **extra: str) -> dict[str, str]:
    return {
        "EASTMONEY_FEEDS": ",".join(default_feeds(base)),
        "EASTMONEY_TEXT_URL": "",
        "EASTMONEY_ARTICLE_API_URL": f"{base}{API_PATH}{{code}}",
        "EASTMONEY_ARTICLE_URL": f"{base}/a/{{code}}.html",
        **extra,
    }


def _posts(archive: Path) -> set[str]:
    return {p.relative_to(archive).as_posix() for p in (archive / "_posts").glob("*.md")}


def _query(path: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))


def feed_pages(server: LoopbackServer) -> tuple[list[str], list[str]]:
    """The ``page_index`` of each column-list request and the ``sortEnd`` of each fast-news one."""
    columns = [_query(p).get("page_index", "") for p in server.requests if p.startswith(COLUMNS_PATH)]
    fast = [_query(p).get("sortEnd", "") for p in server.requests if p.startswith(FAST_PATH)]
    return columns, fast


def article_requests(server: LoopbackServer) -> list[str]:
    return [p for p in server.requests if p.startswith((API_PATH, "/a/"))]


def _header(path: Path) -> dict[str, Any]:
    header = path.read_text("utf-8").split("---\n")[1]
    loaded = yaml.safe_load(header)
    assert isinstance(loaded, dict)
    return loaded


# --- the fixture tree: a fresh archive, a rerun, limits --------------------------------------


def test_fresh_archive_reads_every_page_until_the_empty_one(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    result = crawl("eastmoney", archive, settings=settings_2026(eastmoney_server.url))
    assert result.returncode == 0, result.stderr[-3000:]
    assert _posts(archive) == FIXTURE_POSTS
    columns, fast = feed_pages(eastmoney_server)
    assert columns == ["1", "2", "3"]  # page 3 is empty: the end
    assert fast == ["", "1758251565000203", "1758158100000105"]
    stats = crawl_stats(result.stderr)
    assert stats["newscrawler/feeds/pages"] == 6
    assert stats["newscrawler/feeds/ok"] == 2
    assert stats["newscrawler/skipped/caifuhao"] == 1
    assert stats["newscrawler/text/from_article_api"] == 7
    assert stats["newscrawler/text/from_article_page"] == 2
    assert stats["newscrawler/fallback/flash_summary"] == 1
    assert stats["newscrawler/duplicates/in_feeds"] == 1  # 105: in the column list and the 7x24
    assert not any(CAIFUHAO in path for path in eastmoney_server.requests)
    fetched = article_requests(eastmoney_server)
    assert len([p for p in fetched if p.startswith(API_PATH)]) == len(set(fetched)) - 3  # 3 pages asked
    assert len(fetched) == len(set(fetched))  # each source asked once per article
    # The Referer each endpoint's own pages send (picked by path: the same on loopback).
    referers = dict(eastmoney_server.referers)
    assert {referers[p] for p in referers if p.startswith(COLUMNS_PATH)} == {FINANCE}
    assert {referers[p] for p in referers if p.startswith((FAST_PATH, API_PATH))} == {KUAIXUN}
    # The posts: metadata of the feed, text of the article API / page / flash.
    header = _header(archive / "_posts/2026-09-18-NW202609183878880105.md")
    assert (header["categories"], header["tags"]) == ("meirijingjixinwen", "每日经济新闻新闻")
    page_post = (archive / "_posts/2026-09-18-NW202609183878990103.md").read_text("utf-8")
    assert "categories: jiemianxinwen\n" in page_post and "业内人士认为" in page_post
    assert "acttg" not in page_post and "返回东方财富网首页" not in page_post
    flash = (archive / "_posts/2026-09-19-202609193879000203.md").read_text("utf-8")
    assert "\n> 财联社9月19日电，记者从产业链获悉" in flash
    assert "<p>【某光伏龙头：四季度排产环比提升约15%】财联社9月19日电" in flash
    assert f"<{eastmoney_server.url}/a/202609193879000203.html>" in flash  # fast news: the article page
    api_post = (archive / "_posts/2026-09-19-NW202609193879000101.md").read_text("utf-8")
    assert "<h3>资金面保持平稳</h3>" in api_post and "webquotepic" not in api_post
    assert "date: 2026-09-19 09:20:05 +0800\n" in api_post


def test_rerun_reads_page_one_of_each_feed_and_fetches_nothing(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    settings = settings_2026(eastmoney_server.url)
    assert crawl("eastmoney", archive, settings=settings).returncode == 0
    before = {p: (archive / p).read_bytes() for p in _posts(archive)}
    eastmoney_server.requests.clear()
    again = crawl("eastmoney", archive, settings=settings)
    assert again.returncode == 0, again.stderr[-3000:]
    assert feed_pages(eastmoney_server) == (["1"], [""])
    assert article_requests(eastmoney_server) == []
    assert {p: (archive / p).read_bytes() for p in _posts(archive)} == before
    assert crawl_stats(again.stderr)["newscrawler/feeds/pages"] == 2


def test_page_limit(tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner) -> None:
    archive = tmp_path / "archive"
    settings = settings_2026(eastmoney_server.url, EASTMONEY_FEED_MAX_PAGES="2")
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    assert feed_pages(eastmoney_server) == (["1", "2"], ["", "1758251565000203"])
    assert _posts(archive) == FIXTURE_POSTS  # page 3 of both feeds is empty anyway
    eastmoney_server.requests.clear()
    one = crawl("eastmoney", tmp_path / "one", settings={**settings, "EASTMONEY_FEED_MAX_PAGES": "1"})
    assert one.returncode == 0
    assert feed_pages(eastmoney_server) == (["1"], [""])


def test_pages_argument_reads_n_pages_whatever_they_hold(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    settings = settings_2026(eastmoney_server.url)
    assert crawl("eastmoney", archive, settings=settings).returncode == 0
    eastmoney_server.requests.clear()
    backfill = crawl("eastmoney", archive, settings=settings, args={"pages": "2"})
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    assert feed_pages(eastmoney_server) == (["1", "2"], ["", "1758251565000203"])
    assert article_requests(eastmoney_server) == []  # known articles are still not fetched
    assert crawl_stats(backfill.stderr)["newscrawler/feeds/pages"] == 4


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5"])
def test_bad_pages_argument(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner, value: str
) -> None:
    result = crawl(
        "eastmoney", tmp_path / "archive", settings=settings_2026(eastmoney_server.url), args={"pages": value}
    )
    assert result.returncode == 2
    assert f"-a pages must be a positive integer, got {value!r}" in result.stderr
    assert "Traceback" not in result.stderr
    assert eastmoney_server.requests == []
    assert not (tmp_path / "archive").exists()  # nothing written, not even the state folder


def test_error_envelope_is_a_counted_failed_feed(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    settings = settings_2026(
        eastmoney_server.url, EASTMONEY_FEEDS=f"{eastmoney_server.url}{COLUMNS_PATH}?req_trace="
    )
    result = crawl("eastmoney", tmp_path / "archive", settings=settings)
    assert result.returncode == 69, result.stderr[-3000:]  # every feed failed
    stats = crawl_stats(result.stderr)
    assert stats["newscrawler/errors/feed_api_error"] == 1
    assert stats["newscrawler/feeds/failed"] == 1
    assert any(
        "getNewsByColumns?req_trace=" in line
        and "Required String parameter 'req_trace' is not present" in line
        for line in result.stderr.splitlines()
    )


def test_codes_take_title_date_and_outlet_from_the_article_api(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    settings = settings_2026(eastmoney_server.url)
    result = crawl("eastmoney", archive, settings=settings, args={"codes": "NW202609193879000101"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert _posts(archive) == {"_posts/2026-09-19-NW202609193879000101.md"}
    header = _header(archive / "_posts/2026-09-19-NW202609193879000101.md")
    assert header["title"] == "央行开展2000亿元7天期逆回购操作 中标利率持平于1.40%"
    assert (header["categories"], header["tags"]) == ("cailianshe", "财联社新闻")
    assert (
        "date: 2026-09-19 09:20:05 +0800"
        in (archive / "_posts/2026-09-19-NW202609193879000101.md").read_text()
    )
    assert [p for p in eastmoney_server.requests if not p.startswith(API_PATH)] == []


# --- a source tree of our own: downtime, slides, the circuit breaker -------------------------

_serial = iter(range(1, 10**6))


def new_code(day: str = "20260919") -> str:
    return f"{day}3879{next(_serial):06d}"


def column_item(code: str, n: int) -> dict[str, Any]:
    return {
        "code": code,
        "title": f"栏目新闻{n}号：某公司第{n}季度营收增长{n}%",
        "showTime": f"2026-09-19 {n // 60:02d}:{n % 60:02d}:00",
        "mediaName": "证券时报网",
        "summary": f"摘要{n}",
        "image": "",
        "np_dst": "CMS",
        "uniqueUrl": f"http://finance.eastmoney.com/a/{code}.html",
        "url": f"http://finance.eastmoney.com/news/1354,{code}.html",
    }


def fast_item(code: str, n: int) -> dict[str, Any]:
    return {
        "code": code,
        "title": f"快讯{n}号",
        "summary": f"【快讯{n}号】财联社电，第{n}条快讯的全文，指数涨{n}.5%。",
        "showTime": f"2026-09-19 {n // 60:02d}:{n % 60:02d}:30",
        "realSort": f"17582{n:011d}",
        "titleColor": 0,
        "stockList": [],
        "image": [],
    }


def article_answer(code: str, title: str) -> dict[str, Any]:
    return {
        "data": {
            "Art_Code": code,
            "Art_Title": title,
            "Art_Content": f"<p>　　{title}的正文，代码{code}。</p>",
            "Art_ShowTime": "2026/09/19 08:00:00",
            "Art_Media_Name": "证券时报网",
        },
        "errorcode": 0,
        "success": 1,
    }


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def lay_out(root: Path, columns: list[list[dict[str, Any]]], fast: list[list[dict[str, Any]]]) -> None:
    """Write the feeds' pages (newest first; an empty page after the last) and the article
    API answers of every item."""
    web = root / COLUMNS_PATH.strip("/").rsplit("/", 1)[0]
    for old in web.glob("*"):
        old.unlink()
    for index, items in enumerate([*columns, []], start=1):
        data = {"list": items, "page_index": index, "page_size": 50, "totle_hits": 5000}
        write_json(
            web / f"getNewsByColumns@page_index={index}", {"code": "1", "message": "success", "data": data}
        )
    cursor = ""
    for items in [*fast, []]:
        name = f"getFastNewsList@sortEnd={cursor}" if cursor else "getFastNewsList"
        write_json(web / name, {"code": "1", "message": "success", "data": {"fastNewsList": items}})
        cursor = items[-1]["realSort"] if items else cursor
    for item in [i for page in [*columns, *fast] for i in page]:
        write_json(root / API_PATH.strip("/") / item["code"], article_answer(item["code"], item["title"]))


def test_no_gap_after_a_day_of_downtime(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    old_cols = [column_item(new_code(), n) for n in range(1, 6)][::-1]
    old_fast = [fast_item(new_code(), n) for n in range(1, 6)][::-1]
    lay_out(source.root, [old_cols], [old_fast])
    settings = settings_2026(source.url)
    first = crawl("eastmoney", archive, settings=settings)
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(_posts(archive)) == 10
    # Down for a day: 12 new items in each feed, newest first, 5 a page: the newest 10
    # fill pages 1 and 2, page 3 holds 2 new and 3 known, page 4 the rest.
    new_cols = [column_item(new_code(), n) for n in range(6, 18)][::-1]
    new_fast = [fast_item(new_code(), n) for n in range(6, 18)][::-1]
    cols, fast = new_cols + old_cols, new_fast + old_fast
    lay_out(
        source.root, [cols[i : i + 5] for i in range(0, 17, 5)], [fast[i : i + 5] for i in range(0, 17, 5)]
    )
    source.requests.clear()
    second = crawl("eastmoney", archive, settings=settings)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(_posts(archive)) == 34  # every new item of both feeds: no gap
    columns, fast_pages = feed_pages(source)
    assert columns == ["1", "2", "3"]  # page 3 holds known entries: caught up, page 4 not asked
    assert fast_pages == ["", fast[4]["realSort"], fast[9]["realSort"]]
    fetched = [p for p in source.requests if p.startswith(API_PATH)]
    assert sorted(fetched) == sorted(f"{API_PATH}{i['code']}" for i in new_cols + new_fast)
    # And the next scheduled run over the unchanged feeds: one page each, no article.
    source.requests.clear()
    third = crawl("eastmoney", archive, settings=settings)
    assert third.returncode == 0
    assert feed_pages(source) == (["1"], [""])
    assert article_requests(source) == []


def test_an_entry_seen_earlier_in_the_run_does_not_stop_the_paging(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    archive = tmp_path / "archive"
    known = [column_item(new_code(), n) for n in range(1, 3)][::-1]
    lay_out(source.root, [known], [])
    settings = settings_2026(source.url, EASTMONEY_FEEDS=default_feeds(source.url)[0])
    assert crawl("eastmoney", archive, settings=settings).returncode == 0
    fresh = [column_item(new_code(), n) for n in range(3, 9)][::-1]  # 8..3, newest first
    # Item 6 slid from page 1 to page 2 while paging: page 2 holds only it (seen) and item 5 (new).
    pages = [fresh[:3], [fresh[2], fresh[3]], [fresh[4], fresh[5], *known]]
    lay_out(source.root, pages, [])
    source.requests.clear()
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    assert feed_pages(source)[0] == ["1", "2", "3"]
    assert len(_posts(archive)) == 8
    assert crawl_stats(result.stderr)["newscrawler/duplicates/in_feeds"] == 1


def write_page(root: Path, code: str, title: str, outlet_item: str = "") -> None:
    """An article page in the 2025-2026 layout."""
    page = (
        f'<html><head><meta charset="utf-8"></head><body><div class="title">{title}</div>'
        f'<div class="infos"><div class=" item">2026年09月19日 08:00</div>{outlet_item}</div>'
        f'<div class="txtinfos" id="ContentBody"><p>　　页面正文{code}</p></div></body></html>'
    )
    (root / "a").mkdir(exist_ok=True)
    (root / "a" / f"{code}.html").write_text(page, "utf-8")


@pytest.mark.parametrize("retries", ["0", "2"])
def test_a_dead_text_source_is_switched_off_after_5_articles(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner, retries: str
) -> None:
    items = [fast_item(new_code(), n) for n in range(1, 31)][::-1]
    lay_out(source.root, [], [items])
    for item in items:
        write_page(source.root, item["code"], item["title"])
    dead = f"http://127.0.0.1:{closed_port()}{API_PATH}{{code}}"
    settings = settings_2026(
        source.url,
        EASTMONEY_ARTICLE_API_URL=dead,
        EASTMONEY_FEEDS=default_feeds(source.url)[1],
        RETRY_TIMES=retries,
    )
    result = crawl("eastmoney", tmp_path / "archive", settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = crawl_stats(result.stderr)
    assert stats["newscrawler/text/article_api_disabled"] == 1
    # Every attempt at the dead host is refused: 5 articles in a row switch it off; the
    # attempts already handed to the downloader then (at most CONCURRENT_REQUESTS) may
    # still fail. Without the breaker, all 30 articles' attempts would.
    attempts = stats["downloader/exception_type_count/scrapy.exceptions.DownloadConnectionRefusedError"]
    assert 5 <= attempts <= 5 + int(project_settings.CONCURRENT_REQUESTS)
    assert stats["newscrawler/text/from_article_page"] == 30
    assert len(_posts(tmp_path / "archive")) == 30
    off = [line for line in result.stderr.splitlines() if "not asked again in this run" in line]
    assert len(off) == 1 and "Article API" in off[0]
    assert len([p for p in source.requests if p.startswith("/a/")]) == 30


def test_a_source_answering_http_errors_is_not_switched_off(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    items = [fast_item(new_code(), n) for n in range(1, 9)][::-1]
    lay_out(source.root, [], [items])
    for item in items:  # the article API answers 404 for every one: the host is there
        (source.root / API_PATH.strip("/") / item["code"]).unlink()
        write_page(source.root, item["code"], item["title"])
    settings = settings_2026(source.url, EASTMONEY_FEEDS=default_feeds(source.url)[1])
    result = crawl("eastmoney", tmp_path / "archive", settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = crawl_stats(result.stderr)
    assert "newscrawler/text/article_api_disabled" not in stats
    assert stats["newscrawler/errors/article_api_http_404"] == 8
    assert len([p for p in source.requests if p.startswith(API_PATH)]) == 8


def test_later_sources_fill_what_earlier_ones_lack(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    """A column item without its outlet, an article API answer without one: the page names
    it. An article API body that cleans to nothing (chart widgets, hidden spacers): the
    page's text."""
    no_outlet = {**column_item(new_code(), 1), "mediaName": ""}
    blank = column_item(new_code(), 2)
    lay_out(source.root, [[no_outlet, blank]], [])
    api = source.root / API_PATH.strip("/")
    answer = article_answer(no_outlet["code"], no_outlet["title"])
    answer["data"]["Art_Media_Name"] = ""
    write_json(api / no_outlet["code"], answer)
    answer = article_answer(blank["code"], blank["title"])
    answer["data"]["Art_Content"] = (
        '<p style="display:none;height:1px;overflow:hidden;"><br /></p><!-- EM_StockImg_Start -->'
        '<p><a href="http://quote.eastmoney.com/unify/r/1.000001"><img src="https://webquotepic.eastmoney.com/'
        'GetPic.aspx?nid=1.000001" /></a></p><!-- EM_StockImg_End --><p>　　</p>'
    )
    write_json(api / blank["code"], answer)
    write_page(source.root, no_outlet["code"], no_outlet["title"], '<div class="item">界面新闻</div>')
    write_page(source.root, blank["code"], blank["title"], '<div class="item">证券时报网</div>')
    archive = tmp_path / "archive"
    settings = settings_2026(source.url, EASTMONEY_FEEDS=default_feeds(source.url)[0])
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = crawl_stats(result.stderr)
    assert stats["newscrawler/fallback/article_api_no_metadata"] == 1
    assert stats["newscrawler/fallback/article_api_no_text"] == 1
    assert (
        stats["newscrawler/text/from_article_api"] == 1 and stats["newscrawler/text/from_article_page"] == 1
    )
    first = _header(archive / "_posts" / f"2026-09-19-NW{no_outlet['code']}.md")
    assert (first["categories"], first["tags"]) == ("jiemianxinwen", "界面新闻新闻")
    second = (archive / "_posts" / f"2026-09-19-NW{blank['code']}.md").read_text("utf-8")
    assert f"<p>页面正文{blank['code']}</p>" in second


def test_a_flash_also_in_a_column_list_is_written_from_its_text_when_no_source_has_it(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    code = new_code()
    lay_out(source.root, [[column_item(code, 1)]], [[fast_item(code, 1)]])
    (source.root / API_PATH.strip("/") / code).unlink()
    archive = tmp_path / "archive"
    result = crawl("eastmoney", archive, settings=settings_2026(source.url))
    assert result.returncode == 0, result.stderr[-3000:]
    assert crawl_stats(result.stderr)["newscrawler/fallback/flash_summary"] == 1
    post = (archive / "_posts" / f"2026-09-19-NW{code}.md").read_text("utf-8")  # the outlet post wins
    assert "categories: zhengquanshibaowang\n" in post
    assert "<p>【快讯1号】财联社电，第1条快讯的全文，指数涨1.5%。</p>" in post


def test_fast_news_source_line_with_the_article_page_off(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    item = fast_item(new_code(), 1)
    lay_out(source.root, [], [[item]])
    archive = tmp_path / "archive"
    settings = settings_2026(
        source.url, EASTMONEY_FEEDS=default_feeds(source.url)[1], EASTMONEY_ARTICLE_URL=""
    )
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    post = (archive / "_posts" / f"2026-09-19-{item['code']}.md").read_text("utf-8")
    assert f"\n<http://finance.eastmoney.com/a/{item['code']}.html>\n" in post
    assert not [p for p in source.requests if p.startswith("/a/")]


def test_bad_max_pages_setting(
    tmp_path: Path, eastmoney_server: LoopbackServer, crawl: CrawlRunner
) -> None:
    settings = settings_2026(eastmoney_server.url, EASTMONEY_FEED_MAX_PAGES="ten")
    result = crawl("eastmoney", tmp_path / "archive", settings=settings)
    assert result.returncode == 2
    assert "EASTMONEY_FEED_MAX_PAGES must be a positive integer, got 'ten'" in result.stderr
    assert "Traceback" not in result.stderr
    assert eastmoney_server.requests == []


def test_a_flash_no_source_has_is_written_from_its_escaped_text(
    tmp_path: Path, source: LoopbackServer, crawl: CrawlRunner
) -> None:
    script = {**fast_item(new_code(), 1), "summary": "【标题】正文<script>alert(1)</script>涨5%"}
    untitled = {**fast_item(new_code(), 2), "summary": ""}
    lay_out(source.root, [], [[script, untitled]])
    for item in (script, untitled):  # no article API answer, no article page: 404 both
        (source.root / API_PATH.strip("/") / item["code"]).unlink()
    archive = tmp_path / "archive"
    settings = settings_2026(source.url, EASTMONEY_FEEDS=default_feeds(source.url)[1])
    result = crawl("eastmoney", archive, settings=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    assert crawl_stats(result.stderr)["newscrawler/fallback/flash_summary"] == 2
    first = (archive / "_posts" / f"2026-09-19-{script['code']}.md").read_text("utf-8")
    assert "<script" not in first
    assert "<p>【标题】正文&lt;script&gt;alert(1)&lt;/script&gt;涨5%</p>" in first
    second = (archive / "_posts" / f"2026-09-19-{untitled['code']}.md").read_text("utf-8")
    assert "<p>快讯2号</p>" in second  # no summary: the title is the flash
