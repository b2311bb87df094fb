"""The Jekyll post format (docs/contract.md): render posts and category pages, names and
slugs, and read posts back (every variant the archive holds).

Pure functions: no I/O, no Scrapy. Everything untrusted that reaches the YAML header
or a file name passes through a function here that makes it safe.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

import yaml
from lxml import etree
from lxml import html as lxml_html

from newscrawler.archive.layout import CATEGORY_DIR
from newscrawler.dates import BEIJING, format_post_date
from newscrawler.ids import info_code, is_code
from newscrawler.items import KIND_EMNEWS

#: An outlet's tag and back-link label: ``<outlet>新闻``.
OUTLET_TAG_SUFFIX = "新闻"
EMNEWS_TAG = "东财滚动新闻"
EMNEWS_BACK_LABEL = "返回东财滚动新闻"
HOME_LABEL = "返回首页"
LINK_SEPARATOR = "｜"

_SAFE_FILE_RE = re.compile(r"^[0-9A-Za-z-]+\.md$", re.ASCII)
_SLUG_RE = re.compile(r"^[a-z0-9]+$", re.ASCII)
_TAG_START_RE = re.compile(r"<(?=[A-Za-z/!?])")
_URL_RE = re.compile(r"^(?:https?:)?//[^\s<>\"'`\\]+$", re.IGNORECASE)
# Characters YAML cannot hold literally in a double-quoted scalar, or that a reader
# might fold or strip (YAML 1.1/1.2 printable set, minus the BOM and the line
# breaks NEL, LS and PS).
_YAML_UNPRINTABLE_RE = re.compile(
    "[^\x09\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_OUTLET_KEEP = frozenset("·・")


def collapse_whitespace(text: str) -> str:
    """All runs of whitespace (including U+3000, NBSP, line breaks) as one space, trimmed."""
    return " ".join(text.split())


#: Format characters that carry meaning inside visible text (emoji sequences, Indic scripts).
_KEEP_FORMAT = frozenset("\u200c\u200d")


def _strip_controls(text: str) -> str:
    """Without control, surrogate, private-use and unassigned characters, nor invisible
    format characters (zero-width spaces, BOMs, bidi overrides that reorder what a
    reader sees): a title of nothing but those is empty."""
    if text.isprintable():  # none of those (nor any separator but the space): the usual title
        return text
    return "".join(
        ch
        for ch in text
        if ch.isspace()
        or ch in _KEEP_FORMAT
        or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


def markup_to_text(raw: str) -> str:
    """The text of a one-line HTML snippet (a title, an outlet, a digest): the HTML
    parser decodes entities and drops tags, while ``<140>`` or ``a < b`` stay text."""
    if "<" not in raw and "&" not in raw:
        return raw
    try:
        fragment = lxml_html.fragment_fromstring(raw, create_parent="div")
    except (etree.ParserError, ValueError):
        return raw
    return str(fragment.text_content())


def normalize_title(raw: str) -> str:
    """A title as written into the header: entities decoded, tags and control characters
    removed, whitespace collapsed. A ``<`` that could open a tag becomes ``&lt;`` so
    that the layout's ``{{ page.title }}`` never renders markup."""
    text = markup_to_text(raw or "")
    text = collapse_whitespace(_strip_controls(text))
    return _TAG_START_RE.sub("&lt;", text)


