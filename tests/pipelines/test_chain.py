"""The pipelines as components: built with get_crawler, fed Articles, on a memory store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newscrawler import settings as project_settings
from newscrawler.archive.config import ArchiveConfig
from newscrawler.archive.session import ArchiveSession
from newscrawler.dates import BEIJING
from newscrawler.dedup.store.base import SeenStore
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.items import Article
from newscrawler.pipelines.clean import CleanPipeline
from newscrawler.pipelines.dedup import DedupPipeline
from newscrawler.pipelines.validate import ValidatePipeline
from newscrawler.pipelines.write import WritePostPipeline

BODY = "<p>　　公司今日发布公告称，一季度实现营业收入13亿元，同比增长23%，净利润增长明显，董事会建议派发现金红利。</p>\r\n<p>　　公司表示将继续加大研发投入，新项目预计年内投产，产能将提升一倍，带动全年营业收入继续增长。</p>"


def settings_dict(archive: Path) -> dict[str, Any]:
    names = [n for n in dir(project_settings) if n.isupper()]
    return {**{n: getattr(project_settings, n) for n in names}, "ARCHIVE_DIR": str(archive)}


class Chain:
    def __init__(self, archive: Path) -> None:
        self.crawler = get_crawler(settings_dict=settings_dict(archive))
        self.store = MemoryStore()

        def opener(config: ArchiveConfig) -> SeenStore:
            return self.store

        self.session = ArchiveSession.from_settings(self.crawler.settings, store_opener=opener).install(
            self.crawler
        )
        self.crawler.stats.open_spider()  # type: ignore[union-attr]
        self.pipelines = [
            ValidatePipeline.from_crawler(self.crawler),
            CleanPipeline.from_crawler(self.crawler),
            DedupPipeline.from_crawler(self.crawler),
            WritePostPipeline.from_crawler(self.crawler),
        ]

    def run(self, item: Article) -> Article:
        for pipeline in self.pipelines:
            item = pipeline.process_item(item)
        return item

    def flush(self) -> None:
        self.pipelines[-1].flush()  # type: ignore[attr-defined]

    def stat(self, name: str) -> int:
        return int(self.crawler.stats.get_value(f"newscrawler/{name}", 0))  # type: ignore[union-attr]


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return Chain(tmp_path / "archive")


def make(code: str = "202205101380000001", **fields: Any) -> Article:
    values: dict[str, Any] = {
        "code": code,
        "kind": "outlet",
        "title_raw": "公司公告",
        "date_raw": "2022-05-10 09:00:00",
        "outlet": "深圳新闻网",
        "body_raw": BODY,
        "url": "http://127.0.0.1/x",
    }
    values.update(fields)
    return Article(**values)


def test_a_good_article_is_written_and_recorded(chain: Chain, tmp_path: Path) -> None:
    item = chain.run(make())
    assert item.slug == "shenzhenxinwenwang"
    post = tmp_path / "archive" / "_posts" / "2022-05-10-NW202205101380000001.md"
    assert post.read_text("utf-8").startswith('---\nlayout: post\ntitle: "公司公告"\n')
    # Recorded once the batch is durable, visible to this run's dedup before that.
    assert chain.store.get("202205101380000001") is None
    assert chain.session.run.run_store.get("202205101380000001") is not None
    chain.flush()
    record = chain.store.get("202205101380000001")
    assert record is not None and record.path == "_posts/2022-05-10-NW202205101380000001.md"
    assert chain.store.slug_for("深圳新闻网") == "shenzhenxinwenwang"
    assert chain.stat("posts/written") == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"code": "NW123"}, "bad_code"),
        ({"code": ""}, "bad_code"),
        ({"title_raw": "  "}, "no_title"),
        ({"title_raw": "<b></b>"}, "no_title"),
        ({"date_raw": ""}, "no_date"),
        ({"date_raw": "昨天"}, "bad_date"),
        (
            {"date_raw": (datetime.now(BEIJING) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")},
            "future_date",
        ),
        ({"outlet": ""}, "no_outlet"),
        ({"outlet": "::: ---"}, "no_outlet"),
        ({"outlet": "ッ"}, "bad_slug"),
        ({"body_raw": "<script>alert(1)</script><p>　　</p>"}, "empty_body"),
        ({"kind": "weird"}, "bad_kind"),
    ],
)
def test_bad_articles_are_dropped_with_a_reason(
    chain: Chain, tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(DropItem, match=reason):
        chain.run(make(**fields))
    assert chain.stat(f"dropped/{reason}") == 1
    assert not list((tmp_path / "archive").rglob("*.md"))


def test_duplicates_by_code_and_by_content(chain: Chain) -> None:
    chain.run(make())
    with pytest.raises(DropItem, match="code"):
        chain.run(make())
    with pytest.raises(DropItem, match="content_exact"):
        chain.run(make("202205101380000002"))
    assert chain.stat("duplicates/code") == 1
    assert chain.stat("duplicates/content_exact") == 1


def test_content_duplicates_only_within_the_window(chain: Chain) -> None:
    chain.run(make())
    item = chain.run(make("202206101380000002", date_raw="2022-06-10 09:00:00"))
    assert item.code == "202206101380000002"


def test_known_article_from_an_earlier_run(chain: Chain) -> None:
    chain.run(make())
    chain.flush()
    chain.session.run.codes_this_run.clear()
    with pytest.raises(DropItem, match="known"):
        chain.run(make())
    assert chain.stat("duplicates/known") == 1


def test_the_store_is_not_asked_again_for_an_article_found_unarchived_before_its_fetch(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    get = chain.store.get
    monkeypatch.setattr(chain.store, "get", lambda code: asked.append(code) or get(code))
    chain.session.run.unarchived.add("202205101380000001")
    chain.run(make("202205101380000001"))
    assert asked == []
    chain.run(make("202205101380000002", body_raw="<p>另一篇完全不同的公告，讲的是董事会换届选举和独立董事提名的事项安排。</p>"))
    assert asked == ["202205101380000002"]  # not checked before its fetch (-a codes): asked
    # A second item of the first code is still a duplicate (of this run).
    with pytest.raises(DropItem, match="already handled in this run"):
        chain.run(make("202205101380000001"))


def test_batches_are_committed_by_size(tmp_path: Path) -> None:
    chain = Chain(tmp_path / "archive")
    writer = chain.pipelines[-1]
    writer.batch_size = 2  # type: ignore[attr-defined]
    chain.run(
        make(
            "202205101380000001",
            body_raw="<p>第一条新闻的正文内容，讲述第一家公司的经营情况与未来计划安排。</p>",
        )
    )
    assert chain.store.count() == 0
    chain.run(
        make(
            "202205101380000002",
            body_raw="<p>第二条新闻的正文内容，讲述另外一家企业的融资进展与投资方向。</p>",
        )
    )
    assert chain.store.count() == 2


def test_homophone_outlets_get_distinct_slugs(chain: Chain) -> None:
    first = chain.run(make(outlet="财联社"))
    second = chain.run(
        make(
            "202205101380000003",
            outlet="采联社",
            body_raw="<p>完全不同的另一条新闻内容，讲述另一家公司的情况，与前一条毫无关系。</p>",
        )
    )
    assert (first.slug, second.slug) == ("cailianshe", "cailianshe2")


def test_category_pages_are_written_when_missing_and_never_overwritten(chain: Chain, tmp_path: Path) -> None:
    page = tmp_path / "archive" / "category" / "shenzhenxinwenwang.html"
    chain.run(make("202205101380000001"))
    assert (
        page.read_text("utf-8")
        == "---\nlayout: category\ntitle: 深圳新闻网新闻\ncategory: shenzhenxinwenwang\n---\n"
    )
    page.write_text("hand-edited\n", "utf-8")
    chain.run(make("202205101380000002", body_raw=BODY.replace("13亿元", "14亿元")))
    assert page.read_text("utf-8") == "hand-edited\n"
    page.unlink()  # removed by someone else during the run: the next post of the outlet writes it again
    chain.run(
        make(
            "202205101380000003",
            body_raw="<p>另一篇完全不同的公告，内容与前两篇无关，讲的是董事会换届选举和独立董事提名的事项。</p>",
        )
    )
    assert page.exists()
    assert chain.stat("categories/written") == 2


def test_the_clean_step_cleans_a_body_once(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    from newscrawler.cleaning.body import clean_body
    from newscrawler.pipelines import clean as clean_module

    calls: list[str] = []

    def counting(html: str, base_url: str = "") -> str:
        calls.append(base_url)
        return clean_body(html, base_url)

    monkeypatch.setattr(clean_module, "clean_body", counting)
    raw = BODY + '<script>alert(1)</script><a href="/a/1.html">链接</a>'
    base = "http://finance.eastmoney.com/a/202205101380000001.html"
    # As the spider hands it over: cleaned already against the article's base.
    done = make(body_raw=raw, base_url=base, body=clean_body(raw, base), body_cleaned=True)
    assert chain.pipelines[1].process_item(chain.pipelines[0].process_item(done)).body == clean_body(raw, base)
    assert calls == []
    # Not cleaned yet (another spider): cleaned here, against the same base.
    fresh = chain.pipelines[1].process_item(chain.pipelines[0].process_item(make(body_raw=raw, base_url=base)))
    assert calls == [base] and fresh.body == clean_body(raw, base) and fresh.body_cleaned
    assert "<script" not in fresh.body and 'href="http://finance.eastmoney.com/a/1.html"' in fresh.body
