"""Generate ``docs/reference.md``: every setting and every stats counter, read from the code.

``python -m newscrawler.dev.reference`` rewrites the file; ``--check`` exits 1 when it is
stale (``tests/test_docs.py`` runs the same comparison).

* Settings: the top-level assignments of ``newscrawler/settings.py``, with the value they
  evaluate to and the comment above them as their meaning. A ``#:`` comment documents the
  one assignment below it; a plain ``#`` block documents the assignments that follow it
  without a blank line (a group). Comments inside a dict value document its entries.
  Section lines (``# --- ... ---``) are headings, not meanings. :data:`MEANINGS` fills in
  the few settings the file leaves without a comment of their own. A setting Scrapy does
  not define is the project's own (except :data:`SCRAPY_EXTRAS`); the others are Scrapy
  settings with the project's value.
* Counters: every call that increments a stats counter in the package — ``counter(...)``
  passed to ``inc_value``, and ``_inc(...)`` / ``.inc(...)`` helpers — with its string
  parts. An f-string placeholder becomes a ``<name>`` segment (``errors/feed_<reason>``);
  a part that is a parameter of a small wrapper (``drop(counters, session, item, reason)``)
  is resolved through the wrapper's call sites anywhere in the package when they pass
  literals (or a local variable assigned only literals), and the counter is listed under
  the call site's module.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import re
import sys
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO = PACKAGE_DIR.parent
SETTINGS_FILE = PACKAGE_DIR / "settings.py"
REFERENCE_FILE = REPO / "docs" / "reference.md"
COMMAND = "python -m newscrawler.dev.reference"
PREFIX = "newscrawler"

#: Meanings of settings that ``settings.py`` leaves without a comment of their own (or whose
#: group comment does not describe them). An entry here for a setting that has gained its
#: own comment is an error (``tests/test_docs.py``): the comment wins, delete the entry.
MEANINGS: dict[str, str] = {}

#: Scrapy settings that are not in Scrapy's ``default_settings`` (read with a default in code).
SCRAPY_EXTRAS = frozenset({"MEDIA_ALLOW_REDIRECTS"})

#: What each counter group means (the second segment of ``newscrawler/<group>/...``).
GROUPS: dict[str, str] = {
    "categories": "category pages written",
    "distributed": "the distributed mode (`REDIS_URL`): articles handed to the writer, taken by it, left to other workers",
    "dropped": "articles refused, by reason (no post)",
    "duplicates": "articles not written because the archive or the run already has the story",
    "errors": "download and parse failures, by source and reason; archive write failures",
    "fallback": "a source had no usable text or metadata and the next one was used",
    "feeds": "feeds and feed pages read",
    "finews": "the `finews` spider's pages",
    "images": "post images (`ARCHIVE_IMAGES`)",
    "posts": "posts written or found unchanged",
    "retention": "posts moved to `old_post/` (`ARCHIVE_RETENTION_DAYS`)",
    "skipped": "articles never requested",
    "text": "where article texts came from; text sources switched off",
    "warc": "WARC capture (`WARC_DIR`)",
}

#: Reasons :func:`newscrawler.outcomes.failure_reason` gives a failed download
#: (``tests/test_docs.py`` checks each is in ``outcomes.py``).
DOWNLOAD_REASONS = (
    "http_<status>",
    "timeout",
    "dns",
    "connection_refused",
    "no_response",
    "connection_lost",
    "data_loss",
    "too_large",
    "bad_encoding",
    "redirect_loop",
    "too_many_redirects",
    "robots_forbidden",
    "unsupported_scheme",
)

#: What the ``<name>`` segments stand for (``<read-reasons>``: the reasons of every
#: ``SourceError("...")`` in the package, found in the source).
PLACEHOLDERS: dict[str, str] = {
    "source": "a text source: `text_api`, `article_api` or `article_page`",
    "reason": (
        "why a download failed ([reliability](reliability.md#network-faults)): "
        + ", ".join(f"`{r}`" for r in DOWNLOAD_REASONS)
        + ", else the exception's name in snake case; or why an answer could not be read "
        "([reliability](reliability.md#bad-answers)): <read-reasons>"
    ),
    "page": "a `finews` page kind: `start`, `listing` or `post`",
}

_SECTION_RE = re.compile(r"^#\s*-{3}")
#: ``docs/operations.md`` or ``docs/operations.md "Exit statuses"`` in a comment.
_DOCS_POINTER_RE = re.compile(r'(?<!\]\()(?<![\w/`])docs/([a-z-]+\.md)(?: "([^"]+)")?')
_RST_LITERAL_RE = re.compile(r"``(.+?)``")
_PLACEHOLDER_RE = re.compile(r"<([a-z_]+)>")


# --------------------------------------------------------------------------- settings


@dataclass
class Setting:
    name: str
    line: int
    value: object
    source: str
    meaning: str
    own_comment: bool
    project: bool


def _comments(source: str) -> dict[int, str]:
    """Line number -> text of every comment in *source*."""
    found: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string
    return found


def _comment_block(lines: list[str], comments: dict[int, str], line: int) -> tuple[list[str], bool]:
    """The comment lines right above *line* (1-based), stopping at a blank line, code or a
    section line; and whether the block is ``#:`` (documents one assignment)."""
    block: list[str] = []
    number = line - 1
    while number >= 1 and lines[number - 1].strip().startswith("#"):
        text = comments.get(number, "")
        if _SECTION_RE.match(text):
            break
        block.insert(0, text)
        number -= 1
    return block, bool(block) and all(c.startswith("#:") for c in block)


