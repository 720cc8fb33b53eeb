"""Whether a mention counts: the relevance rules and facets of the configuration.

Every mention a Matcher finds is judged here (README "Relevance"), and a mention set aside keeps
its reason: "excluded" (an exclusion of its concept covers it), "reported" (its sentence gives
another party's words), "negated" (a negation cue governs it in its clause) and, for concepts
that need the target, "other-target" (another country is joined to it, or is the nearest entity
in its clause) or "no-target" (no target within the window). Facets (the object of a
commitment) are read from the words joined to a mention, or from its sentence. The cues,
entities and facet values are patterns of monitor.analysis.patterns' syntax, in one more automaton that
runs only over the sentences around mentions; each mention looks only at the context near it,
so the work stays linear in the mentions.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from monitor.analysis.patterns import IS_HANGUL, Automaton, match_view
from monitor.analysis.text import normalise
from monitor.models import Concept, Facet, Relevance

# The kinds of context patterns, run only around mentions (see Matcher.find).
_TARGET, _OTHER, _NEG_BEFORE, _NEG_AFTER, _NOT_NEG, _REPORTED, _EXCLUDE, _FACET = range(8)
# What ends a clause for negation cues: a negation does not reach past it.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]|\s(?:but|while|whereas|and)\s|\s그러나\s|\s하지만\s")
_GAP_NOISE = re.compile(r"[\s\"'“”‘’()\[\]*_]+")  # and Markdown emphasis


class Context(NamedTuple):
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


class Scope:
    """One sentence's context hits, indexed for the questions a mention asks of them."""

    def __init__(self, text: str, start: int, hits: list[Context]) -> None:
        self.text, self.start = text, start
        self.hits = sorted(hits, key=lambda c: c.start)
        self.starts = [c.start for c in self.hits]
        self.entities = [c for c in self.hits if c.kind in (_TARGET, _OTHER)]
        self.entity_starts = [c.start for c in self.entities]
        self.reporting = [c for c in self.hits if c.kind == _REPORTED]
        self.names_target = any(c.kind == _TARGET for c in self.entities)
        self.facets = [c for c in self.hits if c.kind == _FACET]
        self.speakers = [
            c
            for c in self.entities
            if c.start - start <= 8 and text[start : c.start].strip().lower() in ("", "the")
        ]

    def near(self, a: int, b: int) -> list[Context]:
        """The hits that start within _NEAR characters of text[a:b] (or overlap it)."""
        lo = bisect_left(self.starts, a - _NEAR)
        hi = bisect_right(self.starts, b + _NEAR)
        return self.hits[lo:hi]

    def entities_near(self, a: int, b: int) -> list[Context]:
        lo = bisect_left(self.entity_starts, a - _NEAR)
        hi = bisect_right(self.entity_starts, b + _NEAR)
        return self.entities[lo:hi]

    def clause_entities(self, a: int, b: int) -> list[Context]:
        """The entities of the clause of text[a:b]: between the punctuation (, ; : and
        brackets) before and after it, looked for at most _CLAUSE characters away."""
        head = self.text[max(self.start, a - _CLAUSE) : a]
        breaks = list(_CLAUSE_PUNCT.finditer(head))
        lo = a - len(head) + breaks[-1].end() if breaks else a - len(head)
        tail = _CLAUSE_PUNCT.search(self.text, b, b + _CLAUSE)
        hi = tail.start() if tail else b + _CLAUSE
        first = bisect_left(self.entity_starts, lo)
        return [c for c in self.entities[first:] if c.start < hi and c.end > lo]

    def nearest(self, a: int, b: int, pool: Sequence[Context]) -> Context:
        """The entity of `pool` (not empty) nearest to text[a:b]."""
        return min(pool, key=lambda c: min(abs(c.start - b), abs(a - c.end)))

    def group(self, entity: Context) -> list[Context]:
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

    def _listed(self, x: Context, y: Context) -> bool:
        return y.start - x.end <= _MAX_GAP and _gap_key(self.text[x.end : y.start]) in _LIST_GAPS

    def reports(self, a: int, b: int) -> bool:
        """Whether a reported-speech cue of the sentence governs text[a:b]: on the same line (a
        list of bullets without full stops is one "sentence", but "KCNA claimed" in one bullet
        is not the speaker of the next)."""
        for c in self.reporting:
            lo, hi = (c.end, a) if c.end <= a else (b, c.start)
            if self.text.find("\n", lo, hi) == -1:
                return True
        return False

    def attributes(self, at: int) -> bool:
        """Whether text[at] sits in a quotation the sentence opens by naming its speaker (the
        Korean headline 北 "한미일 '완전한 비핵화' 요구는 도발")."""
        for c in self.speakers:
            quote = _OPENS_QUOTE.match(self.text, c.end)
            if quote and quote.end() <= at:
                return True
        return False


