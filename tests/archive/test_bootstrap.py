"""Reading the archive on disk: every post variant, scanning, bootstrap, stale temp files."""

from __future__ import annotations

import hashlib
import logging
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from newscrawler.archive.bootstrap import (
    ArchivedPost,
    archived_post,
    bootstrap,
    remove_stale_temp_files,
    scan_archive,
)
from newscrawler.archive.post import format_date, parse_header_date, parse_post
from newscrawler.dates import BEIJING
from newscrawler.dedup.fingerprint import fingerprint, html_to_text
from newscrawler.dedup.store.base import META_BOOTSTRAPPED_AT, SeenStore
from newscrawler.dedup.store.memory import MemoryStore
from newscrawler.dedup.store.sqlite import SQLiteStore
from tests.conftest import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "archive"
SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode="


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BEIJING)


#: Every article post of the fixture archive: what scanning it must give.
#: (code, post id, kind, slug, outlet, title, date, start of the text, end of the text, source URL)
EXPECTED: dict[str, tuple[str, str, str, str, str, str, datetime | None, str, str, str]] = {
    "_posts/2022-05-10-NW202205101380012345.md": (
        "202205101380012345",
        "NW202205101380012345",
        "outlet",
        "zhengquanshibaowang",
        "证券时报网",
        "证监会：进一步提高上市公司质量 推动资本市场高质量发展",
        bj(2022, 5, 10, 9, 15, 2),
        "证监会5月10日表示，将进一步推动",
        "支持优质企业做优做强。 （文章来源：证券时报网）",
        SHARE + "NW202205101380012345",
    ),
    "_posts/2022-05-10-202205101380023456.md": (  # rolling news with its digest
        "202205101380023456",
        "202205101380023456",
        "emnews",
        "emnews",
        "",
        "国家统计局：4月份CPI同比上涨2.1%",
        bj(2022, 5, 11, 9, 30),
        "国家统计局5月11日发布数据显示",
        "非食品价格同比上涨2.2%。 （文章来源：证券时报）",
        "http://finance.eastmoney.com/news/1350,202205101380023456.html",
    ),
    "_posts/2021-12-09-202112092207001122.md": (  # no +0800, old footer lines, no final newline
        "202112092207001122",
        "202112092207001122",
        "emnews",
        "emnews",
        "",
        "沪指午间收涨0.83% 煤炭板块走强",
        bj(2021, 12, 9, 11, 30, 5),
        "沪指午间收涨0.83%",
        "煤炭、钢铁板块走强。",
        "http://finance.eastmoney.com/news/1344,202112092207001122.html",
    ),
    "_posts/2021-12-09-202112092207003344.md": (  # blank line before ---, no footer, no final newline
        "202112092207003344",
        "202112092207003344",
        "emnews",
        "emnews",
        "",
        "离岸人民币兑美元日内涨超200点",
        bj(2021, 12, 9, 14, 2, 11),
        "离岸人民币兑美元日内涨超200点，",
        "现报6.3605。",
        "http://finance.eastmoney.com/news/1344,202112092207003344.html",
    ),
    "_posts/-202205111380034567.md": (  # the empty date
        "202205111380034567",
        "202205111380034567",
        "emnews",
        "emnews",
        "",
        "央行今日开展100亿元7天期逆回购操作",
        None,
        "央行今日开展100亿元7天期逆回购操作，中标利率2.10%，当日",
        "逆回购到期。",
        "http://finance.eastmoney.com/news/1350,202205111380034567.html",
    ),
    "_posts/2022-05-12-NW202205121380056789.md": (  # broken YAML quoting
        "202205121380056789",
        "NW202205121380056789",
        "outlet",
        "xinlangcaijing",
        "新浪财经",
        '董秘回应"暂无回购计划"：公司经营一切正常',
        bj(2022, 5, 12, 16, 20, 45),
        "有投资者在互动平台询问",
        "生产经营一切正常。",
        SHARE + "NW202205121380056789",
    ),
    "_posts/2022-05-13-NW202205131380089012.md": (  # CRLF in the body, widget, hidden paragraph, entities
        "202205131380089012",
        "NW202205131380089012",
        "outlet",
        "meirijingjixinwen",
        "每日经济新闻",
        '宁德时代：拟在匈牙利投建"动力电池"基地',
        bj(2022, 5, 13, 20, 11, 9),
        "宁德时代5月13日晚间公告",
        "提升公司核心竞争力&品牌影响力。 公告显示，项目建设周期预计不超过64个月。 （文章来源：每日经济新闻）",
        SHARE + "NW202205131380089012",
    ),
    "_posts/2022-05-14-shangzheng-wubao.md": (  # no id in the file name: the code of the source URL
        "202205141380090123",
        "202205141380090123",
        "emnews",
        "emnews",
        "",
        "A股午评：三大指数集体上涨",
        bj(2022, 5, 14, 11, 31),
        "A股三大指数午间集体上涨",
        "创业板指涨1.35%。",
        "http://finance.eastmoney.com/news/1350,202205141380090123.html",
    ),
    "old_post/2021-12-10-202112102207005566.md": (  # CRLF everywhere, //finews.zning.me footer
        "202112102207005566",
        "202112102207005566",
        "emnews",
        "emnews",
        "",
        "国际金价短线走高 现报1785美元/盎司",
        bj(2021, 12, 10, 10, 46, 18),
        "国际金价短线走高，",
        "日内涨0.6%。",
        "http://finance.eastmoney.com/news/11060,202112102207005566.html",
    ),
    "old_post/2022-03-02-NW202203021380033333.md": (
        "202203021380033333",
        "NW202203021380033333",
        "outlet",
        "zqsbw",
        "证券时报网",
        "深交所：优化创业板发行上市审核机制",
        bj(2022, 3, 2, 19, 5, 33),
        "深交所表示",
        "提升审核透明度和可预期性。",
        SHARE + "NW202203021380033333",
    ),
    "old_post/2022-03-03-NW202203031380044444.md": (  # YAML lists, +08:00
        "202203031380044444",
        "NW202203031380044444",
        "outlet",
        "zhengquanshibaowang",
        "证券时报网",
        "北交所：持续完善市场基础制度",
        bj(2022, 3, 3, 8),
        "北交所表示",
        "推动做市商制度尽快落地。",
        SHARE + "NW202203031380044444",
    ),
    "old_post/2022-04-21-202204211380011111.md": (  # one code as rolling news ...
        "202204211380011111",
        "202204211380011111",
        "emnews",
        "emnews",
        "",
        "财政部：1-4月全国一般公共预算收入同比增长5.3%",
        bj(2022, 4, 21, 18, 36, 14),
        "财政部5月6日发布数据",
        "扣除留抵退税因素后增长8.9%。 （文章来源：财联社）",
        "http://finance.eastmoney.com/news/1350,202204211380011111.html",
    ),
    "old_post/2022-04-21-NW202204211380011111.md": (  # ... and as an outlet post
        "202204211380011111",
        "NW202204211380011111",
        "outlet",
        "cailianshe",
        "财联社",
        "财政部：1-4月全国一般公共预算收入同比增长5.3%",
        bj(2022, 4, 21, 18, 36, 14),
        "财政部5月6日发布数据",
        "扣除留抵退税因素后增长8.9%。 （文章来源：财联社）",
        SHARE + "NW202204211380011111",
    ),
    "old_post/2022-05-10-NW202205101380012345.md": (  # the same post, moved to old_post too
        "202205101380012345",
        "NW202205101380012345",
        "outlet",
        "zhengquanshibaowang",
        "证券时报网",
        "证监会：进一步提高上市公司质量 推动资本市场高质量发展",
        bj(2022, 5, 10, 9, 15, 2),
        "证监会5月10日表示",
        "（文章来源：证券时报网）",
        SHARE + "NW202205101380012345",
    ),
}

