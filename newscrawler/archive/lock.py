"""One run at a time per archive: an exclusive ``flock`` on ``STATE_DIR/lock``, released by
the kernel when the run ends or is killed (docs/internals.md "The run lock")."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType


class LockHeld(Exception):
    """Another process holds the run lock."""

    def __init__(self, path: Path, pid: int | None, since: str | None) -> None:
        self.path = path
        self.pid = pid
        self.since = since
        who = f"process {pid}" if pid is not None else "another process"
        when = f" since {since}" if since else ""
        super().__init__(
            f"another run is using this archive: {who} holds the lock {path}{when}; "
            "exiting without doing anything"
        )


class RunLock:
    """An exclusive, non-blocking lock on the file *path* (created with its folder when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock at once, or raise :class:`LockHeld` naming the holder."""
        if self._fd is not None:
            raise RuntimeError(f"run lock {self.path} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, since = _read_holder(fd)
            os.close(fd)
            raise LockHeld(self.path, pid, since) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            started = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime())
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid={os.getpid()}\nstarted={started}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> tuple[int | None, str | None]:
    """The pid and start time the holder wrote, when readable."""
    try:
        data = os.pread(fd, 4096, 0).decode("ascii", "replace")
    except OSError:
        return None, None
    fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
    pid_text = fields.get("pid", "")
    pid = int(pid_text) if pid_text.isdigit() else None
    return pid, fields.get("started") or None
