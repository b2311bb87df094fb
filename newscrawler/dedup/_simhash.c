/* The SimHash of newscrawler.dedup.fingerprint for 2-character shingles, and its scans for
 * letters and digits and for figures, in C.
 *
 * simhash_pairs(norm, DIGIT_WEIGHT) gives what the pure-Python _simhash_normalized(norm, 2,
 * None) gives, bit for bit: the set of distinct 2-character windows of norm (the whole text
 * when it is shorter than 2 characters), each hashed with BLAKE2b (8-byte digest, no key) of
 * its UTF-8 encoding and read big-endian, weighing 1 when both characters are alphabetic
 * (str.isalpha: Py_UNICODE_ISALPHA of each character) and DIGIT_WEIGHT otherwise; bit i
 * of the result is set when twice the weight of the shingles having it set exceeds the
 * total weight. A text holding a surrogate code point (which UTF-8 cannot encode: the pure
 * Python raises) is refused with ValueError, and so is a weight outside 1..255.
 *
 * And two scans of a text, each in one pass over it where the pure Python takes several:
 * alnum_chars(text), the letters and digits of text (fingerprint._alnum_runs: the characters
 * of [^\W_] in re, str.isalnum), and raw_figures(text), its figures as written with their
 * minus signs (fingerprint._find_figures: _FIGURE_RE and _sign_positions). Both decide a
 * character's class with CPython's own predicates, as re does (so by the running Python's
 * Unicode database), and take any str (surrogates, NUL, every kind).
 * tests/dedup/test_fingerprint.py checks all three against the pure Python.
 *
 * BLAKE2b: a compact version of the reference implementation by Jean-Philippe Aumasson,
 * Samuel Neves, Zooko Wilcox-O'Hearn and Christian Winnerlein (RFC 7693,
 * https://github.com/BLAKE2/BLAKE2, CC0 1.0 / public domain), reduced to what a shingle
 * needs: one message block of at most 8 bytes (a pair of characters is 2-8 bytes of
 * UTF-8), an 8-byte digest, no key.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ BLAKE2b, one short block */

static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};
/* The first word of the state after the parameter block: digest length 8, key length 0,
 * fanout 1, depth 1. */
#define BLAKE2B_8_H0 (0x6a09e667f3bcc908ULL ^ 0x01010008ULL)

/* The compression of the one block of a message of at most 8 bytes, on words of type T: a
 * uint64_t (one message), or a vector of them (one message per lane). The message block is
 * the words m, 0, 0, ... (zero stands for the zero word of type T): each G adds m or zero,
 * and the compiler drops the additions of zero. Defines v0 ... v15 from len (the message
 * length, the counter) and compresses; the digest is then BLAKE2B_8_H0 ^ v0 ^ v8. */
#define ROTR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
#define G(a, b, c, d, x, y)                 \
    do {                                    \
        a = a + b + (x);                    \
        d = ROTR64(d ^ a, 32);              \
        c = c + d;                          \
        b = ROTR64(b ^ c, 24);              \
        a = a + b + (y);                    \
        d = ROTR64(d ^ a, 16);              \
        c = c + d;                          \
        b = ROTR64(b ^ c, 63);              \
    } while (0)
#define W(i) ((i) == 0 ? m : zero)
#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
    do {                                                                             \
        G(v0, v4, v8, v12, W(s0), W(s1));                                            \
        G(v1, v5, v9, v13, W(s2), W(s3));                                            \
        G(v2, v6, v10, v14, W(s4), W(s5));                                           \
        G(v3, v7, v11, v15, W(s6), W(s7));                                           \
        G(v0, v5, v10, v15, W(s8), W(s9));                                           \
        G(v1, v6, v11, v12, W(s10), W(s11));                                         \
        G(v2, v7, v8, v13, W(s12), W(s13));                                          \
        G(v3, v4, v9, v14, W(s14), W(s15));                                          \
    } while (0)
