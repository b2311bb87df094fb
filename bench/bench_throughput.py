"""Throughput of ``scrapy crawl eastmoney`` (the whole pipeline) against a bare Scrapy spider.

Generates a media feed of N articles (default 3,000) with their text-API answers (3-5 KB
bodies), serves them from memory on 127.0.0.1 (see ``bench/benchlib.py``), then runs,
alternating A B A B ..., for ``--pairs`` pairs:

A. ``scrapy crawl eastmoney`` into a fresh temporary archive (validate, clean, dedupe,
   write posts and category pages: everything a real run does);
B. ``scrapy runspider bench/bare_spider.py``: the same requests with the same project
   download settings, no item processing (see that file for what "bare" means);
C. ``scrapy crawl eastmoney -s ITEM_PIPELINES={}``: the project's spider, parsers,
   middlewares and extensions, items built and handed to Scrapy, but no pipelines. C/B is
   the ceiling of A/B: what the pipelines could reach if they cost nothing;
T. A with each pipeline timed (``bench/stage_timing.py``): the per-stage breakdown, CPU
   time of the reactor thread inside each stage's ``process_item``, per article;
D. B run from a folder without ``scrapy.cfg``: the bare spider on Scrapy's defaults
   (8 requests at a time per host, cookies, no project settings). A/D is what the
   project's whole crawl achieves against a plain Scrapy spider as one would write it.

All are timed from the server's first request (the feed) to process exit, so interpreter
and Scrapy start-up are left out; articles/s = N / that time. The headline is the median of
the per-pair ratios A/B of articles/s (target: >= 0.8), which holds up on a noisy machine
better than absolute times do. Before the runs, and before each pair, the bench measures
what creating a file costs (``benchlib.file_create_us``; it waits for it to settle at the
start), since on these machines it varies tenfold with what ran before.

``--profile`` adds a pipeline run and a bare run under pyinstrument (not timed) and
prints the hot spots in ``newscrawler/`` (inclusive and own time, ms per article) and
each package's own time in both runs: what the pipeline adds, and where.

    .venv/bin/python bench/bench_throughput.py [--articles 3000] [--pairs 5] [--profile]
"""

from __future__ import annotations

import argparse
import ast
import json
import pstats
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from benchlib import (
    BENCH,
    BENCH_CONCURRENCY,
    ROOT,
    RunResult,
    bench_server,
    check_run,
    crawl_settings,
    file_create_us,
    machine_line,
    make_articles,
    print_result,
    run_scrapy,
    settle_filesystem,
    site_pages,
)
from stage_timing import read_stage_timing, timed_pipelines

from newscrawler.dev.server import LoopbackServer

PIPELINE_ARGS = ["crawl", "eastmoney"]
BARE_ARGS = ["runspider", str(BENCH / "bare_spider.py")]


def run_pipeline(
    server: LoopbackServer, articles: int, tmp: Path, label: str, concurrency: int, root: Path = ROOT
) -> RunResult:
    """A timed ``scrapy crawl eastmoney`` of the code in *root* into ``tmp/label``; checks every post was written."""
    archive = tmp / label
    result = run_scrapy(server, PIPELINE_ARGS, crawl_settings(server.url, archive, concurrency), root=root)
    check_run(result, f"pipeline run {label}")
    posts = len(list((archive / "_posts").glob("*.md")))
    if posts != articles:
        raise SystemExit(
            f"pipeline run {label} wrote {posts} posts, expected {articles}:\n{result.stderr[-3000:]}"
        )
    return result


def run_spider_only(server: LoopbackServer, articles: int, tmp: Path, label: str, concurrency: int) -> RunResult:
    archive = tmp / label
    settings = {**crawl_settings(server.url, archive, concurrency), "ITEM_PIPELINES": "{}"}
    result = run_scrapy(server, PIPELINE_ARGS, settings)
    check_run(result, f"spider-only run {label}")
    if result.counts.get("text", 0) != articles or (archive / "_posts").exists():
        raise SystemExit(f"spider-only run {label} made {result.counts} requests or wrote posts")
    return result


def run_bare(server: LoopbackServer, articles: int, concurrency: int) -> RunResult:
    result = run_scrapy(server, BARE_ARGS, crawl_settings(server.url, None, concurrency))
    check_run(result, "bare run")
    if result.counts.get("text", 0) != articles:
        raise SystemExit(f"bare run made {result.counts} requests, expected {articles} text requests")
    return result


