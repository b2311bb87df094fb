"""Content fingerprints for duplicate detection (docs/contract.md "Deduplication"): pure functions.

Of an article's plain text (:func:`html_to_text` of the body): :func:`text_hash`, the
SHA-256 of the normalized text (equal: the same cleaned text); :func:`simhash`, a
64-bit SimHash of its 2-character shingles (near duplicates: at most
``NEAR_MAX_DISTANCE`` bits apart, texts of ``NEAR_MIN_CHARS`` or more); and
:func:`figures`, the numbers of the text in order, which near duplicates must share
(:func:`is_same_story`). Normalization, parameters and the evidence behind them:
docs/internals.md "Fingerprints: design notes".

The SimHash of pairs (the fingerprints' shingles) runs in C when the optional extension
``newscrawler.dedup._simhash`` (``_simhash.c``, built by ``pip install``) is there: the same
values bit for bit, about 9 times as fast as the pure Python here without a cache and 4
times with a warm one (bench/bench_fingerprint.py); else in the pure Python. So do two
scans of the text, each in one pass: the letters and digits that normalization keeps
(``alnum_chars``, for :func:`_alnum_runs`; NFKC and lower casing stay here) and the figures
as written, with their minus signs (``raw_figures``, for :func:`_find_figures`; their ASCII
forms and the removal of article codes stay here). They give the same strings as the pure
Python, and make :func:`_alnum` and :func:`_figures` about 3.5 times as fast on a Chinese
text of 1.4k characters (7 and 6 µs instead of 22 and 21).
"""

from __future__ import annotations

import hashlib
import html
import operator
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any, cast

from newscrawler.ids import is_code

#: Version of the algorithm (normalization, shingles, weights, figures): hashes of another version
#: do not compare. (The figures digest was added without changing the other values: still 1.)
FINGERPRINT_VERSION = 1
#: Shingle length in characters.
SHINGLE_K = 2
#: Weight of a shingle holding a digit: numbers are the substance of financial news.
DIGIT_WEIGHT = 3
#: Largest Hamming distance between the SimHashes of near duplicates (the
#: 4 x 16-bit band index of the store finds every hash within 3 bits).
NEAR_MAX_DISTANCE = 3
#: Normalized texts shorter than this are only ever matched exactly.
NEAR_MIN_CHARS = 100

