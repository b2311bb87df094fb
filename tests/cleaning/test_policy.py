"""Tests of :mod:`newscrawler.cleaning.policy` and of what the cleaning leaves to nh3.

The allow-list is one table: the rebuild's tag sets and the nh3 configuration come from
it. nh3 is the last word on safety, yet not every block goes through it, nor every
attribute through a filter: these tests hold nh3 to what :mod:`.rebuild` and
:mod:`.body` take for granted (it would change nothing).
"""

from __future__ import annotations

import nh3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscrawler.cleaning import body, policy, prepass, rebuild
from newscrawler.cleaning.policy import TAGS, Kind, Value
from tests.cleaning.test_body import BASES, html_fragments
from tests.conftest import examples

# ------------------------------------------------------------------------- the table


def test_tag_sets_come_from_the_table() -> None:
    kept = {
        name for name, rule in TAGS.items() if rule.kind not in (Kind.BOUNDARY, Kind.DROP) and not rule.as_tag
    }
    assert kept == policy.ALLOWED_TAGS
    assert {name for name, rule in TAGS.items() if rule.kind is Kind.DROP} == policy.DROP
    assert {name for name, rule in TAGS.items() if rule.kind is Kind.BOUNDARY} == policy.BOUNDARY
    assert policy.RENAME == {"menu": "ul", "dir": "ul", "tfoot": "tbody"}
    assert not policy.ALLOWED_TAGS & (policy.DROP | policy.BOUNDARY | set(policy.RENAME))
    assert {"strong", "b", "em", "i", "u", "a", "img", "br"} == policy.INLINE
    assert {"p", "h1", "h2", "h3", "h4", "h5", "h6"} == policy.TEXT_BLOCKS
    assert "span" not in TAGS and "font" not in TAGS  # unwrapped: rebuild.transparent() reads span so
    for rule in TAGS.values():
        if rule.as_tag is not None:
            assert TAGS[rule.as_tag].kind is rule.kind


def test_nh3_configuration_comes_from_the_table() -> None:
    options = policy.nh3_options()
    assert options["tags"] == set(policy.ALLOWED_TAGS)
    assert options["clean_content_tags"] <= policy.DROP
    assert not options["clean_content_tags"] & options["tags"]
    assert options["url_schemes"] == {"http", "https"} == set(policy.URL_SCHEMES)
    assert options["attributes"] == {
        "a": {"href"},
        "img": {"src", "alt", "width", "height"},
        "td": {"colspan", "rowspan"},
        "th": {"colspan", "rowspan"},
    }
    assert options["allowed_classes"] == {"p": {policy.EM_MEDIA}}
    for name, attributes in options["attributes"].items():
        assert attributes == {
            attr for attr, value in TAGS[name].attributes.items() if value is not Value.EM_MEDIA
        }
    assert policy.cleaner() is policy.cleaner()  # built once (per thread)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("0578", policy.SIZE_RE, "578"),
        (" 276 ", policy.SIZE_RE, "276"),
        ("50%", policy.SIZE_RE, "50%"),
        ("007%", policy.SIZE_RE, "7%"),
        ("12345", policy.SIZE_RE, "12345"),
        ("123456", policy.SIZE_RE, None),
        ("300px", policy.SIZE_RE, None),
        ("auto", policy.SIZE_RE, None),
        ("\u0663", policy.SIZE_RE, None),  # a digit, not an ASCII one
        ("", policy.SIZE_RE, None),
        (None, policy.SIZE_RE, None),
        ("2", policy.SPAN_RE, "2"),
        ("1234", policy.SPAN_RE, "1234"),
        ("12345", policy.SPAN_RE, None),
        ("2%", policy.SPAN_RE, None),
    ],
)
def test_sizes(value: str | None, pattern: object, expected: str | None) -> None:
    assert policy.size(value, pattern) == expected  # type: ignore[arg-type]


# --------------------------------------------------- what nh3 would do, and need not


