"""Content fingerprints: normalization, SimHash, and the near-duplicate decision."""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import operator
import os
import random
import re
import subprocess
import sys
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newscrawler.dedup import fingerprint as fp
from newscrawler.dedup.fingerprint import (
    DIGIT_WEIGHT,
    EXTENSION_FUNCTIONS,
    NEAR_MAX_DISTANCE,
    NEAR_MIN_CHARS,
    SHINGLE_K,
    Fingerprint,
    figures,
    figures_digest,
    fingerprint,
    hamming,
    html_to_text,
    is_near_duplicate,
    is_same_story,
    normalize_text,
    pure_python,
    simhash,
    text_hash,
)
from newscrawler.ids import is_code
from tests.conftest import FIXTURES, REPO, examples

ROOT = REPO

RRR = (
    "中国人民银行决定于2022年4月25日下调金融机构存款准备金率0.25个百分点（不含已执行5%存款准备金率的金融机构）。"
    "为加大对小微企业和“三农”的支持力度，对没有跨省经营的城商行和存款准备金率高于5%的农商行，在下调存款准备金率"
    "0.25个百分点的基础上，再额外多降0.25个百分点。本次下调后，金融机构加权平均存款准备金率为8.1%。此次降准共计"
    "释放长期资金约5300亿元。人民银行有关负责人表示，此次降准是为了支持实体经济发展，促进综合融资成本稳中有降，"
    "稳健的货币政策取向没有改变。"
)
ANNUAL = (
    "贵州茅台4月21日晚间披露2021年年度报告，公司全年实现营业总收入1094.64亿元，同比增长11.71%；实现归属于上市"
    "公司股东的净利润524.60亿元，同比增长12.34%；基本每股收益41.76元。公司拟向全体股东每10股派发现金红利216.75元"
    "（含税），合计派发现金红利272.28亿元。报告期内，茅台酒实现营业收入934.65亿元，系列酒实现营业收入125.90亿元。"
    "公司表示，2022年度经营目标为营业总收入较上年度增长9%左右，完成基本建设投资67.92亿元。"
)
BUYBACK = (
    "比亚迪4月20日晚间公告，公司拟使用自有资金以集中竞价交易方式回购公司A股股份，回购资金总额不低于人民币10亿元"
    "且不超过人民币15亿元，回购价格不超过人民币300元/股。本次回购的股份将用于实施员工持股计划或股权激励，回购期限"
    "为自董事会审议通过回购方案之日起12个月内。公司表示，基于对公司未来发展前景的信心和对公司价值的认可，为维护"
    "广大投资者利益，增强投资者信心，决定实施本次回购。"
)
AUTO = (
    "中国汽车工业协会4月11日发布数据显示，3月我国汽车产销分别完成221.6万辆和223.4万辆，环比分别增长22.4%和27.8%，"
    "同比分别下降9.1%和11.7%。其中，新能源汽车产销分别完成46.5万辆和48.4万辆，同比均增长1.1倍，市场占有率达到"
    "21.7%。一季度，新能源汽车产销分别完成129.3万辆和125.7万辆，同比均增长1.4倍。中汽协副秘书长陈士华表示，受疫情"
    "影响，部分整车企业停产减产，芯片和零部件供应短缺问题仍然存在，4月汽车产销将受到较大冲击。"
)
MARKET = (
    "A股三大指数今日集体收跌，截至收盘，沪指跌1.32%报3079.81点，深成指跌2.03%报11086.74点，创业板指跌2.47%报"
    "2367.06点。两市成交额9053亿元，较上一交易日缩量约700亿元，北向资金全天净卖出32.6亿元。盘面上，煤炭、电力、"
    "中药板块逆势走强，半导体、锂电池、光伏设备板块跌幅居前。个股方面，两市超过4000只个股下跌，约80只个股跌停。"
    "分析人士认为，短期市场情绪仍偏谨慎，建议投资者关注业绩确定性较高的板块。"
)
PROPERTY = (
    "多地近期密集出台楼市调整政策。4月以来，已有苏州、郑州、南京、福州等十余个城市对限购、限贷或限售政策作出调整，"
    "部分城市下调首付比例、放宽落户限制，并加大住房公积金贷款支持力度。中指研究院数据显示，3月全国百城新建住宅价格"
    "环比上涨0.05%，涨幅较上月收窄；二手住宅价格环比下跌0.02%。业内人士认为，随着各地因城施策持续推进，房地产市场"
    "有望在二季度后逐步企稳，但整体恢复仍需时间。"
)
SOLAR = (
    "国家能源局4月28日举行新闻发布会，介绍一季度能源形势和可再生能源并网运行情况。数据显示，一季度全国可再生能源"
    "新增装机2541万千瓦，占全国新增发电装机的80%；其中风电新增装机790万千瓦，光伏发电新增装机1321万千瓦，同比增长"
    "148%。截至3月底，全国可再生能源发电装机容量达到10.88亿千瓦，其中水电装机3.98亿千瓦、风电装机3.37亿千瓦、光伏"
    "发电装机3.18亿千瓦、生物质发电装机3798万千瓦。国家能源局新能源和可再生能源司有关负责人介绍，一季度全国可再生"
    "能源发电量达5355亿千瓦时，同比增长11.9%，占全部发电量的比重为26.2%。其中，风电发电量1793亿千瓦时，同比增长"
    "14.9%；光伏发电量841亿千瓦时，同比增长22.2%。风电、光伏发电利用率分别达到96.7%和97.6%，保持较高水平。"
    "在分布式光伏方面，一季度全国分布式光伏新增装机880万千瓦，占光伏新增装机的66.6%，其中户用光伏新增装机420万"
    "千瓦。业内人士表示，随着整县推进屋顶分布式光伏开发试点工作深入开展，分布式光伏正成为光伏装机增长的主要力量。"
    "该负责人表示，下一步，国家能源局将加快推进以沙漠、戈壁、荒漠地区为重点的大型风电光伏基地建设，第一批约1亿千瓦"
    "项目已全部开工，第二批基地项目清单已经印发；同时持续完善可再生能源电力消纳保障机制，推动可再生能源高质量跃升发展。"
)

#: The same story republished with small edits: must be duplicates.
MUST_MERGE = {
    "source line added": (ANNUAL, ANNUAL + "（文章来源：每日经济新闻）"),
    "source line changed": (BUYBACK + "（文章来源：证券时报网）", BUYBACK + "（文章来源：中国证券报）"),
    "dateline changed": ("财联社4月11日电，" + AUTO, "证券时报e公司讯，" + AUTO),
    "paragraphing and full-width forms": (
        PROPERTY,
        "　　" + PROPERTY.replace("。", "。\n\n　　").replace("，", ", ").replace("3月", "３月"),
    ),
    "byline and stock code": ("（记者 王晓）" + BUYBACK, BUYBACK.replace("比亚迪", "比亚迪（002594）", 1)),
    "editor line and end mark": (RRR, RRR + "（完）\n责任编辑：李明"),
    "word replaced": (SOLAR, SOLAR.replace("举行新闻发布会", "召开新闻发布会")),
    "typo fixed": (SOLAR, SOLAR.replace("在分布式光伏方面", "在分部式光伏方面")),
    "clause added": (SOLAR, SOLAR.replace("保持较高水平。", "保持较高水平，弃风弃光问题持续改善。")),
    "clause removed": (SOLAR, SOLAR.replace("第二批基地项目清单已经印发；", "")),
}

