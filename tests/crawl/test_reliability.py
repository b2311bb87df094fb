"""Reliability: bad input and network faults, nothing lost, nothing unsafe (docs/reliability.md).

One ``scrapy crawl eastmoney`` runs against a fake eastmoney on the fault server
(:mod:`newscrawler.dev.server`): feeds, text API and article pages that mix every fault and
every bad item with good articles. Each case below is a test of its own over that one
crawl's result: its counters (exact totals over the whole crawl), a log line naming its
URL and reason, and its post (exactly the expected title and body) or the absence of
one. Then the crawl as a whole: exactly the expected posts and category pages, exactly
the expected counters, no unhandled error, no file outside ``ARCHIVE_DIR``.

The project's own DOWNLOAD_MAXSIZE (4 MiB) is what refuses the 5 MB bodies; the crawl only
shortens DOWNLOAD_TIMEOUT (the slow answers) and RETRY_TIMES.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from newscrawler.dev.server import (
    HTML_UTF8,
    CutBody,
    FailFirst,
    Hangup,
    Huge,
    LoopbackServer,
    Ok,
    Redirect,
    Route,
    Slow,
    Status,
    closed_port,
)
from tests.conftest import run_crawl
from tests.support import crawl_stats, json_body, newscrawler_stats, serve

pytestmark = pytest.mark.crawl

DATE = "2022-04-01 10:00:00"
POST_DATE = "2022-04-01 10:00:00 +0800"
OUTLET = "财联社"
SLUG = "cailianshe"
TEXT_PATH = "/NewsData/GetNewsText.do?id={info_code}"
PAGE_PATH = "/a/{code}.html"
MEDIA_FEED = "/feeds/media.json"
ROLLING_FEED = "/feeds/rolling.json"
#: Slow answers sleep this long, the crawl gives up after DOWNLOAD_TIMEOUT.
SLOW = 6.0
DOWNLOAD_TIMEOUT = "1"
_POST_NAME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}-(?:NW)?\d{18}\.md$")


# --- the fake eastmoney ----------------------------------------------------------------------


@dataclass
class Case:
    """One fault or bad item and everything it must lead to."""

    id: str
    #: Counters this case adds (name without ``newscrawler/`` -> count).
    counters: dict[str, int] = field(default_factory=dict)
    #: Log lines: each tuple's strings must all be on one line of the crawl's log.
    logs: list[tuple[str, ...]] = field(default_factory=list)
    #: The article codes of the case (none of them may have a post unless ``post``).
    codes: list[str] = field(default_factory=list)
    #: The post the case must write (``_posts/...``), its exact title and a body snippet.
    post: str | None = None
    title: str | None = None
    body: str | None = None
    source_line: str | None = None
    #: Exactly how many times the server was asked for these paths.
    hits: dict[str, int] = field(default_factory=dict)


class FakeEastmoney:
    """A route table and the cases it holds: feeds, text API answers, article pages."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.feeds: list[str] = [MEDIA_FEED, ROLLING_FEED]
        self.media: list[dict[str, Any]] = []
        self.rolling: list[dict[str, Any]] = []
        self.cases: list[Case] = []
        self._serial = 0

    def code(self) -> str:
        self._serial += 1
        return f"20220401{self._serial:010d}"

    def add(self, case: Case) -> Case:
        assert case.id not in {c.id for c in self.cases}, case.id
        self.cases.append(case)
        return case

    def finish(self) -> dict[str, Route]:
        self.routes[MEDIA_FEED] = Ok(json_body({"rc": 1, "record": self.media}))
        self.routes[ROLLING_FEED] = Ok(json_body({"rc": 1, "records": self.rolling}))
        return self.routes


def media_record(code: str, **fields: Any) -> dict[str, Any]:
    """A media-feed item; ``None`` leaves a field out."""
    record = {"title": f"标题{code}", "datetime": DATE, "medianame": OUTLET, "infoCode": f"NW{code}"}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def text_body(code: str) -> str:
    return f"<p>　　文章{code}来自文本接口。</p>\r\n<p>　　第二段。</p>"


def page_body(code: str) -> str:
    return f"<p>　　文章{code}来自文章页面。</p><p>　　第二段。</p>"


def text_answer(code: str, **fields: Any) -> dict[str, Any]:
    """A text-API answer with a body only (the feed gives the metadata); ``None`` drops a field."""
    answer: dict[str, Any] = {"text": text_body(code)}
    answer.update(fields)
    return {k: v for k, v in answer.items() if v is not None}


