"""The CDXJ index of the WARC files, as pywb reads it: one line per response record, a
SURT key, a 14-digit timestamp and the JSON fields that locate the record (file, offset,
length). Built line by line as records are written, or rebuilt by reading a WARC file back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from newscrawler.warc.records import Headers

__all__ = ["INDEX_NAME", "cdxj_line", "index_file", "mime_type", "surt_key"]

INDEX_NAME = "index.cdxj"


def surt_key(url: str) -> str:
    """A SURT-style sort key: ``com,eastmoney,finance)/a/2022.html``.

    Scheme and ``www.`` dropped, host labels reversed (IP addresses kept), a non-default
    port kept, path and query lower-cased, query parameters sorted.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    is_ip = re.fullmatch(r"[0-9.]+", host) or ":" in host
    key = host if is_ip else ",".join(reversed(host.split(".")))
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        key += f":{port}"
    key += ")" + (parts.path or "/").lower()
    if parts.query:
        key += "?" + "&".join(sorted(parts.query.lower().split("&")))
    return key.replace(" ", "%20")


def _timestamp14(warc_date: str) -> str:
    return iso_date_to_datetime(warc_date).strftime("%Y%m%d%H%M%S")


def mime_type(headers: Headers) -> str:
    """The index's ``mime``: the ``Content-Type`` without parameters, ``unk`` if none."""
    for name, value in headers:
        if name.lower() == b"content-type":
            mime = value.split(b";", 1)[0].strip().lower().decode("latin-1")
            return mime or "unk"
    return "unk"


def cdxj_line(
    *,
    url: str,
    warc_date: str,
    status: int,
    mime: str,
    digest: str,
    filename: str,
    offset: int,
    length: int,
    method: str = "GET",
) -> str:
    """One CDXJ index line (no newline) for a response record."""
    fields: dict[str, str] = {"url": url, "mime": mime, "status": str(status)}
    if digest:
        fields["digest"] = digest.partition(":")[2] or digest
    if method != "GET":
        fields["method"] = method
    fields.update({"length": str(length), "offset": str(offset), "filename": filename})
    return f"{surt_key(url)} {_timestamp14(warc_date)} {json.dumps(fields, ensure_ascii=False)}"


def index_file(path: Path) -> Iterator[tuple[int, str]]:
    """(offset, CDXJ line) for each response record of a WARC file."""
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type != "response" or record.http_headers is None:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            status = int(record.http_headers.get_statuscode() or 0)
            content_type = record.http_headers.get_header("Content-Type") or ""
            offset = iterator.get_record_offset()
            yield (
                offset,
                cdxj_line(
                    url=url,
                    warc_date=record.rec_headers.get_header("WARC-Date") or "",
                    status=status,
                    mime=mime_type([(b"Content-Type", content_type.encode("latin-1", "replace"))]),
                    digest=record.rec_headers.get_header("WARC-Payload-Digest") or "",
                    filename=path.name,
                    offset=offset,
                    length=iterator.get_record_length(),
                ),
            )
