"""eastmoney parsers on saved fixtures, one case per fixture, against expected JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from newscrawler.dev.server import resolve
from newscrawler.items import Article
from newscrawler.outcomes import failure_reason
from newscrawler.sources.eastmoney.article_page import ArticlePageParser
from newscrawler.sources.eastmoney.common import SourceError, decode_html, unwrap_json
from newscrawler.sources.eastmoney.feeds import FeedEntry, FeedParser, entries_by_code
from newscrawler.sources.eastmoney.text_api import TextApiParser
from newscrawler.spiders.eastmoney import EastmoneySpider
from tests.conftest import EASTMONEY, eastmoney_settings, project_settings

EXPECTED = EASTMONEY / "expected"


def _cases(kind: str) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in sorted((EXPECTED / kind).glob("*.json"))]


def _load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _sidecar(path: Path) -> dict[str, str]:
    """The headers of *path*'s ``.headers`` sidecar (lower-case names), as the devserver sends them."""
    sidecar = path.with_name(path.name + ".headers")
    if not sidecar.is_file():
        return {}
    headers = {}
    for line in sidecar.read_text("utf-8").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def _sidecar_charset(path: Path) -> str | None:
    content_type = _sidecar(path).get("content-type", "")
    return content_type.split("charset=", 1)[1].strip() if "charset=" in content_type else None


@pytest.mark.parametrize("expected_path", _cases("feeds"))
def test_feed(expected_path: Path) -> None:
    expected = _load(expected_path)
    feed = EASTMONEY / expected["file"]
    assert feed.is_file(), feed
    charset = _sidecar_charset(feed)
    status = int(_sidecar(feed).get("status", "200"))
    if status != 200:
        # Served with an error status (dead.json: 503): the crawl never parses it, the
        # status is the error it counts (newscrawler/errors/feed_http_503) ...
        assert expected["shape"] == "error" and expected["entries"] == []
        assert expected["error"] == f"HTTP {status}"
        response = Response(f"http://127.0.0.1/{expected['file']}", status=status)
        assert failure_reason(HttpError(response, "Ignoring non-200 response")) == expected["reason"]
        # ... and its error page would be no feed either.
        with pytest.raises(SourceError) as excinfo:
            FeedParser().parse(feed.read_bytes(), str(feed), charset)
        assert excinfo.value.reason == "html"
        return
    if expected["shape"] == "error":
        assert expected["entries"] == [] and expected["error"]
        with pytest.raises(SourceError) as excinfo:
            FeedParser().parse(feed.read_bytes(), str(feed), charset)
        assert excinfo.value.reason == expected["reason"]
        return
    result = FeedParser().parse(feed.read_bytes(), str(feed), charset)
    assert result.shape == expected["shape"]
    if expected["reason"] == "charset_mismatch":
        # GBK bytes labelled UTF-8: read as GB18030 and flagged (counted as an error).
        assert charset == "utf-8"
        assert result.charset_mismatch
        assert all("\ufffd" not in e.title for e in result.entries)
    else:
        assert expected["reason"] is None and expected["error"] is None
        assert not result.charset_mismatch
    got = [
        {
            "code": e.code,
            "title": e.title,
            "date_raw": e.date_raw,
            "outlet": e.outlet or None,
            "digest": e.digest or None,
            "url_w": e.url_w or None,
        }
        for e in result.entries
    ]
    want = [
        {
            "code": entry["code"],
            "title": entry.get("title_raw", entry["title"]).strip(),
            "date_raw": entry["date_raw"],
            "outlet": entry.get("outlet"),
            "digest": entry.get("digest"),
            "url_w": entry.get("source_url") if expected["shape"] in ("rolling", "live") else None,
        }
        for entry in expected["entries"]
    ]
    assert got == want
    assert result.items == len(want) and result.invalid == 0


def _text_answer(info_code: str) -> Path:
    return EASTMONEY / "NewsData" / f"GetNewsText.do@id={info_code}"


