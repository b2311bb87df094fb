"""Dates from every source format, written as Beijing time."""

from __future__ import annotations

import random

import pytest

from newscrawler.dates import format_post_date, parse_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022-03-28 17:04:37", "2022-03-28 17:04:37 +0800"),
        ("2022年03月28日 17:04", "2022-03-28 17:04:00 +0800"),
        ("2022年3月8日 07:04:05", "2022-03-08 07:04:05 +0800"),
        ("2022-03-28T17:04:37", "2022-03-28 17:04:37 +0800"),
        ("2022-03-28T09:04:37Z", "2022-03-28 17:04:37 +0800"),
        ("2022-03-28T17:04:37+08:00", "2022-03-28 17:04:37 +0800"),
        ("2022-03-27T21:04:37-08:00", "2022-03-28 13:04:37 +0800"),
        ("2022/03/28 17:04", "2022-03-28 17:04:00 +0800"),
        ("  2022-03-28   17:04:37 ", "2022-03-28 17:04:37 +0800"),
        (1648458277, "2022-03-28 17:04:37 +0800"),
        ("20220328170437", "2022-03-28 17:04:37 +0800"),
        ("202203281704", "2022-03-28 17:04:00 +0800"),
        ("1648458277000", "2022-03-28 17:04:37 +0800"),
    ],
)
def test_formats(raw: object, expected: str) -> None:
    parsed = parse_date(raw)
    assert parsed is not None
    assert format_post_date(parsed) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "garbage",
        "17:04",
        "5",
        "2022-13-40 10:00",
        "0001-01-01",
        "2022年02月30日",
        None,
        True,
        "x" * 200,
    ],
)
def test_unparseable(raw: object) -> None:
    assert parse_date(raw) is None


def test_the_plain_format_read_fast_gives_what_the_long_way_gives() -> None:
    """``2022-03-28 17:04:37`` is read by ``datetime.fromisoformat``; every value it accepts
    (and the ones it refuses, which take the long way) gives what dateutil gives."""
    from newscrawler.dates import _PLAIN_RE, _parse_plain, _parse_text

    rng = random.Random(5)
    texts = ["2022-02-30 10:00:00", "2022-01-01 24:00:00", "2022-13-01 00:00", "2024-02-29T23:59", "1900-01-01 00:00:00"]
    for _ in range(3000):
        texts.append(
            f"{rng.randint(1900, 2099):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
            f"{rng.choice(' T')}{rng.randint(0, 25):02d}:{rng.randint(0, 60):02d}"
            + (f":{rng.randint(0, 61):02d}" if rng.random() < 0.8 else "")
        )
    fast = 0
    for text in texts:
        assert _PLAIN_RE.match(text), text
        plain = _parse_plain(text)
        if plain is not None:
            fast += 1
            assert plain == _parse_text(text), text
        expected = _parse_text(text)
        got = parse_date(text)
        if expected is None:
            assert got is None, text
        else:
            assert got is None or got.replace(tzinfo=None) == expected.replace(microsecond=0), text
    assert fast > 1000  # most of them were read the fast way
    # Other years (which _YEAR_RE refuses) are never read the fast way.
    assert not _PLAIN_RE.match("2100-01-01 00:00:00") and not _PLAIN_RE.match("0999-01-01 00:00:00")