def page_html(code: str, title: str) -> str:
    return (
        '<html><head><meta charset="{charset}"><title>_东方财富网</title></head><body>'
        f'<div class="title">{title}</div><div class="infos"><div class="item">2022年04月01日 10:00</div>'
        f'<div class="item">来源：{OUTLET}</div></div>'
        f'<div class="txtinfos" id="ContentBody">{page_body(code)}'
        '<p class="em_media">（文章来源：财联社）</p></div><script>var x = 1;</script></body></html>'
    )


def page_ok(
    code: str, title: str = "页面标题", *, encoding: str = "utf-8", label: str | None = "utf-8"
) -> Ok:
    """An article page in *encoding*; *label* is the charset the HTTP header and ``<meta>``
    declare (None: declared nowhere)."""
    html = page_html(code, title)
    if label is None:
        html = html.replace('<meta charset="{charset}">', "")
    return Ok(
        html.replace("{charset}", label or "").encode(encoding),
        f"text/html; charset={label}" if label else "text/html",
    )


def truncated(body: bytes, cut: int) -> bytes:
    """*body* (UTF-8) without its last *cut* characters: cut on a character boundary."""
    return body.decode("utf-8")[:-cut].encode("utf-8")


def post_of(code: str) -> str:
    return f"_posts/2022-04-01-NW{code}.md"


def text_path(code: str) -> str:
    return TEXT_PATH.format(info_code=f"NW{code}")


def page_path(code: str) -> str:
    return PAGE_PATH.format(code=code)


# --- cases: good articles --------------------------------------------------------------------


def good_articles(fake: FakeEastmoney) -> None:
    for n in range(3):
        code = fake.code()
        fake.media.append(media_record(code))
        fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
        fake.add(
            Case(
                f"good_{n}",
                counters={"text/from_text_api": 1},
                codes=[code],
                post=post_of(code),
                title=f"标题{code}",
                body=f"文章{code}来自文本接口",
            )
        )
    # A rolling-news article (emnews post) whose column URL is a javascript: URL: the
    # source line falls back to the article page, the digest loses its markup.
    code = fake.code()
    fake.rolling.append(
        {
            "id": code,
            "title": "滚动新闻标题",
            "digest": "【滚动新闻标题】摘要<script>alert(1)</script>*粗体*（财联社）",
            "url_w": "javascript:alert(1)",
            "showtime": DATE,
        }
    )
    fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
    fake.add(
        Case(
            "rolling_javascript_url_w",
            counters={"text/from_text_api": 1, "fallback/bad_source_url": 1},
            codes=[code],
            post=f"_posts/2022-04-01-{code}.md",
            title="滚动新闻标题",
            body="> 摘要alert(1)*粗体*（财联社）",
            source_line=f"<http://127.0.0.1:PORT/a/{code}.html>",
        )
    )


# --- cases: feed faults ----------------------------------------------------------------------