#define BLAKE2B_8_COMPRESS(T, m, len)                                                    \
    const T zero = {0};                                                                  \
    T v0 = zero + BLAKE2B_8_H0, v1 = zero + blake2b_iv[1];                               \
    T v2 = zero + blake2b_iv[2], v3 = zero + blake2b_iv[3];                              \
    T v4 = zero + blake2b_iv[4], v5 = zero + blake2b_iv[5];                              \
    T v6 = zero + blake2b_iv[6], v7 = zero + blake2b_iv[7];                              \
    T v8 = zero + blake2b_iv[0], v9 = zero + blake2b_iv[1];                              \
    T v10 = zero + blake2b_iv[2], v11 = zero + blake2b_iv[3];                            \
    /* the counter (len bytes; its high word 0) and the last-block flag */               \
    T v12 = (zero + blake2b_iv[4]) ^ (len), v13 = zero + blake2b_iv[5];                  \
    T v14 = zero + ~blake2b_iv[6], v15 = zero + blake2b_iv[7];                           \
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);                         \
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);                         \
    ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);                         \
    ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);                         \
    ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);                         \
    ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);                         \
    ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);                         \
    ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);                         \
    ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);                         \
    ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);                         \
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);                         \
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3)

/* The 8 bytes of a little-endian word read big-endian (a byte swap). */
static inline uint64_t
big_endian(uint64_t digest)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) {
        value = (value << 8) | (digest & 0xff);
        digest >>= 8;
    }
    return value;
}

/* BLAKE2b-64 (digest_size=8; no key, salt nor personalization) of a message of len bytes
 * (1 to 8) given as the little-endian word m, read big-endian:
 * int.from_bytes(hashlib.blake2b(message, digest_size=8).digest(), "big"). */
static inline uint64_t
blake2b_8(uint64_t m, uint64_t len)
{
    BLAKE2B_8_COMPRESS(uint64_t, m, len);
    return big_endian(BLAKE2B_8_H0 ^ v0 ^ v8);
}

/* Four at once on x86-64 CPUs with AVX2 (chosen at run time): the same code on vectors of
 * four words (GCC and Clang vector extensions), 2-3 times the speed of one at a time.
 * (-DSIMHASH_SCALAR: one at a time only, to test that code on any CPU.) */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SIMHASH_SCALAR)
#define HAVE_BLAKE2B_8X4 1
#define BLAKE2B_8X4_LANES 4
typedef uint64_t u64x4 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static void
blake2b_8x4(const uint64_t *messages, const uint64_t *lengths, uint64_t *values)
{
    u64x4 m, len;
    memcpy(&m, messages, sizeof m);
    memcpy(&len, lengths, sizeof len);
    BLAKE2B_8_COMPRESS(u64x4, m, len);
    u64x4 digests = v0 ^ v8 ^ BLAKE2B_8_H0;
    memcpy(values, &digests, sizeof digests);
    for (int i = 0; i < 4; i++) {
        values[i] = big_endian(values[i]);
    }
}
#endif

#undef BLAKE2B_8_COMPRESS
#undef ROUND
#undef W
#undef G
#undef ROTR64

/* ------------------------------------------------------------------ shingles */

/* The UTF-8 encoding of the code point c (not a surrogate): its bytes as a little-endian
 * word, and their number in *len. */
static inline uint64_t
utf8(Py_UCS4 c, unsigned *len)
{
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c < 0x800) {
        *len = 2;
        return (0xC0 | (c >> 6)) | (uint64_t)(0x80 | (c & 0x3F)) << 8;
    }
    if (c < 0x10000) {
        *len = 3;
        return (0xE0 | (c >> 12)) | (uint64_t)(0x80 | ((c >> 6) & 0x3F)) << 8
               | (uint64_t)(0x80 | (c & 0x3F)) << 16;
    }
    *len = 4;
    return (0xF0 | (c >> 18)) | (uint64_t)(0x80 | ((c >> 12) & 0x3F)) << 8
           | (uint64_t)(0x80 | ((c >> 6) & 0x3F)) << 16 | (uint64_t)(0x80 | (c & 0x3F)) << 24;
}

static inline int
is_surrogate(Py_UCS4 c)
{
    return c >= 0xD800 && c <= 0xDFFF;
}

