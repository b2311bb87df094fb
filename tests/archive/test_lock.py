"""The run lock: one run per archive, released by the kernel when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newscrawler.archive.lock import LockHeld, RunLock
from tests.conftest import REPO

ROOT = REPO
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

_HOLDER = """
import sys, time
from newscrawler.archive.lock import RunLock
lock = RunLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""

_CONTENDER = """
import sys, time
from newscrawler.archive.lock import LockHeld, RunLock
started = time.monotonic()
try:
    with RunLock(sys.argv[1]):
        print("acquired", flush=True)
except LockHeld as exc:
    print(f"held {exc.pid} {time.monotonic() - started:.3f} {exc}", flush=True)
    sys.exit(3)
"""


def _start_holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()


def test_acquire_writes_the_holder_and_release_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "lock"
    lock = RunLock(path)
    lock.acquire()
    try:
        assert lock.held
        content = path.read_text()
        assert f"pid={os.getpid()}\n" in content
        assert "started=" in content
    finally:
        lock.release()
    assert not lock.held
    assert path.exists()
    lock.release()  # twice is fine


def test_second_lock_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with RunLock(path):
        started = time.monotonic()
        with pytest.raises(LockHeld) as info:
            RunLock(path).acquire()
        assert time.monotonic() - started < 1.0
        assert info.value.pid == os.getpid()
        assert info.value.since
        message = str(info.value)
        assert str(os.getpid()) in message and str(path) in message and info.value.since in message
    with RunLock(path):  # free again after release
        pass


def test_acquiring_twice_on_one_object_is_a_bug(tmp_path: Path) -> None:
    with RunLock(tmp_path / "lock") as lock, pytest.raises(RuntimeError):
        lock.acquire()


def test_lock_between_processes_and_after_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = _start_holder(path)
    try:
        # Another process fails at once, and says who holds the lock.
        contender = subprocess.run(
            [sys.executable, "-c", _CONTENDER, str(path)], capture_output=True, text=True, env=ENV, timeout=60
        )
        assert contender.returncode == 3, contender.stderr
        words = contender.stdout.split()
        assert words[0] == "held" and int(words[1]) == holder.pid
        assert float(words[2]) < 1.0
        assert f"process {holder.pid}" in contender.stdout and "since" in contender.stdout
        # So does this one.
        with pytest.raises(LockHeld) as info:
            RunLock(path).acquire()
        assert info.value.pid == holder.pid
    finally:
        _kill(holder)
    assert holder.returncode == -signal.SIGKILL
    # The killed holder's lock was released by the kernel; its pid is still in the file.
    assert f"pid={holder.pid}" in path.read_text()
    contender = subprocess.run(
        [sys.executable, "-c", _CONTENDER, str(path)], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert contender.returncode == 0 and contender.stdout.strip() == "acquired", (
        contender.stdout + contender.stderr
    )
    with RunLock(path) as lock:
        assert lock.held
        assert f"pid={os.getpid()}" in path.read_text()


def test_lock_held_message_without_holder_details(tmp_path: Path) -> None:
    exc = LockHeld(tmp_path / "lock", None, None)
    assert "another process" in str(exc)
    assert str(tmp_path / "lock") in str(exc)
