"""Article body cleaning (docs/contract.md "Cleaning rules"): a pure, deterministic,
idempotent HTML sanitizer.

:func:`clean_body` turns a source's body HTML into the canonical, safe HTML that goes
into a Jekyll post: a pre-pass drops widgets, adverts, hidden and stock-link noise; the
tree is rebuilt into canonical blocks; an allow-list ``nh3.Cleaner`` has the last word;
Liquid markup is neutralized. :func:`visible_text` gives what a reader sees. The rules,
the output format and why: docs/internals.md "Cleaning: design notes".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urljoin

import nh3
from lxml import etree

__all__ = ["clean_body", "visible_text"]

# --------------------------------------------------------------------------- tag sets

_INLINE_FORMAT = frozenset({"strong", "b", "em", "i", "u"})
_INLINE = _INLINE_FORMAT | {"a", "img", "br"}
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Blocks holding inline content only.
_TEXT_BLOCKS = _HEADINGS | {"p"}
#: Blocks holding flow content (text and blocks).
_FLOW_CONTAINERS = frozenset({"blockquote", "center", "li", "td", "th"})
_LISTS = frozenset({"ul", "ol"})
_TABLE_PARTS = frozenset({"thead", "tbody", "tr", "td", "th"})
#: Blocks that may stand on their own in a flow (top level, list item, cell, quote).
_FREE_BLOCKS = _TEXT_BLOCKS | _LISTS | {"blockquote", "center", "table"}
#: Every tag of the output.
_ALLOWED_TAGS = _INLINE | _TEXT_BLOCKS | _FLOW_CONTAINERS | _LISTS | _TABLE_PARTS | {"table"}

#: Elements dropped together with their content: active content, embedded documents,
#: forms and their controls, metadata, media, and raw-text elements.
_DROP = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "noframes", "form", "object",
        "embed", "applet", "param", "noscript", "noembed", "template", "svg", "math",
        "textarea", "select", "option", "optgroup", "datalist", "button", "input",
        "keygen", "output", "progress", "meter", "head", "title", "meta", "link", "base",
        "basefont", "bgsound", "audio", "video", "source", "track", "canvas", "map",
        "area", "xmp", "plaintext", "listing", "dialog", "portal", "fencedframe",
        "colgroup", "col", "slot", "image",
    }
)  # fmt: skip
#: Unknown block-level elements: unwrapped, but their content is a paragraph of its own.
_BOUNDARY = frozenset(
    {
        "html", "body", "div", "section", "article", "aside", "header", "footer", "nav",
        "main", "figure", "figcaption", "address", "dl", "dt", "dd", "pre", "details",
        "summary", "fieldset", "legend", "hgroup", "caption", "search", "hr",
    }
)  # fmt: skip
#: Old list elements read as ``ul``; ``tfoot`` read as a ``tbody``.
_RENAME = {"menu": "ul", "dir": "ul", "tfoot": "tbody"}
#: Noise marked by a class (lower case), dropped with its content: class -> the tags it
#: marks (``None``: any tag).
_NOISE_CLASSES: dict[str, frozenset[str] | None] = {
    "emimageremark": None,  # a stock chart left outside its widget comments
    "em_handle_adv_close": frozenset({"img"}),  # an advert image (2026 article API)
    "ad_context3": frozenset({"div"}),  # the advert block of the article page
    "toplink": frozenset({"a"}),  # a noise link in the article page body
}
_NOISE_CLASS_NAMES = frozenset(_NOISE_CLASSES)
#: Advert hosts (lower case): a link to one is dropped with its content (the advert image).
_AD_HOSTS = frozenset({"acttg.eastmoney.com"})
#: Schemes whose ``//`` browsers do not require (``https:host``, ``https:///host``).
_SPECIAL_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})

#: nh3 allow-list (the same as the pre-pass output).
_NH3_TAGS = set(_ALLOWED_TAGS)
_NH3_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "p": {"class"},
}
_NH3_CLEAN_CONTENT = {"script", "style", "iframe", "noscript", "template", "svg", "math", "xmp", "title"}
_NH3_SCHEMES = {"http", "https"}

#: Block nesting deeper than this is flattened (keeps every parser's depth limit far away).
_MAX_DEPTH = 16

# ----------------------------------------------------------------------- text patterns

#: Characters no HTML document may carry (C0/C1 controls but tab and newline, DEL,
#: surrogates, BOM, non-characters U+FFFE/U+FFFF).
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
#: Whitespace that may need collapsing: a run of two or more, or a lone tab/newline/FF.
#: (Runs are matched whole and handled by ``_collapse_run``: a single linear scan.)
_WS_RUN_RE = re.compile("[ \t\n\f\u3000\u00a0]{2,}|[\t\n\f]")
_ASCII_WS_RE = re.compile("[ \t\f]+")
#: What trims a block at both ends (whitespace, ideographic space indents, nbsp, ZWSP).
_TRIM = " \t\n\f\u3000\u00a0\u200b"
#: What browsers drop anywhere in a URL, and around it.
_URL_DROP_RE = re.compile("[\t\n\r]")
_URL_STRIP = "".join(chr(c) for c in range(0x21))
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
#: ``//host...``: a protocol-relative URL with a host.
_PROTOCOL_RELATIVE_RE = re.compile(r"//[^/\\?#\s]")
#: The authority (``user@host:port``) of a URL from its ``//`` on.
_AUTHORITY_RE = re.compile(r"/*([^/?#]*)")
_SIZE_RE = re.compile(r"[0-9]{1,5}%?")
_SPAN_RE = re.compile(r"[0-9]{1,4}")
_LIQUID_RE = re.compile(r"\{(?=[{%])")
#: nh3 output where nh3 dropped a URL the pre-pass kept (every ``a``/``img`` we write
#: carries ``href``/``src`` first).
_NH3_DROPPED_URL_RE = re.compile(r"<a>|<img(?! src=)")

# ------------------------------------------------------------------------- node model


class _Break:
    """A paragraph boundary left by an unwrapped block element (``div``, ``hr`` ...)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BREAK"


