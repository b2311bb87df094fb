"""Parsers for eastmoney sources: feeds (SPEC §3.1), the text API and article pages (§3.2).

No Scrapy imports: every parser takes the URL and the bytes or text of a response.
JSON is read before any markup; selectors are class constants; regular expressions
only ever run on extracted text.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from lxml import etree
from lxml import html as lxml_html
from parsel import Selector
from w3lib.encoding import html_body_declared_encoding, html_to_unicode

from newscrawler.ids import extract_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET


class SourceError(Exception):
    """A response that cannot be read; ``reason`` names the stats counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# --- decoding ---------------------------------------------------------------------------

_JS_WRAPPER_RE = re.compile(r"^\s*(?:var\s+[A-Za-z_$][\w$]*\s*=|[A-Za-z_$][\w$.]*\s*\()\s*", re.ASCII)


def decode_json_bytes(body: bytes, declared: str | None = None) -> tuple[str, bool]:
    """Decode a JSON (or JS-wrapped JSON) body. Returns ``(text, charset_mismatch)``.

    JSON is UTF-8 (RFC 8259); a body that is not valid UTF-8 but is valid GB18030 (a
    GBK feed, whatever its header says) is decoded as such and flagged.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    for encoding in filter(None, [declared, "gb18030"]):
        try:
            return body.decode(encoding), True
        except (UnicodeDecodeError, LookupError):
            continue
    raise SourceError("bad_charset", "body is neither UTF-8 nor GB18030")


def unwrap_json(text: str) -> Any:
    """Parse JSON, unwrapping ``var x = {...};`` and ``callback({...})`` JavaScript."""
    stripped = text.strip()
    if not stripped:
        raise SourceError("empty", "empty body")
    if stripped[0] not in '{["':
        match = _JS_WRAPPER_RE.match(stripped)
        if not match:
            kind = "html" if stripped.startswith("<") else "not_json"
            raise SourceError(kind, f"body starts with {stripped[:40]!r}")
        stripped = stripped[match.end() :].rstrip().rstrip(";").rstrip()
        if stripped.endswith(")") and match.group().rstrip().endswith("("):
            stripped = stripped[:-1]
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise SourceError("invalid_json", str(exc)) from exc


def decode_html(body: bytes, header_encoding: str | None = None) -> str:
    """Decode an HTML page (see :func:`decode_html_checked`)."""
    return decode_html_checked(body, header_encoding)[0]


def decode_html_checked(body: bytes, header_encoding: str | None = None) -> tuple[str, bool]:
    """Decode an HTML page. Returns ``(text, mislabelled)``: mislabelled when the charset
    the page declares (HTTP header or ``<meta>``) is not the one its bytes are in.

    The HTTP header, BOM, then ``<meta>`` charset (w3lib) decide, except that

    * bytes that are valid UTF-8 (with some non-ASCII) are UTF-8 whatever the label says:
      UTF-8 Chinese text labelled GBK decodes as GBK without a single error, into
      mojibake, while GBK text is practically never valid UTF-8;
    * if the label yields replacement characters, the first of the page's own
      ``<meta>`` charset, GB18030 and UTF-8 that decodes cleanly wins (GBK labelled UTF-8).

    A page that declares nothing is decoded the same way and is not mislabelled.
    """
    content_type = f"text/html; charset={header_encoding}" if header_encoding else None
    encoding, text = html_to_unicode(content_type, body)
    declared = bool(header_encoding) or html_body_declared_encoding(body) is not None
    if _codec_name(encoding) != "utf-8" and not body.isascii():
        try:
            return body.decode("utf-8"), declared
        except UnicodeDecodeError:
            pass
    if "\ufffd" not in text:
        return text, False
    _, meta_text = html_to_unicode(None, body)
    if "\ufffd" not in meta_text:
        return meta_text, True
    for fallback in ("gb18030", "utf-8"):
        try:
            return body.decode(fallback), declared
        except UnicodeDecodeError:
            continue
    return text, True


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


# --- helpers on JSON values -------------------------------------------------------------


def _text(value: object) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


def _first(record: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty value among *keys*, compared case-insensitively."""
    lowered = {str(k).lower(): v for k, v in record.items()}
    for key in keys:
        value = _text(lowered.get(key.lower()))
        if value:
            return value
    return ""


# --- feeds ------------------------------------------------------------------------------


@dataclass
class FeedEntry:
    """One article announced by a feed."""

    code: str
    kind: str
    title: str = ""
    date_raw: str = ""
    outlet: str = ""
    digest: str = ""
    url_w: str = ""
    shape: str = ""


@dataclass
class FeedResult:
    shape: str
    entries: list[FeedEntry] = field(default_factory=list)
    #: Items of the feed that carried no usable article code.
    invalid: int = 0
    #: What those items gave as their code (for the log; untrusted, print with ``repr``).
    invalid_codes: list[str] = field(default_factory=list)
    charset_mismatch: bool = False