_MASK64 = (1 << 64) - 1
# Both full-width and ASCII forms: these run before NFKC (which runs on the letters and digits left).
_SOURCE_RE = re.compile(
    r"[(（]\s*(?:(?:(?:文章|原文|本文|稿件)?来源\s*[:：][^()（）]{0,40})"  # （文章来源：财联社）
    r"|(?:(?:记者|通讯员|作者|编辑|责任编辑)[^()（）]{0,30})"  # （记者 张三）
    r"|(?:[a-z]{2})?\d{5,6}(?:\.[a-z]{2})?)\s*[)）]",  # stock codes: (000338.SZ), (SH600519), (00700.HK)
    re.IGNORECASE,
)
_EDITOR_RE = re.compile(r"(?:责任编辑|编辑|校对|审校)\s*[:：]\s*[^\s,，.。;；:：()（）]{1,12}\s*$")
_DATELINE_RE = re.compile(
    r"\A\s*[^\W_]{1,16}?(?:\d{1,2}月\d{1,2}日)?(?:电|讯)(?:\s*[(（][^()（）]{0,30}[)）])?"
    r"(?:\s*[,，:：]|\s+|(?<=[)）]))"
)
_NOT_ALNUM_RE = re.compile(r"[\W_]+")
# A figure: a run of decimal digits (any script: ASCII, full-width ...) with its decimal
# part, and the minus sign right before it unless that follows a Latin letter or a digit
# (COVID-19, 2022-04-21: a hyphen, not a sign). Found in two steps, each a fast scan: the
# figures without their signs, then the signs (few) that belong to the figure right after them.
# (Each pattern starts with a character class, not a repeat nor a look-behind, so that the
# regex engine skips to the next candidate character in a C loop instead of trying a match
# at every position: \d\d* is \d+, and the look-behind is taken after the sign.)
_FIGURE_RE = re.compile(r"\d\d*(?:[.．]\d+)?")
_SIGN_RE = re.compile(r"[-−－﹣](?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ].)(?=\d)")
_NOT_BEFORE_SIGN = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
)
_MINUS_SIGNS = "-−－﹣"
_ALNUM_RUN_RE = re.compile(r"[^\W_][^\W_]*")
#: The commonest characters between the letters and digits of a text (none of them alphanumeric).
_COMMON_GAPS = " ，。、；：“”（）《》%.,-:;()！？—\n"
# Full-width ASCII forms (２０２６, ＡＢＣ): the usual reason a text is not NFKC already.
_FULL_WIDTH_RE = re.compile("[\uff01-\uff5e][\uff01-\uff5e]*")
_FULL_WIDTH = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFF01, 0xFF5F)}
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_INVISIBLE_RE = re.compile(r"<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE)
_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")


def html_to_text(body_html: str) -> str:
    """Plain text of body HTML: comments, scripts and styles dropped, tags stripped, entities replaced.

    Fingerprint every body through this, new articles and archived posts alike.
    """
    text = _COMMENT_RE.sub(" ", body_html)
    text = _INVISIBLE_RE.sub(" ", text)
    text = _TAG_RE.sub(" ", text)
    return " ".join(html.unescape(text).split())


def normalize_text(text: str) -> str:
    """The text reduced to what identifies a story: its letters and digits, NFKC, lower case.

    A leading dateline, source attributions, bylines and stock codes in
    parentheses, and an editor line at the end are removed first;
    whitespace, punctuation and symbols are dropped.
    """
    return _alnum(_strip_attributions(text))


def _strip_attributions(text: str) -> str:
    """*text* without its leading dateline, source attributions, bylines, stock codes in
    parentheses and editor line: the first step of :func:`normalize_text` and :func:`figures`."""
    text = _DATELINE_RE.sub("", text, count=1)
    if "(" in text or "（" in text:
        text = _without_sources(text)
    if "编辑" in text or "校对" in text or "审校" in text:
        text = _without_editor_line(text)
    return text


def _without_sources(text: str) -> str:
    """``_SOURCE_RE.sub("", text)``, trying a match only where one can start: at the
    opening parentheses (found by ``str.find``), not at every character."""
    pieces = []
    kept = 0  # the end of the last match
    ascii_at, wide_at = text.find("("), text.find("（")
    while ascii_at >= 0 or wide_at >= 0:
        at = ascii_at if wide_at < 0 or 0 <= ascii_at < wide_at else wide_at
        match = _SOURCE_RE.match(text, at)
        if match is None:
            resume = at + 1
        else:
            pieces.append(text[kept:at])
            kept = resume = match.end()
        if 0 <= ascii_at < resume:
            ascii_at = text.find("(", resume)
        if 0 <= wide_at < resume:
            wide_at = text.find("（", resume)
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)


def _without_editor_line(text: str) -> str:
    """``_EDITOR_RE.sub("", text)``, searching only where a match can start: it holds one
    colon and runs to the end, so its colon is the last one of the text, and its keyword
    (2 or 4 characters) ends where the white space before that colon starts."""
    colon = max(text.rfind(":"), text.rfind("："))
    if colon < 0:
        return text
    start = colon
    while start > 0 and text[start - 1].isspace():  # \s is str.isspace
        start -= 1
    match = _EDITOR_RE.search(text, max(0, start - 4))
    return text if match is None else text[: match.start()] + text[match.end() :]


def _load_extension(name: str) -> Any:
    """The function *name* of the C extension (``_simhash.<name>``), or None when the extension
    is not built (an install without a compiler), or was built from an older ``_simhash.c``
    that has no such function: the pure Python then."""
    try:
        from newscrawler.dedup import _simhash
    except ImportError:
        return None
    return getattr(_simhash, name, None)


#: ``alnum_chars(text)``: :func:`_alnum_runs` in C (one pass, no string per run), or None (no
#: extension). tests/dedup/test_fingerprint.py checks the two give the same strings.
_alnum_chars: Callable[[str], str] | None = _load_extension("alnum_chars")


def _alnum(text: str) -> str:
    """The letters and digits of *text*, NFKC, lower case (the rest of :func:`normalize_text`)."""
    text = _alnum_chars(text) if _alnum_chars is not None else _alnum_runs(text)
    # NFKC on what is left (full-width letters and digits, compatibility forms); CJK text
    # usually is NFKC already, and the check is much cheaper than the normalization.
    if unicodedata.is_normalized("NFKC", text):
        if "\u0130" not in text:
            # Lower casing keeps letters and digits letters and digits, but for "İ" ("i" +
            # combining dot): tests/dedup/test_fingerprint.py checks it of every character.
            return text.lower()
    else:
        text = _nfkc(text)
    text = text.lower()
    # NFKC and lower casing may leave a few non-alphanumerics (1/2 -> "1⁄2", "İ" -> "i" + combining dot).
    return text if text.isalnum() else _NOT_ALNUM_RE.sub("", text)


