"""Run every benchmark and print one table of figures (``make bench``).

Each benchmark runs as its own subprocess, generates its own data, and serves it (when it
needs a server) from a bounded loopback server on 127.0.0.1 that it starts and stops
itself; its output is shown as it runs. The figures are then read back from it: the
``BENCH_RESULT {json}`` line a bench prints last, or, for the benches that print only
their human table (``bench_store.py``, ``bench_cleaning.py``), that table.

    .venv/bin/python bench/run_all.py            # the full set, ~6-8 minutes + scale-runs (1M posts: ~30 min)
    .venv/bin/python bench/run_all.py --quick    # smaller inputs, no profile, ~3 minutes
    .venv/bin/python bench/run_all.py --only throughput,cleaning --json figures.json

Benchmarks (see BENCHMARKS.md): throughput (``bench_throughput.py``: the whole pipeline
against a bare Scrapy spider), incremental (``bench_incremental.py``: a second run over
the same feed), scale (``bench_store.py``: store lookups and peak RSS with 10k-1M known
articles, bootstrap of a 100,000-post archive), scale-runs (``bench_scale.py``: a rerun over
an unchanged feed on a 1,000-, 100,000- and 1,000,000-post archive against an empty Scrapy
spider, and the first run's bootstrap), cleaning (``bench_cleaning.py``), distributed
(``bench_distributed.py``: 1 and 2 workers and the writer against the single-process crawl).

The exit status is 1 when a benchmark fails to run, 0 otherwise: targets are reported in
the table, never asserted (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULT_PREFIX = "BENCH_RESULT "


@dataclass
class Bench:
    name: str
    script: str
    full: list[str]
    quick: list[str]
    result: dict[str, object] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    seconds: float = 0.0
    returncode: int | None = None


BENCHES = [
    Bench("throughput", "bench_throughput.py", ["--articles", "3000", "--pairs", "5", "--profile"],
          ["--articles", "1000", "--pairs", "3"]),
    Bench("incremental", "bench_incremental.py", ["--articles", "3000"], ["--articles", "1000"]),
    Bench("scale", "bench_store.py", ["--sizes", "10000,100000,1000000", "--posts", "100000"],
          ["--sizes", "10000,100000", "--posts", "20000"]),
    Bench("scale-runs", "bench_scale.py", ["--sizes", "1000,100000,1000000"],
          ["--sizes", "1000,20000", "--rounds", "3"]),
    Bench("cleaning", "bench_cleaning.py", ["--seconds", "2"], ["--seconds", "0.5"]),
    Bench("distributed", "bench_distributed.py", ["--articles", "2000", "--rounds", "3"],
          ["--articles", "500", "--rounds", "1", "--view", "100000"]),
]  # fmt: skip


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    try:
        import scrapy

        scrapy_version = scrapy.__version__
    except ImportError:
        scrapy_version = "?"
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu or platform.processor() or "?",
        "ram": ram or "?",
        "python": platform.python_version(),
        "scrapy": scrapy_version,
        "load": f"{os.getloadavg()[0]:.2f}",
    }


# --------------------------------------------------------------------------- parsing


def parse_store(lines: list[str]) -> dict[str, object]:
    """Figures from ``bench_store.py``'s table (it prints no JSON line)."""
    sizes: dict[str, dict[str, float]] = {}
    keys = [
        "articles", "fill_s", "db_mib", "open_ms", "open_quick_s", "open_full_s", "has_hit_us",
        "has_miss_us", "find_exact_us", "find_near_hit_us", "find_near_miss_us", "rss_before_mib",
        "peak_rss_mib",
    ]  # fmt: skip
    row = re.compile(r"^\s*\d[\d,]*\s+[\d.]+s\s")
    out: dict[str, object] = {"bench": "scale"}
    for line in lines:
        if row.match(line):
            numbers = [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", line)]
            if len(numbers) == len(keys):
                figures = dict(zip(keys, numbers, strict=True))
                sizes[str(int(figures["articles"]))] = figures
        elif m := re.match(r"generated ([\d,]+) posts, (\d+) MiB", line):
            out["posts"] = int(m.group(1).replace(",", ""))
            out["archive_mib"] = int(m.group(2))
        elif m := re.match(r"workers=(\d+): ([\d.]+) s wall \(([\d,]+) posts/s\)", line):
            bootstrap = out.setdefault("bootstrap", {})
            assert isinstance(bootstrap, dict)
            bootstrap[m.group(1)] = {
                "wall_s": float(m.group(2)),
                "posts_per_s": int(m.group(3).replace(",", "")),
            }
    out["sizes"] = sizes
    return out


def parse_cleaning(lines: list[str]) -> dict[str, object]:
    """Figures from ``bench_cleaning.py``'s table (it prints no JSON line)."""
    out: dict[str, object] = {"bench": "cleaning"}
    for line in lines:
        m = re.match(r"^\s*(\d+ [KM]B)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if m:
            out[m.group(1).replace(" ", "").lower()] = {
                "bytes": int(m.group(2)),
                "ms_per_doc": float(m.group(4)),
                "docs_per_s": float(m.group(5)),
                "mb_per_s": float(m.group(6)),
            }
    return out


PARSERS = {"scale": parse_store, "cleaning": parse_cleaning}


# --------------------------------------------------------------------------- running


def run(bench: Bench, quick: bool) -> None:
    args = bench.quick if quick else bench.full
    command = [sys.executable, str(BENCH / bench.script), *args]
    print(f"\n##### {bench.name}: {' '.join(['python', f'bench/{bench.script}', *args])}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            bench.output.append(line)
            if line.startswith(RESULT_PREFIX):
                bench.result = json.loads(line[len(RESULT_PREFIX) :])
            else:
                print("  " + line, flush=True)
    bench.returncode = proc.returncode
    bench.seconds = time.perf_counter() - started
    if not bench.result and bench.name in PARSERS and proc.returncode == 0:
        bench.result = PARSERS[bench.name](bench.output)


# --------------------------------------------------------------------------- the table


def _f(value: object, fmt: str = "{:,.2f}") -> str:
    return fmt.format(value) if isinstance(value, int | float) else "?"


def _status(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "NOT met")


Row = tuple[str, str, str, str]  # figure, value, target, status


def _stages(stages: object) -> str:
    if not isinstance(stages, dict):
        return "—"
    return ", ".join(f"{name} {_f(ms, '{:.3f}')}" for name, ms in stages.items())


def rows_throughput(r: dict[str, object]) -> list[Row]:
    ratio = r.get("ratio")
    stages = r.get("stages_cpu_ms_per_article")
    ratios = r.get("ratios") or []
    spread = f" (pairs {', '.join(_f(x) for x in ratios)})" if isinstance(ratios, list) else ""
    return [
        (
            f"pipeline / bare spider, articles/s (median of {r.get('pairs')} A/B pairs)",
            _f(ratio) + spread,
            ">= 0.80",
            _status(ratio >= 0.8 if isinstance(ratio, float) else None),
        ),
        ("bare / pipeline, CPU seconds per run", _f(r.get("cpu_ratio")), "", "—"),
        (
            "ceiling: spider without pipelines / bare spider, articles/s",
            _f(r.get("spider_only_ratio")),
            "",
            "—",
        ),
        (
            "CPU ms an article: bare run (with start-up) | + spider side | + pipelines",
            " | ".join(
                _f(r.get(k), "{:.2f}")
                for k in (
                    "bare_cpu_ms_per_article",
                    "spider_cpu_ms_per_article",
                    "pipeline_cpu_ms_per_article",
                )
            ),
            "",
            "—",
        ),
        (
            "CPU ms an article in the pipelines, per stage in the crawl (bench/stage_timing.py)",
            _stages(r.get("stage_cpu_ms_per_article")),
            "",
            "—",
        ),
        (
            "CPU ms an article in the pipelines, all stages",
            _f(r.get("stages_cpu_ms_per_article"), "{:.3f}"),
            "<= 0.5",
            _status(stages <= 0.5 if isinstance(stages, float) else None),
        ),
        (
            "pipeline / bare spider on Scrapy's defaults, articles/s",
            _f(r.get("defaults_ratio"))
            + (
                f" (pairs {', '.join(_f(x) for x in r['defaults_ratios'])})"
                if isinstance(r.get("defaults_ratios"), list)
                else ""
            ),
            "",
            "—",
        ),
        (
            f"articles/s, pipeline | bare ({r.get('articles'):,} articles, {r.get('concurrency')} in flight)",
            f"{_f(r.get('pipeline_articles_per_s'), '{:,.0f}')} | {_f(r.get('bare_articles_per_s'), '{:,.0f}')}",
            "",
            "—",
        ),
    ]


def rows_incremental(r: dict[str, object]) -> list[Row]:
    requests, rewritten = r.get("article_requests"), r.get("posts_rewritten")
    return [
        ("2nd run over the same feed: article requests", str(requests), "0", _status(requests == 0)),
        (
            "2nd run: posts rewritten | changed | added",
            f"{rewritten} | {r.get('posts_changed')} | {r.get('posts_added')}",
            "0",
            _status(rewritten == 0 and r.get("posts_changed") == 0 and r.get("posts_added") == 0),
        ),
        (
            "2nd run wall time / 1st run's",
            f"{_f(r.get('wall_ratio'))} ({_f(r.get('second_wall_s'), '{:.1f}')} s vs {_f(r.get('first_wall_s'), '{:.1f}')} s)",
            "",
            "—",
        ),
    ]


def rows_scale(r: dict[str, object]) -> list[Row]:
    rows: list[Row] = []
    sizes = r.get("sizes") or {}
    assert isinstance(sizes, dict)
    if sizes:
        ordered = sorted(sizes.values(), key=lambda s: s["articles"])
        small, large = ordered[0], ordered[-1]
        label = f"{int(small['articles']):,} -> {int(large['articles']):,} known articles"
        for key, what in (
            ("has_hit_us", "has() hit"),
            ("has_miss_us", "has() miss"),
            ("find_near_hit_us", "near-duplicate lookup"),
        ):
            rows.append((
                f"{what}, {label}",
                " | ".join(f"{s[key]:.1f} us" for s in ordered) + f"  ({large[key] / small[key]:.1f}x)",
                "",
                "—",
            ))  # fmt: skip
        peak = [s["peak_rss_mib"] for s in ordered]
        rows.append((
            f"peak RSS of a lookup process, {label}",
            " | ".join(f"{p:.0f} MiB" for p in peak) + f"  ({peak[-1] / peak[0]:.2f}x)",
            "flat",
            _status(peak[-1] / peak[0] < 1.5),
        ))  # fmt: skip
    bootstrap = r.get("bootstrap") or {}
    assert isinstance(bootstrap, dict)
    for workers, figures in sorted(bootstrap.items(), key=lambda kv: -int(kv[0])):
        wall = figures["wall_s"]
        posts = r.get("posts", 0)
        rows.append((
            f"bootstrap of a {posts:,}-post archive, {workers} worker(s)",
            f"{wall:.1f} s ({figures['posts_per_s']:,} posts/s)",
            "< 30 s" if posts == 100_000 and workers != "1" else "",
            _status(wall < 30) if posts == 100_000 and workers != "1" else "—",
        ))  # fmt: skip
    return rows


def rows_scale_runs(r: dict[str, object]) -> list[Row]:
    sizes = r.get("sizes") or []
    assert isinstance(sizes, list)
    if not sizes:
        return []

    def each(key: str) -> list[object]:
        return [r.get(f"{key}_{size}") for size in sizes]

    def joined(key: str, fmt: str = "{:.2f}") -> str:
        return " | ".join(_f(v, fmt) for v in each(key))

    label = " | ".join(f"{size:,}" for size in sizes) + " posts"
    ratios = [v for v in each("ratio") if isinstance(v, int | float)]
    requests = each("article_requests")
    rss = [v for v in each("rerun_rss_mib") if isinstance(v, int | float)]
    rows: list[Row] = [
        (
            f"rerun over an unchanged feed / empty spider, wall (median of {r.get('rounds')}), {label}",
            joined("ratio"),
            "<= 1.30",
            _status(max(ratios) <= 1.3 if len(ratios) == len(sizes) else None),
        ),
        (
            f"rerun vs empty spider, wall, {label}",
            " | ".join(f"{_f(a)} vs {_f(b)}" for a, b in zip(each("rerun_s"), each("empty_s"), strict=True))
            + " s",
            "",
            "—",
        ),
        (
            f"rerun: article requests, {label}",
            " | ".join(str(v) for v in requests),
            "0",
            _status(all(v == 0 for v in requests)),
        ),
    ]
    if len(rss) == len(sizes):
        rows.append((
            f"rerun: peak RSS, {label}",
            " | ".join(f"{v:.0f}" for v in rss) + f" MiB  ({rss[-1] / rss[0]:.2f}x)",
            "flat (< 1.25x)",
            _status(rss[-1] / rss[0] < 1.25),
        ))  # fmt: skip
    boot = r.get("bootstrap_s_1000000")
    rows.append((
        f"first run: bootstrap s, {label}",
        joined("bootstrap_s", "{:,.1f}") + " s",
        "< 300 s at 1,000,000" if isinstance(boot, int | float) else "",
        _status(boot < 300) if isinstance(boot, int | float) else "—",
    ))  # fmt: skip
    rows.append((
        f"first run: peak RSS, largest process (whole tree), {label}",
        " | ".join(
            f"{_f(a, '{:.0f}')} ({_f(b, '{:.0f}')})"
            for a, b in zip(each("bootstrap_rss_mib"), each("bootstrap_tree_rss_mib"), strict=True)
        )
        + " MiB",
        "bounded",
        "—",
    ))  # fmt: skip
    return rows


def rows_cleaning(r: dict[str, object]) -> list[Row]:
    rows: list[Row] = []
    for key in ("5kb", "1mb"):
        figures = r.get(key)
        if isinstance(figures, dict):
            rows.append((
                f"clean_body, {figures['bytes']:,}-byte body",
                f"{figures['docs_per_s']:,.1f} docs/s ({figures['mb_per_s']:.2f} MB/s)",
                "",
                "—",
            ))  # fmt: skip
    small, large = r.get("5kb"), r.get("1mb")
    if isinstance(small, dict) and isinstance(large, dict):
        rows.append(
            (
                "MB/s on 1 MB / MB/s on 5 KB (linear scaling: ~1)",
                _f(large["mb_per_s"] / small["mb_per_s"]),
                "",
                "—",
            )
        )
    return rows


def rows_distributed(r: dict[str, object]) -> list[Row]:
    rate = "{:,.0f}"
    rows: list[Row] = [
        (
            f"articles/s ({r.get('articles'):,} articles): single process | 1 worker + writer | 2 workers + writer | bare spider",
            " | ".join(
                _f(r.get(f"{k}_per_s"), rate) for k in ("single", "one_worker", "two_workers", "bare")
            ),
            "",
            "—",
        ),
        (
            "2 workers + writer / single process | / bare spider (one 2-core machine)",
            f"{_f(r.get('two_workers_vs_single'))} | {_f(r.get('two_workers_vs_bare'))}",
            "",
            "—",
        ),
    ]
    if "view_publish_s" in r:
        rows.append(
            (
                f"publishing the shared view of {r.get('view_articles'):,} articles, s",
                _f(r.get("view_publish_s")),
                "",
                "—",
            )
        )
    return rows


ROWS = {
    "throughput": rows_throughput,
    "incremental": rows_incremental,
    "scale": rows_scale,
    "scale-runs": rows_scale_runs,
    "cleaning": rows_cleaning,
    "distributed": rows_distributed,
}


def print_table(benches: list[Bench], info: dict[str, str], total: float, quick: bool) -> None:
    table: list[tuple[str, str, str, str, str]] = []
    for bench in benches:
        if bench.returncode != 0:
            table.append((bench.name, f"FAILED (status {bench.returncode})", "", "", ""))
            continue
        if not bench.result:
            table.append((bench.name, "no figures found in its output", "", "", ""))
            continue
        for i, (figure, value, target, status) in enumerate(ROWS[bench.name](bench.result)):
            table.append((bench.name if i == 0 else "", figure, value, target, status))
    header = ("benchmark", "figure", "value", "target", "")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(5)]
    print()
    print(
        f"== newscrawler benchmarks{' (--quick)' if quick else ''}: {info['cpus']} x {info['cpu']}, "
        f"{info['ram']} RAM, Python {info['python']}, Scrapy {info['scrapy']}, load {info['load']} at start"
    )
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    timings = ", ".join(f"{b.name} {b.seconds:.0f} s" for b in benches)
    print(f"\ntotal {total:.0f} s ({timings}); load {os.getloadavg()[0]:.2f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller inputs, no profile")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(b.name for b in BENCHES))
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(wanted) - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    benches = [b for b in BENCHES if not wanted or b.name in wanted]
    info = machine()
    started = time.perf_counter()
    for bench in benches:
        run(bench, args.quick)
    total = time.perf_counter() - started
    print_table(benches, info, total, args.quick)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "quick": args.quick,
                    "total_s": round(total, 1),
                    "results": {b.name: b.result for b in benches},
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    sys.exit(1 if any(b.returncode != 0 for b in benches) else 0)


if __name__ == "__main__":
    main()
