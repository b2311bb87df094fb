"""Shared test fixtures: loopback fixture servers and ``scrapy crawl`` subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newscrawler.devserver import FixtureHTTPServer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
EASTMONEY = FIXTURES / "eastmoney"

CrawlRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def eastmoney_server() -> Iterator[FixtureHTTPServer]:
    """The eastmoney fixture tree on 127.0.0.1 (a fresh port per test)."""
    with FixtureHTTPServer(EASTMONEY).running() as server:
        yield server


@pytest.fixture
def source(tmp_path: Path) -> Iterator[FixtureHTTPServer]:
    """An empty tree ``tmp_path/source`` on 127.0.0.1, for a test to write its own feeds into."""
    root = tmp_path / "source"
    root.mkdir()
    with FixtureHTTPServer(root).running() as server:
        yield server


def eastmoney_settings(base: str) -> dict[str, str]:
    """Settings that point the eastmoney spider at a loopback fixture server."""
    return {
        "EASTMONEY_TEXT_URL": f"{base}/NewsData/GetNewsText.do?id={{info_code}}",
        "EASTMONEY_ARTICLE_URL": f"{base}/a/{{code}}.html",
    }


def run_crawl(
    spider: str,
    archive: Path,
    *,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl SPIDER`` in a subprocess, writing into *archive*."""
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"ARCHIVE_DIR={archive}"]
    merged = {
        "RETRY_TIMES": "1",
        "DOWNLOAD_TIMEOUT": "10",
        "LOG_LEVEL": "INFO",
        # Loopback servers need no politeness: no throttling, no delay between requests.
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        **(settings or {}),
    }
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    for name, value in (args or {}).items():
        command += ["-a", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def crawl() -> CrawlRunner:
    return run_crawl
