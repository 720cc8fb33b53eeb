"""Normalised views of text with offsets back to the original, content hashes, sentence spans.

`normalise` returns the view that matching and hashing work on (NFKC, case-folded, straight
quotes, ASCII hyphens, no zero-width characters, line-broken words rejoined, one space between
words); `Normalised.span` turns a range of the view back into a range of the original text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

_ZW = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_QUOTES = {"'": "‘’‚‛′‵ʼ‹›", '"': "“”„‟″‶«»"}
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
_FOLD_MAP = {
    **dict.fromkeys(_SPACES, " "),
    **dict.fromkeys(_DASHES, "-"),
    **{c: q for q, chars in _QUOTES.items() for c in chars},
}
_FOLD_TABLE = str.maketrans(_FOLD_MAP)
# str.translate with a table is slow on non-ASCII text, so rare characters go through a regex.
_ASCII_SPACES = [c for c in _SPACES if c.isascii() and c != " "]
_FOLD_RE = re.compile("[" + re.escape("".join(c for c in _FOLD_MAP if not c.isascii())) + "]")
_SPACE_RE = re.compile("[" + re.escape("".join(c for c in _SPACES if not c.isascii())) + "]")


def _translate(text: str, pattern: re.Pattern[str]) -> str:
    """Replace white space by spaces and, if `pattern` is `_FOLD_RE`, quotes and dashes too."""
    for c in _ASCII_SPACES:
        if c in text:
            text = text.replace(c, " ")
    return text if text.isascii() else pattern.sub(lambda m: _FOLD_MAP[m.group()], text)


# A hyphen at a line end before a non-blank line, or a run of white space / zero-width characters
# that is not a lone plain space (lone spaces need no edit, which keeps the edit lists short).
# The hyphen is consumed before its look-behind (the character before it is no space, hyphen or
# zero-width character), so most positions fail at once: 1.6x faster, the same matches.
_BREAKS = re.compile(
    rf"(?P<hyphen>[-\u2010\u2011\u00ad](?<=[^\s\-{_ZW}][-\u2010\u2011\u00ad])"
    rf"[^\S\n]*\n[\s{_ZW}]*(?=[^\s{_ZW}]))"
    rf"|[\s{_ZW}]{{2,}}|[{_ZW}]"
)


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


_WORD_BEFORE = re.compile(r"[^\W\d_]+\Z")
# Prefixes whose hyphen is kept at a line break: "self-\ndefense" is "self-defense".
_KEEP_HYPHEN = _words("self twenty thirty forty fifty sixty seventy eighty ninety")
_NON_ASCII = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+")
# A character with the combining marks or Hangul medial/final jamo that belong to it.
_CLUSTER = re.compile(
    r".[\u0300-\u036f\u1160-\u11ff\ud7b0-\ud7ff\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
    r"\ufe20-\ufe2f\u3099\u309a]*",
    re.DOTALL,
)


@dataclass(frozen=True)
class _Edits:
    """Length-changing edits of one rewrite, as parallel sorted tuples; elsewhere offsets shift."""

    view_starts: tuple[int, ...]
    view_ends: tuple[int, ...]
    orig_starts: tuple[int, ...]
    orig_ends: tuple[int, ...]

    @classmethod
    def of(cls, rows: list[tuple[int, int, int, int]]) -> _Edits | None:
        """Edits from (view start, view end, original start, original end) rows; None if none."""
        if not rows:
            return None
        return cls(*(tuple(row[k] for row in rows) for k in range(4)))

    def origin(self, i: int) -> int:
        k = bisect_right(self.view_starts, i) - 1
        if k < 0:
            return i
        if i < self.view_ends[k]:
            return self.orig_starts[k]
        return self.orig_ends[k] + i - self.view_ends[k]

    def origin_end(self, j: int) -> int:
        k = bisect_right(self.view_starts, j - 1) - 1
        if k < 0:
            return j
        if j - 1 < self.view_ends[k]:
            return self.orig_ends[k]
        return self.orig_ends[k] + j - self.view_ends[k]


@dataclass(frozen=True)
class Normalised:
    """A normalised view of `original`; `origin`/`origin_end` map view offsets back to it."""

    text: str
    original: str = field(repr=False)
    layers: tuple[_Edits, ...] = field(default=(), repr=False)

    def origin(self, i: int) -> int:
        """The offset in the original of the character at view offset `i`."""
        for layer in reversed(self.layers):
            i = layer.origin(i)
        return i

    def origin_end(self, j: int) -> int:
        """The offset in the original just past the character at view offset `j - 1`."""
        if j <= 0:
            return self.origin(0)
        for layer in reversed(self.layers):
            j = layer.origin_end(j)
        return j

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The range of the original that view range [start, end) came from."""
        first = self.origin(start)
        return first, max(first, self.origin_end(end))