class Judge:
    """The relevance rules and facets of a lexicon, in one automaton of context patterns."""

    def __init__(
        self, concepts: Sequence[Concept], relevance: Relevance, facets: Sequence[Facet]
    ) -> None:
        self._concepts = tuple(concepts)
        self._relevance = relevance
        self._facets = tuple(facets)
        self._ids = [c.id for c in self._concepts]
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
        self._context = Automaton(context)
        # Nothing between also joins: "한반도 비핵화", "대북 제재", "비가역적인 한반도 비핵화".
        self._after = frozenset({"", *(_gap_key(x) for x in r.attach_after)})
        self._before = frozenset({"", *(_gap_key(x) for x in r.attach_before)})

    def scopes(
        self, text: str, spans: Sequence[tuple[int, int]], needed: dict[int, int]
    ) -> dict[int, Scope]:
        """Per sentence index, the context patterns found in it, for the sentences around the
        mentions (`needed`: sentence index -> window)."""
        wanted = sorted(
            {j for k, w in needed.items() for j in range(k - w, k + w + 1) if 0 <= j < len(spans)}
        )
        by_sentence: dict[int, list[Context]] = {}
        i = 0
        while i < len(wanted):
            j = i
            while j + 1 < len(wanted) and wanted[j + 1] == wanted[j] + 1:
                j += 1
            lo, hi = spans[wanted[i]][0], spans[wanted[j]][1]
            view = match_view(text[lo:hi])
            starts = [spans[x][0] for x in wanted[i : j + 1]]
            for label, spans_ in self._context.spans(view).items():
                kind, arg = self._labels[label]
                for start, end in spans_:
                    a, b = view.span(start, end)
                    k = wanted[i] + max(bisect_right(starts, a + lo) - 1, 0)
                    by_sentence.setdefault(k, []).append(Context(kind, arg, a + lo, b + lo))
            i = j + 1
        return {
            k: Scope(text, spans[k][0], _without_covered(hits)) for k, hits in by_sentence.items()
        }

    def judge(
        self, text: str, concept: int, a: int, b: int, k: int, context: dict[int, Scope]
    ) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """Why the mention text[a:b] (in sentence k) is set aside, or None; and its facets."""
        here = context.get(k) or Scope(text, a, [])
        near = here.near(a, b)
        facets = self._facets_of(text, concept, a, b, near, here)
        spec = self._concepts[concept]
        if any(
            c.kind == _EXCLUDE and c.arg == concept and c.start <= a and b <= c.end for c in near
        ):
            return "excluded", facets
        if here.reports(a, b) or here.attributes(a):
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
        w = self.window(concept)
        around = (context.get(j) for j in range(k - w, k + w + 1) if j != k)
        return (
            None if any(x is not None and x.names_target for x in around) else "no-target"
        ), facets

    def window(self, concept: int) -> int:
        own = self._concepts[concept].window
        return self._relevance.window if own is None else own

    def _negated(self, text: str, a: int, b: int, near: Sequence[Context]) -> bool:
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
        self, text: str, a: int, b: int, entities: Sequence[Context]
    ) -> list[Context]:
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
            len(x) > 1 and IS_HANGUL.search(x) and head.startswith(x) for x in self._before
        )

    def _facets_of(
        self,
        text: str,
        concept: int,
        a: int,
        b: int,
        near: Sequence[Context],
        here: Scope,
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

    def names_target(self, text: str) -> bool:
        """Whether `text` names the relevance target (a headline that says only 北 or 북핵)."""
        view = match_view(text)
        hits = [
            Context(self._labels[label][0], 0, start, end)
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
    if at == 0 or not (IS_HANGUL.match(text[at]) and IS_HANGUL.match(text[at - 1])):
        return False
    return not _NEG_STEM.search(text[at - 1])


def _without_covered(hits: list[Context]) -> list[Context]:
    """The hits without target entities inside an other entity (북한 in 북한산, the mountain)."""
    others = sorted((c for c in hits if c.kind == _OTHER), key=lambda c: c.start)
    if not others:
        return hits
    starts = [o.start for o in others]

    def covered(c: Context) -> bool:
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
    return "".join(words) if all(IS_HANGUL.search(w) for w in words) else " ".join(words)
