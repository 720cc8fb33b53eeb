"""The pattern syntax of concepts, cues and entities, compiled into one Aho-Corasick automaton.

Pattern syntax (the `patterns` of a concept in the TOML configuration):

- A phrase, matched on the normalised text (see `monitor.analysis.text.normalise`): case, Unicode form
  (full-width letters, NFD Hangul), quote and dash style, non-breaking and zero-width spaces, line
  breaks and words hyphenated across line breaks ("denuclear-\\nization") do not matter.
- Commas, double quotes, hyphens and dashes, and single quotes used as quotation marks separate
  words like a space: "complete, verifiable, and irreversible" also finds "complete, verifiable
  and irreversible" (with or without the Oxford comma), and "freeze-for-freeze" finds
  "freeze–for–freeze" and "freeze for freeze". An apostrophe inside a word counts ("People's").
- A trailing `*` makes the last word a prefix: "denucleari*" finds denuclearize, denuclearization,
  Denuclearisation, and the reported variant runs to the end of the word in the text. `*`
  anywhere else is an error; after a Hangul syllable it changes nothing (see below).
- Latin words match whole: the characters around a match must not be Latin letters or digits, so
  "freeze" does not find "freezer", "arms control" not "farms controller", "NCG" not "NCGs"
  (write "NCG*" for that). Only Latin letters and digits count, so "CVID" finds "CVID를".
- Hangul matches as a substring: with particles attached ("비핵화" finds "비핵화를") and inside
  longer words. Spaces between Hangul are optional both ways: "검증 가능한" finds "검증가능한", and
  "군비통제" finds "군비 통제". A space that the pattern does not have may only split the text
  into parts of two syllables or more, so "동결" does not find "운동 결과".

- A leading `=` makes a Korean term a word of its own: no Hangul before it, and after it only
  a particle (은, 는, 이, 가, 의, 에, 측, ...) or nothing, so "=북" finds 북은 and 북 미사일 but
  not 북극 or 경상북도.

Each concept counts the matches of its own patterns independently of other concepts (a CVID
sentence also counts for "denucleari*"); overlapping matches of one concept count once, the
longest winning.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import ahocorasick

from monitor.analysis.text import Normalised, normalise, refine
from monitor.errors import ConfigError

_WORD_CHARS = "0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_WORD = frozenset(c for c in map(chr, range(0x250)) if re.fullmatch(f"[{_WORD_CHARS}]", c))
_WORD_RUN = re.compile(f"[{_WORD_CHARS}]*")
_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff"
IS_HANGUL = re.compile(f"[{_HANGUL}]")
# Single quotes not inside a word are quotation marks, and separate words like spaces.
_QUOTE_MARK = re.compile(r"'(?!\w)|'(?<!\w')")
_SPACE_RUN = re.compile("   *")
_HANGUL_SPACE = re.compile(f" (?<=[{_HANGUL}] )(?=[{_HANGUL}])")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"


class _Entry(NamedTuple):
    """What a key of the automaton means for one pattern."""

    label: int  # the concept (or, in the context automaton, the cue) the pattern belongs to
    left: bool  # the character before must not be a word character
    right: bool  # the character after must not be a word character
    extend: bool  # a trailing `*`: the match runs on to the end of the word
    spaces: frozenset[int] | None  # for Hangul keys: where the pattern had a space
    word: bool = False  # a leading `=`: a Hangul word of its own, particles allowed after


def match_view(text: str, norm: Normalised | None = None) -> Normalised:
    """The normalised view with separators made spaces and spaces between Hangul removed;
    `norm`, `normalise(text)` already made (for the content hash), is not made again."""
    norm = normalise(text) if norm is None else norm
    flat = norm.text
    for separator in ',"-':
        flat = flat.replace(separator, " ")  # one for one: the offsets stay
    view = refine(Normalised(flat, text, norm.layers), _QUOTE_MARK, lambda m: " ")
    view = refine(view, _SPACE_RUN, lambda m: " ")
    return refine(view, _HANGUL_SPACE, lambda m: "")


def _splits(view: Normalised, start: int, end: int) -> list[int]:
    """Offsets (from `start`) inside view[start:end] where the original has a space or separator."""
    a, b = view.span(start, end)
    if b - a == end - start:
        return []
    original = view.original
    return [
        p - start
        for p in range(start + 1, end)
        if original[view.origin_end(p) : view.origin(p)].strip(_INVISIBLE)
    ]


def _split_ok(text_spaces: list[int], pattern_spaces: frozenset[int], length: int) -> bool:
    """Whether the text splits a Hangul term only where the pattern does or into 2+ syllables."""
    bounds = [0, *text_spaces, length]
    return all(
        p in pattern_spaces or (p - bounds[i] >= 2 and bounds[i + 2] - p >= 2)
        for i, p in enumerate(text_spaces)
    )


# What may follow a Hangul word written `=word`: nothing, or one of these particles.
_PARTICLES = frozenset(
    [
        "은",
        "는",
        "이",
        "가",
        "을",
        "를",
        "의",
        "에",
        "에서",
        "에게",
        "에는",
        "에도",
        "에선",
        "와",
        "과",
        "와의",
        "과의",
        "도",
        "만",
        "로",
        "으로",
        "으로서",
        "으로는",
        "까지",
        "부터",
        "보다",
        "처럼",
        "이나",
        "나",
        "이며",
        "며",
        "이라고",
        "라고",
        "이라는",
        "라는",
        "측",
        "측은",
        "측이",
        "측의",
        "측에",
        "측과",
        "측도",
        "측을",
        "측에서",
        "은요",
        "이다",
        "다",
    ]
)
_HANGUL_RUN = re.compile(f"[{_HANGUL}]*")


def _compile(pattern: str, label: int) -> tuple[str, _Entry]:
    """The automaton key and entry of one pattern."""
    body = pattern.strip()
    word = body.startswith("=")
    body = body.removeprefix("=")
    extend = body.endswith("*")
    body = body.removesuffix("*")
    view = match_view(body)
    key = view.text.strip()
    if "*" in body or not key:
        raise ConfigError(
            f"pattern {pattern!r} is empty or has a * before its end; write one pattern per "
            "spelling, with * only after the last word"
        )
    lead = len(view.text) - len(view.text.lstrip())
    hangul = IS_HANGUL.search(key) is not None
    if word and not (hangul and IS_HANGUL.match(key[0]) and IS_HANGUL.match(key[-1])):
        raise ConfigError(
            f"pattern {pattern!r}: a leading = is for Korean words (it makes the word stand "
            "alone, particles allowed after); remove it"
        )
    spaces = frozenset(_splits(view, lead, lead + len(key))) if hangul else None
    first, last = key[0] in _WORD, key[-1] in _WORD
    return key, _Entry(label, first, last and not extend, extend and last, spaces, word)


def problem(pattern: str) -> str | None:
    """Why `pattern` cannot be matched (what the automaton would refuse), or None."""
    try:
        _compile(pattern, 0)
    except ConfigError as exc:
        return str(exc)
    return None


class Automaton:
    """Patterns under integer labels, compiled into one Aho-Corasick automaton over the view."""

    def __init__(self, patterns: Iterable[tuple[str, int]]) -> None:
        keys: dict[str, list[_Entry]] = {}
        for pattern, label in patterns:
            key, entry = _compile(pattern, label)
            keys.setdefault(key, []).append(entry)
        self._automaton: ahocorasick.Automaton | None = None
        if keys:
            self._automaton = ahocorasick.Automaton()
            for key, entries in keys.items():
                self._automaton.add_word(key, (len(key), tuple(entries)))
            self._automaton.make_automaton()

    def hits(self, view: Normalised) -> Iterator[tuple[int, int, int]]:
        """(label, start, end) in the view for every accepted match, overlaps included."""
        if self._automaton is None:
            return
        text = view.text
        n = len(text)
        for last, (length, entries) in self._automaton.iter(text):
            start, end = last - length + 1, last + 1
            word_before = start > 0 and text[start - 1] in _WORD
            word_after = end < n and text[end] in _WORD
            text_spaces: list[int] | None = None
            for entry in entries:
                if (entry.left and word_before) or (entry.right and word_after):
                    continue
                if entry.spaces is not None:
                    if text_spaces is None:
                        text_spaces = _splits(view, start, end)
                    if text_spaces and not _split_ok(text_spaces, entry.spaces, length):
                        continue
                if entry.word and not _stands_alone(view, start, end):
                    continue
                word = _WORD_RUN.match(text, end) if entry.extend else None
                yield entry.label, start, word.end() if word else end

    def spans(self, view: Normalised) -> dict[int, list[tuple[int, int]]]:
        """Per label, its matches in the view; overlapping ones resolved to the longest."""
        hits: dict[int, list[tuple[int, int]]] = {}
        for label, start, end in self.hits(view):
            hits.setdefault(label, []).append((start, end))
        kept: dict[int, list[tuple[int, int]]] = {}
        for label, spans in hits.items():
            chosen: list[tuple[int, int]] = []
            for start, end in sorted(set(spans), key=lambda s: (s[0] - s[1], s[0])):
                k = bisect_left(chosen, (start, end))
                if (k == 0 or chosen[k - 1][1] <= start) and (
                    k == len(chosen) or chosen[k][0] >= end
                ):
                    chosen.insert(k, (start, end))
            kept[label] = chosen
        return kept


def _stands_alone(view: Normalised, start: int, end: int) -> bool:
    """Whether view[start:end] is a Hangul word of its own in the original, particles allowed."""
    a, b = view.span(start, end)
    original = view.original
    if a > 0 and IS_HANGUL.match(original[a - 1]):
        return False
    tail = _HANGUL_RUN.match(original, b)
    return tail is None or not tail.group() or tail.group() in _PARTICLES