def _alnum_runs(text: str) -> str:
    """The characters of *text* that are letters or digits (``[^\\W_]``, ``str.isalnum``), in order."""
    # The punctuation and white space of most texts, each deleted in a C loop (no string per
    # run of letters, as a regex would make); then the regex for what else is left, if any.
    for char in _COMMON_GAPS:
        if char in text:
            text = text.replace(char, "")
    if not text.isalnum():
        text = "".join(_ALNUM_RUN_RE.findall(text))
    return text


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)`` of a text that is not NFKC, faster for the usual ones."""
    # Mostly for full-width letters and digits: each replaced by its NFKC form, the text is
    # compatibility-equivalent to *text*, so it is NFKC(text) if it is normalized (the check
    # is exact); a tenth of the time of the normalization.
    candidate = _FULL_WIDTH_RE.sub(_half_width, text)
    if candidate != text and unicodedata.is_normalized("NFKC", candidate):
        return candidate
    return unicodedata.normalize("NFKC", text)


def _half_width(match: re.Match[str]) -> str:
    return match.group().translate(_FULL_WIDTH)


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the normalized text: the exact-duplicate key.

    For store records use :func:`fingerprint`, which gives "" for a text with
    nothing left after normalization (no text is never a duplicate).
    """
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def figures(text: str) -> tuple[str, ...]:
    """The figures of *text*, in order: the substance of financial news (docs/contract.md "Deduplication").

    A figure is a run of decimal digits with its decimal part (``0.52``,
    ``3245.67``, ``9876``, ``2026``) and a minus sign right before it (not a
    hyphen between figures, ``2022-04-21``, nor after a Latin letter,
    ``COVID-19``), written with ASCII digits, ``.`` and ``-`` (full-width and
    other-script digits, ``．``, ``－``, ``−`` mapped). It is kept as written:
    ``3.50`` is not ``3.5``, a thousands separator splits (``3,245`` gives
    ``3`` and ``245``). Taken after the same removals as :func:`normalize_text`
    (leading dateline, source attributions, bylines, stock codes in
    parentheses, editor line), so a change of those changes no figure.
    Chinese numerals (``三``, ``十二``, ``两``, ``万``) are not figures: they
    are parts of common words (``一些``, ``统一``, ``十分``, ``万科``,
    ``三一重工``) that an edit touches, and market figures are written in
    digits; the SimHash sees them like any other word. An 18-digit article
    code (:func:`~newscrawler.ids.is_code`, ``NW202604211380000001``) is not
    a figure either: it names the post, and the same story under another code
    is the same story.
    """
    return _figures(_strip_attributions(text))


#: ``raw_figures(stripped)``: :func:`_find_figures` in C (one pass for the figures and their
#: signs), or None (no extension). tests/dedup/test_fingerprint.py checks the two give the same lists.
_raw_figures: Callable[[str], list[str]] | None = _load_extension("raw_figures")


def _figures(stripped: str) -> tuple[str, ...]:
    found = _raw_figures(stripped) if _raw_figures is not None else _find_figures(stripped)
    # Most texts need neither of these steps: one check of all the figures at once.
    if not "".join(found).isascii():
        found = [raw if raw.isascii() else _ascii_figure(raw) for raw in found]
    if max(map(len, found), default=0) >= 18:
        found = [value for value in found if len(value) != 18 or not is_code(value)]
    return tuple(found)


def _find_figures(stripped: str) -> list[str]:
    """The figures of *stripped* as written, in order (:func:`figures` before its ASCII mapping
    and the article codes' removal): ``_FIGURE_RE``, each with its sign (``_sign_positions``)."""
    signs = _sign_positions(stripped)
    if not signs:
        found: list[str] = _FIGURE_RE.findall(stripped)
    else:
        # The figures between the signs; each sign is followed by a digit, so the first
        # figure after it starts right after it.
        found = _FIGURE_RE.findall(stripped, 0, signs[0])
        ends = [*signs[1:], len(stripped)]
        for start, end in zip(signs, ends, strict=True):
            after = _FIGURE_RE.findall(stripped, start + 1, end)
            after[0] = stripped[start] + after[0]
            found += after
    return found


