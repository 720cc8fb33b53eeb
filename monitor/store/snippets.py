"""Search snippets built in Python from a version's text, in time bounded per row.

FTS5's snippet() scores a window at every hit against every other hit (quadratic: 105,000 hits
of one word in one document took past 120 s) and tokenizes the whole text twice, even for the
one passage it shows. Here the query's words are found with regular expressions equivalent to
the FTS5 match (whole tokens, folded as unicode61 remove_diacritics 2 folds them; a prefix for
word* and for a Korean word; a word with a Korean particle attached; phrases), at most HITS of
each, and only the text around those hits is tokenized. The passage is then chosen and marked
as fts5_aux.c's snippet() does (score 1000 for each phrase first seen in a window of TOKENS
tokens, 1 for each repeat; a window starting at its sentence's start gets 100 more; the window
centred on its hits), so on a row of up to HITS hits of each word the snippet is FTS5's own,
character for character (all 934 shown for bench/history.py's 20 queries on 10k versions with
HITS at 64; 913 with HITS at 8). Where a word has more hits, its later ones are not looked at,
so the passage is the best around its first HITS hits, where FTS5 looks for the best anywhere.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from monitor.store.search_words import HAS_MARK, PLAIN, Hit, Phrase, Tokens, fold_text, hits

TOKENS = 16  # tokens in a snippet, as snippet(versions_fts, 1, '[', ']', ' … ', 16)
OPEN, CLOSE, ELLIPSIS = "[", "]", " … "
WIDTH = 7  # characters read per token wanted, at first
AHEAD = 16  # tokens read at first past a hit (a few more than needed, in fewer steps)
FAR = 1 << 40  # token distance standing for "more than a window away": never in one window
SPACE = " \t\n\r"
# A full stop or a colon, white space and a token: FTS5's start of a sentence.
SENTENCE = re.compile(r"[.:][ \t\n\r]+(?=[^\W_])")


def _tokens(text: str, kind: Tokens, low: int, high: int) -> list[tuple[int, int]]:
    """The spans of the tokens in text[low:high] (from the lengths of its pieces: no match
    objects), a token cut by either edge included as cut."""
    pieces = kind.split.split(text[low:high])  # separators and tokens, alternately
    offsets = list(itertools.accumulate(map(len, pieces), initial=low))
    return list(zip(offsets[1::2], offsets[2::2], strict=False))


def _before(text: str, kind: Tokens, at: int, count: int) -> tuple[list[tuple[int, int]], bool]:
    """Up to `count` token spans ending before `at`, and whether the first is the text's first."""
    width = WIDTH * count
    while True:
        low = max(0, at - width)
        spans = _tokens(text, kind, low, at)
        if low == 0:
            return spans[-count:], len(spans) <= count
        if len(spans) > count:  # the first may have been cut: it is left out
            return spans[-count:], False
        width *= 4


def _after(text: str, kind: Tokens, at: int, count: int) -> tuple[list[tuple[int, int]], bool]:
    """Up to `count` token spans from `at`, and whether no token follows them."""
    width = WIDTH * count
    while True:
        high = min(len(text), at + width)
        spans = _tokens(text, kind, at, high)
        if high == len(text):
            return spans[:count], len(spans) <= count
        if len(spans) > count + 1:  # the last may have been cut: it is left out
            return spans[:count], False
        width *= 4


def _sentence_starts(text: str, at: int) -> bool:
    """Whether the token at `at` starts a sentence as FTS5 sees it: white space before it,
    and before that a full stop or a colon."""
    i = at - 1
    while i >= 0 and text[i] in SPACE:
        i -= 1
    return i != at - 1 and i >= 0 and text[i] in ".:"


@dataclass
class Span:
    """A run of the text's tokens around some hits: their spans, the index of the first among
    the text's tokens (a stand-in past FAR when unknown) and whether the text ends with them."""

    tokens: list[tuple[int, int]]
    first: int
    ends: bool
    sentences: list[int] | None = None  # indices of the tokens that start a sentence
    step: int = 16  # tokens to read next time the run must grow (AHEAD, doubling)