def _strict_cleaner() -> nh3.Cleaner:
    """nh3 as it was configured with an attribute filter: every value checked again."""

    def check(tag: str, attr: str, value: str) -> str | None:
        if attr == "class":
            return policy.EM_MEDIA if tag == "p" and policy.EM_MEDIA in value.split() else None
        if attr in ("width", "height"):
            return policy.size(value, policy.SIZE_RE)
        if attr in ("colspan", "rowspan"):
            return policy.size(value, policy.SPAN_RE)
        return value

    options = dict(policy.nh3_options())
    options["attributes"] = {**options["attributes"], "p": {"class"}}
    del options["allowed_classes"]
    return nh3.Cleaner(**options, attribute_filter=check)


STRICT = _strict_cleaner()


def _blocks(html: str, base_url: str) -> list[tuple[str, bool]]:
    data = prepass.prepare(html)
    root = prepass.parse(data)
    assert root is not None
    return rebuild.rebuild(root, base_url)


@settings(max_examples=examples(300), deadline=None, database=None)
@given(html_fragments(), BASES)
def test_skipping_nh3_for_final_blocks_changes_nothing(html: str, base_url: str) -> None:
    blocks = _blocks(html, base_url)
    if blocks:
        assert body._sanitize(blocks) == policy.cleaner().clean("\n".join(markup for markup, _ in blocks))
    for markup, final in blocks:
        if final:
            assert policy.cleaner().clean(markup) == markup


@settings(max_examples=examples(200), deadline=None, database=None)
@given(html_fragments(), BASES)
def test_no_attribute_filter_is_needed(html: str, base_url: str) -> None:
    """nh3 with the value filter would change nothing the rebuild writes."""
    blocks = _blocks(html, base_url)
    if blocks:
        out = body._sanitize(blocks)
        assert STRICT.clean(out) == out


_NASTY = st.sampled_from(
    ["&", "<", ">", '"', "'", "\xa0", "&amp;", "&nbsp;", "&#123;", "<p>", "</p>", "<!--", "-->", "{{", "\t", "\n",
     "\f", "\x0b", "\x01", "\x1f", "\x7f", "\x80", "\x9f", "\ufeff", "\ufffe", "\uffff", "\ufdd0", "\ufffd",
     "\U0001f600", "\U0010ffff", "\u3000", "\u200b", "\u2028", "\x85", "\r", "\r\n", "\x00", "中文", "a b"]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_NASTY, st.text(max_size=4)), min_size=1, max_size=6).map("".join)


@st.composite
def _inline(draw: st.DrawFn, depth: int = 0) -> rebuild._El | str:
    if depth >= 3 or draw(st.booleans()):
        return draw(_TEXT)
    tag = draw(st.sampled_from(["strong", "b", "em", "i", "u", "br"]))
    if tag == "br":
        return rebuild._BR
    children = draw(st.lists(_inline(depth + 1), min_size=1, max_size=3))
    return rebuild._El(tag, (), children)


@settings(max_examples=examples(500), deadline=None, database=None)
@given(
    st.sampled_from(["p", "h2", "h6"]),
    st.booleans(),
    st.lists(_inline(), min_size=1, max_size=4),
)
def test_final_blocks_are_what_nh3_writes(
    tag: str, em_media: bool, children: list[rebuild._El | str]
) -> None:
    attrs = (("class", policy.EM_MEDIA),) if em_media and tag == "p" else ()
    parts: list[str] = []
    final = rebuild._serialize(rebuild._El(tag, attrs, children), parts)
    markup = "".join(parts)
    nh3_out = policy.cleaner().clean(markup)
    if final:
        assert nh3_out == markup
    if len(children) == 1 and isinstance(children[0], str):
        block = rebuild._TextBlock(tag, attrs, children[0])
        assert block.html == markup and block.final == final


@pytest.mark.parametrize("text", ["a\rb", "a\x00b", "\r\n"])
def test_what_html5ever_reads_otherwise_is_not_final(text: str) -> None:
    block = rebuild._TextBlock("p", (), text)
    assert not block.final
    assert policy.cleaner().clean(block.html) != block.html
