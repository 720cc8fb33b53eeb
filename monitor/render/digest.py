"""The morning digest: one day's wording changes and new articles, grouped by policy thread.

`window` gives the period a digest covers; `render_digest` turns a `DigestData` into a `Message`
with a plain-text and an HTML part. Both show one group per concept, strongest first
(`DigestData.order`, then other concepts by id): its wording changes (verdict, then old → new
sentences with word-level highlights), then its new articles (title, source, local time, the
matched sentence with the term highlighted), with a chart of the concept's mentions per day.

**An item that touches several concepts appears once, under its strongest concept**, and names
the others ("also: …"). A change touches the concepts whose counts changed, or, when none did,
those named in its changed sentences; an article touches the concepts it mentions. Items that
touch none go last, under "Other". A change quotes the sentences that name its group's concept
(any sentences if none does), at most MAX_SENTENCES, and counts the rest. A new document that is
also the new side of a wording change in the digest is told once, as the change. Concepts without
a group of their own close the digest with their charts and how many items above touch them.

The HTML is for mail clients: inline styles only (clients drop `<style>`), a fluid container with a
maximum width, text in the reader's own colour with tinted highlights that read on light and dark
backgrounds, the chart as table cells of set heights (no SVG, no images). Feed and page text is
escaped and sits in `<bdi>`; in both parts and the subject, control and bidirectional formatting
characters in it are shown as `<U+XXXX>`, and titles, sentences, names and URLs are capped
(`monitor.render.untrusted` holds the rule). Only http and https URLs of up to URL_CHARS become
links.

Longer than most modules: the plain-text and HTML parts walk the same groups in the same order,
kept side by side so that they stay in step (its window and data: monitor/alerts/digest.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.analysis.diff import sentence_key, word_ops
from monitor.models import (
    ArticleEvent,
    Change,
    ChangedSentence,
    DigestData,
    Message,
    WordKind,
    WordOp,
)
from monitor.render.untrusted import (
    NAME_CHARS,
    SENTENCE_CHARS,
    TITLE_CHARS,
    URL_CHARS,
    cap,
    html_text,
    isolated,
    subject_line,
    terminal,
)

SentenceKind = Literal["changed", "removed", "added"]
MAX_SENTENCES = 4  # sentences quoted per wording change; the rest are counted
MAX_ARTICLES = 10  # articles shown in full per concept; then a title line each ...
MAX_LISTED = 30  # ... for this many more; then only their number
EXCERPT = 320  # characters of a matched sentence shown around the term
SPARK = "▁▂▃▄▅▆▇█"

# Text keeps the reader's colour (it flips in dark mode); highlights are tints over it.
_MUTED = "color:#777777"
_BLUE = "#2a6fdb"
_BORDER = "1px solid rgba(128,128,128,0.35)"
_QUOTE = "padding-left:10px;border-left:3px solid rgba(234,179,8,0.6)"
_MARKUP = {
    "removed": ("del", "background-color:rgba(220,38,38,0.18);text-decoration:line-through"),
    "added": ("ins", "background-color:rgba(22,163,74,0.2);text-decoration:underline"),
    "mark": ("mark", "background-color:rgba(234,179,8,0.35);padding:0 1px"),
}
_TEXT_MARKUP = {"removed": ("[-", "-]"), "added": ("{+", "+}"), "mark": ("«", "»")}
_FONT = (
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans KR',"
    "'Apple SD Gothic Neo','Malgun Gothic',sans-serif;font-size:15px;line-height:1.5"
)


@dataclass
class _Item:
    """A change or an article, for either format. Quotes are (label, runs): WordOps of kind same,
    removed, added or mark, joined without spaces."""

    title: str
    url: str
    meta: str
    headline: str = ""
    weak: bool = False
    also: str = ""
    quotes: list[tuple[str, list[WordOp]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Group:
    concept: str | None
    changes: list[_Item] = field(default_factory=list)
    articles: list[_Item] = field(default_factory=list)

    def counts(self) -> str:
        return _counts(len(self.changes), len(self.articles))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(changes: int, articles: int, *, zeros: bool = False) -> str:
    parts = [(changes, "wording change"), (articles, "new article")]
    return ", ".join(_plural(n, w) for n, w in parts if n or zeros)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{_utc(moment).astimezone(zone):%Y-%m-%d %H:%M %Z}"


def _label(data: DigestData, cid: str | None) -> str:
    return "Other" if cid is None else data.labels.get(cid, cid)


# ---- items and groups ------------------------------------------------------------------------


def _sentences(event: Change) -> list[tuple[SentenceKind, ChangedSentence | str]]:
    s = event.comparison.sentences
    return [
        *(("changed", x) for x in s.changed),
        *(("removed", x) for x in s.removed),
        *(("added", x) for x in s.added),
    ]


def _names(
    event: Change, kind: str, sentence: ChangedSentence | str, concept: str | None = None
) -> bool:
    """Whether the sentence holds a spelling of the concept (of any, if None) in the change."""
    text = " ".join(_texts(kind, sentence))
    return any(
        v.casefold() in text.casefold()
        for d in event.comparison.concepts
        if concept is None or d.id == concept
        for v in (*d.variants_old, *d.variants_new)
    )


def _texts(kind: str, sentence: ChangedSentence | str) -> list[str]:
    if isinstance(sentence, ChangedSentence):
        return [sentence.old, sentence.new]
    return [sentence]


def _evidence(event: Change, concept: str | None) -> list[tuple[str | None, str | None]]:
    """The evidence pairs of the change (see compare), those of `concept` first, each once."""
    concepts = sorted(event.comparison.concepts, key=lambda d: d.id != concept)
    pairs: list[tuple[str | None, str | None]] = []
    for d in concepts:
        for e in d.evidence:
            pair = (e.old, e.new)
            if pair not in pairs:
                pairs.append(pair)
    return pairs


def _touched(event: Change) -> list[str]:
    c = event.comparison
    deltas = [d.id for d in c.concepts]
    moved = [d.id for d in c.concepts if d.status != "unchanged"]
    moved += [q.concept for q in c.qualifiers if q.status != "kept" and q.concept not in moved]
    sentences = _sentences(event)
    return moved or [x for x in deltas if any(_names(event, k, s, x) for k, s in sentences)]


def _word_ops(old: str, new: str) -> list[WordOp]:
    """The word-level ops of a reworded sentence, with the spaces between them."""
    ops = word_ops(old, new)
    return [x for n, op in enumerate(ops) for x in [*([WordOp("same", " ")] if n else []), op]]


def _also(data: DigestData, others: Sequence[str], article: ArticleEvent | None = None) -> str:
    def name(cid: str) -> str:
        n = article.count(cid) if article else 0  # true counts, not the rows stored
        return data.labels.get(cid, cid) + (f" ×{n}" if n > 1 else "")

    return "also: " + ", ".join(map(name, others)) if others else ""


def _change(
    data: DigestData, concept: str | None, event: Change, others: list[str], zone: ZoneInfo
) -> _Item:
    series = f" (series {cap(event.series, NAME_CHARS)})" if event.series else ""
    meta = f"{event.kind}{series} · significance {event.significance:.2f} · detected "
    title = cap(event.title or event.url, TITLE_CHARS)
    item = _Item(title, event.url, meta + _local(event.detected_at, zone))
    item.headline, item.also = event.verdict, _also(data, others)
    item.weak = "dropped" in event.verdict or "downgrade" in event.verdict
    every = _sentences(event)
    evidence = _evidence(event, concept)
    shown = {sentence_key(x) for pair in evidence for x in pair if x}
    evidence = [(_capped(old), _capped(new)) for old, new in evidence]
    for old, new in evidence[:MAX_SENTENCES]:
        if old and new:
            item.quotes.append(("reworded", _word_ops(old, new)))
        elif old:
            item.quotes.append(("removed", [WordOp("removed", old)]))
        elif new:
            item.quotes.append(("added", [WordOp("added", new)]))
    every = [(k, x) for k, x in every if not ({sentence_key(y) for y in _texts(k, x)} & shown)]
    room = max(0, MAX_SENTENCES - len(item.quotes))
    chosen = ([q for q in every if _names(event, *q, concept)] or every)[:room]
    for kind, x in chosen:
        if isinstance(x, ChangedSentence):
            old, new = cap(x.old, SENTENCE_CHARS), cap(x.new, SENTENCE_CHARS)
            item.quotes.append(("reworded", _word_ops(old, new)))
        else:
            side: WordKind = "removed" if kind == "removed" else "added"
            item.quotes.append((kind, [WordOp(side, cap(x, SENTENCE_CHARS))]))
    if rest := Counter(k for k, _ in every) - Counter(k for k, _ in chosen):
        kinds = ", ".join(f"{rest[k]} {k}" for k in ("changed", "removed", "added") if rest[k])
        item.notes.append(f"and {_plural(rest.total(), 'more sentence')} ({kinds})")
    if moved := len(event.comparison.sentences.moved):
        item.notes.append(f"{_plural(moved, 'sentence')} moved")
    old = f"compared with: {cap(event.old_title, TITLE_CHARS)} · " if event.old_title else ""
    item.notes.append(f"{old}sha256 {event.old_hash[:12]}… → {event.new_hash[:12]}…")
    return item


def _capped(sentence: str | None) -> str | None:
    return None if sentence is None else cap(sentence, SENTENCE_CHARS)


def _excerpt(sentence: str, variants: Sequence[str]) -> list[WordOp]:
    """The sentence, cut to EXCERPT characters around its first match, the matches marked
    (longest spelling first, white space between words free)."""
    spans: list[tuple[int, int]] = []
    for variant in sorted({v for v in variants if v.strip()}, key=len, reverse=True):
        for m in re.finditer(r"\s+".join(map(re.escape, variant.split())), sentence, re.I):
            if not any(m.start() < e and s < m.end() for s, e in spans):
                spans.append(m.span())
    spans.sort()
    start = 0
    if len(sentence) > EXCERPT:
        start = max(0, min((spans[0][0] if spans else 0) - EXCERPT // 3, len(sentence) - EXCERPT))
    end, at = start + EXCERPT, start
    runs = [WordOp("same", "…")] if start else []
    for s, e in spans:
        if s >= at and e <= end:
            runs += [WordOp("same", sentence[at:s]), WordOp("mark", sentence[s:e])]
            at = e
    runs.append(WordOp("same", sentence[at:end] + ("…" if end < len(sentence) else "")))
    return runs


def _article(
    data: DigestData, concept: str | None, article: ArticleEvent, others: list[str], zone: ZoneInfo
) -> _Item:
    seen = f"first seen {_local(article.detected_at, zone)}"
    source = cap(article.source, NAME_CHARS)
    meta = f"{source} · {seen}"
    if article.published is not None:  # an old publication date: say when it turned up
        stale = _utc(article.published) < _utc(data.start) - timedelta(days=1)
        meta = f"{source} · published {_local(article.published, zone)}"
        meta += f" · {seen}" if stale else ""
    title = cap(article.title or article.url, TITLE_CHARS)
    item = _Item(title, article.url, meta, also=_also(data, others, article))
    mentions = [m for m in article.mentions if concept is None or m.concept == concept]
    if mentions:
        first = mentions[0].sentence
        variants = [m.variant for m in mentions if m.sentence == first]
        item.quotes.append(("", _excerpt(first, variants)))
    return item


def _groups(data: DigestData, zone: ZoneInfo) -> tuple[list[_Group], Counter[str]]:
    """The groups, strongest first, and how many items each concept touches besides its own."""
    rank = {cid: k for k, cid in enumerate(data.order)}

    def strength(cid: str | None) -> tuple[bool, int, str]:
        return cid is None, rank.get(cid or "", len(rank)), cid or ""

    groups: dict[str | None, _Group] = {}
    also: Counter[str] = Counter()

    def group(concepts: set[str]) -> tuple[_Group, str | None, list[str]]:
        ranked: list[str | None] = [*sorted(concepts, key=strength)] or [None]
        head, others = ranked[0], [c for c in ranked[1:] if c]
        also.update(others)
        return groups.setdefault(head, _Group(head)), head, others

    for event in sorted(data.changes, key=lambda c: (-c.significance, _utc(c.detected_at))):
        g, head, others = group(set(_touched(event)))
        g.changes.append(_change(data, head, event, others, zone))
    told = {c.url for c in data.changes}
    newest = sorted(data.articles, key=lambda a: _utc(a.published or a.detected_at), reverse=True)
    for article in (a for a in newest if a.url not in told):
        g, head, others = group({m.concept for m in article.mentions})
        g.articles.append(_article(data, head, article, others, zone))
    return sorted(groups.values(), key=lambda g: strength(g.concept)), also


def _others(
    data: DigestData, groups: list[_Group], also: Counter[str]
) -> tuple[list[str], list[str]]:
    """Concepts without a group: those touched today or mentioned in the chart's days, and the
    silent rest."""
    ids = dict.fromkeys([*data.order, *sorted({*data.labels, *data.daily_counts})])
    rest = [cid for cid in ids if cid not in {g.concept for g in groups}]
    active = [c for c in rest if also[c] or any(n for _, n in data.daily_counts.get(c, ()))]
    return active, [c for c in rest if c not in active]


def _other_line(cid: str, also: Counter[str]) -> str:
    return f"in {_plural(also[cid], 'item')} above" if also[cid] else "nothing new"


def _series(data: DigestData, cid: str) -> tuple[list[tuple[date, int]], int, str]:
    """The concept's daily counts, their maximum and a caption naming it and the total."""
    points = list(data.daily_counts.get(cid, ()))
    if not points:
        return points, 0, "no daily counts"
    top = max(n for _, n in points)
    caption = f"mentions per day, {len(points)} days to {points[-1][0].isoformat()}: "
    if not top:
        return points, 0, caption + "none"
    peak = next(d for d, n in points if n == top)
    return points, top, caption + f"max {top} on {peak}, {sum(n for _, n in points)} in all"