def _around(
    text: str, kind: Tokens, hit: Hit
) -> tuple[list[tuple[int, int]], bool, list[tuple[int, int]], bool]:
    """The TOKENS tokens before a hit (fewer where the text starts) and whether the first is
    the text's first, then its own and some after it and whether the text ends with them: one
    read of the text around it, mostly."""
    low = max(0, hit.start - WIDTH * TOKENS)
    high = min(len(text), hit.start + WIDTH * (TOKENS + hit.size + 1))
    spans = _tokens(text, kind, low, high)
    split = bisect.bisect_left(spans, (hit.start, -1))
    back, ahead = spans[:split], spans[split:]
    first = low == 0 and len(back) <= TOKENS
    if low > 0 and len(back) <= TOKENS:  # too few read, and the first may have been cut
        back, first = _before(text, kind, hit.start, TOKENS)
    back = back[-TOKENS:]
    if high < len(text):
        return back, first, ahead[:-1], False  # the last may have been cut
    return back, first, ahead, True


def _place(text: str, kind: Tokens, found: Sequence[Hit]) -> list[tuple[Span, int, Hit]]:
    """Each hit with its run of tokens and its number: a run holds the TOKENS tokens before a
    hit, its own and the TOKENS after it, joined with the next hit's when they overlap; runs
    are numbered so that hits of one run keep their distances and hits of two runs are further
    apart than any window. Each token is read once."""
    placed: list[tuple[Span, int, Hit]] = []
    run: Span | None = None
    starts: list[int] = []  # where the run's tokens start
    for hit in found:
        if run is None or not run.tokens or hit.start >= run.tokens[-1][1]:
            back, first, ahead, ends = _around(text, kind, hit)
            number = 0 if first else FAR + (run.first + len(run.tokens) if run else 0)
            run = Span(back + ahead, number, ends)
            starts = [t[0] for t in run.tokens]
            at = len(back)
        else:
            at = bisect.bisect_left(starts, hit.start)
        need = at + TOKENS + hit.size
        if len(run.tokens) < need and not run.ends:
            more, run.ends = _after(
                text,
                kind,
                run.tokens[-1][1] if at < len(starts) else hit.start,
                max(need - len(run.tokens), run.step),
            )
            run.step *= 2  # a run of many hits is read in few steps
            run.tokens += more
            starts += [t[0] for t in more]
        if at < len(starts) and starts[at] == hit.start:  # else not a token's start: left out
            placed.append((run, run.first + at, hit))
    return placed


def snippet(text: str, query: Sequence[Phrase]) -> str:
    """The snippet FTS5's snippet(versions_fts, 1, '[', ']', ' … ', 16) shows for a row of few
    hits: about TOKENS tokens of `text` around its best hits, each marked [so], with ' … '
    where the text goes on."""
    # Quick first: the text with its ASCII letters lower case (a third of str.lower's time on
    # an English page) when a word has case, else as it is; folded whole (diacritics, other
    # scripts' case, combining marks) only when that misses a word of the query, or a
    # combining mark is near a hit.
    folded, kind = text, PLAIN
    if any(p.cased for p in query):
        folded = text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
    found = hits(folded, query, kind)
    placed = _place(text, kind, found)
    runs = {id(span): span for span, _, _ in placed}.values()
    if len({h.phrase[0] for h in found}) < len(query) or any(
        HAS_MARK.search(text, r.tokens[0][0], r.tokens[-1][1] + 1) for r in runs if r.tokens
    ):
        folded, kind = fold_text(text)
        placed = _place(text, kind, hits(folded, query, kind))
    if not placed:  # the row matched on its title only: the text's start, as FTS5 shows it
        tokens, ends = _after(text, kind, 0, TOKENS)
        return _render(text, Span(tokens, 0, ends), [], 0)
    last = placed[-1][0]
    size = last.first + len(last.tokens) + (0 if last.ends else FAR)
    numbered = [(n, h) for _, n, h in placed]
    numbers = [n for n, _ in numbered]
    best, best_score, chosen = 0, 0, placed[0][0]
    run, carried = placed[0][0], None  # the last sentence start before the run, if it may count
    for span, at, _hit in placed:
        if span is not run:
            carried = _carried(text, run, span, carried)
            run = span
        score, start = _score(numbered, numbers, at, size, adjust=True)
        if score > best_score:
            best, best_score, chosen = start, score, span
        sentence = _sentence(text, span, at) if size > TOKENS else None
        home = span  # the run holding the sentence's start
        if sentence is None and size > TOKENS and carried is not None:
            sentence, home = carried
        if sentence is not None and sentence < at:
            score, _ = _score(numbered, numbers, sentence, size, adjust=False)
            score += 120 if sentence == 0 else 100
            if score > best_score:
                best, best_score, chosen = sentence, score, home
    return _render(text, chosen, numbered, best, size)


