"""End to end, the distributed mode (docs/distributed.md): ``scrapy crawl`` workers and the
``writer`` as subprocesses, a real ``redis-server`` and the loopback server.

The fake eastmoney of the reliability tests (every fault and bad item, and good articles)
is crawled once by a single process and once by two workers and a writer: the archives
must be equal byte for byte, and every article URL asked exactly as often. Then the
faults of the mode: Redis down at the start, Redis lost mid-run (a worker, the writer),
a worker and the writer killed mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from newscrawler.dev.redis import RedisServer
from newscrawler.dev.server import Hangup, LoopbackServer, Ok, Route, Slow, closed_port
from tests.conftest import REPO, crawl_command, run_crawl
from tests.crawl.test_reliability import (
    FAKE,
    MEDIA_FEED,
    eastmoney_of,
    media_record,
    text_answer,
    text_path,
)
from tests.support import json_body, serve

pytestmark = pytest.mark.crawl

ARCHIVE_PARTS = ("_posts", "old_post", "category")
#: A feed that lists nothing: a worker reading it only works off the shared queue.
EMPTY_FEED = "/feeds/nothing.json"


def tree(archive: Path) -> dict[str, bytes]:
    """Every file of the archive's posts and category pages, by relative path."""
    files: dict[str, bytes] = {}
    for part in ARCHIVE_PARTS:
        for path in sorted((archive / part).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(archive))] = path.read_bytes()
    return files


def distributed(redis_url: str, state: Path, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "STATE_DIR": str(state), "REDIS_HEARTBEAT_SECONDS": "2", **extra}