def _comment_text(block: Iterable[str]) -> str:
    """The meaning a comment block gives; a line wholly in parentheses is an aside to the
    reader of the file (where to read more), not part of the meaning."""
    words = []
    for comment in block:
        text = (comment[2:] if comment.startswith("#:") else comment[1:]).strip()
        if not (text.startswith("(") and text.rstrip(".").endswith(")")):
            words.append(text)
    return markdown(" ".join(w for w in words if w))


def markdown(text: str) -> str:
    """A comment as Markdown: reStructuredText literals (````x````) as code spans, and the
    pages it points at (``docs/operations.md "Exit statuses"``) as links."""
    text = _RST_LITERAL_RE.sub(r"`\1`", text)

    def link(match: re.Match[str]) -> str:
        page, heading = match.group(1), match.group(2)
        if heading is None:
            return f"[{page}]({page})"
        return f'[{page} "{heading}"]({page}#{anchor(heading)})'

    return _DOCS_POINTER_RE.sub(link, text)


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: code and link markup dropped, lower case,
    punctuation removed, spaces as hyphens."""
    text = re.sub(r"(`+)(.+?)\1", r"\2", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _entry_notes(node: ast.expr, lines: list[str], comments: dict[int, str]) -> list[str]:
    """Comments right above the keys of a dict literal: ``Name``: note."""
    if not isinstance(node, ast.Dict):
        return []
    notes = []
    for key in node.keys:
        if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
            continue
        block, _ = _comment_block(lines, comments, key.lineno)
        if block:
            notes.append(f"`{key.value.rsplit('.', 1)[-1]}`: {_comment_text(block)}")
    return notes


def _is_scrapy_setting(name: str) -> bool:
    from scrapy.settings import default_settings

    return hasattr(default_settings, name) or name in SCRAPY_EXTRAS


def read_settings(path: Path = SETTINGS_FILE, module: str = "newscrawler.settings") -> list[Setting]:
    """The settings of *path*, in file order, with their values taken from *module*."""
    source = path.read_text("utf-8")
    lines = source.splitlines()
    comments = _comments(source)
    values = importlib.import_module(module)
    settings: list[Setting] = []
    group: str | None = None  # the first setting of the plain-commented group the last one is in
    previous_end = -1
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            previous_end, group = -1, None
            continue
        if not isinstance(target, ast.Name) or not target.id.isupper():
            previous_end, group = -1, None
            continue
        block, documents_one = _comment_block(lines, comments, node.lineno)
        own = bool(block)
        if own:
            meaning = _comment_text(block)
            group = None if documents_one else target.id
        else:
            group = group if previous_end == node.lineno - 1 else None
            meaning = MEANINGS.get(target.id) or (f"See `{group}`." if group else "")
        notes = _entry_notes(value, lines, comments)
        if notes:
            meaning = " ".join([meaning, *notes]).strip()
        settings.append(
            Setting(
                name=target.id,
                line=node.lineno,
                value=getattr(values, target.id),
                source=ast.get_source_segment(source, value) or "",
                meaning=meaning,
                own_comment=own,
                project=not _is_scrapy_setting(target.id),
            )
        )
        previous_end = node.end_lineno or node.lineno
    return settings


def _code(text: str) -> str:
    """A Markdown code span that survives a table cell."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _literal(value: object) -> str:
    if isinstance(value, str):
        return _code(repr(value)) if value else "`''` (empty)"
    return _code(repr(value))