def _carried(
    text: str, before: Span, run: Span, carried: tuple[int, Span] | None
) -> tuple[int, Span] | None:
    """The start of the sentence that goes on into `run` from the run `before` it, when no
    sentence starts between them (one that does holds no hit in its first TOKENS tokens)."""
    if SENTENCE.search(text, before.tokens[-1][1], run.tokens[0][0] + 1):
        return None
    last = _sentence(text, before, before.first + len(before.tokens) - 1)
    return (last, before) if last is not None else carried


def _sentence(text: str, span: Span, at: int) -> int | None:
    """The number of the first token of the sentence holding token `at`, when it is in the
    run of `at`."""
    if span.sentences is None:
        starts = [t[0] for t in span.tokens]
        found = [0] if span.first == 0 or _sentence_starts(text, starts[0]) else []
        ends = (m.end() for m in SENTENCE.finditer(text, starts[0], span.tokens[-1][1]))
        found += [bisect.bisect_left(starts, e) for e in ends]
        span.sentences = found
    i = bisect.bisect_right(span.sentences, at - span.first) - 1
    return span.first + span.sentences[i] if i >= 0 else None


def _score(
    placed: Sequence[tuple[int, Hit]], numbers: Sequence[int], at: int, size: int, *, adjust: bool
) -> tuple[int, int]:
    """fts5SnippetScore: the score of the window of TOKENS tokens from token `at`, and the
    window's start moved so as to centre its hits (within the text)."""
    seen: set[tuple[int, str]] = set()
    score, first, last = 0, -1, 0
    for i in range(bisect.bisect_left(numbers, at), len(placed)):
        n, hit = placed[i]
        if n >= at + TOKENS:
            break
        score += 1 if hit.phrase in seen else 1000
        seen.add(hit.phrase)
        if first < 0:
            first = n
        last = n + hit.size
    if not adjust:
        return score, at
    spare = TOKENS - (last - first)
    start = first - (spare // 2 if spare >= 0 else -(-spare // 2))  # C division
    if start + TOKENS > size:
        start = size - TOKENS
    return score, max(start, 0)


def _marked(placed: Sequence[tuple[int, Hit]], start: int) -> Iterator[tuple[int, int]]:
    """Token ranges [first, last] of the hits from token `start` on, overlapping ones joined
    (fts5CInstIter)."""
    run: tuple[int, int] | None = None
    for n, hit in placed:
        end = n + hit.size - 1
        if run is None:
            run = (n, end)
        elif n <= run[1]:
            run = (run[0], max(run[1], end))
        else:
            if run[0] >= start:
                yield run
            run = (n, end)
    if run is not None and run[0] >= start:
        yield run


def _render(
    text: str, span: Span, placed: Sequence[tuple[int, Hit]], start: int, size: int = FAR
) -> str:
    """fts5HighlightCb over the tokens of the window from token `start`."""
    if span.ends:
        size = min(size, span.first + len(span.tokens))
    end = start + TOKENS - 1
    out = [ELLIPSIS] if start > 0 else []
    marks = _marked(placed, start)
    mark = next(marks, (-1, -1))
    at, is_open = 0, False
    for n in range(start, end + 1):
        if not 0 <= n - span.first < len(span.tokens):
            continue
        s, e = span.tokens[n - span.first]
        if start and n == start:
            at = s
        if is_open and (n <= mark[0] or mark[0] < 0) and s > at:
            out.append(CLOSE)
            is_open = False
        if n == mark[0] and not is_open:
            out += [text[at:s], OPEN]
            at, is_open = s, True
        if n == mark[1]:
            if not is_open:
                out.append(OPEN)
                is_open = True
            out.append(text[at:e])
            at = e
            mark = next(marks, (-1, -1))
        if n == end:
            if is_open:
                if mark[0] >= 0 and n >= mark[0]:
                    out.append(text[at:e])
                    at = e
                out.append(CLOSE)
                is_open = False
            out.append(text[at:e])
            at = e
    if is_open:
        out.append(CLOSE)
    if end >= size - 1:
        out.append(text[at:])
    else:
        out.append(ELLIPSIS)
    return "".join(out)
