"""An incremental run: ``scrapy crawl eastmoney`` again over the same feed and archive.

Generates and serves the throughput bench's feed (``bench/benchlib.py``), runs the
pipeline once into a fresh archive (the first run), snapshots every ``_posts/*.md``
(inode, mtime in ns, SHA-256), runs the pipeline again on the filled archive with the
feed unchanged, and reports:

* wall time of both runs, and the second's crawl time (first request to exit);
* requests the second run made, counted at the server: feed, text API, article page
  (a run over unchanged feeds makes no article requests; target 0);
* posts rewritten (inode or mtime changed; target 0), changed (bytes differ; target 0),
  added and removed.

    .venv/bin/python bench/bench_incremental.py [--articles 3000]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

from benchlib import (
    bench_server,
    check_run,
    crawl_settings,
    machine_line,
    make_articles,
    print_result,
    run_scrapy,
    site_pages,
)

Snapshot = dict[str, tuple[int, int, str]]


def snapshot(archive: Path) -> Snapshot:
    """``_posts/*.md`` name -> (inode, mtime ns, sha256)."""
    out: Snapshot = {}
    for path in sorted((archive / "_posts").glob("*.md")):
        st = path.stat()
        out[path.name] = (st.st_ino, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    args = parser.parse_args()

    print(machine_line())
    articles = make_articles(args.articles)
    with (
        bench_server(site_pages(articles)) as server,
        tempfile.TemporaryDirectory(prefix="bench-incr-") as tmp,
    ):
        archive = Path(tmp) / "archive"
        settings = crawl_settings(server.url, archive)
        first = run_scrapy(server, ["crawl", "eastmoney"], settings)
        check_run(first, "first run")
        before = snapshot(archive)
        if len(before) != len(articles):
            raise SystemExit(f"first run wrote {len(before)} posts, expected {len(articles)}")
        second = run_scrapy(server, ["crawl", "eastmoney"], settings)
        check_run(second, "second run")
        after = snapshot(archive)
        state_files = sorted(
            str(p.relative_to(archive)) for p in archive.glob(".newscrawler/*") if p.is_file()
        )
        leftovers = [p.name for p in (archive / "_posts").iterdir() if p.name.startswith(".")]

    common = before.keys() & after.keys()
    rewritten = sum(1 for name in common if before[name][:2] != after[name][:2])
    changed = sum(1 for name in common if before[name][2] != after[name][2])
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    article_requests = second.counts.get("text", 0) + second.counts.get("page", 0)

    print(f"{len(articles):,} articles; archive state files: {', '.join(state_files) or 'none'}")
    header = f"{'run':<7} {'wall s':>7} {'crawl s':>8} {'feed':>5} {'text API':>9} {'page':>5}"
    print(header)
    print("-" * len(header))
    for label, r in (("first", first), ("second", second)):
        print(
            f"{label:<7} {r.wall_s:>7.2f} {r.crawl_s:>8.2f} {r.counts.get('feed', 0):>5} "
            f"{r.counts.get('text', 0):>9} {r.counts.get('page', 0):>5}"
        )
    print(
        f"\nsecond run: {article_requests} article requests (target 0), {rewritten} posts rewritten "
        f"(target 0), {changed} changed, {added} added, {removed} removed, "
        f"{len(leftovers)} temp files left; wall time {second.wall_s / first.wall_s:.2f}x the first run's"
    )
    print_result(
        {
            "bench": "incremental",
            "articles": len(articles),
            "first_wall_s": round(first.wall_s, 2),
            "second_wall_s": round(second.wall_s, 2),
            "second_crawl_s": round(second.crawl_s, 2),
            "wall_ratio": round(second.wall_s / first.wall_s, 3),
            "article_requests": article_requests,
            "text_requests": second.counts.get("text", 0),
            "page_requests": second.counts.get("page", 0),
            "feed_requests": second.counts.get("feed", 0),
            "posts_rewritten": rewritten,
            "posts_changed": changed,
            "posts_added": added,
            "posts_removed": removed,
            "temp_files_left": len(leftovers),
        }
    )


if __name__ == "__main__":
    main()
