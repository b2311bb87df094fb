"""The finer cases of the validate and clean pipelines: every malformed field or empty body
is dropped with its counted reason (built with get_crawler, no crawl)."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newscrawler.items import KIND_OUTLET, Article
from newscrawler.pipelines.clean import CleanPipeline
from newscrawler.pipelines.validate import ValidatePipeline

DATE = "2022-04-01 10:00:00"
OUTLET = "财联社"


def _article(**fields: Any) -> Article:
    values: dict[str, Any] = {
        "code": "202204010000000001",
        "kind": KIND_OUTLET,
        "title_raw": "标题",
        "date_raw": DATE,
        "outlet": OUTLET,
        "body_raw": "<p>　　正文。</p>",
        "url": "http://127.0.0.1/text",
    }
    values.update(fields)
    return Article(**values)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"code": "NW../../etc/passwd"}, "bad_code"),
        ({"code": "../../../../etc/passwd"}, "bad_code"),
        ({"code": "NW202204010000000001"}, "bad_code"),
        ({"code": "2022040100000000\x0001"}, "bad_code"),
        ({"code": "２０２２０４０１００００００００01"}, "bad_code"),
        ({"code": "202213010000000001"}, "bad_code"),
        ({"code": ""}, "bad_code"),
        ({"title_raw": ""}, "no_title"),
        ({"title_raw": "\u200b\x00 \u3000"}, "no_title"),
        ({"date_raw": ""}, "no_date"),
        ({"date_raw": "2022-02-30 10:00:00"}, "bad_date"),
        ({"date_raw": "9" * 80}, "bad_date"),
        ({"date_raw": "2999-01-01"}, "bad_date"),
        ({"date_raw": "2099-01-01"}, "future_date"),
        ({"date_raw": "2022-04-01T10:00:00+25:00"}, "bad_date"),
        ({"outlet": ""}, "no_outlet"),
        ({"outlet": "\u200b"}, "no_outlet"),
        ({"kind": "../x"}, "bad_kind"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else str(v),
)
def test_validate_pipeline_drops_with_a_counted_reason(fields: dict[str, Any], reason: str) -> None:
    crawler = get_crawler(settings_dict={"EASTMONEY_ARTICLE_URL": "http://127.0.0.1/a/{code}.html"})
    pipeline = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match=f"^{reason}"):
        pipeline.process_item(_article(**fields))
    assert crawler.stats is not None
    assert crawler.stats.get_value(f"newscrawler/dropped/{reason}") == 1


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<script>alert(1)</script>",
        "<p>　　</p><p>\u3000\u3000</p>",
        "<!-- 注释 -->",
        "<style>p{}</style><iframe src='x'></iframe>",
        "<div style='display:none'>隐藏</div>",
        "<!-- EM_StockImg_Start --><p>图</p><!-- EM_StockImg_End -->",
    ],
)
def test_clean_pipeline_drops_bodies_empty_after_cleaning(body: str) -> None:
    crawler = get_crawler()
    with pytest.raises(DropItem, match=r"^empty_body"):
        CleanPipeline.from_crawler(crawler).process_item(_article(body_raw=body))
    assert crawler.stats is not None
    assert crawler.stats.get_value("newscrawler/dropped/empty_body") == 1
