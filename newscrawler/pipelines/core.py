"""Item pipelines: thin Scrapy adapters around the pure cores.

validate (:mod:`newscrawler.dates`, :mod:`newscrawler.archive.post`) -> clean
(:mod:`newscrawler.cleaning.body`) -> dedupe -> write (:mod:`newscrawler.archive.exporter`).
Every drop raises :class:`DropItem` with a reason, counted as
``newscrawler/dropped/<reason>`` and logged with the article's URL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from newscrawler.archive.exporter import JekyllPostExporter
from newscrawler.archive.fsutil import UnsafePath, sync_filesystem
from newscrawler.archive.post import (
    Slugger,
    digest_text,
    is_safe_slug,
    normalize_outlet,
    normalize_title,
    safe_source_url,
)
from newscrawler.archive.session import ArchiveSession
from newscrawler.cleaning.body import clean_body
from newscrawler.dates import BEIJING, format_post_date, parse_date
from newscrawler.dedup.fingerprint import fingerprint, html_to_text
from newscrawler.dedup.store import StoredArticle, find_duplicate
from newscrawler.ids import info_code, is_code
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.outcomes import counter

logger = logging.getLogger(__name__)

#: How far in the future a publication date may lie (clock skew) before it is refused.
FUTURE_TOLERANCE = timedelta(days=1)
#: SimHash shingle digests kept between articles (about 100 bytes each).
SHINGLE_CACHE_LIMIT = 200_000


#: Drops that fetching the article again would not change: the store remembers them so
#: that a run over unchanged feeds requests nothing (``future_date`` may heal, network
#: failures never reach the pipelines).
REMEMBERED_DROPS = frozenset(
    {"no_title", "no_date", "bad_date", "no_outlet", "bad_kind", "empty_body", "bad_slug", "unsafe_post"}
)


class _Stats:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.session = ArchiveSession.from_crawler(crawler)

    def inc(self, *parts: str) -> None:
        self.stats.inc_value(counter(*parts))


def drop(stats: _Stats, item: Article, reason: str, detail: str = "", level: str = "WARNING") -> DropItem:
    """Count and describe a drop (remembered when refetching cannot change it); the
    caller raises what this returns."""
    stats.inc("dropped", reason)
    if reason in REMEMBERED_DROPS:
        stats.session.reject(item.code, f"dropped/{reason}")
    return DropItem(f"{reason}{': ' + detail if detail else ''}", log_level=level)


class ValidatePipeline:
    """Drops articles without a valid code, title, date (or outlet, for outlet posts);
    normalizes the title, date and outlet."""

    def __init__(self, crawler: Crawler, article_url_template: str, clock: Callable[[], datetime]) -> None:
        self.stats = _Stats(crawler)
        self.article_url_template = article_url_template
        self.clock = clock

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler, crawler.settings.get("EASTMONEY_ARTICLE_URL"), lambda: datetime.now(BEIJING))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if not is_code(item.code):
            raise drop(self.stats, item, "bad_code", repr(item.code)[:60])
        item.title_raw = item.title_raw or item.title
        item.title = normalize_title(item.title_raw)
        if not item.title:
            raise drop(self.stats, item, "no_title")
        item.date_raw = item.date_raw or ""
        date = (
            parse_date(item.date_raw) if item.date_raw else (item.date and parse_date(item.date.isoformat()))
        )
        if date is None:
            raise drop(self.stats, item, "bad_date" if item.date_raw else "no_date", repr(item.date_raw)[:60])
        if date > self.clock() + FUTURE_TOLERANCE:
            raise drop(self.stats, item, "future_date", date.isoformat())
        item.date = date
        if item.kind == KIND_OUTLET:
            outlet = normalize_outlet(item.outlet)
            if not outlet:
                raise drop(self.stats, item, "no_outlet", repr(item.outlet)[:60])
            item.outlet = outlet
        elif item.kind == KIND_EMNEWS:
            safe = safe_source_url(item.source_url)
            if safe is None:
                if item.source_url:
                    self.stats.inc("fallback", "bad_source_url")
                    logger.warning(
                        "Article %s from %s: unusable source URL %r, using the article page",
                        item.code,
                        item.url,
                        item.source_url[:200],
                    )
                safe = self.article_url_template.format(code=item.code, info_code=info_code(item.code))
            item.source_url = safe
        else:
            raise drop(self.stats, item, "bad_kind", repr(item.kind)[:20])
        return item


class CleanPipeline:
    """Sanitizes the body (SPEC §7) and the rolling-news digest; drops empty bodies."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = _Stats(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        item.body = clean_body(item.body_raw or item.body, base_url=item.base_url or item.url)
        if item.kind == KIND_EMNEWS:
            item.digest = digest_text(item.digest)
        if not item.body:
            raise drop(self.stats, item, "empty_body")
        return item


