"""Shared test fixtures: loopback fixture servers and ``scrapy crawl`` subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from newscrawler.dev.server import LoopbackServer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
EASTMONEY = FIXTURES / "eastmoney"

CrawlRunner = Callable[..., subprocess.CompletedProcess[str]]

#: ``make test-fast`` runs the property tests under this Hypothesis profile
#: (``--hypothesis-profile=fast``): each with a tenth of its examples (:func:`examples`).
FAST_PROFILE = "fast"
hypothesis_settings.register_profile(FAST_PROFILE, deadline=None, database=None)


def examples(full: int) -> int:
    """How many examples a property test tries: *full*, or a tenth of it (at least 10)
    under the ``fast`` profile of ``make test-fast``. ``make test`` tries them all."""
    if hypothesis_settings.get_current_profile_name() == FAST_PROFILE:
        return max(10, full // 10)
    return full


@pytest.fixture
def eastmoney_server() -> Iterator[LoopbackServer]:
    """The eastmoney fixture tree on 127.0.0.1 (a fresh port per test)."""
    with LoopbackServer(EASTMONEY).running() as server:
        yield server


@pytest.fixture
def source(tmp_path: Path) -> Iterator[LoopbackServer]:
    """An empty tree ``tmp_path/source`` on 127.0.0.1, for a test to write its own feeds into."""
    root = tmp_path / "source"
    root.mkdir()
    with LoopbackServer(root).running() as server:
        yield server


def eastmoney_settings(base: str) -> dict[str, str]:
    """Settings that point the eastmoney spider at a loopback fixture server, with the
    text sources of the 2022 fixtures: the text API, then the article page."""
    return {
        "EASTMONEY_TEXT_URL": f"{base}/NewsData/GetNewsText.do?id={{info_code}}",
        "EASTMONEY_ARTICLE_API_URL": "",
        "EASTMONEY_ARTICLE_URL": f"{base}/a/{{code}}.html",
    }


def project_settings(**overrides: Any) -> dict[str, Any]:
    """The project's settings (``newscrawler.settings``) as a dict for
    ``scrapy.utils.test.get_crawler``, with *overrides*: the in-process component tests'
    crawler is configured as ``scrapy crawl`` configures it."""
    from newscrawler import settings

    return {**{name: getattr(settings, name) for name in dir(settings) if name.isupper()}, **overrides}


def crawl_command(
    spider: str,
    archive: Path,
    *,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of ``scrapy crawl SPIDER`` writing into *archive*."""
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"ARCHIVE_DIR={archive}"]
    merged = {
        "RETRY_TIMES": "1",
        "DOWNLOAD_TIMEOUT": "10",
        "LOG_LEVEL": "INFO",
        # The tests read the crawl's counters from Scrapy's stats dump (tests/support.py).
        "NEWSCRAWLER_LOG_DUMPS": "True",
        # Loopback servers need no politeness: no throttling, no delay between requests.
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        # No test reaches a real host: a test of the article API points it at its server.
        "EASTMONEY_ARTICLE_API_URL": "",
        **(settings or {}),
    }
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    for name, value in (args or {}).items():
        command += ["-a", f"{name}={value}"]
    return command, {**os.environ, "PYTHONPATH": str(REPO)}


def run_crawl(
    spider: str,
    archive: Path,
    *,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl SPIDER`` in a subprocess, writing into *archive*."""
    command, env = crawl_command(spider, archive, args=args, settings=settings)
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def crawl() -> CrawlRunner:
    return run_crawl


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-expected",
        action="store_true",
        default=False,
        help="rewrite the expected outputs of the golden parser tests from the parsers' output",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[Path, object], None]:
    """Compare a parser's full output with its saved expected JSON (``--update-expected``
    rewrites the file instead; review the diff before committing it)."""
    import json

    update = bool(request.config.getoption("--update-expected"))

    def check(path: Path, actual: object) -> None:
        text = json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            return
        assert path.is_file(), f"{path} is missing: run pytest --update-expected and review it"
        assert json.loads(path.read_text("utf-8")) == json.loads(text), path.name

    return check
