"""Benchmarks of the seen-articles store and the archive bootstrap.

    .venv/bin/python bench/bench_store.py [--sizes 10000,100000,1000000] [--posts 100000]

(a) SQLiteStore with 10k, 100k and 1M known articles: the store is filled in
    one subprocess, then a fresh subprocess opens it and times ``has()``,
    ``find_exact()`` and ``find_near()`` (hits and misses) and reports its
    peak RSS (VmHWM), next to the RSS of the same process before opening the
    store: lookups must not grow with the store.
(b) bootstrap of a generated archive of realistic posts (outlet and rolling
    news, 100 to 3,000 characters of Chinese financial text in HTML
    paragraphs) into a fresh SQLiteStore, with the default worker count and
    with one worker.

Figures go to stdout; the temp directories are removed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from newscrawler.archive.bootstrap import bootstrap, default_workers  # noqa: E402
from newscrawler.dedup.store.base import StoredArticle  # noqa: E402
from newscrawler.dedup.store.sqlite import SQLiteStore  # noqa: E402

LOOKUPS = 20_000


def _rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def _code(i: int) -> str:
    # Valid article codes spread over 2015-2024: YYYYMMDD + 10 digits.
    day = 20150101 + (i % 9) * 10000 + ((i // 9) % 12) * 100 + (i // 108) % 28
    return f"{day}{i:010d}"


def _simhash(i: int) -> int:
    return random.Random(i * 7919 + 1).getrandbits(64)


def fill(path: str, size: int) -> None:
    """Child: create the store with *size* records (random fingerprints, as independent texts give)."""
    started = time.perf_counter()
    with SQLiteStore(path) as store:
        batch: list[StoredArticle] = []
        for i in range(size):
            batch.append(
                StoredArticle(
                    code=_code(i),
                    path=f"_posts/2022-03-28-NW{_code(i)}.md",
                    kind="outlet" if i % 3 else "emnews",
                    slug="shenzhenxinwenwang" if i % 3 else "emnews",
                    text_hash=random.Random(i).randbytes(32).hex(),
                    simhash=_simhash(i) if i % 5 else None,  # a fifth are short texts: exact only
                    date="2022-03-28 17:04:37 +0800",
                )
            )
            if len(batch) == 50_000:
                store.add_many(batch)
                batch = []
        store.add_many(batch)
        store.set_meta("bootstrapped_at", "bench")
    print(json.dumps({"fill_s": time.perf_counter() - started, "bytes": Path(path).stat().st_size}))


def lookup(path: str, size: int) -> None:
    """Child: open the filled store and time lookups; report peak RSS."""
    rss_before, _ = _rss_kib()
    rng = random.Random(42)
    out: dict[str, float] = {"rss_before_kib": rss_before}
    for integrity in ("none", "quick", "full"):
        started = time.perf_counter()
        SQLiteStore(path, integrity=integrity).close()  # type: ignore[arg-type]
        out[f"open_{integrity}_s"] = time.perf_counter() - started
    store = SQLiteStore(path, integrity="none")
    known = [rng.randrange(size) for _ in range(LOOKUPS)]
    timings: dict[str, float] = {}

    def timed(name: str, calls: list[object]) -> None:
        started = time.perf_counter()
        for call in calls:
            call()  # type: ignore[operator]
        timings[name] = (time.perf_counter() - started) / len(calls) * 1e6

    hits = [i for i in known if i % 5]
    near_hits = sum(
        1 for i in hits[:LOOKUPS] if store.find_near(_simhash(i) ^ 0b101 ^ (1 << 40), 3) == _code(i)
    )
    timed("has_hit_us", [lambda i=i: store.has(_code(i)) for i in known])
    timed("has_miss_us", [lambda i=i: store.has(_code(size + i)) for i in known])
    timed(
        "find_exact_us", [lambda i=i: store.find_exact(random.Random(i).randbytes(32).hex()) for i in known]
    )
    timed("find_near_hit_us", [lambda i=i: store.find_near(_simhash(i) ^ 0b101 ^ (1 << 40), 3) for i in hits])
    timed("find_near_miss_us", [lambda: store.find_near(rng.getrandbits(64), 3) for _ in range(LOOKUPS)])
    store.close()
    rss_after, hwm = _rss_kib()
    out.update(timings)
    out.update({"rss_after_kib": rss_after, "peak_rss_kib": hwm, "near_hits_found": near_hits / len(hits)})
    print(json.dumps(out))


def _child(function: str, path: str, size: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, __file__, "--child", function, path, str(size)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_store(sizes: list[int]) -> None:
    print("== (a) SQLiteStore lookups (fresh process per size; times per call)")
    header = (
        f"{'articles':>9} {'fill':>7} {'db MiB':>7} {'open':>6} {'quick':>6} {'full':>6} "
        f"{'has hit':>8} {'has miss':>8} {'exact':>7} {'near hit':>8} {'near miss':>9} "
        f"{'RSS before':>10} {'peak RSS':>9}"
    )
    print(header)
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            path = str(Path(tmp) / "seen.db")
            filled = _child("fill", path, size)
            got = _child("lookup", path, size)
            assert got["near_hits_found"] == 1.0, got
            print(
                f"{size:>9,} {filled['fill_s']:>6.1f}s {filled['bytes'] / 2**20:>7.1f} "
                f"{got['open_none_s'] * 1000:>4.0f}ms {got['open_quick_s']:>5.2f}s {got['open_full_s']:>5.2f}s "
                f"{got['has_hit_us']:>6.1f}us {got['has_miss_us']:>6.1f}us {got['find_exact_us']:>5.1f}us "
                f"{got['find_near_hit_us']:>6.1f}us {got['find_near_miss_us']:>7.1f}us "
                f"{got['rss_before_kib'] / 1024:>8.1f}MiB {got['peak_rss_kib'] / 1024:>7.1f}MiB",
                flush=True,
            )


# --------------------------------------------------------------------------- generated archive

COMPANIES = [
    "贵州茅台", "宁德时代", "比亚迪", "隆基绿能", "中国平安", "招商银行", "万科A", "格力电器", "美的集团", "恒瑞医药",
    "海天味业", "立讯精密", "东方财富", "中信证券", "紫金矿业", "三一重工", "药明康德", "通威股份", "长江电力", "京东方A",
    "中国中免", "迈瑞医疗", "片仔癀", "汇川技术", "阳光电源", "亿纬锂能", "北方华创", "中芯国际", "工业富联", "牧原股份",
]  # fmt: skip
OUTLETS = [
    ("证券时报网", "zhengquanshibaowang"), ("每日经济新闻", "meirijingjixinwen"), ("财联社", "cailianshe"),
    ("中国证券报", "zhongguozhengquanbao"), ("上海证券报", "shanghaizhengquanbao"), ("新浪财经", "xinlangcaijing"),
    ("深圳新闻网", "shenzhenxinwenwang"), ("央视新闻客户端", "yangshixinwenkehuduan"), ("界面新闻", "jiemianxinwen"),
]  # fmt: skip
CITIES = [
    "北京",
    "上海",
    "深圳",
    "广州",
    "杭州",
    "成都",
    "武汉",
    "南京",
    "苏州",
    "重庆",
    "西安",
    "长春",
    "郑州",
    "合肥",
]
SECTORS = [
    "煤炭",
    "电力",
    "中药",
    "半导体",
    "锂电池",
    "光伏设备",
    "银行",
    "券商",
    "白酒",
    "房地产",
    "航运",
    "军工",
]
SENTENCES = [
    "{c}{m}月{d}日晚间公告，公司{q}季度实现营业收入{a}亿元，同比{u}{p}%。",
    "归属于上市公司股东的净利润{a}亿元，同比{u}{p}%，基本每股收益{e}元。",
    "公司拟向全体股东每10股派发现金红利{e}元（含税），合计派发现金红利{a}亿元。",
    "截至收盘，沪指{u}{e}%报{n}点，深成指{u}{e}%，创业板指{u}{e}%。",
    "两市成交额{n}亿元，北向资金全天净{b}{a}亿元。",
    "盘面上，{s}、{s}板块涨幅居前，{s}、{s}板块跌幅居前。",
    "{t}市近日出台稳经济若干政策措施，涉及减税降费、稳岗就业、扩大有效投资等{i}个方面。",
    "分析人士认为，短期市场情绪仍偏谨慎，建议投资者关注业绩确定性较高的{s}板块。",
    "中国人民银行今日开展{n}亿元{i}天期逆回购操作，中标利率{e}%。",
    "国家统计局数据显示，{m}月份全国居民消费价格同比上涨{e}%，环比{u}{e}%。",
    "{c}表示，将持续加大研发投入，推进{s}领域关键技术攻关，提升核心竞争力。",
    "有投资者在互动平台提问公司{s}业务进展，{c}回应称相关业务正在有序推进。",
    "据{t}市统计局消息，一季度全市地区生产总值{n}亿元，同比增长{e}%。",
    "{c}披露，公司控股股东计划在未来{i}个月内增持公司股份，金额不低于{a}亿元。",
    "业内人士指出，随着稳增长政策持续发力，{s}行业有望迎来估值修复。",
    "本次募集资金将主要用于{t}生产基地建设、研发中心升级及补充流动资金。",
    "数据显示，{m}月{s}行业实现销售收入{n}亿元，同比{u}{p}%，环比{u}{e}%。",
    "监管部门表示，将坚持“建制度、不干预、零容忍”，压实中介机构责任。",
    "{c}公告称，公司与{t}市人民政府签署战略合作协议，拟投资{a}亿元建设{s}项目。",
    "受原材料价格上涨影响，公司{q}季度毛利率为{e}%，较上年同期下降{e}个百分点。",
    "{t}市住房和城乡建设局发布通知，调整住房公积金贷款政策，首付比例降至{p}%。",
    "多家券商研报认为，{s}板块景气度持续向上，龙头公司业绩确定性较强。",
    "截至{m}月末，公司在手订单金额约{n}亿元，产能利用率保持在{p}%以上。",
    "{c}股价今日{u}{e}%，总市值{n}亿元，成交额{a}亿元，换手率{e}%。",
]


def _fill_sentence(template: str, rng: random.Random) -> str:
    values = {
        "c": lambda: rng.choice(COMPANIES),
        "m": lambda: str(rng.randint(1, 12)),
        "d": lambda: str(rng.randint(1, 28)),
        "q": lambda: rng.choice(["一", "二", "三", "四"]),
        "a": lambda: f"{rng.uniform(0.1, 900):.2f}",
        "u": lambda: rng.choice(["增长", "下降", "上涨", "下跌"]),
        "p": lambda: f"{rng.uniform(0.1, 300):.2f}",
        "e": lambda: f"{rng.uniform(0.01, 9):.2f}",
        "n": lambda: str(rng.randint(100, 20000)),
        "b": lambda: rng.choice(["买入", "卖出"]),
        "s": lambda: rng.choice(SECTORS),
        "t": lambda: rng.choice(CITIES),
        "i": lambda: str(rng.randint(2, 30)),
    }
    out = []
    i = 0
    while i < len(template):
        if template[i] == "{":
            end = template.index("}", i)
            out.append(values[template[i + 1 : end]]())
            i = end + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def _article_text(rng: random.Random) -> list[str]:
    target = int(min(3000, max(100, rng.lognormvariate(6.2, 0.7))))  # median ~490 characters
    paragraphs: list[str] = []
    size = 0
    while size < target:
        paragraph = "".join(_fill_sentence(rng.choice(SENTENCES), rng) for _ in range(rng.randint(1, 4)))
        paragraphs.append(paragraph)
        size += len(paragraph)
    return paragraphs


def generate_archive(root: Path, count: int, seed: int = 1) -> tuple[int, float]:
    """Write *count* posts (2/3 outlet, 1/3 rolling news; 10% in old_post/); return (bytes, seconds)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    (root / "_posts").mkdir(parents=True)
    (root / "old_post").mkdir()
    total = 0
    for i in range(count):
        code = f"2022{(i % 12) + 1:02d}{(i % 28) + 1:02d}{2300000000 + i:010d}"
        date = f"2022-{code[4:6]}-{code[6:8]} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        paragraphs = _article_text(rng)
        title = paragraphs[0][: rng.randint(12, 30)]
        folder = "old_post" if i % 10 == 0 else "_posts"
        if i % 3:
            outlet, slug = rng.choice(OUTLETS)
            body = (
                "\n".join(f"<p>{p}</p>" for p in paragraphs)
                + f'<p class="em_media">（文章来源：{outlet}）</p>'
            )
            text = (
                f'---\nlayout: post\ntitle: "{title}"\ndate: {date} +0800\ncategories: {slug}\ntags: {outlet}新闻\n---\n'
                f"{body}\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW{code}>\n\n"
                f"[返回{outlet}新闻](//finews.withounder.com/category/{slug}.html)｜[返回首页](//finews.withounder.com/)\n"
            )
            name = f"{date[:10]}-NW{code}.md"
        else:
            body = "".join(f"<p>{p}</p>" for p in paragraphs)
            text = (
                f'---\nlayout: post\ntitle: "{title}"\ndate: {date} +0800\ncategories: emnews\ntags: 东财滚动新闻\n---\n'
                f"> {paragraphs[0][:120]}\n\n{body}\n\n<http://finance.eastmoney.com/news/1350,{code}.html>\n\n"
                "[返回东财滚动新闻](//finews.withounder.com/emnews/)｜[返回首页](//finews.withounder.com/)\n"
            )
            name = f"{date[:10]}-{code}.md"
        data = text.encode("utf-8")
        (root / folder / name).write_bytes(data)
        total += len(data)
    return total, time.perf_counter() - started


