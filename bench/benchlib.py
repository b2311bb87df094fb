"""Shared parts of the crawl benchmarks: generated eastmoney data, a fast loopback server,
and ``scrapy`` subprocess runs timed against it.

* :func:`make_articles` generates a media feed (the 2022 list shape, ``{"record": [...]}``) and one
  text-API answer per article: realistic 3-5 KB bodies (``<p>　　`` paragraphs with CRLF
  line ends, a bold subheading, a keytip stock-link span, the ``em_media`` source line).
* :func:`bench_server` serves them from memory on 127.0.0.1 with the project's loopback
  server (:mod:`newscrawler.dev.server`: asyncio, HTTP/1.1 keep-alive, bounded), counting
  requests per kind (feed, text API, article page) and noting when the first request
  arrived. It runs in a daemon thread of the bench process (the crawl is another process,
  so they use the two cores).
* :func:`run_scrapy` runs ``python -m scrapy ...`` from the repository (so ``scrapy.cfg``
  and the project settings apply) and times it: ``wall_s`` from process start to exit,
  ``crawl_s`` from the server's first request (the feed) to process exit, which leaves
  out interpreter and Scrapy start-up but keeps everything the crawl does after it starts.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newscrawler.dev.server import LoopbackServer, Ok

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULT_PREFIX = "BENCH_RESULT "

# --------------------------------------------------------------------------- generated data

OUTLETS = [
    "证券时报网", "每日经济新闻", "财联社", "中国证券报", "上海证券报", "新浪财经",
    "深圳新闻网", "央视新闻客户端", "界面新闻", "第一财经", "21世纪经济报道", "经济参考报",
]  # fmt: skip
WORDS = [
    "近年来", "公司", "营业收入", "同比增长", "净利润", "投资者", "互动平台", "表示", "国务院",
    "印发", "若干措施", "纾困", "扶持", "中小企业", "资金", "市场", "波动", "经营", "稳健",
    "向好", "数字化", "转型", "服务", "老年客户", "供应链", "解决方案", "需求", "持续提升",
    "北向资金", "净买入", "板块", "涨幅居前", "券商", "半导体", "光伏设备", "锂电池", "白酒",
    "央行", "逆回购", "中标利率", "居民消费价格", "环比", "募集资金", "研发投入", "在手订单",
]  # fmt: skip
STOCKS = [
    ("0.000338", "潍柴动力"),
    ("1.600519", "贵州茅台"),
    ("0.300750", "宁德时代"),
    ("1.601318", "中国平安"),
    ("0.002594", "比亚迪"),
]


@dataclass(frozen=True)
class BenchArticle:
    code: str
    title: str
    date: str
    outlet: str
    body: str

    @property
    def info_code(self) -> str:
        return f"NW{self.code}"


def _sentence(rng: random.Random) -> str:
    words = "".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
    return (
        f"{words}{rng.randint(1, 999)}.{rng.randint(0, 99):02d}%，{rng.choice(WORDS)}{rng.randint(2, 30)}个"
    )


def _stock_link(rng: random.Random) -> str:
    code, name = rng.choice(STOCKS)
    market, number = code.split(".")
    return (
        f'<span id="stock_{code}"><a class="keytip" data-code="{market},{number}" '
        f'href="http://quote.eastmoney.com/unify/r/{code}" target="_blank">{name}</a></span>'
    )


def make_body(rng: random.Random, outlet: str) -> str:
    """A text-API body of 3-5 KB (UTF-8), the shape of real answers."""
    target = rng.randint(3000, 5000)
    source = f'<p class="em_media">（文章来源：{outlet}）</p>'
    parts: list[str] = []
    size = len(source.encode())
    linked = False
    while size < target:
        if parts and rng.random() < 0.1:
            part = f"<p>　　<strong>{_sentence(rng)}</strong></p>\r\n"
        else:
            sentences = [_sentence(rng) for _ in range(rng.randint(2, 5))]
            if not linked or rng.random() < 0.2:
                sentences.insert(1, _stock_link(rng))
                linked = True
            part = "<p>　　" + "".join(sentences) + "。</p>\r\n"
        parts.append(part)
        size += len(part.encode())
    parts.append(source)
    return "".join(parts)


def make_articles(count: int, seed: int = 7) -> list[BenchArticle]:
    """*count* distinct articles, codes ``2022MMDD`` + 10 digits, a dozen outlets."""
    rng = random.Random(seed)
    articles = []
    for i in range(count):
        month, day = i % 12 + 1, i % 28 + 1
        code = f"2022{month:02d}{day:02d}{2300000000 + i:010d}"
        date = f"2022-{month:02d}-{day:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        outlet = rng.choice(OUTLETS)
        title = "".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) + f" 第{i}号"
        articles.append(BenchArticle(code, title, date, outlet, make_body(rng, outlet)))
    return articles


def media_feed(articles: list[BenchArticle]) -> bytes:
    record = [
        {
            "title": a.title,
            "simtitle": a.title[:16],
            "datetime": a.date,
            "showtime": a.date,
            "medianame": a.outlet,
            "infoCode": a.info_code,
            "image": "",
            "digest": "",
            "type": 1,
            "sort": len(articles) - i,
        }
        for i, a in enumerate(articles)
    ]
    return json.dumps({"record": record}, ensure_ascii=False).encode()


def text_answer(article: BenchArticle) -> bytes:
    answer = {
        "rc": 1,
        "me": "",
        "infoCode": article.info_code,
        "title": article.title,
        "showTime": article.date,
        "mediaName": article.outlet,
        "text": article.body,
    }
    return json.dumps(answer, ensure_ascii=False).encode()


JSON = b"application/json; charset=utf-8"
HTML = b"text/html; charset=utf-8"


def site_pages(articles: list[BenchArticle]) -> dict[str, tuple[bytes, bytes]]:
    """Request target -> (content type, body) for the feed and every text-API answer."""
    pages = {"/feed.json": (JSON, media_feed(articles))}
    for article in articles:
        pages[f"/NewsData/GetNewsText.do?id={article.info_code}"] = (JSON, text_answer(article))
    return pages


#: Concurrency of the bench runs (both the pipeline and the bare spider).
BENCH_CONCURRENCY = 16


def crawl_settings(
    base: str, archive: Path | None = None, concurrency: int = BENCH_CONCURRENCY
) -> dict[str, str]:
    """The ``-s`` settings that point the eastmoney spider (and the bare one) at *base*.

    The project's politeness defaults (a delay between requests, AutoThrottle, 2 requests
    at a time per host) would make any crawl of one host take ~0.5 s per article whatever
    the pipeline costs; the benches measure the crawler itself, so both runs get the same
    no-delay download settings with *concurrency* requests in flight.
    """
    settings = {
        "EASTMONEY_FEEDS": f"{base}/feed.json",
        "EASTMONEY_TEXT_URL": f"{base}/NewsData/GetNewsText.do?id={{info_code}}",
        # The bench server answers the text API; no request may reach the real article API.
        "EASTMONEY_ARTICLE_API_URL": "",
        "EASTMONEY_ARTICLE_URL": f"{base}/a/{{code}}.html",
        "LOG_LEVEL": "WARNING",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
    }
    if archive is not None:
        settings["ARCHIVE_DIR"] = str(archive)
    return settings


# --------------------------------------------------------------------------- loopback server


def request_kind(target: str) -> str:
    if target.startswith("/feed"):
        return "feed"
    if target.startswith("/NewsData/"):
        return "text"
    if target.startswith("/a/"):
        return "page"
    return "other"


def bench_server(pages: dict[str, tuple[bytes, bytes]], **options: Any) -> LoopbackServer:
    """The generated site (*pages*, from :func:`site_pages`) on the project's loopback server, answered
    from memory, counting requests per :func:`request_kind`."""
    routes = {
        target: Ok(body, content_type.decode("ascii"))
        for target, (content_type, body) in pages.items()
    }
    return LoopbackServer(routes=routes, kind=request_kind, **options)


# --------------------------------------------------------------------------- scrapy runs


@dataclass
class RunResult:
    wall_s: float
    crawl_s: float
    #: CPU time (user + system) of the scrapy process and its children.
    cpu_s: float
    counts: dict[str, int]
    returncode: int
    stderr: str = field(repr=False, default="")

    def rate(self, articles: int) -> float:
        return articles / self.crawl_s if self.crawl_s > 0 else 0.0


def scrapy_command(args: list[str], settings: dict[str, str], prefix: list[str] | None = None) -> list[str]:
    command = [sys.executable, *(prefix or ["-m", "scrapy"]), *args]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def run_scrapy(
    server: LoopbackServer,
    args: list[str],
    settings: dict[str, str],
    *,
    prefix: list[str] | None = None,
    timeout: float = 600,
    root: Path = ROOT,
    python_path: tuple[Path, ...] = (),
) -> RunResult:
    """Run ``python -m scrapy ARGS -s ...`` (or ``python PREFIX ARGS``) from the repository
    (or from another checkout of it: *root*, whose code and ``scrapy.cfg`` are used; or
    from a folder without a ``scrapy.cfg``: Scrapy's defaults), with *python_path* after
    *root* on ``PYTHONPATH``."""
    server.reset()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (root, *python_path))}
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        scrapy_command(args, settings, prefix),
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    ended = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    first = server.first_request if server.first_request is not None else started
    return RunResult(
        wall_s=ended - started,
        crawl_s=ended - first,
        cpu_s=cpu,
        counts=dict(server.counts),
        returncode=proc.returncode,
        stderr=proc.stderr,
    )


def check_run(result: RunResult, what: str) -> None:
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-30:])
        raise SystemExit(f"{what} failed with status {result.returncode}:\n{tail}")


def print_result(result: dict[str, object]) -> None:
    """The machine-readable last line that ``bench/run_all.py`` collects."""
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, sort_keys=True), flush=True)


def file_create_us(folder: Path, files: int = 400) -> float:
    """CPU µs (user + system) this process spends creating an empty file in a new folder
    under *folder* (the folders are left in place: a removal would slow the next creations).

    On ext4 without a journal (as on the machines of BENCHMARKS.md) the kernel skips the
    inodes freed in the last seconds when it allocates one, and a bench run just after a
    mass removal (another bench's temporary archives) pays up to 10 times the usual cost
    per post written: this tells a reader the state the runs were measured in."""
    probe = Path(tempfile.mkdtemp(prefix="create-probe-", dir=folder))
    before = resource.getrusage(resource.RUSAGE_SELF)
    for n in range(files):
        os.close(os.open(probe / f"{n}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used / files * 1e6


def settle_filesystem(folder: Path, limit_us: float = 100.0, timeout: float = 420.0) -> float:
    """Wait (up to *timeout* seconds: the kernel's window is six minutes at most) until
    creating a file in *folder* costs less than *limit_us* twice in a row (see
    :func:`file_create_us`); returns the last figure."""
    deadline = time.monotonic() + timeout
    calm = 0
    while True:
        cost = file_create_us(folder)
        calm = calm + 1 if cost < limit_us else 0
        if calm >= 2 or time.monotonic() > deadline:
            return cost
        time.sleep(2)


def machine_line() -> str:
    load = os.getloadavg()[0]
    return f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.2f}"
