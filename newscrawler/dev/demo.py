"""``make demo``: serve the bundled sample sources on 127.0.0.1 and crawl them.

Two ``scrapy crawl eastmoney`` runs into one archive, with every URL pointed at the
loopback server: first today's eastmoney as configured by default (the default feeds'
paths and queries: column list and fast news pages, the article API, today's article
page), then the 2022 feeds the old scripts read, with the legacy text API they used.
Leaves real posts in the archive folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from newscrawler import settings as defaults
from newscrawler.archive.layout import POSTS_DIR
from newscrawler.dev.server import LoopbackServer

#: The file that marks a folder as the demo's archive (``make clean`` deletes only such a folder).
DEMO_MARK = ".newscrawler-demo"
#: The 2022 feeds of the sample (``tests/fixtures/eastmoney/feeds``).
LEGACY_FEEDS = ("feeds/media.json", "feeds/rolling.json", "feeds/listapi.json", "feeds/live.js")


def on_loopback(url: str, base: str) -> str:
    """*url* with its scheme and host replaced by the loopback server's (path and query kept)."""
    parts = urlsplit(url)
    return f"{base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixtures", type=Path, default=Path("tests/fixtures/eastmoney"))
    parser.add_argument("--archive", type=Path, default=Path("output-demo"))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    archive: Path = args.archive
    if archive.is_dir() and any(archive.iterdir()) and not (archive / DEMO_MARK).is_file():
        print(
            f"demo: {archive} holds something that is not the demo's archive; give another --archive",
            flush=True,
        )
        return 2
    archive.mkdir(parents=True, exist_ok=True)
    (archive / DEMO_MARK).write_text("made by make demo: invented articles, safe to delete\n", "utf-8")
    with LoopbackServer(args.fixtures, port=args.port).running() as server:
        print(f"demo: serving {args.fixtures} at {server.url}", flush=True)
        base = server.url
        today = {
            "EASTMONEY_FEEDS": ",".join(on_loopback(url, base) for url in defaults.EASTMONEY_FEEDS),
            "EASTMONEY_ARTICLE_API_URL": on_loopback(defaults.EASTMONEY_ARTICLE_API_URL, base),
            "EASTMONEY_ARTICLE_URL": on_loopback(defaults.EASTMONEY_ARTICLE_URL, base),
        }
        legacy = {
            "EASTMONEY_FEEDS": ",".join(f"{base}/{feed}" for feed in LEGACY_FEEDS),
            "EASTMONEY_TEXT_URL": f"{base}/NewsData/GetNewsText.do?id={{info_code}}",
            "EASTMONEY_ARTICLE_API_URL": "",
            "EASTMONEY_ARTICLE_URL": on_loopback(defaults.EASTMONEY_ARTICLE_URL, base),
        }
        status = 0
        for name, settings in (("today's eastmoney (2026 shapes)", today), ("the 2022 feeds", legacy)):
            print(f"demo: crawling {name}", flush=True)
            status = _crawl(args.archive, settings) or status
    posts = sorted((args.archive / POSTS_DIR).glob("*.md"))
    print(f"demo: {len(posts)} posts in {args.archive / POSTS_DIR}", flush=True)
    for post in posts:
        print(f"  {post}")
    return status


def _crawl(archive: Path, settings: dict[str, str]) -> int:
    command = [sys.executable, "-m", "scrapy", "crawl", "eastmoney", "-s", f"ARCHIVE_DIR={archive}"]
    # The loopback server needs none of the politeness the real sources get.
    for name, value in {**settings, "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0"}.items():
        command += ["-s", f"{name}={value}"]
    return subprocess.call(command)


if __name__ == "__main__":
    raise SystemExit(main())