def start(spider: str, archive: Path, settings: dict[str, str]) -> subprocess.Popen[str]:
    command, env = crawl_command(spider, archive, settings=settings)
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def kill(process: subprocess.Popen[str]) -> str:
    os.killpg(process.pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    return stderr


def report(state: Path, name: str = "last-run.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state / name).read_text("utf-8"))
    return data


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def article_hits(server: LoopbackServer) -> Counter[str]:
    """Requests per target, the feeds left out (every worker reads them)."""
    return Counter({t: n for t, n in server.hits.items() if not t.startswith("/feeds/")})


def temp_files(archive: Path) -> list[Path]:
    return [p for part in ARCHIVE_PARTS for p in (archive / part).glob(".*.tmp")]


# --- two workers and a writer = one process ---------------------------------------------------


@dataclass
class Runs:
    single: Path
    multi: Path
    single_hits: Counter[str]
    multi_hits: Counter[str]
    workers: list[tuple[int, str, dict[str, Any]]]
    writer: tuple[int, str, dict[str, Any]]
    rerun_hits: Counter[str]
    rerun: tuple[int, str, dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("distributed")
    with serve(FAKE.routes) as server, RedisServer() as redis_server:
        settings = eastmoney_of(server, FAKE.feeds)
        single = run_crawl("eastmoney", root / "single", settings=settings, timeout=120)
        assert single.returncode == 0, single.stderr[-3000:]
        single_hits = article_hits(server)
        server.reset()
        states = [root / "worker-1", root / "worker-2"]
        workers = [
            start("eastmoney", root / f"scratch-{n}", {**settings, **distributed(redis_server.url, state)})
            for n, state in enumerate(states)
        ]
        writer = start(
            "writer",
            root / "multi",
            distributed(redis_server.url, root / "multi-state", REDIS_WRITER_IDLE_SECONDS="5"),
        )
        worker_results = [
            (*finish(w), report(state, "last-worker-run.json"))
            for w, state in zip(workers, states, strict=True)
        ]
        writer_code, writer_log = finish(writer)
        multi_hits = article_hits(server)
        # A scheduled run later: the feeds unchanged.
        server.reset()
        rerun_state = root / "worker-3"
        rerun_worker = start(
            "eastmoney", root / "scratch-3", {**settings, **distributed(redis_server.url, rerun_state)}
        )
        rerun = (*finish(rerun_worker), report(rerun_state, "last-worker-run.json"))
        rerun_hits = article_hits(server)
    yield Runs(
        single=root / "single",
        multi=root / "multi",
        single_hits=single_hits,
        multi_hits=multi_hits,
        workers=worker_results,
        writer=(writer_code, writer_log, report(root / "multi-state")),
        rerun_hits=rerun_hits,
        rerun=rerun,
    )


def test_two_workers_and_a_writer_write_exactly_the_single_process_archive(runs: Runs) -> None:
    single, multi = tree(runs.single), tree(runs.multi)
    assert len(single) > 10
    assert sorted(multi) == sorted(single)
    assert [path for path in single if single[path] != multi[path]] == []


def test_no_article_is_fetched_more_often_than_by_one_process(runs: Runs) -> None:
    # A connection that hangs up is tried again by Twisted's connection pool when it was a
    # reused keep-alive connection: how often those targets are asked depends on timing.
    def comparable(hits: Counter[str]) -> Counter[str]:
        return Counter({t: n for t, n in hits.items() if not isinstance(FAKE.routes.get(t), Hangup)})

    assert set(runs.multi_hits) == set(runs.single_hits)
    assert comparable(runs.multi_hits) == comparable(runs.single_hits)


def test_the_workers_shared_the_work_and_exited_ok(runs: Runs) -> None:
    handed = 0
    for code, log, worker_report in runs.workers:
        assert code == 0, log[-3000:]
        assert worker_report["mode"] == "worker" and worker_report["status"] == "ok"
        assert "Traceback" not in log
        handed += worker_report["distributed"].get("handed_off", 0)
    writer_code, writer_log, writer_report = runs.writer
    assert writer_code == 0, writer_log[-3000:]
    assert writer_report["mode"] == "writer" and writer_report["status"] == "ok"
    assert writer_report["new_posts"] == len(list((runs.single / "_posts").glob("*.md")))
    # Every article handed off reached the writer (refusals too: those are messages as well).
    assert writer_report["distributed"]["received"] >= handed >= writer_report["new_posts"]


def test_a_later_worker_over_unchanged_feeds_fetches_no_article(runs: Runs) -> None:
    code, log, worker_report = runs.rerun
    assert code == 0, log[-3000:]
    assert runs.rerun_hits == Counter()
    assert worker_report["skipped_known"] > 0
    assert worker_report["distributed"].get("handed_off", 0) == 0


# --- Redis down, Redis lost -------------------------------------------------------------------


def test_redis_down_at_the_start_is_one_line_and_exit_76_nothing_fetched(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    with serve(FAKE.routes) as server:
        for spider, settings in (
            ("eastmoney", eastmoney_of(server, FAKE.feeds)),
            ("writer", {}),
        ):
            result = run_crawl(
                spider,
                tmp_path / spider,
                settings={**settings, **distributed(url, tmp_path / f"{spider}-state")},
            )
            assert result.returncode == 76, result.stderr[-3000:]
            errors = [line for line in result.stderr.splitlines() if " ERROR: " in line]
            assert len(errors) == 1 and "Cannot reach Redis at redis://127.0.0.1:" in errors[0]
            assert "Traceback" not in result.stderr
        assert server.requests == []
    assert not (tmp_path / "writer" / "_posts").exists()
    assert not (tmp_path / "writer-state" / "seen.db").exists()


def slow_articles(count: int, seconds: float) -> tuple[dict[str, Route], list[str]]:
    """A media feed of *count* articles whose text-API answers each take *seconds*."""
    routes: dict[str, Route] = {}
    records, codes = [], []
    for n in range(count):
        code = f"20220401{n + 1:010d}"
        codes.append(code)
        records.append(media_record(code))
        answer = Ok(json_body(text_answer(code)))
        routes[text_path(code)] = Slow(seconds, answer) if seconds else answer
    routes[MEDIA_FEED] = Ok(json_body({"rc": 1, "record": records}))
    routes[EMPTY_FEED] = Ok(json_body({"rc": 1, "record": []}))
    return routes, codes


def few_at_a_time(server: LoopbackServer, **extra: str) -> dict[str, str]:
    return eastmoney_of(
        server,
        [MEDIA_FEED],
        DOWNLOAD_TIMEOUT="10",
        CONCURRENT_REQUESTS="2",
        CONCURRENT_REQUESTS_PER_DOMAIN="2",
        **extra,
    )


def test_redis_lost_mid_run_ends_a_worker_cleanly_with_a_counted_error(tmp_path: Path) -> None:
    routes, _ = slow_articles(30, 0.3)
    with serve(routes) as server, RedisServer() as redis_server:
        client = redis.Redis.from_url(redis_server.url)
        state = tmp_path / "state"
        worker = start(
            "eastmoney",
            tmp_path / "scratch",
            {**few_at_a_time(server), **distributed(redis_server.url, state)},
        )
        wait_for(lambda: client.llen("newscrawler:items") >= 2, what="two articles handed off")
        redis_server.stop()
        code, log = finish(worker, timeout=60)
    assert code == 76, log[-3000:]
    assert "Lost Redis at redis://127.0.0.1:" in log
    assert "Traceback" not in log
    worker_report = report(state, "last-worker-run.json")
    assert worker_report["status"] == "redis_unavailable"
    assert worker_report["errors"]["redis_lost"] >= 1
    assert worker_report["finish_reason"] == "redis_lost"


def test_redis_lost_mid_run_ends_the_writer_cleanly_posts_complete(tmp_path: Path) -> None:
    routes, codes = slow_articles(5, 0)
    with serve(routes) as server, RedisServer() as redis_server:
        worker = run_crawl(
            "eastmoney",
            tmp_path / "scratch",
            settings={**few_at_a_time(server), **distributed(redis_server.url, tmp_path / "w")},
        )
        assert worker.returncode == 0, worker.stderr[-3000:]
        # A writer that runs as a service (never stops by itself) loses its Redis.
        writer = start(
            "writer",
            tmp_path / "archive",
            distributed(redis_server.url, tmp_path / "state", REDIS_WRITER_IDLE_SECONDS="0"),
        )
        posts = tmp_path / "archive" / "_posts"
        wait_for(lambda: len(list(posts.glob("*.md"))) == len(codes), what="the posts")
        redis_server.stop()
        code, log = finish(writer, timeout=60)
    assert code == 76, log[-3000:]
    assert "Traceback" not in log
    assert temp_files(tmp_path / "archive") == []
    writer_report = report(tmp_path / "state")
    assert writer_report["status"] == "redis_unavailable" and writer_report["new_posts"] == len(codes)


# --- kills ------------------------------------------------------------------------------------


def single_then_a_worker(
    tmp_path: Path, server: LoopbackServer, redis_url: str, client: redis.Redis
) -> subprocess.Popen[str]:
    """The single-process archive of *server* in ``tmp_path/single``, then a worker started
    over the same feed, once it has handed three articles to the writer."""
    single = run_crawl("eastmoney", tmp_path / "single", settings=few_at_a_time(server))
    assert single.returncode == 0, single.stderr[-3000:]
    server.reset()
    settings = {**few_at_a_time(server), **distributed(redis_url, tmp_path / "w1")}
    worker = start("eastmoney", tmp_path / "scratch", settings)
    wait_for(lambda: client.llen("newscrawler:items") >= 3, what="three articles handed off")
    return worker


def finish_from_the_queue(tmp_path: Path, server: LoopbackServer, redis_url: str) -> str:
    """A worker over a feed that lists none of the articles (only what the shared queue
    holds can be fetched), then the writer."""
    later = {**few_at_a_time(server), **distributed(redis_url, tmp_path / "w2")}
    later["EASTMONEY_FEEDS"] = server.url + EMPTY_FEED
    second = run_crawl("eastmoney", tmp_path / "scratch", settings=later)
    assert second.returncode == 0, second.stderr[-3000:]
    writer = run_crawl(
        "writer",
        tmp_path / "multi",
        settings=distributed(redis_url, tmp_path / "state", REDIS_WRITER_IDLE_SECONDS="1"),
    )
    assert writer.returncode == 0, writer.stderr[-3000:]
    return second.stderr


def test_a_worker_killed_mid_run_loses_nothing(tmp_path: Path) -> None:
    routes, codes = slow_articles(24, 0.4)
    with serve(routes) as server, RedisServer() as redis_server:
        client = redis.Redis.from_url(redis_server.url)
        first = single_then_a_worker(tmp_path, server, redis_server.url, client)
        kill(first)
        assert client.llen("newscrawler:items") < len(codes), "the worker finished before it was killed"
        taken = client.llen(f"newscrawler:taken:{client.zrange('newscrawler:workers', 0, 0)[0].decode()}")
        assert taken > 0, "the killed worker had no request in hand"
        # Once the killed worker's heartbeat ran out (2 s): what it had taken is queued again.
        time.sleep(2.5)
        log = finish_from_the_queue(tmp_path, server, redis_server.url)
        assert "newscrawler/distributed/requeued" in log
    assert tree(tmp_path / "multi") == tree(tmp_path / "single")
    assert len(tree(tmp_path / "single")) == len(codes) + 1  # the posts and one category page


def test_a_drained_worker_hands_back_what_it_had_and_the_next_one_finishes(tmp_path: Path) -> None:
    routes, codes = slow_articles(24, 0.4)
    with serve(routes) as server, RedisServer() as redis_server:
        client = redis.Redis.from_url(redis_server.url)
        first = single_then_a_worker(tmp_path, server, redis_server.url, client)
        os.killpg(first.pid, signal.SIGTERM)  # systemctl stop
        code, log = finish(first)
        assert code == 130, log[-3000:]
        assert client.llen("newscrawler:items") < len(codes), "the worker finished before it was stopped"
        assert "are queued again" in log
        assert client.zcard("newscrawler:workers") == 0 and not client.keys("newscrawler:taken:*")
        finish_from_the_queue(tmp_path, server, redis_server.url)  # at once: no heartbeat to wait for
    assert tree(tmp_path / "multi") == tree(tmp_path / "single")


def test_the_writer_killed_mid_batch_is_completed_by_the_next(tmp_path: Path) -> None:
    routes, codes = slow_articles(150, 0)
    with serve(routes) as server, RedisServer() as redis_server:
        single = run_crawl("eastmoney", tmp_path / "single", settings=eastmoney_of(server, [MEDIA_FEED]))
        assert single.returncode == 0, single.stderr[-3000:]
        server.reset()
        worker = run_crawl(
            "eastmoney",
            tmp_path / "scratch",
            settings={**eastmoney_of(server, [MEDIA_FEED]), **distributed(redis_server.url, tmp_path / "w")},
        )
        assert worker.returncode == 0, worker.stderr[-3000:]
        # One post per batch (a filesystem sync each): the writer is slow enough to be killed mid-way.
        settings = distributed(
            redis_server.url, tmp_path / "state", REDIS_WRITER_IDLE_SECONDS="1", WRITE_BATCH_SIZE="1"
        )
        posts = tmp_path / "multi" / "_posts"
        first = start("writer", tmp_path / "multi", settings)
        wait_for(lambda: len(list(posts.glob("*.md"))) >= 10, what="ten posts")
        kill(first)
        assert len(list(posts.glob("*.md"))) < len(codes), "the writer finished before it was killed"
        second = run_crawl("writer", tmp_path / "multi", settings=settings)
        assert second.returncode == 0, second.stderr[-3000:]
        client = redis.Redis.from_url(redis_server.url)
        assert client.llen("newscrawler:items") == 0 and client.llen("newscrawler:items:writing") == 0
        assert client.scard("newscrawler:known") == len(codes)
    assert tree(tmp_path / "multi") == tree(tmp_path / "single")
    assert temp_files(tmp_path / "multi") == []


def test_a_second_writer_on_the_same_redis_exits_75_and_does_nothing(tmp_path: Path) -> None:
    with RedisServer() as redis_server:
        client = redis.Redis.from_url(redis_server.url)
        first = start(
            "writer",
            tmp_path / "one",
            distributed(redis_server.url, tmp_path / "one-state", REDIS_WRITER_IDLE_SECONDS="0"),
        )
        wait_for(lambda: client.exists("newscrawler:view") == 1, what="the first writer to start")
        # Another archive, another machine: the same Redis prefix.
        second = run_crawl(
            "writer", tmp_path / "two", settings=distributed(redis_server.url, tmp_path / "two-state")
        )
        os.killpg(first.pid, signal.SIGTERM)
        code, log = finish(first)
    assert second.returncode == 75, second.stderr[-3000:]
    assert "another writer (" in second.stderr and "exiting without doing anything" in second.stderr
    assert not (tmp_path / "two-state" / "seen.db").exists()
    assert code == 130, log[-3000:]


def test_finews_with_follow_shares_two_workers_write_the_single_process_archive(tmp_path: Path) -> None:
    from tests.conftest import eastmoney_settings
    from tests.crawl.test_finews import BACKUP_SITE, ORIGINALS_DIR, SITE_DIR

    with (
        LoopbackServer(SITE_DIR).running() as site,
        LoopbackServer(ORIGINALS_DIR).running() as originals,
        RedisServer() as redis_server,
    ):
        args = {"start_url": f"{site.url}/", "follow_shares": "true"}
        settings = {"ARCHIVE_SITE": BACKUP_SITE, **eastmoney_settings(originals.url)}
        single = run_crawl("finews", tmp_path / "single", args=args, settings=settings)
        assert single.returncode == 0, single.stderr[-3000:]
        single_hits = Counter(originals.hits)
        originals.reset()
        workers = []
        for n in range(2):
            command, env = crawl_command(
                "finews",
                tmp_path / f"scratch-{n}",
                args=args,
                settings={**settings, **distributed(redis_server.url, tmp_path / f"w{n}")},
            )
            workers.append(
                subprocess.Popen(
                    command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
                )
            )
        writer = run_crawl(
            "writer",
            tmp_path / "multi",
            settings={"ARCHIVE_SITE": BACKUP_SITE, **distributed(redis_server.url, tmp_path / "state")},
        )
        for worker in workers:
            code, log = finish(worker)
            assert code == 0, log[-3000:]
        assert writer.returncode == 0, writer.stderr[-3000:]
        multi_hits = Counter(originals.hits)
    single_tree, multi_tree = tree(tmp_path / "single"), tree(tmp_path / "multi")
    assert len(single_tree) > 5 and multi_tree == single_tree
    # Each original asked for as often as by one process (the site's pages: by every worker).
    assert multi_hits == single_hits
