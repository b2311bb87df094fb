"""Benchmark of :func:`newscrawler.cleaning.body.clean_body` on realistic eastmoney bodies.

Generates its own input (no network, no fixtures): an article-page/text-API body mixing
every real shape (stock-chart widgets with hidden paragraphs, keytip stock links,
``　　`` indents, CRLF line ends, an image, a table, scripts and ad blocks, the
``em_media`` source line), of about 5 KB and of about 1 MB, and prints documents/s and
MB/s for each size.

Usage: ``.venv/bin/python bench/bench_cleaning.py [--seconds 2.0]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newscrawler.cleaning.body import clean_body, visible_text

BASE = "http://finance.eastmoney.com/a/202203282325203083.html"

_WORDS = [
    "近年来", "公司", "营业收入", "同比增长", "净利润", "投资者", "互动平台", "表示", "国务院",
    "印发", "若干措施", "纾困", "扶持", "中小企业", "资金", "市场", "波动", "经营", "稳健",
    "向好", "数字化", "转型", "服务", "老年客户", "供应链", "解决方案", "需求", "持续提升",
]  # fmt: skip
_STOCKS = [
    ("0.000338", "潍柴动力"),
    ("1.600519", "贵州茅台"),
    ("116.02338", "潍柴动力"),
    ("0.300750", "宁德时代"),
]


def _sentence(rng: random.Random) -> str:
    words = "".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 16)))
    return f"{words}{rng.randint(1, 99)}.{rng.randint(0, 9)}%，"


def _stock_link(rng: random.Random) -> str:
    code, name = rng.choice(_STOCKS)
    market, number = code.split(".")
    return (
        f'<span id="stock_{code}"><a class="keytip" data-code="{market},{number}" '
        f'href="http://quote.eastmoney.com/unify/r/{code}" target="_blank">{name}</a></span>'
    )


def _widget(rng: random.Random) -> str:
    code, _ = rng.choice(_STOCKS)
    return (
        '<p style="display:none;height:1px;overflow:hidden;"><br /></p><!-- EM_StockImg_Start -->'
        f'<p style="text-align:center;"><a href="http://quote.eastmoney.com/unify/r/{code}" '
        f'data-code="{code}|0|2" class="EmImageRemark" target="_blank">'
        f'<img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid={code}&imageType=k&at=1" '
        f'border="0" alt="K图 {code}" style="border:#d1d1d1 1px solid;" width="578" height="276" /></a></p>'
        "<!-- EM_StockImg_End -->"
    )


def _paragraph(rng: random.Random) -> str:
    parts = ["<p>　　"]
    for _ in range(rng.randint(2, 6)):
        parts.append(_sentence(rng))
        if rng.random() < 0.4:
            parts.append(_stock_link(rng))
    parts.append("。</p>\r\n")
    return "".join(parts)


def _extra(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return _widget(rng)
    if kind == 1:
        return (
            '<p style="text-align: center;"><img src="/download/D25403457436181417364.jpg" '
            'width="560" height="auto" onclick="window.open(this.src)" alt="图片"></p>\r\n'
        )
    if kind == 2:
        rows = "".join(
            f"<tr><td>{rng.choice(_WORDS)}</td><td>{rng.randint(1, 999)}亿元</td></tr>" for _ in range(4)
        )
        return f'<table border="1"><tr><th>指标</th><th colspan="1">2021年</th></tr>{rows}</table>\r\n'
    if kind == 3:
        return (
            '<script type="text/javascript">var ad = "<a href=\'http://ad.example/\'>ad</a>";</script>'
            '<div class="reading"><iframe src="http://ad.eastmoney.com/ad.html" width="300"></iframe></div>\r\n'
        )
    return f"<p><strong>　　{_sentence(rng)}</strong></p>\r\n"


def make_body(size: int, seed: int = 0) -> str:
    """A realistic body of at least ``size`` bytes (UTF-8)."""
    rng = random.Random(seed)
    parts = [_widget(rng), _widget(rng)]
    total = sum(len(p.encode()) for p in parts)
    source = '<p class="em_media">（文章来源：每日经济新闻）</p>'
    while total + len(source.encode()) < size:
        part = _paragraph(rng) if rng.random() < 0.8 else _extra(rng)
        parts.append(part)
        total += len(part.encode())
    parts.append(source)
    return "".join(parts)


def bench(body: str, seconds: float) -> tuple[int, float, float]:
    """(runs, median seconds per run, best seconds per run) for ``clean_body(body)``."""
    clean_body(body, BASE)  # warm up
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < 3 or time.perf_counter() < deadline:
        start = time.perf_counter()
        clean_body(body, BASE)
        times.append(time.perf_counter() - start)
    return len(times), statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per size")
    args = parser.parse_args()

    header = f"{'body':>6} {'bytes':>9} {'runs':>6} {'ms/doc':>9} {'docs/s':>9} {'MB/s':>7} {'best ms':>8}"
    print(header)
    print("-" * len(header))
    for label, size in (("5 KB", 5_000), ("1 MB", 1_000_000)):
        body = make_body(size)
        nbytes = len(body.encode())
        out = clean_body(body, BASE)
        assert clean_body(out, BASE) == out, "not idempotent"
        assert visible_text(out)
        runs, median, best = bench(body, args.seconds)
        print(
            f"{label:>6} {nbytes:>9} {runs:>6} {median * 1e3:>9.2f} {1 / median:>9.1f} "
            f"{nbytes / 1e6 / median:>7.2f} {best * 1e3:>8.2f}"
        )


if __name__ == "__main__":
    main()
