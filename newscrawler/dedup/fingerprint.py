"""Content fingerprints for duplicate detection (docs/contract.md "Deduplication"): pure functions.

Of an article's plain text (:func:`html_to_text` of the body): :func:`text_hash`, the
SHA-256 of the normalized text (equal: the same cleaned text); :func:`simhash`, a
64-bit SimHash of its 2-character shingles (near duplicates: at most
``NEAR_MAX_DISTANCE`` bits apart, texts of ``NEAR_MIN_CHARS`` or more); and
:func:`figures`, the numbers of the text in order, which near duplicates must share
(:func:`is_same_story`). Normalization, parameters and the evidence behind them:
docs/internals.md "Fingerprints: design notes".
"""

from __future__ import annotations

import hashlib
import html
import operator
import re
import sys
import unicodedata
from array import array
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

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
# (COVID-19, 2022-04-21: a hyphen, not a sign).
_SIGNED_FIGURE_RE = re.compile(r"(?:(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])[-−－﹣])?\d+(?:[.．]\d+)?")
# The same for the many texts without a minus sign or hyphen (twice as fast).
_FIGURE_RE = re.compile(r"\d+(?:[.．]\d+)?")
_MINUS_SIGNS = "-−－﹣"
_ALNUM_RUN_RE = re.compile(r"[^\W_]+")
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
        text = _SOURCE_RE.sub("", text)
    if "编辑" in text or "校对" in text or "审校" in text:
        text = _EDITOR_RE.sub("", text)
    return text


def _alnum(text: str) -> str:
    """The letters and digits of *text*, NFKC, lower case (the rest of :func:`normalize_text`)."""
    # Joining the runs of letters and digits is faster than deleting the many short gaps.
    text = "".join(_ALNUM_RUN_RE.findall(text))
    # NFKC on what is left (full-width letters and digits, compatibility forms);
    # CJK text usually is NFKC already, and the check is much cheaper than the normalization.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    # NFKC and lower casing may leave a few non-alphanumerics (1/2 -> "1⁄2", "İ" -> "i" + combining dot).
    return text if text.isalnum() else _NOT_ALNUM_RE.sub("", text)


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


def _figures(stripped: str) -> tuple[str, ...]:
    signed = "-" in stripped or "−" in stripped or "－" in stripped or "﹣" in stripped
    found: list[str] = (_SIGNED_FIGURE_RE if signed else _FIGURE_RE).findall(stripped)
    # Most texts need neither of these steps: one check of all the figures at once.
    if not "".join(found).isascii():
        found = [raw if raw.isascii() else _ascii_figure(raw) for raw in found]
    if max(map(len, found), default=0) >= 18:
        found = [value for value in found if len(value) != 18 or not is_code(value)]
    return tuple(found)


def _ascii_figure(raw: str) -> str:
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else "-" if char in _MINUS_SIGNS else "."
        for char in raw
    )


def figures_digest(values: Iterable[str]) -> int:
    """64-bit digest (unsigned) of a sequence of figures: BLAKE2b (8 bytes, big-endian) of
    the figures joined by commas; equal digests mean the same figures in the same order."""
    return int.from_bytes(hashlib.blake2b(",".join(values).encode("ascii"), digest_size=8).digest(), "big")


def _pair_keys(norm: str) -> set[int]:
    """The 2-character shingles of *norm* as 64-bit keys: the UTF-32 code units of the
    pair read as one native integer (a C loop, no string per window)."""
    raw = norm.encode("utf-32-le", "surrogatepass")  # 4 bytes a character
    n = len(norm)
    keys = set(array("Q", raw[: 8 * (n // 2)]))  # windows at even offsets
    keys.update(array("Q", raw[4 : 4 + 8 * ((n - 1) // 2)]))  # and at odd ones
    return keys


def _pair_of(key: int) -> str:
    return key.to_bytes(8, sys.byteorder).decode("utf-32-le", "surrogatepass")


def _simhash_normalized(norm: str, k: int, cache: MutableMapping[Any, bytes] | None) -> int:
    if not norm:
        return 0
    # The set of overlapping k-character windows (the whole text when shorter than k),
    # each as a key of the cache: an int for pairs (see _pair_keys), else the string.
    shingle_of: Callable[[Any], str]
    if k == 2 and len(norm) > 2:
        shingles: set[Any] = _pair_keys(norm)
        shingle_of = _pair_of
    elif len(norm) > k:
        windows: Iterable[str] = norm[: len(norm) - k + 1]
        for offset in range(1, k):
            windows = map(operator.add, windows, norm[offset:])
        shingles = set(windows)
        shingle_of = str
    else:
        shingles = {norm}
        shingle_of = str
    # key -> the shingle's digest, repeated DIGIT_WEIGHT times when the shingle holds a
    # digit (one 8-byte row per unit of weight).
    weighted: MutableMapping[Any, bytes] = cache if cache is not None else {}
    # Copying an 8-byte BLAKE2b state is 2-3x faster than constructing one per shingle.
    new_state = hashlib.blake2b(digest_size=8).copy
    # (set.difference with a dict looks each shingle up: it does not walk the cache.)
    for key in shingles.difference(weighted):
        shingle = shingle_of(key)
        state = new_state()
        state.update(shingle.encode("utf-8"))
        weighted[key] = state.digest() if shingle.isalpha() else state.digest() * DIGIT_WEIGHT
    blob = b"".join(map(weighted.__getitem__, shingles))
    total = len(blob) // 8
    # Weighted column sums of the (total x 64) bit matrix of the rows: for each
    # byte position, that byte of every row as one big integer, masked to one
    # bit per byte and popcounted.
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


def simhash(text: str, k: int = SHINGLE_K, cache: MutableMapping[Any, bytes] | None = None) -> int:
    """64-bit SimHash (unsigned) of the set of *k*-character shingles of the normalized text.

    Each shingle is hashed with BLAKE2b (8 bytes, read big-endian) and weighs
    1, or ``DIGIT_WEIGHT`` when it holds a digit; bit *i* of the result is set
    when the shingles having it set weigh more than half of the total. The
    empty text hashes to 0.

    *cache* (shingle key -> weighted digest, owned and bounded by the caller)
    saves hashing the shingles met before: worth it over many texts. Use one
    cache per *k* (pairs are keyed by an int, longer shingles by the string).
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
