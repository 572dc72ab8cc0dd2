#!/usr/bin/env python3
"""Generate the Unicode tables of the NFC path check from Python's unicodedata.

Writes two files:

- crates/linkgate-core/src/nfc_tables.rs: the tables `crates/linkgate-core/src/nfc.rs` searches (canonical
  combining classes, NFC_QC=No and NFC_QC=Maybe code points, the primary
  composition pairs, and the combining class a primary composite's canonical
  decomposition ends with);
- tests/nfc/cases.json: the test oracle's data. Per-character data for a small
  alphabet and everything it composes into (full canonical decomposition,
  combining class, compositions), from which tests/properties.rs builds an
  independent NFC normalizer, and the verdict of unicodedata.is_normalized on
  every string of up to two characters of that alphabet and on 800 longer
  ones. `chars` maps a character to [combining class, NFD].

The Unicode version is Python's (unicodedata.unidata_version); it is written
into both files. Regenerate after a Python upgrade and review the diff:

    python3 scripts/gen-nfc-tables.py              write both files
    python3 scripts/gen-nfc-tables.py --check      exit 1 if they are stale
    python3 scripts/gen-nfc-tables.py --self-test  check the acceptance rule of
        crates/linkgate-core/src/nfc.rs, run in Python on these tables, against
        unicodedata.is_normalized on every character, every starter that
        composes or decomposes followed by every Maybe character, and random
        strings (a few seconds; nothing is written)

Standard library only.
"""

import itertools
import json
import os
import random
import sys
import unicodedata as ud

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = os.path.join(ROOT, "crates", "linkgate-core", "src", "nfc_tables.rs")
CASES = os.path.join(ROOT, "tests", "nfc", "cases.json")

# Hangul syllables compose algorithmically (Unicode §3.12); nfc.rs does that
# in code, so they are left out of the pair table.
S_BASE, S_COUNT = 0xAC00, 11172


def nfc(s):
    return ud.normalize("NFC", s)


def nfd(s):
    return ud.normalize("NFD", s)


