"""Safe file writing: atomic (hidden temp file + fsync + rename), byte-stable, confined."""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
from collections.abc import Callable
from pathlib import Path

TEMP_SUFFIX = ".tmp"


class UnsafePath(ValueError):
    """A path that would leave the archive root."""


def confined(root: Path, relative: str) -> Path:
    """``root/relative``, refusing any *relative* that could leave *root*: absolute
    paths, ``..`` or ``.`` parts, empty parts, hidden names, backslashes and NULs.

    A check of the text alone (no filesystem calls: this runs for every post); the
    names it receives are built by :mod:`newscrawler.archive.post` from validated parts."""
    parts = relative.split("/")
    if (
        not relative
        or "\x00" in relative
        or "\\" in relative
        or any(not part or part.startswith(".") for part in parts)
    ):
        raise UnsafePath(f"{relative!r} is outside {root}")
    return root.joinpath(*parts)


def temp_name(final: Path) -> Path:
    """The hidden temp file a write of *final* goes through: ``.<name>.<random>.tmp``."""
    return Path(_temp_path(os.fspath(final)))


def _temp_path(final: str) -> str:
    """:func:`temp_name` on a ``str`` path (no pathlib: this runs once a post)."""
    folder, name = os.path.split(final)
    return os.path.join(folder, f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")  # noqa: PTH118 (hot path)


def atomic_write(
    path: Path, data: bytes, *, durable: bool = True, before_write: Callable[[str], None] | None = None
) -> bool:
    """Write *data* to *path* atomically unless it already holds exactly those bytes.

    Returns True when the file was written, False when it was unchanged (and so not
    touched: its mtime stays). A crash leaves either the old file or the new one,
    plus at most a hidden temp file. With ``durable=False`` the file and its folder
    are not fsynced: the caller makes a batch of writes durable at once with
    :func:`sync_filesystem` (a killed process loses nothing either way; only a power
    cut can lose writes that were not synced). Missing parent folders are created.
    *before_write* is called with the temp file's name before it is created (the write
    journal, :mod:`newscrawler.archive.journal`); not for an unchanged file.

    (Plain ``os`` calls on ``str`` paths: this runs once a post, and pathlib's
    wrappers and a buffered file object cost more than the system calls.)
    """
    final = os.fspath(path)
    try:
        if os.stat(final).st_size == len(data) and _read(final) == data:  # noqa: PTH116 (hot path)
            return False
    except FileNotFoundError:
        pass
    tmp = _temp_path(final)
    if before_write is not None:
        before_write(os.path.basename(tmp))  # noqa: PTH119 (str path, hot path)
    try:
        fd = os.open(tmp, _CREATE_FLAGS, 0o666)
    except FileNotFoundError:  # the first file of its folder
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, _CREATE_FLAGS, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)  # noqa: PTH105 (hot path, see above)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # noqa: PTH108 (str path)
        raise
    if durable:
        fsync_dir(path.parent)
    return True


#: A new file, never an existing one (the temp name is random), not inherited by children.
_CREATE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:  # noqa: PTH123 (str path, hot path)
        return handle.read()


def sync_filesystem(path: Path) -> None:
    """Make every write to the filesystem holding *path* durable: ``syncfs(2)`` where
    the C library has it, else ``sync(2)``. One call makes a whole batch of posts
    durable for the cost of one flush instead of two fsyncs a post."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs  # the C library of this process
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


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