def _rewrite(
    text: str, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], lo: int, hi: int
) -> tuple[str, _Edits | None]:
    """Replace each match of `pattern` in text[lo:hi] and drop the rest of `text`."""
    chunks: list[str] = []
    rows = [(0, 0, 0, lo)] if lo else []
    out = 0
    prev = lo
    for m in pattern.finditer(text, lo, hi):
        s, e = m.span()
        rep = repl(m)
        chunks.append(text[prev:s])
        chunks.append(rep)
        out += s - prev
        if len(rep) != e - s:
            rows.append((out, out + len(rep), s, e))
        out += len(rep)
        prev = e
    chunks.append(text[prev:hi])
    out += hi - prev
    if hi < len(text):
        rows.append((out, out, hi, len(text)))
    return "".join(chunks), _Edits.of(rows)


def _break(m: re.Match[str]) -> str:
    g = m.group()
    if m.lastgroup != "hyphen":
        return " " if g.strip(_ZW) else ""
    if g[0] == "\u00ad":
        return ""
    text, s = m.string, m.start()
    before = _WORD_BEFORE.search(text, max(0, s - 30), s)
    if before and text[m.end()].islower():
        return "-" if before.group().lower() in _KEEP_HYPHEN else ""
    return "- " if g.count("\n") > 1 else "-"


def _collapse(text: str) -> tuple[str, _Edits | None]:
    """Collapse white space, drop zero-width characters, rejoin words hyphenated at line ends."""
    lo, hi = 0, len(text)
    while hi > lo and (text[hi - 1].isspace() or text[hi - 1] in _ZW):
        hi -= 1
    while lo < hi and (text[lo].isspace() or text[lo] in _ZW):
        lo += 1
    return _rewrite(text, _BREAKS, _break, lo, hi)


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()).translate(
        _FOLD_TABLE
    )


def _fold_text(text: str) -> tuple[str, _Edits | None]:
    """NFKC and case-fold; edits only where a character cluster changes length."""
    if text.isascii():
        return text.lower(), None
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):  # casefold maps per character: equal length means 1:1
            return folded, None
    chunks: list[str] = []
    rows: list[tuple[int, int, int, int]] = []
    prev = out = 0
    for m in _NON_ASCII.finditer(text):
        s, e = m.span()
        chunks.append(text[prev:s].lower())
        out += s - prev
        prev = e
        run = m.group()
        folded = _fold(run)
        if len(folded) == len(run):
            chunks.append(folded)
            out += len(folded)
            continue
        # Map per cluster so that a match inside a run maps back to exactly its characters.
        starts = [c.start() for c in _CLUSTER.finditer(run)]
        ends = [*starts[1:], len(run)]
        if len(folded) == len(starts):  # every cluster folded to one character (NFD Hangul)
            rows += [
                (out + k, out + k + 1, s + a, s + b)
                for k, (a, b) in enumerate(zip(starts, ends, strict=True))
                if b - a != 1
            ]
            chunks.append(folded)
            out += len(folded)
            continue
        for a, b in zip(starts, ends, strict=True):
            piece = _fold(run[a:b])
            chunks.append(piece)
            if len(piece) != b - a:
                rows.append((out, out + len(piece), s + a, s + b))
            out += len(piece)
    chunks.append(text[prev:].lower())
    return "".join(chunks), _Edits.of(rows)


def normalise(text: str) -> Normalised:
    """The matching view of `text`, with a map back to offsets in `text`."""
    collapsed, first = _collapse(text)
    folded, second = _fold_text(_translate(collapsed, _FOLD_RE))
    return Normalised(folded, text, tuple(e for e in (first, second) if e is not None))


def refine(
    norm: Normalised, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]
) -> Normalised:
    """Rewrite the matches of `pattern` in a view, keeping the map back to the original."""
    text, edits = _rewrite(norm.text, pattern, repl, 0, len(norm.text))
    return Normalised(text, norm.original, norm.layers if edits is None else (*norm.layers, edits))


