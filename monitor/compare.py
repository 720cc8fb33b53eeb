"""Compare two versions of a document: concept deltas, stance moves, sentence diff, significance.

`compare` strips the per-source boilerplate (`ignore`) from both texts, counts each concept on
each side, places each side on every configured ladder, and diffs the sentences. `verdict` says
what happened in one line an analyst can quote; `as_json` is the shape of `monitor compare --json`.

Variants (`ConceptDelta.variants_old` / `variants_new`) are the distinct spellings matched, in the
order they first appear in the document; two spellings that differ only in case, quote or dash
style or white space count as one, and the first one seen is kept.

Significance, a number in [0, 1]. With sat(k) = k / (k + 1), which grows from 0 towards 1:

1. Weakening, 0.8 + 0.2 * sat(kA), when kA > 0. kA is the sum, over the ladders that moved down,
   of the rungs fallen, plus the number of dropped concepts that are on a ladder that did not move
   up and stood above the new side's strongest concept of it. A rung is a concept's position on its ladder; a side with none of the ladder's concepts
   sits one rung below the last. (A ladder that moved up replaced its lower rungs: the concepts it
   dropped on the way count in band 2, with the upgrade.)
2. Other concept changes, 0.5 + 0.3 * sat(kB), when kB > 0: kB is the sum over all concepts of
   |new count - old count|, plus the rungs risen on ladders that moved up.
3. Wording around concepts, 0.25 + 0.25 * sat(kC), when kC > 0: kC is the number of added,
   removed and changed sentences in which a concept is found (either side of a changed one).
4. Other wording, 0.25 * sat(u / W) = 0.25 * u / (u + W): u is the number of words touched (the
   words of added, removed and moved sentences, and of the removed and added runs of changed
   sentences, at least 1 per changed sentence), W the word count of the longer side.

Only the first band that applies counts. A new side that lost half or more of its words and
gained almost none (a truncated or failed extraction, more often than a rewrite) is capped at
0.79, below band 1, and its verdict starts with "text shrank N%". Each band is increasing in its k and stays below the
next band's floor; since k >= 1 in bands 1-3 their scores fall in [0.9, 1), [0.65, 0.8) and
[0.375, 0.5), and band 4 in [0, 0.25) (in practice below 1/6, as u is about 2W at most). Identical texts, text that differs only in boilerplate removed
by `ignore`, and reflowed text (an empty sentence diff with equal concept counts) score exactly 0.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from monitor.diff import diff as sentence_diff
from monitor.diff import strip_ignored
from monitor.match import Matcher
from monitor.models import (
    Comparison,
    ConceptDelta,
    DocumentSide,
    Mention,
    SentenceDiff,
    StanceMove,
)
from monitor.text import normalise

DROPPED, INTRODUCED, INCREASED, DECREASED, UNCHANGED = (
    "dropped",
    "introduced",
    "increased",
    "decreased",
    "unchanged",
)
DOWNGRADE, UPGRADE, SAME = "downgrade", "upgrade", "same"


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
    old_mentions, new_mentions = matcher.find(old_text), matcher.find(new_text)
    old_counts = Counter(m.concept for m in old_mentions)
    new_counts = Counter(m.concept for m in new_mentions)
    order = _concept_order(matcher, old_mentions, new_mentions)
    deltas = tuple(
        ConceptDelta(
            id=cid,
            old=old_counts[cid],
            new=new_counts[cid],
            status=_status(old_counts[cid], new_counts[cid]),
            variants_old=_variants(old_mentions, cid),
            variants_new=_variants(new_mentions, cid),
        )
        for cid in order
        if old_counts[cid] or new_counts[cid]
    )
    stance = tuple(_stance(name, steps, old_counts, new_counts) for name, steps in ladders.items())
    sentences = sentence_diff(old_text, new_text)
    old_side = DocumentSide(old_title, len(old_text.split()), _counts(order, old_counts))
    new_side = DocumentSide(new_title, len(new_text.split()), _counts(order, new_counts))
    score = _significance(deltas, stance, ladders, sentences, matcher, old_side, new_side)
    if shrinkage(old_side, new_side, sentences) is not None:
        score = min(score, SHRUNK_CAP)
    return Comparison(old_side, new_side, deltas, stance, sentences, score)


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


def _status(old: int, new: int) -> str:
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
    move = DOWNGRADE if fall > 0 else UPGRADE if fall < 0 else SAME
    return StanceMove(name, before, after, move)


def _sat(k: float) -> float:
    return k / (k + 1)


def _significance(
    deltas: Sequence[ConceptDelta],
    stance: Sequence[StanceMove],
    ladders: Mapping[str, Sequence[str]],
    sentences: SentenceDiff,
    matcher: Matcher,
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
    k_c = sum(1 for s in (*sentences.added, *sentences.removed) if matcher.matches_any(s))
    k_c += sum(
        1 for c in sentences.changed if matcher.matches_any(c.old) or matcher.matches_any(c.new)
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


def verdict(c: Comparison) -> str:
    """The one line to quote: what moved on the ladders and which concepts changed, else how
    much wording changed, else "no change"."""
    by_status: dict[str, list[str]] = {}
    for d in c.concepts:
        by_status.setdefault(d.status, []).append(d.id)
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
        *([", ".join(by_status[DROPPED]) + " dropped"] if DROPPED in by_status else []),
        *moves[DOWNGRADE],
        *([", ".join(by_status[INTRODUCED]) + " introduced"] if INTRODUCED in by_status else []),
        *moves[UPGRADE],
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
    """The comparison as plain JSON types (the shape of `monitor compare --json`)."""

    def side(d: DocumentSide) -> dict[str, Any]:
        return {"title": d.title, "words": d.words, "concepts": dict(d.concepts)}

    return {
        "old": side(c.old),
        "new": side(c.new),
        "concepts": [
            {
                "id": d.id,
                "old": d.old,
                "new": d.new,
                "status": d.status,
                "variants_old": list(d.variants_old),
                "variants_new": list(d.variants_new),
            }
            for d in c.concepts
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
    }
