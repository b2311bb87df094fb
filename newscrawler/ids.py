"""Article codes: find the 18-digit code in any form a source gives it (docs/contract.md "Article codes").

Forms: ``NW202203282325203083`` (infoCode), ``202203282325203083`` (code or
rolling-news id), share URLs (``NewsShare.html?infoCode=NW...``), article URLs
(``/a/<code>.html``) and column URLs (``/news/1350,<code>.html``).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qsl, urlsplit

#: An article's own page on eastmoney (docs/contract.md "Article codes"): the default of ``EASTMONEY_ARTICLE_URL``, and
#: the source line of a fast-news post when that setting is empty.
CANONICAL_ARTICLE_URL = "http://finance.eastmoney.com/a/{code}.html"

# ASCII digits only: unicode digits (``٠١٢``) never make a code.
_CODE_RE = re.compile(r"(?<![0-9])([0-9]{18})(?![0-9])", re.ASCII)
_INFO_CODE_RE = re.compile(r"^NW([0-9]{18})$", re.ASCII | re.IGNORECASE)
_ITEM_START_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|//|NW[0-9]|[0-9]{18}$)", re.IGNORECASE | re.ASCII)


def is_code(value: str) -> bool:
    """True for a well-formed 18-digit article code with a real date prefix."""
    if len(value) != 18 or not value.isascii() or not value.isdigit():
        return False
    try:
        day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return 1990 <= day.year <= 2100


def info_code(code: str) -> str:
    """The infoCode (``NW`` + code) of an article code."""
    return f"NW{code}"


def extract_code(value: object) -> str | None:
    """The article code in *value* (any docs/contract.md "Article codes" form), or None.

    A URL yields the code of its ``infoCode`` query parameter when it has one,
    else the last 18-digit run of its path.
    """
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or "\x00" in text:
        return None
    match = _INFO_CODE_RE.match(text)
    if match:
        return match.group(1) if is_code(match.group(1)) else None
    if is_code(text):
        return text
    if "/" in text or "?" in text:
        parts = urlsplit(text if "://" in text or text.startswith("//") else "//" + text)
        for key, val in parse_qsl(parts.query):
            if key.lower() in ("infocode", "code", "id", "newsid", "art_code"):
                code = extract_code(val)
                if code:
                    return code
        candidates = [c for c in _CODE_RE.findall(parts.path) if is_code(c)]
        return candidates[-1] if candidates else None
    return None


def split_list_arg(value: str) -> list[str]:
    """Split a ``-a`` list argument on commas and whitespace (docs/contract.md "Spiders and their arguments").

    A column URL's own comma (``/news/1350,2022...html``) stays in the URL: after a
    URL, a comma starts a new entry only when what follows looks like the start of
    one (a URL, an infoCode, or a bare 18-digit code).
    """
    items: list[str] = []
    for chunk in value.split():
        pieces = chunk.split(",")
        current = pieces[0]
        for piece in pieces[1:]:
            in_url = "/" in current
            if not in_url or _ITEM_START_RE.match(piece) or not current:
                if current:
                    items.append(current)
                current = piece
            elif piece:
                current = f"{current},{piece}"
        if current:
            items.append(current)
    return items
