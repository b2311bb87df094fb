"""Safe file writing: atomic (hidden temp file + fsync + rename), byte-stable, confined."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".tmp"


class UnsafePath(ValueError):
    """A path that would leave the archive root."""


def confined(root: Path, relative: str) -> Path:
    """``root/relative``, refusing anything that resolves outside *root*."""
    root_resolved = root.resolve()
    path = (root_resolved / relative).resolve()
    if not path.is_relative_to(root_resolved) or path == root_resolved:
        raise UnsafePath(f"{relative!r} is outside {root}")
    return path


def temp_name(final: Path) -> Path:
    """The hidden temp file a write of *final* goes through: ``.<name>.<random>.tmp``."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def atomic_write(path: Path, data: bytes) -> bool:
    """Write *data* to *path* atomically unless it already holds exactly those bytes.

    Returns True when the file was written, False when it was unchanged (and so not
    touched: its mtime stays). A crash leaves either the old file or the new one,
    plus at most a hidden temp file.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        with tmp.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return True


def fsync_dir(directory: Path) -> None:
    """Make a rename in *directory* durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