class DedupPipeline:
    """One post per article: drops an article whose code was handled in this run or is
    already archived (``newscrawler/duplicates/code``, ``.../known``), and the same
    story under another code: same cleaned text, or a near duplicate by SimHash with the
    same figures (``newscrawler/duplicates/content_exact``, ``.../content_near``; the
    decision of :func:`~newscrawler.dedup.fingerprint.is_same_story`). Content matches
    only count against posts dated within ``DEDUP_CONTENT_WINDOW_DAYS`` (0: any date),
    so a routine flash repeated word for word on another day is not lost."""

    def __init__(self, crawler: Crawler, session: ArchiveSession, content_window: timedelta | None) -> None:
        self.stats = _Stats(crawler)
        self.session = session
        self.content_window = content_window

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        days = crawler.settings.getfloat("DEDUP_CONTENT_WINDOW_DAYS", 7)
        return cls(crawler, ArchiveSession.from_crawler(crawler), timedelta(days=days) if days > 0 else None)

    def open_spider(self) -> None:
        self.session.open()

    def _duplicate(self, reason: str, item: Article, detail: str) -> DropItem:
        self.stats.inc("duplicates", reason)
        return DropItem(f"duplicate ({reason}) of {detail}", log_level="INFO")

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        store = self.session.open()
        if item.code in self.session.codes_this_run:
            raise self._duplicate("code", item, f"article {item.code} already handled in this run")
        known = store.get(item.code)
        if known is not None and (self.session.archive_dir / known.path).is_file():
            raise self._duplicate("known", item, f"article {item.code} archived as {known.path}")
        if len(self.session.shingle_cache) > SHINGLE_CACHE_LIMIT:
            self.session.shingle_cache.clear()
        fp = fingerprint(html_to_text(item.body), cache=self.session.shingle_cache)
        run = self.session.run_store  # this run's posts, not yet committed to the store
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
        self.session.codes_this_run.add(item.code)
        self.session.fingerprints[item.code] = fp
        return item

    def _within_window(self, other_date: str, item: Article) -> bool:
        if self.content_window is None or item.date is None:
            return True
        other = parse_date(other_date)
        return other is None or abs(item.date - other) <= self.content_window


class WritePostPipeline:
    """Assigns the category slug, writes the post through :class:`JekyllPostExporter`,
    then records it in the store — only once it is durably on disk.

    Durability is batched: posts are renamed into place at once (a killed run loses
    nothing), and every ``WRITE_BATCH_SIZE`` posts or ``WRITE_BATCH_SECONDS`` (and at the
    end) one filesystem sync makes the batch durable before its records are committed in
    one transaction. A power cut can lose at most the uncommitted batch's posts, which the
    next run then fetches again; the store never records a post that is not durable.
    Until the batch is committed, its records are visible to dedup through
    ``ArchiveSession.run_store``."""

    def __init__(
        self,
        crawler: Crawler,
        session: ArchiveSession,
        slugger: Slugger,
        batch_size: int = 100,
        batch_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = _Stats(crawler)
        self.session = session
        self.slugger = slugger
        self.exporter = JekyllPostExporter(
            session.archive_dir,
            site=session.site,
            share_url_template=session.share_url_template,
            durable=False,
        )
        self.batch_size = max(1, batch_size)
        self.batch_seconds = batch_seconds
        self.clock = clock
        self.pending: list[StoredArticle] = []
        self.last_flush = clock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WritePostPipeline:
        settings = crawler.settings
        return cls(
            crawler,
            ArchiveSession.from_crawler(crawler),
            Slugger(),
            batch_size=settings.getint("WRITE_BATCH_SIZE", 100),
            batch_seconds=settings.getfloat("WRITE_BATCH_SECONDS", 2.0),
        )

    def open_spider(self) -> None:
        self.session.open()
        self.exporter.start_exporting()

    def close_spider(self) -> None:
        self.flush()
        self.exporter.finish_exporting()

    def flush(self) -> None:
        """Make the pending posts durable, then record them in one transaction."""
        self.last_flush = self.clock()
        if not self.pending:
            return
        sync_filesystem(self.session.archive_dir)
        self.session.open().add_many(self.pending)
        self.pending.clear()

    def slug_for(self, outlet: str) -> str:
        """The archive's slug for *outlet*; a new outlet gets its pinyin, with a number
        appended when another outlet already has that slug (homophones)."""
        slug = self.session.slugs.get(outlet)
        if slug is not None:
            return slug
        base = self.slugger.slug(outlet)
        if not is_safe_slug(base):
            return base
        taken = set(self.session.slugs.values())
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}{n}"
        self.session.slugs[outlet] = slug
        self.session.open().set_slug(outlet, slug)
        return slug

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if item.kind == KIND_OUTLET:
            item.slug = self.slug_for(item.outlet)
            if not is_safe_slug(item.slug):
                raise drop(self.stats, item, "bad_slug", repr(item.outlet)[:60])
        else:
            item.slug = KIND_EMNEWS
        try:
            result = self.exporter.write_post(item)
        except (ValueError, UnsafePath) as exc:  # the renderer refused an unsafe name or value
            raise drop(self.stats, item, "unsafe_post", str(exc)[:200]) from exc
        fp = self.session.fingerprints.pop(item.code, None) or fingerprint(html_to_text(item.body))
        assert item.date is not None
        record = StoredArticle.of(
            code=item.code,
            path=result.relative,
            kind=item.kind,
            slug=item.slug,
            fingerprint=fp,
            date=format_post_date(item.date),
        )
        self.session.run_store.add(record)
        self.pending.append(record)
        if len(self.pending) >= self.batch_size or self.clock() - self.last_flush >= self.batch_seconds:
            self.flush()
        if result.written:
            self.stats.inc("posts", "written")
            self.session.new_posts.append(result.relative)
            logger.info("Wrote %s (%s)", result.relative, item.url)
        else:
            self.stats.inc("posts", "unchanged")
            logger.debug("Unchanged %s (%s)", result.relative, item.url)
        if result.category_written:
            self.stats.inc("categories", "written")
            logger.info("Wrote category page %s", result.category_page)
        return item
