"""Sentence-level diff of two versions of a document, blind to reflow, typography and furniture.

Sentences are compared by a key made of their letters and digits only (normalised: NFKC,
case-folded, line-broken words rejoined), so re-wrapping, white space, quote and dash styles,
line-end hyphenation, zero-width characters and punctuation-only edits are no change. Page
numbers, short lines repeated through a document (running headers) and sentences without a
letter are ignored. Sentences are aligned on the ones unique to both texts (patience anchors),
with `difflib` on the sentence keys between anchors; a sentence removed in one place and added
in another is `moved`; inside each changed block, rewordings are paired into `ChangedSentence`s
with word-level ops (monitor/analysis/rewording.py).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from difflib import SequenceMatcher

from monitor.analysis.rewording import (
    NOT_KEY,
    Sentence,
    heaviest_chain,
    pair_rewordings,
    read_sentence,
    sentence_word_ops,
)
from monitor.analysis.rewording import pair_sentences as pair_sentences
from monitor.analysis.rewording import word_ops as word_ops
from monitor.analysis.text import normalise, sentences
from monitor.models import ChangedSentence, SentenceDiff

# A short line seen this often in one of the texts is a running header or footer.
REPEATED_LINE = 5
_SPACE = re.compile(r"\s+")
_ROMAN = r"(?=[ivxlc])(?:x[cl]|l?x{0,3})(?:i[xv]|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    rf"(?:(?i:page)\s+)?[-–—]?\s*(?:\d{{1,3}}|{_ROMAN})\s*[-–—]?(?:\s+(?i:of)\s+\d{{1,3}})?"
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
        pairs = pair_rewordings(a, b, olds, news) if olds and news else []
        removed += sorted(set(olds).difference(i for i, _ in pairs))
        added += sorted(set(news).difference(j for _, j in pairs))
        changed += [
            ChangedSentence(a[i].text, b[j].text, sentence_word_ops(a[i], b[j])) for i, j in pairs
        ]
    return SentenceDiff(
        added=tuple(b[j].text for j in added),
        removed=tuple(a[i].text for i in removed),
        changed=tuple(changed),
        moved=tuple(b[j].text for j in sorted(moved)),
    )


# ---- segmentation and furniture --------------------------------------------------------------


def sentence_key(text: str) -> str:
    """What sentences are compared by: the letters and digits of the normalised text."""
    return NOT_KEY.sub("", normalise(text).text).replace(" ", "")


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


def _segment(text: str, headers: set[str]) -> list[Sentence]:
    """The sentences of `text` that have a letter, without page furniture."""
    lines = text.split("\n")
    text = "\n".join(
        line for line, drop in zip(lines, _furniture(lines, headers), strict=True) if not drop
    )
    out = []
    for start, end in sentences(text):
        sentence = read_sentence(text[start:end])
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
    for i, j in [*heaviest_chain(unique), (len(a), len(b))]:
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
    a: Sequence[Sentence], b: Sequence[Sentence], gone: set[int], come: set[int]
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
