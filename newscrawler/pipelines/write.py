"""Writing: the category slug, the post through the exporter, then the record in the store,
only once the post is durably on disk (in batches)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newscrawler.archive.exporter import JekyllPostExporter
from newscrawler.archive.fsutil import UnsafePath, sync_filesystem
from newscrawler.archive.post import Slugger, is_safe_slug
from newscrawler.archive.session import ArchiveSession
from newscrawler.dates import format_post_date
from newscrawler.dedup.fingerprint import fingerprint, html_to_text
from newscrawler.dedup.store.base import StoredArticle
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET, Article
from newscrawler.outcomes import Counters
from newscrawler.pipelines.base import drop

logger = logging.getLogger(__name__)


class WritePostPipeline:
    """Assigns the category slug, writes the post through :class:`JekyllPostExporter`,
    then records it in the store — only once it is durably on disk.

    Durability is batched: each post is noted in the write journal, then renamed into place
    at once (a killed run loses nothing: the next run replays the journal), and every
    ``WRITE_BATCH_SIZE`` posts or ``WRITE_BATCH_SECONDS`` (and at the end) one filesystem
    sync makes the batch durable before its records, and the run's refusals so far, are
    committed in one transaction. A power cut can lose at most the uncommitted batch's posts, which the
    next run then fetches again; the store never records a post that is not durable.
    Until the batch is committed, its records are visible to dedup through
    ``RunState.run_store``."""

    def __init__(
        self,
        crawler: Crawler,
        session: ArchiveSession,
        slugger: Slugger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counters = Counters(crawler.stats)
        self.session = session
        self.run = session.run
        self.slugger = slugger
        config = session.config
        self.exporter = JekyllPostExporter(
            config.archive_dir,
            site=config.site,
            share_url_template=config.share_url_template,
            durable=False,
            journal=session.archive.note_write,
        )
        self.batch_size = config.batch_size
        self.batch_seconds = config.batch_seconds
        self.clock = clock
        self.pending: list[StoredArticle] = []
        self.last_flush = clock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WritePostPipeline:
        session = ArchiveSession.from_crawler(crawler)
        if session.config.worker:
            raise NotConfigured("a worker of the distributed mode hands its articles to the writer")
        return cls(crawler, session, Slugger())

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
        sync_filesystem(self.session.config.archive_dir)
        self.session.archive.commit(self.pending)
        self.pending.clear()

    def slug_for(self, outlet: str) -> str:
        """The archive's slug for *outlet*; a new outlet gets its pinyin, with a number
        appended when another outlet already has that slug (homophones)."""
        slug = self.run.slugs.get(outlet)
        if slug is not None:
            return slug
        base = self.slugger.slug(outlet)
        if not is_safe_slug(base):
            return base
        taken = set(self.run.slugs.values())
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}{n}"
        self.run.slugs[outlet] = slug
        self.session.open().set_slug(outlet, slug)
        return slug

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if item.kind == KIND_OUTLET:
            item.slug = self.slug_for(item.outlet)
            if not is_safe_slug(item.slug):
                raise drop(self.counters, self.session, item, "bad_slug", repr(item.outlet)[:60])
        else:
            item.slug = KIND_EMNEWS
        try:
            result = self.exporter.write_post(item)
        except (ValueError, UnsafePath) as exc:  # the renderer refused an unsafe name or value
            raise drop(self.counters, self.session, item, "unsafe_post", str(exc)[:200]) from exc
        fp = item.fingerprint or fingerprint(html_to_text(item.body))
        assert item.date is not None
        record = StoredArticle.of(
            code=item.code,
            path=result.relative,
            kind=item.kind,
            slug=item.slug,
            fingerprint=fp,
            date=format_post_date(item.date),
        )
        self.run.run_store.add(record)
        self.pending.append(record)
        if len(self.pending) >= self.batch_size or self.clock() - self.last_flush >= self.batch_seconds:
            self.flush()
        if result.written:
            self.counters.inc("posts", "written")
            self.run.new_posts.append(result.relative)
            logger.info("Wrote %s (%s)", result.relative, item.url)
        else:
            self.counters.inc("posts", "unchanged")
            logger.debug("Unchanged %s (%s)", result.relative, item.url)
        if result.category_written:
            self.counters.inc("categories", "written")
            logger.info("Wrote category page %s", result.category_page)
        return item