def all_chars():
    return (chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def is_hangul_syllable(cp):
    return S_BASE <= cp < S_BASE + S_COUNT


def primary_pair(c):
    """(A, B) if c is a primary composite with the two-character canonical
    decomposition A B (NFC(A B) == c), else None. Hangul syllables included."""
    cp = ord(c)
    if is_hangul_syllable(cp):
        d = nfd(c)  # L V or L V T; the pairwise decomposition is L+V or LV+T
        pair = (d[0], d[1]) if len(d) == 2 else (nfc(d[:2]), d[2])
    else:
        d = ud.decomposition(c)
        if not d or d.startswith("<"):
            return None  # none, or a compatibility decomposition
        parts = [chr(int(p, 16)) for p in d.split()]
        if len(parts) != 2:
            return None  # a singleton: NFC_QC=No
        pair = (parts[0], parts[1])
    return pair if nfc(pair[0] + pair[1]) == c else None


def ranges(cps):
    """Sorted code points -> [[first, last], ...] of consecutive runs."""
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def class_ranges(pairs):
    """Sorted (code point, ccc) -> [[first, last, ccc], ...] of runs of one class."""
    out = []
    for cp, k in sorted(pairs):
        if out and out[-1][1] == cp - 1 and out[-1][2] == k:
            out[-1][1] = cp
        else:
            out.append([cp, cp, k])
    return out


class Data:
    """Everything the tables are made of, with the facts nfc.rs relies on asserted."""

    def __init__(self):
        self.ccc = {}  # code point -> class, for class != 0
        self.no = set()  # NFC_QC=No
        self.maybe = set()  # NFC_QC=Maybe
        self.pairs = {}  # (A, B) -> composite, Hangul included
        for c in all_chars():
            cp = ord(c)
            k = ud.combining(c)
            if k:
                self.ccc[cp] = k
            if nfc(c) != c:
                self.no.add(cp)
            p = primary_pair(c)
            if p:
                self.pairs[(ord(p[0]), ord(p[1]))] = cp
                self.maybe.add(ord(p[1]))
        # The last character of a composite's full canonical decomposition is
        # its pair's B (asserted below), so B's class is the one a following
        # mark would be reordered against.
        self.tail_ccc = {x: self.ccc[b] for (a, b), x in self.pairs.items() if b in self.ccc}
        assert not self.no & self.maybe, "a Maybe character is also No"
        for (a, b), x in self.pairs.items():
            assert nfd(chr(b)) == chr(b), f"U+{b:04X} decomposes"
            assert nfd(chr(x))[-1] == chr(b), f"U+{x:04X} does not end in U+{b:04X}"
            assert a not in self.ccc, f"U+{a:04X} is a non-starter first element"
        # A character in NFC whose decomposition starts with a Maybe character
        # would let the character before it recompose with that one.
        for c in all_chars():
            d = nfd(c)
            assert d == c or nfc(c) != c or ord(d[0]) not in self.maybe, f"U+{ord(c):04X}"
        self.first_interesting = min(min(self.ccc), min(self.no), min(self.maybe))


# --- crates/linkgate-core/src/nfc_tables.rs ---------------------------------------------------


def rust_tables(data):
    version = ud.unidata_version
    pairs = sorted(p for p in data.pairs if not is_hangul_syllable(data.pairs[p]))
    lines = [
        "// @generated by scripts/gen-nfc-tables.py from Python's unicodedata,",
        f"// Unicode {version}. Do not edit by hand; regenerate with",
        "//     python3 scripts/gen-nfc-tables.py",
        "// and review the diff (`--check` tells whether this file is stale).",
        "",
        "//! Unicode data for the NFC check of canonical paths ([`super::nfc`]).",
        "//! Every table is sorted by code point and its ranges are disjoint, for",
        "//! binary search. Each comes in two parts, to keep the worker's wasm",
        "//! small: `_BMP` (almost every entry) with 16-bit code points, and",
        "//! `_ASTRAL` (above U+FFFF) with 32-bit ones. The BMP composition pairs",
        "//! are stored as two columns, sorted as pairs.",
        "",
        "/// The Unicode version these tables were generated from.",
        f'pub const UNICODE_VERSION: &str = "{version}";',
        "",
        "/// Below this code point every character is a starter (class 0) with",
        "/// NFC_QC=Yes: none of the tables below holds a smaller one.",
        f"pub const FIRST_INTERESTING: u32 = 0x{data.first_interesting:04X};",
        "",
    ]

    def table(doc, decl, rows):
        lines.extend(f"/// {d}" for d in doc)
        one_line = f"pub static {decl} = &[{', '.join(rows)}];"
        if len(one_line) <= 120:  # as rustfmt would have it (rustfmt.toml)
            lines.append(one_line)
        else:
            lines.append(f"pub static {decl} = &[")
            lines.extend(f"    {r}," for r in rows)
            lines.append("];")
        lines.append("")

    def column(doc, decl, items):
        # Short literals, several to a line, as rustfmt lays them out.
        assert all(len(i) <= 10 for i in items)
        lines.extend(f"/// {d}" for d in doc)
        lines.append(f"pub static {decl} = &[")
        line = ""
        for i in items:
            if line and len(f"    {line} {i},") > 120:
                lines.append(f"    {line}")
                line = ""
            line = f"{line} {i}," if line else f"{i},"
        lines.append(f"    {line}")
        lines.append("];")
        lines.append("")

    # Every table is split in two: the BMP (all but a few entries) with u16
    # code points, and the rest with u32. Ranges never straddle U+FFFF.
    def split(rows, key=lambda r: r[0]):
        return [r for r in rows if key(r) <= 0xFFFF], [r for r in rows if key(r) > 0xFFFF]

    def range_tables(name, doc, rs):
        assert not any(a <= 0xFFFF < b for a, b in rs), f"{name}: a range straddles U+FFFF"
        bmp, astral = split(rs)
        table(doc, f"{name}_BMP: &[(u16, u16)]", [f"(0x{a:04X}, 0x{b:04X})" for a, b in bmp])
        table(
            [f"As [`{name}_BMP`], above the BMP."],
            f"{name}_ASTRAL: &[(u32, u32)]",
            [f"(0x{a:04X}, 0x{b:04X})" for a, b in astral],
        )

    def class_tables(name, doc, rs):
        # (first, span, class): first..=first + span, span fitting a u8.
        assert not any(a <= 0xFFFF < b for a, b, _ in rs), f"{name}: a range straddles U+FFFF"
        assert all(b - a <= 0xFF for a, b, _ in rs), f"{name}: a range longer than 256"
        bmp, astral = split(rs)
        table(doc, f"{name}_BMP: &[(u16, u8, u8)]", [f"(0x{a:04X}, {b - a}, {k})" for a, b, k in bmp])
        table(
            [f"As [`{name}_BMP`], above the BMP."],
            f"{name}_ASTRAL: &[(u32, u8, u8)]",
            [f"(0x{a:04X}, {b - a}, {k})" for a, b, k in astral],
        )

    class_tables(
        "CCC",
        [
            "Canonical combining class: `(first, span, class)` for every class other",
            "than 0, where `first..=first + span` all have `class`.",
        ],
        class_ranges(data.ccc.items()),
    )
    range_tables(
        "NFC_QC_NO",
        [
            "NFC_QC=No, `(first, last)`: characters that never occur in NFC text",
            "(`NFC(c) != c`: singletons, composition exclusions, non-starter",
            "decompositions).",
        ],
        ranges(data.no),
    )
    range_tables(
        "NFC_QC_MAYBE",
        [
            "NFC_QC=Maybe, `(first, last)`: the second character B of every primary",
            "composite's canonical decomposition A B (Hangul vowels and trailing",
            "consonants included); B may compose with the character before it.",
        ],
        ranges(data.maybe),
    )
    bmp, astral = split(pairs, key=lambda p: max(p))
    # Two columns rather than (A, B) rows: the A column, sorted with repeats,
    # and the B column, which has few distinct values, both compress well.
    column(
        [
            "The primary composition pairs `(A, B)` of two BMP characters, sorted:",
            "`NFC(A B)` is one character. This is the column of the A characters;",
            "[`COMPOSITIONS_BMP_B`] holds each pair's B. Hangul syllables (L+V,",
            "LV+T) are composed in code instead.",
        ],
        "COMPOSITIONS_BMP_A: &[u16]",
        [f"0x{a:04X}" for a, _ in bmp],
    )
    column(
        ["The B characters of [`COMPOSITIONS_BMP_A`]'s pairs, row for row."],
        "COMPOSITIONS_BMP_B: &[u16]",
        [f"0x{b:04X}" for _, b in bmp],
    )
    table(
        ["The other primary composition pairs `(A, B)`, sorted."],
        "COMPOSITIONS_ASTRAL: &[(u32, u32)]",
        [f"(0x{a:04X}, 0x{b:04X})" for a, b in astral],
    )
    class_tables(
        "COMPOSITE_TAIL_CCC",
        [
            "Primary composites whose canonical decomposition ends in a non-starter,",
            "with that non-starter's class: `(first, span, class)`, where the",
            "composites `first..=first + span` all end in `class`. A following mark",
            "of a lower class would be reordered into the decomposition.",
        ],
        class_ranges(data.tail_ccc.items()),
    )
    return "\n".join(lines).rstrip("\n") + "\n"


# --- tests/nfc/cases.json -----------------------------------------------------

# The property test's alphabet (tests/properties.rs draws from the same list).
ALPHABET = (
    "ae/AqZ"  # a sample of ASCII letters (the property test uses all of them)
    "\u00e9"  # é, precomposed (NFC)
    "\u0301"  # combining acute, class 230, Maybe
    "\u0323"  # combining dot below, class 220, Maybe
    "\u0bbe"  # Tamil vowel sign AA, a Maybe starter
    "\u0bc6"  # Tamil vowel sign E (0BC6 0BBE -> 0BCA)
    "\u0b95"  # Tamil KA (KA + AA is the common syllable கா, NFC)
    "\u1100"  # Hangul choseong kiyeok (L)
    "\u1161"  # Hangul jungseong a (V, Maybe)
    "\u11a8"  # Hangul jongseong kiyeok (T, Maybe)
    "\uac00"  # Hangul syllable GA (LV)
    "\uac01"  # Hangul syllable GAG (LVT)
    "\u212b"  # ANGSTROM SIGN, NFC_QC=No (-> U+00C5)
    "\u00c5"  # Å
    "\u1eb9"  # ẹ: e + dot below (ends in class 220)
    "\u1e69"  # ṩ: s + dot below + dot above (ends in class 230)
)
# Cases: every string of up to EXHAUSTIVE_LEN characters of the alphabet
# (without the extra letters), and RANDOM_CASES longer ones (fixed seed).
EXHAUSTIVE_LEN = 2
EXHAUSTIVE_SKIP = "qZ"
RANDOM_CASES = 800


def closure(chars):
    """The alphabet, every character of its decompositions, and every primary
    composite two of them form, until nothing new appears."""
    have = set(chars)
    while True:
        new = {d for c in have for d in nfd(c)}
        for a, b in itertools.product(have, repeat=2):
            x = nfc(a + b)
            if len(x) == 1 and primary_pair(x) == (a, b):
                new.add(x)
        if new <= have:
            return have
        have |= new


def cases_json():
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    chars = closure(set(ALPHABET) | set(letters))
    comps = sorted(
        (a, b, x)
        for a, b in itertools.product(chars, repeat=2)
        for x in [nfc(a + b)]
        if len(x) == 1 and primary_pair(x) == (a, b)
    )
    small = [c for c in ALPHABET if c not in EXHAUSTIVE_SKIP]
    strings = ["".join(t) for n in range(1, EXHAUSTIVE_LEN + 1) for t in itertools.product(small, repeat=n)]
    rng = random.Random(14)
    strings += ["".join(rng.choice(small) for _ in range(rng.randint(3, 8))) for _ in range(RANDOM_CASES)]
    # Compact, one entry per line: reviewable diffs at a modest size.
    out = [
        "{",
        ' "generated_by": "scripts/gen-nfc-tables.py",',
        f' "unicode_version": {json.dumps(ud.unidata_version)},',
        f' "alphabet": {json.dumps(ALPHABET)},',
        ' "chars": {',
        ",\n".join(f"  {json.dumps(c)}: [{ud.combining(c)}, {json.dumps(nfd(c))}]" for c in sorted(chars)),
        " },",
        ' "compositions": [',
        ",\n".join("  " + json.dumps(list(t)) for t in comps),
        " ],",
        ' "cases": [',
        ",\n".join("  " + json.dumps([s, ud.is_normalized("NFC", s)]) for s in strings),
        " ]",
        "}",
    ]
    return "\n".join(out) + "\n"


# --- the rule of crates/linkgate-core/src/nfc.rs, in Python, for --self-test ------------------


def make_rule(data):
    comps = set(data.pairs)  # Hangul included: nfc.rs computes those

    def is_nfc(s):
        prev, prev_k = None, 0
        for c in s:
            cp = ord(c)
            k = data.ccc.get(cp, 0)
            if k and k < prev_k:
                return False
            if cp in data.no:
                return False
            if cp in data.maybe and prev is not None:
                if prev_k or (prev, cp) in comps or (k and data.tail_ccc.get(prev, 0) > k):
                    return False
            prev, prev_k = cp, k
        return True

    def conservative(s):
        """A refusal the rule documents: a Maybe character after a non-starter,
        or a Maybe non-starter after a composite ending in a higher class."""
        for a, b in zip(s, s[1:]):
            if ord(b) in data.maybe:
                kb = data.ccc.get(ord(b), 0)
                if data.ccc.get(ord(a), 0) or (kb and data.tail_ccc.get(ord(a), 0) > kb):
                    return True
        return False

    return is_nfc, conservative


def self_test(data):
    is_nfc, conservative = make_rule(data)
    stats = {"checked": 0, "conservative": 0}
    examples = []

    def check(s):
        stats["checked"] += 1
        want = ud.is_normalized("NFC", s)
        got = is_nfc(s)
        if got and not want:
            raise SystemExit(f"UNSOUND: accepted {s!r} ({[hex(ord(c)) for c in s]}), which is not NFC")
        if want and not got:
            if not conservative(s):
                raise SystemExit(f"refused {s!r} ({[hex(ord(c)) for c in s]}), NFC and not a documented case")
            stats["conservative"] += 1
            if len(examples) < 5:
                examples.append(" ".join(f"U+{ord(c):04X}" for c in s))

    for c in all_chars():
        check(c)
    maybe = sorted(data.maybe)
    marks = sorted(data.ccc)
    firsts = {a for a, _ in data.pairs} | set(data.pairs.values()) | set(data.tail_ccc)
    for s in sorted(firsts):
        for b in maybe:
            check(chr(s) + chr(b))
        for m in marks:
            check(chr(s) + chr(m))
    rng = random.Random(15)
    pool = [chr(c) for c in sorted(firsts)] + [chr(c) for c in maybe] + [chr(c) for c in marks] + list("ab/")
    for _ in range(200_000):
        check("".join(rng.choice(pool) for _ in range(rng.randint(2, 6))))
    print(
        f"self-test: {stats['checked']} strings agree with unicodedata.is_normalized "
        f"(Unicode {ud.unidata_version}); {stats['conservative']} NFC strings refused by the "
        f"documented conservative rule, e.g. {'; '.join(examples)}"
    )


def main(argv):
    data = Data()
    if "--self-test" in argv:
        self_test(data)
        return 0
    outputs = {TABLES: rust_tables(data), CASES: cases_json()}
    if "--check" in argv:
        stale = [p for p, text in outputs.items() if not os.path.exists(p) or open(p, encoding="utf-8").read() != text]
        for p in stale:
            print(f"stale: {os.path.relpath(p, ROOT)} (run python3 scripts/gen-nfc-tables.py)")
        return 1 if stale else 0
    for p, text in outputs.items():
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(p, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
