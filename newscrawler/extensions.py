"""The end of a run: retention, the run report and the exit status (docs/operations.md).

:class:`RunReport`, at ``spider_closed`` of a run that held the archive:

1. moves old posts to ``old_post/`` when ``ARCHIVE_RETENTION_DAYS`` is set
   (:mod:`newscrawler.archive.retention`), while the run still holds the lock;
2. decides the run's exit status (:class:`ExitStatus`), which the project's ``scrapy crawl``
   (:mod:`newscrawler.commands.crawl`) exits with;
3. writes ``<STATE_DIR>/last-run.json`` atomically and releases the archive (store, lock);
4. logs a summary of a few lines, as the very last lines of the log (at ``engine_stopped``,
   after Scrapy's stats dump).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from twisted.python.failure import Failure

from newscrawler.archive.fsutil import atomic_write
from newscrawler.archive.retention import RetentionResult, apply_retention
from newscrawler.archive.session import ArchiveSession
from newscrawler.outcomes import PREFIX, Counters, counter

logger = logging.getLogger(__name__)

#: New posts listed by path in the log summary (the report lists them all).
SUMMARY_MAX_PATHS = 10


class ExitStatus(IntEnum):
    """The exit statuses of ``scrapy crawl`` (docs/operations.md "Exit statuses").

    1 and 2 are Scrapy's own; the others are the ``sysexits.h`` codes of their meaning.
    """

    #: A healthy run, "nothing new" included (some feeds or articles may have failed).
    OK = 0
    #: Scrapy: the crawl did not start (a bad spider argument, a store of a newer schema or locked by another program ...).
    START_FAILED = 1
    #: Scrapy: a usage error (unknown option, no spider name ...).
    USAGE = 2
    #: EX_UNAVAILABLE: feeds were configured and every one of them failed.
    ALL_FEEDS_FAILED = 69
    #: EX_CANTCREAT: the archive (or STATE_DIR) cannot be written: found before the crawl
    #: starts, or a post, the report or a retention move failed with an OS error.
    ARCHIVE_NOT_WRITABLE = 73
    #: EX_TEMPFAIL: another run holds the archive; this one did nothing.
    LOCKED = 75
    #: EX_PROTOCOL: the distributed mode's Redis did not answer at the start (nothing was
    #: done) or was lost during the run (what was handed on is safe; a later run does the rest).
    REDIS_UNAVAILABLE = 76
    #: 128 + SIGINT, as shells report it: the run was stopped by a signal (Ctrl-C, SIGTERM)
    #: before it was done; what it wrote is complete, the next run does the rest.
    INTERRUPTED = 130

    @property
    def label(self) -> str:
        return self.name.lower()


def _group(stats: dict[str, Any], group: str) -> dict[str, int]:
    prefix = f"{PREFIX}/{group}/"
    return {k[len(prefix) :]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


#: Scrapy's finish reason of a crawl stopped by a signal.
SHUTDOWN_REASON = "shutdown"


def run_status(stats: dict[str, Any], reason: str = "finished") -> ExitStatus:
    """The exit status a finished run's counters (and Scrapy's finish *reason*) call for."""
    if stats.get(counter("errors", "archive_write"), 0) or stats.get(counter("errors", "retention"), 0):
        return ExitStatus.ARCHIVE_NOT_WRITABLE
    if stats.get(counter("errors", "redis_lost"), 0):
        return ExitStatus.REDIS_UNAVAILABLE
    if reason == SHUTDOWN_REASON:
        return ExitStatus.INTERRUPTED
    feeds = _group(stats, "feeds")
    if feeds.get("failed", 0) > 0 and feeds.get("ok", 0) == 0:
        return ExitStatus.ALL_FEEDS_FAILED
    return ExitStatus.OK


def retention_report(result: RetentionResult | None, days: int) -> dict[str, Any]:
    if result is None:
        return {"days": days, "today": None, "moved": 0, "conflicts": [], "errors": []}
    return {
        "days": days,
        "today": result.today.isoformat(),
        "moved": len(result.moved),
        "conflicts": list(result.conflicts),
        "errors": [f"{path}: {reason}" for path, reason in result.errors],
    }


def build_report(
    stats: dict[str, Any],
    session: ArchiveSession,
    spider: str,
    reason: str,
    *,
    finished: datetime | None = None,
    status: ExitStatus | None = None,
    retention: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run report (``last-run.json``): every ``newscrawler/`` counter, grouped."""
    end = finished or datetime.now(UTC)
    started = stats.get("start_time")
    start = started if isinstance(started, datetime) else None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    exit_status = run_status(stats) if status is None else status
    feeds = _group(stats, "feeds")
    return {
        "spider": spider,
        "mode": session.config.mode,
        "finish_reason": reason,
        "interrupted": reason == SHUTDOWN_REASON,
        "exit_status": int(exit_status),
        "status": exit_status.label,
        "started": _iso(start) if start else None,
        "finished": _iso(end),
        "duration_seconds": round((end - start).total_seconds(), 1) if start else None,
        "archive_dir": str(session.config.archive_dir),
        "feeds": {"ok": feeds.pop("ok", 0), "failed": feeds.pop("failed", 0), **feeds},
        "new_posts": len(session.run.new_posts),
        "new_post_paths": list(session.run.new_posts),
        "unchanged_posts": int(stats.get(f"{PREFIX}/posts/unchanged", 0)),
        "skipped_known": int(stats.get(f"{PREFIX}/skipped/known", 0)),
        "lost": list(session.run.lost),
        "recovered": int(stats.get(f"{PREFIX}/text/recovered", 0)),
        "skipped_rejected": [
            {**entry, "retry": f"scrapy crawl {spider} -a codes={entry['code']}"}
            for entry in session.run.skipped_rejected
        ],
        "distributed": _group(stats, "distributed"),
        "duplicates": _group(stats, "duplicates"),
        "dropped": _group(stats, "dropped"),
        "errors": _group(stats, "errors"),
        "retention": retention or retention_report(None, 0),
        "stale_temp_files_removed": session.archive.stale_temp_files,
        "reconciled_posts": session.archive.reconciled,
        "counters": {k: v for k, v in sorted(stats.items()) if k.startswith(f"{PREFIX}/")},
    }


