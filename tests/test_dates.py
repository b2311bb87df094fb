"""Dates from every source format, written as Beijing time."""

from __future__ import annotations

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