#: Different stories, most of them sharing a template: must not be duplicates.
MUST_NOT_MERGE = {
    "investor questions": (
        "每经AI快讯，有投资者在投资者互动平台提问：公司产品是否应用于新能源汽车？",
        "每经AI快讯，有投资者在投资者互动平台提问：公司今年分红计划如何？",
    ),
    "investor answers": (
        "每经AI快讯，有投资者在投资者互动平台提问：公司与华为是否有合作？立讯精密（002475.SZ）4月21日在投资者互动平台"
        "表示，公司与多家知名客户保持长期合作，具体客户信息请以公司公告为准。",
        "每经AI快讯，有投资者在投资者互动平台提问：公司芯片是否实现国产替代？京东方A（000725.SZ）4月21日在投资者互动"
        "平台表示，公司持续推进关键材料及设备的国产化，具体进展请关注公司定期报告。",
    ),
    "7x24 earnings flashes": (
        "【A公司：一季度净利润同比增长35%】A公司4月20日晚间披露一季报，公司一季度实现营业收入12.35亿元，同比增长"
        "20.16%；归属于上市公司股东的净利润2.14亿元，同比增长35%；基本每股收益0.32元。",
        "【B公司：一季度净利润同比下降12%】B公司4月20日晚间披露一季报，公司一季度实现营业收入8.71亿元，同比下降"
        "5.43%；归属于上市公司股东的净利润0.96亿元，同比下降12%；基本每股收益0.11元。",
    ),
    "market closes of two days": (
        "【收评：沪指跌1.32% 煤炭板块逆势走强】截至收盘，沪指跌1.32%报3079.81点，深成指跌2.03%报11086.74点，创业板指"
        "跌2.47%报2367.06点。两市成交额9053亿元，北向资金全天净卖出32.60亿元。盘面上，煤炭、电力板块涨幅居前，"
        "半导体、锂电池板块跌幅居前。",
        "【收评：沪指涨0.86% 券商板块领涨】截至收盘，沪指涨0.86%报3151.05点，深成指涨1.12%报11503.27点，创业板指涨"
        "1.58%报2480.91点。两市成交额8721亿元，北向资金全天净买入15.23亿元。盘面上，券商、白酒板块涨幅居前，煤炭、"
        "航运板块跌幅居前。",
    ),
    "buy-back notices": (
        "比亚迪4月20日晚间公告，公司拟使用自有资金以集中竞价交易方式回购公司股份，回购资金总额不低于人民币10亿元且不超过"
        "人民币15亿元，回购价格不超过人民币300元/股。本次回购的股份将用于实施员工持股计划或股权激励，回购期限为自董事会审议通过回购方案之日起12个月内。",
        "格力电器4月21日晚间公告，公司拟使用自有资金以集中竞价交易方式回购公司股份，回购资金总额不低于人民币30亿元且"
        "不超过人民币60亿元，回购价格不超过人民币70元/股。本次回购的股份将用于注销并减少公司注册资本，回购期限为自董事会审议通过回购方案之日起12个月内。",
    ),
    "shareholder sell-downs": (
        "隆基绿能4月18日晚间公告，持股5.12%的股东某投资合伙企业计划在本公告披露之日起15个交易日后的6个月内，通过集中"
        "竞价或大宗交易方式减持公司股份不超过2700万股，即不超过公司总股本的0.50%。",
        "通威股份4月19日晚间公告，持股6.38%的股东某控股集团有限公司计划在本公告披露之日起15个交易日后的6个月内，通过"
        "集中竞价或大宗交易方式减持公司股份不超过4500万股，即不超过公司总股本的1.00%。",
    ),
    "rate decisions of two months": (
        "【央行：4月LPR维持不变】中国人民银行授权全国银行间同业拆借中心公布，2022年4月20日贷款市场报价利率（LPR）为："
        "1年期LPR为3.7%，5年期以上LPR为4.6%。以上LPR在下一次发布LPR之前有效。",
        "【央行：5月LPR下调15个基点】中国人民银行授权全国银行间同业拆借中心公布，2022年5月20日贷款市场报价利率（LPR）"
        "为：1年期LPR为3.7%，5年期以上LPR为4.45%。以上LPR在下一次发布LPR之前有效。",
    ),
    "margin-trading reports of two days": (
        "【两融余额减少52.36亿元】截至4月20日，沪深两市融资融券余额为16318.42亿元，较前一交易日减少52.36亿元。其中，"
        "融资余额为15349.27亿元，减少48.91亿元；融券余额为969.15亿元，减少3.45亿元。从行业看，电子、医药生物、"
        "电力设备行业融资净卖出额居前，煤炭、交通运输行业获融资净买入。",
        "【两融余额增加31.08亿元】截至4月21日，沪深两市融资融券余额为16349.50亿元，较前一交易日增加31.08亿元。其中，"
        "融资余额为15377.64亿元，增加28.37亿元；融券余额为971.86亿元，增加2.71亿元。从行业看，食品饮料、银行"
        "行业融资净买入额居前，计算机、传媒行业遭融资净卖出。",
    ),
    "dividend questions one word apart": (
        "每经AI快讯，有投资者在投资者互动平台提问：公司今年分红计划如何？",
        "每经AI快讯，有投资者在投资者互动平台提问：公司明年分红计划如何？",
    ),
    "unrelated articles": (MARKET, PROPERTY),
}

#: Same wording, other figures: SimHash alone would merge them (distance 0-3); the figures rule must not.
FIGURES_DIFFER = {
    "corrected figure": (SOLAR, SOLAR.replace("同比增长11.9%", "同比增长12.9%")),
    "corrected share 66.6% -> 66.5%": (SOLAR, SOLAR.replace("66.6%", "66.5%")),
    "clause with a figure added": (
        SOLAR,
        SOLAR.replace("保持较高水平。", "保持较高水平，同比提高0.5个百分点。"),
    ),
    "clause with a figure removed": (SOLAR, SOLAR.replace("，同比增长148%", "")),
    "two figures swapped": (
        SOLAR,
        SOLAR.replace("水电装机3.98亿千瓦、风电装机3.37亿千瓦", "水电装机3.37亿千瓦、风电装机3.98亿千瓦"),
    ),
    "another year": (ANNUAL, ANNUAL.replace("2022年度经营目标", "2023年度经营目标")),
}


def _assert_extension_loaded() -> None:
    for name in EXTENSION_FUNCTIONS:
        assert getattr(fp, name) is not None, f"the C extension is not built (make venv builds it): no {name}"