def tidy(text: str) -> str:
    """`text` with white space collapsed, zero-width characters dropped, broken words rejoined."""
    return _translate(_collapse(text)[0], _SPACE_RE)


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the normalised view: reflowing or retyping quotes does not change it."""
    return normalised_hash(normalise(text))


def normalised_hash(norm: Normalised) -> str:
    """`content_hash` of `norm.original`, from its view already made."""
    return hashlib.sha256(norm.text.encode("utf-8")).hexdigest()


_CLOSERS = "\"')\\]»」』”’"
_BOUNDARY = re.compile(
    # Possessive quantifiers and the look-behind keep a long run of dots linear, not quadratic.
    # Each branch consumes a character before its look-behind: at the many positions where no
    # stop or newline stands the engine fails at once instead of testing look-behinds first
    # (2.5x faster; the same matches as `(?<![.!?。！？])[.!?。！？]++` and `(?<=[a-z]{2})\.`).
    rf"(?P<stop>[.!?。！？](?<![.!?。！？].)[.!?。！？]*+[{_CLOSERS}]*+)(?=\s|\Z)"
    r"|(?P<glued>\.)(?<=[a-z]{2}\.)(?=[A-Z][a-z])"  # "programs.Both": a lost space
    r"|(?P<blank>\n[^\S\n]*\n\s*)"
    # a list item or heading starts a line (Korean releases mark items ○ □ ■ ◇ ◆ ※)
    r"|\n(?=[^\S\n]*(?:[-*•▪●◦‣○□■◇◆※]|#{1,6})[^\S\n])"
)
_TOKEN_BEFORE = re.compile(r"\S*\Z")
_NEXT_WORD = re.compile(r"\s*[\"'(“‘]*(\S*)")
_LAST_PART = re.compile(r"[-/–—]")  # "ROK-U.S." ends in the abbreviation "U.S."
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
# Abbreviations that do not end a sentence, whatever follows.
_NEVER_END = _words(
    "mr mrs ms dr st gen sen rep gov lt col maj capt adm sgt prof amb pres sec hon rev ft mt "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e cf vs vol art fig pp para approx"
)
# Abbreviations that end a sentence only before a capital letter.
_SOMETIMES_END = _words("etc inc ltd co corp jr sr al app")
# After "U.S." or "a.m.", only these words start a new sentence.
_STARTERS = _words(
    "The This These That Those It Its We Our They Their He She His Her I In On At But And However "
    "As A An Both There Then Since While When If For To With After Before During Today Meanwhile "
    "Also"
)


def _ends_sentence(text: str, dot: int, end: int) -> bool:
    """Whether the stop at `dot` ends a sentence (abbreviations, initials, list numbers do not)."""
    following = m.group(1) if (m := _NEXT_WORD.match(text, end)) else ""
    if following[:1].islower():
        return False
    if text[dot] != "." or text[dot + 1 : dot + 2] == ".":
        return True
    start = m.start() if (m := _TOKEN_BEFORE.search(text, max(0, dot - 40), dot)) else dot
    whole = text[start:dot].lstrip("\"'(“‘[").rstrip("\\")
    token = _LAST_PART.split(whole)[-1]
    low = token.lower()
    if not token:
        return True
    if (len(token) == 1 and token.isupper()) or low in _NEVER_END:
        return False
    if low in ("no", "nos"):
        return not following[:1].isdigit()
    if _DOTTED.fullmatch(token):
        return following.rstrip(",;:") in _STARTERS
    if low in _SOMETIMES_END:
        return following[:1].isupper()
    if (len(token) <= 3 and token.isdigit()) or (len(token) == 1 and token.isalpha()):
        if whole != token:
            return True  # "May 30-31." is a date range, not a list number
        line_start = text.rfind("\n", 0, start) + 1
        return bool(text[line_start:start].strip())  # "1. The ..." at a line start is a number
    return True


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, trimmed of surrounding white space."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        stop = m.group("stop")
        if stop and not _ends_sentence(text, m.start(), m.end()):
            continue
        if m.group("blank") and text[m.end() : m.end() + 1].islower():
            continue  # PDF and OCR text put blank lines inside sentences ("territo-\n\nries")
        end = m.end() if stop or m.group("glued") else m.start()
        _add_span(spans, text, start, end)
        start = m.end()
    _add_span(spans, text, start, len(text))
    return spans


def _add_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        first = start + len(piece) - len(piece.lstrip())
        spans.append((first, first + len(stripped)))


def sentence_at(
    text: str, offset: int, spans: Sequence[tuple[int, int]] | None = None
) -> tuple[int, int]:
    """The sentence containing `offset`, or the one before; `spans` saves recomputing them."""
    spans = sentences(text) if spans is None else spans
    if not spans:
        return offset, offset
    k = bisect_right(spans, offset, key=lambda span: span[0]) - 1
    return spans[max(k, 0)]


def around(text: str, span: tuple[int, int], focus: tuple[int, int], width: int) -> tuple[int, int]:
    """At most about `width` characters of text[span] around text[focus], centred on it and cut
    at white space (a word longer than the window is cut where it must be); the whole span when
    it is short enough. Linear in `width`, not in the span."""
    start, end = span
    if end - start <= width:
        return start, end
    a, b = max(start, focus[0]), min(end, max(focus[1], focus[0]))
    spare = max(width - (b - a), 0)
    lo = max(start, a - spare // 2)
    hi = min(end, lo + max(width, b - a))
    lo = max(start, min(lo, hi - width))
    if lo > start:  # cut after the white space that ends a partial word
        cut = next((i + 1 for i in range(lo, min(a, lo + 40)) if text[i].isspace()), lo)
        lo = cut if cut <= a else lo
    if hi < end:
        cut = next((i for i in range(hi - 1, max(b, hi - 40) - 1, -1) if text[i].isspace()), hi)
        hi = cut if cut >= b else hi
    return lo, hi


def excerpt(text: str, span: tuple[int, int], focus: tuple[int, int], width: int) -> str:
    """text[span] tidied, or, when longer than `width`, the part `around` text[focus] with "…"
    where it was cut."""
    lo, hi = around(text, span, focus, width)
    shown = tidy(text[lo:hi])
    return ("…" if lo > span[0] else "") + shown + ("…" if hi < span[1] else "")
