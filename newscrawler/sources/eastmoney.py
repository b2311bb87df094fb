"""Parsers for eastmoney sources: feeds (SPEC §3.1), the text API, the article API and
article pages (§3.2).

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
from urllib.parse import parse_qsl, urlsplit

from lxml import etree
from lxml import html as lxml_html
from parsel import Selector
from w3lib.encoding import html_body_declared_encoding, html_to_unicode
from w3lib.url import add_or_replace_parameter

from newscrawler.ids import extract_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET


class SourceError(Exception):
    """A response that cannot be read; ``reason`` names the stats counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# --- decoding ---------------------------------------------------------------------------

#: ``var x = {...};`` and JSONP ``name({...})`` (some servers prefix ``/**/`` to JSONP).
_JS_WRAPPER_RE = re.compile(
    r"^\s*(?:/\*\*/\s*)?(?:var\s+[A-Za-z_$][\w$]*\s*=|[A-Za-z_$][\w$.]*\s*\()\s*", re.ASCII
)


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
    #: The feed's title, date and outlet win over a text source's (SPEC §3.2); False where
    #: the article API's are better (``-a codes``, an archived post refetched through its
    #: share link).
    metadata_wins: bool = True
    #: A fast-news item's own text (its ``summary``): with no text anywhere, the body.
    flash: str = ""


#: Feed shapes that can be followed back to older pages (SPEC §3.1 "Catching up").
SHAPE_COLUMNS = "columns"
SHAPE_FASTNEWS = "fastnews"
PAGEABLE_SHAPES = frozenset({SHAPE_COLUMNS, SHAPE_FASTNEWS})


@dataclass
class FeedResult:
    shape: str
    entries: list[FeedEntry] = field(default_factory=list)
    #: Items of the list, valid or not (0: an empty page, which ends the paging).
    items: int = 0
    #: Caifuhao (user) posts of a column list: skipped, never fetched.
    caifuhao: int = 0
    #: Fast news: the ``realSort`` of the page's last item, the ``sortEnd`` of the next page.
    cursor: str = ""
    #: Items of the feed that carried no usable article code.
    invalid: int = 0
    #: What those items gave as their code (for the log; untrusted, print with ``repr``).
    invalid_codes: list[str] = field(default_factory=list)
    charset_mismatch: bool = False


