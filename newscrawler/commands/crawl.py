"""``scrapy crawl`` with exit statuses a scheduler can act on (docs/operations.md "Exit statuses").

Scrapy's ``crawl`` command (a project command of the same name overrides a built-in one,
``COMMANDS_MODULE`` in the settings), plus:

* before the crawl starts, it takes the archive's run lock and hands it to the crawl's
  :class:`~newscrawler.archive.session.Archive` (which keeps it until the run report is
  written), then checks that the archive can be written. When another run holds the lock,
  or the archive cannot be written, it says so in one log line and exits with
  :attr:`~ExitStatus.LOCKED` or :attr:`~ExitStatus.ARCHIVE_NOT_WRITABLE`, without starting
  the crawl;
* a spider's ``check_arguments(settings, spargs)`` classmethod, when it has one, is asked
  first: a bad argument or setting is one log line and :attr:`~ExitStatus.USAGE`, before
  anything is fetched or locked;
* Scrapy's settings, component and stats dumps are logged at DEBUG unless
  ``NEWSCRAWLER_LOG_DUMPS`` is on (:func:`~newscrawler.logformatter.scrapy_dumps_at_debug`),
  and the project's and Scrapy's loggers are set to ``LOG_LEVEL``
  (:func:`~newscrawler.logformatter.loggers_at`);
* when the crawl is over, it exits with the status the
  :class:`~newscrawler.extensions.RunReport` extension decided, or 1 when the crawl did not
  start (Scrapy's convention; 2 stays a usage error).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from newscrawler.archive.fsutil import temp_name
from newscrawler.archive.layout import LOCK_FILE, TEMP_DIRS, WORKER_LOCK_FILE
from newscrawler.archive.lock import LockHeld
from newscrawler.archive.session import Archive, ArchiveSession
from newscrawler.extensions import ExitStatus, RunReport
from newscrawler.logformatter import loggers_at, scrapy_dumps_at_debug

logger = logging.getLogger(__name__)

EXIT_STATUS_HELP = """\
Exit status: 0 a healthy run (nothing new included); 1 the crawl did not start (see the
log); 2 usage error; 69 every feed failed; 73 the archive cannot be written; 75 another
run holds the archive (this one did nothing); 76 Redis (REDIS_URL) unreachable or lost;
130 stopped by a signal before it finished.
The run's report is written to <STATE_DIR>/last-run.json.
"""


def check_writable(directories: Iterable[Path]) -> None:
    """Create each directory when missing and create and remove a hidden file in it;
    raises ``OSError`` for the first one that cannot be written."""
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
        probe = temp_name(directory / "write-probe")
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.close(fd)
        probe.unlink()


def archive_directories(session: Archive) -> list[Path]:
    """The folders a run writes to: STATE_DIR, the archive root, and those of its
    folders that already exist."""
    folders = [session.archive_dir / name for name in TEMP_DIRS]
    return [session.state_dir, session.archive_dir, *(f for f in folders if f.exists() or f.is_symlink())]


_KEY_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_redis(session: ArchiveSession) -> ExitStatus | None:
    """The distributed mode: a usable key prefix and a Redis that answers; on failure log
    why in one line and return the exit status (nothing was locked or fetched)."""
    config = session.config
    if not _KEY_PREFIX_RE.match(config.redis_prefix):
        logger.error("REDIS_KEY_PREFIX=%r: use letters, digits and _.- only", config.redis_prefix)
        return ExitStatus.USAGE
    try:
        import scrapy_redis  # noqa: F401 (installed?)

        from newscrawler.distributed.shared import REDIS_ERRORS, safe_url
    except ImportError as exc:
        logger.error("REDIS_URL is set but %s: pip install 'newscrawler[distributed]'", exc)
        return ExitStatus.USAGE
    try:
        shared = session.shared
        assert shared is not None
        shared.ping()
    except (*REDIS_ERRORS, ValueError) as exc:
        logger.error(
            "Cannot reach Redis at %s (REDIS_URL): %s; exiting without doing anything",
            safe_url(config.redis_url),
            exc,
        )
        return ExitStatus.REDIS_UNAVAILABLE
    return None


def claim_worker(session: Archive) -> ExitStatus | None:
    """A worker of the distributed mode: its own lock in STATE_DIR (one worker per
    STATE_DIR), which must be writable; it never touches the archive."""
    return _claim(
        session, WORKER_LOCK_FILE, [session.state_dir], f"the worker's state in {session.state_dir}"
    )


def claim_writer(session: ArchiveSession) -> ExitStatus | None:
    """The distributed mode's writer: the run lock of the archive, then the writer's lease
    in Redis (one writer per key prefix, whatever its archive or machine)."""
    refused = claim_archive(session.archive)
    if refused is not None:
        return refused
    from newscrawler.distributed.shared import REDIS_ANY_ERROR, is_dead_here
    from newscrawler.spiders.writer import LEASE_SECONDS

    shared = session.shared
    assert shared is not None
    try:
        if shared.lease_writer(LEASE_SECONDS):
            return None
        holder = shared.writer_holder()
        # A writer of this machine that was killed: its lease need not run out first.
        if holder and is_dead_here(holder) and shared.take_over_writer(LEASE_SECONDS, holder):
            logger.warning("Took over the writer's lease of %s, which is no longer running", holder)
            return None
    except REDIS_ANY_ERROR as exc:
        session.archive.close()
        logger.error("Cannot take the writer's lease in Redis: %s; exiting without doing anything", exc)
        return ExitStatus.REDIS_UNAVAILABLE
    session.archive.close()
    logger.error(
        "another writer (%s) is writing from Redis prefix %s; exiting without doing anything",
        holder or "?",
        session.config.redis_prefix,
    )
    return ExitStatus.LOCKED


def claim_archive(session: Archive) -> ExitStatus | None:
    """Take the run lock for *session* and check the archive is writable; on failure log
    why in one line and return the exit status (the lock is not kept)."""
    return _claim(session, LOCK_FILE, archive_directories(session), f"the archive {session.archive_dir}")


def _claim(session: Archive, lock_file: str, folders: list[Path], what: str) -> ExitStatus | None:
    """Take *lock_file* in STATE_DIR, then check that *folders* can be written (*what*, for the log)."""
    try:
        session.lock_archive(lock_file)
    except LockHeld as exc:
        logger.error("%s", exc)
        return ExitStatus.LOCKED
    except OSError as exc:
        logger.error(
            "Cannot write the archive's state in %s: %s; exiting without doing anything",
            session.state_dir,
            exc,
        )
        return ExitStatus.ARCHIVE_NOT_WRITABLE
    try:
        check_writable(folders)
    except OSError as exc:
        session.close()
        logger.error("Cannot write %s: %s; exiting without doing anything", what, exc)
        return ExitStatus.ARCHIVE_NOT_WRITABLE
    return None


def _run_report(crawler: Crawler) -> RunReport | None:
    try:
        return crawler.get_extension(RunReport)
    except RuntimeError:  # the crawl failed before its extensions were built
        return None


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider of the current project, by name (exit statuses: scrapy crawl -h)"

    def long_desc(self) -> str:
        return (
            "Run a spider of the current project, by name, into the archive (ARCHIVE_DIR).\n\n"
            + EXIT_STATUS_HELP
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        quiet = (
            contextlib.nullcontext()
            if self.settings.getbool("NEWSCRAWLER_LOG_DUMPS")
            else scrapy_dumps_at_debug()
        )
        with quiet, loggers_at(self.settings["LOG_LEVEL"]):
            self._run(args, opts)

    def _run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) < 1:
            raise UsageError
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        check_arguments = getattr(crawler.spidercls, "check_arguments", None)
        if check_arguments is not None:
            try:
                check_arguments(crawler.settings, opts.spargs)
            except UsageError as exc:
                logger.error("%s", exc)
                self.exitcode = int(ExitStatus.USAGE)
                return
        archive_session = ArchiveSession.from_crawler(crawler)
        session = archive_session.archive
        config = archive_session.config
        refused = check_redis(archive_session) if config.distributed else None
        if refused is None:
            if config.worker:
                refused = claim_worker(session)
            elif config.writer:
                refused = claim_writer(archive_session)
            else:
                refused = claim_archive(session)
        if refused is not None:
            self.exitcode = int(refused)
            return
        try:
            self.crawler_process.crawl(crawler, **opts.spargs)
            self.crawler_process.start()
        finally:
            session.close()  # a crawl that never opened the archive still holds the lock
        report = _run_report(crawler)
        status = report.exit_status if report is not None else None
        if report is not None and report.started and status is None:
            # Stopped before its report (a second Ctrl-C): its report still says "running".
            logger.error("The run was stopped before it finished: exit status %d", ExitStatus.INTERRUPTED)
            self.exitcode = int(ExitStatus.INTERRUPTED)
        elif status:
            self.exitcode = int(status)
        elif self.crawler_process.bootstrap_failed:
            self.exitcode = int(ExitStatus.START_FAILED)
        else:
            self.exitcode = int(ExitStatus.OK)
