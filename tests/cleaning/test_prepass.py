"""Tests of :mod:`newscrawler.cleaning.prepass`: the shortcuts it takes give what the
long way gives (preparing the text, line ends, widgets, URLs, advert hosts)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from newscrawler.cleaning import policy, prepass
from tests.conftest import examples

BASE = "http://finance.eastmoney.com/a/202203282325203083.html"
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")


def _long_way(html: str) -> bytes:
    """Line ends to \\n, then the characters no document may hold removed."""
    return BAD_CHARS.sub("", html.replace("\r\n", "\n").replace("\r", "\n")).encode()


def _tree(data: bytes) -> str:
    root = prepass.parse(data)
    assert root is not None
    return etree.tostring(root, encoding="unicode")


_PIECES = st.sampled_from(
    ["<p>", "</p>", "<a href='x\r\ny'>", "</a>", "<!--", "-->", "<", ">", "&amp;", "&#13;", "\r", "\n", "\r\n",
     "\n\r", " ", "x", "中文", "\x00", "\x01", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\x9f", "\xa0", "\ufeff",
     "\ufffe", "\uffff", "\ud800", "\udfff", "\U0001f600", "<img alt='a\rb' src=x>", "<br>", "<div\rclass=x>"]
)  # fmt: skip


@settings(max_examples=examples(500), deadline=None, database=None)
@given(st.lists(_PIECES, max_size=16).map("".join))
def test_prepared_markup_parses_as_the_long_way(html: str) -> None:
    data = prepass.prepare(html)
    assert b"\r" not in data or prepass._parser_reads_line_ends()
    assert _tree(data) == _tree(_long_way(html))
    assert prepass.is_blank(data) == (not _long_way(html).decode().strip(policy.TRIM))


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("a\r\nb", b"a\r\nb"),  # the parser reads the line ends
        ("x\x00y\x7f", b"xy"),
        ("\r\x00\n", b"\n\n"),  # a control between \r and \n does not join them
        ("\ufeffa\x85b\ufffe", b"ab"),
        ("a\ud800b", b"ab"),
        ("中\u3000文", "中\u3000文".encode()),
    ],
)
def test_prepare(html: str, expected: bytes) -> None:
    assert prepass._parser_reads_line_ends()
    assert prepass.prepare(html) == expected


@pytest.mark.parametrize("blank", ["", " \r\n\t", "\u3000\u3000\u200b", "\xa0\x00\r"])
def test_blank(blank: str) -> None:
    assert prepass.is_blank(prepass.prepare(blank))
    assert not prepass.is_blank(prepass.prepare(blank + "\u300b"))


def test_widget_end() -> None:
    root = prepass.parse(
        b"<!-- EM_StockImg_Start --><p>1</p><!-- x --><!--em_stockimg_end-->"
        b"<!-- EM_StockImg_Start --><p>2</p><!-- EM_StockImg_Start --><p>3</p><!-- EM_StockImg_End -->"
        b"<div><!-- EM_StockImg_Start --></div><!-- EM_StockImg_End -->"
    )
    assert root is not None
    comments = list(root.iter(etree.Comment))
    assert [prepass.is_widget_start(c) for c in comments] == [
        True,
        False,
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert prepass.widget_end(comments[0]) is comments[2]
    assert prepass.widget_end(comments[1]) is None  # not a start
    assert prepass.widget_end(comments[3]) is None  # unbalanced: the next start takes over
    assert prepass.widget_end(comments[4]) is comments[5]
    assert prepass.widget_end(comments[6]) is None  # the end is no sibling


_BASES = st.sampled_from(
    [BASE, "HTTPS://Fin.Example.com:8080?q#f", "http://u:p@h.example/x;p?q", "http://h", "http://h#f", "http:///x",
     "http://[::1]/a", "http://ü.example/", "ftp://h/x/", " http://h/", "http://h\t/x", "javascript:alert(1)",
     "//h/x", "h/x", "http:h", "hTtPs://H/"]
)  # fmt: skip
_PATHS = st.lists(
    st.sampled_from(["/", "a", "b.jpg", ".", "..", ";", "?", "#", "%41", "中", " ", "@", ":"]), max_size=6
)


@settings(max_examples=examples(500), deadline=None, database=None)
@given(_BASES, _PATHS)
def test_absolute_paths_join_as_urljoin_does(base: str, parts: list[str]) -> None:
    url = "/" + "".join(parts)
    if url.startswith("//"):
        return
    joined = urljoin(base, url.strip(prepass._URL_STRIP))
    # What safe_url made of urljoin's answer:
    match = prepass._SCHEME_RE.match(joined)
    if match is None:
        expected = joined if prepass._PROTOCOL_RELATIVE_RE.match(joined) else None
    else:
        scheme = match.group(1).lower()
        expected = scheme + joined[len(scheme) :] if scheme in policy.URL_SCHEMES else None
    assert prepass.safe_url(url, base) == expected


_HOSTS = st.sampled_from(["acttg.eastmoney.com", "ACTTG.EastMoney.com", "acttg%2Eeastmoney.com", "act\ttg.eastmoney.com",
                          "acttg.eastmoney.com.", "user@acttg.eastmoney.com:443", "quote.eastmoney.com", "acttg"])  # fmt: skip
_URLS = st.tuples(
    st.sampled_from(["", "http://", "https:", "https:///", "//", "\\\\", "ftp://", "mailto:", "/", " \t"]),
    _HOSTS,
    st.sampled_from(["", "/x", "?u=//acttg.eastmoney.com/", "\n"]),
).map("".join)


@settings(max_examples=examples(500), deadline=None, database=None)
@given(_URLS, st.sampled_from(["", BASE, "https://acttg.eastmoney.com/a/1.html", "//acttg.eastmoney.com/"]))
def test_advert_shortcut_agrees_with_the_host(url: str, base: str) -> None:
    assert prepass.advert_url(url, base) == (prepass.url_host(url, base) in policy.AD_HOSTS)


@settings(max_examples=examples(300), deadline=None, database=None)
@given(st.text(alphabet="0123456789% \t\u0663x", max_size=7))
def test_sizes_as_the_patterns_say(value: str) -> None:
    for pattern in (policy.SIZE_RE, policy.SPAN_RE):
        stripped = value.strip()
        expected = None
        if pattern.fullmatch(stripped):
            expected = str(int(stripped.rstrip("%"))) + ("%" if stripped.endswith("%") else "")
        assert policy.size(value, pattern) == expected