@pytest.fixture(params=["extension", "pure"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each way the SimHash of pairs, the letters and digits and the figures are computed: in C
    (newscrawler/dedup/_simhash.c), and in Python."""
    if request.param == "pure":
        with pure_python():
            yield "pure"
    else:
        _assert_extension_loaded()
        yield "extension"


@pytest.mark.parametrize(("a", "b"), list(MUST_MERGE.values()), ids=list(MUST_MERGE))
def test_same_story_with_small_edits_is_a_duplicate(a: str, b: str) -> None:
    assert a != b
    assert is_near_duplicate(a, b)
    assert is_near_duplicate(b, a)


@pytest.mark.parametrize(("a", "b"), list(MUST_MERGE.values()), ids=list(MUST_MERGE))
def test_must_merge_pairs_match_through_the_store_lookups(a: str, b: str) -> None:
    """The store decides by exact hash, else SimHash distance and figures digest: check those,
    not only the helper. Every must-merge edit keeps the figures (none changes a number)."""
    fa, fb = fingerprint(a), fingerprint(b)
    assert figures(a) == figures(b)
    assert fa.figures is not None and fa.figures == fb.figures
    assert is_same_story(fa, fb) and is_same_story(fb, fa)
    if fa.text_hash != fb.text_hash:
        assert fa.simhash is not None and fb.simhash is not None
        assert hamming(fa.simhash, fb.simhash) <= NEAR_MAX_DISTANCE


@pytest.mark.parametrize(("a", "b"), list(FIGURES_DIFFER.values()), ids=list(FIGURES_DIFFER))
def test_same_wording_with_other_figures_is_not_a_duplicate(a: str, b: str) -> None:
    fa, fb = fingerprint(a), fingerprint(b)
    assert fa.simhash is not None and fb.simhash is not None
    assert hamming(fa.simhash, fb.simhash) <= NEAR_MAX_DISTANCE  # SimHash alone would merge them
    assert figures(a) != figures(b)
    assert fa.figures != fb.figures
    assert not is_near_duplicate(a, b)
    assert not is_near_duplicate(b, a)


@pytest.mark.parametrize(("a", "b"), list(MUST_NOT_MERGE.values()), ids=list(MUST_NOT_MERGE))
def test_different_stories_sharing_a_template_are_not_duplicates(a: str, b: str) -> None:
    assert not is_near_duplicate(a, b)
    assert not is_near_duplicate(b, a)
    fa, fb = fingerprint(a), fingerprint(b)
    assert fa.text_hash != fb.text_hash
    if fa.simhash is not None and fb.simhash is not None:
        assert hamming(fa.simhash, fb.simhash) > NEAR_MAX_DISTANCE


def test_texts_long_enough_for_the_template_pairs_to_exercise_simhash() -> None:
    """At least three must-not pairs are long enough to be decided by SimHash, not by length."""
    long_pairs = [
        name
        for name, (a, b) in MUST_NOT_MERGE.items()
        if fingerprint(a).simhash is not None and fingerprint(b).simhash is not None
    ]
    assert len(long_pairs) >= 3, long_pairs


def test_short_texts_are_matched_exactly_only() -> None:
    a = "每经AI快讯，有投资者在投资者互动平台提问：公司今年分红计划如何？"
    b = a.replace("今年", "明年")
    assert len(normalize_text(a)) < NEAR_MIN_CHARS
    assert fingerprint(a).simhash is None
    assert hamming(simhash(a), simhash(b)) <= 16  # close hashes, yet not near duplicates
    assert not is_near_duplicate(a, b)
    assert is_near_duplicate(a, a + "\n")


def test_no_text_is_never_a_duplicate() -> None:
    assert fingerprint("") == fingerprint("，。 \n")
    assert fingerprint("").text_hash == ""
    assert fingerprint("").simhash is None
    assert fingerprint("").figures is None
    assert not is_near_duplicate("", "")
    assert not is_near_duplicate("。", " ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("沪指 涨1.32%，报3079.81点。", "沪指涨132报307981点"),
        ("２０２２年ＡＢＣ　公司", "2022年abc公司"),
        ("“股王”茅台（600519）重回2000元！", "股王茅台重回2000元"),
        ("长春发布措施。（文章来源：财联社）", "长春发布措施"),
        ("长春发布措施。(来源: 新浪财经)", "长春发布措施"),
        ("财联社4月21日电，长春发布措施。", "长春发布措施"),
        ("新华社北京4月21日电（记者 张三）长春发布措施。", "长春发布措施"),
        ("证券时报e公司讯，比亚迪公告。", "比亚迪公告"),
        ("比亚迪公告回购。\n责任编辑：王五", "比亚迪公告回购"),
        ("潍柴动力(000338.SZ)表示", "潍柴动力表示"),
        ("电力板块走强，供电企业受益。", "电力板块走强供电企业受益"),
        ("Tab\tand_under_score", "tabandunderscore"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@given(st.text())
def test_normalize_text_is_idempotent_and_alphanumeric(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == "" or once.isalnum()


def _reference_normalize(text: str) -> str:
    """normalize_text's steps as its docstring states them, without its shortcuts."""
    text = fp._DATELINE_RE.sub("", text, count=1)
    text = fp._SOURCE_RE.sub("", text)
    text = fp._EDITOR_RE.sub("", text)
    text = re.sub(r"[\W_]+", "", text)
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", text)


_NEWS_CHARS = st.sampled_from(
    list("（）()：:，。 \n\t编辑责任校对审校来源文章记者电讯月日0123456789股份公司ＡＢ１２_-")
)


_NEWS_PARTS = st.sampled_from(
    ["责任编辑：", "编辑:", "校对：", "审校: ", "（文章来源：", "(来源:", "（记者 ", "(000338.SZ)", "）", ")"]
)


@given(st.lists(st.one_of(_NEWS_CHARS, _NEWS_PARTS, st.characters()), max_size=40).map("".join))
def test_normalize_text_equals_its_definition(text: str) -> None:
    assert normalize_text(text) == _reference_normalize(text)


@pytest.mark.parametrize("line", ["责任编辑：王五", "编辑：王五", "校对：李四", "审校：赵六"])
def test_normalize_text_drops_every_kind_of_editor_line(line: str) -> None:
    assert normalize_text(f"比亚迪公告回购。\n{line}") == _reference_normalize(f"比亚迪公告回购。\n{line}")
    assert normalize_text(f"比亚迪公告回购。\n{line}") == "比亚迪公告回购"


def test_text_hash_is_sha256_of_the_normalized_text() -> None:
    assert text_hash("沪指 涨1%") == hashlib.sha256("沪指涨1".encode()).hexdigest()
    assert text_hash(RRR) == text_hash(RRR.replace("。", "。\n"))
    assert text_hash(RRR) != text_hash(RRR.replace("0.25", "0.5"))


def test_simhash_is_a_64_bit_value_and_the_empty_text_is_zero() -> None:
    assert simhash("") == 0
    values = [simhash(text) for text in (RRR, ANNUAL, BUYBACK, AUTO, MARKET, PROPERTY, SOLAR, "a", "ab")]
    assert all(0 <= value < 1 << 64 for value in values)
    assert len(set(values)) == len(values)
    assert any(value >= 1 << 63 for value in values + [simhash(str(i)) for i in range(64)])


def _reference_simhash(text: str, k: int) -> int:
    """SimHash by the book, bit by bit: what the fast column counting must equal."""
    norm = normalize_text(text)
    if not norm:
        return 0
    shingles = {norm[i : i + k] for i in range(max(1, len(norm) - k + 1))}
    counts = [0] * 64
    total = 0
    for shingle in shingles:
        value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        weight = 1 if shingle.isalpha() else DIGIT_WEIGHT
        total += weight
        for bit in range(64):
            if value >> bit & 1:
                counts[bit] += weight
    return sum(1 << bit for bit in range(64) if 2 * counts[bit] > total)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("text", ["", "a", "ab", "abc", "2022年4月", "沪指涨1.32%", SOLAR, RRR])
def test_simhash_equals_the_textbook_definition(text: str, k: int) -> None:
    assert simhash(text, k) == _reference_simhash(text, k)


def test_simhash_cache_gives_the_same_values(backend: str) -> None:
    cache: dict[str, bytes] = {}
    texts = [SOLAR, RRR, ANNUAL, SOLAR.replace("举行", "召开")]
    assert [simhash(text, cache=cache) for text in texts] == [simhash(text) for text in texts]
    if backend == "pure":
        assert len(cache) > 500
        assert all(len(value) in (8, 8 * DIGIT_WEIGHT) for value in cache.values())
    else:
        assert cache == {}  # pairs are hashed in C, the cache unused
    assert [simhash(text, cache=cache) for text in texts] == [simhash(text) for text in texts]  # warm
    assert fingerprint(SOLAR, cache) == fingerprint(SOLAR)


def test_simhash_shingle_length_is_a_parameter() -> None:
    assert simhash(SOLAR, k=3) != simhash(SOLAR, k=2)
    with pytest.raises(ValueError):
        simhash(SOLAR, k=0)


def test_unrelated_articles_are_far_apart() -> None:
    texts = [RRR, ANNUAL, BUYBACK, AUTO, MARKET, PROPERTY, SOLAR]
    distances = [hamming(simhash(a), simhash(b)) for i, a in enumerate(texts) for b in texts[i + 1 :]]
    assert min(distances) >= 16


def test_simhash_is_stable_across_processes() -> None:
    """BLAKE2b, not hash(): other hash seeds give the same values."""
    code = (
        "from newscrawler.dedup.fingerprint import simhash, text_hash\n"
        "import sys\n"
        "text = sys.stdin.read()\n"
        "print(simhash(text), text_hash(text))\n"
    )
    results = set()
    for seed in ("0", "1", "12345"):
        out = _python_words(code, SOLAR, PYTHONHASHSEED=seed)
        results.add((int(out[0]), out[1]))
    assert results == {(simhash(SOLAR), text_hash(SOLAR))}


def _python_words(code: str, text: str, **env: str) -> list[str]:
    """What *code* prints, split at white space, run by another interpreter of this
    checkout with *text* on its standard input (and *env* in its environment)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=True,
        timeout=60,
    ).stdout.split()


def test_simhash_values_are_pinned() -> None:
    """A change of these values changes every stored fingerprint: bump FINGERPRINT_VERSION with it."""
    assert simhash("ab") == PINNED["ab"]
    assert simhash(RRR) == PINNED["RRR"]
    assert simhash("2022年4月") == PINNED["digits"]


PINNED = {"ab": 1032087313592488072, "RRR": 15354841586837016784, "digits": 8071111342508540664}


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [(0, 0, 0), (0, 1, 1), (0, (1 << 64) - 1, 64), (-1, (1 << 64) - 1, 0), (0b1011, 0b0110, 3), (-1, 0, 64)],
)
def test_hamming(a: int, b: int, distance: int) -> None:
    assert hamming(a, b) == distance


def test_html_to_text() -> None:
    body = (
        '<p style="display:none;"><br /></p><!-- EM_StockImg_Start --><p><a href="x"><img alt="K图 1" /></a></p>'
        "<!-- EM_StockImg_End --><p>公司&nbsp;公告&amp;说明</p>\r\n <p><strong>第二段</strong></p>"
        "<script>var a = '<p>广告</p>';</script><style>p{}</style><p>1 &lt; 2</p>"
    )
    assert html_to_text(body) == "公司 公告&说明 第二段 1 < 2"
    assert html_to_text("纯文本，无标签") == "纯文本，无标签"


# --------------------------------------------------------------------------- golden equivalence
#
# FROZEN REFERENCE: a verbatim copy of newscrawler/dedup/fingerprint.py as it was before its
# speed-up (commit 8a3f623), every function renamed ``_reference_frozen_*`` and every regex
# ``_REFERENCE_FROZEN_*``. Fingerprints are stored across runs, so the module must give the
# same text, hashes, figures and SimHash as this copy for every input. Do not "fix" or
# speed up this copy: it is the definition the fast code is checked against.

_REFERENCE_FROZEN_SOURCE_RE = re.compile(
    r"[(（]\s*(?:(?:(?:文章|原文|本文|稿件)?来源\s*[:：][^()（）]{0,40})"  # （文章来源：财联社）
    r"|(?:(?:记者|通讯员|作者|编辑|责任编辑)[^()（）]{0,30})"  # （记者 张三）
    r"|(?:[a-z]{2})?\d{5,6}(?:\.[a-z]{2})?)\s*[)）]",  # stock codes: (000338.SZ), (SH600519), (00700.HK)
    re.IGNORECASE,
)
_REFERENCE_FROZEN_EDITOR_RE = re.compile(
    r"(?:责任编辑|编辑|校对|审校)\s*[:：]\s*[^\s,，.。;；:：()（）]{1,12}\s*$"
)
_REFERENCE_FROZEN_DATELINE_RE = re.compile(
    r"\A\s*[^\W_]{1,16}?(?:\d{1,2}月\d{1,2}日)?(?:电|讯)(?:\s*[(（][^()（）]{0,30}[)）])?"
    r"(?:\s*[,，:：]|\s+|(?<=[)）]))"
)
_REFERENCE_FROZEN_NOT_ALNUM_RE = re.compile(r"[\W_]+")
_REFERENCE_FROZEN_SIGNED_FIGURE_RE = re.compile(
    r"(?:(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])[-−－﹣])?\d+(?:[.．]\d+)?"
)
_REFERENCE_FROZEN_FIGURE_RE = re.compile(r"\d+(?:[.．]\d+)?")
_REFERENCE_FROZEN_MINUS_SIGNS = "-−－﹣"
_REFERENCE_FROZEN_ALNUM_RUN_RE = re.compile(r"[^\W_]+")
_REFERENCE_FROZEN_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_REFERENCE_FROZEN_INVISIBLE_RE = re.compile(
    r"<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE
)
_REFERENCE_FROZEN_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")


def _reference_frozen_html_to_text(body_html: str) -> str:
    text = _REFERENCE_FROZEN_COMMENT_RE.sub(" ", body_html)
    text = _REFERENCE_FROZEN_INVISIBLE_RE.sub(" ", text)
    text = _REFERENCE_FROZEN_TAG_RE.sub(" ", text)
    return " ".join(html.unescape(text).split())


def _reference_frozen_normalize_text(text: str) -> str:
    return _reference_frozen_alnum(_reference_frozen_strip_attributions(text))


def _reference_frozen_strip_attributions(text: str) -> str:
    text = _REFERENCE_FROZEN_DATELINE_RE.sub("", text, count=1)
    if "(" in text or "（" in text:
        text = _REFERENCE_FROZEN_SOURCE_RE.sub("", text)
    if "编辑" in text or "校对" in text or "审校" in text:
        text = _REFERENCE_FROZEN_EDITOR_RE.sub("", text)
    return text


def _reference_frozen_alnum(text: str) -> str:
    text = "".join(_REFERENCE_FROZEN_ALNUM_RUN_RE.findall(text))
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    return text if text.isalnum() else _REFERENCE_FROZEN_NOT_ALNUM_RE.sub("", text)


def _reference_frozen_text_hash(text: str) -> str:
    return hashlib.sha256(_reference_frozen_normalize_text(text).encode("utf-8")).hexdigest()


def _reference_frozen_figures(text: str) -> tuple[str, ...]:
    return _reference_frozen_figures_of_stripped(_reference_frozen_strip_attributions(text))


def _reference_frozen_figures_of_stripped(stripped: str) -> tuple[str, ...]:
    signed = "-" in stripped or "−" in stripped or "－" in stripped or "﹣" in stripped
    found: list[str] = (
        _REFERENCE_FROZEN_SIGNED_FIGURE_RE if signed else _REFERENCE_FROZEN_FIGURE_RE
    ).findall(stripped)
    if not "".join(found).isascii():
        found = [raw if raw.isascii() else _reference_frozen_ascii_figure(raw) for raw in found]
    if max(map(len, found), default=0) >= 18:
        found = [value for value in found if len(value) != 18 or not is_code(value)]
    return tuple(found)


def _reference_frozen_ascii_figure(raw: str) -> str:
    return "".join(
        str(unicodedata.decimal(char))
        if char.isdecimal()
        else "-"
        if char in _REFERENCE_FROZEN_MINUS_SIGNS
        else "."
        for char in raw
    )


def _reference_frozen_figures_digest(values: Iterable[str]) -> int:
    return int.from_bytes(hashlib.blake2b(",".join(values).encode("ascii"), digest_size=8).digest(), "big")


def _reference_frozen_pair_keys(norm: str) -> set[int]:
    raw = norm.encode("utf-32-le", "surrogatepass")
    n = len(norm)
    keys = set(array("Q", raw[: 8 * (n // 2)]))
    keys.update(array("Q", raw[4 : 4 + 8 * ((n - 1) // 2)]))
    return keys


def _reference_frozen_pair_of(key: int) -> str:
    return key.to_bytes(8, sys.byteorder).decode("utf-32-le", "surrogatepass")


def _reference_frozen_simhash_normalized(norm: str, k: int, cache: MutableMapping[Any, bytes] | None) -> int:
    if not norm:
        return 0
    shingle_of: Callable[[Any], str]
    if k == 2 and len(norm) > 2:
        shingles: set[Any] = _reference_frozen_pair_keys(norm)
        shingle_of = _reference_frozen_pair_of
    elif len(norm) > k:
        windows: Iterable[str] = norm[: len(norm) - k + 1]
        for offset in range(1, k):
            windows = map(operator.add, windows, norm[offset:])
        shingles = set(windows)
        shingle_of = str
    else:
        shingles = {norm}
        shingle_of = str
    weighted: MutableMapping[Any, bytes] = cache if cache is not None else {}
    new_state = hashlib.blake2b(digest_size=8).copy
    for key in shingles.difference(weighted):
        shingle = shingle_of(key)
        state = new_state()
        state.update(shingle.encode("utf-8"))
        weighted[key] = state.digest() if shingle.isalpha() else state.digest() * DIGIT_WEIGHT
    blob = b"".join(map(weighted.__getitem__, shingles))
    total = len(blob) // 8
    masks = [int.from_bytes(bytes([1 << bit]) * total, "big") for bit in range(7, -1, -1)]
    value = 0
    shift = 64
    for position in range(8):
        column = int.from_bytes(blob[position::8], "big")
        for mask in masks:
            shift -= 1
            if 2 * (column & mask).bit_count() > total:
                value |= 1 << shift
    return value


def _reference_frozen_simhash(
    text: str, k: int = SHINGLE_K, cache: MutableMapping[Any, bytes] | None = None
) -> int:
    if k < 1:
        raise ValueError(f"shingle length must be positive, got {k}")
    return _reference_frozen_simhash_normalized(_reference_frozen_normalize_text(text), k, cache)


def _reference_frozen_fingerprint(text: str, cache: MutableMapping[Any, bytes] | None = None) -> Fingerprint:
    stripped = _reference_frozen_strip_attributions(text)
    norm = _reference_frozen_alnum(stripped)
    if not norm:
        return Fingerprint("", None, 0, None)
    digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()
    if len(norm) < NEAR_MIN_CHARS:
        return Fingerprint(digest, None, len(norm), None)
    near = _reference_frozen_simhash_normalized(norm, SHINGLE_K, cache)
    return Fingerprint(
        digest,
        near,
        len(norm),
        _reference_frozen_figures_digest(_reference_frozen_figures_of_stripped(stripped)),
    )


# ----------------------------------------------------------------- the module against the frozen reference

#: Shingle lengths compared (2 is the one fingerprints use).
GOLDEN_KS = (1, 2, 3, 5)


class _Caches:
    """Caches reused across texts, one per shingle length, for the module and for the reference."""

    def __init__(self) -> None:
        self.new: dict[int, dict[Any, bytes]] = {k: {} for k in GOLDEN_KS}
        self.ref: dict[int, dict[Any, bytes] | None] = {k: {} for k in GOLDEN_KS}


def _assert_matches_reference(
    text: str, caches: _Caches | None = None, ks: Iterable[int] = GOLDEN_KS
) -> None:
    """Every output of the module for *text* (and for its :func:`html_to_text`) equals the
    frozen reference's. With *caches*: the module both without and with its caches, against
    the reference with its own (cached values are the same values: the reference's tests)."""
    ref = caches.ref if caches is not None else dict.fromkeys(GOLDEN_KS, None)
    plain = html_to_text(text)
    assert plain == _reference_frozen_html_to_text(text)
    for value in (text, plain):
        assert normalize_text(value) == _reference_frozen_normalize_text(value)
        assert text_hash(value) == _reference_frozen_text_hash(value)
        found = figures(value)
        assert found == _reference_frozen_figures(value)
        assert figures_digest(found) == _reference_frozen_figures_digest(found)
        expected = _reference_frozen_fingerprint(value, ref[SHINGLE_K])
        assert fingerprint(value) == expected
        if caches is not None:
            assert fingerprint(value, caches.new[SHINGLE_K]) == expected
    for k in ks:
        expected_hash = _reference_frozen_simhash(text, k, ref[k])
        assert simhash(text, k) == expected_hash, k
        if caches is not None:
            assert simhash(text, k, caches.new[k]) == expected_hash, k


#: Explicit edge cases: empty and tiny texts, digits of every kind, minus signs and
#: hyphens, astral characters, mixed scripts, compatibility forms, markup, attributions.
GOLDEN_EDGE_CASES = [
    "",
    " ",
    "\n\t\u3000\xa0",
    "a",
    "A",
    "中",
    "1",
    "１",
    "ab",
    "a1",
    "12",
    "中国",
    "abc",
    "2022年4月",
    "0123456789" * 30,
    "１２３４５６７８９０" * 12,
    "٣٫٥ ١٢٣ ۱۲۳ १२३ ๑๒๓ 𝟏𝟐𝟑 ①② ²³ ½ ¼ Ⅻ ⅷ 〇 十二",
    "涨跌幅-1.2%，跌幅－０.５％，变动−3，﹣4，--5，-.5，1.-2，a-1，Ａ-1，１-2，COVID-19，2022-04-21",
    "-1 − 2 －3 ﹣4 -",
    "3.50%与3.5%，第007号，3,245.67万股，版本3.5.1，3．5，3．",
    "见NW202604211380000001，编号110101199003071234，202604211380000001与999904211380000001",
    "📈涨停🚀" * 20,
    "𠀀𠀁𪚥𠮷" * 30 + "𝟘𝟙",
    "👨‍👩‍👧 🇨🇳 e\u0301 \u200d\u200c\ufeff",
    "Apple苹果Ωμ Россия ไทย العربية 한국어 カタカナ ｶﾀｶﾅ ﬁﬂ ß İstanbul ǅ Ⅳ ㎏ ㍿",
    "Tab\tand_under_score__x",
    "\ud800\udfff lone surrogates \udc00中",
    "财联社4月21日电，北向资金今日净买入52.36亿元。",
    "新华社北京4月21日电（记者 张三）央行开展5000亿元MLF操作。",
    "证券时报e公司讯，比亚迪（002594）拟回购10亿元，潍柴动力(000338.SZ)拟回购5亿元(SH600519)(00700.HK)。",
    "公司拟回购10亿元。（文章来源：证券时报2026）\n责任编辑：王5",
    "比亚迪公告回购。\n责任编辑：王五\n",
    "校对：李四",
    "审校 : 赵六  ",
    "（来源：新浪财经）（原文来源: 财联社）(本文来源:X)(稿件来源：Y)（作者 某某）（通讯员 甲）（编辑 乙）",
    '<p style="x">公司&nbsp;公告&amp;说明</p><!-- c --><script>var a="<p>广告</p>";</script><STYLE>p{}</STYLE>'
    "<template>t</template><p>1 &lt; 2 &#x4e2d;&#20013; &bogus; &</p><br/><a href='x'>链接</a>",
    "<!-- unclosed comment 中国 12",
    "<script>unclosed 中国 12",
    "< p>not a tag</ p><1>",
    SOLAR,
    RRR,
    SOLAR * 40,
    "".join(chr(c) for c in range(0x20, 0x3000, 7)),
    "".join(chr(c) for c in range(0xFF00, 0xFFF0)),
    # Many hyphens and minus signs (figures take another path), and signs in every context.
    "-1" * 30,
    "2022-04-21，" * 20 + "跌-5%，－６，−7",
    "COVID-19，" * 20 + "-------- -3 ----",
    "－１" * 20 + "﹣2" * 20 + "−3" * 20,
    # Compatibility forms around full-width ones (NFKC takes another path).
    "ｶﾞｷﾞ１２ＡＢ",
    "ＡＢＣ①２３",
    "Ａ\u0301Ｂ\u0308１",
    "\u1100\u1161１２",
    "１２３" * 50 + "ﬁ",
    # Long texts beyond the BMP and within it (the pair keys of both kinds, long masks).
    "中𠀀" * 5000,
    "股份公司营业收入同比增长12.5%" * 700,
]


@pytest.mark.parametrize("text", GOLDEN_EDGE_CASES)
def test_edge_cases_match_the_frozen_reference(text: str, backend: str) -> None:
    _assert_matches_reference(text)
    _assert_matches_reference(text, _Caches())


def test_shingle_length_is_still_checked() -> None:
    for k in (0, -1):
        with pytest.raises(ValueError):
            simhash(SOLAR, k)
        with pytest.raises(ValueError):
            _reference_frozen_simhash(SOLAR, k)


_GOLDEN_WORDS = [
    "公司", "营业收入", "同比增长", "净利润", "北向资金", "净买入", "板块", "涨幅居前", "央行", "逆回购",
    "中标利率", "一季度", "回购", "股份", "减持", "新能源汽车", "光伏", "风电", "装机", "亿千瓦时",
    "分析人士", "认为", "市场", "万科A", "三一重工", "十分", "统一", "两成", "ST股", "A股", "LPR",
]  # fmt: skip
_GOLDEN_ODD = [
    " ", "\n", "\t", "\u3000", "\xa0", "\r\n", "，", "。", "、", "；", "：", ":", "%", "％", "（", "）", "(", ")",
    "“", "”", "【", "】", "-", "−", "－", "﹣", "+", ".", "．", ",", "_", "/", "&", "<", ">",
    "📈", "🚀", "𠀀", "𪚥", "👨‍👩‍👧", "e\u0301", "\u200d", "ｶﾀｶﾅ", "ﬁ", "ß", "İ", "Ω", "ไทย", "한국",
    "①", "²", "½", "Ⅻ", "〇", "٣٫٥", "१२", "𝟏𝟐", "１２．５", "ＡＢｃ",
]  # fmt: skip
_GOLDEN_MARKUP = [
    "<p>", "</p>", "<br/>", "<strong>", "</strong>", '<a href="http://x/?a=1&b=2">', "</a>", "<!-- c -->",
    "<!--", "-->", "<script>var a='<p>x</p>';</script>", "<style>p{}</style>", "<Script src=x>", "</script >",
    "&nbsp;", "&amp;", "&lt;", "&#x4e2d;", "&#20013;", "&copy", "&unknown;",
]  # fmt: skip
_GOLDEN_ATTRIBUTIONS = [
    "（文章来源：每日经济新闻）", "(来源: 新浪财经)", "（记者 王晓）", "(000338.SZ)", "（002594）",
    "(SH600519)", "(00700.hk)", "（完）", "\n责任编辑：李明", "\n编辑：王五", "校对：", "审校:",
]  # fmt: skip
_GOLDEN_DATELINES = [
    "",
    "",
    "财联社4月21日电，",
    "证券时报e公司讯，",
    "新华社北京4月21日电（记者 张三）",
    "本报讯 ",
]


def _golden_figure(rng: random.Random) -> str:
    kind = rng.randrange(9)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 8)))
    if kind == 1:
        return f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}"
    if kind == 2:
        return rng.choice("-−－﹣") + f"{rng.uniform(0, 30):.{rng.randint(0, 3)}f}"
    if kind == 3:
        return f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}"
    if kind == 4:
        return f"20{rng.randint(10, 30)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if kind == 5:
        return "".join(chr(0xFF10 + int(d)) for d in str(rng.randint(0, 99999)))
    if kind == 6:
        return rng.choice(["202604211380000001", "110101199003071234", "NW202204211380000001"])
    if kind == 7:
        return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    return rng.choice(["COVID-19", "PM2.5", "A-1", "3.5.1", "1..2", "-.5", "5-", "1.-2"])


