"""The canonical rebuild of body cleaning: an lxml tree to canonical HTML blocks.

The tree is walked once (``_Builder``), stock-chart widgets left out, into a small node
model: inline content is normalized (whitespace collapsed, text trimmed around ``<br>``),
inline elements are split around blocks, lists hold only items and tables only sections,
rows and cells; a paragraph whose elements are all unwrapped is read as one text. The
top-level blocks are then serialized, one a line, as nh3 writes them, each marked when
nh3 would not change it. What is kept, and as what, is :mod:`.policy`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection

from lxml import etree

from newscrawler.cleaning import policy
from newscrawler.cleaning.policy import Kind, Value
from newscrawler.cleaning.prepass import (
    NO_CLASSES,
    advert_url,
    classes_of,
    hiding_style,
    is_noise,
    is_widget_start,
    safe_url,
    widget_end,
)

#: Whitespace that may need collapsing: a run of two or more, or a lone tab/newline/FF.
#: (Runs are matched whole and handled by ``_collapse_run``: a single linear scan.)
_WS_RUN_RE = re.compile("[ \t\n\f\u3000\u00a0]{2,}|[\t\n\f]")
_ASCII_WS_RE = re.compile("[ \t\f]+")
TRIM = policy.TRIM

_INLINE = policy.INLINE
_FREE_BLOCKS = policy.FREE_BLOCKS
#: Elements that belong inside a list or a table only.
_STRAY = policy.TABLE_PARTS | policy.tags_of(Kind.ITEM)
_CELLS = policy.CELLS
_SECTIONS = policy.SECTIONS
# The kinds, as plain module globals (an enum member lookup costs a dict lookup more).
_FORMAT, _LINK, _IMAGE, _BREAK_KIND, _TEXT_BLOCK = (
    Kind.FORMAT,
    Kind.LINK,
    Kind.IMAGE,
    Kind.BREAK,
    Kind.TEXT_BLOCK,
)
_FLOW, _ITEM, _CELL, _LIST, _TABLE = Kind.FLOW, Kind.ITEM, Kind.CELL, Kind.LIST, Kind.TABLE
_BOUNDARY, _DROP = Kind.BOUNDARY, Kind.DROP
_URL, _TEXT = Value.URL, Value.TEXT
_NOISE_CLASS_NAMES = policy.NOISE_CLASS_NAMES
_STOCK_ID_PREFIX = policy.STOCK_ID_PREFIX
_STOCK_LINK_CLASSES = policy.STOCK_LINK_CLASSES
_EM_MEDIA = policy.EM_MEDIA
_EM_MEDIA_ATTRS = (("class", policy.EM_MEDIA),)
#: tag -> (kind, the tag it is kept as), for every tag of the policy.
_RULES = {name: (rule.kind, rule.as_tag or name) for name, rule in policy.TAGS.items()}
#: The bits of the enclosing inline elements a walk carries (a link never holds a link,
#: an inline element never sits inside another of its tag).
_FORMAT_BITS = {name: 1 << bit for bit, name in enumerate(sorted(policy.INLINE_FORMAT))}
_LINK_BIT = 1 << len(_FORMAT_BITS)
#: Kinds that are flattened beyond ``MAX_DEPTH``.
_NESTING = frozenset({Kind.FLOW, Kind.ITEM, Kind.CELL, Kind.LIST, Kind.SECTION, Kind.ROW})
_MAX_DEPTH = policy.MAX_DEPTH
_IMAGE_ATTRIBUTES = tuple(policy.TAGS["img"].attributes.items())
_CELL_ATTRIBUTES = tuple(policy.TAGS["td"].attributes.items())
_OPEN = {name: f"<{name}>" for name in policy.ALLOWED_TAGS}
_CLOSE = {name: f"</{name}>" for name in policy.ALLOWED_TAGS}
_VOID = frozenset({"br", "img"})
#: Elements nh3 writes back as the rebuild does: all but those with a URL (nh3 reads URLs
#: with a parser of its own, and may refuse one).
_NH3_VERBATIM = frozenset(
    name for name in policy.ALLOWED_TAGS if _URL not in policy.TAGS[name].attributes.values()
)
_tostring = etree.tostring
_COMMENT = etree.Comment

# ------------------------------------------------------------------------- node model


class _El:
    """An element of the rebuilt tree (``inline``: its tag is an inline one)."""

    __slots__ = ("attrs", "children", "inline", "tag")

    def __init__(
        self,
        tag: str,
        attrs: tuple[tuple[str, str], ...] = (),
        children: list[_Item] | None = None,
    ) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Item] = children if children is not None else []
        self.inline = tag in _INLINE

    def __repr__(self) -> str:
        return f"_El({self.tag!r}, {self.attrs!r}, {self.children!r})"


class _TextBlock(_El):
    """A ``p`` or heading holding one text, its markup made at once, as nh3 writes it
    (``final``: nh3 would give it back unchanged, see :func:`rebuild`)."""

    __slots__ = ("final", "html")

    def __init__(self, tag: str, attrs: tuple[tuple[str, str], ...], text: str) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children = [text]
        self.inline = False
        self.html = (_open_tag(tag, attrs) if attrs else _OPEN[tag]) + _escape_nh3(text) + _CLOSE[tag]
        self.final = (not attrs or _nh3_keeps(tag, attrs)) and "\r" not in text and "\x00" not in text


_Item = str | _El
#: A paragraph boundary left by an unwrapped block element (``div``, ``hr`` ...).
_BREAK = _El("")
#: The one ``<br>``: nothing changes a ``br`` once made.
_BR = _El("br")


def _all_inline(items: list[_Item]) -> bool:
    return all(isinstance(item, str) or item.inline for item in items)


def _collapse_run(match: re.Match[str]) -> str:
    run = match.group()
    if "\n" in run:
        return " "  # a line break, with the indentation around it
    return _ASCII_WS_RE.sub(" ", run)


def _collapse(text: str) -> str:
    """A line break with the indentation around it (U+3000, nbsp) becomes one space, and
    so does any other run of ASCII whitespace."""
    if "\n" not in text and "  " not in text and "\t" not in text and "\f" not in text:
        return text  # nothing to collapse (the usual paragraph: its only runs are indents)
    return _WS_RUN_RE.sub(_collapse_run, text)


# --------------------------------------------------------------------- tree rebuilding


class _Builder:
    """Rebuilds an lxml tree into the canonical ``_El`` tree (see the module doc).

    The walk appends the items of an element's content to the list it is given; an
    unwrapped element adds its content to its parent's list, without a list of its own.
    ``inline`` holds the bits of the enclosing inline elements, ``stock`` whether one of
    them makes its links stock links, ``depth`` the block nesting.
    """

    __slots__ = ("base_url", "strays")

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.strays = False  # whether an element was kept that belongs in a list or table

    def body(self, root: etree._Element) -> list[_Item]:
        """The items of the content of ``<body>``, and of anything a stray ``</body>``
        left after it (as :func:`.prepass.body_parts` reads them)."""
        out: list[_Item] = []
        widget_last = None
        for child in root:
            if widget_last is not None:
                if child is not widget_last:
                    continue
                widget_last = None
            else:
                tag = child.tag
                if tag == "body":
                    self.walk(child, out, 0, False, 0)
                elif tag is _COMMENT:
                    widget_last = widget_end(child)
                    if widget_last is not None:
                        continue
                elif tag != "head" and isinstance(tag, str):
                    self.convert(child, tag, out, 0, False, 0)
            tail = child.tail
            if tail:
                out.append(tail)
        return out

    def walk(self, node: etree._Element, out: list[_Item], inline: int, stock: bool, depth: int) -> None:
        """Append the items of the content of ``node`` (not its tail) to ``out``.

        A stock-chart widget (its comments and everything between them) is left out.
        """
        text = node.text
        if text:
            out.append(text)
        widget_last = None  # the comment that ends the widget being left out
        for child in node:
            if widget_last is not None:
                if child is not widget_last:
                    continue  # in the widget, with its tail
                widget_last = None
            else:
                tag = child.tag
                if tag == "p" and not child.keys():
                    # A paragraph without attributes (most of any body): as convert() does.
                    self.text_block(child, "p", (), out, stock, depth)
                elif isinstance(tag, str):
                    self.convert(child, tag, out, inline, stock, depth)
                elif tag is _COMMENT:
                    widget_last = widget_end(child)
                    if widget_last is not None:
                        continue  # the start's tail is widget text too
            tail = child.tail
            if tail:
                out.append(tail)

    def text_block(
        self,
        node: etree._Element,
        tag: str,
        attrs: tuple[tuple[str, str], ...],
        out: list[_Item],
        stock: bool,
        depth: int,
    ) -> None:
        """A ``p`` or heading: inline content only; blocks inside it split it in parts."""
        if not len(node):
            text = node.text
        elif self.transparent(node, stock):
            # Text only, once its elements are unwrapped (the usual paragraph): the text
            # of the subtree, read at once, is what the walk would gather.
            text = _tostring(node, method="text", encoding=str, with_tail=False)
        else:
            kids: list[_Item] = []
            self.walk(node, kids, 0, stock, depth)
            _split_text_block(out, tag, attrs, kids)
            return
        if text:
            text = _collapse(text).strip(TRIM)
            if text:
                out.append(_TextBlock(tag, attrs, text))

    def convert(
        self, node: etree._Element, tag: str, out: list[_Item], inline: int, stock: bool, depth: int
    ) -> None:
        """Append the items ``node`` (not its tail) becomes to ``out``."""
        rule = _RULES.get(tag)
        if rule is None:
            lower = tag.lower()
            if lower != tag:
                rule = _RULES.get(lower)
        kind: Kind | None = None
        if rule is not None:
            kind, tag = rule
            if kind is _DROP:
                return
        classes = NO_CLASSES
        names = node.keys()  # one call; most elements (<p>, <strong>) have no attributes
        if names:
            if "hidden" in names or ("style" in names and hiding_style(node.get("style"))):
                return
            if "class" in names:
                classes = classes_of(node.get("class"))
                if classes & _NOISE_CLASS_NAMES and is_noise(tag, classes):
                    return  # a stray stock chart, an advert
            if not stock and "id" in names and (node.get("id") or "").startswith(_STOCK_ID_PREFIX):
                stock = True
        if kind is _TEXT_BLOCK:
            attrs: tuple[tuple[str, str], ...] = (
                _EM_MEDIA_ATTRS if tag == "p" and _EM_MEDIA in classes else ()
            )
            self.text_block(node, tag, attrs, out, stock, depth)
            return
        if kind is None:
            # Any other element (span, font, sup, unknown ...): unwrapped to its content.
            self.walk(node, out, inline, stock, depth)
            return
        if kind is _LINK:
            base_url = self.base_url
            raw = node.get("href") if "href" in names else None
            if raw is not None and advert_url(raw, base_url):
                return  # an advert, with its image
            href = None
            if raw is not None and not inline & _LINK_BIT and not stock and not classes & _STOCK_LINK_CLASSES:
                href = safe_url(raw, base_url)
            if href is None:
                self.walk(node, out, inline, stock, depth)
                return
            kids: list[_Item] = []
            self.walk(node, kids, inline | _LINK_BIT, stock, depth)
            _wrap_inline(out, "a", (("href", href),), kids)
            return
        if kind is _FORMAT:
            bit = _FORMAT_BITS[tag]
            if inline & bit:
                self.walk(node, out, inline, stock, depth)
                return
            kids = []
            self.walk(node, kids, inline | bit, stock, depth)
            _wrap_inline(out, tag, (), kids)
            return
        if kind is _BREAK_KIND:
            out.append(_BR)
            return
        if kind is _IMAGE:
            self.image(node, out)
            return
        if kind is _BOUNDARY:
            # Still inside the enclosing inline elements: they are split around the breaks.
            out.append(_BREAK)
            self.walk(node, out, inline, stock, depth)
            out.append(_BREAK)
            return
        if depth >= _MAX_DEPTH and kind in _NESTING:
            out.append(_BREAK)
            self.walk(node, out, inline, stock, depth)
            out.append(_BREAK)
            return
        kids = []
        if kind is not _LIST and kind is not _TABLE:
            self.strays = True  # a list item or table part, maybe out of place
        if kind is _FLOW or kind is _ITEM or kind is _CELL:
            if len(node):
                self.walk(node, kids, 0, stock, depth + 1)
                content = _finish_flow(kids, root=False)
            else:  # text alone (a table cell, most often): what _finish_flow makes of it
                text = node.text
                text = _collapse(text).strip(TRIM) if text else ""
                content = [text] if text else []
            if kind is _CELL:
                out.append(_El(tag, _cell_attrs(node, names), content))  # empty cells keep the grid
            else:
                out.append(_El(tag, (), content) if content else _BREAK)
        elif kind is _LIST:
            self.walk(node, kids, 0, stock, depth + 1)
            _build_list(out, tag, kids)
        elif kind is _TABLE:
            # Cells start afresh; stray content is moved before the table, that is into
            # the enclosing inline elements: it keeps their context.
            self.walk(node, kids, inline, stock, depth + 1)
            _build_table(out, kids)
        else:  # thead, tbody, tr: arranged by _build_table
            self.walk(node, kids, inline, stock, depth)
            out.append(_El(tag, (), kids))

    def transparent(self, node: etree._Element, stock: bool) -> bool:
        """Whether every element under ``node`` is sure to be unwrapped to its content: an
        element the policy does not know and a stock link, neither hidden nor noise nor
        advert. (``False`` is no answer: the walk then decides.)"""
        for child in node.iterdescendants():
            tag = child.tag
            if tag == "span":
                names = child.keys()
                if names and names != _ID_ONLY and not _unwrapped(child, names):
                    return False
            elif tag == "a":
                names = child.keys()
                if not names or "hidden" in names or ("style" in names and hiding_style(child.get("style"))):
                    return False
                marks = _link_classes(child.get("class")) if "class" in names else None
                if marks is _NOISE or (marks is None and not stock and not _stock_id(child, names)):
                    return False  # noise, or maybe a link to keep
                if "href" in names and advert_url(child.get("href") or "", self.base_url):
                    return False
            elif isinstance(tag, str):
                if tag in _RULES or tag.lower() in _RULES:
                    return False  # an element the policy knows
                names = child.keys()
                if names and not _unwrapped(child, names):
                    return False
            elif tag is _COMMENT and is_widget_start(child):
                return False  # maybe a widget to leave out
        return True

    def image(self, node: etree._Element, out: list[_Item]) -> None:
        attrs = []
        for name, rule in _IMAGE_ATTRIBUTES:
            if rule is _URL:
                value = None
                for source in policy.IMAGE_SOURCES:
                    value = safe_url(node.get(source), self.base_url)
                    if value is not None:
                        break
                if value is None:
                    return  # no usable address: no image
            elif rule is _TEXT:
                value = node.get(name)
                if value is not None:
                    value = _collapse(value).strip(" ")
            else:
                value = policy.size(node.get(name), policy.SIZE_RE)
            if value is not None:
                attrs.append((name, value))
        out.append(_El("img", tuple(attrs)))


_ID_ONLY = ["id"]
_NOISE, _STOCK = "noise", "stock"


@functools.lru_cache(maxsize=1024)
def _link_classes(value: str | None) -> str | None:
    """What the classes of a link say: ``_NOISE``, ``_STOCK`` (a stock link) or nothing."""
    classes = classes_of(value)
    if classes & _NOISE_CLASS_NAMES:
        return _NOISE
    return _STOCK if classes & _STOCK_LINK_CLASSES else None


def _unwrapped(node: etree._Element, names: Collection[object]) -> bool:
    """Whether an element the policy does not know, with these attributes, is unwrapped
    (not hidden, no noise class)."""
    if "hidden" in names or ("style" in names and hiding_style(node.get("style"))):
        return False
    return "class" not in names or not classes_of(node.get("class")) & _NOISE_CLASS_NAMES


def _stock_id(node: etree._Element, names: Collection[object]) -> bool:
    return "id" in names and (node.get("id") or "").startswith(_STOCK_ID_PREFIX)


def _cell_attrs(node: etree._Element, names: Collection[object]) -> tuple[tuple[str, str], ...]:
    attrs = []
    for name, _ in _CELL_ATTRIBUTES:
        if name in names:
            value = policy.size(node.get(name), policy.SPAN_RE)
            if value is not None:
                attrs.append((name, value))
    return tuple(attrs)


# ------------------------------------------------------------------ canonicalization


def _is_br(item: _Item) -> bool:
    return not isinstance(item, str) and item.tag == "br"


def _normalize_inline(items: list[_Item]) -> list[_Item]:
    """Merge adjacent text, collapse whitespace, trim it around ``<br>``, drop empty text."""
    if len(items) == 1:
        item = items[0]
        if isinstance(item, str):  # the common case: one text node
            text = _collapse(item)
            return [text] if text else []
        return [item]
    merged: list[_Item] = []
    texts: list[str] = []  # the current run of text
    breaks = False
    for item in items:
        if isinstance(item, str):
            texts.append(item)
            continue
        if texts:
            merged.append(_collapse(texts[0] if len(texts) == 1 else "".join(texts)))
            texts = []
        if item is _BR or item.tag == "br":
            breaks = True
        merged.append(item)
    if texts:
        merged.append(_collapse(texts[0] if len(texts) == 1 else "".join(texts)))
    if not breaks:
        if "" in merged:
            return [item for item in merged if item != ""]
        return merged
    out: list[_Item] = []
    last = len(merged) - 1
    for index, item in enumerate(merged):
        if isinstance(item, str):
            # (text is never next to text here)
            if index and _is_br(merged[index - 1]):
                item = item.lstrip(TRIM)  # a line's indent
            if index < last and _is_br(merged[index + 1]):
                item = item.rstrip(TRIM)
            if not item:
                continue
        out.append(item)
    return out


def _make_inline(out: list[_Item], tag: str, attrs: tuple[tuple[str, str], ...], run: list[_Item]) -> None:
    kids = _normalize_inline(run)
    if not kids:
        return
    if len(kids) == 1 and kids[0] == " ":
        out.append(" ")  # a whitespace-only element is just the whitespace
        return
    out.append(_El(tag, attrs, kids))


def _wrap_inline(out: list[_Item], tag: str, attrs: tuple[tuple[str, str], ...], items: list[_Item]) -> None:
    """Wrap ``items`` in an inline element, split around the blocks among them."""
    _split_around_blocks(out, tag, attrs, items, _make_inline, keep_breaks=True)


def _trim_start(items: list[_Item]) -> None:
    """Strip whitespace, indents and ``<br>`` from the start of an inline list."""
    cut = 0
    for item in items:
        if isinstance(item, str):
            text = item.lstrip(TRIM)
            if text:
                items[cut] = text
                break
        else:
            tag = item.tag
            if tag == "img":
                break
            if tag != "br":
                children = item.children
                _trim_start(children)
                if children:
                    break
        cut += 1
    if cut:
        del items[:cut]


def _trim_end(items: list[_Item]) -> None:
    """Strip whitespace, indents and ``<br>`` from the end of an inline list."""
    keep = len(items)
    while keep:
        item = items[keep - 1]
        if isinstance(item, str):
            text = item.rstrip(TRIM)
            if text:
                items[keep - 1] = text
                break
        else:
            tag = item.tag
            if tag == "img":
                break
            if tag != "br":
                children = item.children
                _trim_end(children)
                if children:
                    break
        keep -= 1
    del items[keep:]


def _trimmed_run(run: list[_Item]) -> list[_Item]:
    items = _normalize_inline(run)
    if items:
        _trim_start(items)
        _trim_end(items)
    return items


def _make_text_block(
    out: list[_Item], tag: str, attrs: tuple[tuple[str, str], ...], run: list[_Item]
) -> None:
    items = _trimmed_run(run)
    if items:
        out.append(_El(tag, attrs, items))


def _split_text_block(
    out: list[_Item], tag: str, attrs: tuple[tuple[str, str], ...], items: list[_Item]
) -> None:
    """A ``p``/heading: inline content only; blocks inside it split it in parts."""
    _split_around_blocks(out, tag, attrs, items, _make_text_block, keep_breaks=False)


_Maker = Callable[[list[_Item], str, tuple[tuple[str, str], ...], list[_Item]], None]


def _split_around_blocks(
    out: list[_Item],
    tag: str,
    attrs: tuple[tuple[str, str], ...],
    items: list[_Item],
    make: _Maker,
    *,
    keep_breaks: bool,
) -> None:
    """Each run of inline ``items`` made into one element by *make* (``tag``, ``attrs``); the
    blocks between the runs stay as they are, and so does a ``_BREAK`` with *keep_breaks*."""
    if _all_inline(items):
        if items:
            make(out, tag, attrs, items)
        return
    run: list[_Item] = []
    for item in items:
        if isinstance(item, str) or item.inline:
            run.append(item)
            continue
        if run:
            make(out, tag, attrs, run)
            run = []
        if keep_breaks or item is not _BREAK:
            out.append(item)
    if run:
        make(out, tag, attrs, run)


def _unwrap_stray(item: _Item, out: list[_Item]) -> None:
    """A list item or table part outside its list or table: its content, as a paragraph."""
    if isinstance(item, str) or item.tag not in _STRAY:
        out.append(item)
        return
    out.append(_BREAK)
    for child in item.children:
        _unwrap_stray(child, out)
    out.append(_BREAK)


def _root_paragraphs(out: list[_Item], run: list[_Item]) -> None:
    """Top-level inline content: one ``<p>`` per line (``\\n`` or ``<br>``)."""
    piece: list[_Item] = []
    for item in run:
        if isinstance(item, str):
            if "\n" not in item:
                piece.append(item)
                continue
            lines = item.split("\n")
            piece.append(lines[0])
            for line in lines[1:]:
                _make_text_block(out, "p", (), piece)
                piece = [line]
        elif item.tag == "br":
            _make_text_block(out, "p", (), piece)
            piece = []
        else:
            piece.append(item)
    _make_text_block(out, "p", (), piece)


def _flush_run(out: list[_Item], run: list[_Item], root: bool, last_inline: bool) -> bool:
    """Add an inline run of a flow to ``out``; whether ``out`` now ends with inline content."""
    for item in run:
        if not isinstance(item, str) or item.strip(TRIM):
            break
    else:
        return last_inline  # only whitespace between blocks (the newline after a </p>)
    if root:
        _root_paragraphs(out, run)
        return last_inline
    trimmed = _trimmed_run(run)
    if not trimmed:
        return last_inline
    if last_inline:
        out.append(_BR)
    out.extend(trimmed)
    return True


def _finish_flow(items: list[_Item], root: bool, strays: bool = True) -> list[_Item]:
    """Canonical flow content: blocks, and trimmed inline runs between them.

    At the top level each inline run becomes paragraphs; inside a container, runs
    separated only by a paragraph boundary are joined with ``<br>``. (``strays``: whether
    ``items`` may hold a list item or table part, to be unwrapped.)
    """
    if strays:
        for item in items:
            if not isinstance(item, str) and item.tag in _STRAY:
                flat: list[_Item] = []
                for each in items:
                    _unwrap_stray(each, flat)
                items = flat
                break
    out: list[_Item] = []
    run: list[_Item] = []
    last_inline = False
    for item in items:
        if isinstance(item, str) or item.inline:
            run.append(item)
            continue
        if run:
            if len(run) > 1 or not isinstance(run[0], str) or run[0].strip(TRIM):
                last_inline = _flush_run(out, run, root, last_inline)
            run = []  # (else only whitespace between blocks: the newline after a </p>)
        if item is not _BREAK and item.tag in _FREE_BLOCKS:
            out.append(item)
            last_inline = False
    if run:
        _flush_run(out, run, root, last_inline)
    return out


def _build_list(out: list[_Item], tag: str, items: list[_Item]) -> None:
    """``ul``/``ol``: only ``li`` children; other content is put in list items."""
    lis: list[_Item] = []
    loose: list[_Item] = []
    for item in items:
        if not isinstance(item, str) and item.tag == "li":
            if loose:
                content = _finish_flow(loose, root=False)
                loose = []
                if content:
                    lis.append(_El("li", (), content))
            if item.children:
                lis.append(item)
        else:
            loose.append(item)
    if loose:
        content = _finish_flow(loose, root=False)
        if content:
            lis.append(_El("li", (), content))
    if lis:
        out.append(_El(tag, (), lis))


def _rows(items: list[_Item], foster: list[_Item]) -> list[_Item]:
    """The ``tr`` of a table section; cells outside a row get one; the rest is fostered."""
    rows: list[_Item] = []
    loose_cells: list[_Item] = []
    for item in items:
        if not isinstance(item, str) and item.tag in _CELLS:
            loose_cells.append(item)
            continue
        if loose_cells:
            rows.append(_El("tr", (), loose_cells))
            loose_cells = []
        if not isinstance(item, str) and item.tag == "tr":
            cells: list[_Item] = []
            for cell in item.children:
                if not isinstance(cell, str) and cell.tag in _CELLS:
                    cells.append(cell)
                elif not isinstance(cell, str) or cell.strip(TRIM):
                    foster.append(cell)
            if cells:
                rows.append(_El("tr", (), cells))
        elif not isinstance(item, str) or item.strip(TRIM):
            foster.append(item)
    if loose_cells:
        rows.append(_El("tr", (), loose_cells))
    return rows


def _build_table(out: list[_Item], items: list[_Item]) -> None:
    """``table`` > ``thead``/``tbody`` > ``tr`` > ``td``/``th``; stray content goes before it."""
    foster: list[_Item] = []
    sections: list[_Item] = []
    loose: list[_Item] = []
    for item in items:
        tag = "" if isinstance(item, str) else item.tag
        if not isinstance(item, str) and tag in _SECTIONS:
            if loose:
                rows = _rows(loose, foster)
                loose = []
                if rows:
                    sections.append(_El("tbody", (), rows))
            rows = _rows(item.children, foster)
            if rows:
                sections.append(_El(tag, (), rows))
        elif tag == "tr" or tag in _CELLS:
            loose.append(item)
        elif not isinstance(item, str) or item.strip(TRIM):
            foster.append(item)
    if loose:
        rows = _rows(loose, foster)
        if rows:
            sections.append(_El("tbody", (), rows))
    if foster:
        out.append(_BREAK)
        out.extend(foster)
        out.append(_BREAK)
    if sections:
        out.append(_El("table", (), sections))


# ----------------------------------------------------------------------- serializing


def _escape_nh3(text: str) -> str:
    """Text as nh3 (html5ever) writes it: ``&amp; &nbsp; &lt; &gt;``."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "\xa0" in text:
        text = text.replace("\xa0", "&nbsp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attr(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    return value


def _nh3_keeps(tag: str, attrs: tuple[tuple[str, str], ...]) -> bool:
    """Whether nh3 writes these attributes back as they are: ``p``'s ``em_media`` class, a
    cell's spans (digits), as the rebuild writes them."""
    rules = policy.TAGS[tag].attributes
    for name, value in attrs:
        rule = rules.get(name)
        if rule is Value.EM_MEDIA:
            if value != _EM_MEDIA:
                return False
        elif rule is not Value.SPAN or not (value.isascii() and value.isdigit()):
            return False
    return True


def _open_tag(tag: str, attrs: tuple[tuple[str, str], ...]) -> str:
    return "<" + tag + "".join([f' {name}="{_escape_attr(value)}"' for name, value in attrs]) + ">"


def _serialize(item: _El, out: list[str]) -> bool:
    """Append the markup of ``item`` to ``out``; whether nh3 would write it back as it is
    (see :func:`rebuild`)."""
    if item.__class__ is _TextBlock:
        out.append(item.html)
        return item.final
    tag = item.tag
    attrs = item.attrs
    out.append(_open_tag(tag, attrs) if attrs else _OPEN[tag])
    final = tag in _NH3_VERBATIM and (not attrs or _nh3_keeps(tag, attrs))
    if tag in _VOID:
        return final
    for child in item.children:
        if isinstance(child, str):
            out.append(_escape_nh3(child))
            if final and ("\r" in child or "\x00" in child):
                final = False
        elif child is not _BREAK and not _serialize(child, out):
            final = False
    out.append(_CLOSE[tag])
    return final


def rebuild(root: etree._Element, base_url: str) -> list[tuple[str, bool]]:
    """The canonical blocks of the body of ``root``, one a line: ``(markup, final)``.

    Text is written with nh3's entities. ``final``: the markup is already what nh3 would
    make of it, so nh3 need not see it: a paragraph or heading holding only text (escaped:
    no markup), ``br`` and inline formatting elements, whose values nh3 does not check
    (no URL), none of its text holding a character html5ever reads otherwise (a carriage
    return becomes a line feed, a NUL is dropped). tests/cleaning/test_policy.py holds
    nh3 to that.
    """
    builder = _Builder(base_url)
    items = builder.body(root)
    blocks: list[tuple[str, bool]] = []
    for block in _finish_flow(items, root=True, strays=builder.strays):
        assert not isinstance(block, str)  # a flow at the top level holds only blocks
        if block.__class__ is _TextBlock:
            blocks.append((block.html, block.final))
        else:
            parts: list[str] = []
            final = _serialize(block, parts)
            blocks.append(("".join(parts), final))
    return blocks
