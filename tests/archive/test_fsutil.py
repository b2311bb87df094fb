"""Atomic, byte-stable, confined writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newscrawler.archive import fsutil
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


@pytest.mark.parametrize("durable", [True, False])
def test_atomic_write_fsyncs_file_and_folder_only_when_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((info.st_dev, info.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "_posts" / "a.md"
    assert atomic_write(path, b"one\n", durable=durable)
    final, folder = path.stat(), path.parent.stat()
    # The temp file (renamed into place: same inode) and then its folder; nothing otherwise.
    expected = [(final.st_dev, final.st_ino), (folder.st_dev, folder.st_ino)] if durable else []
    assert synced == expected
    synced.clear()
    assert not atomic_write(path, b"one\n", durable=durable)
    assert synced == []  # unchanged: nothing written, nothing to sync


class _FakeLibc:
    """Stands for the C library: records the file a ``syncfs(fd)`` call was made for."""

    def __init__(self, result: int = 0) -> None:
        self.result = result
        self.calls: list[tuple[int, int]] = []

    def syncfs(self, fd: int) -> int:
        info = os.fstat(fd)
        self.calls.append((info.st_dev, info.st_ino))
        return self.result


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else set()


@pytest.mark.parametrize(("result", "falls_back"), [(0, False), (-1, True)])
def test_sync_filesystem_syncs_the_filesystem_of_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, result: int, falls_back: bool
) -> None:
    libc = _FakeLibc(result)
    synced: list[str] = []
    monkeypatch.setattr(fsutil.ctypes, "CDLL", lambda name, use_errno=False: libc)
    monkeypatch.setattr(os, "sync", lambda: synced.append("sync"))
    fds = _open_fds()
    fsutil.sync_filesystem(tmp_path)
    info = tmp_path.stat()
    assert libc.calls == [(info.st_dev, info.st_ino)]  # syncfs(2) on a descriptor of the path
    assert synced == (["sync"] if falls_back else [])  # a failed syncfs: sync(2) instead
    assert _open_fds() == fds  # and the descriptor is closed


def test_sync_filesystem_without_syncfs_calls_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []

    def no_libc(name: object, use_errno: bool = False) -> object:
        raise OSError("no C library")

    monkeypatch.setattr(fsutil.ctypes, "CDLL", no_libc)
    monkeypatch.setattr(os, "sync", lambda: synced.append("sync"))
    fsutil.sync_filesystem(tmp_path)
    assert synced == ["sync"]


def test_sync_filesystem_for_real_after_batched_writes(tmp_path: Path) -> None:
    paths = [tmp_path / "_posts" / f"{n}.md" for n in range(3)]
    for n, path in enumerate(paths):
        assert atomic_write(path, f"post {n}\n".encode(), durable=False)
    fds = _open_fds()
    assert sync_filesystem(tmp_path) is None
    assert _open_fds() == fds
    assert [p.read_bytes() for p in paths] == [b"post 0\n", b"post 1\n", b"post 2\n"]
