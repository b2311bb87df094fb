"""What every eastmoney parser shares: the error they raise, decoding (JSON, JavaScript-wrapped
JSON, HTML in any charset), reading JSON values, and what a text source says (:class:`ArticleText`)."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from w3lib.encoding import html_body_declared_encoding, html_to_unicode


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


def json_text(value: object) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


def first_value(record: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty value among *keys*, compared case-insensitively."""
    lowered = {str(k).lower(): v for k, v in record.items()}
    for key in keys:
        value = json_text(lowered.get(key.lower()))
        if value:
            return value
    return ""


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
    #: The body cleaned (set by the spider that asked, which cleans it to tell ``blank``).
    cleaned: str = ""


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
