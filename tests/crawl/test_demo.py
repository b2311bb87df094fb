"""``make demo``: both paths (today's eastmoney and the 2022 feeds) write posts offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
