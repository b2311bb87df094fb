"""Images of post bodies: find them, name them by content, point the body at the copies. Pure.

The body is :func:`newscrawler.cleaning.body.clean_body` output, whose markup is canonical
(nh3's serializer): attribute values are always double-quoted with ``"`` written
``&quot;``, and a ``<`` in text is always ``&lt;``. So an ``<img ...>`` tag and its
``src="..."`` are found exactly by the patterns below, and rewriting a ``src`` changes
nothing else in the body.

A stored image is named ``<sha1 of its bytes>.<ext>``: the same bytes always get the
same name (an image shared by many posts, or served under many URLs, is stored once),
and the name holds only ``[0-9a-f]``, a dot and an extension from a fixed list. The type
is read from the bytes (magic numbers); when they match no known format, a raster type
claimed by the ``Content-Type`` or the URL is accepted unless the bytes look like text or
markup. SVG is never stored (it can carry scripts).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from posixpath import splitext
from urllib.parse import urljoin, urlsplit

from newscrawler.archive.layout import ASSETS_DIR

__all__ = [
    "ImagePlan",
    "asset_name",
    "image_extension",
    "image_sources",
    "is_dynamic_chart",
    "plan_images",
    "rewrite_image_sources",
    "site_path",
]

#: An ``<img>`` start tag of canonical (nh3-serialized) HTML, and its ``src`` attribute.
_IMG_TAG_RE = re.compile(r"""<img((?:\s+[^\s"'>/=]+(?:="[^"]*")?)*)\s*/?>""", re.IGNORECASE)
_SRC_RE = re.compile(r'(\ssrc=")([^"]*)(")', re.IGNORECASE)

#: Stored extensions: raster formats browsers display (no SVG: it may hold scripts).
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"BM", 0, "bmp"),
    (b"\x00\x00\x01\x00", 0, "ico"),
    (b"II*\x00", 0, "tif"),
    (b"MM\x00*", 0, "tif"),
)
_CONTENT_TYPES = {
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/pjpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/bmp": "bmp",
    "image/x-ms-bmp": "bmp",
    "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico",
    "image/tiff": "tif",
}
_URL_EXTENSIONS = {"jpg": "jpg", "jpeg": "jpg", "jpe": "jpg", "png": "png", "gif": "gif", "webp": "webp"}
_URL_EXTENSIONS |= {"avif": "avif", "bmp": "bmp", "ico": "ico", "tif": "tif", "tiff": "tif"}
EXTENSIONS = frozenset(_URL_EXTENSIONS.values())

#: Dynamic images that are drawn per request (eastmoney stock charts): never stored.
_DYNAMIC_PATHS = ("/getpic.aspx",)


def image_sources(body: str) -> list[str]:
    """The ``src`` of every ``<img>`` of *body*, entity-decoded, in order, without repeats."""
    seen: dict[str, None] = {}
    for tag in _IMG_TAG_RE.finditer(body):
        src = _SRC_RE.search(tag.group(1))
        if src is not None:
            seen.setdefault(html.unescape(src.group(2)), None)
    return list(seen)


def rewrite_image_sources(body: str, mapping: dict[str, str]) -> str:
    """*body* with each ``<img src>`` found in *mapping* (decoded value -> new) replaced."""
    if not mapping:
        return body

    def tag(match: re.Match[str]) -> str:
        def src(inner: re.Match[str]) -> str:
            new = mapping.get(html.unescape(inner.group(2)))
            if new is None:
                return inner.group(0)
            return inner.group(1) + html.escape(new, quote=True) + inner.group(3)

        start, end = match.start(1) - match.start(0), match.end(1) - match.start(0)
        whole = match.group(0)
        return whole[:start] + _SRC_RE.sub(src, match.group(1), count=1) + whole[end:]

    return _IMG_TAG_RE.sub(tag, body)


def is_dynamic_chart(url: str) -> bool:
    """eastmoney's generated charts (``GetPic.aspx`` on any host): not archived."""
    path = urlsplit(url).path.lower()
    return path.endswith(_DYNAMIC_PATHS)


def _looks_like_text(data: bytes) -> bool:
    head = data[:512].lstrip(b" \t\r\n\xef\xbb\xbf").lower()
    return head.startswith((b"<", b"{", b"[")) or b"<svg" in head or b"<html" in head


def image_extension(data: bytes, content_type: str = "", url: str = "") -> str | None:
    """The extension to store *data* under, or None when it is not a raster image."""
    for magic, offset, ext in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    if not data or _looks_like_text(data):
        return None
    claimed = _CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())
    if claimed is None:
        suffix = splitext(urlsplit(url).path)[1].lstrip(".").lower()
        claimed = _URL_EXTENSIONS.get(suffix)
    return claimed


def asset_name(data: bytes, ext: str) -> str:
    """``<sha1 hex of data>.<ext>``."""
    if ext not in EXTENSIONS:
        raise ValueError(f"unsupported image extension {ext!r}")
    return f"{hashlib.sha1(data, usedforsecurity=False).hexdigest()}.{ext}"


def site_path(name: str) -> str:
    """The site-relative path posts use for a stored image."""
    return f"/{ASSETS_DIR}/{name}"


@dataclass
class ImagePlan:
    """What to do with the images of one body."""

    #: (src as written in the body, absolute URL to download), in body order.
    downloads: list[tuple[str, str]] = field(default_factory=list)
    #: srcs left alone: dynamic charts.
    dynamic: list[str] = field(default_factory=list)
    #: srcs left alone: not http(s), or already local.
    other: list[str] = field(default_factory=list)


def plan_images(body: str, base_url: str = "") -> ImagePlan:
    """Split the images of *body* into downloads and the ones left alone."""
    plan = ImagePlan()
    base = base_url if base_url.lower().startswith(("http://", "https://")) else ""
    for src in image_sources(body):
        if src.startswith(f"/{ASSETS_DIR}/") or not (base or src.startswith("//") or "://" in src):
            plan.other.append(src)
            continue
        url = urljoin(base or "http:", src)
        if not url.lower().startswith(("http://", "https://")) or not urlsplit(url).hostname:
            plan.other.append(src)
        elif is_dynamic_chart(url):
            plan.dynamic.append(src)
        else:
            plan.downloads.append((src, url))
    return plan