def _days(data: DigestData) -> int:
    return max(map(len, data.daily_counts.values()), default=0) or 30


def _subject(data: DigestData, groups: list[_Group], zone_name: str) -> str:
    """Counts, then the most significant change's first verdict clause (concepts by their
    labels, up to " / " or " (") and title, else the strongest group's first article."""
    head = f"monitor digest {data.day.isoformat()} ({zone_name})"
    if not groups:
        return f"{head}: nothing new"
    changes, articles = sum(len(g.changes) for g in groups), sum(len(g.articles) for g in groups)
    counts = [_plural(n, w) for n, w in ((changes, "wording change"), (articles, "article")) if n]

    def short(cid: str | None) -> str:
        return re.split(r" / | \(", _label(data, cid), maxsplit=1)[0] or str(cid)

    if changes:
        top = max(data.changes, key=lambda c: c.significance)
        ids = "|".join(map(re.escape, sorted(data.labels, key=len, reverse=True))) or "(?!)"
        clause = re.sub(
            rf"(?<![\w-])(?:{ids})(?![\w-])", lambda m: short(m[0]), top.verdict.split("; ")[0]
        )
        lead = f"{clause}: {top.title or top.url}"
    else:
        lead = f"{short(groups[0].concept)}: {groups[0].articles[0].title}"
    return subject_line(f"{head}: {', '.join(counts)} — {lead}")