def _by_kind(group: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in group.items()) if group else "none"


def summary_lines(report: dict[str, Any], max_paths: int = SUMMARY_MAX_PATHS) -> list[str]:
    """The run summary for the log: a few lines, one screen."""
    duration = report.get("duration_seconds")
    took = f" in {duration:.1f} s" if isinstance(duration, int | float) else ""
    lines = [
        f"Run summary: {report['spider']} {report['finish_reason']}{took}, "
        f"exit status {report['exit_status']} ({report['status']})"
    ]
    feeds = report["feeds"]
    if feeds.get("ok") or feeds.get("failed"):
        entries = f", {feeds['entries']} entries" if "entries" in feeds else ""
        lines.append(f"  feeds: {feeds['ok']} ok, {feeds['failed']} failed{entries}")
    paths = report["new_post_paths"]
    distributed = report.get("distributed", {})
    if report.get("mode") == "worker":
        lines.append(
            f"  handed to the writer: {distributed.get('handed_off', 0)}; "
            f"left to other workers: {distributed.get('claimed_elsewhere', 0)}"
        )
    elif report.get("mode") == "writer":
        lines.append(
            f"  taken from the workers: {distributed.get('received', 0)}"
            f" (taken again after a killed writer: {distributed.get('recovered', 0)})"
        )
    lines.append(f"  new posts: {report['new_posts']}")
    lines += [f"    {path}" for path in paths[:max_paths]]
    if len(paths) > max_paths:
        lines.append(f"    and {len(paths) - max_paths} more")
    lines.append(
        f"  skipped (already archived): {report['skipped_known']}; unchanged posts: {report['unchanged_posts']}"
    )
    lost = report.get("lost", [])
    lines.append(f"  lost: {len(lost)}" + (" (no post: see below)" if lost else ""))
    lines += [f"    {entry['code']} {entry['url']}: {entry['reason'][:160]}" for entry in lost[:max_paths]]
    if len(lost) > max_paths:
        lines.append(f"    and {len(lost) - max_paths} more (last-run.json lists them all)")
    lines.append(f"  recovered by a fallback source: {report.get('recovered', 0)}")
    rejected = report.get("skipped_rejected", [])
    if rejected:
        codes = " ".join(entry["code"] for entry in rejected[:max_paths])
        lines.append(
            f"  skipped (refused by an earlier run): {len(rejected)}: {codes}"
            + (" ..." if len(rejected) > max_paths else "")
            + f"; to try one again: scrapy crawl {report['spider']} -a codes=CODE"
        )
    lines.append(f"  duplicates: {_by_kind(report['duplicates'])}")
    lines.append(f"  dropped: {_by_kind(report['dropped'])}")
    lines.append(f"  errors: {_by_kind(report['errors'])}")
    retention = report["retention"]
    if retention.get("days"):
        extra = "".join(
            f", {len(retention[key])} {key}" for key in ("conflicts", "errors") if retention.get(key)
        )
        lines.append(
            f"  retention: {retention['moved']} posts older than {retention['days']} days moved to old_post/{extra}"
        )
    return lines


