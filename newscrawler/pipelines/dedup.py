"""Deduplication: one post per article code, and one per story (same or nearly the same
text with the same figures: :func:`newscrawler.dedup.fingerprint.is_same_story`)."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from newscrawler.archive.session import ArchiveSession
from newscrawler.dates import parse_date
from newscrawler.dedup.fingerprint import fingerprint, html_to_text
from newscrawler.dedup.store.base import find_duplicate
from newscrawler.items import Article
from newscrawler.outcomes import Counters

#: SimHash shingle digests kept between articles (about 100 bytes each).
SHINGLE_CACHE_LIMIT = 200_000


class DedupPipeline:
    """One post per article: drops an article whose code was handled in this run or is
    already archived (``newscrawler/duplicates/code``, ``.../known``), and the same
    story under another code: same cleaned text, or a near duplicate by SimHash with the
    same figures (``newscrawler/duplicates/content_exact``, ``.../content_near``; the
    decision of :func:`~newscrawler.dedup.fingerprint.is_same_story`). Content matches
    only count against posts dated within ``DEDUP_CONTENT_WINDOW_DAYS`` (0: any date),
    so a routine flash repeated word for word on another day is not lost."""

    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.counters = Counters(crawler.stats)
        self.session = session
        self.run = session.run
        self.content_window = session.config.content_window

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        session = ArchiveSession.from_crawler(crawler)
        if session.config.worker:
            raise NotConfigured("a worker of the distributed mode hands its articles to the writer")
        return cls(crawler, session)

    def open_spider(self) -> None:
        self.session.open()

    def _duplicate(self, reason: str, item: Article, detail: str) -> DropItem:
        self.counters.inc("duplicates", reason)
        return DropItem(f"duplicate ({reason}) of {detail}", log_level="INFO")

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        store = self.session.open()
        if item.code in self.run.codes_this_run:
            raise self._duplicate("code", item, f"article {item.code} already handled in this run")
        # Not archived when the request was made, and not since (codes_this_run): no need to ask.
        known = None if item.code in self.run.unarchived else store.get(item.code)
        if known is not None and (self.session.config.archive_dir / known.path).is_file():
            raise self._duplicate("known", item, f"article {item.code} archived as {known.path}")
        if len(self.run.shingle_cache) > SHINGLE_CACHE_LIMIT:
            self.run.shingle_cache.clear()
        fp = fingerprint(html_to_text(item.body), cache=self.run.shingle_cache)
        run = self.run.run_store  # this run's posts, not yet committed to the store
        match = None
        if fp.text_hash:
            match = find_duplicate(run, fp.text_hash, fp.simhash, fp.figures) or find_duplicate(
                store, fp.text_hash, fp.simhash, fp.figures
            )
        if match is not None and match != item.code:
            other = run.get(match) or store.get(match)
            if other is not None and self._within_window(other.date, item):
                kind = "content_exact" if other.text_hash == fp.text_hash else "content_near"
                self.session.reject(item.code, f"duplicates/{kind} of {match}")
                raise self._duplicate(kind, item, f"article {match} ({other.path})")
        self.run.codes_this_run.add(item.code)
        item.fingerprint = fp
        return item

    def _within_window(self, other_date: str, item: Article) -> bool:
        if self.content_window is None or item.date is None:
            return True
        other = parse_date(other_date)
        return other is None or abs(item.date - other) <= self.content_window
