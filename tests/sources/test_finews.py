"""The finews-style archive parsers against the rendered fixture site (tests/fixtures/finews)."""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from typing import Any

import pytest

from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.sources.finews import FinewsIndexParser, FinewsPostParser
from tests.conftest import FIXTURES as TEST_FIXTURES

FIXTURES = TEST_FIXTURES / "finews"
SITE = FIXTURES / "site"
EXPECTED = FIXTURES / "expected"
ORIGIN = "http://127.0.0.1:8000"

PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html"))
POST_PAGES = [p for p in PAGES if len(p.split("/")) == 5]


def page_url(rel: str, origin: str = ORIGIN) -> str:
    """The URL a web server gives *rel* (``emnews/index.html`` is ``/emnews/``)."""
    path = "/" + rel.removesuffix("index.html")
    return origin + path


def expected_name(rel: str) -> str:
    return rel.removesuffix(".html").replace("/", "--") + ".json"


def read_page(rel: str) -> str:
    return (SITE / rel).read_text(encoding="utf-8")


def article_dict(article: Article) -> dict[str, Any]:
    data = dataclasses.asdict(article)
    assert data.pop("date") is None, "the parser must leave date to the pipeline"
    assert data.pop("base_url") in ("", article.url)
    assert data.pop("fingerprint") is None, "the fingerprint is the dedup step's"
    assert data.pop("body_cleaned") is False, "cleaning is the clean step's"
    return data


def url_to_rel(url: str) -> str | None:
    """The fixture file a crawled URL maps to, or None (a 404)."""
    if not url.startswith(ORIGIN + "/"):
        return None
    path = url[len(ORIGIN) + 1 :]
    if path == "" or path.endswith("/"):
        path += "index.html"
    return path if (SITE / path).is_file() else None


# --- fixture bookkeeping --------------------------------------------------------------


def test_fixture_site_shape() -> None:
    assert "index.html" in PAGES
    assert "emnews/index.html" in PAGES
    assert "category/cailianshe/page2.html" in PAGES
    outlet_posts = [p for p in POST_PAGES if p.split("/")[4].startswith("NW")]
    emnews_posts = [p for p in POST_PAGES if p.startswith("emnews/")]
    assert len(outlet_posts) >= 6
    assert len(emnews_posts) >= 3
    assert len({p.split("/")[0] for p in outlet_posts}) >= 3


def test_every_page_has_an_expected_file_and_back() -> None:
    names = {expected_name(p) for p in PAGES}
    files = {p.name for p in EXPECTED.glob("*.json")}
    assert names == files


# --- one case per page ----------------------------------------------------------------


@pytest.mark.parametrize("rel", PAGES)
def test_page(rel: str) -> None:
    expected = json.loads((EXPECTED / expected_name(rel)).read_text(encoding="utf-8"))
    url = page_url(rel)
    html = read_page(rel)
    assert expected["url"] == url

    index = FinewsIndexParser()
    assert index.post_links(url, html) == expected["post_links"]
    assert index.listing_links(url, html) == expected["listing_links"]

    if rel in POST_PAGES:
        post = FinewsPostParser()
        assert article_dict(post.parse(url, html)) == expected["article"]
        assert post.back_links(url, html) == expected["back_links"]
        assert post.share_url(url, html) == expected["share_url"]
    else:
        assert "article" not in expected


# --- invariants over all posts --------------------------------------------------------


@pytest.mark.parametrize("rel", POST_PAGES)
def test_body_has_no_regenerated_parts(rel: str) -> None:
    """The writer regenerates the digest, the source line and the back links: never in the body."""
    url = page_url(rel)
    article = FinewsPostParser().parse(url, read_page(rel))
    assert "返回" not in article.body_raw
    assert "NewsShare.html" not in article.body_raw
    assert "<blockquote" not in article.body_raw
    assert "tags:" not in article.body_raw
    assert "金融消息" not in article.body_raw + article.title
    if article.source_url:
        assert article.source_url not in article.body_raw
    assert article.body_raw == article.body_raw.strip()
    assert article.sources == ["finews"]
    assert article.url == url


