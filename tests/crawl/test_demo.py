"""``make demo``: both paths (today's eastmoney and the 2022 feeds) write posts offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newscrawler.dev.server import closed_port
from tests.conftest import EASTMONEY, REPO

pytestmark = pytest.mark.crawl


def test_demo_writes_posts_from_the_2026_and_the_2022_shapes(tmp_path: Path) -> None:
    archive = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newscrawler.dev.demo",
            "--fixtures",
            str(EASTMONEY),
            "--archive",
            str(archive),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    posts = {p.name for p in (archive / "_posts").glob("*.md")}
    assert len(posts) == 22  # 10 from today's shapes, 12 from the 2022 feeds
    assert "2026-09-19-NW202609193879000101.md" in posts  # column list -> article API
    assert "2026-09-19-202609193879000203.md" in posts  # fast news -> its flash text
    assert "2022-03-28-NW202203282325310457.md" in posts  # 2022 media feed -> text API
    assert f"demo: 22 posts in {archive / '_posts'}" in result.stdout


def test_demo_refuses_a_folder_that_is_not_its_archive(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "_posts").mkdir(parents=True)
    (real / "_posts" / "2022-03-28-NW202203282325310457.md").write_text("a real post\n", "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "newscrawler.dev.demo", "--fixtures", str(EASTMONEY), "--archive", str(real)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "is not the demo's archive" in result.stdout
    assert sorted(p.name for p in real.rglob("*")) == ["2022-03-28-NW202203282325310457.md", "_posts"]


def test_make_clean_deletes_only_what_the_demo_made(tmp_path: Path) -> None:
    real, demo = tmp_path / "real", tmp_path / "demo"
    for folder in (real, demo):
        (folder / "_posts").mkdir(parents=True)
        (folder / "_posts" / "post.md").write_text("post\n", "utf-8")
    (demo / ".newscrawler-demo").write_text("made by make demo\n", "utf-8")
    env = {**os.environ, "ARCHIVE_DIR": str(real), "DEMO_DIR": str(real)}  # a foreign archive everywhere
    work = tmp_path / "work"  # make's working folder: its caches are the ones removed
    work.mkdir()
    make = ["make", "-s", "-f", str(REPO / "Makefile"), "-C", str(work), "clean"]
    assert subprocess.run(make, env=env, capture_output=True, timeout=60, check=False).returncode == 0
    assert (real / "_posts" / "post.md").is_file()
    env["DEMO_DIR"] = str(demo)
    assert subprocess.run(make, env=env, capture_output=True, timeout=60, check=False).returncode == 0
    assert not demo.exists() and (real / "_posts" / "post.md").is_file()


def test_make_crawl_ends_with_the_crawls_own_exit_status(tmp_path: Path) -> None:
    """make can only exit 2 for a failed recipe: its last line gives the crawl's status."""
    dead = f"http://127.0.0.1:{closed_port()}/feed.json"
    make = [
        "make", "-s", "-C", str(REPO), "-o", f"{sys.prefix}/.installed", f"VENV={sys.prefix}",
        "crawl", f"ARCHIVE_DIR={tmp_path / 'archive'}",
        f"CRAWL_ARGS=-s EASTMONEY_FEEDS={dead} -s RETRY_TIMES=0 -s LOG_LEVEL=WARNING",
    ]  # fmt: skip
    result = subprocess.run(make, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "make crawl: scrapy crawl exited with status 69 (docs/operations.md#exit-statuses)" in result.stderr
    assert json.loads((tmp_path / "archive" / ".newscrawler" / "last-run.json").read_text("utf-8"))["exit_status"] == 69
