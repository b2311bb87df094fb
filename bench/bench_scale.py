"""Scheduled runs at scale: ``scrapy crawl eastmoney`` over an unchanged feed on a 1,000-,
100,000- and 1,000,000-post archive, against an empty Scrapy spider's start-up.

    .venv/bin/python bench/bench_scale.py [--sizes 1000,100000,1000000] [--rounds 5] [--keep DIR]

For each size (ascending; one archive grown from one size to the next):

1. *generation*: the archive gets posts up to N, written directly in the crawler's own
   post format (:func:`newscrawler.archive.post.render_post` and ``target_for``, as the
   writer calls them; bodies shaped as the cleaning step leaves them: ``<p>`` lines of
   2-4 KB, the ``em_media`` source line of outlet posts), a dozen outlets (with their
   ``category/`` pages), 2/3 outlet posts and 1/3 rolling news, dates spread over
   2015-2024, half in ``_posts/``, half in ``old_post/``. Post *i* is a pure function of
   *i*: growing 100k to 1M writes only the 900k new ones (worker processes, one per CPU).
   The store (``<archive>/.newscrawler``) is removed, so that the next run bootstraps.
2. *the first run*: ``scrapy crawl eastmoney`` over a feed (served from memory by
   ``bench_server``) of 50 articles that are all in the archive: it bootstraps the
   store. Reported: wall time, the bootstrap's own time (from its log line: this run logs
   at INFO to get it; the run's wall time when there is no such line) and peak RSS.
3. *reruns*: ``--rounds`` pairs of a rerun (the same command, the feed unchanged: a
   scheduled run with nothing new) and an *empty spider* run (``scrapy runspider`` of a
   ``scrapy.Spider`` whose ``start()`` yields nothing, from the repository with the same
   ``-s`` download settings, so that the project settings apply: the project's start-up
   cost without any work), alternating which goes first. Reported: the medians of both
   wall times and their ratio (target <= 1.3 at every size), article requests of the
   reruns as the server counted them (text API and article page; target 0), the reruns'
   known-article skips (from ``last-run.json``: 50 each) and their peak RSS (target:
   flat across sizes).

Every scrapy run goes through a tiny wrapper (written to the work directory) that times
it (wall, from start to exit, without the wrapper's own start-up), kills its process
group after a timeout, and reports the run's own peak RSS: ``ru_maxrss`` of
``RUSAGE_CHILDREN`` in a fresh process, i.e. the largest single process of the run's tree
(the scrapy process or a bootstrap worker), plus the peak sum of RSS over the whole tree
sampled every 0.2 s (``tree``: bootstrap workers included). The bootstrap reads posts just
written (normally from the page cache): a cold disk would make it slower.

The last line is ``BENCH_RESULT {json}`` with every figure (``rerun_s_<size>``,
``empty_s_<size>``, ``ratio_<size>``, ``article_requests_<size>``, ``rerun_rss_mib_<size>``,
``bootstrap_s_<size>``, ``bootstrap_rss_mib_<size>`` ...). The archives live in a temp dir
removed at the end, or in ``--keep DIR`` (kept; a later run with the same DIR reuses and
grows the archive).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from benchlib import (
    OUTLETS,
    ROOT,
    STOCKS,
    WORDS,
    BenchArticle,
    bench_server,
    crawl_settings,
    machine_line,
    print_result,
    scrapy_command,
    site_pages,
)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from newscrawler import settings as project_settings
from newscrawler.archive.layout import STORE_FILE
from newscrawler.archive.post import (
    Slugger,
    digest_text,
    render_category_page,
    render_post,
    share_url,
    target_for,
)
from newscrawler.dates import BEIJING
from newscrawler.dev.server import LoopbackServer
from newscrawler.ids import CANONICAL_ARTICLE_URL
from newscrawler.items import KIND_EMNEWS, KIND_OUTLET

FEED_ARTICLES = 50
#: Bump when the generated posts change: a kept archive of another version is not reused.
GENERATOR_VERSION = 1
SEED = 1_000_003_000
EPOCH = datetime(2015, 1, 1, tzinfo=BEIJING)
SPAN_SECONDS = 10 * 365 * 86400  # 2015-2024
POOL_PARAGRAPHS = 4000
CHUNK = 2000
SITE = project_settings.ARCHIVE_SITE
SHARE_URL = project_settings.EASTMONEY_SHARE_URL
RSS_FLAT = 1.25  # "flat": the largest size's rerun RSS within this factor of the smallest's

# --------------------------------------------------------------------------- generated posts

_pool: list[str] = []
_pool_bytes: list[int] = []
_slugs: dict[str, str] = {}


def _sentence(rng: random.Random) -> str:
    words = "".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
    if rng.random() < 0.15:
        words += rng.choice(STOCKS)[1]  # a stock link, as cleaning leaves it: its text
    return (
        f"{words}{rng.randint(1, 999)}.{rng.randint(0, 99):02d}%，{rng.choice(WORDS)}{rng.randint(2, 30)}个"
    )


def _paragraph(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"<p><strong>{_sentence(rng)}</strong></p>"
    return "<p>" + "".join(_sentence(rng) for _ in range(rng.randint(2, 5))) + "。</p>"


def init_generator(slugs: dict[str, str]) -> None:
    """The paragraph pool (the same in every process) and the outlets' slugs."""
    global _slugs
    _slugs = dict(slugs)
    rng = random.Random(SEED)
    _pool[:] = [_paragraph(rng) for _ in range(POOL_PARAGRAPHS)]
    _pool_bytes[:] = [len(p.encode()) + 1 for p in _pool]


