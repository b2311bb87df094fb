"""Atomic, byte-stable, confined writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newscrawler.archive.fsutil import UnsafePath, atomic_write, confined, sync_filesystem


@pytest.mark.parametrize(
    "relative",
    ["", "/etc/passwd", "../x.md", "_posts/../../x.md", "_posts/./x.md", "_posts//x.md", ".hidden", "_posts/.x.md",
     "a\\..\\b", "_posts/x\x00.md"],
)  # fmt: skip
def test_confined_refuses_escapes(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UnsafePath):
        confined(tmp_path, relative)


def test_confined_joins_safe_names(tmp_path: Path) -> None:
    assert confined(tmp_path, "_posts/2022-03-28-NW202203282325203083.md") == (
        tmp_path / "_posts" / "2022-03-28-NW202203282325203083.md"
    )


@pytest.mark.parametrize("durable", [True, False])
def test_atomic_write_is_byte_stable(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "_posts" / "a.md"
    assert atomic_write(path, b"one\n", durable=durable)
    os.utime(path, ns=(1, 1))
    assert not atomic_write(path, b"one\n", durable=durable)
    assert path.stat().st_mtime_ns == 1  # unchanged bytes: not touched
    assert atomic_write(path, b"two\n", durable=durable)
    assert path.read_bytes() == b"two\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.md"]  # no temp file left
    sync_filesystem(tmp_path)
