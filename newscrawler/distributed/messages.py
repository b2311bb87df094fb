"""The messages a worker sends the writer through Redis, as JSON (pure: no Scrapy, no Redis).

Two kinds: an ``article`` (a validated, cleaned :class:`~newscrawler.items.Article`, and the
category slug the worker's site gave its outlet, if any) and a ``refusal`` (an article the
worker fetched and refused for a lasting reason, for the writer to remember).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newscrawler.dates import BEIJING
from newscrawler.ids import is_code
from newscrawler.items import Article

#: Bumped when a field changes meaning: a writer refuses messages of another version.
MESSAGE_VERSION = 1

#: The Article fields a message carries (the fingerprint is the writer's to compute).
_FIELDS = tuple(f.name for f in dataclasses.fields(Article) if f.name != "fingerprint")


class BadMessage(ValueError):
    """A message the writer cannot read (set aside, never half-used)."""


@dataclass(frozen=True)
class ArticleMessage:
    article: Article
    #: The outlet's slug on the crawled site (finews), "" when the worker knew none.
    slug_hint: str = ""


@dataclass(frozen=True)
class RefusalMessage:
    code: str
    #: ``dropped/<reason>``, as the store keeps it.
    reason: str


Message = ArticleMessage | RefusalMessage


def encode_article(article: Article, slug_hint: str = "") -> bytes:
    fields: dict[str, Any] = {name: getattr(article, name) for name in _FIELDS}
    date = fields["date"]
    fields["date"] = date.isoformat() if isinstance(date, datetime) else None
    body = {"v": MESSAGE_VERSION, "type": "article", "article": fields, "slug_hint": slug_hint}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_refusal(code: str, reason: str) -> bytes:
    body = {"v": MESSAGE_VERSION, "type": "refusal", "code": code, "reason": reason}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> Message:
    """The message in *data*; raises :class:`BadMessage` saying what is wrong."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(f"not JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("v") != MESSAGE_VERSION:
        raise BadMessage(f"not a version {MESSAGE_VERSION} message")
    kind = body.get("type")
    if kind == "refusal":
        code, reason = body.get("code"), body.get("reason")
        if not isinstance(code, str) or not is_code(code) or not isinstance(reason, str) or not reason:
            raise BadMessage("refusal without a valid code and reason")
        return RefusalMessage(code, reason)
    if kind != "article" or not isinstance(body.get("article"), dict):
        raise BadMessage(f"unknown message type {kind!r}")
    return ArticleMessage(_article(body["article"]), str(body.get("slug_hint") or ""))


def _article(fields: dict[str, Any]) -> Article:
    values: dict[str, Any] = {}
    defaults = Article()
    for name in _FIELDS:
        if name not in fields:
            raise BadMessage(f"article without {name!r}")
        value = fields[name]
        expected = type(getattr(defaults, name))
        if name == "date":
            value = _date(value)
        elif name == "sources":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadMessage("article sources is not a list of strings")
        elif not isinstance(value, expected):
            raise BadMessage(f"article {name!r} is not {expected.__name__}")
        values[name] = value
    if not is_code(values["code"]):
        raise BadMessage(f"article code {values['code']!r} is not an article code")
    return Article(**values)


def _date(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadMessage("article date is not a string")
    try:
        date = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadMessage(f"article date {value!r}: {exc}") from exc
    if date.tzinfo is None:
        raise BadMessage(f"article date {value!r} has no time zone")
    return date.replace(tzinfo=BEIJING) if date.utcoffset() == BEIJING.utcoffset(None) else date