def outlet_slugs() -> dict[str, str]:
    slugger = Slugger()
    return {outlet: slugger.slug(outlet) for outlet in OUTLETS}


@dataclass(frozen=True)
class Post:
    index: int
    code: str
    kind: str
    date: datetime
    outlet: str
    title: str
    body: str
    lead: str

    @property
    def folder(self) -> str:
        return "_posts" if self.index % 2 == 0 else "old_post"

    def render(self) -> tuple[str, str]:
        """(file name, the text the crawler's writer would write)."""
        outlet = self.kind == KIND_OUTLET
        target = target_for(
            code=self.code,
            kind=self.kind,
            date=self.date,
            outlet=self.outlet if outlet else "",
            slug=_slugs[self.outlet] if outlet else "",
            site=SITE,
        )
        text = render_post(
            target=target,
            title=self.title,
            date=self.date,
            body=self.body,
            source_url=share_url(SHARE_URL, self.code)
            if outlet
            else CANONICAL_ARTICLE_URL.format(code=self.code),
            site=SITE,
            digest="" if outlet else digest_text(self.lead[:120]),
        )
        return target.filename, text


def make_post(i: int) -> Post:
    """Post number *i*: 2/3 outlet posts, 1/3 rolling news; a 2-4 KB body of pool
    paragraphs after a lead sentence of its own (no two texts alike)."""
    rng = random.Random(SEED + i)
    kind = KIND_EMNEWS if i % 3 == 0 else KIND_OUTLET
    date = EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))
    code = f"{date:%Y%m%d}{i:010d}"
    outlet = OUTLETS[rng.randrange(len(OUTLETS))]
    title = "".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) + f" 第{i}号"
    lead = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{i}号公告{_sentence(rng)}。"
    parts = [f"<p>{lead}</p>"]
    size, target = len(parts[0].encode()), rng.randint(2000, 4000)
    while size < target:
        k = rng.randrange(POOL_PARAGRAPHS)
        parts.append(_pool[k])
        size += _pool_bytes[k]
    if kind == KIND_OUTLET:
        parts.append(f'<p class="em_media">（文章来源：{outlet}）</p>')
    return Post(i, code, kind, date, outlet, title, "\n".join(parts), lead)


def write_posts(root: str, start: int, stop: int) -> int:
    """Write posts *start* .. *stop* - 1 into the archive *root*; return their bytes."""
    base = Path(root)
    total = 0
    for i in range(start, stop):
        post = make_post(i)
        name, text = post.render()
        data = text.encode("utf-8")
        (base / post.folder / name).write_bytes(data)
        total += len(data)
    return total


def generate(
    archive: Path, start: int, stop: int, slugs: dict[str, str], timeout: float
) -> tuple[int, float]:
    """Add posts *start* .. *stop* - 1 to *archive*; return (bytes, seconds)."""
    started = time.perf_counter()
    for folder in ("_posts", "old_post", "category"):
        (archive / folder).mkdir(parents=True, exist_ok=True)
    for outlet, slug in slugs.items():
        (archive / "category" / f"{slug}.html").write_text(
            render_category_page(outlet, slug), encoding="utf-8"
        )
    chunks = [(str(archive), a, min(a + CHUNK, stop)) for a in range(start, stop, CHUNK)]
    workers = max(1, min(os.cpu_count() or 1, len(chunks)))
    total = 0
    if workers == 1:
        for chunk in chunks:
            total += write_posts(*chunk)
    else:
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=init_generator, initargs=(slugs,)) as pool:
            total = sum(pool.starmap_async(write_posts, chunks, chunksize=1).get(timeout=timeout))
    return total, time.perf_counter() - started