#: Files of the fixture archive that are not article posts, and whether skipping them warns.
SKIPPED = {
    "_posts/2021-12-01-init.md": False,  # a site post without an article code
    "_posts/README.md": False,  # no front matter
    "_posts/2022-05-12-NW202205121380067890.md": True,  # GBK
    "_posts/2022-05-12-NW202205121380078901.md": True,  # binary
}


def test_fixture_archive_is_complete() -> None:
    files = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.md")}
    assert files == set(EXPECTED) | set(SKIPPED)


@pytest.mark.parametrize("rel_path", list(EXPECTED))
def test_archived_post_fields(rel_path: str) -> None:
    text = (FIXTURES / rel_path).read_bytes().decode("utf-8")
    post = archived_post(rel_path, text)
    assert post is not None
    code, post_id, kind, slug, outlet, title, date, text_start, text_end, source = EXPECTED[rel_path]
    assert (post.code, post.post_id, post.kind, post.slug, post.outlet) == (code, post_id, kind, slug, outlet)
    assert post.title == title
    assert post.date == date
    if date is not None:
        assert post.date is not None and post.date.utcoffset() == timedelta(hours=8)
    assert post.text.startswith(text_start), post.text
    assert post.text.endswith(text_end), post.text
    assert post.source_url == source
    assert post.path == rel_path
    for leftover in ("<", "返回", "---", "layout", "&nbsp;", "&amp;", "EM_StockImg", "K图", "\r"):
        assert leftover not in post.text


