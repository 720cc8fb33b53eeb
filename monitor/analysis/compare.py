"""Compare two versions of a document: concept deltas, stance moves, sentence diff, significance.

`compare` strips the per-source boilerplate (`ignore`) from both texts, counts each concept on
each side, places each side on every configured ladder, and diffs the sentences. `verdict` says
what happened in one line an analyst can quote; `as_json` is the shape of `monitor compare --json`
(and of the stored `changes.comparison`), read back by `Comparison.from_json`.

Variants (`ConceptDelta.variants_old` / `variants_new`) are the distinct spellings matched, in the
order they first appear in the document; two spellings that differ only in case, quote or dash
style or white space count as one, and the first one seen is kept.

Significance, a number in [0, 1]. With sat(k) = k / (k + 1), which grows from 0 towards 1:

1. Weakening, 0.8 + 0.2 * sat(kA), when kA > 0. kA is the sum, over the ladders that moved down, of
   the rungs fallen, plus the number of dropped concepts that are on a ladder that did not move up
   and stood above the new side's strongest concept of it. A rung is a concept's position on its
   ladder; a side with none of the ladder's concepts sits one rung below the last. (A ladder that
   moved up replaced its lower rungs: the concepts it dropped on the way count in band 2, with the
   upgrade.)
2. Other concept changes, 0.5 + 0.3 * sat(kB), when kB > 0: kB is the sum over all concepts
   of |new count - old count|, plus the rungs risen on ladders that moved up. A facet that
   changed on a concept's own mentions lifts the score to at least FACET_FLOOR (0.65).
3. Wording around concepts, 0.25 + 0.25 * sat(kC), when kC > 0: kC is the number of added, removed
   and changed sentences that carry a mention that counts (either side of a changed one).
4. Other wording, 0.25 * sat(u / W) = 0.25 * u / (u + W): u is the number of words touched (the
   words of added, removed and moved sentences, and of the removed and added runs of changed
   sentences, at least 1 per changed sentence), W the word count of the longer side.

Counts are of the mentions that count (`Mention.counted`, see monitor/analysis/relevance.py): a
mention set aside by the relevance rules changes no count, ladder or band; `set_aside_*` report
them.

Only the first band that applies counts. A new side that lost half or more of its words and gained
almost none (a truncated or failed extraction, more often than a rewrite) is capped at 0.79, below
band 1, and its verdict starts with "text shrank N%". Each band is increasing in its k and stays
below the next band's floor; since k >= 1 in bands 1-3 their scores fall in [0.9, 1), [0.65, 0.8)
and [0.375, 0.5), and band 4 in [0, 0.25) (in practice below 1/6, as u is about 2W at most).
Identical texts, text that differs only in boilerplate removed by `ignore`, and reflowed text (an
empty sentence diff with equal concept counts) score exactly 0.

Longer than most modules: the concept deltas, the ladder placements, the significance bands
above and the verdict line read the same matched mentions and must agree with one another; the
sentence diff is monitor/analysis/diff.py and rewording.py.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from monitor.analysis.diff import diff as sentence_diff
from monitor.analysis.diff import pair_sentences, sentence_key, strip_ignored, word_ops
from monitor.analysis.match import Matcher
from monitor.analysis.text import normalise
from monitor.models import (
    ChangedSentence,
    Comparison,
    ConceptDelta,
    ConceptStatus,
    DocumentSide,
    Evidence,
    Facet,
    Mention,
    Move,
    Qualifier,
    QualifierStatus,
    SentenceDiff,
    StanceMove,
)

DROPPED: Final = "dropped"
INTRODUCED: Final = "introduced"
INCREASED: Final = "increased"
DECREASED: Final = "decreased"
UNCHANGED: Final = "unchanged"
DOWNGRADE: Final = "downgrade"
UPGRADE: Final = "upgrade"
SAME: Final = "same"
KEPT: Final = "kept"
CHANGED: Final = "changed"


def compare(
    old_text: str,
    new_text: str,
    *,
    matcher: Matcher,
    ladders: Mapping[str, Sequence[str]],
    old_title: str | None = None,
    new_title: str | None = None,
    ignore: Sequence[re.Pattern[str]] = (),
) -> Comparison:
    """Compare an old and a new version of a document (see the module docstring)."""
    old_text = strip_ignored(old_text, ignore)
    new_text = strip_ignored(new_text, ignore)
    old_all, new_all = matcher.find(old_text), matcher.find(new_text)
    old_mentions = [m for m in old_all if m.counted]
    new_mentions = [m for m in new_all if m.counted]
    old_counts = Counter(m.concept for m in old_mentions)
    new_counts = Counter(m.concept for m in new_mentions)
    order = _concept_order(matcher, old_all, new_all)
    stance = tuple(_stance(name, steps, old_counts, new_counts) for name, steps in ladders.items())
    (old_facets, old_outer), (new_facets, new_outer) = (
        _with_inherited(old_mentions),
        _with_inherited(new_mentions),
    )
    qualifiers = _qualifiers(matcher.facets, order, old_facets, new_facets, old_outer, new_outer)
    moved_facets = {q.concept for q in qualifiers if q.status != KEPT}
    superseded = _superseded(stance, ladders)
    languages = (language(old_text), language(new_text))
    translated = languages[0] != languages[1]
    sentences = SentenceDiff() if translated else sentence_diff(old_text, new_text)
    rewordings = {sentence_key(x.old): x for x in sentences.changed}
    rewordings.update({sentence_key(x.new): x for x in sentences.changed})
    deltas = []
    for cid in order:
        aside_old, aside_new = _aside(old_all, cid), _aside(new_all, cid)
        if not (old_counts[cid] or new_counts[cid] or aside_old or aside_new):
            continue
        status = _status(old_counts[cid], new_counts[cid])
        evidence: tuple[Evidence, ...] = ()
        total = 0
        if status != UNCHANGED or cid in moved_facets:
            evidence, total = _evidence(old_mentions, new_mentions, cid, rewordings)
        deltas.append(
            ConceptDelta(
                id=cid,
                old=old_counts[cid],
                new=new_counts[cid],
                status=status,
                variants_old=_variants(old_mentions, cid),
                variants_new=_variants(new_mentions, cid),
                set_aside_old=aside_old,
                set_aside_new=aside_new,
                evidence=evidence,
                evidence_total=total,
                superseded=status == DROPPED and cid in superseded,
            )
        )
    old_side = DocumentSide(old_title, len(old_text.split()), _counts(order, old_counts))
    new_side = DocumentSide(new_title, len(new_text.split()), _counts(order, new_counts))
    # Keyed once per sentence, not per mention: one sentence may carry 12,000 of them.
    carriers = {sentence_key(s) for s in {m.sentence for m in (*old_mentions, *new_mentions)}}
    score = _significance(deltas, stance, ladders, sentences, carriers, old_side, new_side)
    if any(q.status != KEPT and q.own for q in qualifiers) and score < FACET_FLOOR:
        score = FACET_FLOOR
    if not translated and shrinkage(old_side, new_side, sentences) is not None:
        score = min(score, SHRUNK_CAP)
    return Comparison(
        old_side,
        new_side,
        tuple(deltas),
        stance,
        sentences,
        score,
        qualifiers,
        languages if translated else None,
    )


# A facet that changed (the object of a commitment) is a concept change: band 2 at least.
FACET_FLOOR = 0.65
# Evidence pairs shown per concept; the rest are counted.
MAX_EVIDENCE = 5
_HANGUL_LETTER = re.compile("[\uac00-\ud7a3]")
_LATIN_LETTER = re.compile("[A-Za-z]")


def language(text: str) -> str:
    """ "ko" when most letters of `text` are Hangul, else "en" (all the domain needs)."""
    sample = text[:20000]
    hangul = len(_HANGUL_LETTER.findall(sample))
    latin = len(_LATIN_LETTER.findall(sample))
    # A Hangul syllable carries about three Latin letters' worth of sound.
    return "ko" if hangul * 3 > latin else "en"


def _aside(mentions: Iterable[Mention], concept: str) -> dict[str, int]:
    """The mentions of `concept` left out of the counts, by reason."""
    counts = Counter(m.reason for m in mentions if m.concept == concept and not m.counted)
    return {reason: n for reason, n in sorted(counts.items()) if reason}


def _with_inherited(mentions: Sequence[Mention]) -> tuple[list[Mention], list[Mention]]:
    """The mentions with the facets of a longer mention of another concept around them added
    (the "denuclearization" in "complete denuclearization of the DPRK" has the DPRK as its
    object too), and the outermost mentions alone."""
    ordered = sorted(mentions, key=lambda m: (m.start, -m.end))
    inherited: list[Mention] = []
    outermost: list[Mention] = []
    outer: Mention | None = None
    for m in ordered:
        if outer is not None and m.end <= outer.end and m.concept != outer.concept:
            extra = tuple(f for f in outer.facets if f not in m.facets)
            inherited.append(replace(m, facets=m.facets + extra))
            continue
        if outer is None or m.end > outer.end:
            outer = m
        inherited.append(m)
        outermost.append(m)
    return inherited, outermost


def _superseded(stance: Sequence[StanceMove], ladders: Mapping[str, Sequence[str]]) -> set[str]:
    """Concepts below the new top rung of a ladder that moved up: replaced, not dropped."""
    out: set[str] = set()
    for m in stance:
        if m.move == UPGRADE and m.new is not None:
            steps = list(ladders[m.ladder])
            out.update(steps[steps.index(m.new) + 1 :])
    return out


def _qualifiers(
    facets: Sequence[Facet],
    order: Sequence[str],
    old: Sequence[Mention],
    new: Sequence[Mention],
    old_outer: Sequence[Mention],
    new_outer: Sequence[Mention],
) -> tuple[Qualifier, ...]:
    """Per facet and concept, the values on each side and whether they changed. `own` is
    whether the change shows in the concept's own (outermost) mentions, not only in those it
    shares with a stronger concept around them (a dropped CVID sentence)."""
    out = []
    for facet in facets:
        labels = {v.id: v.label for v in facet.values}
        rank = {v.id: i for i, v in enumerate(facet.values)}
        for cid in (c for c in order if c in facet.concepts):
            before = _values(old, cid, facet.id, rank)
            after = _values(new, cid, facet.id, rank)
            if not (before or after):
                continue
            status: QualifierStatus = (
                KEPT
                if before == after
                else INTRODUCED
                if not before
                else DROPPED
                if not after
                else CHANGED
            )
            own = _values(old_outer, cid, facet.id, rank) != _values(new_outer, cid, facet.id, rank)
            out.append(
                Qualifier(
                    cid,
                    facet.id,
                    before,
                    after,
                    status,
                    tuple(labels[v] for v in before),
                    tuple(labels[v] for v in after),
                    facet.label,
                    own,
                )
            )
    return tuple(out)


def _values(
    mentions: Sequence[Mention], concept: str, facet: str, rank: Mapping[str, int]
) -> tuple[str, ...]:
    """The values of `facet` on the mentions of `concept`, in the facet's order."""
    found = {v for m in mentions if m.concept == concept for f, v in m.facets if f == facet}
    return tuple(sorted(found, key=rank.__getitem__))