def feed_faults(fake: FakeEastmoney) -> None:
    def feed(name: str, route: Route, reason: str) -> None:
        path = f"/feeds/{name}.json"
        fake.routes[path] = route
        fake.feeds.append(path)
        fake.add(Case(f"feed_{name}", counters={f"errors/feed_{reason}": 1}, logs=[(path, reason)]))

    def good_feed(**kwargs: Any) -> tuple[bytes, str, str]:
        """A media feed with one new article (returned with its post and title)."""
        code = fake.code()
        title = f"来自故障源的标题{code}"
        fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
        return json_body({"record": [media_record(code, title=title)]}, **kwargs), code, title

    def recovered(name: str, route: Route, code: str, title: str, **extra: Any) -> None:
        path = f"/feeds/{name}.json"
        fake.routes[path] = route
        fake.feeds.append(path)
        fake.add(
            Case(
                f"feed_{name}",
                counters={"text/from_text_api": 1, **extra.pop("counters", {})},
                logs=extra.pop("logs", [(path, "(media): 1 entries")]),
                hits=extra.pop("hits", {}),
                codes=[code],
                post=post_of(code),
                title=title,
                body=f"文章{code}来自文本接口",
            )
        )

    feed("http_500", Status(500), "http_500")
    feed("http_503", Status(503), "http_503")
    feed("http_404", Status(404), "http_404")
    feed("slow", Slow(SLOW), "timeout")
    feed("cut_mid_body", CutBody(json_body({"record": [media_record(fake.code())]}), keep=40), "data_loss")
    feed("hangup", Hangup(), "no_response")
    feed("truncated", Ok(truncated(json_body({"record": [media_record(fake.code())]}), 30)), "invalid_json")
    fake.routes["/feeds/loop-b"] = Redirect("/feeds/redirect_loop.json")
    feed("redirect_loop", Redirect("/feeds/loop-b"), "redirect_loop")
    feed("html", Ok("<html><body>访问过于频繁</body></html>".encode(), HTML_UTF8), "html")
    feed("empty", Ok(b""), "empty")
    feed("unknown_shape", Ok(json_body({"data": {"diff": []}})), "unknown_shape")
    feed("huge", Huge(), "too_large")
    feed("huge_streamed", Huge(streamed=True), "too_large")
    bomb = gzip.compress(b" " * (5 * 1024 * 1024))
    feed("gzip_bomb", Ok(bomb, headers={"Content-Encoding": "gzip"}), "too_large")
    feed("bad_gzip", Ok(b"not gzip at all", headers={"Content-Encoding": "gzip"}), "bad_encoding")
    refused = f"http://127.0.0.1:{closed_port()}/feeds/refused.json"
    fake.feeds.append(refused)
    fake.add(
        Case(
            "feed_connection_refused",
            counters={"errors/feed_connection_refused": 1},
            logs=[(refused, "failed", "connection_refused")],
        )
    )

    body, code, title = good_feed()
    recovered(
        "503_then_ok",
        FailFirst(Ok(body), times=1, status=503),
        code,
        title,
        logs=[("/feeds/503_then_ok.json", "(media): 1 entries")],
        hits={"/feeds/503_then_ok.json": 2},
    )
    body, code, title = good_feed()
    fake.routes["/feeds/moved.json"] = Ok(body)
    recovered(
        "redirected", Redirect("/feeds/moved.json"), code, title, logs=[("/feeds/moved.json", "entries")]
    )
    body, code, title = good_feed(wrap="ajaxResult")
    recovered("js_wrapped", Ok(body, "application/javascript"), code, title)
    body, code, title = good_feed(encoding="gbk")
    recovered(
        "gbk_labelled_utf8",
        Ok(body),
        code,
        title,
        counters={"errors/feed_charset_mismatch": 1},
        logs=[("/feeds/gbk_labelled_utf8.json", "not UTF-8")],
    )
    body, code, title = good_feed()
    recovered("utf8_labelled_gbk", Ok(body, "application/json; charset=gbk"), code, title)


# --- cases: text API faults (the article page is good) -----------------------------------------