def render_value(setting: Setting) -> str:
    value = setting.value
    if isinstance(value, dict):
        if not value:
            return "`{}`"
        return "<br>".join(f"{_code(repr(k))}: {_code(repr(v))}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "<br>".join(_code(repr(v)) for v in value) if value else "`[]`"
    shown = _literal(value)
    expression = " ".join(setting.source.split())
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and expression != repr(value)
        and any(op in expression for op in "*+-/")
    ):
        shown += f" ({_code(expression)})"
    return shown


_CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1")


def prose(text: str) -> str:
    """*text* for a Markdown table cell or list item: ``<`` outside code spans escaped (so that
    ``<source>`` is not read as an HTML tag), ``|`` escaped, one line."""
    out, last = [], 0
    for match in _CODE_SPAN_RE.finditer(text):
        out.append(text[last : match.start()].replace("<", "&lt;"))
        out.append(match.group())
        last = match.end()
    out.append(text[last:].replace("<", "&lt;"))
    return "".join(out).replace("|", "\\|").replace("\n", " ")


def settings_table(settings: Iterable[Setting], value_label: str = "default") -> list[str]:
    rows = [f"| setting | {value_label} | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {render_value(s)} | {prose(s.meaning)} |" for s in settings]
    return rows


# --------------------------------------------------------------------------- counters


@dataclass
class _Wrapper:
    """A function that increments a counter with one of its parameters as a part."""

    name: str
    param: str
    index: int  # positional index at call sites (``self`` not counted)
    parts: list[list[str] | None]  # None: the parameter's place
    module: str


@dataclass
class EmittedCounters:
    #: counter name -> modules (repository-relative paths) that emit it.
    emitted: dict[str, set[str]] = field(default_factory=dict)

    def add(self, name: str, module: str) -> None:
        self.emitted.setdefault(name, set()).add(module)


