"""The write journal in ``STATE_DIR``: what a run is about to write into the archive.

Before a post or a category page is written (its hidden temp file created, then renamed
into place), its path and temp name are appended to the journal; once the batch of posts
is durable and recorded in the store, the journal is emptied. A run that was killed leaves
the journal holding exactly what it may have half done: the next run replays it (removes
the temp files, records the posts that reached the disk but not the store) at a cost of
O(what the killed run did), instead of listing the whole archive.

One line an entry: ``<path relative to the archive>\\t<temp file name>\\n``, written with
one unbuffered ``write`` on an ``O_APPEND`` descriptor (a killed process leaves whole
lines). The names come from :mod:`newscrawler.archive.post` (validated parts only: no tab,
no newline). No Scrapy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JournalEntry:
    #: The file written, relative to the archive (``_posts/2026-01-01-NW....md``).
    relative: str
    #: The name of the hidden temp file it was written through (same folder).
    temp_name: str


class Journal:
    """The journal file at *path*; :meth:`open` before :meth:`note`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        #: Entries noted since the journal was last emptied (this run).
        self.pending = 0

    def entries(self) -> list[JournalEntry]:
        """What the journal holds (left by a killed run when read before :meth:`open`),
        each file once, in order; a line that is not an entry is ignored."""
        try:
            text = self.path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        seen: dict[tuple[str, str], JournalEntry] = {}
        for line in text.split("\n"):
            relative, sep, temp = line.partition("\t")
            if sep and relative and temp and "\t" not in temp:
                seen.setdefault((relative, temp), JournalEntry(relative, temp))
        return list(seen.values())

    def open(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def note(self, relative: str, temp_name: str) -> None:
        """Record that *relative* is about to be written through *temp_name*."""
        if self._fd is None:
            raise RuntimeError("the journal is not open")
        if "\n" in relative or "\t" in relative or "\n" in temp_name or "\t" in temp_name:
            raise ValueError(f"cannot journal {relative!r} ({temp_name!r})")
        os.write(self._fd, f"{relative}\t{temp_name}\n".encode())
        self.pending += 1

    def clear(self) -> None:
        """Empty the journal: everything noted is on disk and recorded."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.truncate(self.path, 0)
        self.pending = 0

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