def test_crawl_reaches_every_post_through_listings_and_back_links() -> None:
    """index -> posts -> back links -> categories -> pagination reaches the whole site."""
    index, post = FinewsIndexParser(), FinewsPostParser()
    start = ORIGIN + "/"
    queue: deque[str] = deque([start])
    seen: set[str] = {start}
    fetched: set[str] = set()
    missing: list[str] = []
    while queue:
        url = queue.popleft()
        rel = url_to_rel(url)
        if rel is None:
            missing.append(url)
            continue
        fetched.add(rel)
        html = read_page(rel)
        links = index.post_links(url, html) + index.listing_links(url, html)
        if rel in POST_PAGES:
            links += post.back_links(url, html)
        for link in links:
            if link not in seen:
                seen.add(link)
                queue.append(link)
    assert missing == []
    assert fetched == set(PAGES)


# --- specific behaviours ----------------------------------------------------------------


def test_index_links_no_category_and_only_local_posts() -> None:
    url = page_url("index.html")
    html = read_page("index.html")
    links = FinewsIndexParser().post_links(url, html)
    assert links and all(link.startswith(ORIGIN + "/") for link in links)
    # the theme header links the production host's home page: not a post, not a listing
    assert 'href="https://finews.withounder.com/"' in html
    assert FinewsIndexParser().listing_links(url, html) == []


def test_pagination_is_found_both_ways() -> None:
    index = FinewsIndexParser()
    first = page_url("category/cailianshe.html")
    second = page_url("category/cailianshe/page2.html")
    assert second in index.listing_links(first, read_page("category/cailianshe.html"))
    assert first in index.listing_links(second, read_page("category/cailianshe/page2.html"))
    only_on_page2 = set(index.post_links(second, read_page("category/cailianshe/page2.html")))
    assert only_on_page2
    assert not only_on_page2 & set(index.post_links(page_url("index.html"), read_page("index.html")))


def test_listing_links_by_text_and_rel_deduplicated_and_local() -> None:
    html = (
        '<div class="wrapper"><header><h1><a href="https://finews.withounder.com/">金融消息</a></h1></header>'
        '<section><ul><li><a href="/x/2022/01/02/NW202201021111111111.html">t</a></li>'
        '<li><a href="/x/2022/01/02/NW202201021111111111.html#top">same</a></li>'
        '<li><a href="https://finews.withounder.com/x/2022/01/03/NW202201031111111111.html">off-site</a></li>'
        '<li><a href="//other.test/category/y.html">off-site category</a></li>'
        '</ul><a href="/blog/page3/">Older</a> <a rel="next" href="/listing?p=2">more</a>'
        ' <a href="/blog/page3/">3</a> <a href="/about.html">about</a> <a href="javascript:void(0)">下一页</a>'
        "</section></div>"
    )
    url = "http://site.test/blog/page2/"
    index = FinewsIndexParser()
    assert index.listing_links(url, html) == ["http://site.test/blog/page3/", "http://site.test/listing?p=2"]
    assert index.post_links(url, html) == ["http://site.test/x/2022/01/02/NW202201021111111111.html"]


def test_back_links_deduplicated() -> None:
    html = (
        "<section><h1>T</h1><p>x</p>"
        '<p><a href="//finews.withounder.com/category/a.html">返回A新闻</a>｜<a href="//finews.withounder.com/">返回首页</a></p>'
        '<p><a href="../category/a.html">返回A新闻</a>\n<a href="../">返回首页</a></p>'
        "<small>tags: <em>A新闻</em></small></section>"
    )
    post = FinewsPostParser()
    url = "http://s.test/a/2022/01/02/NW202201021111111111.html"
    assert post.back_links(url, html) == ["http://s.test/category/a.html"]
    assert post.parse(url, html).body_raw == "<p>x</p>"


