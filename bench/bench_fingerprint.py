"""Benchmark of the content fingerprints (:mod:`newscrawler.dedup.fingerprint`), stage by stage.

Generates its own input (no network, no fixtures): Chinese financial-news articles of
1-3 KB of text (UTF-8) with figures (amounts, percentages, dates, a few minus signs and
full-width digits), a dateline, stock codes in parentheses, a source line and an editor
line, as the cleaned body HTML the pipelines fingerprint (``<p>`` paragraphs, a bold
subheading, a link). Prints the CPU time per article (µs, median of ``--rounds`` rounds
over the whole corpus) of each stage: ``html_to_text``, ``normalize_text``,
``figures``, the SimHash of the normalized text (``_simhash_normalized``) and the whole
``fingerprint(html_to_text(body), cache)``, each with no cache (cold), with a cache
shared over the corpus starting empty (stream: what a crawl does) and with a cache
holding every shingle already and as many others (warm: a crawl's cache after a while).
``normalize_text``, ``text_hash`` and ``figures`` each strip the attributions
(:func:`fingerprint` does it once for all three). The SimHash of these runs in C when the
extension ``newscrawler.dedup._simhash`` is built (the first line says which), which uses no
cache: its stream and warm figures are its cold ones again; so do the scans for the letters
and digits (``normalize_text``) and for the figures (``figures``).

Then the C extension against the pure Python, on articles of 2-4 KB of text (UTF-8): the CPU
time per ``fingerprint(text)`` call and per SimHash (``_simhash_normalized``), each with no
cache and, for the pure Python, with the warm cache (its best case; the extension uses no
cache), as the median of ``--compare-rounds`` passes over the corpus, the extension's and the
pure Python's passes alternating. The last line is ``BENCH_RESULT {json}``.

Usage: ``.venv/bin/python bench/bench_fingerprint.py [--articles 400] [--rounds 7] [--compare-rounds 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newscrawler.dedup import fingerprint as fp
from newscrawler.dedup.fingerprint import pure_python

RESULT_PREFIX = "BENCH_RESULT "

_OUTLETS = [
    "证券时报网",
    "每日经济新闻",
    "财联社",
    "中国证券报",
    "上海证券报",
    "新浪财经",
    "第一财经",
    "界面新闻",
]
_CITIES = ["北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "南京"]
_COMPANIES = [
    ("潍柴动力", "000338"), ("贵州茅台", "600519"), ("宁德时代", "300750"), ("中国平安", "601318"),
    ("比亚迪", "002594"), ("隆基绿能", "601012"), ("格力电器", "000651"), ("招商银行", "600036"),
    ("立讯精密", "002475"), ("京东方A", "000725"), ("通威股份", "600438"), ("万科A", "000002"),
]  # fmt: skip
_WORDS = [
    "近年来", "公司", "营业收入", "同比增长", "同比下降", "净利润", "投资者", "互动平台", "表示", "国务院",
    "印发", "若干措施", "纾困", "扶持", "中小企业", "资金", "市场", "波动", "经营", "稳健", "向好",
    "数字化", "转型", "服务", "老年客户", "供应链", "解决方案", "需求", "持续提升", "北向资金", "净买入",
    "板块", "涨幅居前", "跌幅居前", "券商", "半导体", "光伏设备", "锂电池", "白酒", "央行", "逆回购",
    "中标利率", "居民消费价格", "环比", "募集资金", "研发投入", "在手订单", "董事会", "审议通过", "回购",
    "股份", "股东", "减持", "增持", "计划", "公告", "披露", "年度报告", "季度", "毛利率", "现金流",
    "新能源汽车", "产销", "市场占有率", "装机容量", "发电量", "可再生能源", "基础设施", "专项债券",
    "货币政策", "流动性", "存款准备金率", "贷款市场报价利率", "房地产", "销售面积", "成交额", "指数",
    "收盘", "创业板", "沪深两市", "融资融券", "余额", "机构", "分析人士", "认为", "预计", "未来",
    "进一步", "加大", "力度", "推动", "高质量发展", "实体经济", "消费", "出口", "进口", "贸易顺差",
    "制造业", "采购经理指数", "工业增加值", "固定资产投资", "社会消费品零售总额", "就业", "物价",
    "芯片", "人工智能", "算力", "数据中心", "储能", "氢能", "风电", "光伏", "电网", "特高压",
]  # fmt: skip


#: Rarer characters (names, places, products): most texts bring some shingles never seen before.
_RARE = [chr(c) for c in random.Random(0).sample(range(0x4E00, 0x9FA6), 3000)]


def _amount(rng: random.Random) -> str:
    kind = rng.randrange(10)
    if kind < 4:
        return f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}亿元"
    if kind < 6:
        return f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}%"
    if kind == 6:
        return f"-{rng.randint(0, 20)}.{rng.randint(0, 9)}%"
    if kind == 7:
        return f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}万股"
    if kind == 8:
        return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    return f"{rng.randint(2, 99)}个百分点"


def _sentence(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(2, 4)):
        parts.append("".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6))))
        if rng.random() < 0.3:
            parts.append("".join(rng.choice(_RARE) for _ in range(rng.randint(2, 4))))
        if rng.random() < 0.7:
            parts.append(_amount(rng))
        parts.append(rng.choice("，，，、；"))
    return "".join(parts)[:-1] + "。"


def make_text(rng: random.Random, size: tuple[int, int] = (900, 2700)) -> str:
    """An article's plain text of 1-3 KB (UTF-8): its paragraphs go on until *size* (a range
    of UTF-8 bytes, the default 1-3 KB) is reached, and the source and editor lines follow."""
    outlet = rng.choice(_OUTLETS)
    company, code = rng.choice(_COMPANIES)
    head = rng.choice(
        [
            f"{outlet}{rng.randint(1, 12)}月{rng.randint(1, 28)}日电，",
            f"新华社{rng.choice(_CITIES)}{rng.randint(1, 12)}月{rng.randint(1, 28)}日电（记者 张三）",
            "",
        ]
    )
    target = rng.randint(*size)
    text = head + f"{company}（{code}）{rng.randint(1, 12)}月{rng.randint(1, 28)}日晚间公告，"
    paragraphs = [text]
    size = len(text.encode())
    while size < target:
        paragraph = "".join(_sentence(rng) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.05:
            paragraph = paragraph.replace("1", "１").replace("2", "２")  # full-width digits
        paragraphs.append(paragraph)
        size += len(paragraph.encode())
    paragraphs.append(f"（文章来源：{outlet}）")
    if rng.random() < 0.5:
        paragraphs.append("责任编辑：李明")
    return "\n".join(paragraphs)


def make_body(text: str, rng: random.Random) -> str:
    """*text* as a cleaned body: ``<p>`` paragraphs, a bold one, a link, an entity."""
    out = []
    for i, paragraph in enumerate(text.split("\n")):
        if i == 1 and rng.random() < 0.5:
            out.append(f"<p><strong>{paragraph}</strong></p>")
        elif i == 2:
            name = rng.choice(_COMPANIES)[0]
            out.append(
                f'<p><a href="http://quote.eastmoney.com/unify/r/0.000338">{name}</a>{paragraph}&nbsp;</p>'
            )
        else:
            out.append(f"<p>{paragraph}</p>")
    return "\n".join(out)


def make_corpus(count: int, seed: int = 20260421) -> list[str]:
    """*count* distinct article bodies."""
    rng = random.Random(seed)
    return [make_body(make_text(rng), rng) for _ in range(count)]


#: The texts of the comparison of the extension with the pure Python: 2-4 KB of UTF-8.
COMPARE_BYTES = (2048, 4096)


def make_compare_texts(count: int, seed: int = 4096) -> list[str]:
    """*count* distinct plain texts of ``COMPARE_BYTES`` bytes of UTF-8."""
    rng = random.Random(seed)
    low, high = COMPARE_BYTES
    texts: list[str] = []
    while len(texts) < count:
        text = make_text(rng, (low, high - 400))  # the source and editor lines come after the target
        if low <= len(text.encode()) <= high:
            texts.append(text)
    return texts


def simhash_backend() -> str:
    """Which SimHash of pairs runs: the C extension (with its BLAKE2b) or the pure Python."""
    if fp._simhash_pairs is None:
        return "pure Python (the extension is not built)"
    from newscrawler.dedup import _simhash

    return f"C extension (BLAKE2b {_simhash.BLAKE2B})"


def compare_backends(count: int, rounds: int) -> dict[str, float]:
    """µs per call, the extension's and the pure Python's passes alternating: medians of *rounds*."""
    texts = make_compare_texts(count)
    norms = [fp.normalize_text(text) for text in texts]
    k = fp.SHINGLE_K
    warm: dict[Any, bytes] = {}
    with pure_python():
        for text in texts + make_compare_texts(count, seed=1):
            fp.fingerprint(text, warm)
    sizes = sorted(len(text.encode()) for text in texts)
    print(
        f"\nC extension vs pure Python: {count} texts of {sizes[0]}-{sizes[-1]} bytes "
        f"(median {statistics.median(sizes):.0f}), normalized median {statistics.median(map(len, norms)):.0f} "
        f"chars; CPU µs per call, median of {rounds} alternating passes"
    )

    def run_all(func: Callable[[str], Any], items: list[str]) -> Callable[[], None]:
        def run() -> None:
            for item in items:
                func(item)

        return run

    cases: dict[str, Callable[[], None]] = {
        "fingerprint": run_all(fp.fingerprint, texts),
        "fingerprint_warm": run_all(lambda text: fp.fingerprint(text, warm), texts),
        "simhash": run_all(lambda norm: fp._simhash_normalized(norm, k, None), norms),
        "simhash_warm": run_all(lambda norm: fp._simhash_normalized(norm, k, warm), norms),
    }
    samples: dict[str, list[float]] = {}
    for name, run in cases.items():
        run()  # warm-up
        for _ in range(rounds):
            for backend in ("c", "pure"):
                with contextlib.ExitStack() as stack:
                    if backend == "pure":
                        stack.enter_context(pure_python())
                    samples.setdefault(f"{name}_{backend}_us", []).append(_per_item_us(run, count, 1))
    results = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{'':<18} {'C':>9} {'pure':>9} {'speed-up':>9}")
    for name in cases:
        c, pure = results[f"{name}_c_us"], results[f"{name}_pure_us"]
        print(f"{name:<18} {c:>9.1f} {pure:>9.1f} {pure / c:>8.1f}x")
    return results


def _per_item_us(
    run: Callable[[], Any], count: int, rounds: int, setup: Callable[[], Any] | None = None
) -> float:
    """Median over *rounds* of the CPU time of ``run()`` (one pass over *count* items), µs per item."""
    samples = []
    for _ in range(rounds):
        if setup is not None:
            setup()
        gc.collect()
        start = time.process_time_ns()
        run()
        samples.append((time.process_time_ns() - start) / 1e3 / count)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400, help="articles in the corpus")
    parser.add_argument("--rounds", type=int, default=7, help="passes over the corpus per figure")
    parser.add_argument(
        "--compare-rounds", type=int, default=5, help="alternating passes of the C vs pure Python comparison"
    )
    args = parser.parse_args()

    bodies = make_corpus(args.articles)
    texts = [fp.html_to_text(body) for body in bodies]
    norms = [fp.normalize_text(text) for text in texts]
    count, rounds, k = len(bodies), args.rounds, fp.SHINGLE_K
    # A crawl's cache holds the shingles of many earlier articles: this corpus and as many others
    # (filled by the pure Python: the extension neither reads nor fills it).
    warm: dict[Any, bytes] = {}
    with pure_python():
        for text in texts + [fp.html_to_text(body) for body in make_corpus(count, seed=1)]:
            fp.fingerprint(text, warm)
    stream: dict[Any, bytes] = {}  # emptied before each pass
    sizes = sorted(len(text.encode()) for text in texts)
    print(f"SimHash of pairs: {simhash_backend()}")
    print(
        f"{count} articles, text {sizes[0]}-{sizes[-1]} bytes (median {statistics.median(sizes):.0f}), "
        f"normalized median {statistics.median(map(len, norms)):.0f} chars; warm cache {len(warm)} shingles; "
        f"CPU µs per article, median of {rounds} passes"
    )

    def each(func: Callable[[str], Any], items: list[str]) -> Callable[[], None]:
        def run() -> None:
            for item in items:
                func(item)

        return run

    def simhash_with(cache: dict[Any, bytes] | None) -> Callable[[str], Any]:
        return lambda norm: fp._simhash_normalized(norm, k, cache)

    def total_with(cache: dict[Any, bytes] | None) -> Callable[[str], Any]:
        return lambda body: fp.fingerprint(fp.html_to_text(body), cache)

    results: dict[str, float] = {
        "html_to_text_us": _per_item_us(each(fp.html_to_text, bodies), count, rounds),
        "normalize_us": _per_item_us(each(fp.normalize_text, texts), count, rounds),
        "text_hash_us": _per_item_us(each(fp.text_hash, texts), count, rounds),
        "figures_us": _per_item_us(each(fp.figures, texts), count, rounds),
        "simhash_cold_us": _per_item_us(each(simhash_with(None), norms), count, rounds),
        "simhash_stream_us": _per_item_us(each(simhash_with(stream), norms), count, rounds, stream.clear),
        "simhash_warm_us": _per_item_us(each(simhash_with(warm), norms), count, rounds),
        "total_cold_us": _per_item_us(each(total_with(None), bodies), count, rounds),
        "total_stream_us": _per_item_us(each(total_with(stream), bodies), count, rounds, stream.clear),
        "total_warm_us": _per_item_us(each(total_with(warm), bodies), count, rounds),
    }
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}} {value:>9.1f}")
    if fp._simhash_pairs is not None:
        results |= compare_backends(count, args.compare_rounds)
    else:
        print("\nC extension vs pure Python: not compared, the extension is not built")
    figures = {name: round(value, 1) for name, value in results.items()}
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "bench": "fingerprint",
                "articles": count,
                "warm_cache": len(warm),
                "simhash_backend": simhash_backend(),
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
