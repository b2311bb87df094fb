"""The distributed mode (docs/distributed.md): articles a second of 1 and 2 workers (plus
the writer) against the single-process crawl and the bare spider, on this machine.

Generates a media feed of N articles (default 2,000) with their text-API answers (as
``bench_throughput.py`` does), served from memory on 127.0.0.1, and a fresh
``redis-server`` (``newscrawler/dev/redis.py``) for every distributed run. Then, for
``--rounds`` rounds, in turn:

A. ``scrapy crawl eastmoney`` into a fresh archive: the single-process crawl;
B. 1 worker (``scrapy crawl eastmoney -s REDIS_URL=...``) and the writer
   (``scrapy crawl writer``), started together, into a fresh archive;
C. 2 workers and the writer;
D. ``scrapy runspider bench/bare_spider.py``: the same requests, no item processing.

Each is timed from the server's first request (a feed) to the last post written (the
newest post file's mtime; for the bare spider: its exit), so that start-ups are left out;
articles/s = N / that time. Every run must end with N posts (B, C: written by the writer)
and every article requested exactly once (the server counts them). The figures are the
medians over the rounds, and the ratios against A and D. On a 2-core machine the workers,
the writer, Redis and the server share the two cores: the mode is for several machines,
this measures its overhead.

Also: publishing the shared view of a million-article archive to Redis (``--view``).

    .venv/bin/python bench/bench_distributed.py [--articles 2000] [--rounds 3] [--view 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    BENCH,
    ROOT,
    bench_server,
    check_run,
    crawl_settings,
    machine_line,
    make_articles,
    print_result,
    run_scrapy,
    scrapy_command,
    site_pages,
)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from newscrawler.dev.redis import RedisServer
from newscrawler.dev.server import LoopbackServer
from newscrawler.distributed.shared import Keys, Shared, connect

BARE_ARGS = ["runspider", str(BENCH / "bare_spider.py")]
#: The result keys of the runs.
KEYS = ("single", "one_worker", "two_workers", "bare")


def last_post_time(archive: Path) -> float:
    """The newest post's mtime, on the ``time.perf_counter`` clock of this process."""
    newest = max(path.stat().st_mtime for path in (archive / "_posts").glob("*.md"))
    return time.perf_counter() - (time.time() - newest)


def check_archive(archive: Path, articles: int, what: str, server: LoopbackServer) -> None:
    posts = len(list((archive / "_posts").glob("*.md")))
    if posts != articles:
        raise SystemExit(f"{what}: {posts} posts, expected {articles}")
    texts = [n for target, n in server.hits.items() if target.startswith("/NewsData/")]
    if len(texts) != articles or any(n != 1 for n in texts):
        raise SystemExit(
            f"{what}: {len(texts)} articles asked, {sum(texts)} requests; expected {articles} once each"
        )


def run_single(server: LoopbackServer, tmp: Path, label: str, articles: int) -> float:
    archive = tmp / label
    result = run_scrapy(server, ["crawl", "eastmoney"], crawl_settings(server.url, archive))
    check_run(result, f"single-process run {label}")
    check_archive(archive, articles, f"single-process run {label}", server)
    assert server.first_request is not None
    return last_post_time(archive) - server.first_request


def run_distributed(server: LoopbackServer, tmp: Path, label: str, articles: int, workers: int) -> float:
    archive = tmp / label
    server.reset()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with RedisServer() as redis_server:
        common = {"REDIS_URL": redis_server.url, "LOG_LEVEL": "WARNING"}
        commands = [
            scrapy_command(
                ["crawl", "writer"],
                {**common, "ARCHIVE_DIR": str(archive), "REDIS_WRITER_IDLE_SECONDS": "1"},
            )
        ]
        for n in range(workers):
            settings = {
                **crawl_settings(server.url, tmp / f"{label}-scratch-{n}"),
                **common,
                "STATE_DIR": str(tmp / f"{label}-worker-{n}"),
            }
            commands.append(scrapy_command(["crawl", "eastmoney"], settings))
        processes = [
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            for command in commands
        ]
        for process, command in zip(processes, commands, strict=True):
            _, stderr = process.communicate(timeout=900)
            if process.returncode != 0:
                tail = "\n".join(stderr.splitlines()[-30:])
                raise SystemExit(
                    f"{label}: {' '.join(command[2:5])} failed with {process.returncode}:\n{tail}"
                )
    check_archive(archive, articles, label, server)
    assert server.first_request is not None
    return last_post_time(archive) - server.first_request


def run_bare(server: LoopbackServer, articles: int) -> float:
    result = run_scrapy(server, BARE_ARGS, crawl_settings(server.url, None))
    check_run(result, "bare run")
    if result.counts.get("text", 0) != articles:
        raise SystemExit(f"bare run made {result.counts} requests, expected {articles} text requests")
    return result.crawl_s


def publish_view(size: int) -> float:
    """Seconds to publish *size* article codes (and no refusals) as the shared view."""
    with RedisServer() as redis_server:
        shared = Shared(connect(redis_server.url), Keys("bench"))
        codes = (f"2022{n:014d}" for n in range(size))
        started = time.perf_counter()
        published = shared.publish("bench", codes, iter(()))
        seconds = time.perf_counter() - started
        if published != size or shared.client.scard("bench:known") != size:
            raise SystemExit(f"published {published} of {size} codes")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--view", type=int, default=1_000_000, help="codes of the shared view to publish (0: skip)"
    )
    args = parser.parse_args()
    n = args.articles
    print(f"bench_distributed: {n} articles, {args.rounds} rounds; {machine_line()}", flush=True)
    kinds = ("single", "1 worker", "2 workers", "bare")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    with (
        tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp_name,
        bench_server(site_pages(make_articles(n))).running() as server,
    ):
        tmp = Path(tmp_name)
        for round_ in range(args.rounds):
            times["single"].append(run_single(server, tmp, f"single-{round_}", n))
            times["1 worker"].append(run_distributed(server, tmp, f"one-{round_}", n, 1))
            times["2 workers"].append(run_distributed(server, tmp, f"two-{round_}", n, 2))
            times["bare"].append(run_bare(server, n))
            print(
                f"round {round_ + 1}: " + ", ".join(f"{kind} {n / times[kind][-1]:,.0f}/s" for kind in kinds),
                flush=True,
            )
    rate = {kind: n / statistics.median(values) for kind, values in times.items()}
    print(f"\n{'run':<12} {'articles/s':>10} {'vs single':>10} {'vs bare':>8}   (medians of {args.rounds})")
    for kind in kinds:
        print(
            f"{kind:<12} {rate[kind]:>10,.0f} {rate[kind] / rate['single']:>10.2f} {rate[kind] / rate['bare']:>8.2f}"
        )
    result: dict[str, object] = {
        "bench": "distributed",
        "articles": n,
        "rounds": args.rounds,
        **{f"{key}_per_s": round(rate[kind], 1) for key, kind in zip(KEYS, kinds, strict=True)},
        "one_worker_vs_single": round(rate["1 worker"] / rate["single"], 2),
        "two_workers_vs_single": round(rate["2 workers"] / rate["single"], 2),
        "two_workers_vs_bare": round(rate["2 workers"] / rate["bare"], 2),
    }
    if args.view:
        seconds = publish_view(args.view)
        print(f"publishing a shared view of {args.view:,} articles: {seconds:.1f} s")
        result["view_articles"] = args.view
        result["view_publish_s"] = round(seconds, 2)
    print_result(result)


if __name__ == "__main__":
    main()