def golden_text(rng: random.Random) -> str:
    """A generated text: news words and figures, odd characters, markup and attributions."""
    parts = [rng.choice(_GOLDEN_DATELINES)]
    for _ in range(rng.choice([0, 1, 3, 10, 30, 60, 120, 250])):
        roll = rng.random()
        if roll < 0.45:
            parts.append(rng.choice(_GOLDEN_WORDS))
        elif roll < 0.65:
            parts.append(_golden_figure(rng))
        elif roll < 0.85:
            parts.append(rng.choice(_GOLDEN_ODD))
        elif roll < 0.93:
            parts.append(rng.choice(_GOLDEN_MARKUP))
        elif roll < 0.98:
            parts.append(rng.choice(_GOLDEN_ATTRIBUTIONS))
        else:
            parts.append(chr(rng.randrange(0x20, 0x30000)))  # any character, lone surrogates too
    if rng.random() < 0.3:
        parts.append(rng.choice(_GOLDEN_ATTRIBUTIONS))
    return "".join(parts)


#: Generated texts compared: every output at k = 2, and at every k for one text in GOLDEN_ALL_KS_EVERY.
GOLDEN_TEXTS = 3000
GOLDEN_ALL_KS_EVERY = 10


def test_generated_texts_match_the_frozen_reference(backend: str) -> None:
    rng = random.Random(20260421)
    caches = _Caches()
    for i in range(GOLDEN_TEXTS):
        text = golden_text(rng)
        if i % GOLDEN_ALL_KS_EVERY == 0:
            _assert_matches_reference(text)  # the reference without a cache, every k
            _assert_matches_reference(text, caches)
        else:
            _assert_matches_reference(text, caches, (SHINGLE_K,))
    if backend == "pure":
        assert len(caches.new[SHINGLE_K]) > 5000  # the caches were reused, and grew
    else:  # pairs in C: only the texts of 1 or 2 characters go through the cache
        assert all(isinstance(key, str) and len(key) <= 2 for key in caches.new[SHINGLE_K])