def text_faults(fake: FakeEastmoney) -> None:
    def case(name: str, route: Route, reason: str, *, counter: str = "") -> None:
        code = fake.code()
        fake.media.append(media_record(code))
        fake.routes[text_path(code)] = route
        fake.routes[page_path(code)] = page_ok(code)
        counters = {"text/from_article_page": 1, counter or f"errors/text_api_{reason}": 1}
        fake.add(
            Case(
                f"text_api_{name}",
                counters=counters,
                logs=[(text_path(code), reason)],
                codes=[code],
                post=post_of(code),
                title=f"标题{code}",
                body=f"文章{code}来自文章页面",
            )
        )

    case("http_500", Status(500), "http_500")
    case("http_404", Status(404), "http_404")
    case("slow", Slow(SLOW), "timeout")
    case("cut_mid_body", CutBody(json_body({"text": "<p>正文</p>" * 50}), keep=60), "data_loss")
    case("hangup", Hangup(), "no_response")
    case("truncated", Ok(truncated(json_body({"text": "<p>正文</p>" * 5}), 20)), "invalid_json")
    case("truncated_mid_character", Ok(json_body({"text": "<p>正文</p>" * 5})[:-11]), "bad_charset")
    case("html", Ok(b"<html><body>502 Bad Gateway</body></html>", HTML_UTF8), "html")
    case("empty", Ok(b""), "empty")
    case("not_json", Ok(b"OK"), "not_json")
    case("json_list", Ok(b"[1, 2, 3]"), "unknown_shape")
    case("huge", Huge(), "too_large")
    case(
        "gzip_bomb",
        Ok(gzip.compress(b" " * (5 * 1024 * 1024)), headers={"Content-Encoding": "gzip"}),
        "too_large",
    )
    case("bad_gzip", Ok(b"garbage", headers={"Content-Encoding": "gzip"}), "bad_encoding")
    case(
        "null_text",
        Ok(json_body({"data": {"text": None, "content": ""}})),
        "has no text",
        counter="fallback/text_api_no_text",
    )
    # A loop between two URLs: ends at REDIRECT_MAX_TIMES, never silently.
    code = fake.code()
    fake.media.append(media_record(code))
    fake.routes[text_path(code)] = Redirect(f"/moved/{code}")
    fake.routes[f"/moved/{code}"] = Redirect(text_path(code))
    fake.routes[page_path(code)] = page_ok(code)
    fake.add(
        Case(
            "text_api_redirect_loop",
            counters={"errors/text_api_redirect_loop": 1, "text/from_article_page": 1},
            logs=[(text_path(code), "redirect_loop")],
            codes=[code],
            post=post_of(code),
            title=f"标题{code}",
            body=f"文章{code}来自文章页面",
        )
    )
    # Two articles redirected to one "not found" page: neither may vanish as a duplicate.
    for n in range(2):
        code = fake.code()
        fake.media.append(media_record(code))
        fake.routes[text_path(code)] = Redirect("/notfound.html")
        fake.routes[page_path(code)] = page_ok(code)
        fake.add(
            Case(
                f"text_api_redirect_to_shared_page_{n}",
                counters={"errors/text_api_http_404": 1, "text/from_article_page": 1},
                logs=[(text_path(code), "redirected to", "/notfound.html", "http_404")],
                codes=[code],
                post=post_of(code),
                title=f"标题{code}",
                body=f"文章{code}来自文章页面",
            )
        )

    # Faults the text API recovers from: the post's text is the text API's.
    def recovered(name: str, route: Route, code: str, title: str, **extra: Any) -> None:
        fake.routes[text_path(code)] = route
        fake.add(
            Case(
                f"text_api_{name}",
                counters={"text/from_text_api": 1, **extra.get("counters", {})},
                logs=extra.get("logs", []),
                hits=extra.get("hits", {}),
                codes=[code],
                post=post_of(code),
                title=title,
                body=f"文章{code}来自文本接口",
            )
        )

    code = fake.code()
    fake.media.append(media_record(code))
    recovered(
        "503_then_ok",
        FailFirst(Ok(json_body(text_answer(code))), times=1, status=503),
        code,
        f"标题{code}",
        hits={text_path(code): 2},
    )
    code = fake.code()
    fake.media.append(media_record(code))
    recovered(
        "500_then_ok",
        FailFirst(Ok(json_body(text_answer(code))), times=1, status=500),
        code,
        f"标题{code}",
        hits={text_path(code): 2},
    )
    code = fake.code()
    fake.media.append(media_record(code))
    recovered("js_wrapped", Ok(json_body(text_answer(code), wrap="ajaxResult")), code, f"标题{code}")
    code = fake.code()
    fake.media.append(media_record(code))
    jsonp = b"jQuery1124({0});".replace(b"{0}", json_body(text_answer(code)))
    recovered("jsonp", Ok(jsonp, "application/javascript"), code, f"标题{code}")
    # The title comes from the text API (the feed has none): decoded right or not at all.
    code = fake.code()
    title = "央行：降准0.25个百分点"
    fake.media.append(media_record(code, title=None))
    recovered(
        "gbk_labelled_utf8",
        Ok(json_body(text_answer(code, title=title), encoding="gbk")),
        code,
        title,
        counters={"errors/text_api_charset_mismatch": 1},
        logs=[(text_path(code), "not UTF-8")],
    )
    code = fake.code()
    fake.media.append(media_record(code, title=None))
    recovered(
        "utf8_labelled_gbk",
        Ok(json_body(text_answer(code, title=title)), "application/json; charset=gbk"),
        code,
        title,
    )


# --- cases: article page faults (the text API has nothing) --------------------------------------


