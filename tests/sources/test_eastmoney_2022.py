"""The 2022 eastmoney sources (media, rolling, list API and live feeds, the legacy text API,
the 2022 article pages), parsed from the saved fixture files.

Each fixture's full parser output is compared with ``expected/v2022/`` (golden files,
``pytest --update-expected`` rewrites them: review the diff). The golden files are then
checked against the hand-written expectations of ``expected/{feeds,text,page}/`` on every
field both have, so that a regenerated golden file cannot silently drift from what the
fixture README says the file holds. ``test_eastmoney_sources.py`` keeps the hand-written
checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from newscrawler.sources.eastmoney.article_page import ArticlePageParser
from newscrawler.sources.eastmoney.common import SourceError, decode_html
from newscrawler.sources.eastmoney.feeds import FeedParser
from newscrawler.sources.eastmoney.text_api import TextApiParser
from tests.conftest import EASTMONEY

GOLDEN = EASTMONEY / "expected" / "v2022"
HAND = EASTMONEY / "expected"
FEEDS = EASTMONEY / "feeds"
NEWSDATA = EASTMONEY / "NewsData"
PAGES = EASTMONEY / "a"
Golden = Callable[[Path, object], None]

FEED_FILES = sorted(p.name for p in FEEDS.iterdir() if not p.name.endswith(".headers"))
TEXT_FILES = sorted(p.name for p in NEWSDATA.iterdir() if not p.name.endswith(".headers"))
#: The 2022 article pages (the 2026 ones are golden-tested in test_eastmoney_2026.py).
PAGE_CODES = sorted(p.stem for p in PAGES.glob("2022*.html"))


def sidecar(path: Path) -> dict[str, str]:
    """The headers of *path*'s ``.headers`` sidecar (lower-case names), as the devserver sends them."""
    side = path.with_name(path.name + ".headers")
    if not side.is_file():
        return {}
    headers = {}
    for line in side.read_text("utf-8").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def charset(path: Path) -> str | None:
    content_type = sidecar(path).get("content-type", "")
    return content_type.split("charset=", 1)[1].strip() if "charset=" in content_type else None


def parsed(parse: Callable[[], Any]) -> dict[str, Any]:
    """The parser's whole output: the dataclass as a dict, or the error it raised."""
    try:
        return asdict(parse())
    except SourceError as exc:
        return {"error": {"reason": exc.reason, "detail": exc.detail}}


def feed_output(name: str) -> dict[str, Any]:
    path = FEEDS / name
    return parsed(lambda: FeedParser().parse(path.read_bytes(), f"feeds/{name}", charset(path)))


def text_output(name: str) -> dict[str, Any]:
    path = NEWSDATA / name
    return parsed(lambda: TextApiParser().parse(path.read_bytes(), f"NewsData/{name}", charset(path)))


def page_output(code: str) -> dict[str, Any]:
    path = PAGES / f"{code}.html"
    return parsed(
        lambda: ArticlePageParser().parse(f"a/{code}.html", decode_html(path.read_bytes(), charset(path)))
    )


def golden_feed(stem: str) -> Path:
    return GOLDEN / "feeds" / f"{stem}.json"


def golden_text(info_code: str) -> Path:
    return GOLDEN / "text_api" / f"{info_code}.json"


def golden_page(code: str) -> Path:
    return GOLDEN / "page" / f"{code}.json"


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


# --- the golden files ------------------------------------------------------------------------


def test_every_fixture_has_a_case() -> None:
    assert len(FEED_FILES) == 13 and "live.js" in FEED_FILES and "media_wrapped.js" in FEED_FILES
    assert len(TEXT_FILES) == 12
    assert len(PAGE_CODES) == 13
    # One golden file per fixture and no stale golden file of a fixture that is gone.
    assert sorted(p.name for p in (GOLDEN / "feeds").glob("*.json")) == sorted(
        f"{Path(n).stem}.json" for n in FEED_FILES
    )
    assert sorted(p.stem for p in (GOLDEN / "text_api").glob("*.json")) == sorted(
        n.split("=", 1)[1] for n in TEXT_FILES
    )
    assert sorted(p.stem for p in (GOLDEN / "page").glob("*.json")) == PAGE_CODES


@pytest.mark.parametrize("name", FEED_FILES)
def test_feed_golden(name: str, golden: Golden) -> None:
    golden(golden_feed(Path(name).stem), feed_output(name))