/* The weighted column counts: counts[i], the weight of the shingles whose value has bit i
 * set, and total, the weight of all. Added a byte of the value at a time: spread[b] holds
 * bit j of b in byte j, so that lanes[k] += spread[byte k of the value] * weight counts 8
 * columns at once, one per byte, each byte up to 255 before the lanes are emptied into
 * counts. */
typedef struct {
    uint64_t lanes[8];
    uint64_t pending; /* the weight added to the lanes since they were last emptied */
    uint64_t counts[64];
    uint64_t total;
} columns_t;

static uint64_t spread[256];

static void
init_spread(void)
{
    for (int b = 0; b < 256; b++) {
        uint64_t s = 0;
        for (int j = 0; j < 8; j++) {
            if (b >> j & 1) {
                s |= (uint64_t)1 << (8 * j);
            }
        }
        spread[b] = s;
    }
}

static void
columns_flush(columns_t *cols)
{
    for (int k = 0; k < 8; k++) {
        uint64_t lane = cols->lanes[k];
        for (int j = 0; j < 8; j++) {
            cols->counts[8 * k + j] += (lane >> (8 * j)) & 0xff;
        }
        cols->lanes[k] = 0;
    }
    cols->pending = 0;
}

/* The value of a shingle of the given weight (1 to 255) into the counts. */
static inline void
columns_add(columns_t *cols, uint64_t value, uint64_t weight)
{
    if (cols->pending + weight > 255) {
        columns_flush(cols);
    }
    for (int k = 0; k < 8; k++) {
        cols->lanes[k] += spread[(value >> (8 * k)) & 0xff] * weight;
    }
    cols->pending += weight;
    cols->total += weight;
}

/* Bit i set when the shingles with bit i set weigh more than half of the total:
 * 2 * counts[i] > total (fingerprint._majority). */
static uint64_t
columns_majority(columns_t *cols)
{
    columns_flush(cols);
    uint64_t result = 0;
    for (int i = 0; i < 64; i++) {
        if (2 * cols->counts[i] > cols->total) {
            result |= (uint64_t)1 << i;
        }
    }
    return result;
}

/* The shingles met, their digests still to count: hashed four at a time where the CPU can
 * (the order of the additions does not change the counts). */
typedef struct {
    columns_t cols;
    uint64_t digit_weight;
    int x4; /* blake2b_8x4 may run */
    int queued;
    uint64_t messages[4], lengths[4], weights[4];
} shingles_t;

static inline void
shingles_add(shingles_t *sh, uint64_t message, uint64_t len, int alpha)
{
    uint64_t weight = alpha ? 1 : sh->digit_weight;
#ifdef HAVE_BLAKE2B_8X4
    if (sh->x4) {
        int i = sh->queued;
        sh->messages[i] = message;
        sh->lengths[i] = len;
        sh->weights[i] = weight;
        if (i < 3) {
            sh->queued = i + 1;
            return;
        }
        uint64_t values[4];
        blake2b_8x4(sh->messages, sh->lengths, values);
        for (int j = 0; j < 4; j++) {
            columns_add(&sh->cols, values[j], sh->weights[j]);
        }
        sh->queued = 0;
        return;
    }
#endif
    columns_add(&sh->cols, blake2b_8(message, len), weight);
}

/* The result, once every shingle is added: the ones still queued hashed one at a time. */
static uint64_t
shingles_majority(shingles_t *sh)
{
    for (int i = 0; i < sh->queued; i++) {
        columns_add(&sh->cols, blake2b_8(sh->messages[i], sh->lengths[i]), sh->weights[i]);
    }
    sh->queued = 0;
    return columns_majority(&sh->cols);
}

/* The set of the pairs met: open addressing, linear probing, the slots a power of two; a slot
 * holds a pair's key + 1 (0: empty), the key (first << 21) | second (below 2**42). */
static inline int
set_insert(uint64_t *slots, uint64_t mask, unsigned shift, uint64_t key)
{
    uint64_t stored = key + 1;
    uint64_t at = (stored * 0x9E3779B97F4A7C15ULL) >> shift;
    for (;;) {
        uint64_t slot = slots[at];
        if (slot == 0) {
            slots[at] = stored;
            return 1;
        }
        if (slot == stored) {
            return 0;
        }
        at = (at + 1) & mask;
    }
}

