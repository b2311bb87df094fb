"""The docs say what is true: README.md and docs/ link to what exists, name paths, modules
and counters that exist, and docs/reference.md is what the code generates."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from newscrawler import settings as project_settings
from newscrawler.dev import reference
from newscrawler.extensions import ExitStatus

from .conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = sorted([README, REPO / "BENCHMARKS.md", *DOCS.glob("*.md")])
MAX_README_LINES = 200

_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
#: A backticked repository path: a file or folder of the project.
_PATH_RE = re.compile(r"^(?:newscrawler|tests|bench|contrib|docs)/[\w./-]*$")
#: A backticked dotted name of the package (a module, a class in it).
_DOTTED_RE = re.compile(r"^newscrawler(?:\.\w+)+$")
#: A backticked stats counter name.
_COUNTER_RE = re.compile(r"^newscrawler/[a-z_]+/[a-z0-9_<>]+$")


def _rel(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


def prose_lines(page: Path) -> list[str]:
    """The lines of *page* outside fenced code blocks."""
    lines, fenced = [], False
    for line in page.read_text("utf-8").splitlines():
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def code_spans(page: Path) -> list[str]:
    return [m.group(2).strip() for line in prose_lines(page) for m in _CODE_SPAN_RE.finditer(line)]


def links(page: Path) -> list[str]:
    """Link targets of *page*, outside code blocks and code spans."""
    found = []
    for line in prose_lines(page):
        found += _LINK_RE.findall(_CODE_SPAN_RE.sub("", line))
    return found


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in prose_lines(page):
        match = _HEADING_RE.match(line)
        if not match:
            continue
        base = reference.anchor(match.group(2))
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


# --------------------------------------------------------------------------- the reference


def test_reference_is_up_to_date() -> None:
    expected = reference.render()
    current = reference.REFERENCE_FILE.read_text("utf-8")
    assert current == expected, "docs/reference.md is stale: run `python -m newscrawler.dev.reference`"


def test_reference_check_mode(tmp_path: Path) -> None:
    stale = tmp_path / "reference.md"
    stale.write_text("old\n", "utf-8")
    assert reference.main(["--check", "--output", str(stale)]) == 1
    assert reference.main(["--output", str(stale)]) == 0
    assert reference.main(["--check", "--output", str(stale)]) == 0
    assert stale.read_text("utf-8") == reference.render()


def test_every_setting_has_a_meaning_and_its_value() -> None:
    settings = reference.read_settings()
    names = [s.name for s in settings]
    defined = [n for n in dir(project_settings) if n.isupper() and n != "CANONICAL_ARTICLE_URL"]
    assert sorted(names) == sorted(defined)
    for setting in settings:
        assert setting.meaning, f"{setting.name}: give it a `#:` comment in newscrawler/settings.py"
        assert setting.value == getattr(project_settings, setting.name)


def test_fallback_meanings_only_for_settings_without_a_comment() -> None:
    own = {s.name for s in reference.read_settings() if s.own_comment}
    known = {s.name for s in reference.read_settings()}
    for name in reference.MEANINGS:
        assert name in known, f"MEANINGS[{name!r}]: no such setting"
        assert name not in own, f"{name} has its own comment now: delete MEANINGS[{name!r}]"


def test_project_settings_are_those_scrapy_does_not_define() -> None:
    own = {s.name for s in reference.read_settings() if s.project}
    prefixes = ("ARCHIVE_", "STATE_DIR", "EASTMONEY_", "DEDUP_", "WRITE_", "WARC_", "NEWSCRAWLER_", "REDIS_")
    assert own == {n for n in own if n.startswith(prefixes)}
    assert "MEDIA_ALLOW_REDIRECTS" not in own  # Scrapy's media pipelines read it


def test_readme_lists_every_project_setting() -> None:
    table = "\n".join(line for line in prose_lines(README) if line.startswith("| `"))
    for setting in reference.read_settings():
        if setting.project:
            assert f"`{setting.name}`" in table, f"README.md's settings table lacks {setting.name}"


def test_reference_finds_the_counters_of_wrappers_and_fstrings() -> None:
    emitted = reference.scan_counters().emitted
    assert "newscrawler/dropped/no_title" in emitted  # drop(..., "no_title") in a pipeline
    assert "newscrawler/duplicates/content_near" in emitted  # a local variable's two values
    assert "newscrawler/errors/feed_<reason>" in emitted  # f"feed_{reason}"
    assert "newscrawler/feeds/page_failed" in emitted  # "failed" if ... else "page_failed"
    assert not any(name.endswith("/<parts>") for name in emitted)  # the generic helpers are skipped


def test_download_reasons_are_those_of_outcomes() -> None:
    source = (REPO / "newscrawler" / "outcomes.py").read_text("utf-8")
    for reason in reference.DOWNLOAD_REASONS:
        assert f'"{reason.split("<")[0]}' in source, reason


def test_every_counter_group_is_described() -> None:
    groups = {name.split("/")[1] for name in reference.scan_counters().emitted}
    assert groups <= set(reference.GROUPS), groups - set(reference.GROUPS)


# --------------------------------------------------------------------------- README and docs


def test_readme_is_the_users_page() -> None:
    lines = README.read_text("utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move the rest to docs/"
    readme_links = set(links(README))
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "benchmarks-notes.md":
            assert f"docs/{page.name}" in readme_links, f"README.md's 'Read on' lacks docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_no_spec_section_references(page: Path) -> None:
    text = page.read_text("utf-8")
    assert "SPEC §" not in text, "describe the contract itself (docs/contract.md), not a SPEC section"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_resolve(page: Path) -> None:
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{_rel(page)}: broken link {target}"
        if anchor:
            assert resolved.suffix == ".md", f"{_rel(page)}: anchor into a non-Markdown file: {target}"
            assert anchor in anchors(resolved), f"{_rel(page)}: no heading #{anchor} in {path or page.name}"


def is_path(span: str) -> bool:
    """A backticked file (``newscrawler/dedup/store.py``) or folder (``contrib/``), not a
    counter or a group of counters (``newscrawler/dropped/no_title``, ``newscrawler/feeds/``)."""
    if not _PATH_RE.match(span) or span.endswith("..."):
        return False
    if span.endswith("/"):
        parts = span.split("/")
        return not (parts[0] == "newscrawler" and len(parts) == 3 and parts[1] in reference.GROUPS)
    return re.search(r"\.[A-Za-z0-9]+$", span) is not None


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_named_paths_exist(page: Path) -> None:
    for span in code_spans(page):
        if is_path(span) and not _COUNTER_RE.match(span):
            assert (REPO / span).exists(), f"{_rel(page)}: `{span}` does not exist"


def test_path_detection() -> None:
    assert (
        is_path("newscrawler/dedup/store.py") and is_path("contrib/") and is_path("tests/fixtures/cleaning/")
    )
    assert not is_path("newscrawler/feeds/") and not is_path("newscrawler/warc/...")
    assert not is_path("newscrawler/dropped/no_title") and not is_path("tests/fixtures/*/expected/")


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_named_modules_exist(page: Path) -> None:
    for span in code_spans(page):
        if not _DOTTED_RE.match(span):
            continue
        parts = span.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: object = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for name in parts[cut:]:
                assert hasattr(obj, name), f"{_rel(page)}: `{span}` does not exist"
                obj = getattr(obj, name)
            break
        else:
            pytest.fail(f"{_rel(page)}: `{span}` does not exist")


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_named_counters_exist(page: Path) -> None:
    """A counter the docs name is one the code increments (placeholders match any part)."""
    emitted = list(reference.scan_counters().emitted)

    def pattern(name: str) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"&lt;[a-z_-]+>|<[a-z_-]+>", "[a-z0-9_<>]+", name) + "$")

    for span in code_spans(page):
        if not _COUNTER_RE.match(span) or (REPO / span).exists():
            continue
        doc = pattern(span)
        assert any(doc.match(name) or pattern(name).match(span) for name in emitted), (
            f"{_rel(page)}: no counter `{span}` in the code"
        )


def test_operations_links_every_recipe_in_contrib_instead_of_copying_it() -> None:
    """The recipes live in contrib/ (tests/test_operations.py runs them as written); the docs
    link them, so there is no copy to drift."""
    page = DOCS / "operations.md"
    text = page.read_text("utf-8")
    targets = {(page.parent / target.partition("#")[0]).resolve() for target in links(page)}
    recipes = [path for path in sorted((REPO / "contrib").rglob("*")) if path.is_file()]
    assert recipes
    for path in recipes:
        assert path.resolve() in targets, f"docs/operations.md does not link {_rel(path)}"
        lines = [line for line in path.read_text("utf-8").splitlines() if len(line) > 60]
        assert not any(line in text for line in lines), f"docs/operations.md copies {_rel(path)}"
    assert "curl http://localhost:6800/schedule.json -d project=newscrawler -d spider=eastmoney" in text


@pytest.mark.parametrize("page", ["operations.md", "contract.md"])
def test_exit_status_tables_list_every_status(page: str) -> None:
    text = (DOCS / page).read_text("utf-8")
    for status in ExitStatus:
        assert f"\n| {int(status)} |" in text, f"docs/{page}: exit status {int(status)}"
    if page == "contract.md":
        for status in ExitStatus:
            assert f"| `{status.label}` |" in text


_POINTER_RE = re.compile(r'docs/([a-z-]+\.md)(?: "([^"]+)")?')


def pointers() -> list[tuple[str, str, str | None]]:
    """Every ``docs/<page>.md`` or ``docs/<page>.md "<heading>"`` named outside the docs:
    (file, page, heading)."""
    files = [
        *sorted((REPO / "newscrawler").rglob("*.py")),
        *sorted((REPO / "tests").glob("*.py")),
        *sorted((REPO / "bench").glob("*.py")),
        *sorted(p for p in (REPO / "contrib").rglob("*") if p.is_file()),
        REPO / "pyproject.toml",
        REPO / "Makefile",
    ]
    found = []
    for path in files:
        if path == Path(__file__):
            continue
        for match in _POINTER_RE.finditer(path.read_text("utf-8")):
            found.append((_rel(path), match.group(1), match.group(2)))
    return found


def test_code_points_at_docs_sections_that_exist() -> None:
    """Docstrings and comments name a docs page and a heading of it; both must exist."""
    for source, page, heading in pointers():
        assert (DOCS / page).is_file(), f"{source}: no page docs/{page}"
        if heading is not None:
            assert reference.anchor(heading) in anchors(DOCS / page), (
                f'{source}: docs/{page} has no heading "{heading}"'
            )