def test_generated_news_with_a_shared_cache_matches_the_frozen_reference(backend: str) -> None:
    """Longer texts of the same vocabulary: later texts find most of their shingles in the cache."""
    rng = random.Random(7)
    caches = _Caches()
    for _ in range(300):
        text = "".join(golden_text(rng) for _ in range(4))
        _assert_matches_reference(text, caches, (SHINGLE_K,))


_GOLDEN_ALPHABET = st.sampled_from(_GOLDEN_WORDS + _GOLDEN_ODD + _GOLDEN_MARKUP + _GOLDEN_ATTRIBUTIONS)


@settings(max_examples=examples(1000), deadline=None)
@given(
    st.lists(
        st.one_of(_GOLDEN_ALPHABET, st.characters(), st.sampled_from(list("0123456789.-−"))), max_size=80
    ).map("".join)
)
def test_hypothesis_texts_match_the_frozen_reference(text: str) -> None:
    _assert_matches_reference(text)


@settings(max_examples=examples(300), deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_arbitrary_unicode_matches_the_frozen_reference(text: str) -> None:
    _assert_matches_reference(text)


def test_a_cache_shared_by_texts_within_and_beyond_the_bmp(backend: str) -> None:
    """Pairs of BMP texts and of texts with astral characters are keyed apart in one cache
    (the pure Python's; the C extension uses none)."""
    caches = _Caches()
    base = SOLAR[:300]
    for text in (base, base + "𠀀", base, "𠀀" + base[:200] + "😀", base.replace("。", "𠮷"), base):
        _assert_matches_reference(text, caches, (SHINGLE_K,))
    keys = caches.new[SHINGLE_K]
    if backend == "pure":
        assert any(key < 1 << 32 for key in keys) and any(key >= 1 << 32 for key in keys)
    else:
        assert not keys


def _column_majority(blob: bytes) -> int:
    """The textbook majority of the 8-byte rows of *blob*, bit by bit."""
    rows = [int.from_bytes(blob[i : i + 8], "big") for i in range(0, len(blob), 8)]
    return sum(1 << bit for bit in range(64) if 2 * sum(row >> bit & 1 for row in rows) > len(rows))


@pytest.mark.parametrize(
    "rows", [*range(1, 70), 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 3000]
)
def test_majority_is_the_column_majority(rows: int) -> None:
    rng = random.Random(rows)
    blobs = [
        rng.randbytes(8 * rows),
        bytes(8 * rows),
        b"\xff" * 8 * rows,
        b"".join(rng.choice([b"\x00" * 8, b"\xff" * 8, rng.randbytes(8)]) for _ in range(rows)),
        # Ties (exactly half the rows have the bit): not set.
        (b"\xff" * 8 + b"\x00" * 8) * (rows // 2) + b"\x0f" * 8 * (rows % 2),
    ]
    for blob in blobs:
        assert fp._majority(blob) == _column_majority(blob)


@pytest.mark.parametrize(
    "text", ["abc", "中国人民银行", "a1b2c3" * 10, "中𠀀国😀人", "𠀀" * 9, SOLAR, SOLAR * 20]
)
def test_pair_keys_are_the_pairs(text: str) -> None:
    norm = normalize_text(text)
    keys, unit = fp._pair_keys(norm)
    assert unit == (2 if all(char <= "\uffff" for char in norm) else 4)
    assert all(key < 1 << 32 for key in keys) if unit == 2 else all(key >= 1 << 32 for key in keys)
    ordered = list(keys)
    pairs = fp._pairs_of(ordered, unit)
    assert set(pairs) == {norm[i : i + 2] for i in range(len(norm) - 1)}
    assert len(pairs) == len(keys)


#: Every character (lone surrogates too), for the facts the fast paths rely on.
ALL_CHARACTERS = "".join(map(chr, range(sys.maxunicode + 1)))


def test_the_character_classes_the_fast_paths_rely_on() -> None:
    def matching(pattern: str, flags: int = 0) -> set[str]:
        return set(re.findall(pattern, ALL_CHARACTERS, flags))

    # \s is str.isspace (_without_editor_line), \d is str.isdecimal (_sign_positions),
    # [^\W_] is str.isalnum (_alnum: the characters it deletes first are not).
    assert matching(r"\s") == {char for char in ALL_CHARACTERS if char.isspace()}
    assert matching(r"\d") == {char for char in ALL_CHARACTERS if char.isdecimal()}
    assert matching(r"[^\W_]") == {char for char in ALL_CHARACTERS if char.isalnum()}
    assert not any(char.isalnum() for char in fp._COMMON_GAPS)
    # Lower casing keeps letters and digits letters and digits, but for one (_alnum).
    assert {char for char in ALL_CHARACTERS if char.isalnum() and not char.lower().isalnum()} == {"\u0130"}
    assert "ΑΣ".lower() == "ας"  # the one rule of context (a final sigma) gives a letter too
    # The look-behind of a minus sign, as a set.
    assert matching(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]") == fp._NOT_BEFORE_SIGN
    # A source attribution starts with a parenthesis, whatever the case folding.
    assert matching(r"[(（]", re.IGNORECASE) == {"(", "（"}
    # Each full-width form is replaced by its own NFKC form.
    assert all(
        fp._FULL_WIDTH[ord(char)] == unicodedata.normalize("NFKC", char)
        for char in matching(r"[\uff01-\uff5e]")
    )


# --------------------------------------------------------------------------- the C extension
#
# newscrawler/dedup/_simhash.c computes the SimHash of pairs (the fingerprints' shingles):
# it must give the pure Python's values bit for bit, for every text.


def _extension() -> Callable[[str, int], int]:
    assert fp._simhash_pairs is not None, "the C extension is not built (make venv builds it)"
    return fp._simhash_pairs


def _pure_pairs(norm: str) -> int:
    """The pure Python's SimHash of the pairs of *norm* (the text itself when shorter than 2)."""
    with pure_python():
        return fp._simhash_normalized(norm, SHINGLE_K, None)


def _assert_extension_matches(norm: str) -> None:
    expected = _pure_pairs(norm)
    assert _extension()(norm, DIGIT_WEIGHT) == expected
    if len(norm) > 2:  # the path fingerprint() takes
        assert fp._simhash_normalized(norm, SHINGLE_K, None) == expected
        assert fp._simhash_normalized(norm, SHINGLE_K, {}) == expected


def test_the_extension_is_loaded() -> None:
    """The C extension is built in this environment (``make venv``: ``pip install -e``), so
    that a silent fallback to the pure Python is noticed. To build it after editing
    ``_simhash.c``: ``.venv/bin/python setup.py build_ext --inplace``."""
    from newscrawler.dedup import _simhash

    assert fp._simhash_pairs is _simhash.simhash_pairs
    assert fp._alnum_chars is _simhash.alnum_chars
    assert fp._raw_figures is _simhash.raw_figures
    assert Path(_simhash.__file__).parent == Path(fp.__file__).parent
    assert _simhash.BLAKE2B in {"avx2x4", "scalar"}


def test_the_module_works_without_the_extension() -> None:
    """Where the extension cannot be imported (not built), the pure Python gives the same values."""
    code = (
        "import sys\n"
        "sys.modules['newscrawler.dedup._simhash'] = None  # the import raises ImportError\n"
        "from newscrawler.dedup import fingerprint as fp\n"
        "text = sys.stdin.read()\n"
        "print(fp._simhash_pairs is None, fp._alnum_chars is None, fp._raw_figures is None)\n"
        "print(fp.simhash(text), fp.fingerprint(text).simhash, fp.fingerprint(text).figures)\n"
        "print(fp.normalize_text(text))\n"
        "print(','.join(fp.figures(text)))\n"
    )
    out = _python_words(code, SOLAR)
    assert out == [
        *("True", "True", "True"),
        *(str(simhash(SOLAR)), str(fingerprint(SOLAR).simhash), str(fingerprint(SOLAR).figures)),
        normalize_text(SOLAR),
        ",".join(figures(SOLAR)),
    ]


def test_the_extension_gives_the_pinned_values() -> None:
    extension = _extension()
    assert extension(normalize_text(RRR), DIGIT_WEIGHT) == PINNED["RRR"]
    assert extension("ab", DIGIT_WEIGHT) == PINNED["ab"]
    assert extension(normalize_text("2022年4月"), DIGIT_WEIGHT) == PINNED["digits"]


#: The characters of short texts, every combination of 1-4 of them: letters (Latin, CJK,
#: astral CJK, a letter with a combining mark), digits (ASCII, full-width, Arabic-Indic,
#: astral), a combining mark, an emoji, a Roman numeral, a symbol.
_SHORT_ALPHABET = "a中𠀀é\u03011１٣𝟏😀Ⅻ%"


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4])
def test_the_extension_on_every_short_text(length: int) -> None:
    for chars in product(_SHORT_ALPHABET, repeat=length):
        _assert_extension_matches("".join(chars))