class FeedParser:
    """Detects the feed shape by its keys (SPEC §3.1) and reads its entries."""

    #: shape -> (path to the list, kind of post)
    SHAPES: tuple[tuple[str, tuple[str, ...], str], ...] = (
        ("media", ("record",), KIND_OUTLET),
        ("rolling", ("records",), KIND_EMNEWS),
        ("listapi", ("data", "list"), KIND_OUTLET),
        ("live", ("LivesList",), KIND_EMNEWS),
    )

    def parse(self, body: bytes, url: str = "", declared_encoding: str | None = None) -> FeedResult:
        text, mismatch = decode_json_bytes(body, declared_encoding)
        data = unwrap_json(text)
        shape, records, kind = self._detect(data)
        result = FeedResult(shape=shape, charset_mismatch=mismatch)
        for record in records:
            entry = self._entry(record, shape, kind) if isinstance(record, Mapping) else None
            if entry is None:
                result.invalid += 1
                result.invalid_codes.append(self._raw_code(record))
            else:
                result.entries.append(entry)
        return result

    def _detect(self, data: Any) -> tuple[str, list[Any], str]:
        if isinstance(data, Mapping):
            for shape, path, kind in self.SHAPES:
                node: Any = data
                for key in path:
                    node = node.get(key) if isinstance(node, Mapping) else None
                if isinstance(node, list):
                    return shape, node, kind
                if node is None and path[0] in data and data.get(path[0]) is None:
                    return shape, [], kind  # a shape with a null list: an empty feed
        raise SourceError("unknown_shape", f"no known list key in {type(data).__name__}")

    #: Every key a feed item may carry its code in, for :meth:`_raw_code`.
    CODE_KEYS = ("infoCode", "code", "Art_Code", "id", "newsid", "Art_Url", "url_w", "url_unique")

    def _raw_code(self, record: object) -> str:
        if not isinstance(record, Mapping):
            return f"<{type(record).__name__}>"
        return _first(record, *self.CODE_KEYS)[:80]

    #: shape -> (where the code is: key groups tried in order until one holds a valid code,
    #: where each other field is: keys whose first non-empty value counts).
    FIELDS: ClassVar[Mapping[str, tuple[tuple[tuple[str, ...], ...], Mapping[str, tuple[str, ...]]]]] = {
        "media": (
            (("infoCode", "code"),),
            {
                "title": ("title", "simtitle"),
                "date_raw": ("datetime", "showtime", "showTime"),
                "outlet": ("medianame", "mediaName", "source"),
            },
        ),
        "listapi": (
            (("Art_Code",), ("Art_Url",)),
            {
                "title": ("Art_Title",),
                "date_raw": ("Art_ShowTime", "Art_CreateTime"),
                "outlet": ("Art_MediaName",),
            },
        ),
        # rolling and live news
        "news": (
            (("id", "newsid"), ("infoCode",), ("url_w", "url_unique", "url_m")),
            {
                "title": ("title", "simtitle"),
                "date_raw": ("showtime", "showTime", "datetime"),
                "digest": ("digest", "simdigest"),
                "url_w": ("url_w", "url_unique", "url_m"),
            },
        ),
    }

    def _entry(self, record: Mapping[str, Any], shape: str, kind: str) -> FeedEntry | None:
        code_groups, fields = self.FIELDS.get(shape, self.FIELDS["news"])
        code = next((c for keys in code_groups if (c := extract_code(_first(record, *keys)))), None)
        if not code:
            return None
        values = {name: _first(record, *keys) for name, keys in fields.items()}
        return FeedEntry(code=code, kind=kind, shape=shape, **values)


# --- article text: the text API -----------------------------------------------------------


@dataclass
class ArticleText:
    """What the text API or an article page says about one article."""

    body: str = ""
    title: str = ""
    date_raw: str = ""
    outlet: str = ""
    summary: str = ""
    #: The answer was not UTF-8 (JSON must be) and was read as GB18030.
    charset_mismatch: bool = False


class TextApiParser:
    """``EASTMONEY_TEXT_URL`` answers: JSON with ``text`` and/or ``content`` at top level
    or under ``data``. ``text`` (stock links stripped) is preferred, else ``content``."""

    BODY_KEYS = ("text", "content")
    TITLE_KEYS = ("title", "Art_Title", "simtitle")
    DATE_KEYS = ("showTime", "showtime", "datetime", "Art_ShowTime", "publishTime", "time")
    OUTLET_KEYS = ("mediaName", "medianame", "source", "Art_MediaName", "media")

    def parse(self, body: bytes, url: str = "", declared_encoding: str | None = None) -> ArticleText:
        text, mismatch = decode_json_bytes(body, declared_encoding)
        data = unwrap_json(text)
        if isinstance(data, str) and data.lstrip()[:1] in ("{", "["):
            data = unwrap_json(data)  # a JSON document sent as a JSON string
        records: list[Mapping[str, Any]] = []
        if isinstance(data, Mapping):
            records.append(data)
            inner = data.get("data") or data.get("Data") or data.get("result")
            if isinstance(inner, list) and inner and isinstance(inner[0], Mapping):
                inner = inner[0]
            if isinstance(inner, Mapping):
                records.insert(0, inner)
        if not records:
            raise SourceError("unknown_shape", f"text API answered a {type(data).__name__}")
        result = ArticleText(charset_mismatch=mismatch)
        for record in records:
            result.body = result.body or _first(record, *self.BODY_KEYS)
            result.title = result.title or _first(record, *self.TITLE_KEYS)
            result.date_raw = result.date_raw or _first(record, *self.DATE_KEYS)
            result.outlet = result.outlet or _first(record, *self.OUTLET_KEYS)
        return result


