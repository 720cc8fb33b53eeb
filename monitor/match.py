"""Find the concepts of the configuration in English and Korean text, in one pass.

Pattern syntax (the `patterns` of a concept in the TOML configuration):

- A phrase, matched on the normalised text (see `monitor.text.normalise`): case, Unicode form
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

Relevance (README "Relevance"). Every mention is then judged, and a mention set aside keeps its
reason: "excluded" (an exclusion of its concept covers it), "negated" (a negation cue governs
it in its clause), "reported" (its sentence attributes the words to another party), and, for
concepts that need the target, "other-target" (another country is joined to it, or is the
nearest entity in its sentence) or "no-target" (no target within the window). Facets (the
object of a commitment) are read from the words joined to a mention, or from its sentence. The
cues, entities and facet values are patterns of the same syntax, compiled into a second
automaton that runs only over the sentences around the mentions, so a text without mentions
costs nothing more.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import ahocorasick

from monitor.errors import ConfigError
from monitor.models import Concept, Facet, Mention, Relevance
from monitor.text import Normalised, normalise, refine, sentences, tidy

_WORD_CHARS = "0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_WORD = frozenset(c for c in map(chr, range(0x250)) if re.fullmatch(f"[{_WORD_CHARS}]", c))
_WORD_RUN = re.compile(f"[{_WORD_CHARS}]*")
_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff"
_IS_HANGUL = re.compile(f"[{_HANGUL}]")
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


def _match_view(text: str) -> Normalised:
    """The normalised view with separators made spaces and spaces between Hangul removed."""
    norm = normalise(text)
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
    view = _match_view(body)
    key = view.text.strip()
    if "*" in body or not key:
        raise ConfigError(
            f"pattern {pattern!r} is empty or has a * before its end; write one pattern per "
            "spelling, with * only after the last word"
        )
    lead = len(view.text) - len(view.text.lstrip())
    hangul = _IS_HANGUL.search(key) is not None
    if word and not (hangul and _IS_HANGUL.match(key[0]) and _IS_HANGUL.match(key[-1])):
        raise ConfigError(
            f"pattern {pattern!r}: a leading = is for Korean words (it makes the word stand "
            "alone, particles allowed after); remove it"
        )
    spaces = frozenset(_splits(view, lead, lead + len(key))) if hangul else None
    first, last = key[0] in _WORD, key[-1] in _WORD
    return key, _Entry(label, first, last and not extend, extend and last, spaces, word)


class _Automaton:
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
    if a > 0 and _IS_HANGUL.match(original[a - 1]):
        return False
    tail = _HANGUL_RUN.match(original, b)
    return tail is None or not tail.group() or tail.group() in _PARTICLES


# The kinds of context patterns, run only around mentions (see Matcher.find).
_TARGET, _OTHER, _NEG_BEFORE, _NEG_AFTER, _NOT_NEG, _REPORTED, _EXCLUDE, _FACET = range(8)
# What ends a clause for negation cues: a negation does not reach past it.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]|\s(?:but|while|whereas|and)\s|\s그러나\s|\s하지만\s")
_GAP_NOISE = re.compile(r"[\s\"'“”‘’()\[\]]+")


class _Context(NamedTuple):
    kind: int
    arg: int  # the concept (for exclusions) or the (facet, value) index (for facets)
    start: int  # offsets in the original text
    end: int


# Context further than this from a mention (characters) is not joined to it, and negation cues
# further than this are not looked at: the work per mention stays bounded in a long sentence.
_MAX_GAP = 48
_NEAR = 160
# A clause: what lies between two of these, at most _CLAUSE characters either side of a mention.
_CLAUSE_PUNCT = re.compile(r"[,;:()\[\]]")
_CLAUSE = 400
# What may end a Korean word before a negation cue inside it ("하지 않", "되지 않"): a verb stem.
_NEG_STEM = re.compile("[지되]$")


class _Scope:
    """One sentence's context hits, indexed for the questions a mention asks of them."""

    def __init__(self, text: str, start: int, hits: list[_Context]) -> None:
        self.text, self.start = text, start
        self.hits = sorted(hits, key=lambda c: c.start)
        self.starts = [c.start for c in self.hits]
        self.entities = [c for c in self.hits if c.kind in (_TARGET, _OTHER)]
        self.entity_starts = [c.start for c in self.entities]
        self.reported = any(c.kind == _REPORTED for c in self.hits)
        self.names_target = any(c.kind == _TARGET for c in self.entities)
        self.facets = [c for c in self.hits if c.kind == _FACET]
        self.speakers = [
            c
            for c in self.entities
            if c.start - start <= 8 and text[start : c.start].strip().lower() in ("", "the")
        ]

    def near(self, a: int, b: int) -> list[_Context]:
        """The hits that start within _NEAR characters of text[a:b] (or overlap it)."""
        lo = bisect_left(self.starts, a - _NEAR)
        hi = bisect_right(self.starts, b + _NEAR)
        return self.hits[lo:hi]

    def entities_near(self, a: int, b: int) -> list[_Context]:
        lo = bisect_left(self.entity_starts, a - _NEAR)
        hi = bisect_right(self.entity_starts, b + _NEAR)
        return self.entities[lo:hi]

    def clause_entities(self, a: int, b: int) -> list[_Context]:
        """The entities of the clause of text[a:b]: between the punctuation (, ; : and
        brackets) before and after it, looked for at most _CLAUSE characters away."""
        head = self.text[max(self.start, a - _CLAUSE) : a]
        breaks = list(_CLAUSE_PUNCT.finditer(head))
        lo = a - len(head) + breaks[-1].end() if breaks else a - len(head)
        tail = _CLAUSE_PUNCT.search(self.text, b, b + _CLAUSE)
        hi = tail.start() if tail else b + _CLAUSE
        first = bisect_left(self.entity_starts, lo)
        return [c for c in self.entities[first:] if c.start < hi and c.end > lo]

    def nearest(self, a: int, b: int, pool: Sequence[_Context]) -> _Context:
        """The entity of `pool` (not empty) nearest to text[a:b]."""
        return min(pool, key=lambda c: min(abs(c.start - b), abs(a - c.end)))

    def group(self, entity: _Context) -> list[_Context]:
        """The list of entities `entity` belongs to ("North Korea and Russia", "러시아와 북한")."""
        k = bisect_left(self.entity_starts, entity.start)
        while self.entities[k] is not entity:
            k += 1
        lo = hi = k
        while lo > 0 and self._listed(self.entities[lo - 1], self.entities[lo]):
            lo -= 1
        while hi + 1 < len(self.entities) and self._listed(
            self.entities[hi], self.entities[hi + 1]
        ):
            hi += 1
        return self.entities[lo : hi + 1]

    def _listed(self, x: _Context, y: _Context) -> bool:
        return y.start - x.end <= _MAX_GAP and _gap_key(self.text[x.end : y.start]) in _LIST_GAPS

    def attributes(self, at: int) -> bool:
        """Whether text[at] sits in a quotation the sentence opens by naming its speaker (the
        Korean headline 北 "한미일 '완전한 비핵화' 요구는 도발")."""
        for c in self.speakers:
            quote = _OPENS_QUOTE.match(self.text, c.end)
            if quote and quote.end() <= at:
                return True
        return False