def test_the_extension_decides_alpha_and_utf8_as_python_for_every_character() -> None:
    """For every code point c (but surrogates): the shingles of c + "aa" are "ca", weighing 1
    when c.isalpha() else DIGIT_WEIGHT, and "aa" (1); the SimHash is then the digest of "ca"
    and "aa" both (alphabetic), or that of "ca" alone (heavier than "aa"). So the extension's
    UTF-8 and its isalpha decision are checked for each character."""
    extension = _extension()
    new_state = hashlib.blake2b(digest_size=8).copy

    def digest(shingle: str) -> int:
        state = new_state()
        state.update(shingle.encode())
        return int.from_bytes(state.digest(), "big")

    both_alpha = digest("aa")
    mismatches = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        value = digest(char + "a")
        expected = value & both_alpha if char.isalpha() else value
        if code == ord("a"):
            expected = both_alpha
        if extension(char + "aa", DIGIT_WEIGHT) != expected:
            mismatches.append(hex(code))
    assert mismatches == []


def test_the_extension_refuses_what_the_pure_python_cannot_hash() -> None:
    extension = _extension()
    for text in ("\ud800ab", "ab\udfff", "a\ud83d\ude00b"[:2] + "\udc00", "\udc00"):
        with pytest.raises(ValueError):
            extension(text, DIGIT_WEIGHT)
        # _simhash_normalized then takes the pure Python, which fails as it always did.
        with pytest.raises(UnicodeEncodeError):
            fp._simhash_normalized(text, SHINGLE_K, None)
        with pure_python(), pytest.raises(UnicodeEncodeError):
            fp._simhash_normalized(text, SHINGLE_K, None)
    with pytest.raises(TypeError):
        extension(b"abc", DIGIT_WEIGHT)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        extension("abc")  # type: ignore[call-arg]
    for weight in (0, -1, 256):
        with pytest.raises(ValueError):
            extension("abc", weight)