def test_body_text_nodes_stay_escaped() -> None:
    html = "<section><h1>T</h1>a &lt; b &amp; c<p>d</p><small>tags: <em>A新闻</em></small></section>"
    article = FinewsPostParser().parse("http://s.test/a/2022/01/02/NW202201021111111111.html", html)
    assert article.body_raw == "a &lt; b &amp; c<p>d</p>"


@pytest.mark.parametrize(
    ("rel", "origin", "expected"),
    [
        (
            "cailianshe/2022/04/20/NW202204202351117702.html",
            "https://mirror.example:8443",
            ["https://mirror.example:8443/category/cailianshe.html"],
        ),
        (
            "emnews/2021/12/08/202112081206920001.html",  # ../emnews/ on separate lines
            "http://127.0.0.2:9000",
            ["http://127.0.0.2:9000/emnews/"],
        ),
        (
            "emnews/2021/12/08/202112081206610002.html",  # //finews.zning.me/emnews/
            "http://localhost:8080/archive",
            ["http://localhost:8080/archive/emnews/"],
        ),
    ],
)
def test_back_links_map_onto_the_crawled_site(rel: str, origin: str, expected: list[str]) -> None:
    html = read_page(rel)
    assert "finews.withounder.com" in html or "finews.zning.me" in html or "../emnews/" in html
    assert FinewsPostParser().back_links(page_url(rel, origin), html) == expected


def test_same_code_as_outlet_and_emnews_post() -> None:
    post = FinewsPostParser()
    outlet_rel = "cailianshe/2022/04/21/NW202204212352239901.html"
    emnews_rel = "emnews/2022/04/21/202204212352239901.html"
    outlet = post.parse(page_url(outlet_rel), read_page(outlet_rel))
    emnews = post.parse(page_url(emnews_rel), read_page(emnews_rel))
    assert outlet.code == emnews.code == "202204212352239901"
    assert (outlet.kind, emnews.kind) == (KIND_OUTLET, KIND_EMNEWS)
    assert outlet.info_code == "NW202204212352239901"


def test_share_link_code_wins_over_url_id() -> None:
    html = (
        "<section><small>(GMT+8, Asia/Shanghai, CST) 2022-01-02 03:04:05</small><h1>T</h1>"
        '<p>body</p><p><a href="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201021111111111">'
        "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202201021111111111</a></p>"
        "<small>tags: <em>财联社新闻</em></small></section>"
    )
    article = FinewsPostParser().parse("http://s.test/cailianshe/2022/01/02/NW202201029999999999.html", html)
    assert article.code == "202201021111111111"
    assert article.body_raw == "<p>body</p>"
    assert article.outlet == "财联社"
    assert article.date_raw == "2022-01-02 03:04:05"


def test_share_url_prefers_the_source_line() -> None:
    share = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW2022010211111111"
    html = (
        f'<section><h1>T</h1><p>related: <a href="{share}22">other</a></p>'
        f'<p><a href="{share}11">{share}11</a></p>'
        "<small>tags: <em>A新闻</em></small></section>"
    )
    post = FinewsPostParser()
    url = "http://s.test/a/2022/01/02/NW202201021111111111.html"
    assert post.share_url(url, html) == share + "11"
    article = post.parse(url, html)
    assert article.code == "202201021111111111"
    assert article.source_url == share + "11"
    assert article.body_raw == f'<p>related: <a href="{share}22">other</a></p>'