class Matcher:
    """All patterns of all concepts in one Aho-Corasick automaton over the match view, and the
    relevance rules and facets in a second one, run only on the sentences around mentions."""

    def __init__(
        self,
        concepts: Iterable[Concept],
        relevance: Relevance | None = None,
        facets: Sequence[Facet] = (),
    ) -> None:
        self._concepts = tuple(concepts)
        self._ids: list[str] = [c.id for c in self._concepts]
        self._relevance = relevance or Relevance()
        self._facets = tuple(facets)
        self._main = _Automaton(
            (pattern, i) for i, c in enumerate(self._concepts) for pattern in c.patterns
        )
        r = self._relevance
        self._labels: list[tuple[int, int]] = []
        context: list[tuple[str, int]] = []

        def add(kind: int, arg: int, patterns: Iterable[str]) -> None:
            for pattern in patterns:
                context.append((pattern, len(self._labels)))
                self._labels.append((kind, arg))

        add(_TARGET, 0, r.target)
        add(_OTHER, 0, r.others)
        add(_NEG_BEFORE, 0, r.negation_before)
        add(_NEG_AFTER, 0, r.negation_after)
        add(_NOT_NEG, 0, r.not_negation)
        add(_REPORTED, 0, r.reported)
        for i, c in enumerate(self._concepts):
            add(_EXCLUDE, i, c.exclude)
        self._values: list[tuple[Facet, str]] = []
        for facet in self._facets:
            for value in facet.values:
                add(_FACET, len(self._values), value.patterns)
                self._values.append((facet, value.id))
        self._context = _Automaton(context)
        # Nothing between also joins: "한반도 비핵화", "대북 제재", "비가역적인 한반도 비핵화".
        self._after = frozenset({"", *(_gap_key(x) for x in r.attach_after)})
        self._before = frozenset({"", *(_gap_key(x) for x in r.attach_before)})

    @property
    def facets(self) -> tuple[Facet, ...]:
        """The facets, in the configured order."""
        return self._facets

    @property
    def ids(self) -> tuple[str, ...]:
        """The concept ids in the order they were given, each once."""
        return tuple(dict.fromkeys(self._ids))

    def find(self, text: str) -> list[Mention]:
        """Every mention of every concept in `text`, by start offset in `text`, each judged by
        the relevance rules (see the module docstring)."""
        view = _match_view(text)
        found = self._main.spans(view)
        if not found:
            return []
        spans = sentences(text) or [(0, len(text))]
        starts = [s for s, _ in spans]
        located = []
        for concept, matches in found.items():
            for start, end in matches:
                a, b = view.span(start, end)
                located.append((concept, a, b, max(bisect_right(starts, a) - 1, 0)))
        needed: dict[int, int] = {}
        for concept, *_, k in located:
            needed[k] = max(needed.get(k, 0), self._window(concept))
        hits = self._context_hits(text, spans, needed)
        context = {k: _Scope(text, spans[k][0], found) for k, found in hits.items()}
        judged = []
        for concept, a, b, k in located:
            reason, facets = self._judge(text, concept, a, b, k, context)
            judged.append((a, b, concept, k, reason, facets))
        # A mention inside a longer mention of another concept takes its judgement: the
        # "denuclearization" of a negated "complete denuclearization" is negated too.
        judged.sort(key=lambda x: (x[0], -x[1]))
        mentions = []
        shown: dict[int, str] = {}  # the sentences as stored, each tidied once
        outer: tuple[int, int, int, int, str | None, tuple[tuple[str, str], ...]] | None = None
        for a, b, concept, k, reason, facets in judged:
            if outer is not None and b <= outer[1] and concept != outer[2]:
                reason = outer[4]
            elif outer is None or b > outer[1]:
                outer = (a, b, concept, k, reason, facets)
            if k not in shown:
                shown[k] = tidy(text[spans[k][0] : spans[k][1]])
            mentions.append(
                Mention(
                    self._ids[concept],
                    tidy(text[a:b]),
                    shown[k],
                    a,
                    b,
                    reason,
                    reason is None or reason in self._relevance.count,
                    facets,
                )
            )
        return sorted(mentions, key=lambda m: (m.start, m.end, m.concept))

    def _context_hits(
        self, text: str, spans: Sequence[tuple[int, int]], needed: dict[int, int]
    ) -> dict[int, list[_Context]]:
        """Per sentence index, the context patterns found in it, for the sentences around the
        mentions (`needed`: sentence index -> window)."""
        wanted = sorted(
            {j for k, w in needed.items() for j in range(k - w, k + w + 1) if 0 <= j < len(spans)}
        )
        by_sentence: dict[int, list[_Context]] = {}
        i = 0
        while i < len(wanted):
            j = i
            while j + 1 < len(wanted) and wanted[j + 1] == wanted[j] + 1:
                j += 1
            lo, hi = spans[wanted[i]][0], spans[wanted[j]][1]
            view = _match_view(text[lo:hi])
            starts = [spans[x][0] for x in wanted[i : j + 1]]
            for label, spans_ in self._context.spans(view).items():
                kind, arg = self._labels[label]
                for start, end in spans_:
                    a, b = view.span(start, end)
                    k = wanted[i] + max(bisect_right(starts, a + lo) - 1, 0)
                    by_sentence.setdefault(k, []).append(_Context(kind, arg, a + lo, b + lo))
            i = j + 1
        return {k: _without_covered(hits) for k, hits in by_sentence.items()}

    def _judge(
        self, text: str, concept: int, a: int, b: int, k: int, context: dict[int, _Scope]
    ) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """Why the mention text[a:b] (in sentence k) is set aside, or None; and its facets."""
        here = context.get(k) or _Scope(text, a, [])
        near = here.near(a, b)
        facets = self._facets_of(text, concept, a, b, near, here)
        spec = self._concepts[concept]
        if any(
            c.kind == _EXCLUDE and c.arg == concept and c.start <= a and b <= c.end for c in near
        ):
            return "excluded", facets
        if here.reported or here.attributes(a):
            return "reported", facets  # before negation: KCNA's "daydream" is KCNA's words
        if self._negated(text, a, b, near):
            return "negated", facets
        if not spec.needs_target:
            return None, facets
        attached = self._attached_entities(text, a, b, here.entities_near(a, b))
        if attached:
            return (None if any(c.kind == _TARGET for c in attached) else "other-target"), facets
        if here.entities:
            first = here.entities[0]
            if first.kind == _TARGET and (_TOPIC.match(text, first.end) or first in here.speakers):
                # the sentence is about its topic or subject: "북한은 러시아와의 … 제재",
                # "North Korea, like Iran, faces sanctions"
                return None, facets
            clause = here.clause_entities(a, b)
            if not clause:
                # "…complete denuclearisation, …, and condemned Russia's arms deals with the
                # DPRK": another clause's country does not take the mention from the target
                return (None if here.names_target else "other-target"), facets
            nearest = here.nearest(a, b, clause)
            if nearest.kind == _TARGET or any(c.kind == _TARGET for c in here.group(nearest)):
                return None, facets  # "between North Korea and Russia": the target is in it
            return "other-target", facets
        w = self._window(concept)
        around = (context.get(j) for j in range(k - w, k + w + 1) if j != k)
        return (
            None if any(x is not None and x.names_target for x in around) else "no-target"
        ), facets

    def _window(self, concept: int) -> int:
        own = self._concepts[concept].window
        return self._relevance.window if own is None else own

    def _negated(self, text: str, a: int, b: int, near: Sequence[_Context]) -> bool:
        """Whether a negation cue governs text[a:b]: a `negation_before` cue at most
        `negation_words` words before it, a `negation_after` one as close after it, in the same
        clause, and no `not_negation` phrase over the cue."""
        limit = self._relevance.negation_words
        cancels = [c for c in near if c.kind == _NOT_NEG]
        for cue in near:
            if cue.kind == _NEG_BEFORE and cue.end <= a:
                gap = text[cue.end : a]
            elif cue.kind == _NEG_AFTER and cue.start >= b:
                gap = text[b : cue.start]
            else:
                continue
            if len(gap.split()) > limit or _CLAUSE_BREAK.search(f" {gap} "):
                continue
            if any(x.start < cue.end and cue.start < x.end for x in cancels):
                continue
            if cue.kind == _NEG_AFTER and _inside_word(text, cue.start):
                continue  # 빠짐없이, 끊임없이: an adverb, not a negation of the mention
            return True
        return False

    def _attached_entities(
        self, text: str, a: int, b: int, entities: Sequence[_Context]
    ) -> list[_Context]:
        """The entities joined to the mention text[a:b]: inside it, right after it ("sanctions
        on Russia", with the list that follows: "on Russia, Iran and North Korea") or right
        before it ("North Korea's", "대북", "이란에 대한 미국의 제재")."""
        found = [c for c in entities if c.start < b and a < c.end]
        if found:
            return found
        end = b
        for c in (c for c in entities if c.start >= b):
            if c.start - end > _MAX_GAP:
                break
            gap = _gap_key(text[end : c.start])
            if (end == b and gap in self._after) or (end > b and gap in _LIST_GAPS):
                found.append(c)
                end = c.end
            elif c.start > end:
                break
        if found:
            return found
        before = [c for c in entities if c.end <= a and a - c.end <= _MAX_GAP]
        if before and self._joins_before(text[before[-1].end : a]):
            return [before[-1]]
        return []

    def _joins_before(self, gap: str) -> bool:
        """Whether the words between an entity and the mention after it join them: an
        attach_before word, which in Korean may govern a few more words ("에 대한 미국의")."""
        key = _gap_key(gap)
        if key in self._before:
            return True
        words = _GAP_NOISE.sub(" ", normalise(gap).text).split()
        head = "".join(words[:2])
        # only a connector of its own ("에 대한"), not a particle: in "북한의 핵동결을 비핵화로"
        # 북한 qualifies 핵동결, not 비핵화
        return len(words) <= 4 and any(
            len(x) > 1 and _IS_HANGUL.search(x) and head.startswith(x) for x in self._before
        )

    def _facets_of(
        self,
        text: str,
        concept: int,
        a: int,
        b: int,
        near: Sequence[_Context],
        here: _Scope,
    ) -> tuple[tuple[str, str], ...]:
        """The (facet, value) pairs of a mention, in the configured order of facets and values."""
        cid = self._ids[concept]
        found: set[int] = set()
        for facet in self._facets:
            if cid not in facet.concepts:
                continue
            pool = here.facets if facet.scope == "sentence" else near
            for c in pool:
                if c.kind != _FACET or self._values[c.arg][0] is not facet:
                    continue
                if facet.scope == "sentence":
                    found.add(c.arg)
                    continue
                inside = c.start < b and a < c.end
                after = c.start >= b and _gap_key(text[b : c.start]) in self._after
                before = c.end <= a and self._joins_before(text[c.end : a])
                if inside or after or before:
                    found.add(c.arg)
        return tuple((self._values[i][0].id, self._values[i][1]) for i in sorted(found))

    def concepts_in(self, text: str) -> dict[str, int]:
        """How many counted mentions each concept found in `text` has (others left out)."""
        counts: dict[str, int] = {}
        for m in self.find(text):
            if m.counted:
                counts[m.concept] = counts.get(m.concept, 0) + 1
        return counts

    def matches_any(self, text: str) -> bool:
        """Whether any concept occurs in `text` (for titles and summaries), relevant or not."""
        return next(self._main.hits(_match_view(text)), None) is not None

    def names_target(self, text: str) -> bool:
        """Whether `text` names the relevance target (a headline that says only 北 or 북핵)."""
        view = _match_view(text)
        hits = [
            _Context(self._labels[label][0], 0, start, end)
            for label, start, end in self._context.hits(view)
            if self._labels[label][0] in (_TARGET, _OTHER)
        ]
        return any(c.kind == _TARGET for c in _without_covered(hits))