def _evidence(
    old: Sequence[Mention],
    new: Sequence[Mention],
    concept: str,
    rewordings: Mapping[str, ChangedSentence],
) -> tuple[tuple[Evidence, ...], int]:
    """The sentences that carry `concept` on one side and not on the other, paired where one
    rewords the other (both carry it, or the sentence diff paired them: a CVID sentence
    reworded to say "complete denuclearization"); at most MAX_EVIDENCE of them, and how many
    there are in all."""
    olds = list(dict.fromkeys(m.sentence for m in old if m.concept == concept))
    news = list(dict.fromkeys(m.sentence for m in new if m.concept == concept))
    old_keys, new_keys = {sentence_key(s) for s in olds}, {sentence_key(s) for s in news}
    olds = [s for s in olds if sentence_key(s) not in new_keys]
    news = [s for s in news if sentence_key(s) not in old_keys]
    pairs = pair_sentences(olds, news)
    paired_old, paired_new = {i for i, _ in pairs}, {j for _, j in pairs}
    items = [Evidence(olds[i], news[j], word_ops(olds[i], news[j])) for i, j in pairs]
    seen: set[str] = set()
    for lone in [
        *(s for i, s in enumerate(olds) if i not in paired_old),
        *(s for j, s in enumerate(news) if j not in paired_new),
    ]:
        key = sentence_key(lone)
        if key in seen:
            continue
        reworded = rewordings.get(key)
        if reworded is not None:
            seen.update((sentence_key(reworded.old), sentence_key(reworded.new)))
            items.append(Evidence(reworded.old, reworded.new, reworded.ops))
        elif any(m.sentence == lone for m in old):
            items.append(Evidence(lone, None))
        else:
            items.append(Evidence(None, lone))
    return tuple(items[:MAX_EVIDENCE]), len(items)


