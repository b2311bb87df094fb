"""The run report: a summary in the log and ``<STATE_DIR>/last-run.json`` (SPEC §8)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from newscrawler.fsutil import atomic_write
from newscrawler.outcomes import PREFIX
from newscrawler.session import ArchiveSession

logger = logging.getLogger(__name__)

REPORT_FILE = "last-run.json"


def _group(stats: dict[str, Any], group: str) -> dict[str, int]:
    prefix = f"{PREFIX}/{group}/"
    return {k[len(prefix) :]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}


def build_report(stats: dict[str, Any], session: ArchiveSession, spider: str, reason: str) -> dict[str, Any]:
    """The run report: every ``newscrawler/`` counter, grouped."""
    started = stats.get("start_time")
    duplicates = _group(stats, "duplicates")
    dropped = _group(stats, "dropped")
    errors = _group(stats, "errors")
    return {
        "spider": spider,
        "finish_reason": reason,
        "started": started.isoformat() if isinstance(started, datetime) else None,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "archive_dir": str(session.archive_dir),
        "new_posts": len(session.new_posts),
        "new_post_paths": list(session.new_posts),
        "unchanged_posts": int(stats.get(f"{PREFIX}/posts/unchanged", 0)),
        "skipped_known": int(stats.get(f"{PREFIX}/skipped/known", 0)),
        "duplicates": duplicates,
        "dropped": dropped,
        "errors": errors,
        "feeds": _group(stats, "feeds"),
        "stale_temp_files_removed": session.stale_temp_files,
        "reconciled_posts": session.reconciled,
        "counters": {k: v for k, v in sorted(stats.items()) if k.startswith(f"{PREFIX}/")},
    }


def summary_line(report: dict[str, Any]) -> str:
    def fmt(group: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in group.items()) or "none"

    return (
        f"{report['new_posts']} new posts, {report['skipped_known']} skipped (already archived), "
        f"duplicates: {fmt(report['duplicates'])}; dropped: {fmt(report['dropped'])}; errors: {fmt(report['errors'])}"
    )


class RunReport:
    """At the end of a run that held the archive: log the summary, write
    ``last-run.json`` atomically, then release the archive (store and lock)."""

    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.crawler = crawler
        self.session = session

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
        ext = cls(crawler, ArchiveSession.from_crawler(crawler))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        if not self.session.is_open:
            return  # this run never held the archive (e.g. the lock was held): write nothing
        try:
            assert self.crawler.stats is not None
            report = build_report(self.crawler.stats.get_stats(), self.session, spider.name, reason)
            logger.info("Run summary: %s", summary_line(report))
            data = json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
            atomic_write(self.session.state_dir / REPORT_FILE, data.encode("utf-8"))
        finally:
            self.session.close()