/* The distinct pairs of the n (2 or more) code points of data (of the given kind) into sh.
 * slots: 2**bits zeroed slots, at least 2 * (n - 1). Returns -1 at a surrogate, else 0.
 * Needs no GIL. */
static int
add_pairs(shingles_t *sh, int kind, const void *data, Py_ssize_t n, uint64_t *slots, unsigned bits)
{
    const uint64_t mask = ((uint64_t)1 << bits) - 1;
    const unsigned shift = 64 - bits;
    Py_UCS4 prev = PyUnicode_READ(kind, data, 0);
    if (is_surrogate(prev)) {
        return -1;
    }
    int prev_alpha = Py_UNICODE_ISALPHA(prev);
    for (Py_ssize_t i = 1; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_surrogate(c)) {
            return -1;
        }
        int alpha = Py_UNICODE_ISALPHA(c);
        if (set_insert(slots, mask, shift, ((uint64_t)prev << 21) | c)) {
            unsigned first_len, second_len;
            uint64_t first = utf8(prev, &first_len), second = utf8(c, &second_len);
            shingles_add(sh, first | second << (8 * first_len), first_len + second_len,
                         prev_alpha && alpha);
        }
        prev = c;
        prev_alpha = alpha;
    }
    return 0;
}

/* ------------------------------------------------------------------ letters, digits and figures */

/* Two character classes of the re module on str patterns, as bitmaps of the BMP filled at
 * import from CPython's own predicates (so those of the running Python's Unicode database,
 * whatever its version): [^\W_], a letter or digit (sre's \w is Py_UNICODE_ISALNUM or '_';
 * the same as str.isalnum of the character), and \d, a decimal digit (sre's \d is
 * Py_UNICODE_ISDECIMAL; str.isdecimal). One bit test per character instead of up to four
 * calls; the characters beyond the BMP (rare) take the calls. A surrogate code point is in
 * neither (category Cs). */
static uint64_t alnum_bmp[0x10000 / 64];
static uint64_t decimal_bmp[0x10000 / 64];

static void
init_classes(void)
{
    for (Py_UCS4 c = 0; c < 0x10000; c++) {
        if (Py_UNICODE_ISALNUM(c)) {
            alnum_bmp[c >> 6] |= (uint64_t)1 << (c & 63);
        }
        if (Py_UNICODE_ISDECIMAL(c)) {
            decimal_bmp[c >> 6] |= (uint64_t)1 << (c & 63);
        }
    }
}

static inline int
is_alnum(Py_UCS4 c)
{
    if (c < 0x10000) {
        return (int)(alnum_bmp[c >> 6] >> (c & 63) & 1);
    }
    return Py_UNICODE_ISALNUM(c) ? 1 : 0;
}

static inline int
is_decimal(Py_UCS4 c)
{
    if (c < 0x10000) {
        return (int)(decimal_bmp[c >> 6] >> (c & 63) & 1);
    }
    return Py_UNICODE_ISDECIMAL(c) ? 1 : 0;
}

/* The minus signs of figures (fingerprint._MINUS_SIGNS: U+002D, U+2212, U+FE63, U+FF0D). */
static inline int
is_minus_sign(Py_UCS4 c)
{
    return c == '-' || c == 0x2212 || c == 0xFE63 || c == 0xFF0D;
}

/* The decimal points of figures ([.\uFF0E] of fingerprint._FIGURE_RE). */
static inline int
is_decimal_point(Py_UCS4 c)
{
    return c == '.' || c == 0xFF0E;
}

/* The characters after which a minus sign is a hyphen (fingerprint._NOT_BEFORE_SIGN): the
 * ASCII Latin letters and digits and their full-width forms (U+FF10-U+FF5A, those of U+0030
 * to U+007A). */