def yaml_quote(text: str) -> str:
    """*text* as a YAML double-quoted scalar that every YAML parser reads back exactly."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return (
            f"\\x{code:02x}" if code <= 0xFF else (f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        )

    return f'"{_YAML_UNPRINTABLE_RE.sub(escape, out)}"'


def normalize_outlet(raw: str) -> str:
    """An outlet name safe for the unquoted ``tags:`` line and a Jekyll tag: letters and
    digits of any script (and the middle dot), nothing else; entities and tags removed."""
    text = markup_to_text(raw or "")
    text = unicodedata.normalize("NFKC", text)
    if text.isalnum():  # the usual name: nothing to drop
        return text
    kept = "".join(ch for ch in text if ch.isalnum() or ch in _OUTLET_KEEP)
    return kept.strip("".join(_OUTLET_KEEP))


class Slugger:
    """Outlet name -> category slug: tone-less pinyin, lower case, ``[a-z0-9]`` only."""

    def __init__(self) -> None:
        from xpinyin import Pinyin  # loads its dictionary: only when a slugger is built

        self._pinyin = Pinyin()

    def slug(self, outlet: str) -> str:
        text = self._pinyin.get_pinyin(unicodedata.normalize("NFKC", outlet), "")
        text = unicodedata.normalize("NFKD", text.lower())
        return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def is_safe_slug(slug: str) -> bool:
    return bool(_SLUG_RE.match(slug)) and len(slug) <= 100


def safe_source_url(url: str) -> str | None:
    """*url* if it is an http(s) or protocol-relative URL that cannot break out of a
    Markdown autolink ``<...>``, else None."""
    url = (url or "").strip()
    if url.startswith(("http://", "https://", "//")):
        return url if _URL_RE.match(url) else None
    return None


@dataclass(frozen=True)
class PostTarget:
    """Where a post goes and what it links to: everything derived from the id and kind."""

    post_id: str
    filename: str
    category: str
    tag: str
    back_label: str
    back_href: str
    category_page: str | None  # relative path of the category page, None for emnews


def post_id(code: str, kind: str) -> str:
    """``NW`` + code for outlet posts, the bare 18-digit code for rolling news."""
    if not is_code(code):
        raise ValueError(f"not an article code: {code!r}")
    return code if kind == KIND_EMNEWS else info_code(code)


def post_filename(date: datetime, code: str, kind: str) -> str:
    """``YYYY-MM-DD-<id>.md`` (Beijing date); only ``[0-9A-Za-z-]`` and ``.md``."""
    name = f"{date.astimezone(BEIJING):%Y-%m-%d}-{post_id(code, kind)}.md"
    if not _SAFE_FILE_RE.match(name):
        raise ValueError(f"unsafe post file name: {name!r}")
    return name


def target_for(*, code: str, kind: str, date: datetime, outlet: str, slug: str, site: str) -> PostTarget:
    site = site.rstrip("/")
    if kind == KIND_EMNEWS:
        return PostTarget(
            post_id=post_id(code, kind),
            filename=post_filename(date, code, kind),
            category=KIND_EMNEWS,
            tag=EMNEWS_TAG,
            back_label=EMNEWS_BACK_LABEL,
            back_href=f"{site}/emnews/",
            category_page=None,
        )
    if not is_safe_slug(slug):
        raise ValueError(f"unsafe category slug: {slug!r}")
    if not outlet or normalize_outlet(outlet) != outlet:
        raise ValueError(f"unsafe outlet name: {outlet!r}")
    return PostTarget(
        post_id=post_id(code, kind),
        filename=post_filename(date, code, kind),
        category=slug,
        tag=f"{outlet}{OUTLET_TAG_SUFFIX}",
        back_label=f"返回{outlet}{OUTLET_TAG_SUFFIX}",
        back_href=f"{site}/category/{slug}.html",
        category_page=f"{CATEGORY_DIR}/{slug}.html",
    )


def digest_text(digest: str) -> str:
    """A rolling-news digest as quoted in the post: the text after the last ``】``,
    tags removed, whitespace collapsed, HTML-escaped (it is Markdown, not trusted HTML)."""
    text = markup_to_text(digest or "")
    if "】" in text:
        text = text.rsplit("】", 1)[1]
    text = collapse_whitespace(_strip_controls(text))
    return html.escape(text, quote=False).replace("{", "&#123;")


def render_post(
    *,
    target: PostTarget,
    title: str,
    date: datetime,
    body: str,
    source_url: str,
    site: str,
    digest: str = "",
) -> str:
    """The post file's text, exactly as docs/contract.md "The post format" lays it out, ending in one newline."""
    site = site.rstrip("/")
    header = "\n".join(
        [
            "---",
            "layout: post",
            f"title: {yaml_quote(title)}",
            f"date: {format_post_date(date)}",
            f"categories: {target.category}",
            f"tags: {target.tag}",
            "---",
        ]
    )
    parts = []
    if target.category == KIND_EMNEWS and digest:
        parts.append(f"> {digest}")
    if body.strip():
        parts.append(body.strip())
    parts.append(f"<{source_url}>")
    parts.append(f"[{target.back_label}]({target.back_href}){LINK_SEPARATOR}[{HOME_LABEL}]({site}/)")
    text = header + "\n" + "\n\n".join(parts) + "\n"
    return text.replace("\r\n", "\n").replace("\r", "\n")


def render_category_page(outlet: str, slug: str) -> str:
    """``category/<slug>.html``: the page Jekyll's category layout fills with posts."""
    if not is_safe_slug(slug) or not outlet or normalize_outlet(outlet) != outlet:
        raise ValueError(f"unsafe category page: {outlet!r} -> {slug!r}")
    return f"---\nlayout: category\ntitle: {outlet}{OUTLET_TAG_SUFFIX}\ncategory: {slug}\n---\n"


def share_url(template: str, code: str) -> str:
    return template.format(info_code=info_code(code), code=code)