def test_scan_archive_yields_the_posts_in_order_and_warns_on_unreadable_files(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="newscrawler.archive.bootstrap"):
        posts = list(scan_archive(FIXTURES))
    paths = [post.path for post in posts]
    assert set(paths) == set(EXPECTED)
    assert paths == sorted(p for p in paths if p.startswith("_posts/")) + sorted(
        p for p in paths if p.startswith("old_post/")
    )
    for rel_path, warns in SKIPPED.items():
        records = [r for r in caplog.records if rel_path in r.getMessage()]
        assert len(records) == 1, rel_path
        assert (records[0].levelno == logging.WARNING) is warns, rel_path


def test_scan_archive_of_a_missing_or_empty_folder(tmp_path: Path) -> None:
    assert list(scan_archive(tmp_path / "nowhere")) == []
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_posts" / ".hidden-NW202203282325203083.md").write_text("---\ntitle: x\n---\n")
    (tmp_path / "_posts" / "sub.md").mkdir()
    assert list(scan_archive(tmp_path)) == []


def test_scan_archive_skips_unreadable_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "2022-03-28-NW202203282325203083.md").symlink_to(tmp_path / "missing.md")
    (posts / "2022-03-28-NW202203282325203084.md").write_bytes(b"---\ntitle: \xff\xfe\n---\n")
    with caplog.at_level(logging.WARNING, logger="newscrawler.archive.bootstrap"):
        assert list(scan_archive(tmp_path)) == []
    assert any("NW202203282325203084" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- parse_post


OUTLET_POST = (
    "---\n"
    "layout: post\n"
    'title: "公司称\\"暂无计划\\"  两市 震荡"\n'
    "date: 2022-03-28 17:04:37 +0800\n"
    "categories: shenzhenxinwenwang\n"
    "tags: 深圳新闻网新闻\n"
    "---\n"
    "<p>第一段。</p>\n"
    "<p>第二段。</p>\n"
    "\n"
    f"<{SHARE}NW202203282325203083>\n"
    "\n"
    "[返回深圳新闻网新闻](//finews.withounder.com/category/shenzhenxinwenwang.html)｜[返回首页](//finews.withounder.com/)\n"
)


def test_parse_outlet_post() -> None:
    post = parse_post(OUTLET_POST)
    assert post is not None
    assert post.title == '公司称"暂无计划" 两市 震荡'
    assert post.date == bj(2022, 3, 28, 17, 4, 37)
    assert post.categories == ("shenzhenxinwenwang",)
    assert post.tags == ("深圳新闻网新闻",)
    assert post.body == "<p>第一段。</p>\n<p>第二段。</p>"
    assert post.source_url == SHARE + "NW202203282325203083"
    assert post.digest == ""
    assert not post.header_fallback


@pytest.mark.parametrize(
    "variant",
    [
        OUTLET_POST.replace("\n", "\r\n"),
        OUTLET_POST.rstrip("\n"),
        "\n\n" + OUTLET_POST,
        "\ufeff" + OUTLET_POST,
        OUTLET_POST.replace("<p>第一段。</p>\n", "<p>第一段。</p>\r\n"),
    ],
    ids=["crlf", "no final newline", "blank lines before the header", "bom", "crlf inside"],
)
def test_parse_post_variants_read_the_same(variant: str) -> None:
    assert parse_post(variant) == parse_post(OUTLET_POST)


def test_parse_emnews_separates_the_digest() -> None:
    text = (
        '---\nlayout: post\ntitle: "标题"\ndate: 2022-04-21 18:36:14 +0800\ncategories: emnews\ntags: 东财滚动新闻\n---\n'
        "> 摘要第一句。\n> 摘要第二句。\n\n<p>正文。</p>\n\n<http://finance.eastmoney.com/news/1350,202204212352230938.html>\n"
    )
    post = parse_post(text)
    assert post is not None
    assert post.digest == "摘要第一句。\n摘要第二句。"
    assert post.body == "<p>正文。</p>"
    outlet = parse_post(text.replace("categories: emnews", "categories: cailianshe"))
    assert outlet is not None and outlet.digest == "" and outlet.body.startswith("> 摘要")


def test_parse_post_without_source_line_drops_back_links() -> None:
    text = "---\ntitle: x\ncategories: emnews\n---\n\n正文\n\n[返回东财滚动新闻](../emnews/)\n[返回首页](../)"
    post = parse_post(text)
    assert post is not None and post.body == "正文" and post.source_url == ""


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# 标题\n\n正文\n",
        "正文\n---\ntitle: x\n---\n",
        "---\ntitle: x\ndate: 2022-03-28\n",  # no closing ---
        "---\n---\nbody\n",  # empty header
        "---\n- a\n- b\n---\n",  # a header that is a list, not a mapping, with no key: value line
    ],
)
def test_not_a_post(text: str) -> None:
    assert parse_post(text) is None