# --- article text: the article page -------------------------------------------------------

_SOURCE_RE = re.compile(r"来源\s*[:：]\s*(\S+?)(?=\s|$|作者|编辑|责任编辑|[|｜])")
_PAGE_DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*\d{1,2}:\d{2}(?::\d{2})?|\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}(?::\d{2})?"
)


class ArticlePageParser:
    """``EASTMONEY_ARTICLE_URL`` pages, current layout first, then the older one."""

    #: Most specific first: pages carry other ``.title`` blocks (sidebars, related news).
    TITLE = (
        ".newsContent h1 ::text",
        ".detail-title h1 ::text",
        ".contentbox div.title ::text",
        ".mainleft div.title ::text",
        "div.title ::text",
        "h1 ::text",
    )
    DOCUMENT_TITLE = "head title::text"
    #: Suffixes eastmoney appends to ``<title>``: ``标题_东方财富网``, ``标题_财经频道_东方财富网``.
    DOCUMENT_TITLE_SUFFIX = "_"
    INFO_TEXT = (".infos .item", ".Info .time", ".time", ".source", ".infos", ".Info")
    BODY = ("div#ContentBody",)
    BODY_END_ID = "comBodyEnd"
    SUMMARY = (".b-review::text", "div.abstract .txt::text")
    META_TITLE = "meta[property='og:title']::attr(content)"

    def parse(self, url: str, page: str) -> ArticleText:
        if not page.strip():
            raise SourceError("empty", "empty page")
        sel = Selector(text=page, type="html")  # never "json": a JSON answer is no page
        result = ArticleText()
        for css in self.TITLE:
            title = " ".join(t.strip() for t in sel.css(css).getall() if t.strip())
            if title:
                result.title = title
                break
        result.title = result.title or (sel.css(self.META_TITLE).get() or "").strip()
        if not result.title:
            document_title = (sel.css(self.DOCUMENT_TITLE).get() or "").strip()
            result.title = document_title.split(self.DOCUMENT_TITLE_SUFFIX, 1)[0].strip()
        info_texts: list[str] = []
        for css in self.INFO_TEXT:
            info_texts.extend(" ".join(node.css("::text").getall()) for node in sel.css(css))
        for text in info_texts:
            if not result.date_raw:
                match = _PAGE_DATE_RE.search(text)
                result.date_raw = match.group().strip() if match else ""
            if not result.outlet:
                match = _SOURCE_RE.search(" ".join(text.split()))
                result.outlet = match.group(1).strip() if match else ""
        for css in self.SUMMARY:
            summary = " ".join(t.strip() for t in sel.css(css).getall() if t.strip())
            if summary:
                result.summary = summary
                break
        result.body = self._body(page)
        if not result.body:
            # An error page ("页面不存在", served with status 200) has a title but no article.
            raise SourceError("no_article", "no article body (#ContentBody) in the page")
        return result

    def _body(self, page: str) -> str:
        try:
            root = lxml_html.document_fromstring(page)
        except (etree.ParserError, ValueError):
            return ""
        container = root.find(".//*[@id='ContentBody']")
        if container is None:
            return ""
        parts = [container.text or ""]
        for child in container.iterchildren():
            if child.get("id") == self.BODY_END_ID:
                break
            parts.append(etree.tostring(child, encoding="unicode", method="html", with_tail=True))
        return "".join(parts).strip()


def merge_text(*texts: ArticleText | None) -> ArticleText:
    """Field by field, the first non-empty value among *texts*."""
    merged = ArticleText()
    for text in texts:
        if text is None:
            continue
        for name in ("body", "title", "date_raw", "outlet", "summary"):
            if not getattr(merged, name) and getattr(text, name):
                setattr(merged, name, getattr(text, name))
    return merged


def entries_by_code(entries: Iterable[FeedEntry]) -> dict[str, FeedEntry]:
    """One entry per article code, deterministically: an outlet entry beats a rolling-news
    entry (it names the outlet); otherwise the first one (feeds in configured order)
    wins. Missing fields are filled from the others."""
    chosen: dict[str, FeedEntry] = {}
    for entry in entries:
        current = chosen.get(entry.code)
        if current is None:
            chosen[entry.code] = replace(entry)
            continue
        if current.kind != KIND_OUTLET and entry.kind == KIND_OUTLET:
            current, entry = replace(entry), current
            chosen[current.code] = current
        for name in ("title", "date_raw", "outlet", "digest", "url_w"):
            if not getattr(current, name) and getattr(entry, name):
                setattr(current, name, getattr(entry, name))
    return chosen
