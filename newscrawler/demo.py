"""``make demo``: serve the bundled sample sources on 127.0.0.1 and crawl them.

Runs ``scrapy crawl eastmoney`` as a subprocess with the feed, text-API and article
URLs pointed at the loopback server, and leaves real posts in the archive folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from newscrawler.devserver import FixtureHTTPServer

DEMO_FEEDS = ("feeds/media.json", "feeds/rolling.json", "feeds/listapi.json", "feeds/live.js")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixtures", type=Path, default=Path("tests/fixtures/eastmoney"))
    parser.add_argument("--archive", type=Path, default=Path("output"))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with FixtureHTTPServer(args.fixtures, args.port).running() as server:
        status = _crawl(server.url, args)
    posts = sorted((args.archive / "_posts").glob("*.md"))
    print(f"demo: {len(posts)} posts in {args.archive / '_posts'}", flush=True)
    for post in posts:
        print(f"  {post}")
    return status


def _crawl(base: str, args: argparse.Namespace) -> int:
    print(f"demo: serving {args.fixtures} at {base}", flush=True)
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "eastmoney",
        "-s",
        f"ARCHIVE_DIR={args.archive}",
        "-s",
        "EASTMONEY_FEEDS=" + ",".join(f"{base}/{feed}" for feed in DEMO_FEEDS),
        "-s",
        f"EASTMONEY_TEXT_URL={base}/NewsData/GetNewsText.do?id={{info_code}}",
        "-s",
        f"EASTMONEY_ARTICLE_URL={base}/a/{{code}}.html",
        # The loopback server needs none of the politeness the real sources get.
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "DOWNLOAD_DELAY=0",
    ]
    return subprocess.call(command)


if __name__ == "__main__":
    raise SystemExit(main())
