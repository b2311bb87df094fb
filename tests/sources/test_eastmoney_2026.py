"""Today's eastmoney sources (2024-2026): column list, fast news, the article API and the
2025-2026 article page, parsed from saved fixture files in the real shapes.

Each fixture's full parser output is compared with ``expected/v2026/`` (golden files,
``pytest --update-expected`` rewrites them); the key values are asserted by hand too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from newscrawler.sources.eastmoney.article_api import ArticleApiParser
from newscrawler.sources.eastmoney.article_page import ArticlePageParser
from newscrawler.sources.eastmoney.common import SourceError, decode_html
from newscrawler.sources.eastmoney.feeds import (
    SHAPE_COLUMNS,
    SHAPE_FASTNEWS,
    FeedParser,
    FeedResult,
    next_page_url,
)
from tests.conftest import EASTMONEY

GOLDEN = EASTMONEY / "expected" / "v2026"
WEB = EASTMONEY / "comm" / "web"
API = EASTMONEY / "kuaixun" / "v2" / "api" / "article"
Golden = Callable[[Path, object], None]

FEED_FILES = sorted(p.name for p in WEB.iterdir() if not p.name.startswith("getNewsByColumns@req_trace"))
API_FILES = sorted(p.name for p in API.iterdir())
PAGE_CODES = ("202609183878990103", "202609183878990104")


@pytest.mark.parametrize("name", FEED_FILES)
def test_feed_golden(name: str, golden: Golden) -> None:
    result = FeedParser().parse((WEB / name).read_bytes(), name)
    golden(GOLDEN / "feeds" / f"{name}.json", asdict(result))


@pytest.mark.parametrize("name", API_FILES)
def test_article_api_golden(name: str, golden: Golden) -> None:
    result = ArticleApiParser().parse((API / name).read_bytes(), name)
    golden(GOLDEN / "article_api" / f"{name}.json", asdict(result))


@pytest.mark.parametrize("code", PAGE_CODES)
def test_article_page_golden(code: str, golden: Golden) -> None:
    page = EASTMONEY / "a" / f"{code}.html"
    result = ArticlePageParser().parse(str(page), decode_html(page.read_bytes()))
    golden(GOLDEN / "page" / f"{code}.json", asdict(result))


# --- the key values, by hand ---------------------------------------------------------------


def test_column_list_is_told_from_the_2022_list_api() -> None:
    result = FeedParser().parse((WEB / "getNewsByColumns@page_index=1").read_bytes())
    assert result.shape == SHAPE_COLUMNS
    assert result.items == 5 and result.caifuhao == 1 and result.invalid == 0
    first = result.entries[0]
    assert (first.code, first.kind, first.outlet, first.date_raw) == (
        "202609193879000101",
        "outlet",
        "财联社",
        "2026-09-19 09:20:05",
    )
    assert first.title == "央行开展2000亿元7天期逆回购操作 中标利率持平于1.40%"
    assert "202609193879000199" not in [e.code for e in result.entries]  # the caifuhao post
    assert not first.digest and not first.url_w  # an outlet post: the summary is not its digest
    legacy = FeedParser().parse((EASTMONEY / "feeds" / "listapi.json").read_bytes())
    assert legacy.shape == "listapi" and len(legacy.entries) == 3


def test_column_list_code_as_a_number_and_items_with_bad_codes() -> None:
    body = {
        "code": 1,
        "message": "success",
        "data": {
            "list": [
                {"code": "2026091", "title": "短", "showTime": "2026-09-19 01:00:00", "mediaName": "A"},
                {
                    "code": "",
                    "uniqueUrl": "http://finance.eastmoney.com/a/202609183878840472.html",
                    "title": "t",
                },
                {"code": "202609183878840473", "np_dst": "cfh", "title": "用户帖"},
                {
                    "code": "202609183878840474",
                    "url": "http://caifuhao.eastmoney.com/news/202609183878840474",
                },
            ]
        },
    }
    result = FeedParser().parse(json.dumps(body).encode())
    assert result.shape == SHAPE_COLUMNS
    assert [e.code for e in result.entries] == ["202609183878840472"]  # from uniqueUrl
    assert result.invalid == 1 and result.invalid_codes == ["2026091"]
    assert result.caifuhao == 2


def test_fast_news_entries_digest_and_cursor() -> None:
    result = FeedParser().parse((WEB / "getFastNewsList").read_bytes())
    assert result.shape == SHAPE_FASTNEWS
    assert [e.code for e in result.entries] == [
        "202609193879000201",
        "202609193879000202",
        "202609193879000203",
    ]
    flash = result.entries[0]
    assert flash.kind == "emnews" and flash.title == "北向资金午间净买入35.62亿元"
    assert flash.digest.startswith("【北向资金午间净买入35.62亿元】财联社9月19日电")
    assert result.cursor == "1758251565000203"  # the last item's realSort


def test_jsonp_fast_news() -> None:
    body = (WEB / "getFastNewsList@callback=jQuery35106178_1758252612345").read_bytes()
    assert body.startswith(b"jQuery35106178_1758252612345(")
    result = FeedParser().parse(body)
    assert (result.shape, [e.code for e in result.entries]) == (SHAPE_FASTNEWS, ["202609193879000201"])
    assert FeedParser().parse(b"/**/cb(" + body[body.index(b"(") + 1 :]).shape == SHAPE_FASTNEWS


@pytest.mark.parametrize(
    "body",
    [
        (WEB / "getNewsByColumns@req_trace=").read_bytes(),
        b'{"code":0,"message":"Required String parameter \'req_trace\' is not present","data":null}',
        b'cb({"code":"0","message":"Required String parameter \'biz\' is not present"})',
        b'{"code":-1,"message":"system busy, is not present","data":{"fastNewsList":[]}}',
    ],
)
def test_error_envelope_is_an_error_quoting_the_message(body: bytes) -> None:
    with pytest.raises(SourceError) as excinfo:
        FeedParser().parse(body)
    assert excinfo.value.reason == "api_error"
    assert "is not present" in excinfo.value.detail


def test_error_code_without_a_message_is_an_error() -> None:
    with pytest.raises(SourceError) as excinfo:
        FeedParser().parse(b'{"code":0,"data":null}')
    assert excinfo.value.reason == "api_error"


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        (b'{"code":"1","message":"success","data":null}', SHAPE_FASTNEWS),
        (b'{"code":"1","message":"success","data":{"list":null}}', SHAPE_COLUMNS),
        (b'{"code":1,"message":"success","data":{"list":[],"page_index":4}}', SHAPE_COLUMNS),
        (b'{"code":"1","message":"success","data":{"fastNewsList":null}}', SHAPE_FASTNEWS),
        (b'{"re":true,"data":{"list":[]}}', "listapi"),
    ],
)
def test_success_envelopes_with_nothing_are_empty_feeds(body: bytes, shape: str) -> None:
    result = FeedParser().parse(body)
    assert (result.shape, result.entries, result.items) == (shape, [], 0)


def test_empty_last_pages() -> None:
    for name in ("getNewsByColumns@page_index=3", "getFastNewsList@sortEnd=1758158100000105"):
        result = FeedParser().parse((WEB / name).read_bytes())
        assert result.items == 0 and result.entries == [], name


COLUMNS_URL = (
    "https://np-listapi.eastmoney.com/comm/web/getNewsByColumns?client=web&biz=web_news_col"
    "&column=344%2C345&order=1&page_index=1&page_size=50&req_trace=newscrawler"
)
FAST_URL = (
    "https://np-weblist.eastmoney.com/comm/web/getFastNewsList?client=web&biz=web_724"
    "&fastColumn=102&sortEnd=&pageSize=50&req_trace=newscrawler"
)


def test_next_page_urls() -> None:
    columns = FeedResult(shape=SHAPE_COLUMNS, items=1)
    assert next_page_url(COLUMNS_URL, columns) == COLUMNS_URL.replace("page_index=1", "page_index=2")
    no_index = "https://np-listapi.eastmoney.com/comm/web/getNewsByColumns?column=344"
    assert next_page_url(no_index, columns) == no_index + "&page_index=2"
    assert next_page_url(COLUMNS_URL.replace("page_index=1", "page_index=x"), columns) is None
    fast = FeedResult(shape=SHAPE_FASTNEWS, items=1, cursor="1758251565000203")
    assert next_page_url(FAST_URL, fast) == FAST_URL.replace("sortEnd=", "sortEnd=1758251565000203")
    assert next_page_url(FAST_URL.replace("sortEnd=", "sortEnd=1758251565000203"), fast) is None  # stuck
    assert next_page_url(FAST_URL, FeedResult(shape=SHAPE_FASTNEWS, items=1)) is None  # no cursor
    assert next_page_url(COLUMNS_URL, FeedResult(shape="media", items=1)) is None  # 2022: not pageable


def test_article_api_fields() -> None:
    result = ArticleApiParser().parse((API / "202609193879000101").read_bytes())
    assert result.title == "央行开展2000亿元7天期逆回购操作 中标利率持平于1.40%"
    assert result.date_raw == "2026/09/19 09:20:05"
    assert result.outlet == "财联社"
    assert result.body.startswith('<p style="display:none;')
    assert '<h3 class="emh3">资金面保持平稳</h3>' in result.body


@pytest.mark.parametrize(
    "body",
    [
        b'{"data":null,"errorcode":1,"id":"0","message":"\\u6587\\u7ae0\\u4e0d\\u5b58\\u5728","success":0}',
        b'{"data":{"Art_Content":"<p>x</p>","Art_Title":"t"},"errorcode":0,"success":0}',
        b'{"data":{"Art_Content":"<p>x</p>","Art_Title":"t"},"errorcode":404,"success":1}',
        b'{"data":{"Art_Content":"","Art_Title":"t"},"errorcode":0,"success":1}',
        b'{"data":{"Art_Content":null},"errorcode":0,"success":1}',
    ],
)
def test_article_api_answers_without_text(body: bytes) -> None:
    assert ArticleApiParser().parse(body).body == ""


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", "empty"), (b"<html>502</html>", "html"), (b"[1]", "unknown_shape"), (b'{"a":1}', "unknown_shape")],
)
def test_article_api_garbage(body: bytes, reason: str) -> None:
    with pytest.raises(SourceError) as excinfo:
        ArticleApiParser().parse(body)
    assert excinfo.value.reason == reason


def test_article_page_2026_layout_bare_outlet() -> None:
    page = EASTMONEY / "a" / "202609183878990103.html"
    result = ArticlePageParser().parse(str(page), decode_html(page.read_bytes()))
    assert result.title == "多家险企三季度偿付能力报告出炉 核心偿付能力充足率普遍回升"
    assert result.date_raw == "2026年09月18日 22:31"
    assert result.outlet == "界面新闻"  # <div class="item">界面新闻</div>, after <div class=" item">
    assert "业内人士认为" in result.body and "责任编辑" not in result.body and "郑重声明" not in result.body


@pytest.mark.parametrize(
    ("infos", "outlet"),
    [
        ('<div class=" item">2026年08月19日 17:46</div><div class="item">界面新闻</div>', "界面新闻"),
        (
            '<div class=" item">2026年08月19日 17:46</div><div class="item">作者：张三</div><div class="item">21世纪经济报道</div>',
            "21世纪经济报道",
        ),
        ('<div class=" item">2026年08月19日 17:46</div><div class="item">来源：财联社</div>', "财联社"),
        ('<div class=" item">2026年08月19日 17:46</div><div class="item"><span>12</span>人评论</div>', ""),
        ('<div class="item">界面新闻</div><div class=" item">2026年08月19日 17:46</div>', ""),
    ],
)
def test_article_page_outlet_items(infos: str, outlet: str) -> None:
    page = f'<div class="title">标题</div><div class="infos">{infos}</div><div id="ContentBody"><p>正文</p></div>'
    result = ArticlePageParser().parse("http://x/a/1.html", page)
    assert (result.date_raw, result.outlet) == ("2026年08月19日 17:46", outlet)