# ---- plain text --------------------------------------------------------------------------------


def _runs_text(runs: Sequence[WordOp]) -> str:
    marks = [_TEXT_MARKUP.get(r.kind, ("", "")) for r in runs]
    return "".join(f"{a}{terminal(r.text)}{b}" for r, (a, b) in zip(runs, marks, strict=True))


def _item_text(item: _Item) -> list[str]:
    lines = [f"* {item.title}", f"  {item.meta}"]
    lines = [terminal(x) for x in [*lines, *(f"  {x}" for x in (item.headline, item.also) if x)]]
    for label, runs in item.quotes:
        whole = len(runs) == 1 and runs[0].kind in ("removed", "added")
        quote = f"“{terminal(runs[0].text)}”" if whole else _runs_text(runs)
        lines.append(f"  {label}: {quote}" if label else f"  “{quote}”")
    return [*lines, *(f"  {terminal(n)}" for n in item.notes), f"  {terminal(item.url, URL_CHARS)}"]


def _chart_text(data: DigestData, cid: str, flat: bool = True) -> list[str]:
    points, top, caption = _series(data, cid)
    spark = "".join(SPARK[-(-7 * n // top)] if n else SPARK[0] for _, n in points)
    return [f"{spark}  {caption}"] if top or (flat and points) else [caption]


def _text(data: DigestData, groups: list[_Group], also: Counter[str], intro: list[str]) -> str:
    lines = [
        *intro,
        "",
        *(f"  {terminal(_label(data, g.concept))}: {g.counts()}" for g in groups),
    ]
    for g in groups:
        lines += ["", f"== {terminal(_label(data, g.concept))} ==", g.counts()]
        lines += _chart_text(data, g.concept) if g.concept is not None else []
        for title, items in (("Wording changes:", g.changes), ("New articles:", g.articles)):
            full = items if items is g.changes else items[:MAX_ARTICLES]
            listed = items[len(full) : len(full) + MAX_LISTED]
            lines += ["", title] if items else []
            lines += [line for item in full for line in _item_text(item)]
            lines += [f"- {terminal(i.title)} <{terminal(i.url, URL_CHARS)}>" for i in listed]
            if len(items) > len(full) + len(listed):
                lines.append(f"and {_plural(len(items) - len(full) - len(listed), 'more')}")
    active, silent = _others(data, groups, also)
    lines += ["", "== Other tracked concepts =="] if active else []
    for cid in active:
        lines.append(f"{terminal(_label(data, cid))}: {_other_line(cid, also)}")
        lines += _chart_text(data, cid, flat=False)
    if silent:
        names = ", ".join(terminal(_label(data, c)) for c in silent)
        lines += ["", f"No mentions today or in the last {_days(data)} days: {names}"]
    return "\n".join(lines) + "\n"


# ---- HTML --------------------------------------------------------------------------------------


def _link(url: str, inner: str) -> str:
    """`inner` as a link to `url` if it is http, https or file; else `inner` and the URL as text."""
    try:
        # Not file: a file:// link to another host can leak Windows credentials when clicked.
        linkable = urlsplit(url.strip()).scheme.lower() in ("http", "https")
        linkable = linkable and len(url.strip()) <= URL_CHARS
    except ValueError:
        linkable = False
    if linkable:
        return f'<a href="{html_text(url.strip())}" style="color:{_BLUE}">{inner}</a>'
    return f'{inner} <span style="{_MUTED}">({isolated(url, URL_CHARS)})</span>'


def _div(content: str, style: str = "", auto: bool = False) -> str:
    direction = ' dir="auto"' if auto else ""
    return f'<div style="margin:2px 0;{style}"{direction}>{content}</div>'


def _small(content: str) -> str:
    return _div(content, f"{_MUTED};font-size:13px")


def _runs_html(runs: Sequence[WordOp]) -> str:
    out = []
    for r in runs:
        tag, style = _MARKUP.get(r.kind, ("", ""))
        out.append(
            f'<{tag} style="color:inherit;{style}">{isolated(r.text)}</{tag}>'
            if tag
            else isolated(r.text)
        )
    return "".join(out)


def _item_html(item: _Item) -> str:
    parts = [
        _div(_link(item.url, isolated(item.title)), "font-weight:600", auto=True),
        _small(isolated(item.meta)),
        _div(
            isolated(item.headline),
            "font-weight:600" + (";color:#d03030" if item.weak else ""),
            auto=True,
        )
        if item.headline
        else "",
        _small(isolated(item.also)) if item.also else "",
    ]
    for label, runs in item.quotes:
        head = f'<span style="{_MUTED};font-size:13px">{label}:</span> ' if label else ""
        parts.append(_div(head + _runs_html(runs), "margin:6px 0" if label else _QUOTE, True))
    parts += [_small(isolated(n)) for n in item.notes]
    border = f";padding-left:10px;border-left:{_BORDER}" if item.headline else ""
    return _div("".join(parts), "margin:12px 0" + border)


def _chart(data: DigestData, cid: str, height: int = 36) -> str:
    """Bars in a one-row table, a cell per day with a block of set height at its foot, and the
    caption; the bars are left out when there is nothing to draw."""
    points, top, caption = _series(data, cid)
    cells = "".join(
        f'<td valign="bottom" title="{day.isoformat()}: {n}" style="padding:0">'
        f'<div style="height:{max(2, round(height * n / top)) if n else 1}px;'
        f'background-color:{_BLUE if n else "#999999"}"></div></td>'
        for day, n in points
    )
    table = (
        '<table role="presentation" cellpadding="0" cellspacing="2" style="width:100%;'
        f'max-width:480px;height:{height + 4}px;table-layout:fixed"><tr>{cells}</tr></table>'
    )
    return _div((table if top else "") + _small(html_text(caption)), "margin:6px 0 10px")


def _section(title: str, content: str, accent: bool = True) -> str:
    bar = f";padding-left:8px;border-left:4px solid {_BLUE}" if accent else ""
    return (
        f'<div style="margin:24px 0 0;padding-top:12px;border-top:{_BORDER}">'
        f'<h2 style="font-size:17px;margin:0{bar}">{title}</h2>{content}</div>'
    )


def _group_html(data: DigestData, g: _Group) -> str:
    parts = [
        _small(html_text(g.counts())),
        _chart(data, g.concept) if g.concept is not None else "",
    ]
    for title, items in (("Wording changes", g.changes), ("New articles", g.articles)):
        parts += [f'<h3 style="font-size:15px;margin:12px 0 0">{title}</h3>'] if items else []
        parts += map(_item_html, items if items is g.changes else items[:MAX_ARTICLES])
    listed = [f"<li>{_link(i.url, isolated(i.title))}</li>" for i in g.articles[MAX_ARTICLES:]]
    if len(listed) > MAX_LISTED:
        listed[MAX_LISTED:] = [f"<li>and {_plural(len(listed) - MAX_LISTED, 'more')}</li>"]
    if listed:
        parts.append(f'<ul style="margin:4px 0;padding-left:20px">{"".join(listed)}</ul>')
    return _section(isolated(_label(data, g.concept)), "".join(parts))


def _page(subject: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="supported-color-schemes" content="light dark">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
        f'<title>{html_text(subject)}</title>\n</head>\n<body style="margin:0;padding:0">\n'
        f'<div style="max-width:720px;margin:0 auto;padding:16px;{_FONT};'
        f'overflow-wrap:anywhere;word-break:keep-all">\n{body}\n</div>\n</body>\n</html>\n'
    )


def _html(data: DigestData, groups: list[_Group], also: Counter[str], intro: list[str]) -> str:
    parts = [
        f'<h1 style="font-size:20px;line-height:1.3;margin:0 0 4px">{html_text(intro[0])}</h1>',
        _small(html_text(intro[1])),
        _div(f"<b>{html_text(intro[2])}</b>", "margin:8px 0 4px"),
        *(_div(f"{isolated(_label(data, g.concept))}: {html_text(g.counts())}") for g in groups),
        *(_group_html(data, g) for g in groups),
    ]
    active, silent = _others(data, groups, also)
    rows = [
        _div(
            f"<b>{isolated(_label(data, c))}</b>: {_other_line(c, also)}{_chart(data, c, 20)}",
            "margin:10px 0",
        )
        for c in active
    ]
    parts += [_section("Other tracked concepts", "".join(rows), accent=False)] if rows else []
    if silent:
        names = ", ".join(isolated(_label(data, c)) for c in silent)
        parts.append(_small(f"No mentions today or in the last {_days(data)} days: {names}"))
    return _page(intro[3], "\n".join(parts))


# ---- the message -------------------------------------------------------------------------------


def render_digest(data: DigestData, *, dedup_key: str) -> Message:
    """The digest of `data` as a multipart message (see the module docstring); an empty day is
    one line. `payload` is what webhooks receive."""
    zone = ZoneInfo(data.timezone)
    start, end = _utc(data.start), _utc(data.end)
    groups, also = _groups(data, zone)
    subject = _subject(data, groups, f"{end.astimezone(zone):%Z}")
    changes, articles = sum(len(g.changes) for g in groups), sum(len(g.articles) for g in groups)
    payload: dict[str, Any] = {
        "event": "digest",
        "day": data.day.isoformat(),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "changes": changes,
        "articles": articles,
        "subject": subject,
    }
    hours = round((end - start).total_seconds() / 3600)
    if not groups:
        line = (
            "No wording changes or new articles about the tracked concepts in the "
            f"{hours} hours to {end.astimezone(zone):%H:%M %Z} on {data.day.isoformat()}."
        )
        html = _page(subject, f"<p>{html_text(line)}</p>")
        return Message(dedup_key, subject, line + "\n", html, payload)
    intro = [
        f"monitor digest · {data.day.isoformat()} {end.astimezone(zone):%H:%M %Z}",
        f"The {hours} hours from {_local(start, zone)} to {_local(end, zone)} "
        f"({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC)",
        _counts(changes, articles, zeros=True),
        subject,
    ]
    text = _text(data, groups, also, intro[:3])
    return Message(dedup_key, subject, text, _html(data, groups, also, intro), payload)
