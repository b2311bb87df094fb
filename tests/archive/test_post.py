"""The post format (docs/contract.md): exact bytes, YAML safety, names and slugs."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from newscrawler.archive.post import (
    Slugger,
    collapse_whitespace,
    digest_text,
    normalize_outlet,
    normalize_title,
    post_filename,
    render_category_page,
    render_post,
    safe_source_url,
    target_for,
    yaml_quote,
)
from newscrawler.dates import BEIJING

SITE = "//finews.withounder.com"
DATE = datetime(2022, 3, 28, 17, 4, 37, tzinfo=BEIJING)
SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202203282325203083"


def test_outlet_post_exact_bytes() -> None:
    target = target_for(
        code="202203282325203083",
        kind="outlet",
        date=DATE,
        outlet="深圳新闻网",
        slug="shenzhenxinwenwang",
        site=SITE,
    )
    text = render_post(
        target=target,
        title="国寿寿险用心打造“晚美”服务 适老服务全年惠及1066万人次",
        date=DATE,
        body='<p>近年来。</p>\n<p class="em_media">（文章来源：深圳新闻网）</p>',
        source_url=SHARE,
        site=SITE,
    )
    assert target.filename == "2022-03-28-NW202203282325203083.md"
    assert text == (
        "---\n"
        "layout: post\n"
        'title: "国寿寿险用心打造“晚美”服务 适老服务全年惠及1066万人次"\n'
        "date: 2022-03-28 17:04:37 +0800\n"
        "categories: shenzhenxinwenwang\n"
        "tags: 深圳新闻网新闻\n"
        "---\n"
        '<p>近年来。</p>\n<p class="em_media">（文章来源：深圳新闻网）</p>\n'
        "\n"
        f"<{SHARE}>\n"
        "\n"
        "[返回深圳新闻网新闻](//finews.withounder.com/category/shenzhenxinwenwang.html)｜[返回首页](//finews.withounder.com/)\n"
    )


def test_emnews_post_exact_bytes() -> None:
    date = datetime(2022, 4, 21, 18, 36, 14, tzinfo=BEIJING)
    target = target_for(
        code="202204212352230938", kind="emnews", date=date, outlet="", slug="", site=SITE + "/"
    )
    text = render_post(
        target=target,
        title="长春发布若干政策措施",
        date=date,
        body="<p>长春发布。</p>",
        source_url="http://finance.eastmoney.com/news/1350,202204212352230938.html",
        site=SITE + "/",
        digest=digest_text("【长春发布若干政策措施】长春发布《若干政策措施》。（财联社）"),
    )
    assert target.filename == "2022-04-21-202204212352230938.md"
    assert text == (
        '---\nlayout: post\ntitle: "长春发布若干政策措施"\ndate: 2022-04-21 18:36:14 +0800\n'
        "categories: emnews\ntags: 东财滚动新闻\n---\n"
        "> 长春发布《若干政策措施》。（财联社）\n\n"
        "<p>长春发布。</p>\n\n"
        "<http://finance.eastmoney.com/news/1350,202204212352230938.html>\n\n"
        "[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)\n"
    )


def test_category_page() -> None:
    assert render_category_page("深圳新闻网", "shenzhenxinwenwang") == (
        "---\nlayout: category\ntitle: 深圳新闻网新闻\ncategory: shenzhenxinwenwang\n---\n"
    )
    with pytest.raises(ValueError):
        render_category_page("深圳: 新闻网", "shenzhenxinwenwang")
    with pytest.raises(ValueError):
        render_category_page("深圳新闻网", "../x")


@pytest.mark.parametrize(
    ("outlet", "slug"),
    [
        ("深圳新闻网", "shenzhenxinwenwang"),
        ("每日经济新闻", "meirijingjixinwen"),
        ("财联社", "cailianshe"),
        ("央视新闻客户端", "yangshixinwenkehuduan"),
        ("21世纪经济报道", "21shijijingjibaodao"),
        ("Reuters", "reuters"),
    ],
)
def test_slugs(outlet: str, slug: str) -> None:
    assert Slugger().slug(outlet) == slug


def test_file_names_only_safe_characters() -> None:
    assert post_filename(DATE, "202203282325203083", "outlet") == "2022-03-28-NW202203282325203083.md"
    for bad in (
        "../../etc/passwd",
        "NW202203282325203083",
        "20220328232520308",
        "２０２２０３２８２３２５２０３０８３",
    ):
        with pytest.raises(ValueError):
            post_filename(DATE, bad, "outlet")


def test_date_in_file_name_is_beijing_date() -> None:
    utc_evening = datetime.fromisoformat("2022-03-28T20:00:00+00:00")
    assert post_filename(utc_evening, "202203282325203083", "emnews") == "2022-03-29-202203282325203083.md"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("深圳新闻网", "深圳新闻网"),
        (" 深圳 新闻网 ", "深圳新闻网"),
        ("a: b # c", "abc"),
        ("<script>x</script>", "x"),
        ("---", ""),
        ("&amp;&lt;", ""),
    ],
)
def test_normalize_outlet(raw: str, expected: str) -> None:
    assert normalize_outlet(raw) == expected


def test_title_markup_never_survives() -> None:
    assert normalize_title("<img src=x onerror=alert(1)>标题") == "标题"
    assert normalize_title("a <b>粗</b> c") == "a 粗 c"
    assert "<" not in normalize_title("x &lt;script&gt;alert(1)&lt;/script&gt;").replace("&lt;", "")
    assert normalize_title("1 < 2") == "1 < 2"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "http://a b", "http://x/>y", "ftp://x", "", "data:text/html,x"],
)
def test_unsafe_source_urls(url: str) -> None:
    assert safe_source_url(url) is None


TITLE_ALPHABET = st.characters(codec="utf-8") | st.sampled_from(
    [
        '"',
        "\\",
        ":",
        "#",
        "-",
        "'",
        "\n",
        "\r",
        "\t",
        "\x00",
        "\x1b",
        "\x85",
        "\u2028",
        "\ufeff",
        "{",
        "}",
        "[",
        "]",
    ]
)


@given(
    st.text(alphabet=TITLE_ALPHABET, max_size=80)
    | st.sampled_from(["---", "- a", "? x", "!x", "&a *b", "@", "%"])
)
def test_any_title_reads_back_exactly(raw: str) -> None:
    title = normalize_title(raw)
    header = f"---\nlayout: post\ntitle: {yaml_quote(title)}\ndate: 2022-03-28 17:04:37 +0800\n---\n"
    data = yaml.safe_load(header.split("---\n")[1])
    assert data["title"] == title
    assert title == collapse_whitespace(title)
    assert "\n" not in yaml_quote(title)


@given(st.text(max_size=60))
def test_yaml_quote_round_trips_any_text(text: str) -> None:
    assert yaml.safe_load("t: " + yaml_quote(text))["t"] == text