static inline int
is_before_hyphen(Py_UCS4 c)
{
    if (c >= 0xFF10 && c <= 0xFF5A) {
        c -= 0xFF10 - 0x30;
    }
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The letters and digits of the n code points of data (of the given kind) copied to out (room
 * for n code points of that kind), in order; returns their number. Needs no GIL. */
static inline Py_ssize_t
keep_alnum_of_kind(int kind, const void *data, Py_ssize_t n, void *out)
{
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        /* written in any case, kept (the next one written after it) when alphanumeric: no
         * branch to mispredict (out[kept] is within out: kept <= i) */
        PyUnicode_WRITE(kind, out, kept, c);
        kept += is_alnum(c);
    }
    return kept;
}

/* keep_alnum_of_kind, one loop per kind (PyUnicode_READ of a constant kind is one load). */
static Py_ssize_t
keep_alnum(int kind, const void *data, Py_ssize_t n, void *out)
{
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        return keep_alnum_of_kind(PyUnicode_1BYTE_KIND, data, n, out);
    case PyUnicode_2BYTE_KIND:
        return keep_alnum_of_kind(PyUnicode_2BYTE_KIND, data, n, out);
    default:
        return keep_alnum_of_kind(PyUnicode_4BYTE_KIND, data, n, out);
    }
}

/* The figures of the n code points of data (of the given kind), in order, as what
 * fingerprint._find_figures finds: each run of decimal digits with its decimal part
 * (_FIGURE_RE: a point and one digit or more; "1." and "1.x" end at the 1, "1.2.3" is 1.2 and
 * 3), and with the minus sign right before it unless that sign follows a Latin letter or
 * digit (_sign_positions: a sign is neither a digit nor a point, so it ends the figure before
 * it, and the next figure starts right after it). Figure k is [bounds[2k], bounds[2k + 1]);
 * returns their number. bounds: room for n + 1 (the digits of one figure and the next are at
 * least one character apart, so there are at most (n + 1) / 2 figures). Needs no GIL. */
static inline Py_ssize_t
find_figures_of_kind(int kind, const void *data, Py_ssize_t n, Py_ssize_t *bounds)
{
#define AT(i) PyUnicode_READ(kind, data, (i))
    Py_ssize_t count = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_decimal(AT(i))) {
            i++;
            continue;
        }
        /* the digits */
        Py_ssize_t start = i;
        do {
            i++;
        } while (i < n && is_decimal(AT(i)));
        /* the decimal part: a point followed by a digit, and the digits */
        if (i + 1 < n && is_decimal_point(AT(i)) && is_decimal(AT(i + 1))) {
            i += 2;
            while (i < n && is_decimal(AT(i))) {
                i++;
            }
        }
        /* the sign: a minus sign right before the digits, first in the text or after a
         * character that does not make it a hyphen */
        if (start > 0 && is_minus_sign(AT(start - 1))
            && (start == 1 || !is_before_hyphen(AT(start - 2)))) {
            start--;
        }
        bounds[2 * count] = start;
        bounds[2 * count + 1] = i;
        count++;
    }
    return count;
#undef AT
}

/* find_figures_of_kind, one loop per kind. */
static Py_ssize_t
find_figures(int kind, const void *data, Py_ssize_t n, Py_ssize_t *bounds)
{
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        return find_figures_of_kind(PyUnicode_1BYTE_KIND, data, n, bounds);
    case PyUnicode_2BYTE_KIND:
        return find_figures_of_kind(PyUnicode_2BYTE_KIND, data, n, bounds);
    default:
        return find_figures_of_kind(PyUnicode_4BYTE_KIND, data, n, bounds);
    }
}

/* ------------------------------------------------------------------ the module */

/* Whether blake2b_8x4 may run on this CPU (set once, at import). */
static int cpu_has_avx2 = 0;

/* Slots of the set on the stack (32 KiB): enough for texts of up to 2,049 characters. */
#define STACK_SLOTS 4096

PyDoc_STRVAR(simhash_pairs_doc,
"simhash_pairs(norm, digit_weight, /)\n"
"--\n"
"\n"
"64-bit SimHash (unsigned) of the set of 2-character shingles of norm (a normalized text;\n"
"the whole text when shorter than 2 characters, 0 when empty): BLAKE2b (8 bytes, read\n"
"big-endian) of each shingle's UTF-8, weighing 1 when the shingle isalpha() and\n"
"digit_weight (1 to 255) otherwise; bit i set when the shingles having it weigh more than\n"
"half of the total. ValueError for a text holding a surrogate code point.");

