"""The post format (docs/contract.md): exact bytes, YAML safety, names and slugs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from newscrawler.archive.post import (
    ParsedPost,
    Slugger,
    _parse_post,
    _read_simple_header,
    collapse_whitespace,
    digest_text,
    normalize_outlet,
    normalize_title,
    parse_header_date,
    post_filename,
    render_category_page,
    render_post,
    safe_source_url,
    target_for,
    yaml_quote,
)
from newscrawler.dates import BEIJING, format_post_date
from tests.conftest import FIXTURES, examples

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


# --------------------------------------------------------------------------- reading headers without YAML
# parse_post reads the headers render_post writes without YAML (_read_simple_header); every
# other header goes to YAML. Both ways must give the same ParsedPost, to the tzinfo.

BODY = "<p>正文。</p>\n\n<http://finance.eastmoney.com/news/1350,202204212352230938.html>\n"


def read_both_ways(text: str) -> ParsedPost | None:
    fast = _parse_post(text, fast_header=True)
    slow = _parse_post(text, fast_header=False)
    assert fast == slow
    assert repr(fast) == repr(slow)  # same types, same tzinfo objects
    return fast


def header_block(text: str) -> str:
    return text.split("\n---\n", 1)[0].removeprefix("---\n")


def assert_header_as_yaml_reads_it(block: str) -> None:
    """When the fast path takes *block*, each value is YAML's (a date: the same datetime)."""
    fast = _read_simple_header(block)
    if fast is None:
        return
    data = yaml.load(block, Loader=yaml.CSafeLoader)
    assert isinstance(data, dict) and set(data) == set(fast)
    for key, value in fast.items():
        if key == "date":
            assert repr(parse_header_date(value)) == repr(parse_header_date(data[key]))
        else:
            assert type(value) is type(data[key]) is str and value == data[key]


def rendered(
    title: str,
    date: datetime,
    target_kind: str = "outlet",
    outlet: str = "深圳新闻网",
    slug: str = "shenzhenxinwenwang",
) -> str:
    target = target_for(
        code="202203282325203083", kind=target_kind, date=date, outlet=outlet, slug=slug, site=SITE
    )
    return render_post(
        target=target,
        title=title,
        date=date,
        body="<p>正文。</p>",
        source_url=SHARE,
        site=SITE,
        digest="摘要",
    )


POST_FIXTURES = sorted(FIXTURES.rglob("*.md"))


def test_post_fixtures_exist() -> None:
    posts = [
        path
        for path in POST_FIXTURES
        if _parse_post(path.read_bytes().decode("utf-8", "replace"), fast_header=False)
    ]
    assert len(posts) >= 15


