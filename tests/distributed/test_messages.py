"""Worker -> writer messages: every Article field goes through, bad messages are refused."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from newscrawler.dates import BEIJING
from newscrawler.distributed.messages import (
    ArticleMessage,
    BadMessage,
    RefusalMessage,
    decode,
    encode_article,
    encode_refusal,
)
from newscrawler.items import KIND_EMNEWS, Article

CODE = "202204212352241873"


def full_article(**changes: object) -> Article:
    article = Article(
        code=CODE,
        kind=KIND_EMNEWS,
        title='标题 "引号" \\ 反斜杠',
        title_raw="<b>标题</b>",
        date=datetime(2022, 4, 21, 10, 0, 1, tzinfo=BEIJING),
        date_raw="2022-04-21 10:00:01",
        outlet="财联社",
        slug="",
        body="<p>正文\u2028\U0001f600</p>",
        body_raw="<p>　　正文</p>\r\n",
        body_cleaned=True,
        digest="摘要 &amp; more",
        source_url="http://finance.eastmoney.com/a/202204212352241873.html",
        url="http://127.0.0.1/NewsData/GetNewsText.do?id=NW202204212352241873",
        base_url="http://finance.eastmoney.com/a/202204212352241873.html",
        referer="http://127.0.0.1/feeds/rolling.json",
        sources=["feed", "text_api"],
    )
    return dataclasses.replace(article, **changes)  # type: ignore[arg-type]


def test_an_article_comes_back_equal_field_for_field() -> None:
    article = full_article()
    message = decode(encode_article(article, "cailianshe"))
    assert message == ArticleMessage(article, "cailianshe")
    assert message.article.date is not None and message.article.date.tzinfo is BEIJING


def test_an_article_without_date_and_with_another_offset() -> None:
    assert decode(encode_article(full_article(date=None))) == ArticleMessage(full_article(date=None))
    utc = datetime(2022, 4, 21, 2, 0, tzinfo=UTC)
    back = decode(encode_article(full_article(date=utc)))
    assert isinstance(back, ArticleMessage) and back.article.date == utc


def test_a_refusal_comes_back() -> None:
    assert decode(encode_refusal(CODE, "dropped/no_date")) == RefusalMessage(CODE, "dropped/no_date")


def _article_body(**fields: object) -> bytes:
    body = json.loads(encode_article(full_article()))
    body["article"].update(fields)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a version 1 message"),
        (json.dumps({"v": 99, "type": "article"}).encode(), "not a version 1 message"),
        (json.dumps({"v": 1, "type": "mystery"}).encode(), "unknown message type"),
        (json.dumps({"v": 1, "type": "refusal", "code": "123", "reason": "x"}).encode(), "valid code"),
        (json.dumps({"v": 1, "type": "refusal", "code": CODE, "reason": ""}).encode(), "valid code"),
        (_article_body(code="NW1"), "not an article code"),
        (_article_body(title=5), "'title' is not str"),
        (_article_body(body_cleaned="yes"), "'body_cleaned' is not bool"),
        (_article_body(sources="feed"), "sources is not a list"),
        (_article_body(date="2022-04-21 10:00:00"), "has no time zone"),
        (_article_body(date="yesterday"), "article date"),
        (_article_body(date=7), "not a string"),
    ],
)
def test_a_bad_message_is_refused_saying_why(data: bytes, says: str) -> None:
    with pytest.raises(BadMessage, match=says):
        decode(data)


def test_a_message_missing_a_field_is_refused() -> None:
    body = json.loads(encode_article(full_article()))
    del body["article"]["body"]
    with pytest.raises(BadMessage, match="without 'body'"):
        decode(json.dumps(body).encode())