@pytest.mark.parametrize("weight", [1, 2, 5, 255])
def test_the_extension_takes_the_digit_weight(weight: int, monkeypatch: pytest.MonkeyPatch) -> None:
    extension = _extension()
    monkeypatch.setattr(fp, "DIGIT_WEIGHT", weight)
    for text in (RRR, ANNUAL, "a1b2c3" * 10, "1a", "１２３" * 50 + "股份"):
        norm = normalize_text(text)
        assert extension(norm, weight) == _pure_pairs(norm)


def _random_text(rng: random.Random, size: int, alphabet: str) -> str:
    return "".join(rng.choices(alphabet, k=size))


_CJK = "".join(chr(code) for code in range(0x4E00, 0x9FA6))


def test_the_extension_on_100_kb_texts() -> None:
    rng = random.Random(100)
    common = _random_text(rng, 3000, _CJK)
    texts = [
        _random_text(rng, 34_000, common + "0123456789"),  # 100 KB of UTF-8: Chinese and figures
        _random_text(rng, 100_000, "".join(map(chr, range(0x20, 0xD800)))),  # most pairs distinct
        _random_text(rng, 25_000, "𠀀𠀁𪚥𠮷😀𝟏𝟐" + "中国12"),  # astral, 4-byte UTF-8
        normalize_text(SOLAR * 100),  # the same pairs again and again
        "1" * 100_000,  # one pair
    ]
    for text in texts:
        _assert_extension_matches(text)


def _fixture_texts() -> Iterator[str]:
    """Every fixture file as text (UTF-8, else GB 18030 as the old eastmoney pages), its
    plain text, and every string of a JSON file (the article bodies)."""

    def strings(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.suffix == ".png":
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", "replace")
        yield text
        yield html_to_text(text)
        if text.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):
                for value in strings(json.loads(text)):
                    yield value
                    yield html_to_text(value)


def test_the_extension_on_every_fixture_body() -> None:
    _assert_extension_loaded()
    count = 0
    for text in _fixture_texts():
        norm = normalize_text(text)
        _assert_extension_matches(norm)
        _assert_scans_match(text)
        with pure_python():
            expected = fingerprint(text), norm, figures(text)
        assert (fingerprint(text), normalize_text(text), figures(text)) == expected
        count += len(norm) >= NEAR_MIN_CHARS
    assert count > 300  # the fixtures hold that many texts long enough for a SimHash


#: Characters of every kind: any (no surrogates: a normalized text has none, UTF-8 has
#: none), astral ones, combining marks, digits and other numbers of every script, letters
#: and non-alphanumerics of the usual texts.
_PAIR_CHARACTERS = st.one_of(
    st.characters(exclude_categories=["Cs"]),
    st.characters(min_codepoint=0x10000, exclude_categories=["Cs"]),
    st.characters(categories=["Mn", "Mc", "Me"]),
    st.characters(categories=["Nd", "Nl", "No"]),
    st.sampled_from(list("abcXYZ股份公司中国营收同比增长0123456789１２３٣۳३๓𝟏%.，。 _-𠀀😀é")),
)


@st.composite
def _repetitive_texts(draw: st.DrawFn) -> str:
    """Texts made of a few pieces over and over: many repeated shingles."""
    pieces = draw(st.lists(st.text(_PAIR_CHARACTERS, min_size=1, max_size=6), min_size=1, max_size=6))
    return "".join(draw(st.lists(st.sampled_from(pieces), min_size=1, max_size=80)))


@settings(max_examples=examples(2000), deadline=None)
@given(st.one_of(st.text(_PAIR_CHARACTERS, max_size=300), _repetitive_texts()))
def test_the_extension_equals_the_pure_python(norm: str) -> None:
    _assert_extension_matches(norm)


@settings(max_examples=examples(500), deadline=None)
@given(st.lists(st.one_of(_GOLDEN_ALPHABET, _PAIR_CHARACTERS), max_size=120).map("".join))
def test_fingerprints_with_and_without_the_extension_are_equal(text: str) -> None:
    _assert_extension_loaded()
    with pure_python():
        expected = (fingerprint(text), simhash(text), simhash(text, cache={}))
    assert (fingerprint(text), simhash(text), simhash(text, cache={})) == expected


# --------------------------------------------------------------------------- the C scans
#
# newscrawler/dedup/_simhash.c also finds the letters and digits of a text (alnum_chars, for
# _alnum_runs) and its figures as written (raw_figures, for _find_figures): they must give
# the pure Python's strings for every text, and _alnum, _figures and fingerprint() with them
# the same values as without them.


def _alnum_extension() -> Callable[[str], str]:
    assert fp._alnum_chars is not None, "the C extension is not built (make venv builds it)"
    return fp._alnum_chars


def _figures_extension() -> Callable[[str], list[str]]:
    assert fp._raw_figures is not None, "the C extension is not built (make venv builds it)"
    return fp._raw_figures


