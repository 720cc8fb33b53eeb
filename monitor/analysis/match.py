"""Find the concepts of the configuration in English and Korean text, in one pass, and judge
each mention.

The patterns (monitor.analysis.patterns) of every concept are compiled into one Aho-Corasick automaton
over the normalised text; each mention found is then judged by the relevance rules and read for
facets (monitor.analysis.relevance), and returned with its reason, whether it counts, and its facets.
Each concept counts the matches of its own patterns independently of other concepts (a CVID
sentence also counts for "denucleari*"); overlapping matches of one concept count once, the
longest winning.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from monitor.analysis.patterns import Automaton, match_view
from monitor.analysis.relevance import Judge
from monitor.analysis.text import Normalised, sentences, tidy
from monitor.models import Concept, Facet, Mention, Relevance


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
        self._main = Automaton(
            (pattern, i) for i, c in enumerate(self._concepts) for pattern in c.patterns
        )
        self._judge = Judge(self._concepts, self._relevance, self._facets)

    @property
    def facets(self) -> tuple[Facet, ...]:
        """The facets, in the configured order."""
        return self._facets

    @property
    def ids(self) -> tuple[str, ...]:
        """The concept ids in the order they were given, each once."""
        return tuple(dict.fromkeys(self._ids))

    def find(self, text: str, norm: Normalised | None = None) -> list[Mention]:
        """Every mention of every concept in `text`, by start offset in `text`, each judged by
        the relevance rules (see the module docstring); `norm` is `normalise(text)` when the
        caller has it already."""
        view = match_view(text, norm)
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
            needed[k] = max(needed.get(k, 0), self._judge.window(concept))
        context = self._judge.scopes(text, spans, needed)
        judged = []
        for concept, a, b, k in located:
            reason, facets = self._judge.judge(text, concept, a, b, k, context)
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
                    *spans[k],
                )
            )
        return sorted(mentions, key=lambda m: (m.start, m.end, m.concept))

    def concepts_in(self, text: str) -> dict[str, int]:
        """How many counted mentions each concept found in `text` has (others left out)."""
        counts: dict[str, int] = {}
        for m in self.find(text):
            if m.counted:
                counts[m.concept] = counts.get(m.concept, 0) + 1
        return counts

    def matches_any(self, text: str) -> bool:
        """Whether any concept occurs in `text` (for titles and summaries), relevant or not."""
        return next(self._main.hits(match_view(text)), None) is not None

    def names_target(self, text: str) -> bool:
        """Whether `text` names the relevance target (a headline that says only 北 or 북핵)."""
        return self._judge.names_target(text)
