"""The legacy text API (``EASTMONEY_TEXT_URL``, off by default): ``text`` and/or ``content``
at top level or under ``data``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from newscrawler.sources.eastmoney.common import (
    ArticleText,
    SourceError,
    decode_json_bytes,
    first_value,
    unwrap_json,
)


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
            result.body = result.body or first_value(record, *self.BODY_KEYS)
            result.title = result.title or first_value(record, *self.TITLE_KEYS)
            result.date_raw = result.date_raw or first_value(record, *self.DATE_KEYS)
            result.outlet = result.outlet or first_value(record, *self.OUTLET_KEYS)
        return result