def _assert_scans_match(text: str) -> None:
    """The C scans of *text* give what the pure Python gives (exact ``str`` and ``list``:
    ``==`` also tells a string of a needlessly wide kind), and so do ``_alnum`` and ``_figures``."""
    kept = _alnum_extension()(text)
    assert type(kept) is str
    assert kept == fp._alnum_runs(text)
    found = _figures_extension()(text)
    assert type(found) is list
    assert all(type(figure) is str for figure in found)
    assert found == fp._find_figures(text)
    with pure_python():
        expected = fp._alnum(text), fp._figures(text)
    assert (fp._alnum(text), fp._figures(text)) == expected


def _chunks_of_every_character(size: int = 4096) -> Iterator[tuple[int, str]]:
    """All the code points (surrogates too), *size* at a time, with the first of each."""
    for start in range(0, len(ALL_CHARACTERS), size):
        yield start, ALL_CHARACTERS[start : start + size]


def test_alnum_chars_keeps_what_re_keeps_of_every_character() -> None:
    r"""For every code point: kept by the C scan exactly when ``[^\W_]`` (the pure Python's
    regex) matches it, which is when it ``isalnum()``; in strings of each kind."""
    alnum_chars = _alnum_extension()
    mismatches = [
        hex(start)
        for start, chunk in _chunks_of_every_character()
        if alnum_chars(chunk) != "".join(re.findall(r"[^\W_]", chunk))
        or alnum_chars(chunk) != "".join(char for char in chunk if char.isalnum())
    ]
    assert mismatches == []
    for text in (ALL_CHARACTERS[:128], ALL_CHARACTERS[:256], ALL_CHARACTERS[:0x10000], ALL_CHARACTERS):
        assert alnum_chars(text) == fp._alnum_runs(text)


#: Each code point c in the places where raw_figures decides on it: alone (a decimal digit,
#: \d, is a figure), before a minus sign and a digit (a Latin letter or digit makes it a
#: hyphen), between a space and a digit (a minus sign?), between digits (a decimal point?),
#: and after a minus sign (a sign needs a decimal digit after it).
_FIGURE_PLACES: list[Callable[[str], str]] = [
    lambda c: c + " ",
    lambda c: c + "-1 ",
    lambda c: " " + c + "1 ",
    lambda c: "1" + c + "2 ",
    lambda c: "-" + c + " ",
]


def test_raw_figures_decide_as_the_pure_python_for_every_character() -> None:
    raw_figures = _figures_extension()
    mismatches = []
    for place, make in enumerate(_FIGURE_PLACES):
        for start, chunk in _chunks_of_every_character():
            text = "".join(map(make, chunk))
            if raw_figures(text) != fp._find_figures(text):
                mismatches.append((place, hex(start)))
    assert mismatches == []
    assert raw_figures(" ".join(ALL_CHARACTERS)) == [char for char in ALL_CHARACTERS if char.isdecimal()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("1", ["1"]),
        ("-1", ["-1"]),  # a sign at the start
        ("-", []),
        ("1.", ["1"]),  # a decimal part needs a digit after the point
        (".5", ["5"]),
        ("-.5", ["5"]),
        ("1.-2", ["1", "-2"]),
        ("1..2", ["1", "2"]),
        ("1.2.3", ["1.2", "3"]),
        ("1．5，１.５，１．٥", ["1．5", "１.５", "１．٥"]),  # full-width point, mixed scripts
        ("--5", ["-5"]),
        ("−3 －3 ﹣3", ["−3", "－3", "﹣3"]),
        ("‐3 –3 —3 ﹘3", ["3", "3", "3", "3"]),  # hyphens and dashes are no minus signs
        ("a-1 Z-1 9-1 Ａ-1 ｚ-1 ９-1", ["1", "1", "9", "1", "1", "1", "９", "1"]),  # hyphens
        ("é-1 中-1 ٣-1 _-1 ²-1", ["-1", "-1", "٣", "-1", "-1", "-1"]),  # signs
        ("-² ²3 -²3 ①2", ["3", "3", "2"]),  # superscripts are digits, not decimal ones
        ("1\x002 -\x001 \x00-1", ["1", "2", "1", "-1"]),  # NUL
        ("𝟏.𝟐 -𝟑 𞥐-1", ["𝟏.𝟐", "-𝟑", "𞥐", "-1"]),  # beyond the BMP
        ("-\ud8001 \udc00-2 1\ud800", ["1", "-2", "1"]),  # lone surrogates
        ("COVID-19，2022-04-21，-5%", ["19", "2022", "04", "21", "-5"]),
    ],
)
def test_raw_figures_edge_cases(text: str, expected: list[str]) -> None:
    assert _figures_extension()(text) == expected
    _assert_scans_match(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("abc", "abc"),
        ("a b_c", "abc"),
        ("_", ""),
        ("中，国。\u3000股", "中国股"),
        ("x\x00y", "xy"),
        ("a\ud800b\udfff", "ab"),  # a lone surrogate is not alphanumeric
        ("²½Ⅻ①", "²½Ⅻ①"),  # digits and numbers of every kind are
        ("e\u0301", "e"),  # a combining mark is not
        ("𠀀-😀-𝟏", "𠀀𝟏"),
        ("ÿé", "ÿé"),
    ],
)
def test_alnum_chars_edge_cases(text: str, expected: str) -> None:
    assert _alnum_extension()(text) == expected
    _assert_scans_match(text)


def test_alnum_chars_returns_the_text_itself_when_it_is_all_letters_and_digits() -> None:
    alnum_chars = _alnum_extension()
    text = "中国人民银行2022"
    assert alnum_chars(text) is text

    class Text(str):
        pass

    kept = alnum_chars(Text(text))
    assert type(kept) is str
    assert kept == text


def test_the_scans_refuse_what_is_not_a_str() -> None:
    for scan in (_alnum_extension(), _figures_extension()):
        with pytest.raises(TypeError):
            scan(b"abc")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            scan()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            scan("abc", "def")  # type: ignore[call-arg]


#: The characters of the random texts: those the scans decide on, of every kind.
_SCAN_ALPHABET = [
    *"0123456789abcxyzABCXYZ",
    *"０１５９ＡＺａｚ",  # full-width digits and letters
    *"٠٣٩۰۳۹०३९০৩๑๓߀᠐꘠",  # decimal digits of other scripts
    *"𝟎𝟏𝟗𑁦𞥐",  # decimal digits beyond the BMP
    *"²³¹⁰₀₉①⑩½¼Ⅻ〇十",  # digits and numbers that are not decimal digits
    *".．。·",  # points
    *"-−－﹣",  # minus signs
    *"‐‑‒–—―⁃﹘⸺",  # hyphens and dashes
    *"中国股份公司营收万",
    *" \t\n\u3000\xa0_\x00",
    *"\ud800\udbff\udc00\udfff",  # lone surrogates
    *"𠀀𪚥😀𝐀𝑎",  # letters and symbols beyond the BMP
    *"éßÿªµºİ\u0301ﬁ",
    *fp._COMMON_GAPS,
]
#: The same, restricted to 1-byte and 2-byte code points: texts of each kind.
_SCAN_ALPHABETS = [
    [char for char in _SCAN_ALPHABET if ord(char) < 0x80],
    [char for char in _SCAN_ALPHABET if ord(char) < 0x100],
    [char for char in _SCAN_ALPHABET if ord(char) < 0x10000],
    _SCAN_ALPHABET,
]


def _scan_texts() -> Iterator[str]:
    """A few thousand random texts of the scan alphabet (fixed seed), short and long, of every
    kind; some longer than the buffers the scans keep on the stack."""
    rng = random.Random(1421)
    for i in range(4000):
        alphabet = _SCAN_ALPHABETS[i % len(_SCAN_ALPHABETS)]
        size = rng.choice([rng.randint(0, 6), rng.randint(0, 40), rng.randint(0, 400)])
        yield "".join(rng.choices(alphabet, k=size))
    for alphabet in _SCAN_ALPHABETS:
        for size in (2046, 2047, 2048, 4096, 4097, 8193, 20_000):
            yield "".join(rng.choices(alphabet, k=size))


def test_the_scans_equal_the_pure_python_on_random_texts() -> None:
    _assert_extension_loaded()
    for text in _scan_texts():
        _assert_scans_match(text)
        with pure_python():
            expected = fingerprint(text), normalize_text(text), figures(text)
        assert (fingerprint(text), normalize_text(text), figures(text)) == expected


def test_the_scans_on_every_golden_edge_case() -> None:
    pairs = [*MUST_MERGE.values(), *FIGURES_DIFFER.values(), *MUST_NOT_MERGE.values()]
    for text in [*GOLDEN_EDGE_CASES, *(text for pair in pairs for text in pair)]:
        _assert_scans_match(text)
        _assert_scans_match(html_to_text(text))
