"""The seen-articles store: what the archive already holds (docs/internals.md "The store").

One record per article code (:class:`StoredArticle`): where its post is, its kind and
category slug, and the fingerprints of its text for content duplicates. Also the outlet
-> slug map learned from the archive, the articles refused for good (``rejected``), and a few
key/values (``meta``). Two
implementations of :class:`SeenStore`: :class:`~newscrawler.dedup.store.sqlite.SQLiteStore`
(the real one, in ``STATE_DIR``) and :class:`~newscrawler.dedup.store.memory.MemoryStore`
(tests, this run's batch). Near-duplicate lookups use the banding trick: the 64-bit SimHash
is cut into four 16-bit bands; two hashes within Hamming distance 3 agree on one band
exactly (pigeonhole).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from newscrawler.ids import is_code

if TYPE_CHECKING:
    from newscrawler.dedup.fingerprint import Fingerprint

#: Hamming distance up to which :meth:`SeenStore.find_near` is complete (4 bands of 16 bits).
BAND_MAX_DISTANCE = 3
BANDS = 4
BAND_BITS = 16
BAND_MASK = (1 << BAND_BITS) - 1
U64 = 1 << 64
MASK64 = U64 - 1


class StoreError(Exception):
    """The store cannot be used."""


class StoreCorrupt(StoreError):
    """The database file is damaged or is not a database."""


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """One archived article."""

    #: The 18-digit article code.
    code: str
    #: The post's path relative to the archive root, ``/``-separated (``_posts/2022-03-28-NW....md``).
    path: str
    #: ``outlet`` or ``emnews``.
    kind: str
    #: The post's category slug.
    slug: str
    #: SHA-256 hex of the normalized text (:func:`~newscrawler.dedup.fingerprint.text_hash`), "" for no text.
    text_hash: str = ""
    #: 64-bit SimHash (unsigned), or None when the text is too short for near matching.
    simhash: int | None = None
    #: The post's date as written in its header (``2022-03-28 17:04:37 +0800``), "" when unknown.
    date: str = ""
    #: 64-bit figures digest (unsigned, :func:`~newscrawler.dedup.fingerprint.figures_digest`), or None
    #: when unknown (no text, too short for near matching, or recorded before schema version 2):
    #: then never near-matched.
    figures: int | None = None

    @classmethod
    def of(
        cls, *, code: str, path: str, kind: str, slug: str, fingerprint: Fingerprint, date: str
    ) -> StoredArticle:
        """The record of a post whose text has *fingerprint*."""
        return cls(
            code, path, kind, slug, fingerprint.text_hash, fingerprint.simhash, date, fingerprint.figures
        )

    def __post_init__(self) -> None:
        if not is_code(self.code):
            raise ValueError(f"not an article code: {self.code!r}")
        if self.text_hash and (len(self.text_hash) != 64 or not is_hex(self.text_hash)):
            raise ValueError(f"not a SHA-256 hex digest: {self.text_hash!r}")
        if self.simhash is not None and not 0 <= self.simhash < U64:
            raise ValueError(f"simhash out of the unsigned 64-bit range: {self.simhash}")
        if self.figures is not None and not 0 <= self.figures < U64:
            raise ValueError(f"figures digest out of the unsigned 64-bit range: {self.figures}")


def is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


class SeenStore(Protocol):
    """What the pipelines need to know about the archive."""

    def has(self, code: str) -> bool: ...

    def get(self, code: str) -> StoredArticle | None: ...

    def add(self, record: StoredArticle) -> None: ...

    def add_many(self, records: Iterable[StoredArticle]) -> int: ...

    def find_exact(self, text_hash: str) -> str | None: ...

    def find_near(
        self, simhash: int, max_distance: int = BAND_MAX_DISTANCE, *, figures: int | None = None
    ) -> str | None: ...

    def rejection(self, code: str) -> str | None:
        """Why the article *code* was fetched and refused for good by an earlier run, or None."""
        ...

    def reject_many(self, rejections: Iterable[tuple[str, str]]) -> int:
        """Remember ``(code, reason)`` refusals (one transaction); returns how many."""
        ...

    def slug_for(self, outlet: str) -> str | None: ...

    def set_slug(self, outlet: str, slug: str) -> None: ...

    def slugs(self) -> dict[str, str]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def count(self) -> int: ...

    def bulk_load(self) -> AbstractContextManager[None]:
        """Many :meth:`add_many` calls at once (a bootstrap): indexes may be built at the end."""
        ...

    def iter_codes(self) -> Iterator[str]:
        """Every recorded article code (the shared view of the distributed mode is made of them)."""
        ...

    def iter_rejections(self) -> Iterator[tuple[str, str]]:
        """Every ``(code, reason)`` refusal."""
        ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...

    def __enter__(self) -> SeenStore: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def bands(simhash: int) -> tuple[int, int, int, int]:
    """The four 16-bit bands of an unsigned 64-bit SimHash, lowest bits first."""
    return (
        simhash & BAND_MASK,
        (simhash >> 16) & BAND_MASK,
        (simhash >> 32) & BAND_MASK,
        (simhash >> 48) & BAND_MASK,
    )


def to_signed64(value: int) -> int:
    """An unsigned 64-bit value as the signed integer SQLite stores."""
    return value - U64 if value >= 1 << 63 else value


def to_unsigned64(value: int) -> int:
    """A signed 64-bit integer from SQLite as the unsigned value."""
    return value & MASK64


def check_query(simhash: int, max_distance: int, figures: int | None) -> int:
    if not 0 <= max_distance <= BAND_MAX_DISTANCE:
        raise ValueError(
            f"max_distance must be 0..{BAND_MAX_DISTANCE} (4 x 16-bit bands), got {max_distance}"
        )
    if not -(1 << 63) <= simhash < U64:
        raise ValueError(f"not a 64-bit simhash: {simhash}")
    if figures is not None and not -(1 << 63) <= figures < U64:
        raise ValueError(f"not a 64-bit figures digest: {figures}")
    return simhash & MASK64


def best_within(query: int, candidates: Iterable[tuple[str, int]], max_distance: int) -> str | None:
    """The candidate code closest to *query* within *max_distance* (ties: the lowest code)."""
    best: tuple[int, str] | None = None
    for code, value in candidates:
        distance = ((query ^ value) & MASK64).bit_count()
        if distance <= max_distance and (best is None or (distance, code) < best):
            best = (distance, code)
    return best[1] if best else None


def find_duplicate(
    store: SeenStore, text_hash: str, simhash: int | None, figures: int | None = None
) -> str | None:
    """The code of an archived article with the same text (exact hash) or a near one: SimHash
    within ``BAND_MAX_DISTANCE`` bits and the same *figures* digest
    (:func:`~newscrawler.dedup.fingerprint.is_same_story` decides the same way).

    Pass ``simhash=None`` for texts too short for near matching
    (:data:`~newscrawler.dedup.fingerprint.NEAR_MIN_CHARS`); without *figures*
    (unknown) there is no near match either; an empty *text_hash* (no text)
    matches nothing.
    """
    if text_hash:
        code = store.find_exact(text_hash)
        if code is not None:
            return code
    if simhash is not None and figures is not None:
        return store.find_near(simhash, BAND_MAX_DISTANCE, figures=figures)
    return None


#: ``meta`` key set when a bootstrap from the archive completed.
META_BOOTSTRAPPED_AT = "bootstrapped_at"
