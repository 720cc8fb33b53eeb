"""Rewordings: which removed and added sentences are one sentence reworded (by word overlap,
content words and order), and the word-level ops between the two sides."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property

from monitor.analysis.text import normalise, tidy
from monitor.models import WordKind, WordOp

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
# Changed blocks up to this many (old, new) pairs compare every pair; larger ones only compare
# pairs within _BAND places of the block's diagonal, and pairs that share a word occurring at
# most _RARE times in the block: the cost stays linear in the block's size.
_ALL_PAIRS = 400
_BAND = 3
_RARE = 8

# What is not part of a key: punctuation (but decimal and thousands separators), "_".
NOT_KEY = re.compile(r"(?<!\d)[.,]|[.,](?!\d)|[^\w\s.,%$€£¥₩]|_")


@dataclass(frozen=True)
class Sentence:
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
            bare = [NOT_KEY.sub("", w) for w in view]
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


def _score(x: Sentence, y: Sentence) -> float:
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


def pair_rewordings(
    a: Sequence[Sentence], b: Sequence[Sentence], olds: list[int], news: list[int]
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
    return heaviest_chain(scored)


def read_sentence(text: str) -> Sentence:
    shown = tidy(text)
    view = normalise(shown).text
    return Sentence(shown, view, NOT_KEY.sub("", view))


def pair_sentences(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Order-preserving (i, j) pairs of old[i] and new[j] that are one sentence reworded."""
    a, b = [read_sentence(x) for x in old], [read_sentence(y) for y in new]
    return pair_rewordings(a, b, list(range(len(a))), list(range(len(b))))


def word_ops(old: str, new: str) -> tuple[WordOp, ...]:
    """Word-level highlights between two sentences, as a changed sentence of `diff` gets them."""
    return sentence_word_ops(read_sentence(old), read_sentence(new))


def sentence_word_ops(old: Sentence, new: Sentence) -> tuple[WordOp, ...]:
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


def heaviest_chain(weighted: Iterable[tuple[int, int, float]]) -> list[tuple[int, int]]:
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