class FeedParser:
    """Detects the feed shape by its keys (SPEC §3.1) and reads its entries."""

    #: shape -> (path to the list, kind of post). ``data.list`` is shared by the column
    #: list and the 2022 list API: :meth:`_detect` tells them apart by their item fields.
    SHAPES: tuple[tuple[str, tuple[str, ...], str], ...] = (
        ("media", ("record",), KIND_OUTLET),
        ("rolling", ("records",), KIND_EMNEWS),
        (SHAPE_FASTNEWS, ("data", "fastNewsList"), KIND_EMNEWS),
        ("listapi", ("data", "list"), KIND_OUTLET),
        ("live", ("LivesList",), KIND_EMNEWS),
    )
    #: Item keys of the 2022 list API; a ``data.list`` without them is today's column list.
    LISTAPI_KEYS = frozenset({"art_code", "art_title", "art_url", "art_showtime"})
    #: ``np_dst`` of caifuhao (user) posts in a column list, and their host.
    CAIFUHAO_DST = "cfh"
    CAIFUHAO_HOST = "caifuhao.eastmoney.com"
    #: Today's endpoints answer errors inside HTTP 200: ``{"code": 0, "message": "..."}``.
    OK_CODES = frozenset({"1", "0000", "200"})

    def parse(self, body: bytes, url: str = "", declared_encoding: str | None = None) -> FeedResult:
        text, mismatch = decode_json_bytes(body, declared_encoding)
        data = unwrap_json(text)
        shape, records, kind = self._detect(data)
        result = FeedResult(shape=shape, charset_mismatch=mismatch, items=len(records))
        for record in records:
            if shape == SHAPE_COLUMNS and isinstance(record, Mapping) and self._is_caifuhao(record):
                result.caifuhao += 1
                continue
            entry = self._entry(record, shape, kind) if isinstance(record, Mapping) else None
            if entry is None:
                result.invalid += 1
                result.invalid_codes.append(self._raw_code(record))
            else:
                result.entries.append(entry)
        if shape == SHAPE_FASTNEWS:
            sorts = [_first(r, "realSort") for r in records if isinstance(r, Mapping)]
            result.cursor = next((s for s in reversed(sorts) if s), "")
        return result

    def _detect(self, data: Any) -> tuple[str, list[Any], str]:
        if isinstance(data, Mapping):
            if self._is_error(data):
                message = _text(data.get("message") or data.get("msg"))[:200]
                raise SourceError("api_error", f"code {data.get('code')!r}, message {message!r}")
            for shape, path, kind in self.SHAPES:
                parent: Any = data
                for key in path[:-1]:
                    parent = parent.get(key) if isinstance(parent, Mapping) else None
                if isinstance(parent, Mapping) and path[-1] in parent:
                    node = parent[path[-1]]
                    if node is None:
                        node = []  # a shape with a null list: an empty feed
                    if isinstance(node, list):
                        if shape == "listapi" and not self._is_listapi(data, node):
                            return SHAPE_COLUMNS, node, KIND_OUTLET
                        return shape, node, kind
            for shape, path, kind in self.SHAPES:
                if path[0] in data and data.get(path[0]) is None:
                    return shape, [], kind  # ``data: null``: an empty feed of any shape
        raise SourceError("unknown_shape", f"no known list key in {type(data).__name__}")

    def _is_listapi(self, data: Mapping[str, Any], records: list[Any]) -> bool:
        """True when the items are the 2022 list API's (``Art_Code`` ...). An empty list is
        today's column list in today's envelope (``code``, ``req_trace``), else the 2022 shape."""
        mappings = [r for r in records if isinstance(r, Mapping)]
        if not mappings:
            return not ("code" in data or "req_trace" in data)
        return any(str(k).lower() in self.LISTAPI_KEYS for r in mappings for k in r)

    def _is_error(self, data: Mapping[str, Any]) -> bool:
        """Today's error envelope: a ``code`` that is not a success code (with or without a
        message, whatever else the answer holds)."""
        if "code" not in data:
            return False
        code = data.get("code")
        if isinstance(code, bool) or not isinstance(code, (str, int)):
            return False
        return str(code).strip() not in self.OK_CODES

    def _is_caifuhao(self, record: Mapping[str, Any]) -> bool:
        if _first(record, "np_dst").lower() == self.CAIFUHAO_DST:
            return True
        return self.CAIFUHAO_HOST in _first(record, "url").lower()

    #: Every key a feed item may carry its code in, for :meth:`_raw_code`.
    CODE_KEYS = (
        "infoCode",
        "code",
        "Art_Code",
        "id",
        "newsid",
        "Art_Url",
        "url_w",
        "url_unique",
        "uniqueUrl",
    )

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
        SHAPE_COLUMNS: (
            (("code",), ("uniqueUrl",), ("url",)),
            {
                "title": ("title",),
                "date_raw": ("showTime",),
                "outlet": ("mediaName",),
            },
        ),
        # Fast news has no column page: its source line is the article page (SPEC §6).
        SHAPE_FASTNEWS: (
            (("code",), ("newsid", "id")),
            {
                "title": ("title",),
                "date_raw": ("showTime",),
                "digest": ("summary", "digest"),
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
        values: dict[str, Any] = {name: _first(record, *keys) for name, keys in fields.items()}
        if shape == SHAPE_FASTNEWS:
            values["flash"] = values["digest"] or values["title"]
        return FeedEntry(code=code, kind=kind, shape=shape, **values)


def next_page_url(url: str, result: FeedResult) -> str | None:
    """The URL of the next older page of a pageable feed (SPEC §3.1), or None: the column
    list's ``page_index`` + 1, fast news' ``sortEnd`` set to the page's last ``realSort``."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if result.shape == SHAPE_COLUMNS:
        raw = query.get("page_index", "1").strip() or "1"
        if not raw.isascii() or not raw.isdigit():
            return None
        return add_or_replace_parameter(url, "page_index", str(int(raw) + 1))
    if result.shape == SHAPE_FASTNEWS:
        if not result.cursor or result.cursor == query.get("sortEnd", ""):
            return None  # no cursor, or one that does not move: the end
        return add_or_replace_parameter(url, "sortEnd", result.cursor)
    return None


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
    #: The name of the text source that said it (set by the spider that asked).
    source: str = ""
    #: The article's own page, when the source names it (``Art_UniqueUrl``).
    url: str = ""
    #: The body holds markup but no text once cleaned (hidden spacers, chart widgets ...).
    blank: bool = False


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


# --- article text: the article API -------------------------------------------------------


class ArticleApiParser:
    """``EASTMONEY_ARTICLE_API_URL`` answers (today's article JSON API, SPEC §3.2):
    ``{"data": {"Art_Title", "Art_Content", "Art_ShowTime", "Art_Media_Name", ...},
    "errorcode": 0, "success": 1}``. A ``success`` other than 1, a non-zero ``errorcode``,
    a null ``data`` or an empty ``Art_Content`` is an answer with no text (not an error)."""

    DATA_KEY = "data"
    BODY_KEYS = ("Art_Content",)
    TITLE_KEYS = ("Art_Title", "Art_OriginalTitle")
    DATE_KEYS = ("Art_ShowTime", "Art_CreateTime")
    OUTLET_KEYS = ("Art_Media_Name", "Art_MediaName")
    SUMMARY_KEYS = ("Art_Digest",)
    URL_KEYS = ("Art_UniqueUrl", "Art_Url")
    ENVELOPE_KEYS = frozenset({"data", "success", "errorcode"})

    def parse(self, body: bytes, url: str = "", declared_encoding: str | None = None) -> ArticleText:
        text, mismatch = decode_json_bytes(body, declared_encoding)
        data = unwrap_json(text)
        if not isinstance(data, Mapping) or not self.ENVELOPE_KEYS & set(data):
            raise SourceError("unknown_shape", f"article API answered a {type(data).__name__} without data")
        result = ArticleText(charset_mismatch=mismatch)
        record = data.get(self.DATA_KEY)
        if not self._succeeded(data) or not isinstance(record, Mapping):
            return result
        result.body = _first(record, *self.BODY_KEYS)
        result.title = _first(record, *self.TITLE_KEYS)
        result.date_raw = _first(record, *self.DATE_KEYS)
        result.outlet = _first(record, *self.OUTLET_KEYS)
        result.summary = _first(record, *self.SUMMARY_KEYS)
        page = _first(record, *self.URL_KEYS)
        result.url = page if page.startswith(("http://", "https://")) and extract_code(page) else ""
        return result

    @staticmethod
    def _succeeded(data: Mapping[str, Any]) -> bool:
        success, errorcode = data.get("success", 1), data.get("errorcode", 0)
        return str(success).strip().lower() in ("1", "true") and str(errorcode).strip() in ("0", "")


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
        if not result.outlet:
            result.outlet = self._bare_outlet(sel)
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

    #: 2025-2026 layout: ``<div class=" item">2026年08月19日 17:46</div><div class="item">界面新闻</div>``,
    #: the outlet is an item of its own, with no ``来源：``.
    INFO_ITEMS = ".infos .item"
    #: Items that are not the outlet: labelled (作者：, 编辑：...) or counters (12人评论).
    NOT_OUTLET_RE = re.compile(r"[:：]|评论|阅读|点击|收藏|分享|字号|举报|^\d+$")
    MAX_OUTLET_CHARS = 30

    def _bare_outlet(self, sel: Selector) -> str:
        """The first ``.infos`` item after the date item that is a bare name."""
        after_date = False
        for node in sel.css(self.INFO_ITEMS):
            text = " ".join(" ".join(node.css("::text").getall()).split())
            if _PAGE_DATE_RE.search(text):
                after_date = True
                continue
            if (
                after_date
                and text
                and len(text) <= self.MAX_OUTLET_CHARS
                and not self.NOT_OUTLET_RE.search(text)
            ):
                return text
        return ""

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
        for name in ("title", "date_raw", "outlet", "digest", "url_w", "flash"):
            if not getattr(current, name) and getattr(entry, name):
                setattr(current, name, getattr(entry, name))
    return chosen