# --------------------------------------------------------------------------- reading posts back
# Every variant seen in the wild is read: CRLF line ends inside the body, no final newline,
# a blank line before the first ``---``, ``date:`` without ``+0800`` (Beijing time) or
# empty, old footers (back links on separate lines, ``../emnews/``), broken YAML quoting.

_DELIMITER_RE = re.compile(r"^---[ \t]*$")
_SOURCE_LINE_RE = re.compile(r"^<((?:https?:)?//[^\s<>]+)>$", re.IGNORECASE)
_BACK_LINK_RE = re.compile(r"^\[返回[^\]]*\]\([^)]*\)")
_HEADER_LINE_RE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?$")
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"(?:[ \t]*(?:(Z)|([+-])(\d{2}):?(\d{2})))?$",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class ParsedPost:
    """What a post file says."""

    title: str
    #: Aware datetime (Beijing time when the header gives no offset); None when missing or invalid.
    date: datetime | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    #: The part between the header and the source line (for rolling news: without the digest).
    body: str
    #: The URL of the ``<...>`` source line, "" when there is none.
    source_url: str
    #: Rolling news: the text of the ``> ...`` blockquote opening the body, else "".
    digest: str
    #: The header did not parse as YAML and was read line by line.
    header_fallback: bool = False


def format_date(value: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS +0800`` in Beijing time, as post headers write it; "" for None."""
    return "" if value is None else format_post_date(value)


def parse_header_date(value: object) -> datetime | None:
    """An aware datetime from a header ``date`` value (YAML may have made it a datetime or a date).

    Stricter and much faster than :func:`newscrawler.dates.parse_date` (a bootstrap reads
    100,000 headers): only the ``YYYY-MM-DD[ HH:MM[:SS]][ offset]`` forms posts use."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=BEIJING)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=BEIJING)
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz: timezone = UTC
    elif sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if offset >= timedelta(hours=24):
            return None
        if sign == "-":
            offset = -offset
        tz = BEIJING if offset == timedelta(hours=8) else timezone(offset)
    else:
        tz = BEIJING
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz
        )
    except ValueError:
        return None


def _as_names(value: object) -> tuple[str, ...]:
    """Jekyll categories/tags: a list, or a string of space-separated names."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(item).strip() for item in value if item is not None and str(item).strip())
    return tuple(str(value).split())


def _unquote(value: str) -> str:
    """A header value read without YAML: strip matching quotes, undo simple escapes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return re.sub(r'\\(["\\])', r"\1", inner)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


# The fast path: a header of only the lines this project writes (``render_post``), read
# without YAML. It accepts a block only when every line has a shape whose YAML reading is
# certain, and gives the values YAML would give; anything else goes to YAML.
_FAST_KEYS = frozenset(("layout", "title", "date", "categories", "tags", "category", "tag"))
#: The characters ``yaml_quote`` leaves as they are: printable, no line break (NEL, LS, PS),
#: no BOM, no tab, and neither ``"`` nor ``\``.
_DQ_LITERAL = (
    r"\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff"
)
#: A double-quoted scalar with only the escapes ``yaml_quote`` writes.
_DQ_RE = re.compile(
    r'"((?:[' + _DQ_LITERAL + r']++|\\(?:[\\"nrt]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}))*+)"'
)
_DQ_ESCAPE_RE = re.compile(r'\\(?:([\\"nrt])|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))')
_DQ_SIMPLE = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
#: ``date:`` as ``format_post_date`` writes it (YAML reads it as a string: its timestamp
#: pattern has no ``+hhmm`` offset), and without an offset (a YAML timestamp, naive).
_DATE_OFFSET_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0800", re.ASCII)
_DATE_NAIVE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})", re.ASCII)
_YAML_RESOLVER = yaml.resolver.Resolver()


class _Declined(Exception):
    """The fast path cannot read a header line as YAML certainly would."""


def _dq_unescape(match: re.Match[str]) -> str:
    simple, x_code, u_code, big_u_code = match.groups()
    if simple is not None:
        return _DQ_SIMPLE[simple]
    value = int(x_code or u_code or big_u_code, 16)
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        raise _Declined  # YAML refuses the escape
    return chr(value)


@lru_cache(maxsize=4096)
def _is_plain_string(value: str) -> bool:
    """Whether YAML reads the plain scalar *value* as the string *value*: only letters and
    digits of any script (and the middle dots of outlet names), which hold no indicator,
    space, comment or line break, and that YAML's own resolver leaves a string (not
    ``true``, ``null``, ``2022``, ``0x1f``...)."""
    if not all(ch.isalnum() or ch in _OUTLET_KEEP for ch in value):
        return False
    tag = _YAML_RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    return bool(tag == "tag:yaml.org,2002:str")