def test_emnews_by_tag_and_slug_from_back_link() -> None:
    """A post URL off the Jekyll pattern: kind from the tag, slug from the back link."""
    html = (
        "<section><small>(GMT+8, Asia/Shanghai, CST) 2022-01-02 03:04:05</small><h1> A\n  B </h1>"
        "<blockquote><p>digest &amp; more</p></blockquote><p>text</p>"
        '<p><a href="http://finance.eastmoney.com/news/1350,202201021111111111.html">'
        "http://finance.eastmoney.com/news/1350,202201021111111111.html</a></p>"
        '<p><a href="//finews.withounder.com/emnews/">返回东财滚动新闻</a>｜<a href="//finews.withounder.com/">返回首页</a></p>'
        "<small>tags: <em>东财滚动新闻</em></small></section>"
    )
    article = FinewsPostParser().parse("http://s.test/post?id=1", html)
    assert article.kind == KIND_EMNEWS
    assert article.slug == "emnews"
    assert article.code == "202201021111111111"
    assert article.title == "A B"
    assert article.title_raw == " A\n  B "
    assert article.digest == "digest & more"
    assert article.body_raw == "<p>text</p>"
    assert article.outlet == ""
    assert article.source_url == "http://finance.eastmoney.com/news/1350,202201021111111111.html"


def test_outlet_blockquote_is_body() -> None:
    html = (
        "<section><h1>T</h1><blockquote><p>quoted</p></blockquote><p>x</p>"
        "<small>tags: <em>深圳新闻网新闻</em></small></section>"
    )
    article = FinewsPostParser().parse(
        "http://s.test/shenzhenxinwenwang/2022/01/02/NW202201021111111111.html", html
    )
    assert article.kind == KIND_OUTLET
    assert article.digest == ""
    assert article.body_raw == "<blockquote><p>quoted</p></blockquote><p>x</p>"
    assert article.outlet == "深圳新闻网"


JUNK: list[Any] = [
    "",
    "   ",
    "not html at all <<<>>> &&&",
    "\x00\x01\x02<section>\x00</section>",
    "<html><body><div class='wrapper'><header><h1><a href='/'>金融消息</a></h1></header></div>",
    "<section><h1></h1><small>tags:</small><small></small></section>",
    "<section><small>tags: <em></em></small><h1>only</h1></section>",
    "<section><p><a href='//finews.withounder.com/category/x.html'>返回</a></p></section>",
    "<section>" + "<div>" * 300 + "deep" + "</div>" * 300 + "</section>",
    "ab\udc80cd<section><h1>t\ud800</h1></section>",
    '<?xml version="1.0" encoding="gbk"?><section><h1>x</h1></section>',
    b"<section><h1>bytes</h1></section>",
    None,
]
JUNK_URLS = [
    "",
    "not a url",
    "http://[::1",
    "http://s.test/emnews/2022/01/02/202201021111111111.html",
    "ftp://s.test/a/2022/01/02/x.html",
]


@pytest.mark.parametrize("html", JUNK, ids=range(len(JUNK)))
@pytest.mark.parametrize("url", JUNK_URLS)
def test_junk_never_raises(url: str, html: Any) -> None:
    index, post = FinewsIndexParser(), FinewsPostParser()
    assert isinstance(index.post_links(url, html), list)
    assert isinstance(index.listing_links(url, html), list)
    article = post.parse(url, html)
    assert isinstance(article, Article)
    assert article.title != "金融消息"
    assert article.sources == ["finews"]
    assert isinstance(post.back_links(url, html), list)
    assert post.share_url(url, html) is None


def test_junk_gives_empty_fields() -> None:
    url = "http://s.test/emnews/2022/01/02/202201021111111111.html"
    article = FinewsPostParser().parse(url, "<html><body><p>nothing here</p></body></html>")
    assert article.code == "202201021111111111"  # from the URL's id
    assert article.kind == KIND_EMNEWS
    assert (article.title, article.date_raw, article.body_raw, article.digest, article.source_url) == (
        "",
        "",
        "",
        "",
        "",
    )
    header_only = read_page("index.html")
    article = FinewsPostParser().parse(page_url("index.html"), header_only)
    assert article.title == ""
    assert article.code == ""