/* Check that text, argument `which` (" 1", or "" for the only one) of the function fn, is a
 * str ready to be read: 0, or -1 with the exception set. */
static int
text_argument(PyObject *text, const char *fn, const char *which)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s() argument%s must be str, not %.100s", fn, which,
                     Py_TYPE(text)->tp_name);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) { /* a no-op since 3.12 */
        return -1;
    }
#endif
    return 0;
}

static PyObject *
simhash_pairs(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "simhash_pairs() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *norm = args[0];
    if (text_argument(norm, "simhash_pairs", " 1") < 0) {
        return NULL;
    }
    long weight = PyLong_AsLong(args[1]);
    if (weight == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (weight < 1 || weight > 255) {
        PyErr_SetString(PyExc_ValueError, "simhash_pairs() digit_weight must be from 1 to 255");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(norm);
    int kind = PyUnicode_KIND(norm);
    const void *data = PyUnicode_DATA(norm);
    if (n == 0) {
        return PyLong_FromUnsignedLongLong(0);
    }

    shingles_t sh;
    memset(&sh, 0, sizeof sh);
    sh.digit_weight = (uint64_t)weight;
    if (n == 1) { /* the one shingle: the text */
        Py_UCS4 c = PyUnicode_READ(kind, data, 0);
        if (is_surrogate(c)) {
            goto surrogate;
        }
        unsigned len;
        uint64_t message = utf8(c, &len);
        shingles_add(&sh, message, len, Py_UNICODE_ISALPHA(c));
        return PyLong_FromUnsignedLongLong(shingles_majority(&sh));
    }
    sh.x4 = cpu_has_avx2;

    /* The slots: the smallest power of two at least 2 * (n - 1), 16 or more. */
    unsigned bits = 4;
    while (((size_t)1 << bits) < 2 * (size_t)(n - 1)) {
        bits++;
    }
    size_t slot_count = (size_t)1 << bits;
    uint64_t stack_slots[STACK_SLOTS];
    uint64_t *slots = stack_slots;
    if (slot_count > STACK_SLOTS) {
        slots = PyMem_RawCalloc(slot_count, sizeof(uint64_t));
        if (slots == NULL) {
            return PyErr_NoMemory();
        }
    }
    else {
        memset(slots, 0, slot_count * sizeof(uint64_t));
    }
    int status;
    uint64_t value = 0;
    Py_BEGIN_ALLOW_THREADS
    status = add_pairs(&sh, kind, data, n, slots, bits);
    if (status == 0) {
        value = shingles_majority(&sh);
    }
    Py_END_ALLOW_THREADS
    if (slots != stack_slots) {
        PyMem_RawFree(slots);
    }
    if (status < 0) {
        goto surrogate;
    }
    return PyLong_FromUnsignedLongLong(value);

surrogate:
    PyErr_SetString(PyExc_ValueError, "simhash_pairs() text holds a surrogate code point");
    return NULL;
}

/* The output of alnum_chars on the stack (16 KiB): enough for texts of up to 4,096
 * characters of any kind. */
#define STACK_CHARS 4096

PyDoc_STRVAR(alnum_chars_doc,
"alnum_chars(text, /)\n"
"--\n"
"\n"
"The letters and digits of text, in order: its characters c with c.isalnum(), which are those\n"
"matching [^\\W_] in a str pattern of re (\"\".join(re.findall(r\"[^\\W_]+\", text))); text\n"
"itself when it holds nothing else. A surrogate code point is neither a letter nor a digit.");

static PyObject *
alnum_chars(PyObject *module, PyObject *text)
{
    (void)module;
    if (text_argument(text, "alnum_chars", "") < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);

    /* The characters kept, of the kind of text (the result's kind may be smaller: made by
     * PyUnicode_FromKindAndData, which finds it). */
    Py_UCS4 stack_out[STACK_CHARS];
    void *out = stack_out;
    size_t size = (size_t)n * (size_t)kind;
    if (size > sizeof stack_out) {
        out = PyMem_RawMalloc(size);
        if (out == NULL) {
            return PyErr_NoMemory();
        }
    }
    Py_ssize_t kept;
    Py_BEGIN_ALLOW_THREADS
    kept = keep_alnum(kind, data, n, out);
    Py_END_ALLOW_THREADS
    PyObject *result;
    if (kept == n && PyUnicode_CheckExact(text)) { /* nothing dropped (or nothing there) */
        result = Py_NewRef(text);
    }
    else {
        result = PyUnicode_FromKindAndData(kind, out, kept);
    }
    if (out != stack_out) {
        PyMem_RawFree(out);
    }
    return result;
}

/* The bounds of raw_figures on the stack (16 KiB): enough for texts of up to 2,047 characters. */
#define STACK_BOUNDS 2048

PyDoc_STRVAR(raw_figures_doc,
"raw_figures(text, /)\n"
"--\n"
"\n"
"The figures of text as written, in order (a new list): newscrawler.dedup.fingerprint's\n"
"_find_figures(text). Each is a run of decimal digits (str.isdecimal, the \\d of re) with its\n"
"decimal part (a point, '.' or U+FF0E, and one digit or more), and with the minus sign\n"
"('-', U+2212, U+FE63 or U+FF0D) right before it unless that sign follows an ASCII or\n"
"full-width Latin letter or digit (a hyphen: COVID-19, 2022-04-21).");

static PyObject *
raw_figures(PyObject *module, PyObject *text)
{
    (void)module;
    if (text_argument(text, "raw_figures", "") < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);

    /* The figures' bounds found without the GIL, then their strings made with it. */
    Py_ssize_t stack_bounds[STACK_BOUNDS];
    Py_ssize_t *bounds = stack_bounds;
    if (n + 1 > STACK_BOUNDS) {
        bounds = PyMem_RawMalloc(((size_t)n + 1) * sizeof(Py_ssize_t));
        if (bounds == NULL) {
            return PyErr_NoMemory();
        }
    }
    Py_ssize_t count;
    Py_BEGIN_ALLOW_THREADS
    count = find_figures(kind, data, n, bounds);
    Py_END_ALLOW_THREADS
    PyObject *found = PyList_New(count);
    for (Py_ssize_t k = 0; found != NULL && k < count; k++) {
        PyObject *figure = PyUnicode_Substring(text, bounds[2 * k], bounds[2 * k + 1]);
        if (figure == NULL) {
            Py_CLEAR(found);
            break;
        }
        PyList_SET_ITEM(found, k, figure);
    }
    if (bounds != stack_bounds) {
        PyMem_RawFree(bounds);
    }
    return found;
}

static PyMethodDef simhash_methods[] = {
    {"simhash_pairs", (PyCFunction)(void (*)(void))simhash_pairs, METH_FASTCALL, simhash_pairs_doc},
    {"alnum_chars", alnum_chars, METH_O, alnum_chars_doc},
    {"raw_figures", raw_figures, METH_O, raw_figures_doc},
    {NULL, NULL, 0, NULL},
};

static int
simhash_exec(PyObject *module)
{
    init_spread();
    init_classes();
    const char *blake2b = "scalar";
#ifdef HAVE_BLAKE2B_8X4
    __builtin_cpu_init();
    cpu_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    if (cpu_has_avx2) {
        blake2b = "avx2x4";
    }
#endif
    /* Which BLAKE2b runs: for the tests, and the figures of bench/bench_fingerprint.py. */
    return PyModule_AddStringConstant(module, "BLAKE2B", blake2b);
}

static PyModuleDef_Slot simhash_slots[] = {
    {Py_mod_exec, (void *)simhash_exec},
    {0, NULL},
};

static struct PyModuleDef simhash_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "newscrawler.dedup._simhash",
    .m_doc = "The SimHash of 2-character shingles, the letters and digits of a text and its figures, "
             "in C (see newscrawler.dedup.fingerprint).",
    .m_size = 0,
    .m_methods = simhash_methods,
    .m_slots = simhash_slots,
};

PyMODINIT_FUNC
PyInit__simhash(void)
{
    return PyModuleDef_Init(&simhash_module);
}