# A new side that lost most of its text and gained almost nothing is more often a failed or
# partial extraction (a soft 404, a cookie wall) than a rewrite: say so, and keep it out of the
# top band until a later version confirms it.
SHRUNK_CAP = 0.79


def shrinkage(old: DocumentSide, new: DocumentSide, sentences: SentenceDiff) -> float | None:
    """The share of the old text lost, when the new side looks truncated; else None."""
    added = sum(len(x.split()) for x in sentences.added)
    if old.words >= 200 and new.words <= old.words / 2 and added <= new.words / 10:
        return 1 - new.words / old.words
    return None


def _concept_order(matcher: Matcher, old: Iterable[Mention], new: Iterable[Mention]) -> list[str]:
    """The matcher's concept order (the config's), then any other concept seen, first seen first."""
    # Matcher keeps its concept ids privately; a public accessor would be cleaner.
    order: list[str] = list(matcher.ids)
    known = set(order)
    for mention in (*old, *new):
        if mention.concept not in known:
            known.add(mention.concept)
            order.append(mention.concept)
    return order


def _status(old: int, new: int) -> ConceptStatus:
    if old and not new:
        return DROPPED
    if new and not old:
        return INTRODUCED
    if new > old:
        return INCREASED
    return DECREASED if new < old else UNCHANGED