@pytest.mark.parametrize("name", TEXT_FILES)
def test_text_api_golden(name: str, golden: Golden) -> None:
    golden(golden_text(name.split("=", 1)[1]), text_output(name))


@pytest.mark.parametrize("code", PAGE_CODES)
def test_article_page_golden(code: str, golden: Golden) -> None:
    golden(golden_page(code), page_output(code))


# --- the golden files agree with the hand-written expectations --------------------------------


def _hand(kind: str) -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in sorted((HAND / kind).glob("*.json"))]


@pytest.mark.parametrize("hand_path", _hand("feeds"))
def test_feed_golden_agrees_with_the_hand_written_expectation(hand_path: Path) -> None:
    hand = load(hand_path)
    feed = EASTMONEY / hand["file"]
    gold = load(golden_feed(feed.stem))
    status = int(sidecar(feed).get("status", "200"))
    if status != 200:
        # Never parsed by a crawl: the HTTP error is the outcome (``errors/feed_http_<status>``).
        assert hand["shape"] == "error" and hand["reason"] == f"http_{status}"
        assert gold["error"]["reason"] == "html"  # the error page itself, were it served 200
        return
    if hand["shape"] == "error":
        assert hand["entries"] == []
        assert gold["error"]["reason"] == hand["reason"], feed.name
        assert set(gold) == {"error"}
        return
    assert "error" not in gold, feed.name
    assert gold["shape"] == hand["shape"]
    assert gold["charset_mismatch"] == (hand["reason"] == "charset_mismatch")
    assert gold["invalid"] == 0 and gold["invalid_codes"] == []
    assert gold["items"] == len(hand["entries"])
    assert [e["code"] for e in gold["entries"]] == [e["code"] for e in hand["entries"]]
    for got, want in zip(gold["entries"], hand["entries"], strict=True):
        assert want["info_code"] == f"NW{got['code']}"
        # The parser keeps the feed's title stripped; the hand-written ``title`` is collapsed.
        assert got["title"] == want.get("title_raw", want["title"]).strip()
        assert " ".join(got["title"].split()) == want["title"]
        assert got["date_raw"] == want["date_raw"]
        assert got["outlet"] == (want["outlet"] or "")
        assert got["digest"] == (want["digest"] or "")
        # The parser's ``url_w`` is the source URL: ``url_w``, else ``url_unique``.
        assert got["url_w"] == (want.get("source_url") or want["url_w"] or "")
        assert got["kind"] == ("emnews" if hand["shape"] in ("rolling", "live") else "outlet")
        assert got["shape"] == hand["shape"]
        assert got["flash"] == "" and got["metadata_wins"] is True


@pytest.mark.parametrize("hand_path", _hand("text"))
def test_text_api_golden_agrees_with_the_hand_written_expectation(hand_path: Path) -> None:
    hand = load(hand_path)
    path = golden_text(hand["info_code"])
    if hand["status"] == 404:
        assert not path.exists()  # no answer file, nothing to parse
        return
    gold = load(path)
    if hand["status"] != 200 or hand["envelope"] is None:
        assert set(gold) == {"error"}
        assert gold["error"]["reason"] == ("html" if hand["status"] == 500 else "invalid_json")
        return
    assert "error" not in gold
    assert bool(gold["body"]) == hand["has_text"]
    for snippet in hand["body_contains"]:
        assert snippet in gold["body"]
    for name in ("title", "date_raw", "outlet"):
        assert gold[name] == (hand[name] or ""), name
    assert gold["charset_mismatch"] is False
    assert gold["summary"] == gold["source"] == gold["url"] == "" and gold["blank"] is False


@pytest.mark.parametrize("hand_path", _hand("page"))
def test_article_page_golden_agrees_with_the_hand_written_expectation(hand_path: Path) -> None:
    hand = load(hand_path)
    gold = load(golden_page(hand["code"]))
    assert "error" not in gold
    for name in ("title", "date_raw", "outlet", "summary"):
        assert gold[name] == (hand[name] or ""), name
    for snippet in hand["body_contains"]:
        assert snippet in gold["body"]
    for snippet in hand["body_not_contains"]:
        assert snippet not in gold["body"]
    assert gold["charset_mismatch"] is False and gold["blank"] is False
