"""Alert messages: a subject that says what happened, a plain-text and an HTML body, a JSON payload.

Pure rendering: no I/O, no clock. Document text (titles, sentences, errors a server sent) is never
trusted; `monitor.render.untrusted` holds the rule. Everywhere, control characters and bidirectional
formatting characters (embeddings, overrides, isolates, marks) are shown as `<U+XXXX>`, so a
right-to-left override cannot reorder a subject line or a quoted sentence, each piece is one line
and capped (titles, sentences, subjects, and the strings of the JSON payload); in the HTML every
piece of it is escaped and sits in a `<bdi>`. The HTML has inline styles only (mail clients drop
style sheets), no scripts and no images; its colours are given in foreground/background pairs that
read in light and dark mode.

Times are shown in the configured zone and in UTC ("2026-11-28 05:30 KST (2026-11-27 20:30 UTC)");
naive datetimes are taken as UTC.

Longer than most modules: each kind of alert (change, article, source) has its subject, text,
HTML and payload side by side, so that the four say the same thing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from monitor.analysis.compare import as_json, value_labels
from monitor.analysis.diff import sentence_key, word_ops
from monitor.models import (
    ArticleEvent,
    Change,
    Comparison,
    Mention,
    Message,
    SourceEvent,
    WordOp,
)
from monitor.render import untrusted
from monitor.render.untrusted import (
    ERROR_CHARS,
    NAME_CHARS,
    PAYLOAD_ITEMS,
    SENTENCE_CHARS,
    TITLE_CHARS,
    URL_CHARS,
    cap,
    capped,
    isolated,
    one_line,
    subject_line,
)

_T = TypeVar("_T")
MAX_SENTENCES = 5  # per list of changed, removed or added sentences; the rest are counted
MAX_PER_CONCEPT = 3  # matched sentences shown per concept of an article

_FONT = (
    "font-family:system-ui,-apple-system,'Segoe UI','Noto Sans','Noto Sans KR',"
    "'Apple SD Gothic Neo','Malgun Gothic',sans-serif"
)
_MUTED = "color:#767676"  # 4.5:1 on white, 4:1 on near-black
_DEL = "background:#ffd7d5;color:#82071e;text-decoration:line-through"
_INS = "background:#ccffd8;color:#055d20;text-decoration:underline"
_MARK = "background:#fff1a8;color:#1b1b1b"
_QUOTE = "margin:6px 0;padding:2px 0 2px 10px;border-left:3px solid #8c8c8c"
_H2 = "font-size:16px;margin:18px 0 6px"


_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>{{title}}</title>
</head>
<body style="margin:0;padding:0">
<div style="max-width:40rem;margin:0 auto;padding:16px;{_FONT};font-size:16px;line-height:1.5;\
overflow-wrap:anywhere;word-break:break-word">
<h1 dir="auto" style="font-size:19px;line-height:1.3;margin:0 0 12px"><bdi>{{title}}</bdi></h1>
{{body}}
</div>
</body>
</html>
"""


# ---- text hygiene ------------------------------------------------------------------------------


def _cap(text: str | None, limit: int) -> str | None:
    """A payload field: capped, else as it is (JSON escapes it; the receiver renders it)."""
    return None if text is None else cap(text, limit)


def _h(text: str) -> str:
    return untrusted.html_text(text)


def short_label(labels: Mapping[str, str], concept: str | None) -> str:
    """A concept's label up to " / " or " (": "CVID / PVID" -> "CVID"; none -> "none"."""
    if concept is None:
        return "none"
    label = labels.get(concept, concept)
    return re.split(r" / | \(", label, maxsplit=1)[0].strip() or concept