def _placeholder(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        if node.attr == "name" and isinstance(node.value, ast.Name | ast.Attribute):
            return _placeholder(node.value)
        return node.attr
    return "value"


def _alternatives(node: ast.expr) -> list[str] | None:
    """The strings *node* can be: literals, f-strings with ``<name>`` placeholders, both
    branches of ``a if c else b``; None when it is not known statically."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        text = ""
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                text += value.value
            elif isinstance(value, ast.FormattedValue):
                text += f"<{_placeholder(value.value)}>"
        return [text]
    if isinstance(node, ast.IfExp):
        body, orelse = _alternatives(node.body), _alternatives(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _counter_parts(call: ast.Call) -> list[ast.expr] | None:
    """The parts of the counter *call* increments, or None when it increments none."""
    name = _call_name(call)
    if name in ("inc_value", "set_value", "max_value") and call.args:
        inner = call.args[0]
        if isinstance(inner, ast.Call) and _call_name(inner) == "counter":
            return list(inner.args)
        return None
    if name in ("_inc", "inc") and call.args:
        return list(call.args)
    return None


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = [a.arg for a in [*func.args.posonlyargs, *func.args.args]]
    return names[1:] if names and names[0] in ("self", "cls") else names


def _expand(parts: list[list[str]]) -> list[str]:
    names = [""]
    for options in parts:
        names = [f"{n}/{o}" if n else o for n in names for o in options]
    return [f"{PREFIX}/{n}" for n in names]


def _assigned(func: ast.FunctionDef | ast.AsyncFunctionDef | None, name: str) -> list[str] | None:
    """What the local variable *name* of *func* can be, when every assignment to it is known."""
    if func is None:
        return None
    found: list[str] = []
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            options = _alternatives(node.value)
            if options is None:
                return None
            found += options
    return found or None


class _Scanner(ast.NodeVisitor):
    """Collects the increments of one module, and the wrappers that pass a parameter on."""

    def __init__(self) -> None:
        self.stack: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        #: (parts, enclosing function): one per increment.
        self.increments: list[tuple[list[ast.expr], ast.FunctionDef | ast.AsyncFunctionDef | None]] = []
        #: (call, enclosing function): every call, for the wrappers' call sites.
        self.calls: list[tuple[ast.Call, ast.FunctionDef | ast.AsyncFunctionDef | None]] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Call(self, node: ast.Call) -> None:
        func = self.stack[-1] if self.stack else None
        self.calls.append((node, func))
        parts = _counter_parts(node)
        if parts is not None and not any(isinstance(p, ast.Starred) for p in parts):
            self.increments.append((parts, func))
        self.generic_visit(node)


def _options(node: ast.expr, func: ast.FunctionDef | ast.AsyncFunctionDef | None) -> list[str] | None:
    options = _alternatives(node)
    if options is None and isinstance(node, ast.Name):
        options = _assigned(func, node.id)
    return options


@dataclass
class _Module:
    path: str
    scanner: _Scanner


def _increments(module: _Module, counters: EmittedCounters, wrappers: list[_Wrapper]) -> None:
    """Add the counters *module* increments with known parts; note its wrappers."""
    for parts, func in module.scanner.increments:
        options = [_options(p, func) for p in parts]
        unknown = [i for i, o in enumerate(options) if o is None]
        if func is not None and len(unknown) == 1:
            part = parts[unknown[0]]
            params = _params(func)
            if isinstance(part, ast.Name) and part.id in params:
                wrappers.append(_Wrapper(func.name, part.id, params.index(part.id), options, module.path))
                continue
        resolved = [
            o if o is not None else [f"<{_placeholder(p)}>"] for o, p in zip(options, parts, strict=True)
        ]
        for name in _expand(resolved):
            counters.add(name, module.path)


def _wrapper_calls(modules: list[_Module], wrapper: _Wrapper, counters: EmittedCounters) -> None:
    """Resolve *wrapper*'s parameter at its call sites in every module: the counters are
    the call sites' (they choose the part); one call site that passes something unknown
    leaves the ``<param>`` form, the wrapper's own."""
    resolved_any = unresolved = False
    for module in modules:
        for call, func in module.scanner.calls:
            if _call_name(call) != wrapper.name:
                continue
            arg: ast.expr | None = call.args[wrapper.index] if len(call.args) > wrapper.index else None
            for keyword in call.keywords:
                if keyword.arg == wrapper.param:
                    arg = keyword.value
            options = _options(arg, func) if arg is not None else None
            if options is None:
                unresolved = True
                continue
            resolved_any = True
            for name in _expand([o if o is not None else options for o in wrapper.parts]):
                counters.add(name, module.path)
    if unresolved or not resolved_any:
        for name in _expand([o if o is not None else [f"<{wrapper.param}>"] for o in wrapper.parts]):
            counters.add(name, wrapper.module)


def _modules(package: Path) -> list[_Module]:
    modules = []
    for path in sorted(package.rglob("*.py")):
        scanner = _Scanner()
        scanner.visit(ast.parse(path.read_text("utf-8"), str(path)))
        modules.append(_Module(path.relative_to(package.parent).as_posix(), scanner))
    return modules


def scan_read_reasons(package: Path = PACKAGE_DIR) -> list[str]:
    """The reasons of every ``SourceError(<reason>, ...)`` raised in the package."""
    reasons: set[str] = set()
    for module in _modules(package):
        for call, func in module.scanner.calls:
            if _call_name(call) == "SourceError" and call.args:
                reasons.update(_options(call.args[0], func) or [])
    return sorted(reasons)


def scan_counters(package: Path = PACKAGE_DIR) -> EmittedCounters:
    """Every counter the package increments, with the modules that increment it."""
    modules = _modules(package)
    counters = EmittedCounters()
    wrappers: list[_Wrapper] = []
    for module in modules:
        _increments(module, counters, wrappers)
    for wrapper in wrappers:
        _wrapper_calls(modules, wrapper, counters)
    return counters


def counters_table(counters: EmittedCounters) -> list[str]:
    rows = ["| counter | emitted by |", "|---|---|"]
    for name in sorted(counters.emitted):
        modules = ", ".join(f"[`{m}`](../{m})" for m in sorted(counters.emitted[name]))
        rows.append(f"| `{name}` | {modules} |")
    return rows


# --------------------------------------------------------------------------- the page


def render(settings: list[Setting] | None = None, counters: EmittedCounters | None = None) -> str:
    """The text of ``docs/reference.md``."""
    settings = read_settings() if settings is None else settings
    counters = scan_counters() if counters is None else counters
    own = [s for s in settings if s.project]
    scrapy = [s for s in settings if not s.project]
    groups = sorted({name.split("/")[1] for name in counters.emitted})
    placeholders = sorted({p for name in counters.emitted for p in _PLACEHOLDER_RE.findall(name)})
    lines = [
        "# Reference: settings and stats counters",
        "",
        f"<!-- Generated by `{COMMAND}` from the code; do not edit by hand. -->",
        "",
        f"Generated from [`newscrawler/settings.py`](../newscrawler/settings.py) and the package's "
        f"source by [`newscrawler/dev/reference.py`](../newscrawler/dev/reference.py): run `{COMMAND}` "
        f"after changing a setting or a counter (`{COMMAND} --check` and `tests/test_docs.py` fail "
        "while this page is stale). Every setting can be changed per run with `-s NAME=VALUE`; "
        "list settings take a comma-separated value, dict settings a JSON object.",
        "",
        "## Settings of the project",
        "",
        "The settings newscrawler itself introduces and reads.",
        "",
        *settings_table(own),
        "",
        "## Scrapy settings the project sets",
        "",
        "Scrapy's own settings, with the value `settings.py` gives them (Scrapy's documentation "
        "describes each; the meaning here is why the project chose the value).",
        "",
        *settings_table(scrapy, "value"),
        "",
        "## Stats counters",
        "",
        "Every counter the project increments, found in the source (a `<name>` segment is filled "
        "in at run time). They are in Scrapy's stats dump at the end of the log and under "
        "`counters` in `STATE_DIR/last-run.json`; the `errors`, `dropped` and `duplicates` groups "
        "are also summed up in the run summary (see [operations](operations.md#the-run-report-last-runjson)).",
        "",
        "| group | counts |",
        "|---|---|",
        *(f"| `{PREFIX}/{g}/...` | {prose(GROUPS.get(g, ''))} |" for g in groups),
        "",
    ]
    read_reasons = ", ".join(f"`{r}`" for r in scan_read_reasons())
    if placeholders:
        lines += [
            f"- `<{p}>`: {prose(PLACEHOLDERS.get(p, '')).replace('&lt;read-reasons>', read_reasons)}"
            for p in placeholders
        ]
        lines.append("")
    lines += [*counters_table(counters), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/reference.md from the code.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/reference.md is stale")
    parser.add_argument("--output", type=Path, default=REFERENCE_FILE)
    args = parser.parse_args(argv)
    text = render()
    current = args.output.read_text("utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, "utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
