"""Sentence-level diff of two versions of a document, blind to reflow, typography and furniture.

Sentences are compared by a key made of their letters and digits only (normalised: NFKC,
case-folded, line-broken words rejoined), so re-wrapping, white space, quote and dash styles,
line-end hyphenation, zero-width characters and punctuation-only edits are no change. Page
numbers, short lines repeated through a document (running headers) and sentences without a
letter are ignored. Sentences are aligned on the ones unique to both texts (patience anchors),
with `difflib` on the sentence keys between anchors; a sentence removed in one place and added
in another is `moved`; inside each changed block, rewordings are paired into `ChangedSentence`s
with word-level ops.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property

from monitor.analysis.text import normalise, sentences, tidy
from monitor.models import ChangedSentence, SentenceDiff, WordKind, WordOp

# Two sentences are one reworded sentence when difflib's ratio on their word lists reaches this
# (on NSS editions, pairs at 0.4-0.5 were nearly all rewordings, pairs at 0.3-0.4 half junk).
PAIR_THRESHOLD = 0.4
# ... and they share at least this many words.
_MIN_SHARED = 2
# ... of which content words (not in _FUNCTION_WORDS): at least this many, and at least this share
# of the shorter sentence's content words. Two sentences of one joint statement share "the", "of",
# "and", "the two Presidents", which made unrelated ones look like rewordings.
_MIN_CONTENT = 2
_CONTENT_SHARE = 0.25
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "as",
        "that",
        "this",
        "these",
        "those",
        "which",
        "who",
        "whom",
        "its",
        "their",
        "his",
        "her",
        "our",
        "we",
        "they",
        "it",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "not",
        "no",
        "also",
        "both",
        "all",
        "any",
        "each",
        "other",
        "such",
        "than",
        "then",
        "there",
        "into",
        "over",
        "under",
        "between",
        "through",
        "about",
        "against",
        "during",
        "before",
        "after",
        "while",
        "two",
        "president",
        "presidents",
        "leader",
        "leaders",
        "united",
        "states",
    ]
)
# A short line seen this often in one of the texts is a running header or footer.
REPEATED_LINE = 5
# Changed blocks up to this many (old, new) pairs compare every pair; larger ones only compare
# pairs within _BAND places of the block's diagonal, and pairs that share a word occurring at
# most _RARE times in the block: the cost stays linear in the block's size.
_ALL_PAIRS = 400
_BAND = 3
_RARE = 8

# What is not part of a key: punctuation (but decimal and thousands separators), "_".
_NOT_KEY = re.compile(r"(?<!\d)[.,]|[.,](?!\d)|[^\w\s.,%$€£¥₩]|_")
_SPACE = re.compile(r"\s+")
_ROMAN = r"(?=[ivxlc])(?:x[cl]|l?x{0,3})(?:i[xv]|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    rf"(?:(?i:page)\s+)?[-–—]?\s*(?:\d{{1,3}}|{_ROMAN})\s*[-–—]?(?:\s+(?i:of)\s+\d{{1,3}})?"
)


@dataclass(frozen=True)
class _Sentence:
    text: str  # the original sentence, white space collapsed
    view: str  # its normalised view
    bare: str  # `view` without punctuation; its words are what words are compared by

    @cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.split())

    @cached_property
    def key(self) -> str:
        return self.bare.replace(" ", "")

    @cached_property
    def word_keys(self) -> tuple[str, ...]:
        """Per word: its letters and digits, or its view if it has none."""
        view, bare = self.view.split(" "), self.bare.split(" ")
        if len(view) != len(self.words):  # NFKC turned a character into a space: rare
            view = [normalise(w).text for w in self.words]
            bare = [_NOT_KEY.sub("", w) for w in view]
        return tuple(b or v for b, v in zip(bare, view, strict=True))

    @cached_property
    def vocab(self) -> frozenset[str]:
        return frozenset(self.word_keys)

    @cached_property
    def content(self) -> frozenset[str]:
        """Its distinct words that carry meaning (not function words, not numbers)."""
        return frozenset(
            w for w in self.vocab if len(w) > 1 and w not in _FUNCTION_WORDS and not w.isdigit()
        )


def strip_ignored(text: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """`text` without the matches of `patterns` (boilerplate a site injects into its pages).

    Where a match sat between two runs of white space, the one with more line breaks is kept, so
    removing a line or a paragraph does not create or remove a paragraph break.
    """
    for pattern in patterns:
        pieces: list[str] = []
        prev = 0
        for m in pattern.finditer(text):
            start = max(m.start(), prev)  # (a match may begin in white space already taken)
            if m.end() <= start:
                continue
            left = text[prev:start]
            kept = left.rstrip()
            after = _SPACE.match(text, m.end())
            if after and kept != left:
                gaps = (left[len(kept) :], after.group())
                pieces += [kept, max(gaps, key=lambda gap: gap.count("\n"))]
                prev = after.end()
            else:
                pieces.append(left)
                prev = m.end()
        pieces.append(text[prev:])
        text = "".join(pieces)
    return text


def diff(old: str, new: str) -> SentenceDiff:
    """Added, removed, reworded (with word ops) and moved sentences from `old` to `new`.

    Sentences are given as their original text with white space collapsed, in document order
    (`moved` as they read in `new`). Swapping `old` and `new` swaps added and removed and the two
    sides of each changed sentence.
    """
    if old == new:
        return SentenceDiff()
    headers = _repeated_lines(old) | _repeated_lines(new)
    a = _segment(old, headers)
    b = _segment(new, headers)
    matches = _align([s.key for s in a], [s.key for s in b])
    gone = set(range(len(a))).difference(i for i, _ in matches)
    come = set(range(len(b))).difference(j for _, j in matches)
    moved = _moves(a, b, gone, come)
    removed: list[int] = []
    added: list[int] = []
    changed: list[ChangedSentence] = []
    for block_old, block_new in _blocks(matches, len(a), len(b)):
        olds = [i for i in block_old if i in gone]
        news = [j for j in block_new if j in come]
        pairs = _pair(a, b, olds, news) if olds and news else []
        removed += sorted(set(olds).difference(i for i, _ in pairs))
        added += sorted(set(news).difference(j for _, j in pairs))
        changed += [ChangedSentence(a[i].text, b[j].text, _word_ops(a[i], b[j])) for i, j in pairs]
    return SentenceDiff(
        added=tuple(b[j].text for j in added),
        removed=tuple(a[i].text for i in removed),
        changed=tuple(changed),
        moved=tuple(b[j].text for j in sorted(moved)),
    )


# ---- segmentation and furniture --------------------------------------------------------------


def sentence_key(text: str) -> str:
    """What sentences are compared by: the letters and digits of the normalised text."""
    return _NOT_KEY.sub("", normalise(text).text).replace(" ", "")


def _is_header(line: str) -> bool:
    return len(line) <= 80 and len(line.split()) <= 10 and line[-1] not in ".:;,!?"


def _page_numbers(lines: Sequence[str]) -> list[bool]:
    """Which lines are a page number alone, next to a blank line or a text end."""
    blank = [not line.strip() for line in lines]
    last = len(lines) - 1
    return [
        _PAGE_NUMBER.fullmatch(line.strip()) is not None
        and (k in (0, last) or blank[k - 1] or blank[k + 1])
        for k, line in enumerate(lines)
    ]


def _repeated_lines(text: str) -> set[str]:
    """Keys of running headers: short lines without a stop seen REPEATED_LINE times, at least
    half of them apart from the text that follows (so not the first line of a paragraph)."""
    lines = text.split("\n")
    quiet = [
        page or not line.strip() for line, page in zip(lines, _page_numbers(lines), strict=True)
    ]
    seen: Counter[str] = Counter()
    apart: Counter[str] = Counter()
    for k, line in enumerate(lines):
        if (stripped := line.strip()) and _is_header(stripped):
            seen[stripped] += 1
            apart[stripped] += k == len(lines) - 1 or quiet[k + 1] or (k > 0 and not quiet[k - 1])
    return {
        key
        for line, n in seen.items()
        if n >= REPEATED_LINE and 2 * apart[line] >= n and (key := sentence_key(line))
    }


def _furniture(lines: Sequence[str], headers: set[str]) -> list[bool]:
    """Which lines are running headers or page numbers."""
    return [
        page or (_is_header(s) and sentence_key(s) in headers if (s := line.strip()) else False)
        for line, page in zip(lines, _page_numbers(lines), strict=True)
    ]


def _segment(text: str, headers: set[str]) -> list[_Sentence]:
    """The sentences of `text` that have a letter, without page furniture."""
    lines = text.split("\n")
    text = "\n".join(
        line for line, drop in zip(lines, _furniture(lines, headers), strict=True) if not drop
    )
    out = []
    for start, end in sentences(text):
        sentence = _sentence(text[start:end])
        if any(c.isalpha() for c in sentence.bare):
            out.append(sentence)
    return out


# ---- alignment -------------------------------------------------------------------------------


def _align(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """Matched (old, new) indices, increasing in both: patience anchors, difflib between them."""
    count_a, count_b = Counter(a), Counter(b)
    where_b = {key: j for j, key in enumerate(b) if count_b[key] == 1}
    # The most anchors; among as many, the most text, then a hash: the same choice both ways.
    unique = [
        (i, where_b[key], (1 << 96) + (len(key) << 48) + zlib.crc32(key.encode()))
        for i, key in enumerate(a)
        if count_a[key] == 1 and key in where_b
    ]
    matches: list[tuple[int, int]] = []
    i0 = j0 = 0
    for i, j in [*_heaviest_chain(unique), (len(a), len(b))]:
        if i > i0 and j > j0:
            # A huge gap is a pathological input (thousands of repeated sentences): difflib's
            # popularity heuristic keeps it from going quadratic there; real gaps are small.
            huge = (i - i0) * (j - j0) > 1_000_000
            matcher = SequenceMatcher(None, a[i0:i], b[j0:j], autojunk=huge)
            for x, y, size in matcher.get_matching_blocks():
                matches += [(i0 + x + k, j0 + y + k) for k in range(size)]
        if i < len(a):
            matches.append((i, j))
        i0, j0 = i + 1, j + 1
    return matches


def _blocks(
    matches: Sequence[tuple[int, int]], size_a: int, size_b: int
) -> list[tuple[range, range]]:
    """The (old, new) index ranges between consecutive matches that are not both empty."""
    out = []
    i0 = j0 = 0
    for i, j in [*matches, (size_a, size_b)]:
        if i > i0 or j > j0:
            out.append((range(i0, i), range(j0, j)))
        i0, j0 = i + 1, j + 1
    return out


def _moves(
    a: Sequence[_Sentence], b: Sequence[_Sentence], gone: set[int], come: set[int]
) -> set[int]:
    """Pair unmatched old and new sentences with one key; drop them from `gone` and `come`."""
    waiting: defaultdict[str, deque[int]] = defaultdict(deque)
    for j in sorted(come):
        waiting[b[j].key].append(j)
    moved = set()
    for i in sorted(gone):
        if queue := waiting.get(a[i].key):
            j = queue.popleft()
            gone.discard(i)
            come.discard(j)
            moved.add(j)
    return moved


# ---- rewordings --------------------------------------------------------------------------------


def _score(x: _Sentence, y: _Sentence) -> float:
    """difflib's ratio on the two word lists if it reaches the threshold, else 0."""
    xs, ys = x.word_keys, y.word_keys
    # shared distinct words plus possible repeats bound the words difflib can match
    bound = len(x.vocab & y.vocab) + min(len(xs) - len(x.vocab), len(ys) - len(y.vocab))
    if bound < _MIN_SHARED or 2 * bound < PAIR_THRESHOLD * (len(xs) + len(ys)):
        return 0.0
    if xs > ys:  # one order both ways: the ratio is then symmetric
        xs, ys = ys, xs
    matcher = SequenceMatcher(None, xs, ys, autojunk=False)
    shared = sum(size for *_, size in matcher.get_matching_blocks())
    score = 2 * shared / (len(xs) + len(ys))
    if score < PAIR_THRESHOLD or shared < _MIN_SHARED:
        return 0.0
    cx, cy = x.content, y.content
    common = len(cx & cy)
    if common < _MIN_CONTENT or common < _CONTENT_SHARE * min(len(cx), len(cy)):
        return 0.0
    return score