@pytest.mark.parametrize("expected_path", _cases("text"))
def test_text_api(expected_path: Path) -> None:
    expected = _load(expected_path)
    assert expected["info_code"] == expected_path.stem == f"NW{expected['code']}"
    answer = _text_answer(expected_path.stem)
    if expected["status"] == 404:
        # No answer file: the fixture server answers 404 (what the crawl then does:
        # test_text_api_404_moves_on_to_the_article_page), and nothing says otherwise.
        assert not answer.is_file()
        assert resolve(EASTMONEY, f"/NewsData/GetNewsText.do?id={expected['info_code']}") is None
        assert expected["error"].startswith("HTTP 404")
        assert (expected["has_text"], expected["envelope"], expected["fields"]) == (False, None, [])
        assert expected["body_contains"] == [] and expected["clean_not_contains"] == []
        assert [expected[name] for name in ("title", "date_raw", "outlet")] == [None, None, None]
        return
    assert answer.is_file()
    assert int(_sidecar(answer).get("status", "200")) == expected["status"]
    if expected["status"] != 200 or expected["envelope"] is None:
        assert not expected["has_text"] and expected["error"]
        with pytest.raises(SourceError) as excinfo:
            TextApiParser().parse(answer.read_bytes(), str(answer), _sidecar_charset(answer))
        assert excinfo.value.reason == ("html" if expected["status"] == 500 else "invalid_json")
        return
    result = TextApiParser().parse(answer.read_bytes(), str(answer), _sidecar_charset(answer))
    assert bool(result.body) == expected["has_text"]
    for snippet in expected["body_contains"]:
        assert snippet in result.body
    for name in ("title", "date_raw", "outlet"):
        if expected.get(name) is not None:
            assert getattr(result, name) == expected[name], name


#: Where the crawl runs the text sources of the 2022 fixtures (never contacted: the
#: responses are made here).
BASE = "http://127.0.0.1:9"
_TEXT_404 = [p for p in _cases("text") if _load(p.values[0])["status"] == 404]


def _feed_entry(code: str) -> FeedEntry:
    """The entry for *code* of the first fixture feed that lists it."""
    for path in sorted((EASTMONEY / "feeds").glob("*.js*")):
        try:
            result = FeedParser().parse(path.read_bytes(), str(path), _sidecar_charset(path))
        except SourceError:
            continue
        for entry in result.entries:
            if entry.code == code:
                return entry
    raise AssertionError(f"no feed lists {code}")


def _failure(request: Request, status: int) -> Failure:
    failure = Failure(HttpError(Response(request.url, status=status, request=request), "Ignoring"))
    failure.request = request  # type: ignore[attr-defined]  # as Scrapy does for an errback
    return failure


@pytest.mark.parametrize("expected_path", _TEXT_404)
def test_text_api_404_moves_on_to_the_article_page(expected_path: Path) -> None:
    """The spider's own handling of the text API's 404, in process: the 404 is counted and
    the article page asked; with the page the post is made from it (posts.json), without
    it the article is lost, counted (README: X1, "never")."""
    expected = _load(expected_path)
    code = expected["code"]
    crawler = get_crawler(EastmoneySpider, settings_dict=project_settings(**eastmoney_settings(BASE)))
    spider = EastmoneySpider.from_crawler(crawler)
    stats = crawler.stats
    assert stats is not None
    [request] = spider.text_requests(_feed_entry(code))
    assert isinstance(request, Request)
    assert request.url == f"{BASE}/NewsData/GetNewsText.do?id={expected['info_code']}"
    [page_request] = spider.source_failed(_failure(request, 404))
    assert stats.get_value("newscrawler/errors/text_api_http_404") == 1
    assert isinstance(page_request, Request) and page_request.url == f"{BASE}/a/{code}.html"
    posts = {p["code"]: p for p in _load(EXPECTED / "posts.json")}
    page = EASTMONEY / "a" / f"{code}.html"
    if page.is_file():
        response = HtmlResponse(page_request.url, body=page.read_bytes(), request=page_request)
        [article] = spider.parse_source(response, **page_request.cb_kwargs)
        assert isinstance(article, Article) and article.code == code
        assert stats.get_value("newscrawler/text/from_article_page") == 1
        assert _load(EXPECTED / "page" / f"{code}.json")["title"] == article.title_raw
        assert posts[code]["text_from"] == "article_page"
        assert posts[code]["title"] == article.title_raw
    else:
        assert list(spider.source_failed(_failure(page_request, 404))) == []
        assert stats.get_value("newscrawler/errors/article_page_http_404") == 1
        assert stats.get_value("newscrawler/errors/no_text") == 1
        assert code not in posts
        assert not (EXPECTED / "page" / f"{code}.json").exists()
        by_feed = _load(EXPECTED / "posts_by_feed.json")
        assert not [name for names in by_feed.values() for name in names if code in name]


