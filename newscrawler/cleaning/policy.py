"""The allow-list of body cleaning, in one table.

:data:`TAGS` says, for every tag the cleaner knows, what it becomes (kept as itself,
renamed, unwrapped as a paragraph boundary, dropped with its content) and which
attributes it keeps, with the rule each attribute value must meet. Everything else here
(the tag sets of the rebuild, the noise classes and ids, URL schemes, size patterns and
the configuration of the nh3 ``Cleaner``, the last word on safety) is either a constant
or derived from it.
"""

from __future__ import annotations

import enum
import functools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import nh3

# ------------------------------------------------------------------------- the table


class Kind(enum.Enum):
    """What the rebuild does with an element of a tag."""

    FORMAT = "inline formatting"  # kept; an element inside another of its tag is unwrapped
    LINK = "link"  # kept with a safe href, else unwrapped; a link never holds a link
    IMAGE = "image"  # kept with a safe src, else dropped
    BREAK = "line break"
    TEXT_BLOCK = "text block"  # inline content only: blocks inside split it
    FLOW = "flow block"  # text and blocks
    ITEM = "list item"  # flow content; only in a list
    CELL = "table cell"  # flow content; only in a row; kept even when empty
    LIST = "list"  # only list items
    TABLE = "table"  # only sections; stray content is moved before it
    SECTION = "table section"  # only rows
    ROW = "table row"  # only cells
    BOUNDARY = "boundary"  # not kept: unwrapped, its content a paragraph of its own
    DROP = "dropped"  # not kept, nor is its content


class Value(enum.Enum):
    """The rule an attribute value must meet."""

    URL = "http(s) or protocol-relative URL, made absolute"
    TEXT = "text, whitespace collapsed"
    SIZE = "digits, optionally %"
    SPAN = "digits"
    EM_MEDIA = "the em_media class"


@dataclass(frozen=True)
class Tag:
    """The rule of one tag: its kind, the tag it is kept as, the attributes it keeps (in
    output order) and, for dropped raw-text elements, whether nh3 drops their content."""

    kind: Kind
    attributes: dict[str, Value] = field(default_factory=dict)
    as_tag: str | None = None  # read as another tag (``menu`` as ``ul``)
    nh3_drops_content: bool = False


def _kinds(kind: Kind, names: str, *, nh3_drops_content: bool = False) -> dict[str, Tag]:
    return {name: Tag(kind, nh3_drops_content=nh3_drops_content) for name in names.split()}


_CELL_ATTRIBUTES = {"colspan": Value.SPAN, "rowspan": Value.SPAN}
_IMAGE_ATTRIBUTES = {"src": Value.URL, "alt": Value.TEXT, "width": Value.SIZE, "height": Value.SIZE}

#: Every tag with a rule; any other element (span, font, sup, unknown ...) is unwrapped to
#: its content.
TAGS: dict[str, Tag] = {
    **_kinds(Kind.FORMAT, "strong b em i u"),
    "a": Tag(Kind.LINK, {"href": Value.URL}),
    "img": Tag(Kind.IMAGE, _IMAGE_ATTRIBUTES),
    "br": Tag(Kind.BREAK),
    "p": Tag(Kind.TEXT_BLOCK, {"class": Value.EM_MEDIA}),
    **_kinds(Kind.TEXT_BLOCK, "h1 h2 h3 h4 h5 h6"),
    **_kinds(Kind.FLOW, "blockquote center"),
    "li": Tag(Kind.ITEM),
    "td": Tag(Kind.CELL, _CELL_ATTRIBUTES),
    "th": Tag(Kind.CELL, _CELL_ATTRIBUTES),
    **_kinds(Kind.LIST, "ul ol"),
    "menu": Tag(Kind.LIST, as_tag="ul"),  # old list elements
    "dir": Tag(Kind.LIST, as_tag="ul"),
    "table": Tag(Kind.TABLE),
    **_kinds(Kind.SECTION, "thead tbody"),
    "tfoot": Tag(Kind.SECTION, as_tag="tbody"),
    "tr": Tag(Kind.ROW),
    # Unknown block-level elements: unwrapped, but their content is a paragraph of its own.
    **_kinds(
        Kind.BOUNDARY,
        """html body div section article aside header footer nav main figure figcaption
        address dl dt dd pre details summary fieldset legend hgroup caption search hr""",
    ),
    # Dropped with their content: active content, embedded documents, forms and their
    # controls, metadata, media, and raw-text elements.
    **_kinds(Kind.DROP, "script style iframe noscript template svg math xmp title", nh3_drops_content=True),
    **_kinds(
        Kind.DROP,
        """frame frameset noframes form object embed applet param noembed textarea select
        option optgroup datalist button input keygen output progress meter head meta link
        base basefont bgsound audio video source track canvas map area plaintext listing
        dialog portal fencedframe colgroup col slot image""",
    ),
}


def tags_of(*kinds: Kind) -> frozenset[str]:
    """The tags of these kinds that are kept as themselves."""
    return frozenset(name for name, rule in TAGS.items() if rule.kind in kinds and rule.as_tag is None)


