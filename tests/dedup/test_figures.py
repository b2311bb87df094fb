"""The figures rule: texts whose figures differ are two stories, however alike their wording.

Generated templated news (seeded): 3,000 closing reports of one template, daily 北向资金
flashes and short closing reports with their one-figure corrections, checked pair by pair
with the decision the store and the pipeline use (:func:`is_same_story`), through a
:class:`MemoryStore` and through the pipelines; and figure-free edits of the same texts,
which must still merge.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy.exceptions import DropItem

from newscrawler.dedup.fingerprint import (
    NEAR_MAX_DISTANCE,
    Fingerprint,
    _strip_attributions,
    figures,
    figures_digest,
    fingerprint,
    hamming,
    is_near_duplicate,
    is_same_story,
    normalize_text,
)
from newscrawler.dedup.store.base import StoredArticle, find_duplicate
from newscrawler.dedup.store.memory import MemoryStore
from tests.dedup.test_fingerprint import (
    FIGURES_DIFFER,
    MUST_MERGE,
    SOLAR,
    _reference_frozen_figures,
    _reference_frozen_normalize_text,
    _reference_frozen_strip_attributions,
)
from tests.pipelines.test_chain import Chain, make

# --------------------------------------------------------------------------- figures()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("沪指收涨0.52%报3245.67点 成交额9876亿元", ("0.52", "3245.67", "9876")),
        ("2026年一季度净利润12亿元", ("2026", "12")),
        # What normalization removes carries no figure: dateline, source, byline, stock code, editor.
        ("财联社4月21日电，北向资金今日净买入52.36亿元。", ("52.36",)),
        ("新华社北京4月21日电（记者 张三）央行开展5000亿元MLF操作。", ("5000",)),
        ("比亚迪（002594）拟回购10亿元，潍柴动力(000338.SZ)拟回购5亿元。", ("10", "5")),
        ("公司拟回购10亿元。（文章来源：证券时报2026）\n责任编辑：王5", ("10",)),
        # Full-width forms, as NFKC maps them; other scripts' digits too.
        ("２０２６年净利润３．５亿元", ("2026", "3.5")),
        ("٣٫٥", ("3", "5")),
        # A minus sign is part of a figure; a hyphen between figures or after a Latin letter is not.
        ("涨跌幅-1.2%，跌幅－０.５％，变动−3", ("-1.2", "-0.5", "-3")),
        ("2026-04-21发布，COVID-19，PM2.5，A-1", ("2026", "04", "21", "19", "2.5", "1")),
        ("涨幅+1.2%", ("1.2",)),
        # As written: trailing zeros, leading zeros and thousands separators are kept.
        ("3.50%与3.5%，第007号，3,245.67万股", ("3.50", "3.5", "007", "3", "245.67")),
        ("版本3.5.1", ("3.5", "1")),
        # Chinese numerals are words, not figures.
        ("一季度净利润三百万元，同比增长两成，十余个城市，万科A，三一重工", ()),
        # An article code names the post, it is not its substance; other 18-digit runs are figures.
        ("见NW202604211380000001，编号110101199003071234", ("110101199003071234",)),
        ("", ()),
    ],
)
def test_figures(text: str, expected: tuple[str, ...]) -> None:
    assert figures(text) == expected


@pytest.mark.parametrize(
    "decorate",
    [
        lambda t: "财联社4月21日电，" + t,
        lambda t: "证券时报e公司讯，" + t,
        lambda t: "新华社北京4月21日电（记者 张三）" + t,
        lambda t: "（记者 王晓）" + t,
        lambda t: t + "（文章来源：每日经济新闻）",
        lambda t: t + "（完）\n责任编辑：李明",
        lambda t: t.replace("公司", "公司（002594）", 1),
        lambda t: "　　" + t.replace("。", "。\n\n　　").replace("，", ", "),
    ],
    ids=[
        "dateline",
        "dateline without date",
        "dateline with byline",
        "byline",
        "source",
        "editor",
        "code",
        "layout",
    ],
)
def test_figures_do_not_change_with_what_normalization_removes(decorate: Callable[[str], str]) -> None:
    text = "公司公告，一季度实现营业收入12.35亿元，同比增长20.16%；净利润2.14亿元，同比增长35%。"
    assert figures(decorate(text)) == figures(text) == ("12.35", "20.16", "2.14", "35")
    assert fingerprint(decorate(text * 3)).figures == fingerprint(text * 3).figures


_FULL_WIDTH = str.maketrans("0123456789.-ABCabc", "０１２３４５６７８９．－ＡＢＣａｂｃ")


@given(st.lists(st.sampled_from(list("0123456789.-ABCabc 公司涨跌，。%")), max_size=40).map("".join))
def test_figures_of_full_width_text_are_the_same(text: str) -> None:
    assert figures(text.translate(_FULL_WIDTH)) == figures(text)
    assert all(re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", value) for value in figures(text))


def test_figures_digest_is_of_the_sequence() -> None:
    assert figures_digest(("0.52", "3245.67")) == figures_digest(["0.52", "3245.67"])
    assert figures_digest(("0.52", "3245.67")) != figures_digest(("3245.67", "0.52"))  # order counts
    assert figures_digest(("1", "23")) != figures_digest(("12", "3"))
    assert figures_digest(()) != figures_digest(("0",))
    assert all(0 <= figures_digest((str(i),)) < 1 << 64 for i in range(100))
    # Stored in the seen-articles store: a change of the value is a change of every stored digest.
    assert figures_digest(("0.52", "3245.67", "9876")) == 2723265379857550126


def test_only_near_eligible_fingerprints_carry_figures() -> None:
    short = "北向资金今日净买入52.36亿元。"
    assert fingerprint(short).simhash is None and fingerprint(short).figures is None
    assert fingerprint(SOLAR).figures == figures_digest(figures(SOLAR))


def test_is_same_story() -> None:
    a = fingerprint(SOLAR)
    assert a.simhash is not None and a.figures is not None
    assert is_same_story(a, a)
    near = Fingerprint("0" * 64, a.simhash ^ 0b111, a.length, a.figures)
    assert is_same_story(a, near) and is_same_story(near, a)
    assert not is_same_story(a, Fingerprint("0" * 64, a.simhash ^ 0b1111, a.length, a.figures))
    assert not is_same_story(a, Fingerprint("0" * 64, a.simhash, a.length, a.figures ^ 1))
    unknown = Fingerprint("0" * 64, a.simhash, a.length, None)  # when unsure, keep
    assert not is_same_story(a, unknown) and not is_same_story(unknown, a)
    assert is_same_story(a, Fingerprint(a.text_hash, None, a.length, None))  # exact: figures not asked
    assert not is_same_story(Fingerprint("", None, 0), Fingerprint("", None, 0))


# --------------------------------------------------------------------------- generated news

SECTORS = ["煤炭", "电力", "中药", "半导体", "锂电池", "光伏设备", "银行", "券商", "白酒", "房地产",
           "航运", "军工", "汽车整车", "消费电子", "医疗器械", "化工", "钢铁", "有色金属", "传媒", "计算机"]  # fmt: skip
COMPANIES = ["贵州茅台", "宁德时代", "比亚迪", "隆基绿能", "中国平安", "招商银行", "万科A", "格力电器", "美的集团",
             "恒瑞医药", "海天味业", "立讯精密", "东方财富", "中信证券", "紫金矿业", "三一重工", "药明康德",
             "通威股份", "长江电力", "京东方A"]  # fmt: skip
ACTIONS = ["午后异动拉升", "早盘持续走强", "尾盘集体回调", "全天震荡走高", "盘中快速跳水", "逆势上扬"]
MOVES = ["涨停", "大涨", "跟涨", "走低", "领跌"]

#: With this seed SimHash alone merges one pair of the 3,000 reports (asserted below).
REPORTS_SEED = 1
REPORTS = 3000


def _up(rng: random.Random) -> str:
    return rng.choice(["涨", "跌"])


def _pct(rng: random.Random) -> str:
    return f"{rng.uniform(0.01, 3):.2f}"


def _dateline(rng: random.Random) -> str:
    return f"财联社{rng.randint(1, 12)}月{rng.randint(1, 28)}日电，"


def market_reports(count: int = REPORTS, seed: int = REPORTS_SEED) -> list[str]:
    """*count* closing reports of one template, each with its own topic sentence, serial
    number, index levels, turnover and northbound flow (about 260 normalized characters)."""
    rng = random.Random(seed)
    serials = rng.sample(range(1000, 100000), count)
    combos = [(s, a, c, m) for s in SECTORS for a in ACTIONS for c in COMPANIES for m in MOVES]
    rng.shuffle(combos)
    reports = []
    for serial, (sector, action, company, move) in zip(serials, combos[:count], strict=True):
        reports.append(
            f"{_dateline(rng)}A股市场收评（第{serial}期）：{sector}板块{action}，{company}等个股{move}。"
            f"截至收盘，沪指{_up(rng)}{_pct(rng)}%报{rng.uniform(2800, 3600):.2f}点，"
            f"深成指{_up(rng)}{_pct(rng)}%报{rng.uniform(9000, 13000):.2f}点，"
            f"创业板指{_up(rng)}{_pct(rng)}%报{rng.uniform(1800, 2800):.2f}点。"
            f"两市成交额{rng.randint(6000, 15000)}亿元，北向资金全天净{rng.choice(['买入', '卖出'])}"
            f"{rng.uniform(1, 150):.2f}亿元。盘面上，市场热点轮动较快，资金分歧有所加大，题材股炒作情绪有所降温，"
            "权重股表现相对稳健，市场整体呈现存量博弈格局。分析人士认为，短期市场仍以结构性行情为主，"
            "建议投资者关注业绩确定性较高的板块，控制仓位，耐心等待市场方向进一步明朗。"
            "从中长期看，稳增长政策持续发力，经济基本面有望逐步修复，A股估值处于历史相对低位，具备较好的配置价值。"
        )
    return reports


def northbound_flash(rng: random.Random) -> str:
    """A daily 北向资金 flash: the same words every day, other figures."""
    side = rng.choice(["买入", "卖出"])
    total, north = rng.uniform(1, 150), rng.uniform(0.5, 90)
    return (
        f"【北向资金今日净{side}{total:.2f}亿元】{_dateline(rng)}北向资金今日净{side}{total:.2f}亿元，"
        f"其中沪股通净{side}{north:.2f}亿元，深股通净{side}{total - north:.2f}亿元。"
        f"北向资金今日合计成交{rng.randint(800, 2000)}亿元，占两市成交总额的{rng.uniform(5, 15):.2f}%。"
        f"个股方面，贵州茅台获北向资金净买入{rng.uniform(0.5, 9):.2f}亿元居首，"
        f"宁德时代遭净卖出{rng.uniform(0.5, 9):.2f}亿元。"
    )


def closing_flash(rng: random.Random) -> str:
    """A 7x24 closing report (沪指收涨0.52%报3245.67点 成交额9876亿元): same words, other figures."""
    change = _pct(rng)
    return (
        f"【收评：沪指收涨{change}%】{_dateline(rng)}沪指收涨{change}%报{rng.uniform(2800, 3600):.2f}点，"
        f"深成指{_up(rng)}{_pct(rng)}%报{rng.uniform(9000, 13000):.2f}点，"
        f"创业板指{_up(rng)}{_pct(rng)}%报{rng.uniform(1800, 2800):.2f}点，"
        f"两市成交额{rng.randint(6000, 15000)}亿元，较上一交易日放量{rng.randint(10, 2000)}亿元，"
        f"北向资金全天净买入{rng.uniform(1, 150):.2f}亿元。盘面上，煤炭、电力板块涨幅居前，半导体、锂电池板块跌幅居前。"
    )


_FIGURE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def corrected(text: str, rng: random.Random) -> str:
    """*text* with one figure of its body (not of the dateline) corrected by one in its last
    digit, everywhere it occurs: 3.5% -> 3.6%."""
    body = text.index("日电，") + 3
    spans = [m for m in _FIGURE.finditer(text) if m.start() >= body]
    old = rng.choice(spans).group()
    last = int(old[-1])
    new = old[:-1] + str(last + 1 if last < 9 else last - 1)
    return text[:body] + re.sub(rf"(?<![0-9.]){re.escape(old)}(?![0-9]|\.[0-9])", new, text[body:])


#: Edits a republisher makes without touching a figure (the first two are normalized away).
FIGURE_FREE_EDITS: dict[str, Callable[[str], str]] = {
    "dateline changed": lambda t: re.sub(r"^财联社\d+月\d+日电，", "证券时报e公司讯，", t),
    "source line added": lambda t: t + "（文章来源：财联社）",
    "word replaced": lambda t: t.replace("分析人士认为", "业内人士认为"),
    "typo fixed": lambda t: t.replace("存量博弈", "存量搏弈"),
    "clause added": lambda t: t.replace("控制仓位，", "控制仓位，避免追涨杀跌，"),
    "clause removed": lambda t: t.replace("题材股炒作情绪有所降温，", ""),
}


def _near_pairs(fps: list[Fingerprint]) -> list[tuple[int, int]]:
    """Pairs within NEAR_MAX_DISTANCE bits by SimHash alone (the rule before figures)."""
    hashes = [fp.simhash for fp in fps if fp.simhash is not None]
    assert len(hashes) == len(fps)
    return [
        (i, j)
        for i, a in enumerate(hashes)
        for j in range(i + 1, len(hashes))
        if hamming(a, hashes[j]) <= NEAR_MAX_DISTANCE
    ]


@pytest.fixture(scope="module")
def reports() -> list[str]:
    return market_reports()


@pytest.fixture(scope="module")
def report_fingerprints(reports: list[str]) -> list[Fingerprint]:
    cache: dict[int | str, bytes] = {}
    return [fingerprint(text, cache) for text in reports]


def test_generated_reports_are_templated_and_distinct(
    reports: list[str], report_fingerprints: list[Fingerprint]
) -> None:
    assert len(reports) == REPORTS
    assert len({fp.text_hash for fp in report_fingerprints}) == REPORTS
    assert all(fp.simhash is not None and 240 <= fp.length <= 280 for fp in report_fingerprints)
    assert len({figures(text) for text in reports}) == REPORTS
    # The template is close enough for SimHash alone to merge a pair: what the figures rule is for.
    assert _near_pairs(report_fingerprints), "the generated reports no longer exercise the figures rule"


def test_no_two_of_3000_templated_reports_are_duplicates(report_fingerprints: list[Fingerprint]) -> None:
    merged = [
        (i, j)
        for i, a in enumerate(report_fingerprints)
        for j in range(i + 1, len(report_fingerprints))
        if is_same_story(a, report_fingerprints[j])
    ]
    assert merged == []


def test_no_templated_report_is_dropped_through_the_memory_store(
    reports: list[str], report_fingerprints: list[Fingerprint]
) -> None:
    store = MemoryStore()
    for i, fp in enumerate(report_fingerprints):
        code = f"20220510{i + 1:010d}"
        assert find_duplicate(store, fp.text_hash, fp.simhash, fp.figures) is None, reports[i]
        store.add(
            StoredArticle.of(
                code=code, path=f"_posts/{code}.md", kind="outlet", slug="s", fingerprint=fp, date=""
            )
        )
    assert store.count() == REPORTS


def test_no_templated_report_is_dropped_by_the_pipelines(tmp_path: Path, reports: list[str]) -> None:
    chain = Chain(tmp_path / "archive")
    dropped = []
    for i, text in enumerate(reports):
        try:
            chain.run(
                make(
                    f"20220510{i + 1:010d}",
                    title_raw=f"A股收评{i}",
                    date_raw="2022-05-10 15:05:00",
                    body_raw=f"<p>{text}</p>",
                )
            )
        except DropItem as exc:
            dropped.append((i, str(exc)))
    chain.flush()
    assert dropped == []
    assert chain.stat("duplicates/content_near") == chain.stat("duplicates/content_exact") == 0
    assert chain.store.count() == chain.stat("posts/written") == REPORTS


@pytest.mark.parametrize("edit", list(FIGURE_FREE_EDITS), ids=list(FIGURE_FREE_EDITS))
def test_figure_free_edits_of_the_reports_still_merge(
    edit: str, reports: list[str], report_fingerprints: list[Fingerprint]
) -> None:
    """The figures rule takes away no merge of the SimHash rule for an edit without figures;
    and the edits normalization removes always merge."""
    merged = 0
    for text, fp in zip(reports[:500], report_fingerprints, strict=False):
        edited = FIGURE_FREE_EDITS[edit](text)
        assert edited != text
        assert figures(edited) == figures(text)
        other = fingerprint(edited)
        assert other.figures == fp.figures
        assert fp.simhash is not None and other.simhash is not None
        simhash_rule = (
            fp.text_hash == other.text_hash or hamming(fp.simhash, other.simhash) <= NEAR_MAX_DISTANCE
        )
        assert is_same_story(fp, other) == is_same_story(other, fp) == simhash_rule
        merged += simhash_rule
    if edit in ("dateline changed", "source line added"):
        assert merged == 500
    else:
        assert merged >= 250  # SimHash finds most such edits at this length (module docstring)


@pytest.mark.parametrize("template", [northbound_flash, closing_flash], ids=["northbound", "closing"])
def test_daily_flashes_with_other_figures_never_merge(template: Callable[[random.Random], str]) -> None:
    rng = random.Random(20260421)
    texts = [template(rng) for _ in range(1000)]
    fixes = [corrected(text, rng) for text in texts]
    fps = [fingerprint(text) for text in texts]
    fixed = [fingerprint(text) for text in fixes]
    assert all(fp.simhash is not None for fp in fps + fixed)
    assert len({fp.text_hash for fp in fps}) == len(texts)
    assert [
        (i, j) for i, a in enumerate(fps) for j in range(i + 1, len(fps)) if is_same_story(a, fps[j])
    ] == []
    near = 0
    for text, fix, fp, fp_fix in zip(texts, fixes, fps, fixed, strict=True):
        assert figures(fix) != figures(text)
        assert not is_same_story(fp, fp_fix), (text, fix)
        assert fp.simhash is not None and fp_fix.simhash is not None
        near += hamming(fp.simhash, fp_fix.simhash) <= NEAR_MAX_DISTANCE
    assert near >= 100  # many corrections are SimHash-near: SimHash alone would have merged them


@pytest.mark.parametrize("template", [northbound_flash, closing_flash], ids=["northbound", "closing"])
def test_daily_flashes_and_corrections_are_all_written_by_the_pipelines(
    tmp_path: Path, template: Callable[[random.Random], str]
) -> None:
    rng = random.Random(7)
    texts = []
    for _ in range(150):
        text = template(rng)
        texts += [text, corrected(text, rng)]
    chain = Chain(tmp_path / "archive")
    for i, text in enumerate(texts):
        chain.run(
            make(
                f"20220510{i + 1:010d}",
                title_raw=f"快讯{i}",
                date_raw="2022-05-10 15:05:00",
                body_raw=f"<p>{text}</p>",
            )
        )
    chain.flush()
    assert chain.store.count() == len(texts)
    assert chain.stat("duplicates/content_near") == 0


# --------------------------------------------------------------------------- through DedupPipeline


def _run_pair(chain: Chain, a: str, b: str) -> None:
    chain.run(make("202205101380000001", date_raw="2022-05-10 09:00:00", body_raw=f"<p>{a}</p>"))
    chain.run(make("202205101380000002", date_raw="2022-05-10 10:00:00", body_raw=f"<p>{b}</p>"))


@pytest.mark.parametrize(("a", "b"), list(MUST_MERGE.values()), ids=list(MUST_MERGE))
def test_must_merge_pairs_are_dropped_by_the_dedup_pipeline(tmp_path: Path, a: str, b: str) -> None:
    chain = Chain(tmp_path / "archive")
    kind = "content_exact" if normalize_text(a) == normalize_text(b) else "content_near"
    with pytest.raises(DropItem, match=kind):
        _run_pair(chain, a, b)
    assert chain.stat(f"duplicates/{kind}") == 1
    assert chain.session.run.run_store.count() == 1


@pytest.mark.parametrize(("a", "b"), list(FIGURES_DIFFER.values()), ids=list(FIGURES_DIFFER))
def test_pairs_with_other_figures_are_both_written(tmp_path: Path, a: str, b: str) -> None:
    chain = Chain(tmp_path / "archive")
    _run_pair(chain, a, b)
    chain.flush()
    assert chain.store.count() == 2
    assert chain.stat("duplicates/content_near") == 0


def test_records_without_figures_only_merge_exactly_in_the_pipeline(tmp_path: Path) -> None:
    """A record from before the figures digest (a migrated store): exact matches only."""
    chain = Chain(tmp_path / "archive")
    fp = fingerprint(SOLAR)
    chain.store.add(
        StoredArticle(
            "202205091380000009",
            "_posts/x.md",
            "outlet",
            "s",
            fp.text_hash,
            fp.simhash,
            "2022-05-09 09:00:00 +0800",
        )
    )
    with pytest.raises(DropItem, match="content_exact"):
        chain.run(make("202205101380000002", date_raw="2022-05-10 10:00:00", body_raw=f"<p>{SOLAR}</p>"))
    edited = SOLAR.replace("举行新闻发布会", "召开新闻发布会")
    assert is_near_duplicate(SOLAR, edited)
    item = chain.run(make("202205101380000001", date_raw="2022-05-10 09:00:00", body_raw=f"<p>{edited}</p>"))
    assert item.code == "202205101380000001"  # written: the near match cannot be confirmed
    assert chain.stat("duplicates/content_near") == 0


# --------------------------------------------------------------------------- against the frozen reference

#: The characters that decide a figure: digits of three scripts, the minus signs and hyphens,
#: the decimal points, the Latin letters before which a hyphen is no sign, and a CJK one.
FIGURE_ALPHABET = ["1", "２", "٣", "-", "－", "−", ".", "．", "a", "Ａ", "中"]
#: The pieces of attributions, datelines and editor lines (_strip_attributions).
ATTRIBUTION_TOKENS = ["(", "（", ")", "）", "来源", ":", "：", " ", "\n", "责任", "编辑", "校对", "记者", "1", "中", "电"]  # fmt: skip


def test_figures_of_every_short_string_match_the_frozen_reference() -> None:
    """Every string of up to 5 characters of FIGURE_ALPHABET (177,156 strings)."""
    for length in range(6):
        for chars in itertools.product(FIGURE_ALPHABET, repeat=length):
            text = "".join(chars)
            assert figures(text) == _reference_frozen_figures(text), text


def test_attributions_of_every_short_string_match_the_frozen_reference() -> None:
    """Every sequence of up to 4 ATTRIBUTION_TOKENS (69,905 texts): the removals, and what follows them."""
    for length in range(5):
        for tokens in itertools.product(ATTRIBUTION_TOKENS, repeat=length):
            text = "".join(tokens)
            assert _strip_attributions(text) == _reference_frozen_strip_attributions(text), text
            assert normalize_text(text) == _reference_frozen_normalize_text(text), text
            assert figures(text) == _reference_frozen_figures(text), text