def _sign_positions(text: str) -> list[int]:
    """The positions of the minus signs that are part of a figure (``_SIGN_RE``), in order."""
    positions: list[int] = []
    for sign in _MINUS_SIGNS:
        at = text.find(sign)
        if at >= 0 and text.count(sign) > 16:  # many hyphens (a rule, dates): the regex, a C loop
            return [match.start() for match in _SIGN_RE.finditer(text)]
        while at >= 0:
            after = at + 1
            # _SIGN_RE's look-ahead (\d is str.isdecimal) and look-behind, on one character each.
            if (
                after < len(text)
                and text[after].isdecimal()
                and (at == 0 or text[at - 1] not in _NOT_BEFORE_SIGN)
            ):
                positions.append(at)
            at = text.find(sign, after)
    positions.sort()
    return positions


def _ascii_figure(raw: str) -> str:
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else "-" if char in _MINUS_SIGNS else "."
        for char in raw
    )


def figures_digest(values: Iterable[str]) -> int:
    """64-bit digest (unsigned) of a sequence of figures: BLAKE2b (8 bytes, big-endian) of
    the figures joined by commas; equal digests mean the same figures in the same order."""
    return int.from_bytes(hashlib.blake2b(",".join(values).encode("ascii"), digest_size=8).digest(), "big")


_PAIR_RE = re.compile(r"..", re.DOTALL)
_ALL_BITS = (1 << 64) - 1
_BLAKE2B_8 = hashlib.blake2b(digest_size=8)
# Pair keys (see _pair_keys) by code unit size: the encoding, and the array type code of
# a pair (two code units).
_ENCODINGS = {2: "utf-16-le", 4: "utf-32-le"}
_PAIR_TYPECODES = {
    2: next(c for c in "IL" if array(c).itemsize == 4),
    4: next(c for c in "LQ" if array(c).itemsize == 8),
}


def _low_halves(unit: int, pairs: int) -> int:
    """A mask of the first code unit of each of *pairs* pairs of *unit*-byte code units."""
    return int.from_bytes((b"\xff" * unit + b"\x00" * unit) * pairs, "little")


#: The mask for texts of up to 8,192 characters (longer ones make their own).
_LOW_HALVES = {unit: _low_halves(unit, 8192) for unit in _ENCODINGS}