@pytest.mark.parametrize("path", POST_FIXTURES, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_post_fixtures_read_the_same_without_yaml(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    read_both_ways(text)
    read_both_ways(text.replace("\n", "\r\n"))


HEADER_VARIANTS = {
    "ours": 'layout: post\ntitle: "标题"\ndate: 2022-03-28 17:04:37 +0800\ncategories: emnews\ntags: 东财滚动新闻',
    "escapes": 'title: "a\\"b\\\\c\\n\\r\\t\\x00\\x85\\u2028\\ufeff\\U0001f600\\x41B"\ncategories: emnews',
    "upper-case hex": 'title: "\\xE9\\u00E9\\U0001F600"',
    "single quotes": "layout: post\ntitle: '他''说'\ncategories: emnews",
    "unquoted title": "title: 标题\ncategories: emnews",
    "unquoted title with a space": "title: 两市 震荡\ncategories: emnews",
    "unquoted title with a colon": "title: 公告: 两市\ncategories: emnews",
    "unquoted title with a colon, no space": "title: 公告:两市",
    "unquoted title with a hash": "title: 两市 #震荡",
    "unquoted braces": "title: {x}",
    "unquoted brackets": "title: [a, b]",
    "unquoted indicator": "title: *a",
    "unquoted number": "title: 2022",
    "unquoted bool": "title: yes",
    "unquoted null": "title: null",
    "quoted title then a comment": 'title: "标题" # c',
    "quoted title then a space": 'title: "标题" ',
    "two spaces": 'title:  "标题"',
    "a tab": 'title:\t"标题"',
    "no space": 'title:"标题"',
    "broken quoting": 'title: "他说"你好"就走了"\ncategories: emnews',
    "surrogate escape": 'title: "\\ud800"\ncategories: emnews',
    "escape out of range": 'title: "\\U00110000"',
    "other escapes": 'title: "a\\/b\\0\\N\\_\\e"',
    "short hex escape": 'title: "\\x4"',
    "literal tab": 'title: "a\tb"',
    "literal NEL": 'title: "a\x85b"',
    "literal LS": 'title: "a\u2028b"',
    "literal BOM": 'title: "a\ufeffb"',
    "literal DEL": 'title: "a\x7fb"',
    "literal control": 'title: "a\x1bb"',
    "empty title": 'title: ""',
    "spaces kept": 'title: "  两市  震荡  "',
    "date without offset": 'title: "标题"\ndate: 2022-03-28 17:04:37',
    "date with a colon offset": 'title: "标题"\ndate: 2022-03-28 17:04:37 +08:00',
    "date with another offset": 'title: "标题"\ndate: 2022-03-28 17:04:37 +0000',
    "date in ISO form": 'title: "标题"\ndate: 2022-03-28T17:04:37+08:00',
    "date only": 'title: "标题"\ndate: 2022-03-28',
    "date, short fields": 'title: "标题"\ndate: 2022-3-8 7:04:37',
    "empty date": 'title: "标题"\ndate:  +0800',
    "no date": 'title: "标题"\ndate:',
    "impossible date": 'title: "标题"\ndate: 2022-02-30 10:00:00\ncategories: emnews',
    "impossible date with offset": 'title: "标题"\ndate: 2022-02-30 10:00:00 +0800',
    "impossible hour": 'title: "标题"\ndate: 2022-03-28 24:00:00',
    "year zero": 'title: "标题"\ndate: 0000-03-28 10:00:00',
    "quoted date": 'title: "标题"\ndate: "2022-03-28 17:04:37"',
    "flow lists": 'title: "标题"\ncategories: [zhengquanshibaowang]\ntags: [证券时报网新闻]',
    "block lists": 'title: "标题"\ncategories:\n  - emnews\n  - b\ntags:\n- 东财滚动新闻',
    "space-separated categories": 'title: "标题"\ncategories: a b',
    "bool category": 'title: "标题"\ncategories: true',
    "number category": 'title: "标题"\ncategories: 2022',
    "hex category": 'title: "标题"\ncategories: 0x1f',
    "null category": 'title: "标题"\ncategories: null',
    "tilde category": 'title: "标题"\ncategories: ~',
    "category and tag": 'title: "标题"\ncategory: emnews\ntag: 东财滚动新闻',
    "middle dot outlet": 'title: "标题"\ncategories: abc\ntags: 环球·时报新闻',
    "trailing space": 'title: "标题"\ntags: 深圳新闻网新闻 ',
    "duplicate key": 'title: "一"\ntitle: "二"',
    "unknown key": 'title: "标题"\npermalink: /x',
    "indented": '  title: "标题"',
    "comment line": '# c\ntitle: "标题"',
    "blank line": 'title: "标题"\n\ncategories: emnews',
    "a list": "- a\n- b",
    "a directive": '%YAML 1.1\ntitle: "标题"',
    "anchor": "title: &a 标题",
    "tag": "title: !!str 标题",
}


@pytest.mark.parametrize("header", list(HEADER_VARIANTS.values()), ids=list(HEADER_VARIANTS))
def test_header_variants_read_the_same_without_yaml(header: str) -> None:
    assert_header_as_yaml_reads_it(header)
    read_both_ways(f"---\n{header}\n---\n{BODY}")
    read_both_ways(f"---\r\n{header}\r\n---\r\n{BODY}".replace("\n", "\r\n"))


def test_own_headers_are_read_without_yaml() -> None:
    text = rendered('公司称"暂无计划"\\ 两市', DATE)
    assert _read_simple_header(header_block(text)) == {
        "layout": "post",
        "title": '公司称"暂无计划"\\ 两市',
        "date": "2022-03-28 17:04:37 +0800",
        "categories": "shenzhenxinwenwang",
        "tags": "深圳新闻网新闻",
    }
    emnews = rendered("标题", DATE, target_kind="emnews", outlet="", slug="")
    assert _read_simple_header(header_block(emnews)) is not None
    assert _read_simple_header('title: "\\x00\\U0001f600"\ndate: 2021-12-01 08:00:00') == {
        "title": "\x00\U0001f600",
        "date": "2021-12-01 08:00:00",
    }
    post = read_both_ways(text)
    assert post is not None and post.date == DATE and post.date.tzinfo is BEIJING and not post.header_fallback


@pytest.mark.parametrize(
    "header",
    [
        "title: yes",
        "categories: 2022",
        "categories: 0x1f",
        "categories: null",
        "categories: a b",
        'title: "\\ud800"',
        'title: "a" # c',
        "title: a: b",
        "title: 'x'",
        'title: "a\u2028b"',
        'title: "a\x85b"',
        'title: "一"\ntitle: "二"',
        "tags: [a]",
        "date: 2022-02-30 10:00:00",
        "date: 2022-03-28",
        "date:  +0800",
        'title: "标题"\n\ncategories: emnews',
        'title: "标题"\npermalink: /x',
        "",
    ],
)
def test_tricky_headers_go_to_yaml(header: str) -> None:
    assert _read_simple_header(header) is None


# Slugs YAML reads as something else than their text: the fast path leaves them to YAML.
_TRICKY_SLUGS = st.sampled_from(
    ["true", "no", "on", "null", "2022", "0x1f", "0b101", "0755", "1e3", "nan", "inf"]
)
_OWN_SLUGS = st.sampled_from(
    ["emnews", "shenzhenxinwenwang", "21shijijingjibaodao", "y", "n", "nan"]
) | st.from_regex(r"[a-z]{1,20}[0-9]{0,3}", fullmatch=True).filter(
    lambda slug: slug not in {"yes", "no", "true", "false", "on", "off", "null"}
)
_OUTLETS = st.text(max_size=12).map(normalize_outlet).filter(bool) | st.sampled_from(
    ["深圳新闻网", "Reuters", "环球·时报"]
)
_DATES = st.datetimes(
    min_value=datetime(1000, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.just(BEIJING) | st.timezones(),
)
_RAW_TITLE_ALPHABET = TITLE_ALPHABET | st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\U0001f600",
        "\U0010ffff",
        "\x7f",
        "\x9f",
        "\u2029",
        "\ufffe",
        "\uffff",
        "中",
        " ",
        "\u3000",
    ]
)
_INDICATORS = st.sampled_from(
    ["", "-", "- ", "?", "? ", "*", "&", "!", "%", "@", "`", "|", ">", "'", '"', "[", "{", "#", ",", "---"]
)
_RAW_TITLES = st.builds(
    lambda lead, parts: lead + "".join(parts),
    _INDICATORS,
    st.lists(
        st.text(alphabet=_RAW_TITLE_ALPHABET, max_size=8)
        | st.sampled_from([": ", " #", "#", ":", "\\", '\\"']),
        max_size=8,
    ),
)


@settings(max_examples=examples(500), deadline=None, database=None)
@given(
    st.text(alphabet=TITLE_ALPHABET, max_size=80) | _RAW_TITLES, _DATES, st.booleans(), _OWN_SLUGS, _OUTLETS
)
def test_own_posts_are_read_without_yaml(
    raw: str, date: datetime, emnews: bool, slug: str, outlet: str
) -> None:
    """Every header render_post writes (a normalized title, a target_for target) takes the fast path."""
    kind = "emnews" if emnews else "outlet"
    text = rendered(normalize_title(raw), date, kind, outlet, slug)
    assert _read_simple_header(header_block(text)) is not None
    read_both_ways(text)


@settings(max_examples=examples(500), deadline=None, database=None)
@given(_RAW_TITLES, _DATES, _OWN_SLUGS | _TRICKY_SLUGS, _OUTLETS)
def test_rendered_posts_read_the_same_without_yaml(
    title: str, date: datetime, slug: str, outlet: str
) -> None:
    """Any title, even one normalize_title never gives (controls, surrogates, line breaks)."""
    text = rendered(title, date, "outlet", outlet, slug)
    assert_header_as_yaml_reads_it(header_block(text))
    read_both_ways(text)


_KEYS = st.sampled_from(["layout", "title", "date", "categories", "tags", "category", "tag", "permalink"])
_DATE_TEXTS = st.builds(format_post_date, _DATES) | st.sampled_from(
    [
        "2022-02-30 10:00:00 +0800",
        "2022-03-28 17:04:37",
        "2022-02-30 10:00:00",
        "2022-02-29 10:00:00",
        "2024-02-29 10:00:00",
        "2022-03-28 24:00:00",
        "0000-01-01 00:00:00",
        "2022-03-28",
        "2022-03-28 17:04:37 +08:00",
    ]
)
_VALUES = (
    st.builds(yaml_quote, _RAW_TITLES)
    | _RAW_TITLES
    | _DATE_TEXTS
    | _TRICKY_SLUGS
    | _OWN_SLUGS
    | st.builds(lambda outlet: outlet + "新闻", _OUTLETS)
)


@settings(max_examples=examples(1000), deadline=None, database=None)
@given(st.lists(st.tuples(_KEYS, _VALUES), min_size=1, max_size=7))
def test_any_header_lines_read_the_same_without_yaml(lines: list[tuple[str, str]]) -> None:
    header = "\n".join(f"{key}: {value}" for key, value in lines)
    assert_header_as_yaml_reads_it(header)
    read_both_ways(f"---\n{header}\n---\n{BODY}")


def test_strip_controls_shortcut_for_printable_text_keeps_what_the_rule_keeps() -> None:
    """A printable text is returned as it is: it holds none of the characters the rule
    removes (control, format, surrogate, private-use, unassigned; not white space, not
    the joiners). Checked on every code point."""
    import unicodedata

    from newscrawler.archive.post import _KEEP_FORMAT, _strip_controls

    every = [chr(code) for code in range(0x110000)]
    removed = {
        ch
        for ch in every
        if not ch.isspace()
        and ch not in _KEEP_FORMAT
        and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")
    }
    assert not any(ch.isprintable() for ch in removed)
    assert len(removed) > 800_000  # unassigned and private use, mostly
    text = "".join(ch for ch in every if ch.isprintable())
    assert _strip_controls(text) == text
    assert _strip_controls("标题\u200b\x07\u3000x") == "标题\u3000x"