def run_bare_defaults(server: LoopbackServer, articles: int, tmp: Path) -> RunResult:
    """B from *tmp* (no ``scrapy.cfg``): Scrapy's default settings, but for the feed and
    text-API URLs and the log level."""
    every = crawl_settings(server.url)
    settings = {name: every[name] for name in ("EASTMONEY_FEEDS", "EASTMONEY_TEXT_URL", "LOG_LEVEL")}
    result = run_scrapy(server, BARE_ARGS, settings, root=tmp)
    check_run(result, "bare run on Scrapy's defaults")
    if result.counts.get("text", 0) != articles:
        raise SystemExit(f"bare run on Scrapy's defaults made {result.counts} requests")
    return result


def run_timed(
    server: LoopbackServer, articles: int, tmp: Path, label: str, concurrency: int
) -> dict[str, tuple[float, int]]:
    """T: A with each pipeline timed; stage name -> (CPU seconds, items)."""
    archive = tmp / label
    settings = {**crawl_settings(server.url, archive, concurrency), "ITEM_PIPELINES": json.dumps(timed_pipelines())}
    result = run_scrapy(server, PIPELINE_ARGS, settings, python_path=(BENCH,))
    check_run(result, f"timed run {label}")
    stages = read_stage_timing(result.stderr)
    posts = len(list((archive / "_posts").glob("*.md")))
    if posts != articles or not stages:
        raise SystemExit(f"timed run {label} wrote {posts} posts, stages {stages}:\n{result.stderr[-3000:]}")
    return stages


# --------------------------------------------------------------------------- profile


def _area(filename: str) -> str:
    """Which code a frame belongs to: our modules by path, libraries by package."""
    path = filename.replace("\\", "/")
    if "/newscrawler/" in path and "site-packages" not in path:
        return "newscrawler/" + path.rsplit("/newscrawler/", 1)[1]
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith("<"):
        return path
    if "/lib/python3" in path:
        return "stdlib:" + path.split("/lib/python3", 1)[1].split("/", 2)[1].removesuffix(".py")
    return "other"


def _qualified_names(filename: str) -> dict[int, str]:
    """First line of each function in *filename* -> ``Class.function``."""
    names: dict[int, str] = {}
    try:
        tree = ast.parse(Path(filename).read_text("utf-8"))
    except (OSError, SyntaxError, ValueError):
        return names

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                names[child.lineno] = name
                for decorator in child.decorator_list:
                    names.setdefault(decorator.lineno, name)
                walk(child, f"{name}.")

    walk(tree, "")
    return names


def _profiled_run(server: LoopbackServer, args: list[str], settings: dict[str, str], out: Path) -> pstats.Stats:
    prefix = ["-m", "pyinstrument", "-r", "pstats", "-o", str(out), "-m", "scrapy"]
    result = run_scrapy(server, args, settings, prefix=prefix)
    check_run(result, f"profiled run of {' '.join(args)}")
    return pstats.Stats(str(out))


def _by_package(raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]) -> dict[str, float]:
    by_area: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in raw.items():
        area = _area(filename)
        by_area["newscrawler" if area.startswith("newscrawler/") else area] += own
    return by_area