def _pair(
    a: Sequence[_Sentence], b: Sequence[_Sentence], olds: list[int], news: list[int]
) -> list[tuple[int, int]]:
    """Order-preserving pairs of rewordings with the greatest total similarity."""
    n, m = len(olds), len(news)
    if n * m <= _ALL_PAIRS:
        candidates = {(i, j) for i in olds for j in news}
    else:  # pairs near the block's diagonal, and pairs sharing a word rare in the block
        reach = _BAND * max(n, m)
        candidates = {
            (olds[p], news[q])
            for p in range(n)
            for q in range(max(0, (p * m - reach) // n), min(m, (p * m + reach) // n + 1))
            if abs(p * m - q * n) <= reach
        }
        df = Counter(w for s in [*(a[i] for i in olds), *(b[j] for j in news)] for w in s.vocab)
        posting: defaultdict[str, list[int]] = defaultdict(list)
        for j in news:
            for w in b[j].vocab:
                if df[w] <= _RARE:
                    posting[w].append(j)
        candidates |= {
            (i, j) for i in olds for w in a[i].vocab if df[w] <= _RARE for j in posting[w]
        }
    scored = [(i, j, score) for i, j in sorted(candidates) if (score := _score(a[i], b[j]))]
    return _heaviest_chain(scored)


def _heaviest_chain(weighted: Iterable[tuple[int, int, float]]) -> list[tuple[int, int]]:
    """The chain of (i, j) strictly increasing in both with the greatest total weight."""
    scored = sorted(weighted, key=lambda t: (t[0], -t[1]))  # same i: larger j first: no chain
    js = sorted({j for _, j, _ in scored})
    rank = {j: k + 1 for k, j in enumerate(js)}
    zero: tuple[float, int] = (0, -1)  # int 0: integer weights add up exactly
    tree = [zero] * (len(js) + 1)  # Fenwick tree of (best total, index in scored)
    back = [-1] * len(scored)
    best = zero
    for n, (_, j, score) in enumerate(scored):
        top, k = zero, rank[j] - 1
        while k > 0:
            top = max(top, tree[k])
            k -= k & -k
        back[n] = top[1]
        total = (top[0] + score, n)
        best = max(best, total)
        k = rank[j]
        while k <= len(js):
            tree[k] = max(tree[k], total)
            k += k & -k
    chain = []
    n = best[1]
    while n >= 0:
        chain.append(scored[n][:2])
        n = back[n]
    return chain[::-1]


def _sentence(text: str) -> _Sentence:
    shown = tidy(text)
    view = normalise(shown).text
    return _Sentence(shown, view, _NOT_KEY.sub("", view))


def pair_sentences(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Order-preserving (i, j) pairs of old[i] and new[j] that are one sentence reworded."""
    a, b = [_sentence(x) for x in old], [_sentence(y) for y in new]
    return _pair(a, b, list(range(len(a))), list(range(len(b))))


def word_ops(old: str, new: str) -> tuple[WordOp, ...]:
    """Word-level highlights between two sentences, as a changed sentence of `diff` gets them."""
    return _word_ops(_sentence(old), _sentence(new))


def _word_ops(old: _Sentence, new: _Sentence) -> tuple[WordOp, ...]:
    """Runs of kept, removed and added words; words equal only once normalised are replaced."""
    steps: list[tuple[WordKind, str]] = []
    matcher = SequenceMatcher(None, old.word_keys, new.word_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for x, y in zip(old.words[i1:i2], new.words[j1:j2], strict=True):
                steps += [("same", x)] if x == y else [("removed", x), ("added", y)]
        else:
            steps += [("removed", w) for w in old.words[i1:i2]]
            steps += [("added", w) for w in new.words[j1:j2]]
    ops: list[WordOp] = []
    runs: dict[WordKind, list[str]] = {"same": [], "removed": [], "added": []}

    def flush(kinds: Sequence[WordKind]) -> None:
        for kind in kinds:
            if runs[kind]:
                ops.append(WordOp(kind, " ".join(runs[kind])))
                runs[kind].clear()

    for kind, word in steps:
        flush(("removed", "added") if kind == "same" else ("same",))
        runs[kind].append(word)
    flush(("same", "removed", "added"))
    return tuple(ops)