@pytest.mark.parametrize("expected_path", _cases("page"))
def test_article_page(expected_path: Path) -> None:
    expected = _load(expected_path)
    page = EASTMONEY / "a" / f"{expected_path.stem}.html"
    result = ArticlePageParser().parse(str(page), decode_html(page.read_bytes(), _sidecar_charset(page)))
    assert result.title == expected["title"]
    assert result.date_raw == expected["date_raw"]
    assert result.outlet == expected["outlet"]
    for snippet in expected["body_contains"]:
        assert snippet in result.body
    for snippet in expected.get("body_not_contains", []):
        assert snippet not in result.body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'var ajaxResult={"a":1};', {"a": 1}),
        (b'var ajaxResult = {"a":1}', {"a": 1}),
        (b'jQuery123({"a":[1]});', {"a": [1]}),
        (b'  {"a":1}\n', {"a": 1}),
    ],
)
def test_unwrap_json(body: bytes, expected: object) -> None:
    assert unwrap_json(body.decode()) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"<html><body>502 Bad Gateway</body></html>", "html"),
        (b'{"record": [', "invalid_json"),
        (b'{"something": []}', "unknown_shape"),
        (b"[1, 2]", "unknown_shape"),
        (b'"text"', "unknown_shape"),
        (b"hello world", "not_json"),
        (b"\xff\xfe\x00", "bad_charset"),
    ],
)
def test_bad_feeds_raise_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError) as excinfo:
        FeedParser().parse(body)
    assert excinfo.value.reason == reason


def test_gbk_feed_is_read_and_flagged() -> None:
    body = json.dumps(
        {
            "record": [
                {
                    "title": "标题",
                    "datetime": "2022-03-28 17:04:37",
                    "medianame": "财联社",
                    "infoCode": "NW202203282325203083",
                }
            ]
        },
        ensure_ascii=False,
    ).encode("gbk")
    result = FeedParser().parse(body, declared_encoding="utf-8")
    assert result.charset_mismatch
    assert [(e.title, e.outlet) for e in result.entries] == [("标题", "财联社")]


def test_entries_without_code_are_counted_not_kept() -> None:
    body = json.dumps(
        {"records": [{"id": "123", "title": "x"}, {"id": "202203282325203083", "title": "y"}, "junk"]}
    ).encode()
    result = FeedParser().parse(body)
    assert [e.code for e in result.entries] == ["202203282325203083"]
    assert result.invalid == 2


def test_text_api_envelopes() -> None:
    parser = TextApiParser()
    assert parser.parse(b'{"data": {"content": "<p>c</p>", "text": null}}').body == "<p>c</p>"
    assert parser.parse(b'{"text": "<p>t</p>", "content": "<p>c</p>"}').body == "<p>t</p>"
    assert parser.parse(b'{"data": [{"text": "<p>t</p>"}]}').body == "<p>t</p>"
    assert parser.parse(b'{"text": "", "content": null}').body == ""
    with pytest.raises(SourceError):
        parser.parse(b"<html>error</html>")


def test_shared_code_choice_is_deterministic() -> None:
    rolling = FeedEntry(code="202204212352230938", kind="emnews", title="滚动", digest="d", shape="rolling")
    media = FeedEntry(code="202204212352230938", kind="outlet", title="媒体", outlet="财联社", shape="media")
    for order in ([rolling, media], [media, rolling]):
        chosen = entries_by_code(order)["202204212352230938"]
        assert (chosen.kind, chosen.title, chosen.outlet, chosen.digest) == ("outlet", "媒体", "财联社", "d")
    first = FeedEntry(code="202204212352230938", kind="outlet", title="一", outlet="A", shape="media")
    second = FeedEntry(code="202204212352230938", kind="outlet", title="二", outlet="B", shape="listapi")
    assert entries_by_code([first, second])["202204212352230938"].title == "一"


def test_gbk_page_labelled_utf8_is_decoded() -> None:
    page = (
        '<html><head><meta charset="gb2312"></head><body><div class="title">标题</div></body></html>'.encode(
            "gbk"
        )
    )
    assert "标题" in decode_html(page, "utf-8")


@pytest.mark.parametrize(
    ("page", "title", "outlet"),
    [
        (
            '<div class="side"><div class="title">侧栏</div></div><div class="contentbox"><div class="title"><h1>真标题</h1></div>'
            '<div class="infos"><div class="item">来源：深圳新闻网作者：张三</div></div></div>',
            "真标题",
            "深圳新闻网",
        ),
        (
            '<html><head><title>大标题_财经频道_东方财富网</title></head><body><div class="infos"><div class="item">来源: 财联社 编辑：李</div></div>',
            "大标题",
            "财联社",
        ),
    ],
)
def test_page_title_and_source_in_noisy_layouts(page: str, title: str, outlet: str) -> None:
    result = ArticlePageParser().parse("http://x/a/1.html", page + '<div id="ContentBody"><p>正文</p></div>')
    assert (result.title, result.outlet) == (title, outlet)


def test_text_api_json_sent_as_a_json_string() -> None:
    body = json.dumps(json.dumps({"data": {"text": "<p>正文</p>"}})).encode()
    assert TextApiParser().parse(body).body == "<p>正文</p>"
