"""Feeds (docs/contract.md "Sources"): the list APIs, told apart by their keys, read into
:class:`FeedEntry` values; the next older page of a pageable feed; one entry per code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from w3lib.url import add_or_replace_parameter

from newscrawler.ids import extract_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET
from newscrawler.sources.eastmoney.common import (
    SourceError,
    decode_json_bytes,
    first_value,
    json_text,
    unwrap_json,
)


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
    #: The feed's title, date and outlet win over a text source's (docs/contract.md "Sources"); False where
    #: the article API's are better (``-a codes``, an archived post refetched through its
    #: share link).
    metadata_wins: bool = True
    #: A fast-news item's own text (its ``summary``): with no text anywhere, the body.
    flash: str = ""


#: Feed shapes that can be followed back to older pages (docs/contract.md "Sources" "Catching up").
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
    """Detects the feed shape by its keys (docs/contract.md "Sources") and reads its entries."""

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
            sorts = [first_value(r, "realSort") for r in records if isinstance(r, Mapping)]
            result.cursor = next((s for s in reversed(sorts) if s), "")
        return result

    def _detect(self, data: Any) -> tuple[str, list[Any], str]:
        if isinstance(data, Mapping):
            if self._is_error(data):
                message = json_text(data.get("message") or data.get("msg"))[:200]
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
        if first_value(record, "np_dst").lower() == self.CAIFUHAO_DST:
            return True
        return self.CAIFUHAO_HOST in first_value(record, "url").lower()

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
        return first_value(record, *self.CODE_KEYS)[:80]

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
        # Fast news has no column page: its source line is the article page (docs/contract.md "The post format").
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
        code = next((c for keys in code_groups if (c := extract_code(first_value(record, *keys)))), None)
        if not code:
            return None
        values: dict[str, Any] = {name: first_value(record, *keys) for name, keys in fields.items()}
        if shape == SHAPE_FASTNEWS:
            values["flash"] = values["digest"] or values["title"]
        return FeedEntry(code=code, kind=kind, shape=shape, **values)


def next_page_url(url: str, result: FeedResult) -> str | None:
    """The URL of the next older page of a pageable feed (docs/contract.md "Sources"), or None: the column
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
