"""Publication dates: every format the sources use, normalized to Beijing time (+0800)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

#: Beijing time. China has no daylight saving time, so a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8), "CST")

_CJK_DATE_RE = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
)
_EPOCH_RE = re.compile(r"^\d{10}(?:\d{3})?$")
#: ``20220328170437``, ``202203281704``, ``20220328``: compact stamps some APIs use.
_COMPACT_RE = re.compile(r"^((?:19|20)\d{6})(\d{4}(?:\d{2})?)?$")
#: ``2022-03-28 17:04:37``, the feeds' and the text API's format: ``datetime.fromisoformat``
#: reads it as dateutil's ``isoparse`` does, a few times faster (others take the long way).
_PLAIN_RE = re.compile(r"^(?:19|20)\d\d-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?$", re.ASCII)
_MIN_YEAR = 1990
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def parse_date(raw: object) -> datetime | None:
    """Parse a source's date into an aware datetime in Beijing time, or None.

    Accepts ``2022-03-28 17:04:37`` (Beijing time, as the feeds give it),
    ``2022年03月28日 17:04`` (article pages), ISO 8601 with or without an offset,
    and Unix timestamps in seconds or milliseconds. Naive values are Beijing time.
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        try:
            raw = str(int(raw))
        except (ValueError, OverflowError):  # NaN, infinity
            return None
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.split())
    if not text or len(text) > 64:
        return None
    parsed = _parse_plain(text) if _PLAIN_RE.match(text) else None
    if parsed is None:
        parsed = _parse_text(text)
        if parsed is None:
            return None
    try:
        parsed = parsed.replace(tzinfo=BEIJING) if parsed.tzinfo is None else parsed.astimezone(BEIJING)
    except (ValueError, OverflowError):  # an offset of a day or more, a date at the calendar's ends
        return None
    if parsed.year < _MIN_YEAR:
        return None
    return parsed.replace(microsecond=0)


def _parse_plain(text: str) -> datetime | None:
    """``2022-03-28 17:04:37`` (``_PLAIN_RE``), naive; None when it is no date (the long way
    then refuses it too)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # 2022-02-30
        return None


def _parse_text(text: str) -> datetime | None:
    """Every other format :func:`parse_date` reads, naive or aware; None when it is none of them."""
    compact = _COMPACT_RE.match(text)
    if compact:
        stamp = compact.group(1) + (compact.group(2) or "")
        try:
            parsed = datetime.strptime(stamp, {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}[len(stamp)])
        except ValueError:
            return None
    elif _EPOCH_RE.match(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        parsed = datetime.fromtimestamp(seconds, BEIJING)
    else:
        match = _CJK_DATE_RE.search(text)
        if match:
            year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
            try:
                parsed = datetime(year, month, day, hour, minute, second)
            except ValueError:
                return None
        elif not _YEAR_RE.search(text):
            return None  # dateutil would fill a missing year/month from today
        else:
            try:
                parsed = dateutil_parser.isoparse(text)
            except ValueError:
                try:
                    parsed = dateutil_parser.parse(text, yearfirst=True, dayfirst=False)
                except (ValueError, OverflowError):
                    return None
    return parsed


def format_post_date(value: datetime) -> str:
    """``2022-03-28 17:04:37 +0800``, the post header's date."""
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +0800")