def test_broken_yaml_falls_back_to_lines() -> None:
    text = (
        '---\nlayout: post\ntitle: "他说"你好"就走了"\ndate: 2022-03-28 17:04:37\n'
        "categories: a: b\ntags: 深圳新闻网新闻\n---\n正文\n"
    )
    post = parse_post(text)
    assert post is not None
    assert post.header_fallback
    assert post.title == '他说"你好"就走了'
    assert post.date == bj(2022, 3, 28, 17, 4, 37)
    assert post.tags == ("深圳新闻网新闻",)


def test_impossible_yaml_timestamp_keeps_the_post_without_a_date() -> None:
    text = '---\ntitle: "标题"\ndate: 2022-02-30 10:00:00\ncategories: emnews\n---\n正文\n'
    post = parse_post(text)
    assert post is not None
    assert (
        post.header_fallback and post.title == "标题" and post.date is None and post.categories == ("emnews",)
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-03-28 17:04:37 +0800", bj(2022, 3, 28, 17, 4, 37)),
        ("2022-03-28 17:04:37", bj(2022, 3, 28, 17, 4, 37)),
        ("2022-03-28 17:04", bj(2022, 3, 28, 17, 4)),
        ("2022-03-28", bj(2022, 3, 28)),
        ("2022-03-28T09:04:37Z", datetime(2022, 3, 28, 9, 4, 37, tzinfo=UTC)),
        (
            "2022-03-28 17:04:37 -05:00",
            datetime(2022, 3, 28, 17, 4, 37, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (datetime(2021, 12, 8, 12, 41, 23), bj(2021, 12, 8, 12, 41, 23)),
        (" +0800", None),
        ("+0800", None),
        ("", None),
        (None, None),
        (800, None),
        ("2022-02-30 10:00:00 +0800", None),
        ("2022-03-28 25:00:00", None),
        ("昨天", None),
    ],
)
def test_parse_header_date(value: object, expected: datetime | None) -> None:
    assert parse_header_date(value) == expected


def test_format_date() -> None:
    assert format_date(bj(2022, 3, 28, 17, 4, 37)) == "2022-03-28 17:04:37 +0800"
    assert format_date(datetime(2022, 3, 28, 9, 4, 37, tzinfo=UTC)) == "2022-03-28 17:04:37 +0800"
    assert format_date(None) == ""


# --------------------------------------------------------------------------- bootstrap


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    shutil.copytree(FIXTURES, root)
    return root


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_bootstrap_fills_the_store(archive: Path, tmp_path: Path, kind: str) -> None:
    before = _tree_digest(archive)
    store: SeenStore = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "seen.db")
    with store:
        stats = bootstrap(store, archive, workers=1)
        codes = {expected[0] for expected in EXPECTED.values()}
        assert stats.posts == store.count() == len(codes) == 12
        assert stats.files == len(EXPECTED) + len(SKIPPED)
        assert stats.unreadable == 2 and stats.not_posts == 2
        assert stats.duplicate_codes == {
            "202204211380011111": ["old_post/2022-04-21-NW202204211380011111.md"],
            "202205101380012345": ["old_post/2022-05-10-NW202205101380012345.md"],
        }
        assert stats.duplicates == 2
        for expected in EXPECTED.values():
            assert store.has(expected[0])
        # The first file of a code is the one recorded.
        first = store.get("202204211380011111")
        assert first is not None and (first.path, first.kind, first.slug) == (
            "old_post/2022-04-21-202204211380011111.md",
            "emnews",
            "emnews",
        )
        # Fingerprints are those of the body text, as the pipelines take them of new articles.
        rel_path = "_posts/2022-05-13-NW202205131380089012.md"
        parsed = parse_post((archive / rel_path).read_text(encoding="utf-8"))
        assert parsed is not None
        fp = fingerprint(html_to_text(parsed.body))
        got = store.get("202205131380089012")
        assert got is not None
        assert (got.text_hash, got.simhash) == (fp.text_hash, fp.simhash)
        assert fp.simhash is not None  # long enough for near matching
        assert got.date == "2022-05-13 20:11:09 +0800"
        assert store.find_exact(fp.text_hash) == "202205131380089012"
        assert store.find_near(fp.simhash ^ 0b11, 3) == "202205131380089012"
        empty_date = store.get("202205111380034567")
        assert empty_date is not None and empty_date.date == ""
        # Outlet -> slug, learned from every outlet post (a duplicate file too); emnews is no outlet.
        assert store.slugs() == {
            "证券时报网": "zhengquanshibaowang",
            "新浪财经": "xinlangcaijing",
            "每日经济新闻": "meirijingjixinwen",
            "财联社": "cailianshe",
        }
        assert stats.slug_conflicts == {"证券时报网": {"zhengquanshibaowang": 3, "zqsbw": 1}}
        assert store.get_meta(META_BOOTSTRAPPED_AT)
        assert store.get_meta("fingerprint_version") == "1"
    assert _tree_digest(archive) == before  # nothing written to the archive


