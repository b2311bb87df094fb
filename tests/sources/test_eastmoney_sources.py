"""eastmoney parsers on saved fixtures, one case per fixture, against expected JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from newscrawler.sources.eastmoney.article_page import ArticlePageParser
from newscrawler.sources.eastmoney.common import SourceError, decode_html, unwrap_json
from newscrawler.sources.eastmoney.feeds import FeedEntry, FeedParser, entries_by_code
from newscrawler.sources.eastmoney.text_api import TextApiParser

from .conftest import EASTMONEY

EXPECTED = EASTMONEY / "expected"


def _cases(kind: str) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in sorted((EXPECTED / kind).glob("*.json"))]


def _load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _sidecar_charset(path: Path) -> str | None:
    sidecar = path.with_name(path.name + ".headers")
    if sidecar.is_file():
        for line in sidecar.read_text("utf-8").splitlines():
            if line.lower().startswith("content-type:") and "charset=" in line:
                return line.split("charset=", 1)[1].strip()
    return None


@pytest.mark.parametrize("expected_path", _cases("feeds"))
def test_feed(expected_path: Path) -> None:
    expected = _load(expected_path)
    feed = EASTMONEY / expected["file"]
    charset = _sidecar_charset(feed)
    if feed.stem == "gbk_labelled_utf8":
        # GBK bytes labelled UTF-8: read as GB18030 and flagged (counted as an error).
        result = FeedParser().parse(feed.read_bytes(), str(feed), charset)
        assert result.charset_mismatch
        assert result.entries
        assert all("\ufffd" not in e.title for e in result.entries)
        return
    if expected["shape"] == "error":
        if feed.is_file() and not feed.with_name(feed.name + ".headers").is_file():
            with pytest.raises(SourceError):
                FeedParser().parse(feed.read_bytes(), str(feed), charset)
        return
    result = FeedParser().parse(feed.read_bytes(), str(feed), charset)
    assert result.shape == expected["shape"]
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


@pytest.mark.parametrize("expected_path", _cases("text"))
def test_text_api(expected_path: Path) -> None:
    expected = _load(expected_path)
    answer = EASTMONEY / "NewsData" / f"GetNewsText.do@id={expected_path.stem}"
    if expected["status"] == 404:
        assert not answer.is_file()
        return
    if expected["status"] != 200 or expected["envelope"] is None:
        with pytest.raises(SourceError):
            TextApiParser().parse(answer.read_bytes())
        return
    result = TextApiParser().parse(answer.read_bytes())
    assert bool(result.body) == expected["has_text"]
    for snippet in expected["body_contains"]:
        assert snippet in result.body
    for name in ("title", "date_raw", "outlet"):
        if expected.get(name) is not None:
            assert getattr(result, name) == expected[name], name


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
