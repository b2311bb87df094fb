"""Today's article JSON API (``EASTMONEY_ARTICLE_API_URL``): ``Art_*`` fields under ``data``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from newscrawler.ids import extract_code
from newscrawler.sources.eastmoney.common import (
    ArticleText,
    SourceError,
    decode_json_bytes,
    first_value,
    unwrap_json,
)


class ArticleApiParser:
    """``EASTMONEY_ARTICLE_API_URL`` answers (today's article JSON API, docs/contract.md "Sources"):
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
        result.body = first_value(record, *self.BODY_KEYS)
        result.title = first_value(record, *self.TITLE_KEYS)
        result.date_raw = first_value(record, *self.DATE_KEYS)
        result.outlet = first_value(record, *self.OUTLET_KEYS)
        result.summary = first_value(record, *self.SUMMARY_KEYS)
        page = first_value(record, *self.URL_KEYS)
        result.url = page if page.startswith(("http://", "https://")) and extract_code(page) else ""
        return result

    @staticmethod
    def _succeeded(data: Mapping[str, Any]) -> bool:
        success, errorcode = data.get("success", 1), data.get("errorcode", 0)
        return str(success).strip().lower() in ("1", "true") and str(errorcode).strip() in ("0", "")
