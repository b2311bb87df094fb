"""The pre-pass of body cleaning, on the raw markup and its parser tree.

The text is prepared (line ends, characters no document may hold) and parsed with lxml's
HTML parser. The tree is then walked once, by the rebuild, which asks here where a
stock-chart widget ends, which elements are hidden or noise and whether a URL is safe.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urljoin

from lxml import etree

from newscrawler.cleaning import policy

#: Characters no HTML document may carry (C0/C1 controls but tab and newline, DEL,
#: surrogates, BOM, non-characters U+FFFE/U+FFFF).
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
#: The same in UTF-8 (where a lone surrogate cannot be): C0 controls and DEL; C1
#: controls; BOM, U+FFFE, U+FFFF.
_BAD_ASCII = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
#: Each of them to the next one (and nothing else moved): bytes are left as they are by
#: it only when none of them is there (a quicker test than deleting them).
_BAD_ASCII_ROTATED = bytes.maketrans(_BAD_ASCII, _BAD_ASCII[1:] + _BAD_ASCII[:1])
_BAD_C1_RE = re.compile(b"\xc2[\x80-\x9f]")
_BAD_EF_RE = re.compile(b"\xef(?:\xbb\xbf|\xbf[\xbe\xbf])")
#: What a blank body holds, and every byte of its UTF-8.
_BLANK = policy.TRIM + "\r"
_BLANK_BYTES = bytes(sorted(set(_BLANK.encode())))
_AD_HOSTS = policy.AD_HOSTS
_COMMENT = etree.Comment
#: What browsers drop anywhere in a URL, and around it.
_URL_DROP_RE = re.compile("[\t\n\r]")
_URL_STRIP = "".join(chr(c) for c in range(0x21))
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
#: ``//host...``: a protocol-relative URL with a host.
_PROTOCOL_RELATIVE_RE = re.compile(r"//[^/\\?#\s]")
#: The authority (``user@host:port``) of a URL from its ``//`` on.
_AUTHORITY_RE = re.compile(r"/*([^/?#]*)")

# ---------------------------------------------------------------------------- parsing

_local = threading.local()


def _parser() -> etree.HTMLParser:
    parser: etree.HTMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        # UTF-8 is what prepare() gives; no table of ids (nothing looks an element up by id).
        parser = etree.HTMLParser(
            encoding="utf-8",
            remove_comments=False,
            remove_pis=True,
            no_network=True,
            recover=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def prepare(html: str) -> bytes:
    """The markup to parse, in UTF-8, characters no document may hold removed.

    Line ends are read as ``\\n``: by the parser when it does so itself (libxml2 does,
    in text, attribute values and comments alike), else here.
    """
    try:
        data = html.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return _prepare_text(html)
    if (b"\xc2" in data and _BAD_C1_RE.search(data)) or (b"\xef" in data and _BAD_EF_RE.search(data)):
        return _prepare_text(html)
    if data.translate(_BAD_ASCII_ROTATED) == data and (b"\r" not in data or _parser_reads_line_ends()):
        return data  # (the usual body)
    # Line ends first: a control between \r and \n does not join them.
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").translate(None, _BAD_ASCII)


def _prepare_text(html: str) -> bytes:
    text = html.replace("\r\n", "\n").replace("\r", "\n")
    return _BAD_CHARS_RE.sub("", text).encode()


@functools.cache
def _parser_reads_line_ends() -> bool:
    """Whether the parser reads ``\\r\\n`` and ``\\r`` as ``\\n`` everywhere."""
    probe = b"<p title='a\r\nb\rc'>d\r\ne\rf<!--g\r\nh\ri-->j\r"
    root = parse(probe)
    node = None if root is None else root.find("body/p")
    if node is None or len(node) != 1:
        return False
    return (node.get("title"), node.text, node[0].text, node[0].tail) == (
        "a\nb\nc",
        "d\ne\nf",
        "g\nh\ni",
        "j\n",
    )


def is_blank(data: bytes) -> bool:
    """Whether prepared markup holds only whitespace and indents (``TRIM``, ``\\r``)."""
    if data.strip(_BLANK_BYTES):
        return False
    return not data.decode().strip(_BLANK)


def parse(data: bytes) -> etree._Element | None:
    """Parse prepared markup as the content of a ``<body>``; return the ``<html>`` root."""
    # The leading <body> keeps everything (a first comment included) inside the body.
    return etree.HTML(b"<body>" + data, _parser())


def body_parts(root: etree._Element) -> Iterable[etree._Element | str]:
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


# --------------------------------------------------------------------- stock widgets


_WIDGET_MARKERS = {policy.WIDGET_START: "start", policy.WIDGET_END: "end"}


def _marker(node: etree._Element) -> str:
    """``"start"``/``"end"`` for a widget comment, else ``""``."""
    return _WIDGET_MARKERS.get((node.text or "").strip().lower(), "")


def widget_end(comment: etree._Element) -> etree._Element | None:
    """For an ``EM_StockImg_Start`` comment, the sibling ``EM_StockImg_End`` comment that
    closes its stock-chart widget: everything between them (and after the start) is the
    widget. ``None`` when ``comment`` opens no widget (another comment, or a start without
    an end before the next start: the article is kept)."""
    if _marker(comment) != "start":
        return None
    for sibling in comment.itersiblings():
        if sibling.tag is _COMMENT:
            kind = _marker(sibling)
            if kind:
                return sibling if kind == "end" else None
    return None


def is_widget_start(comment: etree._Element) -> bool:
    """Whether ``comment`` is an ``EM_StockImg_Start`` comment."""
    return _marker(comment) == "start"


# ------------------------------------------------------------------ hidden and noise


@functools.lru_cache(maxsize=1024)
def classes_of(value: str | None) -> frozenset[str]:
    """The classes of a ``class`` attribute value, lower case."""
    return frozenset((value or "").lower().split())


NO_CLASSES: frozenset[str] = frozenset()


def is_noise(tag: str, classes: frozenset[str]) -> bool:
    """Whether a class of ``NOISE_CLASSES`` marks this ``tag``."""
    for name in classes & policy.NOISE_CLASS_NAMES:
        tags = policy.NOISE_CLASSES[name]
        if tags is None or tag in tags:
            return True
    return False


def is_hidden(node: etree._Element) -> bool:
    """Whether ``node`` is hidden (the ``hidden`` attribute, or by its ``style``)."""
    if node.get("hidden") is not None:
        return True
    return hiding_style(node.get("style"))


@functools.lru_cache(maxsize=1024)
def hiding_style(style: str | None) -> bool:
    """Whether a ``style`` attribute value hides its element (in any spacing or case)."""
    if not style:
        return False
    css = "".join(strip_css_comments(style.lower()).split())
    return "display:none" in css or "visibility:hidden" in css


def strip_css_comments(css: str) -> str:
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


# ------------------------------------------------------------------------------ URLs


def safe_url(raw: str | None, base_url: str) -> str | None:
    """An http(s) or protocol-relative URL, made absolute; ``None`` when unsafe."""
    if raw is None:
        return None
    url = raw
    if "\t" in url or "\n" in url or "\r" in url:
        url = _URL_DROP_RE.sub("", url)
    url = url.strip(_URL_STRIP)
    if not url:
        return None
    match = _SCHEME_RE.match(url)
    if match is None:
        if url.startswith(("//", "\\/", "/\\", "\\\\")):  # browsers read \ as / here
            return url if _PROTOCOL_RELATIVE_RE.match(url) else None
        if not base_url:
            return None
        # A plain absolute path on a plain http(s) base: what urljoin gives, without it.
        plain = url[0] == "/" and "/." not in url and ";" not in url and "?" not in url and "#" not in url
        origin = _origin(base_url) if plain else None
        url = origin + url if origin is not None else urljoin(base_url, url)
        match = _SCHEME_RE.match(url)
        if match is None:
            return url if _PROTOCOL_RELATIVE_RE.match(url) else None
    scheme = match.group(1).lower()
    if scheme not in policy.URL_SCHEMES:
        return None
    return scheme + url[len(scheme) :]


@functools.lru_cache(maxsize=4096)
def _plain_of_adverts(url: str) -> bool:
    """Whether ``url`` surely names no advert host: nothing a browser would drop or
    decode in it, and no advert host in it (lower case). (The host is then a part of
    the URL as it stands, or, for a relative URL, the base's.)"""
    if "%" in url or "\t" in url or "\n" in url or "\r" in url:
        return False
    lower = url.lower()
    for host in _AD_HOSTS:  # noqa: SIM110 (a loop: no generator to make per URL)
        if host in lower:
            return False
    return True


@functools.lru_cache(maxsize=16)
def _advert_base(base_url: str) -> bool:
    return not _plain_of_adverts(base_url) and url_host(base_url, "") in policy.AD_HOSTS


def advert_url(raw: str, base_url: str) -> bool:
    """Whether ``raw`` leads to an advert host: ``url_host(raw, base_url)`` in ``AD_HOSTS``."""
    if _plain_of_adverts(raw) and not _advert_base(base_url):
        return False
    return url_host(raw, base_url) in _AD_HOSTS


@functools.lru_cache(maxsize=16)
def _origin(base_url: str) -> str | None:
    """``scheme://netloc`` of ``base_url`` as ``urljoin`` reads it, for a plain http(s)
    URL (no spaces, controls, IPv6 or non-ASCII host); else ``None``."""
    if base_url[0] <= " " or "\t" in base_url or "\n" in base_url or "\r" in base_url:
        return None
    scheme, _, rest = base_url.partition(":")
    scheme = scheme.lower()
    if scheme not in policy.URL_SCHEMES or not rest.startswith("//"):
        return None
    end = len(rest)
    for delimiter in "/?#":
        found = rest.find(delimiter, 2)
        if 0 <= found < end:
            end = found
    netloc = rest[2:end]
    if not netloc or not netloc.isascii() or "[" in netloc or "]" in netloc:
        return None
    return scheme + "://" + netloc


def url_host(raw: str | None, base_url: str) -> str:
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
        if not url.startswith("//") and match.group(1).lower() not in policy.SPECIAL_SCHEMES:
            return ""  # mailto:, javascript: ...: no host
    elif not url.startswith("//"):
        return url_host(base_url, "") if url and base_url else ""
    authority = _AUTHORITY_RE.match(url)
    # user@host:port (an IPv6 address gives "[": it is no advert host anyway)
    host = authority.group(1).rpartition("@")[2].partition(":")[0] if authority else ""
    if "%" in host:
        host = unquote(host)
    return host.strip(".").lower()