def feed_posts(size: int) -> list[Post]:
    """50 outlet posts of ``_posts/`` (index = 2 mod 6) spread over the archive of *size* posts."""
    indices = sorted({(k * size // FEED_ARTICLES) // 6 * 6 + 2 for k in range(FEED_ARTICLES)})
    if len(indices) != FEED_ARTICLES or indices[-1] >= size:
        raise SystemExit(f"an archive of {size} posts is too small for a feed of {FEED_ARTICLES}")
    return [make_post(i) for i in indices]


def feed_article(post: Post) -> BenchArticle:
    return BenchArticle(post.code, post.title, f"{post.date:%Y-%m-%d %H:%M:%S}", post.outlet, post.body)


# --------------------------------------------------------------------------- measured runs

WRAPPER = r'''"""Run a command; write its wall time and peak RSS as JSON to argv[1]; kill it after argv[2] s."""
import json, os, resource, signal, subprocess, sys, threading, time

out, timeout, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
page = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root):
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    ppid = int(handle.read().rpartition(b")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
        todo.extend(children.get(pid, ()))
    return total


started = time.perf_counter()
proc = subprocess.Popen(command, start_new_session=True)
done = threading.Event()
state = {"peak": 0, "timed_out": False}


def watch():
    deadline = started + timeout
    while not done.wait(0.2):
        state["peak"] = max(state["peak"], tree_rss(proc.pid))
        if time.perf_counter() > deadline and not done.is_set():
            state["timed_out"] = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return


watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
returncode = proc.wait()
wall = time.perf_counter() - started
done.set()
watcher.join()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as handle:
    json.dump({"wall_s": wall, "maxrss_kib": usage.ru_maxrss, "tree_peak_kib": state["peak"] // 1024,
               "returncode": returncode, "timed_out": state["timed_out"]}, handle)
sys.exit(returncode if returncode >= 0 else 128 - returncode)
'''

EMPTY_SPIDER = '''"""The baseline of bench_scale.py: a spider that does nothing (Scrapy and project start-up only)."""
from scrapy import Spider


class EmptySpider(Spider):
    name = "bench_empty"

    async def start(self):
        return
        yield
'''


@dataclass
class Measured:
    wall_s: float
    rss_mib: float
    tree_mib: float
    counts: dict[str, int]
    stderr: str = field(repr=False)
    report: dict[str, object] = field(default_factory=dict)

    @property
    def article_requests(self) -> int:
        return self.counts.get("text", 0) + self.counts.get("page", 0)


def run_measured(
    work: Path, server: LoopbackServer, args: list[str], settings: dict[str, str], timeout: float, what: str
) -> Measured:
    out = work / "measure.json"
    out.unlink(missing_ok=True)
    server.reset()
    command = [
        sys.executable,
        str(work / "measure.py"),
        str(out),
        str(timeout),
        *scrapy_command(args, settings),
    ]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        check=False,
    )
    figures = json.loads(out.read_text()) if out.exists() else {}
    if figures.get("timed_out"):
        raise SystemExit(f"{what} did not finish in {timeout:.0f} s (killed)")
    if proc.returncode != 0 or not figures:
        tail = "\n".join(proc.stderr.splitlines()[-30:])
        raise SystemExit(f"{what} failed with status {proc.returncode}:\n{tail}")
    return Measured(
        wall_s=figures["wall_s"],
        rss_mib=figures["maxrss_kib"] / 1024,
        tree_mib=figures["tree_peak_kib"] / 1024,
        counts=dict(server.counts),
        stderr=proc.stderr,
    )


def read_report(archive: Path) -> dict[str, object]:
    path = archive / ".newscrawler" / "last-run.json"
    try:
        return json.loads(path.read_text("utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


_BOOTSTRAP_SECONDS_RE = re.compile(r"\bin ([\d.]+) ?s\b")


def store_count(archive: Path) -> int | None:
    """Articles in the store the first run made (read-only), None when it cannot be read."""
    try:
        uri = (archive / ".newscrawler" / STORE_FILE).as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    except (sqlite3.Error, ValueError, TypeError):
        return None


def bootstrap_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "bootstrap" in line.lower()]
    return lines[-1] if lines else ""


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "] WARNING:" in line or "] ERROR:" in line]


# --------------------------------------------------------------------------- one size


def bench_size(
    size: int, archive: Path, work: Path, rounds: int, timeouts: tuple[float, float]
) -> dict[str, object]:
    first_timeout, run_timeout = timeouts
    posts = feed_posts(size)
    shutil.rmtree(archive / ".newscrawler", ignore_errors=True)  # the first run bootstraps
    empty_archive = work / "empty-archive"
    shutil.rmtree(empty_archive, ignore_errors=True)
    lifetime = first_timeout + 2 * rounds * run_timeout + 600
    with bench_server(site_pages([feed_article(p) for p in posts]), lifetime=lifetime) as server:
        crawl = crawl_settings(server.url, archive)
        first_settings = {**crawl, "LOG_LEVEL": "INFO"}  # for the bootstrap's log line
        empty = crawl_settings(server.url, empty_archive)

        first = run_measured(work, server, ["crawl", "eastmoney"], first_settings, first_timeout, "first run")
        first.report = read_report(archive)
        line = bootstrap_line(first.stderr)
        found = _BOOTSTRAP_SECONDS_RE.search(line)
        bootstrap_s = float(found.group(1)) if found else first.wall_s
        known = store_count(archive)
        print(
            f"first run (bootstraps the store): wall {first.wall_s:.2f} s, bootstrap {bootstrap_s:.2f} s"
            f"{'' if found else ' (no bootstrap log line: the run wall time)'}, peak RSS {first.rss_mib:.0f} MiB"
            f" (largest process), {first.tree_mib:.0f} MiB (tree, sampled); "
            f"{'?' if known is None else f'{known:,}'} articles in the store; {first.article_requests} article requests",
            flush=True,
        )
        if line:
            print(f"  log: {line.split('] ', 1)[-1][:300]}")
        if known is not None and known != size:
            print(f"  WARNING: the store holds {known:,} articles, the archive {size:,} posts")

        reruns: list[Measured] = []
        empties: list[Measured] = []
        started = time.perf_counter()
        header = f"{'run':<9} {'wall s':>7} {'RSS MiB':>8} {'tree MiB':>9} {'feed':>5} {'text':>5} {'page':>5} {'known':>6}"
        print(header)
        print("-" * len(header))
        for r in range(rounds):
            order = ("rerun", "empty") if r % 2 == 0 else ("empty", "rerun")
            for kind in order:
                if kind == "rerun":
                    m = run_measured(
                        work, server, ["crawl", "eastmoney"], crawl, run_timeout, f"rerun {r + 1}"
                    )
                    m.report = read_report(archive)
                    reruns.append(m)
                    if not m.counts.get("feed"):
                        raise SystemExit(f"rerun {r + 1} never asked for the feed")
                else:
                    spider = str(work / "empty_spider.py")
                    m = run_measured(
                        work, server, ["runspider", spider], empty, run_timeout, f"empty {r + 1}"
                    )
                    empties.append(m)
                skipped = m.report.get("skipped_known", "") if kind == "rerun" else ""
                print(
                    f"{kind + ' ' + str(r + 1):<9} {m.wall_s:>7.2f} {m.rss_mib:>8.0f} {m.tree_mib:>9.0f} "
                    f"{m.counts.get('feed', 0):>5} {m.counts.get('text', 0):>5} {m.counts.get('page', 0):>5} "
                    f"{skipped!s:>6}",
                    flush=True,
                )
        reruns_s = time.perf_counter() - started

    rerun_s = statistics.median(m.wall_s for m in reruns)
    empty_s = statistics.median(m.wall_s for m in empties)
    ratio = rerun_s / empty_s
    # The best of each too: less sensitive to a neighbour's load on a shared machine.
    best_ratio = min(m.wall_s for m in reruns) / min(m.wall_s for m in empties)
    article_requests = sum(m.article_requests for m in reruns)
    rerun_rss = max(m.rss_mib for m in reruns)
    skipped = [m.report.get("skipped_known") for m in reruns]
    new_posts = sum(int(m.report.get("new_posts", 0) or 0) for m in reruns)  # type: ignore[call-overload]
    warnings = sorted({w.split("] ", 1)[-1][:200] for m in reruns for w in warnings_of(m.stderr)})
    print(
        f"rerun median {rerun_s:.2f} s / empty spider median {empty_s:.2f} s = {ratio:.2f}x (target <= 1.30; "
        f"best {min(m.wall_s for m in reruns):.2f} / {min(m.wall_s for m in empties):.2f} = {best_ratio:.2f}x); "
        f"article requests {article_requests} (target 0); known skipped per rerun {skipped}; "
        f"{new_posts} new posts; rerun peak RSS {rerun_rss:.0f} MiB (empty spider {max(m.rss_mib for m in empties):.0f} MiB)"
    )
    for warning in warnings[:5]:
        print(f"  rerun log: {warning}")
    return {
        f"first_wall_s_{size}": round(first.wall_s, 2),
        f"first_article_requests_{size}": first.article_requests,
        f"bootstrap_s_{size}": round(bootstrap_s, 2),
        f"bootstrap_from_log_{size}": bool(found),
        f"bootstrap_log_{size}": line.split("] ", 1)[-1][:300],
        f"bootstrap_rss_mib_{size}": round(first.rss_mib, 1),
        f"bootstrap_tree_rss_mib_{size}": round(first.tree_mib, 1),
        f"known_{size}": known,
        f"rerun_s_{size}": round(rerun_s, 3),
        f"empty_s_{size}": round(empty_s, 3),
        f"ratio_{size}": round(ratio, 3),
        f"ratio_best_{size}": round(best_ratio, 3),
        f"reruns_wall_s_{size}": [round(m.wall_s, 3) for m in reruns],
        f"empties_wall_s_{size}": [round(m.wall_s, 3) for m in empties],
        f"article_requests_{size}": article_requests,
        f"rerun_feed_requests_{size}": sum(m.counts.get("feed", 0) for m in reruns),
        f"rerun_skipped_known_{size}": skipped,
        f"rerun_new_posts_{size}": new_posts,
        f"rerun_rss_mib_{size}": round(rerun_rss, 1),
        f"rerun_tree_rss_mib_{size}": round(max(m.tree_mib for m in reruns), 1),
        f"empty_rss_mib_{size}": round(max(m.rss_mib for m in empties), 1),
        f"reruns_phase_s_{size}": round(reruns_s, 1),
    }


# --------------------------------------------------------------------------- main


def existing_posts(base: Path) -> tuple[int, int]:
    """(posts, bytes) already generated in a kept *base*; (0, 0) when none, or of another generator."""
    try:
        marker = json.loads((base / "archive.json").read_text())
        if marker.get("version") == GENERATOR_VERSION:
            return int(marker["posts"]), int(marker.get("bytes", 0))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return 0, 0


def check_disk(path: Path, posts: int) -> None:
    need = posts * 5 * 1024 + 2**30  # ~3.5 KB a post, 4 KB blocks, the store
    free = shutil.disk_usage(path).free
    if free < need:
        raise SystemExit(
            f"{posts:,} more posts need ~{need / 2**30:.1f} GiB; {free / 2**30:.1f} GiB free in {path}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1000,100000,1000000", help="archive sizes in posts, comma-separated"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rerun / empty spider pairs per size")
    parser.add_argument(
        "--keep", type=Path, help="keep the archive in this directory (reused when it exists)"
    )
    parser.add_argument(
        "--first-timeout", type=float, default=3600, help="seconds for the first (bootstrap) run"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds for a rerun or an empty spider run"
    )
    args = parser.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or args.rounds < 1:
        parser.error("give at least one size and one round")

    print(machine_line())
    started = time.perf_counter()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        holder = None
        base = args.keep.resolve()
    else:
        holder = tempfile.TemporaryDirectory(prefix="bench-scale-")
        base = Path(holder.name)
    try:
        archive = base / "archive"
        work = base / "work"
        work.mkdir(exist_ok=True)
        (work / "measure.py").write_text(WRAPPER, encoding="utf-8")
        (work / "empty_spider.py").write_text(EMPTY_SPIDER, encoding="utf-8")
        have, archive_bytes = existing_posts(base)
        if have and not archive.is_dir():
            have, archive_bytes = 0, 0
        if have > sizes[0]:
            raise SystemExit(
                f"{base} holds an archive of {have:,} posts, more than {sizes[0]:,}: use another --keep DIR"
            )
        if not have and archive.exists():
            raise SystemExit(
                f"{archive} exists but is not an archive this bench generated: use another --keep DIR"
            )
        slugs = outlet_slugs()
        init_generator(slugs)
        result: dict[str, object] = {
            "bench": "scale-runs",
            "sizes": sizes,
            "rounds": args.rounds,
            "feed_articles": FEED_ARTICLES,
        }
        for size in sizes:
            print(f"\n== {size:,} posts", flush=True)
            check_disk(base, size - have)
            if size > have:
                written, gen_s = generate(archive, have, size, slugs, timeout=max(600, size / 200))
                archive_bytes += written
                print(
                    f"generated posts {have:,} .. {size - 1:,}: {written / 2**20:.0f} MiB in {gen_s:.1f} s "
                    f"({(size - have) / gen_s:,.0f} posts/s)",
                    flush=True,
                )
                have = size
                (base / "archive.json").write_text(
                    json.dumps({"posts": have, "bytes": archive_bytes, "version": GENERATOR_VERSION})
                )
            else:
                gen_s = 0.0
                print(f"reusing the kept archive of {have:,} posts in {archive}")
            result[f"gen_s_{size}"] = round(gen_s, 1)
            if archive_bytes:
                result[f"archive_mib_{size}"] = round(archive_bytes / 2**20)
            size_started = time.perf_counter()
            result.update(bench_size(size, archive, work, args.rounds, (args.first_timeout, args.timeout)))
            result[f"size_s_{size}"] = round(time.perf_counter() - size_started + gen_s, 1)
    finally:
        if holder is not None:
            holder.cleanup()

    print(
        f"\n== summary ({args.rounds} rerun / empty spider pairs a size; feed of {FEED_ARTICLES} archived articles)"
    )
    header = (
        f"{'posts':>9} {'gen s':>6} {'1st run s':>9} {'bootstrap s':>11} {'boot RSS':>8} {'boot tree':>9} "
        f"{'rerun s':>7} {'empty s':>7} {'ratio':>6} {'art req':>7} {'rerun RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        r = result
        print(
            f"{size:>9,} {r[f'gen_s_{size}']:>6.1f} {r[f'first_wall_s_{size}']:>9.2f} {r[f'bootstrap_s_{size}']:>11.2f} "
            f"{r[f'bootstrap_rss_mib_{size}']:>5.0f}MiB {r[f'bootstrap_tree_rss_mib_{size}']:>6.0f}MiB "
            f"{r[f'rerun_s_{size}']:>7.2f} {r[f'empty_s_{size}']:>7.2f} {r[f'ratio_{size}']:>6.2f} "
            f"{r[f'article_requests_{size}']:>7} {r[f'rerun_rss_mib_{size}']:>6.0f}MiB"
        )
    ratios = [float(result[f"ratio_{s}"]) for s in sizes]  # type: ignore[arg-type]
    rss = [float(result[f"rerun_rss_mib_{s}"]) for s in sizes]  # type: ignore[arg-type]
    requests = sum(int(result[f"article_requests_{s}"]) for s in sizes)  # type: ignore[call-overload]
    result["ratio_max"] = max(ratios)
    result["rerun_rss_growth"] = round(rss[-1] / rss[0], 3)
    print(
        f"\nrerun / empty spider: {' | '.join(f'{x:.2f}' for x in ratios)} (target <= 1.30: "
        f"{'met' if max(ratios) <= 1.3 else 'NOT met'}); article requests {requests} (target 0); rerun RSS "
        f"{rss[0]:.0f} -> {rss[-1]:.0f} MiB ({rss[-1] / rss[0]:.2f}x; flat: < {RSS_FLAT}x)"
    )
    if 1_000_000 in sizes:
        boot = float(result["bootstrap_s_1000000"])  # type: ignore[arg-type]
        print(
            f"bootstrap of 1,000,000 posts: {boot:.0f} s (target < 300 s: {'met' if boot < 300 else 'NOT met'})"
        )
    total = time.perf_counter() - started
    result["total_s"] = round(total, 1)
    print(f"total {total:.0f} s" + (f"; archive kept in {base / 'archive'}" if args.keep else ""))
    print_result(result)


if __name__ == "__main__":
    main()