def _key(spelling: str) -> str:
    """What two spellings must share to count as one variant."""
    return normalise(spelling).text


def _variants(mentions: Iterable[Mention], concept: str) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for mention in mentions:
        if mention.concept == concept:
            seen.setdefault(_key(mention.variant), mention.variant)
    return tuple(seen.values())


def _counts(order: Sequence[str], counts: Counter[str]) -> dict[str, int]:
    return {cid: counts[cid] for cid in order if counts[cid]}


def _top(steps: Sequence[str], counts: Counter[str]) -> str | None:
    return next((step for step in steps if counts[step]), None)


def _rung(steps: Sequence[str], concept: str | None) -> int:
    return len(steps) if concept is None else list(steps).index(concept)


def _stance(name: str, steps: Sequence[str], old: Counter[str], new: Counter[str]) -> StanceMove:
    before, after = _top(steps, old), _top(steps, new)
    fall = _rung(steps, after) - _rung(steps, before)
    move: Move = DOWNGRADE if fall > 0 else UPGRADE if fall < 0 else SAME
    return StanceMove(name, before, after, move)


def _sat(k: float) -> float:
    return k / (k + 1)


def _significance(
    deltas: Sequence[ConceptDelta],
    stance: Sequence[StanceMove],
    ladders: Mapping[str, Sequence[str]],
    sentences: SentenceDiff,
    carriers: set[str],
    old: DocumentSide,
    new: DocumentSide,
) -> float:
    """The score documented in the module docstring."""
    falls = {
        m.ladder: _rung(ladders[m.ladder], m.new) - _rung(ladders[m.ladder], m.old) for m in stance
    }
    fallen = sum(fall for fall in falls.values() if fall > 0)
    risen = sum(-fall for fall in falls.values() if fall < 0)
    # A dropped rung weakens a ladder only when it stood above what the new side still holds:
    # dropping "arms control" while "complete denuclearization" stays is not a retreat.
    tops = {m.ladder: _rung(ladders[m.ladder], m.new) for m in stance}
    weakening = sum(
        1
        for d in deltas
        if d.status == DROPPED
        and any(
            d.id in ladders[name] and fall >= 0 and _rung(ladders[name], d.id) < tops[name]
            for name, fall in falls.items()
        )
    )
    k_a = fallen + weakening
    if k_a:
        return 0.8 + 0.2 * _sat(k_a)
    k_b = sum(abs(d.new - d.old) for d in deltas) + risen
    if k_b:
        return 0.5 + 0.3 * _sat(k_b)
    k_c = sum(1 for s in (*sentences.added, *sentences.removed) if sentence_key(s) in carriers)
    k_c += sum(
        1
        for c in sentences.changed
        if sentence_key(c.old) in carriers or sentence_key(c.new) in carriers
    )
    if k_c:
        return 0.25 + 0.25 * _sat(k_c)
    touched = sum(len(s.split()) for s in (*sentences.added, *sentences.removed, *sentences.moved))
    for changed in sentences.changed:
        touched += max(1, sum(len(op.text.split()) for op in changed.ops if op.kind != "same"))
    return 0.25 * _sat(touched / max(old.words, new.words, 1))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _mentioned(c: Comparison) -> list[str]:
    """Concepts (by their matched spellings) found in the changed, added or removed sentences."""
    texts = [
        _key(s)
        for s in (
            *c.sentences.added,
            *c.sentences.removed,
            *(x.old for x in c.sentences.changed),
            *(x.new for x in c.sentences.changed),
        )
    ]
    return [
        d.id
        for d in c.concepts
        if any(_key(v) in t for v in (*d.variants_old, *d.variants_new) for t in texts)
    ]


