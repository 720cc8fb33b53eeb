"""Speed and completeness of monitor.analysis.diff.diff against a word-level difflib baseline.

Compares two long OCR'd National Security Strategy texts of the shared corpus
(../shared/corpus/docs/nss-series) with `monitor.analysis.diff.diff` (median of --runs runs) and with
`difflib.SequenceMatcher(None, old_words, new_words, autojunk=False).get_opcodes()` (one run).
Completeness: every sentence that a non-equal baseline opcode touches (on either side) must be
reported by our diff (added, removed, changed or moved, by normalised key), be unchanged up to
our normalisation (its key is in the other text), or be page furniture; the rest are "missed".

    python bench/bench_diff.py [--runs N] [--no-second]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analysis import diff as D  # noqa: E402
from monitor.analysis.text import sentences, tidy  # noqa: E402
from monitor.models import SentenceDiff  # noqa: E402

NSS = ROOT.parent / "shared" / "corpus" / "docs" / "nss-series"
PAIRS = [("1998", "1999"), ("2001", "2002")]
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Side:
    """One text as the baseline sees it (words) and as our diff sees it (sentences)."""

    text: str
    words: list[str]
    word_sentence: list[int]  # per baseline word: index into `keys`, or -1 for furniture
    keys: list[str]  # per sentence of the furniture-free text: its key ("" = no letters)
    tidied: list[str]


def side(text: str, headers: set[str]) -> Side:
    lines = text.split("\n")
    drop = D._furniture(lines, headers)
    kept: list[str] = []
    starts: list[int] = []  # raw offset of each kept line, and its offset in the kept text
    kept_starts: list[int] = []
    raw = out = 0
    for line, dropped in zip(lines, drop, strict=True):
        if not dropped:
            starts.append(raw)
            kept_starts.append(out)
            kept.append(line)
            out += len(line) + 1
        raw += len(line) + 1
    stripped = "\n".join(kept)
    spans = sentences(stripped)
    tidied = [tidy(stripped[a:b]) for a, b in spans]
    keys = [D.sentence_key(t) for t in tidied]
    keys = [k if any(c.isalpha() for c in k) else "" for k in keys]
    span_starts = [a for a, _ in spans]
    words, owner = [], []
    for m in WORD.finditer(text):
        words.append(m.group())
        k = bisect_right(starts, m.start()) - 1
        line_end = starts[k] + len(kept[k]) if k >= 0 else -1
        if k < 0 or m.start() >= line_end:  # on a dropped line
            owner.append(-1)
            continue
        at = kept_starts[k] + m.start() - starts[k]
        s = bisect_right(span_starts, at) - 1
        owner.append(s if s >= 0 and at < spans[s][1] and keys[s] else -1)
    return Side(text, words, owner, keys, tidied)


def touched(side: Side, lo: int, hi: int) -> set[int]:
    """Sentences of words [lo, hi); for an insertion point, the sentence around it, if any."""
    if lo < hi:
        return {side.word_sentence[k] for k in range(lo, hi)}
    if 0 < lo < len(side.words) and side.word_sentence[lo - 1] == side.word_sentence[lo]:
        return {side.word_sentence[lo]}
    return set()


def check(
    old: Side, new: Side, opcodes: Sequence[tuple[str, int, int, int, int]], ours: SentenceDiff
) -> dict[str, int]:
    ours_old = {D.sentence_key(t) for t in (*ours.removed, *ours.moved)}
    ours_old |= {D.sentence_key(c.old) for c in ours.changed}
    ours_new = {D.sentence_key(t) for t in (*ours.added, *ours.moved)}
    ours_new |= {D.sentence_key(c.new) for c in ours.changed}
    counts = dict.fromkeys(["changed", "reported", "unchanged", "same text", "furniture"], 0)
    missed: list[str] = []
    for this, other, reported, side in ((old, new, ours_old, 0), (new, old, ours_new, 1)):
        other_keys, other_texts = set(other.keys), set(other.tidied)
        hit: set[int] = set()
        for tag, i1, i2, j1, j2 in opcodes:
            if tag != "equal":
                hit |= touched(this, *((i1, i2) if side == 0 else (j1, j2)))
        for s in sorted(hit):
            counts["changed"] += 1
            if s < 0:
                counts["furniture"] += 1
            elif this.keys[s] in reported:
                counts["reported"] += 1
            elif this.keys[s] in other_keys:
                counts["unchanged"] += 1
                counts["same text"] += this.tidied[s] in other_texts
            else:
                missed.append(this.tidied[s])
    for text in missed[:10]:
        print("   MISSED:", text[:160])
    counts["missed"] = len(missed)
    return counts


def bench(first: str, second: str, runs: int, gate: bool) -> int:
    old = (NSS / f"{first}_national_security_strategy.txt").read_text(encoding="utf-8")
    new = (NSS / f"{second}_national_security_strategy.txt").read_text(encoding="utf-8")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        ours = D.diff(old, new)
        times.append(time.perf_counter() - t0)
    ours_time = statistics.median(times)
    headers = D._repeated_lines(old) | D._repeated_lines(new)
    a, b = side(old, headers), side(new, headers)
    t0 = time.perf_counter()
    opcodes = SequenceMatcher(None, a.words, b.words, autojunk=False).get_opcodes()
    base_time = time.perf_counter() - t0
    print(f"== NSS {first} -> {second}")
    for name, s in ((first, a), (second, b)):
        count = sum(1 for k in s.keys if k)
        print(f"   {name}: {len(s.words):,} words, {count:,} sentences (furniture-free)")
    print(
        f"   ours: {ours_time * 1000:.0f} ms median of {runs}: {len(ours.added)} added, "
        f"{len(ours.removed)} removed, {len(ours.changed)} changed, {len(ours.moved)} moved"
    )
    changes = sum(1 for op in opcodes if op[0] != "equal")
    print(
        f"   baseline (difflib on words, 1 run): {base_time:.2f} s, {changes:,} non-equal opcodes"
    )
    shared = sum(op[2] - op[1] for op in opcodes if op[0] == "equal") / max(1, len(a.words))
    print(f"   words the baseline keeps: {shared:.0%} of {first}")
    ratio = base_time / ours_time
    ok_speed = ratio >= 10 and ours_time <= 1
    verdict = ("ok" if ok_speed else "BELOW TARGET") if gate else "not a target for this pair"
    print(f"   speed-up: {ratio:.0f}x ({verdict}: >= 10x and <= 1 s)")
    c = check(a, b, opcodes, ours)
    print(
        f"   baseline-changed sentences: {c['changed']:,}; reported by us: {c['reported']:,}; "
        f"unchanged up to normalisation: {c['unchanged']:,} ({c['same text']:,} of them "
        f"word-for-word, which the baseline aligned elsewhere); furniture: {c['furniture']:,}; "
        f"missed: {c['missed']}"
    )
    return 0 if (ok_speed or not gate) and c["missed"] == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of our diff (median)")
    parser.add_argument("--no-second", action="store_true", help="only the first pair")
    args = parser.parse_args()
    if not NSS.is_dir():
        print(f"skip: the shared corpus is not at {NSS} (expected ../shared/corpus from the repo)")
        return 0
    status = 0
    for n, (first, second) in enumerate(PAIRS[:1] if args.no_second else PAIRS):
        status |= bench(first, second, args.runs, gate=n == 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