def page_faults(fake: FakeEastmoney) -> None:
    def case(name: str, route: Route, reason: str) -> None:
        code = fake.code()
        fake.media.append(media_record(code))
        fake.routes[page_path(code)] = route  # the text API answers 404 (no route)
        if reason in ("empty", "no_article"):  # an answer that is no article page
            logs = [(page_path(code), "unusable", reason), ("No text for article", code, page_path(code))]
        else:  # no answer at all
            logs = [("No text for article", code, page_path(code), "failed", reason)]
        fake.add(
            Case(
                f"article_page_{name}",
                counters={
                    "errors/text_api_http_404": 1,
                    f"errors/article_page_{reason}": 1,
                    "errors/no_text": 1,
                },
                logs=[(text_path(code), "http_404"), *logs],
                codes=[code],
            )
        )

    case("http_500", Status(500), "http_500")
    case("http_404", Status(404), "http_404")
    case("slow", Slow(SLOW), "timeout")
    case(
        "cut_mid_body", CutBody(b"<html><body>" + b"x" * 5000, keep=100, content_type=HTML_UTF8), "data_loss"
    )
    case("hangup", Hangup(), "no_response")
    case("huge", Huge(), "too_large")
    case("empty", Ok(b"", HTML_UTF8), "empty")
    case(
        "share_shell",
        Ok(b"<html><body><div id='app'></div><script>load()</script></body></html>", HTML_UTF8),
        "no_article",
    )
    case("json_not_html", Ok(json_body({"text": None})), "no_article")
    fake.routes["/loop/a"] = Redirect("/loop/b")
    fake.routes["/loop/b"] = Redirect("/loop/a")
    case("redirect_loop", Redirect("/loop/a"), "redirect_loop")

    # Charsets: the title comes from the page (the feed has none, the text API answers 404).
    title = "沪指午后翻红 券商板块集体拉升"
    for name, route_args, counters in (
        (
            "gbk_labelled_utf8",
            {"encoding": "gbk", "label": "utf-8"},
            {"errors/article_page_charset_mismatch": 1},
        ),
        (
            "utf8_labelled_gbk",
            {"encoding": "utf-8", "label": "gbk"},
            {"errors/article_page_charset_mismatch": 1},
        ),
        ("gbk_undeclared", {"encoding": "gbk", "label": None}, {}),
    ):
        code = fake.code()
        fake.media.append(media_record(code, title=None))
        fake.routes[page_path(code)] = page_ok(code, title, **route_args)
        fake.add(
            Case(
                f"article_page_{name}",
                counters={"errors/text_api_http_404": 1, "text/from_article_page": 1, **counters},
                logs=[(page_path(code), "charset")] if counters else [],
                codes=[code],
                post=post_of(code),
                title=title,
                body=f"文章{code}来自文章页面",
            )
        )


# --- cases: bad items --------------------------------------------------------------------------