def value_labels(labels: Sequence[str]) -> str:
    """A facet's values on one side, for a reader ("unqualified" when none)."""
    return ", ".join(labels) or "unqualified"


def facet_changes(c: Comparison) -> list[str]:
    """One phrase per facet that changed on a concept present on both sides: "complete-
    denuclearization kept; object Korean Peninsula → DPRK" (the concept's count unchanged) or
    "complete-denuclearization object Korean Peninsula → DPRK"."""
    deltas = {d.id: d for d in c.concepts}
    out = []
    said: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()
    for q in c.qualifiers:
        d = deltas.get(q.concept)
        if q.status == KEPT or not q.own or d is None or not (d.old and d.new):
            continue
        # "complete denuclearization of the DPRK" is also a denuclearization of the DPRK: the
        # strongest concept (the first in the config) says it once.
        if (q.facet, q.old, q.new) in said:
            continue
        said.add((q.facet, q.old, q.new))
        head = f"{q.concept} kept;" if d.status == UNCHANGED else q.concept
        out.append(
            f"{head} {q.facet_label or q.facet} {value_labels(q.old_labels)} → {value_labels(q.new_labels)}"
        )
    return out


LANGUAGES = {"ko": "Korean", "en": "English"}


def divergences(c: Comparison) -> list[str]:
    """For texts in two languages: where the concepts and facets of the two disagree."""
    old_lang, new_lang = (LANGUAGES.get(x, x) for x in c.languages or ("old", "new"))
    lines = [
        f"{d.id}: {old_lang} text {d.old}, {new_lang} text {d.new}"
        for d in c.concepts
        if d.old != d.new
    ]
    deltas = {d.id: d for d in c.concepts}
    lines += [
        f"{q.concept} {q.facet_label or q.facet}: {old_lang} text: {value_labels(q.old_labels)}; "
        f"{new_lang} text: {value_labels(q.new_labels)}"
        for q in c.qualifiers
        if q.status != KEPT and deltas[q.concept].old and deltas[q.concept].new
    ]
    return lines