def test_bootstrap_in_worker_processes_gives_the_same_store(archive: Path) -> None:
    single, pooled = MemoryStore(), MemoryStore()
    stats_single = bootstrap(single, archive, workers=1)
    stats_pooled = bootstrap(pooled, archive, workers=2, chunk_size=3)
    assert stats_pooled.posts == stats_single.posts
    assert stats_pooled.duplicate_codes == stats_single.duplicate_codes
    assert pooled.slugs() == single.slugs()
    for expected in EXPECTED.values():
        assert pooled.get(expected[0]) == single.get(expected[0])


def test_bootstrap_batches_commit_as_they_go(archive: Path, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "seen.db") as store:
        stats = bootstrap(store, archive, workers=1, batch_size=2, chunk_size=2)
        assert stats.posts == store.count() == 12


def test_a_bootstrap_again_after_one_killed_half_way_counts_no_false_duplicates(
    archive: Path, tmp_path: Path
) -> None:
    """The batches a killed bootstrap committed are in the store; doing it again records
    the same files again, and only the real second files of a code are duplicates (with a
    batch of 2, duplicates are found in the store as well as in the batch in hand)."""
    with SQLiteStore(tmp_path / "seen.db") as store:
        first = bootstrap(store, archive, workers=1, batch_size=2, chunk_size=2)
        again = bootstrap(store, archive, workers=1, batch_size=2, chunk_size=2)
        assert again.posts == first.posts == store.count() == 12
        assert again.duplicate_codes == first.duplicate_codes and len(again.duplicate_codes) == 2
        kept = store.get("202204211380011111")
        assert kept is not None and kept.path == "old_post/2022-04-21-202204211380011111.md"