def _mix(raw: bytes, unit: int) -> bytes:
    """Each pair of *unit*-byte little-endian code units of *raw*, ``first, second``, as
    ``first ^ second, second``: a bijection, its own inverse (big-integer operations on
    all pairs at once)."""
    mask = _LOW_HALVES[unit]
    if mask.bit_length() < 8 * len(raw):
        mask = _low_halves(unit, len(raw) // (2 * unit) + 1)
    lanes = int.from_bytes(raw, "little")
    return (lanes ^ (lanes >> 8 * unit) & mask).to_bytes(len(raw), "little")


def _pair_keys(norm: str) -> tuple[set[int], int]:
    """The 2-character shingles of *norm* as integer keys, and the code unit size they
    were made with: the UTF-16 code units of the pair (UTF-32 when the text has characters
    beyond the BMP) read as one little-endian integer, the first unit XORed with the second
    (C loops, no string per window; mixed, the pairs of one first character spread over the
    slots of the set and of the cache instead of piling up in a few). The keys of the two
    sizes differ: a UTF-16 key is below 2**32, a UTF-32 one is not."""
    n = len(norm)
    raw = norm.encode("utf-16-le", "surrogatepass")
    unit = 2
    if len(raw) != 2 * n:  # surrogate pairs
        raw = norm.encode("utf-32-le", "surrogatepass")
        unit = 4
    # The windows at even offsets, then those at odd ones.
    windows = raw[: 2 * unit * (n // 2)] + raw[unit : unit + 2 * unit * ((n - 1) // 2)]
    return set(array(_PAIR_TYPECODES[unit], _mix(windows, unit))), unit


def _pairs_of(keys: list[int], unit: int) -> list[str]:
    """The shingles of pair keys (see :func:`_pair_keys`), in order: the same steps back."""
    raw = _mix(array(_PAIR_TYPECODES[unit], keys).tobytes(), unit)
    return _PAIR_RE.findall(raw.decode(_ENCODINGS[unit], "surrogatepass"))


def _windows(norm: str, k: int) -> set[str]:
    """The set of overlapping *k*-character windows of *norm* (the whole text when shorter than *k*)."""
    if len(norm) <= k:
        return {norm}
    if k == 1:
        return set(norm)
    windows: Iterable[str] = norm[: len(norm) - k + 1]
    for offset in range(1, k):
        windows = map(operator.add, windows, norm[offset:])
    return set(windows)


def _weighted_digests(shingles: list[str]) -> list[bytes]:
    """Each shingle's BLAKE2b digest (8 bytes), repeated ``DIGIT_WEIGHT`` times when the
    shingle holds a digit (not ``isalpha``): one 8-byte row per unit of weight."""
    # Copying an 8-byte BLAKE2b state is 2-3x faster than constructing one per shingle;
    # the digest itself (one compression) is most of the rest.
    new_state = _BLAKE2B_8.copy
    rows = []
    for shingle in shingles:
        state = new_state()
        state.update(shingle.encode())
        digest = state.digest()
        rows.append(digest if shingle.isalpha() else digest * DIGIT_WEIGHT)
    return rows


def _majority(blob: bytes) -> int:
    """The 64-bit value whose bit *i* is set when more than half of the 8-byte rows of *blob*
    (each read big-endian) have it set.

    The rows' 64 column sums, bit-sliced: the rows as one big integer, folded in half
    again and again, each time adding the upper half's rows to the lower half's with
    a ripple-carry adder on bit planes (plane *j*: bit *j* of every count), down to one
    row; then a bit-sliced comparison with the threshold. A few hundred big-integer
    operations, and no population count.
    """
    total = len(blob) >> 3
    if total == 1:
        return int.from_bytes(blob, "big")
    # The first fold on the bytes: the last *rows* rows (a power of two, at least half of them)
    # and the others above them.
    rows = 1 << ((total - 1).bit_length() - 1)
    cut = len(blob) - (rows << 3)
    a, b = int.from_bytes(blob[cut:], "big"), int.from_bytes(blob[:cut], "big")
    planes = [a ^ b]
    carry = a & b
    while rows > 1:
        planes.append(carry)
        rows >>= 1
        shift = rows << 6
        low = (1 << shift) - 1
        plane = planes[0]
        a, b = plane & low, plane >> shift
        carry = a & b
        planes[0] = a ^ b
        for j in range(1, len(planes)):
            plane = planes[j]
            a, b = plane & low, plane >> shift
            either = a ^ b
            planes[j] = either ^ carry
            carry = (a & b) | (carry & either)
    planes.append(carry)
    # Bit i set when count_i >= total // 2 + 1 (that is, 2 * count_i > total), from the top plane down.
    threshold = (total >> 1) + 1
    above, equal = 0, _ALL_BITS
    for j in range(len(planes) - 1, -1, -1):
        if threshold >> j & 1:
            equal &= planes[j]
        else:
            above |= equal & planes[j]
            equal &= ~planes[j]
    return above | equal


#: ``simhash_pairs(norm, DIGIT_WEIGHT)``: ``_simhash_normalized(norm, 2, None)`` in C, or None
#: (no extension). tests/dedup/test_fingerprint.py checks the two give the same values.
_simhash_pairs: Callable[[str, int], int] | None = _load_extension("simhash_pairs")


#: The module's references to the functions of its C extension (each None: the pure Python runs).
EXTENSION_FUNCTIONS = ("_simhash_pairs", "_alnum_chars", "_raw_figures")


@contextmanager
def pure_python() -> Iterator[None]:
    """For the length of a ``with`` block, this module without its C extension, as where it
    is not built: the pure-Python SimHash, letters and digits, and figures (for the tests and
    benchmarks that compare the two)."""
    names = globals()
    saved = {name: names[name] for name in EXTENSION_FUNCTIONS}
    names.update(dict.fromkeys(EXTENSION_FUNCTIONS))
    try:
        yield
    finally:
        names.update(saved)


def _simhash_normalized(norm: str, k: int, cache: MutableMapping[Any, bytes] | None) -> int:
    if not norm:
        return 0
    # The set of overlapping k-character windows, each as a key of the cache: an int for
    # pairs (see _pair_keys), else the string.
    shingles: set[Any]
    unit = 0
    if k == 2 and len(norm) > 2:
        if _simhash_pairs is not None:
            # All of it in C, the cache unused: hashing a pair there costs less than
            # looking it up here.
            try:
                return _simhash_pairs(norm, DIGIT_WEIGHT)
            except ValueError:  # a surrogate (never in a normalized text): what the Python does
                pass
        shingles, unit = _pair_keys(norm)
    else:
        shingles = _windows(norm, k)
    # key -> the shingle's digest, repeated DIGIT_WEIGHT times when the shingle holds a
    # digit (one 8-byte row per unit of weight).
    if cache is None:
        keys: list[Any] = list(shingles)
        blob = b"".join(_weighted_digests(_pairs_of(keys, unit) if unit else keys))
    else:
        # One look-up per shingle, in a C loop (in a large cache each costs a few cache misses).
        found = list(map(cache.get, shingles))
        try:
            blob = b"".join(cast("list[bytes]", found))  # None (TypeError) for a shingle not in it
        except TypeError:  # some are not in the cache (the common case in a crawl: new names, new figures)
            missing: list[Any] = list(compress(shingles, map(operator.not_, found)))  # the set's order again
            rows = _weighted_digests(_pairs_of(missing, unit) if unit else missing)
            cache.update(zip(missing, rows, strict=True))
            blob = b"".join(chain(filter(None, found), rows))
    return _majority(blob)


def simhash(text: str, k: int = SHINGLE_K, cache: MutableMapping[Any, bytes] | None = None) -> int:
    """64-bit SimHash (unsigned) of the set of *k*-character shingles of the normalized text.

    Each shingle is hashed with BLAKE2b (8 bytes, read big-endian) and weighs
    1, or ``DIGIT_WEIGHT`` when it holds a digit; bit *i* of the result is set
    when the shingles having it set weigh more than half of the total. The
    empty text hashes to 0.

    *cache* (shingle key -> weighted digest, owned and bounded by the caller)
    saves hashing the shingles met before: worth it over many texts. Use one
    cache per *k* (pairs are keyed by an int, longer shingles by the string).
    With the C extension, pairs (``k=2``, texts of 3 characters or more) are
    hashed in C and the cache is neither read nor filled for them.
    """
    if k < 1:
        raise ValueError(f"shingle length must be positive, got {k}")
    return _simhash_normalized(normalize_text(text), k, cache)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The fingerprints of one text, as the store keeps them."""

    #: SHA-256 hex of the normalized text; "" when nothing is left of it (no text: never a duplicate).
    text_hash: str
    #: 64-bit SimHash, or None when the text is shorter than ``NEAR_MIN_CHARS`` (exact matching only).
    simhash: int | None
    #: Length of the normalized text.
    length: int
    #: :func:`figures_digest` of the text's :func:`figures`; None, never near-matched, when
    #: ``simhash`` is (too short, no text) or when unknown (recorded before figures were kept).
    figures: int | None = None


def fingerprint(text: str, cache: MutableMapping[Any, bytes] | None = None) -> Fingerprint:
    """The :class:`Fingerprint` of *text*, normalizing it once (*cache*: see :func:`simhash`)."""
    stripped = _strip_attributions(text)
    norm = _alnum(stripped)
    if not norm:
        return Fingerprint("", None, 0, None)
    digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()
    if len(norm) < NEAR_MIN_CHARS:
        return Fingerprint(digest, None, len(norm), None)
    near = _simhash_normalized(norm, SHINGLE_K, cache)
    return Fingerprint(digest, near, len(norm), figures_digest(_figures(stripped)))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & _MASK64).bit_count()


def is_same_story(a: Fingerprint, b: Fingerprint) -> bool:
    """The duplicate decision on two fingerprints (docs/contract.md "Deduplication"); the store's lookups decide the same way.

    The same normalized text (not empty) at any length; otherwise both at
    least ``NEAR_MIN_CHARS`` normalized characters long, SimHashes within
    ``NEAR_MAX_DISTANCE`` bits and the same figures in the same order (equal
    figures digests, both known).
    """
    if a.text_hash and a.text_hash == b.text_hash:
        return True
    if a.simhash is None or b.simhash is None or a.figures is None or a.figures != b.figures:
        return False
    return hamming(a.simhash, b.simhash) <= NEAR_MAX_DISTANCE


def is_near_duplicate(a_text: str, b_text: str) -> bool:
    """True when *a_text* and *b_text* are the same story (docs/contract.md "Deduplication"): :func:`is_same_story`
    of their fingerprints."""
    return is_same_story(fingerprint(a_text), fingerprint(b_text))
