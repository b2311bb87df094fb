"""The in-memory store: tests, and this run's posts before their batch is committed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType

from newscrawler.dedup.store.base import (
    BAND_MAX_DISTANCE,
    BANDS,
    MASK64,
    StoredArticle,
    StoreError,
    bands,
    best_within,
    check_query,
)
from newscrawler.ids import is_code


class MemoryStore:
    """A :class:`SeenStore` in dictionaries (tests, dry runs); lost on close."""

    def __init__(self) -> None:
        self._articles: dict[str, StoredArticle] = {}
        self._exact: dict[str, set[str]] = {}
        self._bands: tuple[dict[int, set[str]], ...] = tuple({} for _ in range(BANDS))
        self._slugs: dict[str, str] = {}
        self._meta: dict[str, str] = {}
        self._rejected: dict[str, str] = {}
        self._closed = False

    def _live(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    def has(self, code: str) -> bool:
        self._live()
        return code in self._articles

    def get(self, code: str) -> StoredArticle | None:
        self._live()
        return self._articles.get(code)

    def _unindex(self, record: StoredArticle) -> None:
        if record.text_hash:
            codes = self._exact.get(record.text_hash)
            if codes is not None:
                codes.discard(record.code)
                if not codes:
                    del self._exact[record.text_hash]
        if record.simhash is not None:
            for index, band in zip(self._bands, bands(record.simhash), strict=True):
                codes = index.get(band)
                if codes is not None:
                    codes.discard(record.code)
                    if not codes:
                        del index[band]

    def add(self, record: StoredArticle) -> None:
        self._live()
        old = self._articles.get(record.code)
        if old is not None:
            self._unindex(old)
        self._articles[record.code] = record
        if record.text_hash:
            self._exact.setdefault(record.text_hash, set()).add(record.code)
        if record.simhash is not None:
            for index, band in zip(self._bands, bands(record.simhash), strict=True):
                index.setdefault(band, set()).add(record.code)

    def add_many(self, records: Iterable[StoredArticle]) -> int:
        count = 0
        for record in records:
            self.add(record)
            count += 1
        return count

    def find_exact(self, text_hash: str) -> str | None:
        self._live()
        codes = self._exact.get(text_hash) if text_hash else None
        return min(codes) if codes else None

    def find_near(
        self, simhash: int, max_distance: int = BAND_MAX_DISTANCE, *, figures: int | None = None
    ) -> str | None:
        """The closest record within *max_distance* bits of *simhash* (ties: the lowest
        code); with *figures*, among the records with that figures digest only (records
        without one never qualify). Without *figures*, a SimHash-only lookup: dedup always
        passes them (:func:`find_duplicate`)."""
        self._live()
        query = check_query(simhash, max_distance, figures)
        wanted = None if figures is None else figures & MASK64
        codes: set[str] = set()
        for index, band in zip(self._bands, bands(query), strict=True):
            codes |= index.get(band, set())
        candidates = []
        for code in codes:
            record = self._articles[code]
            if record.simhash is not None and (wanted is None or record.figures == wanted):
                candidates.append((code, record.simhash))
        return best_within(query, candidates, max_distance)

    def slug_for(self, outlet: str) -> str | None:
        self._live()
        return self._slugs.get(outlet)

    def set_slug(self, outlet: str, slug: str) -> None:
        self._live()
        if not outlet or not slug:
            raise ValueError(f"empty outlet or slug: {outlet!r} -> {slug!r}")
        self._slugs[outlet] = slug

    def slugs(self) -> dict[str, str]:
        self._live()
        return dict(self._slugs)

    def rejection(self, code: str) -> str | None:
        self._live()
        return self._rejected.get(code)

    def reject_many(self, rejections: Iterable[tuple[str, str]]) -> int:
        self._live()
        rows = [(code, reason) for code, reason in rejections if is_code(code)]
        self._rejected.update(rows)
        return len(rows)

    def get_meta(self, key: str) -> str | None:
        self._live()
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._live()
        self._meta[key] = value

    def count(self) -> int:
        self._live()
        return len(self._articles)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Many additions at once (nothing to defer in memory)."""
        self._live()
        yield

    def iter_codes(self) -> Iterator[str]:
        self._live()
        return iter(sorted(self._articles))

    def iter_rejections(self) -> Iterator[tuple[str, str]]:
        self._live()
        return iter(sorted(self._rejected.items()))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes (no-op in memory: there is nothing to commit)."""
        self._live()
        yield

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