# A Korean topic or subject: the entity the sentence is about ("북한은", "北이").
_TOPIC = re.compile("(?:은|는|이|가)(?![가-힣])")
# Between the entities of a list: "Russia, Iran and North Korea", "러시아와 북한".
_LIST_GAPS = frozenset({"", ",", "and", ",and", "or", ",or", "&", "/", "와", "과", "및", "·"})


# A headline that opens with a speaker and a quotation: 北 "…", 김여정 "…", Pyongyang: "…".
_OPENS_QUOTE = re.compile(r"\s*[,:]?\s*[\"“”]")


def _inside_word(text: str, at: int) -> bool:
    """Whether the Korean cue at text[at] continues a word that is not a verb stem before a
    negative ending ("하지않", "되지않" are; "빠짐없이" is not)."""
    if at == 0 or not (_IS_HANGUL.match(text[at]) and _IS_HANGUL.match(text[at - 1])):
        return False
    return not _NEG_STEM.search(text[at - 1])


def _without_covered(hits: list[_Context]) -> list[_Context]:
    """The hits without target entities inside an other entity (북한 in 북한산, the mountain)."""
    others = sorted((c for c in hits if c.kind == _OTHER), key=lambda c: c.start)
    if not others:
        return hits
    starts = [o.start for o in others]

    def covered(c: _Context) -> bool:
        k = bisect_right(starts, c.start)
        return any(
            c.end <= o.end and o.end - o.start > c.end - c.start for o in others[max(0, k - 4) : k]
        )

    return [c for c in hits if c.kind != _TARGET or not covered(c)]


def _gap_key(gap: str) -> str:
    """The words between a mention and an entity, as compared with the attach lists: case,
    quotes, brackets and spacing ignored, and "the" dropped. Only what follows a dash counts:
    a speaker's self-correction ("denuclearization of the prin- — of the Korean Peninsula")."""
    folded = normalise(gap).text.replace("’", "'")
    folded = re.split(r"-\s|\s-|[–—]", folded)[-1]
    words = [w for w in _GAP_NOISE.sub(" ", folded).split() if w != "the"]
    return "".join(words) if all(_IS_HANGUL.search(w) for w in words) else " ".join(words)