def _fast_value(key: str, value: str) -> str:
    if value.startswith('"'):
        match = _DQ_RE.fullmatch(value)
        if match is None:
            raise _Declined
        inner = match.group(1)
        return _DQ_ESCAPE_RE.sub(_dq_unescape, inner) if "\\" in inner else inner
    if key == "date":
        if _DATE_OFFSET_RE.fullmatch(value):
            return value
        naive = _DATE_NAIVE_RE.fullmatch(value)
        if naive is None:
            raise _Declined
        year, month, day, hour, minute, second = (int(part) for part in naive.groups())
        try:  # YAML fails on an impossible timestamp: that is the YAML path's case
            datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise _Declined from None
        return value  # parse_header_date reads it as YAML's naive datetime, in Beijing time
    if _is_plain_string(value):
        return value
    raise _Declined


def _read_simple_header(block: str) -> dict[str, object] | None:
    """The front matter as YAML reads it, when every line of *block* is ``key: value`` with a
    key of :data:`_FAST_KEYS` (each once) and a value of a shape whose YAML reading is certain
    (what ``render_post`` writes, and a few more); None for any other block. A date without
    offset stays its text where YAML makes a naive datetime: :func:`parse_header_date` makes
    the same datetime of either."""
    header: dict[str, object] = {}
    try:
        for line in block.split("\n"):
            key, sep, value = line.partition(": ")
            if not sep or key not in _FAST_KEYS or key in header or not value:
                return None
            header[key] = _fast_value(key, value)
    except _Declined:
        return None
    return header


def _read_header(block: str, *, fast: bool = True) -> tuple[dict[str, object], bool]:
    """The front matter as a dict: YAML when it parses to a mapping, else ``key: value`` lines.

    With *fast*, a header of only the shapes this project writes is read without YAML
    (:func:`_read_simple_header`), to the same post."""
    if fast:
        simple = _read_simple_header(block)
        if simple is not None:
            return simple, False
    try:
        data = yaml.load(block, Loader=yaml.CSafeLoader) if yaml.__with_libyaml__ else yaml.safe_load(block)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        # Broken quoting, or a value YAML reads as an impossible timestamp (``date: 2022-02-30 10:00:00``).
        data = None
    if isinstance(data, dict):
        return {str(key): value for key, value in data.items()}, False
    header: dict[str, object] = {}
    for line in block.split("\n"):
        match = _HEADER_LINE_RE.match(line.strip())
        if match:
            header.setdefault(match.group(1), _unquote(match.group(2) or ""))
    return header, True


def parse_post(text: str) -> ParsedPost | None:
    """The front matter and parts of a post, or None when *text* is not a post (no ``---`` header)."""
    return _parse_post(text, fast_header=True)


def _parse_post(text: str, *, fast_header: bool) -> ParsedPost | None:
    """:func:`parse_post`; without *fast_header*, every header is read by YAML (tests compare the two)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or not _DELIMITER_RE.match(lines[start]):
        return None
    end = start + 1
    while end < len(lines) and not _DELIMITER_RE.match(lines[end]):
        end += 1
    if end >= len(lines):
        return None
    header, fallback = _read_header("\n".join(lines[start + 1 : end]), fast=fast_header)
    if not header:
        return None
    rest = lines[end + 1 :]

    source_index = None
    for index in range(len(rest) - 1, -1, -1):
        if _SOURCE_LINE_RE.match(rest[index].strip()):
            source_index = index
            break
    if source_index is not None:
        match = _SOURCE_LINE_RE.match(rest[source_index].strip())
        source_url = match.group(1) if match else ""
        body_lines = rest[:source_index]
    else:
        source_url = ""
        body_lines = list(rest)
        while body_lines and (not body_lines[-1].strip() or _BACK_LINK_RE.match(body_lines[-1].strip())):
            body_lines.pop()

    categories = _as_names(header.get("categories", header.get("category")))
    digest = ""
    if KIND_EMNEWS in categories:
        first = 0
        while first < len(body_lines) and not body_lines[first].strip():
            first += 1
        quote: list[str] = []
        while first < len(body_lines) and body_lines[first].lstrip().startswith(">"):
            quote.append(body_lines[first].lstrip()[1:].strip())
            first += 1
        if quote:
            digest = "\n".join(quote).strip()
            body_lines = body_lines[first:]

    title = header.get("title")
    return ParsedPost(
        title=" ".join(str(title).split()) if title is not None else "",
        date=parse_header_date(header.get("date")),
        categories=categories,
        tags=_as_names(header.get("tags", header.get("tag"))),
        body="\n".join(body_lines).strip("\n"),
        source_url=source_url,
        digest=digest,
        header_fallback=fallback,
    )