def verdict(c: Comparison) -> str:
    """The one line to quote: what moved on the ladders and which concepts changed, else how
    much wording changed, else "no change". A concept its ladder moved up past is not
    "dropped": the upgrade says it. Texts in two languages compare concepts and facets only."""
    if c.languages is not None:
        found = divergences(c)
        names = " / ".join(LANGUAGES.get(x, x) for x in c.languages)
        return f"translation ({names}): " + (
            "; ".join(found) if found else "concepts and facets agree"
        )
    by_status: dict[str, list[str]] = {}
    for d in c.concepts:
        if d.old or d.new:
            by_status.setdefault(d.status, []).append(d.id)
    dropped = [d.id for d in c.concepts if d.status == DROPPED and not d.superseded]
    moves: dict[str, list[str]] = {DOWNGRADE: [], UPGRADE: []}
    for m in c.stance:
        if m.move in moves:
            moves[m.move].append(
                f"{m.ladder} ladder: {m.old or 'none'} → {m.new or 'none'} ({m.move})"
            )
    counts = ", ".join(
        f"{d.id} {d.old}→{d.new}" for d in c.concepts if d.status in (INCREASED, DECREASED)
    )
    parts = [
        *([", ".join(dropped) + " dropped"] if dropped else []),
        *moves[DOWNGRADE],
        *([", ".join(by_status[INTRODUCED]) + " introduced"] if INTRODUCED in by_status else []),
        *moves[UPGRADE],
        *facet_changes(c),
        *([counts] if counts else []),
    ]
    shrank = shrinkage(c.old, c.new, c.sentences)
    if shrank is not None:
        parts.insert(0, f"text shrank {shrank:.0%} (possibly a failed extraction)")
    if parts:
        return "; ".join(parts)
    s = c.sentences
    if not (s.added or s.removed or s.changed or s.moved):
        return "no change"
    line = (
        f"wording changed: {_plural(len(s.changed), 'sentence')} changed, {len(s.added)} added, "
        f"{len(s.removed)} removed, {len(s.moved)} moved; concepts unchanged"
    )
    mentioned = _mentioned(c)
    if mentioned:
        line += f" (the changed sentences mention {', '.join(mentioned)})"
    return line


def as_json(c: Comparison) -> dict[str, Any]:
    """The comparison as plain JSON types (the shape of `monitor compare --json`, documented in
    the README: the names are a contract)."""

    def side(d: DocumentSide) -> dict[str, Any]:
        return {"title": d.title, "words": d.words, "concepts": dict(d.concepts)}

    return {
        # A comparison read back from JSON keeps the verdict it was stored with (see Comparison).
        "summary": verdict(c) if c.summary is None else c.summary,
        "old": side(c.old),
        "new": side(c.new),
        "concepts": [
            {
                "id": d.id,
                "old": d.old,
                "new": d.new,
                "status": d.status,
                "superseded": d.superseded,
                "variants_old": list(d.variants_old),
                "variants_new": list(d.variants_new),
                "set_aside": {"old": dict(d.set_aside_old), "new": dict(d.set_aside_new)},
                "evidence": [{"old": e.old, "new": e.new} for e in d.evidence],
                "evidence_total": d.evidence_total,
            }
            for d in c.concepts
        ],
        "qualifiers": [
            {
                "concept": q.concept,
                "facet": q.facet,
                "old": list(q.old),
                "new": list(q.new),
                "status": q.status,
                "old_labels": list(q.old_labels),
                "new_labels": list(q.new_labels),
            }
            for q in c.qualifiers
        ],
        "stance": [
            {"ladder": m.ladder, "old": m.old, "new": m.new, "move": m.move} for m in c.stance
        ],
        "sentences": {
            "added": list(c.sentences.added),
            "removed": list(c.sentences.removed),
            "changed": [{"old": x.old, "new": x.new} for x in c.sentences.changed],
            "moved": len(c.sentences.moved),
        },
        "significance": c.significance,
        "languages": list(c.languages) if c.languages else None,
    }