def bench_bootstrap(posts: int) -> None:
    print(f"== (b) bootstrap of a generated archive of {posts:,} posts")
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        root = Path(tmp) / "archive"
        size, seconds = generate_archive(root, posts)
        print(f"generated {posts:,} posts, {size / 2**20:.0f} MiB, in {seconds:.1f} s", flush=True)
        for workers in (default_workers(), 1):
            db = Path(tmp) / f"seen-{workers}.db"
            cpu_before = os.times()
            started = time.perf_counter()
            with SQLiteStore(db) as store:
                stats = bootstrap(store, root, workers=workers)
                count = store.count()
                near = store._db.execute(
                    "SELECT count(*) FROM articles WHERE simhash IS NOT NULL"
                ).fetchone()[0]
            wall = time.perf_counter() - started
            cpu_after = os.times()
            cpu = (cpu_after.user - cpu_before.user) + (cpu_after.children_user - cpu_before.children_user)
            print(
                f"workers={workers}: {wall:.1f} s wall ({posts / wall:,.0f} posts/s), "
                f"{count:,} records ({near:,} near-eligible), {stats.duplicates} duplicates, "
                f"{stats.slugs} outlets, db {db.stat().st_size / 2**20:.0f} MiB, "
                f"cpu (this process + finished workers) {cpu:.1f} s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--skip-bootstrap", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("FUNCTION", "PATH", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        function, path, size = args.child
        {"fill": fill, "lookup": lookup}[function](path, int(size))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    if not args.skip_store:
        bench_store([int(size) for size in args.sizes.split(",")])
    if not args.skip_bootstrap:
        bench_bootstrap(args.posts)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