def bad_items(fake: FakeEastmoney) -> None:
    def dropped(
        name: str,
        reason: str,
        record: dict[str, Any],
        answer: dict[str, Any],
        *,
        fallback: bool = False,
        blank: bool = False,
    ) -> None:
        """An item that must be dropped with *reason*; *fallback*: the text API lacks
        metadata, *blank*: its body cleans to nothing, so the (missing) article page is
        asked first."""
        code = record["infoCode"][2:]
        fake.media.append(record)
        fake.routes[text_path(code)] = Ok(json_body(answer))
        counters = {f"dropped/{reason}": 1, "text/from_text_api": 1}
        if fallback:
            counters.update({"fallback/text_api_no_metadata": 1, "errors/article_page_http_404": 1})
        if blank:
            counters.update({"fallback/text_api_no_text": 1, "errors/article_page_http_404": 1})
        fake.add(
            Case(
                f"bad_item_{name}",
                counters=counters,
                # The item names the source of its text, the text API, even after the page failed.
                logs=[("Dropped article", code, "GetNewsText.do", reason)],
                codes=[code],
            )
        )

    def item(
        name: str, reason: str, fallback: bool = False, answer: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        code = fake.code()
        dropped(name, reason, media_record(code, **fields), answer or text_answer(code), fallback=fallback)

    item("no_title", "no_title", fallback=True, title=None)
    item("blank_title", "no_title", title="   ", answer={"text": "<p>正文</p>", "title": " <b> </b> "})
    item("control_chars_title", "no_title", title="\x00\x01\x7f")
    item("tags_only_title", "no_title", title="<img src=x onerror=alert(1)>")
    item("no_date", "no_date", fallback=True, datetime=None)
    item("empty_date", "no_date", fallback=True, datetime="")
    item("garbage_date", "bad_date", datetime="not a date")
    item("impossible_date", "bad_date", datetime="2022-13-45 25:61:00")
    item("yearless_date", "bad_date", datetime="昨天 10:00")
    item("ancient_date", "bad_date", datetime="1900-01-01 00:00:00")
    item("future_date", "future_date", datetime="2099-01-01 00:00:00")
    item("no_outlet", "no_outlet", fallback=True, medianame=None)  # the page is asked for one
    item("punctuation_outlet", "no_outlet", medianame="！！！……")
    item("markup_outlet", "no_outlet", medianame="<b></b>")
    item("cyrillic_outlet", "bad_slug", medianame="Новости")
    item("katakana_outlet", "bad_slug", medianame="ニュース")
    item("long_outlet", "bad_slug", medianame="a" * 150)
    code = fake.code()
    dropped(
        "body_empty_after_cleaning",
        "empty_body",
        media_record(code),
        {"text": "<script>alert(1)</script><p>　　</p><!-- 注释 --><div style='display:none'>隐藏</div>"},
        blank=True,
    )
    # A text API answer with a blank body: no text anywhere (the page is missing).
    code = fake.code()
    fake.media.append(media_record(code))
    fake.routes[text_path(code)] = Ok(json_body({"text": "   ", "content": None}))
    fake.add(
        Case(
            "bad_item_blank_body",
            counters={
                "fallback/text_api_no_text": 1,
                "errors/article_page_http_404": 1,
                "errors/no_text": 1,
            },
            logs=[("No text for article", code, page_path(code), "http_404")],
            codes=[code],
        )
    )

    # Feed entries without a valid article code: counted and named, never requested.
    for name, raw in (
        ("path_traversal", "NW../../etc/passwd"),
        ("short", "NW123"),
        ("nul_byte", "NW2022040110\x0000000001"),
        ("fullwidth_digits", "NW２０２２０４０１１０００００００００１"),
        ("arabic_indic_digits", "NW٢٠٢٢٠٤٠١١٠٠٠٠٠٠٠٠١"),
        ("impossible_date_prefix", "NW202213011000000001"),
        ("missing", None),
    ):
        fake.media.append(media_record("000000000000000000", infoCode=raw))
        fake.add(
            Case(
                f"bad_code_{name}",
                counters={"dropped/feed_entry_no_code": 1},
                logs=[(MEDIA_FEED, "without a valid article code", repr(raw or ""))],
            )
        )

    # Written, and written safely.
    def written(name: str, title: str, expected_title: str, **fields: Any) -> None:
        code = fake.code()
        fake.media.append(media_record(code, title=title, **fields))
        fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
        fake.add(
            Case(
                f"safe_{name}",
                counters={"text/from_text_api": 1},
                codes=[code],
                post=post_of(code),
                title=expected_title,
                body=f"文章{code}来自文本接口",
            )
        )

    yaml_breakers = {
        "double_quote": ('他说"买入"', '他说"买入"'),
        "backslash": ("C:\\temp\\new", "C:\\temp\\new"),
        "colon_space": ("提示: 风险", "提示: 风险"),
        "hash": ("#1 头条 # 不是注释", "#1 头条 # 不是注释"),
        "document_marker": ("--- 分隔 ---", "--- 分隔 ---"),
        "newlines": ("第一行\n---\nlayout: evil\r\n第二行", "第一行 --- layout: evil 第二行"),
        "yaml_indicators": ("- & * ! | > ' % @ ` {a: b} [c]", "- & * ! | > ' % @ ` {a: b} [c]"),
        "yaml_keywords": ("null", "null"),
        "liquid": ("{{ site.title }} {% raw %}", "{{ site.title }} {% raw %}"),
        "tabs_and_separators": ("甲\t乙\u2028丙\u3000丁", "甲 乙 丙 丁"),
        "single_quotes_and_escapes": ("'\\n' \\\" \\x41", "'\\n' \\\" \\x41"),
        "emoji_and_astral": ("🚀 𠮷野家", "🚀 𠮷野家"),
    }
    for name, (title, expected) in yaml_breakers.items():
        written(name, title, expected)
    # A code found in a path-like value: only its 18 digits are used.
    code = fake.code()
    fake.media.append(media_record(code, infoCode=f"../../../{code}"))
    fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
    fake.add(
        Case(
            "safe_code_in_traversal_path",
            counters={"text/from_text_api": 1},
            codes=[code],
            post=post_of(code),
            title=f"标题{code}",
            body=f"文章{code}来自文本接口",
        )
    )
    # An outlet name with path and YAML syntax: only its letters and digits are kept.
    code = fake.code()
    fake.media.append(media_record(code, medianame="../../etc\n---\ntags: x"))
    fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
    fake.add(
        Case(
            "safe_outlet_with_path_and_yaml",
            counters={"text/from_text_api": 1},
            codes=[code],
            post=post_of(code),
            title=f"标题{code}",
            body=f"文章{code}来自文本接口",
        )
    )
    # The same article twice in a feed: one request, one post.
    code = fake.code()
    fake.media.extend([media_record(code), media_record(code, title="重复")])
    fake.routes[text_path(code)] = Ok(json_body(text_answer(code)))
    fake.add(
        Case(
            "duplicate_in_feed",
            counters={"duplicates/in_feeds": 1, "text/from_text_api": 1},
            codes=[code],
            post=post_of(code),
            title=f"标题{code}",
            body=f"文章{code}来自文本接口",
        )
    )


def build() -> FakeEastmoney:
    fake = FakeEastmoney()
    good_articles(fake)
    feed_faults(fake)
    text_faults(fake)
    page_faults(fake)
    bad_items(fake)
    fake.finish()
    return fake


FAKE = build()
CASES = FAKE.cases


# --- the crawl ---------------------------------------------------------------------------------


@dataclass
class CrawlResult:
    root: Path
    archive: Path
    base: str
    result: subprocess.CompletedProcess[str]
    stats: dict[str, int]
    lines: list[str]
    requests: Counter[str]
    totals: dict[str, int]


def expected_totals(cases: list[Case]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for case in cases:
        totals.update({f"newscrawler/{name}": count for name, count in case.counters.items()})
    return dict(totals)


def eastmoney_of(server: LoopbackServer, feeds: list[str], **extra: str) -> dict[str, str]:
    """The settings of a crawl of the fake eastmoney on *server*: *feeds* (paths on it, or
    URLs), its text API and article pages, short timeouts, one retry, 32 requests at a time."""
    base = server.url
    return {
        "EASTMONEY_FEEDS": ",".join(f if f.startswith("http") else base + f for f in feeds),
        "EASTMONEY_TEXT_URL": base + TEXT_PATH,
        "EASTMONEY_ARTICLE_URL": base + PAGE_PATH,
        "DOWNLOAD_TIMEOUT": DOWNLOAD_TIMEOUT,
        "RETRY_TIMES": "1",
        "CONCURRENT_REQUESTS": "32",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
        **extra,
    }


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawlResult]:
    """The crawl of the fake eastmoney: every fault and bad item, and good articles."""
    root = tmp_path_factory.mktemp("reliability")
    archive = root / "archive"
    with serve(FAKE.routes) as server:
        base = server.url
        settings = eastmoney_of(server, FAKE.feeds)
        started = time.monotonic()
        result = run_crawl("eastmoney", archive, settings=settings, timeout=120)
        elapsed = time.monotonic() - started
        requests = Counter(server.hits)
    assert result.returncode == 0, result.stderr[-5000:]
    assert elapsed < 60, f"the crawl took {elapsed:.1f} s"
    yield CrawlResult(
        root=root,
        archive=archive,
        base=base,
        result=result,
        stats=crawl_stats(result.stderr),
        lines=result.stderr.splitlines(),
        requests=requests,
        totals=expected_totals(CASES),
    )


def read_post(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text("utf-8")
    assert text.startswith("---\n") and text.endswith("\n") and not text.endswith("\n\n")
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(mixed: CrawlResult, case: Case) -> None:
    for name in case.counters:
        full = f"newscrawler/{name}"
        assert mixed.stats.get(full, 0) == mixed.totals[full], full
    for needles in case.logs:
        assert any(all(n in line for n in needles) for line in mixed.lines), f"no log line with {needles}"
    for path, count in case.hits.items():
        assert mixed.requests[path] == count, path
    posts = {p.relative_to(mixed.archive).as_posix() for p in (mixed.archive / "_posts").glob("*.md")}
    if case.post is None:
        assert not [p for p in posts for code in case.codes if code in p]
        return
    assert case.post in posts
    header, body = read_post(mixed.archive / case.post)
    assert header["title"] == case.title
    assert header["date"] == POST_DATE
    assert case.body is not None and case.body in body
    if case.source_line:
        assert case.source_line.replace("http://127.0.0.1:PORT", mixed.base) in body.splitlines()


def test_mixed_crawl_ends_with_exactly_the_good_posts(mixed: CrawlResult) -> None:
    posts = sorted(p.relative_to(mixed.archive).as_posix() for p in (mixed.archive / "_posts").iterdir())
    assert posts == sorted(c.post for c in CASES if c.post)
    assert mixed.stats["newscrawler/posts/written"] == len(posts)
    categories = sorted(p.name for p in (mixed.archive / "category").iterdir())
    assert categories == sorted([f"{SLUG}.html", "etctagsx.html"])
    assert (mixed.archive / "category" / "etctagsx.html").read_text("utf-8") == (
        "---\nlayout: category\ntitle: etctagsx新闻\ncategory: etctagsx\n---\n"
    )


def test_counters_are_exactly_the_expected_ones(mixed: CrawlResult) -> None:
    prefixes = (
        "newscrawler/errors/",
        "newscrawler/dropped/",
        "newscrawler/fallback/",
        "newscrawler/duplicates/",
    )
    got = {k: v for k, v in mixed.stats.items() if k.startswith(prefixes)}
    want = {k: v for k, v in mixed.totals.items() if k.startswith(prefixes)}
    assert got == want


def test_every_post_header_is_safe_yaml(mixed: CrawlResult) -> None:
    for path in (mixed.archive / "_posts").iterdir():
        assert _POST_NAME_RE.match(path.name), path.name
        header, body = read_post(path)
        assert set(header) == {"layout", "title", "date", "categories", "tags"}
        assert header["layout"] == "post"
        assert re.fullmatch(r"[a-z0-9]+", str(header["categories"]))
        assert "<script" not in body and "javascript:" not in body
        assert header["date"] == POST_DATE


def test_nothing_is_written_outside_the_archive(mixed: CrawlResult) -> None:
    assert sorted(p.name for p in mixed.root.iterdir()) == ["archive"]
    for path in mixed.archive.rglob("*"):
        relative = path.relative_to(mixed.archive).as_posix()
        assert path.resolve().is_relative_to(mixed.archive.resolve())
        assert not path.is_symlink()
        assert relative.split("/")[0] in {"_posts", "category", ".newscrawler"}, relative
        assert not path.name.endswith(".tmp"), relative


def test_no_unhandled_error_and_the_crawl_finishes(mixed: CrawlResult) -> None:
    stderr = mixed.result.stderr
    assert "Traceback" not in stderr
    assert "Spider error processing" not in stderr
    assert "Error processing" not in stderr
    assert "'finish_reason': 'finished'" in stderr
    # Each URL that failed for good was tried RETRY_TIMES + 1 times (twice), no more.
    assert mixed.requests["/feeds/http_503.json"] == 2
    assert mixed.requests[text_path(_case("text_api_http_500").codes[0])] == 2
    # A bad code is never requested.
    assert not [path for path in mixed.requests if "etc" in path or "passwd" in path]


def _case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


# --- robots.txt, when obeyed --------------------------------------------------------------------


def test_robots_txt_refusal_is_counted_not_silent(tmp_path: Path) -> None:
    ok, refused = "202204010000000001", "202204010000000002"
    routes: dict[str, Route] = {
        "/robots.txt": Ok(b"User-agent: *\nDisallow: /a/\n", "text/plain"),
        "/feed.json": Ok(json_body({"record": [media_record(ok), media_record(refused)]})),
        text_path(ok): Ok(json_body(text_answer(ok))),
        page_path(refused): page_ok(refused),
    }
    with serve(routes) as server:
        result = run_crawl(
            "eastmoney",
            tmp_path / "archive",
            args={"feeds": f"{server.url}/feed.json"},
            settings={
                "ROBOTSTXT_OBEY": "True",
                "EASTMONEY_TEXT_URL": server.url + TEXT_PATH,
                "EASTMONEY_ARTICLE_URL": server.url + PAGE_PATH,
            },
        )
        requests = list(server.requests)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = newscrawler_stats(result.stderr)
    assert stats["newscrawler/errors/article_page_robots_forbidden"] == 1
    assert stats["newscrawler/errors/no_text"] == 1
    assert any(
        page_path(refused) in line and "robots_forbidden" in line for line in result.stderr.splitlines()
    )
    assert page_path(refused) not in requests
    posts = sorted(p.name for p in (tmp_path / "archive" / "_posts").iterdir())
    assert posts == [Path(post_of(ok)).name]
