"""Speed of this checkout's ``scrapy crawl eastmoney`` against another git revision's.

Checks the revision out into a temporary git worktree, then runs the throughput bench's
pipeline run (``bench_throughput.py``: 3,000 generated articles served from memory on
127.0.0.1, a fresh archive each run) alternately with the old and the current code
against the same server, and prints the median of the per-pair speed-ups. Both use this
checkout's virtualenv, so only the project's code (and its settings) differ.

    .venv/bin/python bench/bench_compare.py --baseline 3d175ff [--articles 3000] [--pairs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_throughput import run_pipeline
from benchlib import (
    BENCH_CONCURRENCY,
    ROOT,
    bench_server,
    machine_line,
    make_articles,
    print_result,
    site_pages,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with (e.g. HEAD~3)")
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()

    print(machine_line())
    articles = make_articles(args.articles)
    pages = site_pages(articles)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp_name:
        tmp = Path(tmp_name)
        old = tmp / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(old), args.baseline], cwd=ROOT, check=True
        )
        try:
            rates: dict[str, list[float]] = {"baseline": [], "current": []}
            with bench_server(pages) as server:
                run_pipeline(server, len(articles), tmp, "warm-up", BENCH_CONCURRENCY)
                for pair in range(1, args.pairs + 1):
                    for label, root in (("baseline", old), ("current", ROOT)):
                        result = run_pipeline(
                            server, len(articles), tmp, f"{label}{pair}", BENCH_CONCURRENCY, root
                        )
                        rate = result.rate(len(articles))
                        rates[label].append(rate)
                        print(f"{pair:>4} {label:<9} {rate:>8.0f} articles/s", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    speedups = [new / base for base, new in zip(rates["baseline"], rates["current"], strict=True)]
    speedup = statistics.median(speedups)
    print(
        f"\n{args.baseline}: {statistics.median(rates['baseline']):,.0f} articles/s, this checkout: "
        f"{statistics.median(rates['current']):,.0f} articles/s (medians); speed-up per pair: "
        f"{', '.join(f'{s:.2f}' for s in speedups)}; median {speedup:.2f}x"
    )
    print_result(
        {
            "bench": "compare",
            "baseline": args.baseline,
            "articles": len(articles),
            "speedup": round(speedup, 4),
            "speedups": [round(s, 4) for s in speedups],
            "baseline_articles_per_s": round(statistics.median(rates["baseline"]), 1),
            "current_articles_per_s": round(statistics.median(rates["current"]), 1),
        }
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