def _names(ids: Sequence[str], labels: Mapping[str, str]) -> str:
    names = [short_label(labels, c) for c in ids]
    return (
        ", ".join(names) if len(names) <= 2 else f"{names[0]}, {names[1]} and {len(names) - 2} more"
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def when(moment: datetime, timezone: str) -> str:
    """ "2026-11-28 05:30 KST (2026-11-27 20:30 UTC)"; the UTC date only when it differs."""
    utc = _utc(moment)
    local = utc.astimezone(ZoneInfo(timezone))
    abbr = local.tzname() or timezone
    if abbr in ("UTC", "GMT") and not local.utcoffset():
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    if not abbr.isalpha():
        abbr = f"UTC{abbr}"
    utc_part = f"{utc:%H:%M}" if utc.date() == local.date() else f"{utc:%Y-%m-%d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M} {abbr} ({utc_part} UTC)"


def _short_hash(value: str) -> str:
    return one_line(value).removeprefix("sha256:")[:12]


def _link(url: str) -> str:
    """A link for http(s) addresses; anything else is shown as text only."""
    shown = one_line(url, URL_CHARS)
    if re.match(r"(?i)https?://", url) and len(url) <= URL_CHARS:
        return (
            f'<a href="{_h(shown)}" style="word-break:break-all">{isolated(shown, line=True)}</a>'
        )
    return isolated(shown, line=True)


# ---- the shared frame --------------------------------------------------------------------------

# A fact line: label, plain-text value, HTML value.
Fact = tuple[str, str, str]


def _fact(label: str, value: str, markup: str | None = None) -> Fact:
    """A fact whose value is untrusted text (shown isolated) unless `markup` is given."""
    value = one_line(value, URL_CHARS)
    return label, value, isolated(value, line=True) if markup is None else markup


class _Body:
    """The plain-text and HTML bodies, written side by side."""

    def __init__(self, lead: str) -> None:
        self.text = [lead]
        self.html = [f'<p dir="auto" style="margin:0 0 8px">{isolated(lead, line=True)}</p>']

    def facts(self, rows: Sequence[Fact]) -> None:
        self.text += ["", *(f"{k}: {v}" for k, v, _ in rows)]
        lines = "".join(
            f'<div><span style="{_MUTED}">{_h(k)}:</span> {v}</div>' for k, _, v in rows
        )
        self.html.append(f'<div style="font-size:14px;margin:14px 0">{lines}</div>')

    def heading(self, title: str) -> None:
        self.text += ["", f"{title}:"]
        self.html.append(f'<h2 style="{_H2}">{_h(title)}</h2>')

    def quote(self, lines: Sequence[str], markup: str) -> None:
        self.text += [f"  {line}" for line in lines]
        self.html.append(f'<div dir="auto" style="{_QUOTE}">{markup}</div>')

    def note(self, line: str, indent: str = "") -> None:
        self.text += [indent + line] if indent else ["", line]
        self.html.append(f'<p style="{_MUTED};font-size:14px;margin:6px 0">{_h(line)}</p>')

    def message(self, dedup_key: str, subject: str, payload: dict[str, Any]) -> Message:
        page = _PAGE.format(title=_h(subject), body="\n".join(self.html))
        payload = {"subject": subject, **payload, "dedup_key": dedup_key}
        return Message(dedup_key, subject, "\n".join(self.text) + "\n", page, payload)

    def more(self, shown: int, total: int) -> None:
        if total > shown:
            self.note(f"and {total - shown} more", "  ")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else _utc(moment).isoformat(timespec="seconds")


# ---- wording changes ---------------------------------------------------------------------------


def _ops_text(ops: Sequence[WordOp]) -> str:
    marks = {"removed": "[-{}-]", "added": "{{+{}+}}"}
    return " ".join(marks.get(op.kind, "{}").format(one_line(op.text)) for op in ops)


def _ops_html(ops: Sequence[WordOp], side: str) -> str:
    """One side of a changed sentence: the kept words and this side's removed or added runs."""
    tag, style = ("del", _DEL) if side == "removed" else ("ins", _INS)
    return " ".join(
        isolated(op.text, line=True)
        if op.kind == "same"
        else f'<{tag} style="{style}">{isolated(op.text, line=True)}</{tag}>'
        for op in ops
        if op.kind in ("same", side)
    )


def _ranked(items: Sequence[_T], text: Callable[[_T], str], c: Comparison) -> list[_T]:
    """Items whose sentence names a concept that changed first, then any concept, then the rest;
    document order within each group."""
    strong: list[str] = []
    weak: list[str] = []
    for d in c.concepts:
        variants = [v.casefold() for v in (*d.variants_old, *d.variants_new)]
        (weak if d.status == "unchanged" else strong).extend(v for v in variants if v)

    def rank(item: _T) -> int:
        folded = text(item).casefold()
        return 2 if any(v in folded for v in strong) else int(any(v in folded for v in weak))

    return sorted(items, key=rank, reverse=True)


def change_headline(event: Change, labels: Mapping[str, str]) -> str:
    """What happened, in a few words, weakening first: "CVID dropped", "Downgrade (CVID → FFVD)",
    "Upgrade (…)", "X introduced", ..., "Wording changed". (A ladder's top rung dropped is also a
    downgrade; the subject names the drop, the body the move.) A concept dropped because its ladder
    moved up (replaced by a stronger one) is not news."""
    c = event.comparison
    by_status: dict[str, list[str]] = {}
    for d in c.concepts:
        by_status.setdefault(d.status, []).append(d.id)
    moves = {m.move: m for m in reversed(c.stance)}
    up, down = moves.get("upgrade"), moves.get("downgrade")
    # A rung replaced by a stronger one (complete denuclearization -> CVID) is not dropped.
    replaced = {d.id for d in c.concepts if d.superseded}
    dropped = [
        x for x in by_status.get("dropped", []) if x not in replaced and not (up and x == up.old)
    ]
    moved = down or up
    if dropped:
        head = f"{_names(dropped, labels)} dropped"
    elif moved is not None:
        steps = f"{short_label(labels, moved.old)} → {short_label(labels, moved.new)}"
        head = f"{'Downgrade' if down else 'Upgrade'} ({steps})"
    elif "introduced" in by_status:
        head = f"{_names(by_status['introduced'], labels)} introduced"
    elif "decreased" in by_status:
        head = f"Fewer mentions of {_names(by_status['decreased'], labels)}"
    elif "increased" in by_status:
        head = f"More mentions of {_names(by_status['increased'], labels)}"
    else:
        head = "Wording changed"
    return head + (" (vs. baseline)" if event.kind == "baseline" else "")


def _title(*candidates: str | None) -> str:
    title = next((one_line(c) for c in candidates if c and one_line(c)), "(untitled)")
    return one_line(title, TITLE_CHARS)


def readable_url(url: str) -> str:
    """An address as a reader would name it: the last part of its path in words, and its host
    ("u s rok leaders joint statement (whitehouse.gov)"); a file by its name."""
    parts = urlsplit(url)
    segments = [s for s in unquote(parts.path).split("/") if s]
    last = segments[-1] if segments else ""
    last = re.sub(r"\.(html?|php|aspx?|pdf|md|txt)$", "", last, flags=re.IGNORECASE)
    words = " ".join(re.split(r"[-_+]+", last)).strip()
    host = parts.netloc.removeprefix("www.")
    if words and host:
        return f"{words} ({host})"
    return words or host or url


def _compared_with(event: Change) -> str:
    series = one_line(event.series or "", NAME_CHARS)
    if event.kind == "succession":
        return f"the previous edition in series {series}"
    if event.kind == "baseline":
        return f"the baseline of series {series}"
    return "the previous version of this page"


def _reworded(body: _Body, old: str, new: str) -> None:
    """A reworded sentence: was, now, and the word-level diff."""
    ops = word_ops(old, new)
    body.quote(
        [f'was: "{old}"', f'now: "{new}"', f"diff: {_ops_text(ops)}"],
        f'<div dir="auto"><span style="{_MUTED}">was:</span> {_ops_html(ops, "removed")}'
        f'</div><div dir="auto"><span style="{_MUTED}">now:</span> '
        f"{_ops_html(ops, 'added')}</div>",
    )


def _evidence(body: _Body, c: Comparison, labels: Mapping[str, str]) -> set[str]:
    """The evidence section: for each concept whose count, status or facet changed, its old
    and new sentences (each pair once, under the strongest concept); the keys of the sentences
    shown, so the lists that follow leave them out."""
    seen: set[tuple[str | None, str | None]] = set()
    shown: set[str] = set()
    facets = {q.concept: q for q in c.qualifiers if q.status != "kept"}
    first = True
    for d in c.concepts:
        fresh = [e for e in d.evidence if (e.old, e.new) not in seen]
        seen.update((e.old, e.new) for e in d.evidence)
        if not fresh:
            continue
        if first:
            body.heading("Evidence")
            first = False
        q = facets.get(d.id)
        facet = (
            f"; {one_line(q.facet)} {value_labels(q.old_labels)} → {value_labels(q.new_labels)}"
            if q and d.old and d.new
            else ""
        )
        status = "replaced by a stronger rung" if d.superseded else d.status
        body.note(one_line(f"{short_label(labels, d.id)}: {d.old} → {d.new} ({status}){facet}"))
        for e in fresh:
            old = one_line(e.old, SENTENCE_CHARS) if e.old else None
            new = one_line(e.new, SENTENCE_CHARS) if e.new else None
            shown.update(sentence_key(x) for x in (e.old, e.new) if x)
            if old and new:
                _reworded(body, old, new)
            elif old:
                body.quote(
                    [f'- "{old}"'], f'<span style="{_DEL}">{isolated(old, line=True)}</span>'
                )
            elif new:
                body.quote(
                    [f'+ "{new}"'], f'<span style="{_INS}">{isolated(new, line=True)}</span>'
                )
        body.more(len(fresh), len(fresh) + d.evidence_total - len(d.evidence))
    return shown


def change_message(
    event: Change, *, dedup_key: str, timezone: str, labels: Mapping[str, str]
) -> Message:
    """The alert for a stored wording change."""
    c = event.comparison
    # The document that changed is the new one: its own title, else its address in words, never
    # the title of the version or edition it was compared with.
    title = _title(event.title, readable_url(event.url))
    subject = subject_line(f"{change_headline(event, labels)}: {title}")
    ladder = "; ".join(
        f"{one_line(m.ladder)}: {short_label(labels, m.old)} → "
        f"{short_label(labels, m.new)} ({m.move})"
        for m in c.stance
        if m.move in ("downgrade", "upgrade")
    )
    concepts = "; ".join(
        f"{short_label(labels, d.id)} {d.old} → {d.new} ({d.status})"
        for d in c.concepts
        if d.status != "unchanged"
    )
    old_title = one_line(event.old_title or "", TITLE_CHARS)
    body = _Body(one_line(event.verdict, SENTENCE_CHARS))
    body.facts(
        [
            _fact("Document", title),
            *([_fact("Was titled", old_title)] if old_title not in ("", title) else []),
            _fact("Compared with", _compared_with(event)),
            *([_fact("Ladder", ladder)] if ladder else []),
            *([_fact("Concepts", concepts)] if concepts else []),
            _fact("Significance", f"{event.significance:.3f}"),
        ]
    )
    shown = _evidence(body, c, labels)
    s = c.sentences
    changed = _ranked(
        [x for x in s.changed if not {sentence_key(x.old), sentence_key(x.new)} & shown],
        lambda x: f"{x.old} {x.new}",
        c,
    )
    other = "Other c" if shown else "C"
    if changed:
        body.heading(f"{other}hanged sentences ({len(changed)})")
        for i, x in enumerate(changed[:MAX_SENTENCES]):
            body.text += [""] if i else []
            old, new = one_line(x.old, SENTENCE_CHARS), one_line(x.new, SENTENCE_CHARS)
            _reworded(body, old, new)
        body.more(MAX_SENTENCES, len(changed))
    for name, mark, style, listed in (
        ("Removed", "-", _DEL, s.removed),
        ("Added", "+", _INS, s.added),
    ):
        items = _ranked([x for x in listed if sentence_key(x) not in shown], str, c)
        if items:
            body.heading(f"{'Other ' + name.lower() if shown else name} sentences ({len(items)})")
            for item in items[:MAX_SENTENCES]:
                quote = one_line(item, SENTENCE_CHARS)
                body.quote(
                    [f'{mark} "{quote}"'],
                    f'<span style="{style}">{isolated(quote, line=True)}</span>',
                )
            body.more(MAX_SENTENCES, len(items))
    if s.moved:
        body.note(f"Moved sentences: {len(s.moved)} (same wording, new place).")
    hashes = f"{_short_hash(event.old_hash)} (old) → {_short_hash(event.new_hash)} (new)"
    body.facts(
        [
            _fact("Link", event.url, _link(event.url)),
            _fact("Source", event.source),
            _fact("Detected", when(event.detected_at, timezone)),
            _fact("Text sha256", hashes),
        ]
    )
    payload = {
        "event": "change",
        "url": _cap(event.url, URL_CHARS),
        "title": _cap(event.title, TITLE_CHARS),
        "old_title": _cap(event.old_title, TITLE_CHARS),
        "source": _cap(event.source, NAME_CHARS),
        "series": _cap(event.series, NAME_CHARS),
        "kind": event.kind,
        "verdict": _cap(event.verdict, SENTENCE_CHARS),
        "significance": event.significance,
        "detected_at": _iso(event.detected_at),
        "old_hash": event.old_hash,
        "new_hash": event.new_hash,
        "comparison": capped(as_json(c), SENTENCE_CHARS),
    }
    return body.message(dedup_key, subject, payload)


# ---- new articles ------------------------------------------------------------------------------


def _highlight(sentence: str, variant: str) -> tuple[str, str, str] | None:
    """(before, term, after) around the first occurrence of `variant`, or None."""
    at, size = sentence.find(variant), len(variant)
    if at < 0 and len(sentence.casefold()) == len(sentence):  # then offsets carry over
        at, size = sentence.casefold().find(variant.casefold()), len(variant.casefold())
    if at < 0 or not variant:
        return None
    return sentence[:at], sentence[at : at + size], sentence[at + size :]


def _first_per_concept(mentions: Sequence[Mention], limit: int) -> list[Mention]:
    seen: Counter[str] = Counter()
    kept = []
    for m in mentions:
        seen[m.concept] += 1
        if seen[m.concept] <= limit:
            kept.append(m)
    return kept


def article_message(
    event: ArticleEvent, *, dedup_key: str, timezone: str, labels: Mapping[str, str]
) -> Message:
    """The alert for a new document that mentions concepts."""
    found: dict[str, dict[str, str]] = {}  # concept -> sentence -> first variant in it
    # Each sentence cleaned and capped once: one 60 KB sentence may carry 12,000 mentions.
    quoted: dict[str, str] = {}
    for m in event.mentions:
        if m.sentence not in quoted:
            quoted[m.sentence] = cap(one_line(m.sentence), SENTENCE_CHARS)
    for m in event.mentions:
        found.setdefault(m.concept, {}).setdefault(quoted[m.sentence], one_line(m.variant))
    order = [c for c in labels if c in found] + [c for c in found if c not in labels]
    names = [short_label(labels, c) for c in order]
    title = _title(event.title, event.url)
    listed = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
    subject = subject_line(f"New: {title} mentions {listed}" if names else f"New: {title}")
    body = _Body(f"A new article mentions {', '.join(names) or 'no watched concept'}.")
    body.facts(
        [
            _fact("Title", title),
            _fact("Source", event.source),
            *([_fact("Published", when(event.published, timezone))] if event.published else []),
            _fact("Detected", when(event.detected_at, timezone)),
        ]
    )
    for concept in order:
        count = event.count(concept)
        body.heading(f"{short_label(labels, concept)} ({count} mention{'' if count == 1 else 's'})")
        for sentence, variant in list(found[concept].items())[:MAX_PER_CONCEPT]:
            quote = cap(sentence, SENTENCE_CHARS)
            parts = _highlight(quote, variant)
            if parts is None:
                body.quote([f'"{quote}"'], isolated(quote, line=True))
                continue
            before, term, after = parts
            body.quote(
                [f'"{before}«{term}»{after}"'],
                f'<bdi>{_h(before)}<mark style="{_MARK}">{_h(term)}</mark>{_h(after)}</bdi>',
            )
        body.more(MAX_PER_CONCEPT, len(found[concept]))
    body.facts(
        [
            _fact("Link", event.url, _link(event.url)),
            _fact("Text sha256", _short_hash(event.content_hash)),
        ]
    )
    payload = {
        "event": "article",
        "url": _cap(event.url, URL_CHARS),
        "title": _cap(event.title, TITLE_CHARS),
        "source": _cap(event.source, NAME_CHARS),
        "verdict": f"mentions {', '.join(order)}",
        "concepts": order,
        "published": _iso(event.published),
        "detected_at": _iso(event.detected_at),
        "content_hash": event.content_hash,
        "mentions": capped(
            [
                {"concept": m.concept, "variant": m.variant, "sentence": m.sentence}
                for m in _first_per_concept(event.mentions, PAYLOAD_ITEMS)
            ]
        ),
        # true, however many are listed or kept (alerts.rules.shown)
        "counts": {c: event.count(c) for c in dict.fromkeys(m.concept for m in event.mentions)},
    }
    return body.message(dedup_key, subject, payload)


# ---- source health -----------------------------------------------------------------------------


def source_message(event: SourceEvent, *, dedup_key: str, timezone: str) -> Message:
    """The notice that a source started failing (once, after the threshold) or recovered."""
    name, n = one_line(event.name, NAME_CHARS), event.consecutive_failures
    times = f"{n} failure{'' if n == 1 else 's'}"
    if event.failing:
        subject, verdict = f"Source failing: {name} ({times})", f"{name}: {times} in a row."
    else:
        subject = f"Source recovered: {name}"
        verdict = f"{name} works again" + (f" after {times} in a row." if n else ".")
    body = _Body(verdict)
    error = one_line(event.last_error or "", ERROR_CHARS)
    body.facts(
        [
            _fact("Source", name),
            _fact("URL", event.url, _link(event.url)),
            *([_fact("Last error", error)] if error and event.failing else []),
            _fact("At", when(event.at, timezone)),
        ]
    )
    if event.failing:
        body.note("No more mail about this source until it works again; then one notice.")
    payload = {
        "event": "source",
        "url": _cap(event.url, URL_CHARS),
        "title": _cap(event.name, NAME_CHARS),
        "source": _cap(event.name, NAME_CHARS),
        "verdict": verdict,
        "failing": event.failing,
        "consecutive_failures": n,
        "last_error": _cap(event.last_error, ERROR_CHARS),
        "detected_at": _iso(event.at),
    }
    return body.message(dedup_key, subject_line(subject), payload)