_BREAK = _Break()


class _El:
    """An element of the rebuilt tree."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(
        self,
        tag: str,
        attrs: tuple[tuple[str, str], ...] = (),
        children: list[_Item] | None = None,
    ) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Item] = children if children is not None else []

    def __repr__(self) -> str:
        return f"_El({self.tag!r}, {self.attrs!r}, {self.children!r})"


_Item = str | _El | _Break


def _is_inline(item: _Item) -> bool:
    return isinstance(item, str) or (isinstance(item, _El) and item.tag in _INLINE)


# ---------------------------------------------------------------------------- parsing

_local = threading.local()


def _parser() -> etree.HTMLParser:
    parser: etree.HTMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(remove_comments=False, remove_pis=True, no_network=True, recover=True)
        _local.parser = parser
    return parser


def _prepare(html: str) -> str:
    """Line ends to ``\\n``; characters no document may hold removed."""
    text = html.replace("\r\n", "\n").replace("\r", "\n")
    return _BAD_CHARS_RE.sub("", text)


def _parse(text: str) -> etree._Element | None:
    """Parse ``text`` as the content of a ``<body>``; return the ``<html>`` root."""
    # The leading <body> keeps everything (a first comment included) inside the body.
    return etree.HTML("<body>" + text, _parser())


def _body_parts(root: etree._Element) -> Iterable[etree._Element | str]:
    """The content of ``<body>``, and anything a stray ``</body>`` left after it:
    elements and text, in document order."""
    for child in root:
        if child.tag == "body":
            if child.text:
                yield child.text
            for node in child:
                yield node
                if node.tail:
                    yield node.tail
        elif child.tag != "head":
            yield child
        if child.tail:
            yield child.tail


# ---------------------------------------------------------------------------- pre-pass


def _marker(node: etree._Element) -> str:
    if node.tag is not etree.Comment:
        return ""
    text = (node.text or "").strip().lower()
    if text == "em_stockimg_start":
        return "start"
    if text == "em_stockimg_end":
        return "end"
    return ""


def _drop_stock_widgets(root: etree._Element) -> None:
    """Remove everything between sibling ``EM_StockImg_Start``/``_End`` comments."""
    for start in list(root.iter(etree.Comment)):
        if _marker(start) != "start" or start.getparent() is None:
            continue
        between: list[etree._Element] = []
        for sibling in start.itersiblings():
            kind = _marker(sibling)
            if kind == "end":
                start.tail = None
                parent = sibling.getparent()
                assert parent is not None  # a sibling has the parent of its sibling
                for node in between:
                    parent.remove(node)  # the node's tail is widget text too
                break
            if kind == "start":
                break  # unbalanced: keep the content, the next start takes over
            between.append(sibling)


def _classes(node: etree._Element) -> frozenset[str]:
    return frozenset((node.get("class") or "").lower().split())


_NO_CLASSES: frozenset[str] = frozenset()


def _is_noise(tag: str, classes: frozenset[str]) -> bool:
    """Whether a class of ``_NOISE_CLASSES`` marks this ``tag``."""
    for name in classes & _NOISE_CLASS_NAMES:
        tags = _NOISE_CLASSES[name]
        if tags is None or tag in tags:
            return True
    return False


def _is_hidden(node: etree._Element) -> bool:
    if node.get("hidden") is not None:
        return True
    return _hiding_style(node.get("style"))


def _hiding_style(style: str | None) -> bool:
    if not style:
        return False
    css = "".join(_strip_css_comments(style.lower()).split())
    return "display:none" in css or "visibility:hidden" in css


def _strip_css_comments(css: str) -> str:
    parts = []
    start = 0
    while True:
        opening = css.find("/*", start)
        if opening < 0:
            parts.append(css[start:])
            break
        parts.append(css[start:opening])
        closing = css.find("*/", opening + 2)
        if closing < 0:
            break  # an unclosed comment runs to the end
        start = closing + 2
    return " ".join(parts)


def _safe_url(raw: str | None, base_url: str) -> str | None:
    """An http(s) or protocol-relative URL, made absolute; ``None`` when unsafe."""
    if raw is None:
        return None
    url = _URL_DROP_RE.sub("", raw).strip(_URL_STRIP)
    if not url:
        return None
    match = _SCHEME_RE.match(url)
    if match is None:
        if url.startswith(("//", "\\/", "/\\", "\\\\")):  # browsers read \ as / here
            return url if _PROTOCOL_RELATIVE_RE.match(url) else None
        if not base_url:
            return None
        url = urljoin(base_url, url)
        match = _SCHEME_RE.match(url)
        if match is None:
            return url if _PROTOCOL_RELATIVE_RE.match(url) else None
    scheme = match.group(1).lower()
    if scheme not in _NH3_SCHEMES:
        return None
    return scheme + url[len(scheme) :]


def _url_host(raw: str | None, base_url: str) -> str:
    """The host a browser would send ``raw`` to (lower case, any scheme; a relative URL
    has the host of ``base_url``); ``""`` when there is none."""
    if raw is None:
        return ""
    url = raw.strip(_URL_STRIP)
    if "\t" in url or "\n" in url or "\r" in url:
        url = _URL_DROP_RE.sub("", url).strip(_URL_STRIP)
    if "\\" in url:
        url = url.replace("\\", "/")
    match = _SCHEME_RE.match(url)
    if match is not None:
        url = url[match.end() :]
        if not url.startswith("//") and match.group(1).lower() not in _SPECIAL_SCHEMES:
            return ""  # mailto:, javascript: ...: no host
    elif not url.startswith("//"):
        return _url_host(base_url, "") if url and base_url else ""
    authority = _AUTHORITY_RE.match(url)
    # user@host:port (an IPv6 address gives "[": it is no advert host anyway)
    host = authority.group(1).rpartition("@")[2].partition(":")[0] if authority else ""
    if "%" in host:
        host = unquote(host)
    return host.strip(".").lower()


def _size(value: str | None, pattern: re.Pattern[str]) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not pattern.fullmatch(value):
        return None
    if value.endswith("%"):
        return str(int(value[:-1])) + "%"
    return str(int(value))


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
    """Rebuilds an lxml tree into the canonical ``_El`` tree (see the module doc)."""

    __slots__ = ("base_url",)

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    # -- walking the lxml tree

    def children(self, node: etree._Element, inline: frozenset[str], stock: bool, depth: int) -> list[_Item]:
        out: list[_Item] = []
        if node.text:
            out.append(node.text)
        for child in node:
            out.extend(self.convert(child, inline, stock, depth))
            if child.tail:
                out.append(child.tail)
        return out

    def body(self, root: etree._Element) -> list[_Item]:
        out: list[_Item] = []
        for part in _body_parts(root):
            if isinstance(part, str):
                out.append(part)
            else:
                out.extend(self.convert(part, frozenset(), False, 0))
        return out

    def convert(self, node: etree._Element, inline: frozenset[str], stock: bool, depth: int) -> list[_Item]:
        tag = node.tag
        if not isinstance(tag, str):
            return []  # comments, processing instructions
        tag = tag.lower()
        tag = _RENAME.get(tag, tag)
        if tag in _DROP:
            return []
        classes = _NO_CLASSES
        names = node.keys()  # one call; most elements (<p>, <strong>) have no attributes
        if names:
            if "hidden" in names or ("style" in names and _hiding_style(node.get("style"))):
                return []
            if "class" in names:
                classes = _classes(node)
                if classes & _NOISE_CLASS_NAMES and _is_noise(tag, classes):
                    return []  # a stray stock chart, an advert
            if not stock and "id" in names and (node.get("id") or "").startswith("stock_"):
                stock = True
        if tag in _INLINE_FORMAT:
            if tag in inline:
                return self.children(node, inline, stock, depth)
            kids = self.children(node, inline | {tag}, stock, depth)
            return _wrap_inline(tag, (), kids)
        if tag == "a":
            if "href" in names and _url_host(node.get("href"), self.base_url) in _AD_HOSTS:
                return []  # an advert, with its image
            href = None
            if "a" not in inline and not stock and not classes & {"keytip", "infokey"}:
                href = _safe_url(node.get("href"), self.base_url)
            if href is None:
                return self.children(node, inline, stock, depth)
            kids = self.children(node, inline | {"a"}, stock, depth)
            return _wrap_inline("a", (("href", href),), kids)
        if tag == "img":
            return self.image(node)
        if tag == "br":
            return [_El("br")]
        if tag in _TEXT_BLOCKS:
            attrs: tuple[tuple[str, str], ...] = ()
            if tag == "p" and "em_media" in classes:
                attrs = (("class", "em_media"),)
            kids = self.children(node, frozenset(), stock, depth)
            return _split_text_block(tag, attrs, kids)
        if depth >= _MAX_DEPTH and (tag in _FLOW_CONTAINERS or tag in _LISTS or tag in _TABLE_PARTS):
            return [_BREAK, *self.children(node, inline, stock, depth), _BREAK]
        if tag in _FLOW_CONTAINERS:
            kids = self.children(node, frozenset(), stock, depth + 1)
            content = _finish_flow(kids, root=False)
            if tag in ("td", "th"):
                return [_El(tag, _cell_attrs(node), content)]  # empty cells keep the grid
            return [_El(tag, (), content)] if content else [_BREAK]
        if tag in _LISTS:
            kids = self.children(node, frozenset(), stock, depth + 1)
            return _build_list(tag, kids)
        if tag == "table":
            # Cells start afresh; stray content is moved before the table, that is into
            # the enclosing inline elements: it keeps their context.
            kids = self.children(node, inline, stock, depth + 1)
            return _build_table(kids)
        if tag in _TABLE_PARTS:  # thead, tbody, tr: arranged by _build_table
            return [_El(tag, (), self.children(node, inline, stock, depth))]
        if tag in _BOUNDARY:
            # Still inside the enclosing inline elements: they are split around the breaks.
            return [_BREAK, *self.children(node, inline, stock, depth), _BREAK]
        # Any other element (span, font, sup, unknown ...): unwrapped to its content.
        return self.children(node, inline, stock, depth)

    def image(self, node: etree._Element) -> list[_Item]:
        src = None
        for name in ("src", "data-src", "data-original"):
            src = _safe_url(node.get(name), self.base_url)
            if src is not None:
                break
        if src is None:
            return []
        attrs = [("src", src)]
        alt = node.get("alt")
        if alt is not None:
            attrs.append(("alt", _collapse(alt).strip(" ")))
        for name in ("width", "height"):
            value = _size(node.get(name), _SIZE_RE)
            if value is not None:
                attrs.append((name, value))
        return [_El("img", tuple(attrs))]


def _cell_attrs(node: etree._Element) -> tuple[tuple[str, str], ...]:
    attrs = []
    for name in ("colspan", "rowspan"):
        value = _size(node.get(name), _SPAN_RE)
        if value is not None:
            attrs.append((name, value))
    return tuple(attrs)


# ------------------------------------------------------------------ canonicalization


def _is_br(item: _Item) -> bool:
    return isinstance(item, _El) and item.tag == "br"


def _normalize_inline(items: list[_Item]) -> list[_Item]:
    """Merge adjacent text, collapse whitespace, trim it around ``<br>``, drop empty text."""
    if len(items) == 1 and isinstance(items[0], str):  # the common case: one text node
        text = _collapse(items[0])
        return [text] if text else []
    merged: list[_Item] = []
    buf: list[str] = []
    for item in [*items, _BREAK]:
        if isinstance(item, str):
            buf.append(item)
            continue
        if buf:
            merged.append(_collapse("".join(buf)))
            buf = []
        if item is not _BREAK:
            merged.append(item)
    out: list[_Item] = []
    last = len(merged) - 1
    for index, item in enumerate(merged):
        if isinstance(item, str):
            if index and _is_br(merged[index - 1]):
                item = item.lstrip(_TRIM)  # a line's indent
            if index < last and _is_br(merged[index + 1]):
                item = item.rstrip(_TRIM)
            if not item:
                continue
        out.append(item)
    return out


def _make_inline(tag: str, attrs: tuple[tuple[str, str], ...], run: list[_Item]) -> list[_Item]:
    kids = _normalize_inline(run)
    if not kids:
        return []
    if kids == [" "]:
        return [" "]  # a whitespace-only element is just the whitespace
    return [_El(tag, attrs, kids)]


def _wrap_inline(tag: str, attrs: tuple[tuple[str, str], ...], items: list[_Item]) -> list[_Item]:
    """Wrap ``items`` in an inline element, split around the blocks among them."""
    out: list[_Item] = []
    run: list[_Item] = []
    for item in items:
        if _is_inline(item):
            run.append(item)
            continue
        if run:
            out.extend(_make_inline(tag, attrs, run))
            run = []
        out.append(item)
    if run:
        out.extend(_make_inline(tag, attrs, run))
    return out


def _trim_start(items: list[_Item]) -> None:
    """Strip whitespace, indents and ``<br>`` from the start of an inline list."""
    cut = 0
    for item in items:
        if isinstance(item, str):
            text = item.lstrip(_TRIM)
            if text:
                items[cut] = text
                break
        elif isinstance(item, _El):
            if item.tag == "img":
                break
            if item.tag != "br":
                _trim_start(item.children)
                if item.children:
                    break
        cut += 1
    del items[:cut]


def _trim_end(items: list[_Item]) -> None:
    """Strip whitespace, indents and ``<br>`` from the end of an inline list."""
    keep = len(items)
    while keep:
        item = items[keep - 1]
        if isinstance(item, str):
            text = item.rstrip(_TRIM)
            if text:
                items[keep - 1] = text
                break
        elif isinstance(item, _El):
            if item.tag == "img":
                break
            if item.tag != "br":
                _trim_end(item.children)
                if item.children:
                    break
        keep -= 1
    del items[keep:]


def _trimmed_run(run: list[_Item]) -> list[_Item]:
    items = _normalize_inline(run)
    _trim_start(items)
    _trim_end(items)
    return items


def _make_text_block(tag: str, attrs: tuple[tuple[str, str], ...], run: list[_Item]) -> _El | None:
    items = _trimmed_run(run)
    return _El(tag, attrs, items) if items else None


def _split_text_block(tag: str, attrs: tuple[tuple[str, str], ...], items: list[_Item]) -> list[_Item]:
    """A ``p``/heading: inline content only; blocks inside it split it in parts."""
    out: list[_Item] = []
    run: list[_Item] = []
    for item in [*items, _BREAK]:
        if _is_inline(item):
            run.append(item)
            continue
        block = _make_text_block(tag, attrs, run)
        run = []
        if block is not None:
            out.append(block)
        if item is not _BREAK:
            out.append(item)
    return out


def _unwrap_stray(item: _Item) -> list[_Item]:
    """A list item or table part outside its list or table: its content, as a paragraph."""
    if not isinstance(item, _El) or (item.tag not in _TABLE_PARTS and item.tag != "li"):
        return [item]
    out: list[_Item] = [_BREAK]
    for child in item.children:
        out.extend(_unwrap_stray(child))
    out.append(_BREAK)
    return out


def _root_paragraphs(run: list[_Item]) -> list[_Item]:
    """Top-level inline content: one ``<p>`` per line (``\\n`` or ``<br>``)."""
    out: list[_Item] = []
    piece: list[_Item] = []

    def flush() -> None:
        block = _make_text_block("p", (), piece)
        piece.clear()
        if block is not None:
            out.append(block)

    for item in run:
        if isinstance(item, str):
            lines = item.split("\n")
            piece.append(lines[0])
            for line in lines[1:]:
                flush()
                piece.append(line)
        elif isinstance(item, _El) and item.tag == "br":
            flush()
        else:
            piece.append(item)
    flush()
    return out


def _finish_flow(items: list[_Item], root: bool) -> list[_Item]:
    """Canonical flow content: blocks, and trimmed inline runs between them.

    At the top level each inline run becomes paragraphs; inside a container, runs
    separated only by a paragraph boundary are joined with ``<br>``.
    """
    flat: list[_Item] = []
    for item in items:
        flat.extend(_unwrap_stray(item))
    out: list[_Item] = []
    run: list[_Item] = []
    last_inline = False

    def flush() -> None:
        nonlocal last_inline
        if not run:
            return
        if all(isinstance(item, str) and not item.strip(_TRIM) for item in run):
            run.clear()  # only whitespace between blocks (the newline after a </p>)
            return
        if root:
            out.extend(_root_paragraphs(run))
        else:
            trimmed = _trimmed_run(run)
            if trimmed:
                if last_inline:
                    out.append(_El("br"))
                out.extend(trimmed)
                last_inline = True
        run.clear()

    for item in flat:
        if _is_inline(item):
            run.append(item)
        elif item is _BREAK:
            flush()
        else:
            flush()
            assert isinstance(item, _El)
            if item.tag in _FREE_BLOCKS:
                out.append(item)
                last_inline = False
    flush()
    return out


def _build_list(tag: str, items: list[_Item]) -> list[_Item]:
    """``ul``/``ol``: only ``li`` children; other content is put in list items."""
    lis: list[_Item] = []
    loose: list[_Item] = []

    def flush() -> None:
        if loose:
            content = _finish_flow(loose, root=False)
            loose.clear()
            if content:
                lis.append(_El("li", (), content))

    for item in items:
        if isinstance(item, _El) and item.tag == "li":
            flush()
            if item.children:
                lis.append(item)
        else:
            loose.append(item)
    flush()
    return [_El(tag, (), lis)] if lis else []


def _rows(items: list[_Item], foster: list[_Item]) -> list[_Item]:
    """The ``tr`` of a table section; cells outside a row get one; the rest is fostered."""
    rows: list[_Item] = []
    loose_cells: list[_Item] = []

    def flush() -> None:
        if loose_cells:
            rows.append(_El("tr", (), list(loose_cells)))
            loose_cells.clear()

    for item in items:
        if isinstance(item, _El) and item.tag in ("td", "th"):
            loose_cells.append(item)
            continue
        flush()
        if isinstance(item, _El) and item.tag == "tr":
            cells: list[_Item] = []
            for cell in item.children:
                if isinstance(cell, _El) and cell.tag in ("td", "th"):
                    cells.append(cell)
                elif not isinstance(cell, str) or cell.strip(_TRIM):
                    foster.append(cell)
            if cells:
                rows.append(_El("tr", (), cells))
        elif not isinstance(item, str) or item.strip(_TRIM):
            foster.append(item)
    flush()
    return rows


def _build_table(items: list[_Item]) -> list[_Item]:
    """``table`` > ``thead``/``tbody`` > ``tr`` > ``td``/``th``; stray content goes before it."""
    foster: list[_Item] = []
    sections: list[_El] = []
    loose: list[_Item] = []

    def flush() -> None:
        if loose:
            rows = _rows(loose, foster)
            loose.clear()
            if rows:
                sections.append(_El("tbody", (), rows))

    for item in items:
        if isinstance(item, _El) and item.tag in ("thead", "tbody"):
            flush()
            rows = _rows(item.children, foster)
            if rows:
                sections.append(_El(item.tag, (), rows))
        elif isinstance(item, _El) and item.tag in ("tr", "td", "th"):
            loose.append(item)
        elif not isinstance(item, str) or item.strip(_TRIM):
            foster.append(item)
    flush()
    out: list[_Item] = []
    if foster:
        out.extend([_BREAK, *foster, _BREAK])
    if sections:
        out.append(_El("table", (), list(sections)))
    return out


# ----------------------------------------------------------------------- serializing


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return _escape_text(value).replace('"', "&quot;")


def _serialize(item: _Item, out: list[str]) -> None:
    if isinstance(item, str):
        out.append(_escape_text(item))
        return
    if not isinstance(item, _El):
        return
    out.append("<" + item.tag)
    for name, value in item.attrs:
        out.append(f' {name}="{_escape_attr(value)}"')
    out.append(">")
    if item.tag in ("br", "img"):
        return
    for child in item.children:
        _serialize(child, out)
    out.append(f"</{item.tag}>")


# ------------------------------------------------------------------------------- nh3


def _nh3_filter(tag: str, attr: str, value: str) -> str | None:
    """Second line of defence: the attribute values the pre-pass writes, nothing else."""
    if attr == "class":
        return "em_media" if tag == "p" and "em_media" in value.split() else None
    if attr in ("width", "height"):
        return _size(value, _SIZE_RE)
    if attr in ("colspan", "rowspan"):
        return _size(value, _SPAN_RE)
    return value


def _cleaner() -> nh3.Cleaner:
    """This thread's nh3 sanitizer, built once (building the allow-list costs ~40% of a clean)."""
    cleaner: nh3.Cleaner | None = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = nh3.Cleaner(
            tags=_NH3_TAGS,
            clean_content_tags=_NH3_CLEAN_CONTENT,
            attributes=_NH3_ATTRIBUTES,
            attribute_filter=_nh3_filter,
            strip_comments=True,
            link_rel=None,
            url_schemes=_NH3_SCHEMES,
        )
        _local.cleaner = cleaner
    return cleaner