def profile_runs(
    server: LoopbackServer, articles: int, tmp: Path, top: int, concurrency: int
) -> dict[str, object]:
    """A pipeline run and a bare run under pyinstrument (not timed): the hot spots in our
    code, and own time per package in both runs (what the pipeline adds, and where)."""
    pipeline = _profiled_run(
        server,
        PIPELINE_ARGS,
        crawl_settings(server.url, tmp / "profiled", concurrency),
        tmp / "pipeline.pstats",
    ).stats  # type: ignore[attr-defined]
    bare = _profiled_run(
        server, BARE_ARGS, crawl_settings(server.url, None, concurrency), tmp / "bare.pstats"
    ).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in pipeline.values())
    bare_total = max(ct for (_, _, _, ct, _) in bare.values())
    names: dict[str, dict[int, str]] = {}
    ours: list[tuple[float, float, str]] = []
    for (filename, line, function), (_, _, own, incl, _) in pipeline.items():
        area = _area(filename)
        # Entry points (the crawl command) hold nearly everything: skip them.
        if area.startswith("newscrawler/") and incl < 0.9 * total:
            qualified = names.setdefault(filename, _qualified_names(filename)).get(line, function)
            ours.append((incl, own, f"{area.removeprefix('newscrawler/')}:{line} {qualified}"))
    ours.sort(reverse=True)
    per = 1000 / articles
    print(
        f"\n== profile (pyinstrument; one pipeline run of {articles:,} articles: {total:.2f} s sampled, "
        f"one bare run: {bare_total:.2f} s; the profiler slows runs down: compare shares)"
    )
    print(f"{'incl %':>7} {'incl ms/art':>11} {'own ms/art':>10}  function (in newscrawler/), pipeline run")
    for incl, own, name in ours[:top]:
        print(f"{incl / total * 100:>6.1f}% {incl * per:>11.3f} {own * per:>10.3f}  {name}")
    packages = _by_package(pipeline)
    bare_packages = _by_package(bare)
    print(f"\n{'pipeline':>17} {'bare':>17} {'added':>10}  own time by package (% of run, ms/article)")
    areas = sorted(packages.keys() | bare_packages.keys(), key=lambda a: -packages.get(a, 0.0))
    for area in areas[:10]:
        mine, theirs = packages.get(area, 0.0), bare_packages.get(area, 0.0)
        print(
            f"{mine / total * 100:>6.1f}% {mine * per:>6.3f} ms {theirs / bare_total * 100:>6.1f}% "
            f"{theirs * per:>6.3f} ms {(mine - theirs) * per:>+7.3f} ms  {area}"
        )
    print(f"{'':>17} {'':>17} {(total - bare_total) * per:>+7.3f} ms  in all")
    return {
        "profile_total_s": round(total, 3),
        "profile_bare_total_s": round(bare_total, 3),
        "profile_ours": [
            {
                "function": name,
                "incl_pct": round(incl / total * 100, 1),
                "incl_ms_per_article": round(incl * per, 3),
                "own_ms_per_article": round(own * per, 3),
            }
            for incl, own, name in ours[:top]
        ],
        "profile_packages_ms_per_article": {
            area: [round(packages.get(area, 0.0) * per, 3), round(bare_packages.get(area, 0.0) * per, 3)]
            for area in areas[:10]
        },
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--pairs", type=int, default=5, help="A B pairs (at least 3 for a median)")
    parser.add_argument(
        "--concurrency", type=int, default=BENCH_CONCURRENCY, help="requests in flight (both runs)"
    )
    parser.add_argument("--profile", action="store_true", help="and profile a pipeline and a bare run")
    parser.add_argument("--top", type=int, default=20, help="hot spots to list with --profile")
    args = parser.parse_args()

    print(machine_line())
    articles = make_articles(args.articles)
    pages = site_pages(articles)
    body_sizes = [len(a.body.encode()) for a in articles]
    print(
        f"{len(articles):,} articles, text-API bodies {min(body_sizes):,}-{max(body_sizes):,} bytes "
        f"(median {statistics.median(body_sizes):,.0f}), feed {len(pages['/feed.json'][1]) / 1e6:.1f} MB"
    )
    header = (
        f"{'pair':>4} {'run':<9} {'crawl s':>8} {'wall s':>7} {'CPU s':>6} {'articles/s':>10} {'requests':>9}"
    )
    rows: list[tuple[RunResult, RunResult]] = []
    spider_only: list[RunResult] = []
    defaults: list[RunResult] = []
    timed: list[dict[str, tuple[float, int]]] = []
    creates: list[float] = []
    extra: dict[str, object] = {}
    with bench_server(pages) as server, tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp_name:
        tmp = Path(tmp_name)
        settled = settle_filesystem(tmp)
        # Warm-up (not timed): page caches, .pyc files, first-run costs of both commands.
        run_bare(server, len(articles), args.concurrency)
        print(f"creating a file: {settled:.0f} µs of CPU once settled")
        print(header)
        print("-" * len(header))
        for pair in range(1, args.pairs + 1):
            creates.append(file_create_us(tmp))
            a = run_pipeline(server, len(articles), tmp, f"a{pair}", args.concurrency)
            b = run_bare(server, len(articles), args.concurrency)
            c = run_spider_only(server, len(articles), tmp, f"c{pair}", args.concurrency)
            d = run_bare_defaults(server, len(articles), tmp)
            timed.append(run_timed(server, len(articles), tmp, f"t{pair}", args.concurrency))
            rows.append((a, b))
            spider_only.append(c)
            defaults.append(d)
            for label, r in (("pipeline", a), ("bare", b), ("spider", c), ("defaults", d)):
                print(
                    f"{pair:>4} {label:<9} {r.crawl_s:>8.2f} {r.wall_s:>7.2f} {r.cpu_s:>6.2f} {r.rate(len(articles)):>10.0f} "
                    f"{sum(r.counts.values()):>9}",
                    flush=True,
                )
            stages = timed[-1]
            print(
                f"{pair:>4} stages    "
                + ", ".join(f"{name.removesuffix('Pipeline')} {cpu / n * 1e3:.3f}" for name, (cpu, n) in stages.items() if n)
                + f" ms an article (creating a file before the pair: {creates[-1]:.0f} µs)",
                flush=True,
            )
        if args.profile:
            extra = profile_runs(server, len(articles), tmp, args.top, args.concurrency)

    n = len(articles)
    ratios = [a.rate(n) / b.rate(n) for a, b in rows]
    pipeline_rate = statistics.median(a.rate(n) for a, _ in rows)
    bare_rate = statistics.median(b.rate(n) for _, b in rows)
    ratio = statistics.median(ratios)
    ceilings = [c.rate(n) / b.rate(n) for c, (_, b) in zip(spider_only, rows, strict=True)]
    ceiling = statistics.median(ceilings)
    # CPU seconds an article that the pipelines add (A - C) and that the spider side adds (C - B).
    pipeline_ms = statistics.median(
        (a.cpu_s - c.cpu_s) / n * 1e3 for (a, _), c in zip(rows, spider_only, strict=True)
    )
    spider_ms = statistics.median(
        (c.cpu_s - b.cpu_s) / n * 1e3 for (_, b), c in zip(rows, spider_only, strict=True)
    )
    bare_ms = statistics.median(b.cpu_s / n * 1e3 for _, b in rows)
    defaults_ratios = [a.rate(n) / d.rate(n) for (a, _), d in zip(rows, defaults, strict=True)]
    defaults_ratio = statistics.median(defaults_ratios)
    # The per-stage breakdown: each stage's median over the timed runs, ms an article.
    stage_ms = {
        name.removesuffix("Pipeline").lower(): statistics.median(
            run[name][0] / n * 1e3 for run in timed if name in run
        )
        for name in timed[0]
        if timed[0][name][1]  # a stage that saw no item was not configured (images)
    }
    stages_ms = statistics.median(sum(cpu for cpu, _ in run.values()) / n * 1e3 for run in timed)
    print(
        f"\npipeline {pipeline_rate:,.0f} articles/s, bare {bare_rate:,.0f} articles/s (medians); "
        f"ratio pipeline/bare per pair: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {ratio:.2f} (target >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'})"
    )
    print(
        f"ceiling without pipelines (spider-only / bare) per pair: {', '.join(f'{r:.2f}' for r in ceilings)}; "
        f"median {ceiling:.2f}\n"
        f"CPU ms an article: bare run {bare_ms:.2f} (with start-up), added by the spider side {spider_ms:.2f}, "
        f"added by the pipelines {pipeline_ms:.2f}\n"
        f"per stage, in the crawl (CPU of the reactor thread in process_item, medians of {len(timed)} runs): "
        + ", ".join(f"{name} {ms:.3f}" for name, ms in stage_ms.items())
        + f"; all stages {stages_ms:.3f} ms an article (target <= 0.5: {'met' if stages_ms <= 0.5 else 'NOT met'})\n"
        f"pipeline / bare spider on Scrapy's defaults per pair: {', '.join(f'{r:.2f}' for r in defaults_ratios)}; "
        f"median {defaults_ratio:.2f}"
    )
    print_result(
        {
            "bench": "throughput",
            "articles": n,
            "pairs": args.pairs,
            "concurrency": args.concurrency,
            "ratio": round(ratio, 4),
            "ratios": [round(r, 4) for r in ratios],
            "pipeline_articles_per_s": round(pipeline_rate, 1),
            "bare_articles_per_s": round(bare_rate, 1),
            "pipeline_wall_s": round(statistics.median(a.wall_s for a, _ in rows), 2),
            "bare_wall_s": round(statistics.median(b.wall_s for _, b in rows), 2),
            "pipeline_cpu_s": round(statistics.median(a.cpu_s for a, _ in rows), 2),
            "bare_cpu_s": round(statistics.median(b.cpu_s for _, b in rows), 2),
            "cpu_ratio": round(statistics.median(b.cpu_s / a.cpu_s for a, b in rows), 3),
            "spider_only_ratio": round(ceiling, 4),
            "spider_only_ratios": [round(r, 4) for r in ceilings],
            "spider_only_articles_per_s": round(statistics.median(c.rate(n) for c in spider_only), 1),
            "bare_cpu_ms_per_article": round(bare_ms, 3),
            "spider_cpu_ms_per_article": round(spider_ms, 3),
            "pipeline_cpu_ms_per_article": round(pipeline_ms, 3),
            "stage_cpu_ms_per_article": {name: round(ms, 3) for name, ms in stage_ms.items()},
            "stages_cpu_ms_per_article": round(stages_ms, 3),
            "defaults_ratio": round(defaults_ratio, 4),
            "defaults_ratios": [round(r, 4) for r in defaults_ratios],
            "defaults_articles_per_s": round(statistics.median(d.rate(n) for d in defaults), 1),
            "file_create_us": [round(c, 1) for c in creates],
            **extra,
        }
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