#: Tags read as another one.
RENAME = {name: rule.as_tag for name, rule in TAGS.items() if rule.as_tag is not None}
INLINE_FORMAT = tags_of(Kind.FORMAT)
INLINE = tags_of(Kind.FORMAT, Kind.LINK, Kind.IMAGE, Kind.BREAK)
#: Blocks holding inline content only.
TEXT_BLOCKS = tags_of(Kind.TEXT_BLOCK)
#: Blocks holding flow content (text and blocks).
FLOW_CONTAINERS = tags_of(Kind.FLOW, Kind.ITEM, Kind.CELL)
LISTS = tags_of(Kind.LIST)
CELLS = tags_of(Kind.CELL)
SECTIONS = tags_of(Kind.SECTION)
TABLE_PARTS = tags_of(Kind.SECTION, Kind.ROW, Kind.CELL)
#: Blocks that may stand on their own in a flow (top level, list item, cell, quote).
FREE_BLOCKS = tags_of(Kind.TEXT_BLOCK, Kind.LIST, Kind.FLOW, Kind.TABLE)
#: Every tag of the output.
ALLOWED_TAGS = tags_of(*(kind for kind in Kind if kind not in (Kind.BOUNDARY, Kind.DROP)))
BOUNDARY = tags_of(Kind.BOUNDARY)
DROP = tags_of(Kind.DROP)
#: Elements whose boundaries separate words in the visible text.
TEXT_BREAKS = tags_of(*(kind for kind in Kind if kind not in (Kind.FORMAT, Kind.LINK, Kind.IMAGE, Kind.DROP)))

# ------------------------------------------------------------------------ attributes

#: Where an image's address is read from, first usable one first (lazy-loading copies).
IMAGE_SOURCES = ("src", "data-src", "data-original")
#: Schemes a kept URL may have (besides protocol-relative ``//host``).
URL_SCHEMES = frozenset({"http", "https"})
#: Schemes whose ``//`` browsers do not require (``https:host``, ``https:///host``).
SPECIAL_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})
SIZE_RE = re.compile(r"[0-9]{1,5}%?")
SPAN_RE = re.compile(r"[0-9]{1,4}")
#: The class of the ``（文章来源：X）`` source line, kept on ``p``.
EM_MEDIA = "em_media"


def size(value: str | None, pattern: re.Pattern[str]) -> str | None:
    """A width, height or span in canonical form (no padding zeros); ``None`` if invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) < 5:
        return str(int(value))  # (one to four digits: what either pattern accepts)
    if not pattern.fullmatch(value):
        return None
    if value.endswith("%"):
        return str(int(value[:-1])) + "%"
    return str(int(value))


# ----------------------------------------------------------------------------- noise

#: Noise marked by a class (lower case), dropped with its content: class -> the tags it
#: marks (``None``: any tag).
NOISE_CLASSES: dict[str, frozenset[str] | None] = {
    "emimageremark": None,  # a stock chart left outside its widget comments
    "em_handle_adv_close": frozenset({"img"}),  # an advert image (2026 article API)
    "ad_context3": frozenset({"div"}),  # the advert block of the article page
    "toplink": frozenset({"a"}),  # a noise link in the article page body
}
NOISE_CLASS_NAMES = frozenset(NOISE_CLASSES)
#: Advert hosts (lower case): a link to one is dropped with its content (the advert image).
AD_HOSTS = frozenset({"acttg.eastmoney.com"})
#: Stock links, unwrapped to their text: links of these classes (lower case) and any link
#: inside an element whose id starts with the prefix.
STOCK_LINK_CLASSES = frozenset({"keytip", "infokey"})
STOCK_ID_PREFIX = "stock_"
#: The comments (stripped, lower case) around a stock-chart widget, dropped with it.
WIDGET_START = "em_stockimg_start"
WIDGET_END = "em_stockimg_end"

#: What trims a block at both ends (whitespace, ideographic space indents, nbsp, ZWSP).
TRIM = " \t\n\f\u3000\u00a0\u200b"

#: Block nesting deeper than this is flattened (keeps every parser's depth limit far away).
MAX_DEPTH = 16

# ------------------------------------------------------------------------------- nh3


@functools.cache
def nh3_options() -> dict[str, Any]:
    """The ``nh3.Cleaner`` arguments: the allow-list of :data:`TAGS`.

    A ``class`` goes by nh3's own list of classes. The other values are not checked
    again: the rebuild writes each as its rule says, and an ``attribute_filter``
    (a call back into Python for every attribute) would cost more than the rest of nh3's
    work on a body while changing nothing (tests/cleaning/test_policy.py).
    """
    attributes: dict[str, set[str]] = {}
    classes: dict[str, set[str]] = {}
    for name, rule in TAGS.items():
        for attribute, value in rule.attributes.items():
            if value is Value.EM_MEDIA:
                classes.setdefault(name, set()).add(EM_MEDIA)
            else:
                attributes.setdefault(name, set()).add(attribute)
    return {
        "tags": set(ALLOWED_TAGS),
        "clean_content_tags": {name for name, rule in TAGS.items() if rule.nh3_drops_content},
        "attributes": attributes,
        "allowed_classes": classes,
        "strip_comments": True,
        "link_rel": None,
        "url_schemes": set(URL_SCHEMES),
    }


_local = threading.local()


def cleaner() -> nh3.Cleaner:
    """This thread's nh3 sanitizer, built once (building the allow-list costs more than a clean)."""
    built: nh3.Cleaner | None = getattr(_local, "cleaner", None)
    if built is None:
        built = nh3.Cleaner(**nh3_options())
        _local.cleaner = built
    return built
