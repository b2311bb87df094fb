"""The Jekyll post format of SPEC §6: render posts and category pages, names and slugs.

Pure functions: no I/O, no Scrapy. Everything untrusted that reaches the YAML header
or a file name passes through a function here that makes it safe.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from lxml import html as lxml_html

from newscrawler.dates import BEIJING, format_post_date
from newscrawler.ids import info_code, is_code

EMNEWS_SLUG = "emnews"
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
    return code if kind == EMNEWS_SLUG else info_code(code)


def post_filename(date: datetime, code: str, kind: str) -> str:
    """``YYYY-MM-DD-<id>.md`` (Beijing date); only ``[0-9A-Za-z-]`` and ``.md``."""
    name = f"{date.astimezone(BEIJING):%Y-%m-%d}-{post_id(code, kind)}.md"
    if not _SAFE_FILE_RE.match(name):
        raise ValueError(f"unsafe post file name: {name!r}")
    return name


def target_for(*, code: str, kind: str, date: datetime, outlet: str, slug: str, site: str) -> PostTarget:
    site = site.rstrip("/")
    if kind == EMNEWS_SLUG:
        return PostTarget(
            post_id=post_id(code, kind),
            filename=post_filename(date, code, kind),
            category=EMNEWS_SLUG,
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
        tag=f"{outlet}新闻",
        back_label=f"返回{outlet}新闻",
        back_href=f"{site}/category/{slug}.html",
        category_page=f"category/{slug}.html",
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
    """The post file's text, exactly as SPEC §6 lays it out, ending in one newline."""
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
    if target.category == EMNEWS_SLUG and digest:
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
    return f"---\nlayout: category\ntitle: {outlet}新闻\ncategory: {slug}\n---\n"


def share_url(template: str, code: str) -> str:
    return template.format(info_code=info_code(code), code=code)


SlugFunction = Callable[[str], str]