def _sanitize(html: str) -> str:
    return _cleaner().clean(html)


# ---------------------------------------------------------------------------- public


def _clean_once(html: str, base_url: str) -> str:
    text = _prepare(html)
    if not text.strip(_TRIM):
        return ""
    root = _parse(text)
    if root is None:
        return ""
    _drop_stock_widgets(root)
    items = _Builder(base_url).body(root)
    blocks = _finish_flow(items, root=True)
    lines = []
    for block in blocks:
        parts: list[str] = []
        _serialize(block, parts)
        lines.append("".join(parts))
    if not lines:
        return ""
    return _sanitize("\n".join(lines))


def clean_body(html: str, base_url: str = "") -> str:
    """Sanitize article body HTML per docs/contract.md "Cleaning rules". Pure, deterministic, idempotent.

    ``base_url`` is the address the body was fetched from; relative ``href``/``src``
    are resolved against it (without one they are dropped). See the module docstring
    for the rules and the output format.
    """
    if not html or html.isspace():
        return ""
    out = _clean_once(html, base_url)
    if _NH3_DROPPED_URL_RE.search(out):
        # nh3 refused a URL the pre-pass kept: one more pass unwraps/drops what is left.
        out = _clean_once(out, base_url)
    return _LIQUID_RE.sub("&#123;", out)


#: Elements whose boundaries separate words in the visible text.
_TEXT_BREAKS = _TEXT_BLOCKS | _FLOW_CONTAINERS | _LISTS | _TABLE_PARTS | _BOUNDARY | {"table", "br"}


def _visible_text(node: etree._Element, out: list[str]) -> None:
    """Append the visible text of ``node`` (not its tail) to ``out``."""
    tag = node.tag
    if not isinstance(tag, str):
        return
    tag = tag.lower()
    if tag in _DROP or _is_hidden(node):
        return
    gap = tag in _TEXT_BREAKS
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
    root = _parse(_prepare(html))
    if root is None:
        return ""
    out: list[str] = []
    for part in _body_parts(root):
        if isinstance(part, str):
            out.append(part)
        else:
            _visible_text(part, out)
    return " ".join("".join(out).split())
