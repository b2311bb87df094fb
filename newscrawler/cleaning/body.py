"""Article body cleaning (docs/contract.md "Cleaning rules"): a pure, deterministic,
idempotent HTML sanitizer.

:func:`clean_body` turns a source's body HTML into the canonical, safe HTML that goes
into a Jekyll post: a pre-pass drops widgets, adverts, hidden and stock-link noise
(:mod:`.prepass`); the tree is rebuilt into canonical blocks (:mod:`.rebuild`); an
allow-list ``nh3.Cleaner`` has the last word (:mod:`.policy`); Liquid markup is
neutralized. :func:`visible_text` gives what a reader sees. The rules, the output format
and why: docs/internals.md "Cleaning: design notes".
"""

from __future__ import annotations

import re

from lxml import etree

from newscrawler.cleaning import policy
from newscrawler.cleaning.prepass import body_parts, is_blank, is_hidden, parse, prepare
from newscrawler.cleaning.rebuild import rebuild

__all__ = ["clean_body", "visible_text"]

_LIQUID_RE = re.compile(r"\{(?=[{%])")


def _nh3_dropped_url(out: str) -> bool:
    """Whether nh3 dropped a URL the pre-pass kept: every ``a``/``img`` the rebuild writes
    carries ``href``/``src`` first (``<a>``, or an ``<img`` without `` src=`` next)."""
    return "<a>" in out or out.count("<img") != out.count("<img src=")


def _clean_once(html: str, base_url: str) -> str:
    data = prepare(html)
    if is_blank(data):
        return ""
    root = parse(data)
    if root is None:
        return ""
    blocks = rebuild(root, base_url)
    return _sanitize(blocks) if blocks else ""


def _sanitize(blocks: list[tuple[str, bool]]) -> str:
    """The blocks after nh3, one a line: nh3 cleans all the blocks but the final ones
    (:func:`.rebuild.rebuild`), as one document."""
    cleaner = policy.cleaner()
    rest = [markup for markup, final in blocks if not final]
    if len(rest) == len(blocks):
        return cleaner.clean("\n".join(rest))
    if not rest:
        return "\n".join([markup for markup, _ in blocks])
    joined = "\n".join(rest)
    # A top-level block is a whole element: nh3 reads each the same with or without
    # the others. nh3 writes no new line inside a block, unless it read a carriage
    # return: then (and should the lines not match) it cleans all the blocks together.
    cleaned = cleaner.clean(joined).split("\n") if "\r" not in joined else []
    if len(cleaned) != len(rest):
        return cleaner.clean("\n".join([markup for markup, _ in blocks]))
    lines = iter(cleaned)
    return "\n".join([markup if final else next(lines) for markup, final in blocks])


def clean_body(html: str, base_url: str = "") -> str:
    """Sanitize article body HTML per docs/contract.md "Cleaning rules". Pure, deterministic, idempotent.

    ``base_url`` is the address the body was fetched from; relative ``href``/``src``
    are resolved against it (without one they are dropped). See the module docstring
    for the rules and the output format.
    """
    if not html or html.isspace():
        return ""
    out = _clean_once(html, base_url)
    if _nh3_dropped_url(out):
        # nh3 refused a URL the pre-pass kept: one more pass unwraps/drops what is left.
        out = _clean_once(out, base_url)
    return _LIQUID_RE.sub("&#123;", out) if "{" in out else out


def _visible_text(node: etree._Element, out: list[str]) -> None:
    """Append the visible text of ``node`` (not its tail) to ``out``."""
    tag = node.tag
    if not isinstance(tag, str):
        return
    tag = tag.lower()
    if tag in policy.DROP or is_hidden(node):
        return
    gap = tag in policy.TEXT_BREAKS
    if gap:
        out.append(" ")
    if node.text:
        out.append(node.text)
    for child in node:
        _visible_text(child, out)
        if child.tail:
            out.append(child.tail)
    if gap:
        out.append(" ")


def visible_text(html: str) -> str:
    """The visible text of (cleaned) body HTML, whitespace runs collapsed to one space (what a
    reader sees; tests and benches check cleaning with it). Entities are decoded, tags, comments, scripts and
    hidden elements contribute nothing, block boundaries and ``<br>`` separate words.
    """
    if not html or html.isspace():
        return ""
    root = parse(prepare(html))
    if root is None:
        return ""
    out: list[str] = []
    for part in body_parts(root):
        if isinstance(part, str):
            out.append(part)
        else:
            _visible_text(part, out)
    return " ".join("".join(out).split())