class RunReport:
    """At the end of a run that held the archive: retention, the exit status,
    ``last-run.json``, then release the archive (store and lock); the summary is
    logged at ``engine_stopped``, after Scrapy's stats dump.

    The project's ``scrapy crawl`` reads :attr:`exit_status` when the crawl is over.
    """

    def __init__(
        self,
        crawler: Crawler,
        session: ArchiveSession,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.crawler = crawler
        self.counters = Counters(crawler.stats)
        self.session = session
        self.retention_days = session.config.retention_days
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        #: The run's exit status; None until a run that held the archive has closed.
        self.exit_status: ExitStatus | None = None
        #: The report written to ``last-run.json``; None until then.
        self.report: dict[str, Any] | None = None
        #: The run opened the archive and started (a run that ends without a report was stopped).
        self.started = False
        self._summary: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReport:
        ext = cls(crawler, ArchiveSession.from_crawler(crawler))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def item_error(self, failure: Failure, **kwargs: Any) -> None:
        """A pipeline failed with an ``OSError`` (disk full, read-only, ...): the archive is
        not writable (``newscrawler/errors/archive_write``, exit status 73)."""
        if isinstance(getattr(failure, "value", None), OSError):
            self.counters.inc("errors", "archive_write")

    def spider_opened(self, spider: Spider) -> None:
        """A report that says this run is running replaces the last run's: a run killed
        before it writes its own report leaves no report claiming it went well."""
        if not self.session.holds_run:
            return
        self.started = True
        running = {
            "spider": spider.name,
            "status": "running",
            "exit_status": None,
            "pid": os.getpid(),
            "started": _iso(datetime.now(UTC)),
            "archive_dir": str(self.session.config.archive_dir),
        }
        self._write(running)

    def _write(self, report: dict[str, Any]) -> bool:
        """Write *report* as ``last-run.json``; an OS error is logged and counted (False)."""
        path = self.session.report_file
        data = json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
        try:
            atomic_write(path, data.encode("utf-8"))
        except OSError as exc:
            logger.error("Cannot write the run report %s: %s", path, exc)
            self.counters.inc("errors", "archive_write")
            return False
        return True

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if not self.session.holds_run:
            return  # this run never held the archive (e.g. the lock was held): write nothing
        try:
            retention = self._retention()
            assert self.crawler.stats is not None
            stats = self.crawler.stats.get_stats()
            status = run_status(stats, reason)
            report = build_report(
                stats,
                self.session,
                spider.name,
                reason,
                finished=self.clock(),
                status=status,
                retention=retention,
            )
            if not self._write(report):
                status = ExitStatus.ARCHIVE_NOT_WRITABLE
                report.update(exit_status=int(status), status=status.label)
            self.exit_status = status
            self.report = report
            self._summary = summary_lines(report)
        finally:
            self.session.archive.close()

    def _retention(self) -> dict[str, Any]:
        days = self.retention_days
        if days <= 0 or self.session.config.worker:
            return retention_report(None, 0)
        try:
            result = apply_retention(
                self.session.config.archive_dir, days, store=self.session.archive.store, clock=self.clock
            )
        except Exception:
            logger.exception("Retention failed in %s", self.session.config.archive_dir)
            self.counters.inc("errors", "retention")
            return retention_report(None, days)
        if result.moved:
            self.counters.inc("retention", "moved", count=len(result.moved))
        if result.conflicts:
            self.counters.inc("retention", "conflicts", count=len(result.conflicts))
        if result.errors:
            self.counters.inc("errors", "retention", count=len(result.errors))
        return retention_report(result, days)

    def engine_stopped(self) -> None:
        if self._summary:
            logger.info("%s", "\n".join(self._summary))
            self._summary = []