def test_bootstrap_of_an_empty_archive(tmp_path: Path) -> None:
    store = MemoryStore()
    stats = bootstrap(store, tmp_path)
    assert (stats.files, stats.posts, store.count()) == (0, 0, 0)
    assert store.get_meta(META_BOOTSTRAPPED_AT)


def test_archived_post_record() -> None:
    post = ArchivedPost(
        code="202203282325203083",
        post_id="NW202203282325203083",
        path="_posts/2022-03-28-NW202203282325203083.md",
        kind="outlet",
        slug="shenzhenxinwenwang",
        outlet="深圳新闻网",
        title="t",
        date=bj(2022, 3, 28, 17, 4, 37),
        text="正文" * 80,
    )
    rec = post.record()
    fp = fingerprint("正文" * 80)
    assert (rec.code, rec.path, rec.kind, rec.slug, rec.date) == (
        post.code,
        post.path,
        "outlet",
        "shenzhenxinwenwang",
        "2022-03-28 17:04:37 +0800",
    )
    assert (rec.text_hash, rec.simhash) == (fp.text_hash, fp.simhash)


# --------------------------------------------------------------------------- temp files


def test_remove_stale_temp_files(tmp_path: Path) -> None:
    stale = [
        "_posts/.2022-03-28-NW202203282325203083.md.tmp",
        "_posts/.x.tmp",
        "old_post/.2021-12-08-202112082206672930.md.a1b2c3.tmp",
        "category/.shenzhenxinwenwang.html.tmp",
    ]
    kept = [
        "_posts/2022-03-28-NW202203282325203083.md",
        "_posts/notes.tmp",  # not hidden
        "_posts/.draft.md",  # hidden, not a temp file
        "_posts/..tmp",  # no name
        "category/shenzhenxinwenwang.html",
        ".newscrawler/.state.tmp",  # not a post folder
        ".top.tmp",
    ]
    for rel in stale + kept:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (tmp_path / "_posts" / ".dir.tmp").mkdir()
    assert remove_stale_temp_files(tmp_path) == len(stale)
    for rel in stale:
        assert not (tmp_path / rel).exists()
    for rel in kept:
        assert (tmp_path / rel).exists()
    assert (tmp_path / "_posts" / ".dir.tmp").is_dir()
    assert remove_stale_temp_files(tmp_path) == 0
    assert remove_stale_temp_files(tmp_path / "nowhere") == 0
