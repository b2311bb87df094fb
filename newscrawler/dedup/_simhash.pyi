# The optional C extension built from _simhash.c (see setup.py); newscrawler.dedup.fingerprint
# falls back to its pure Python without it.

#: Which BLAKE2b runs: "avx2x4" (four shingles at once, x86-64 with AVX2) or "scalar".
BLAKE2B: str

def simhash_pairs(norm: str, digit_weight: int, /) -> int: ...
