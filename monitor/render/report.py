"""A comparison for a person: a plain-text report (optionally coloured) and an HTML redline.

Both put the verdict first, then the concept table, the stance moves, the changed sentences with
word-level highlights, the removed and added sentences and the number of moved ones. Empty
sections are left out.

Document text is never trusted; `monitor.render.untrusted` holds the rule. In the text report,
control characters (terminal escapes included) and bidirectional formatting characters are shown as
`<U+XXXX>`. In the HTML report every piece of text is escaped, controls and characters HTML forbids
are shown as `<U+XXXX>`, and document text sits in `<bdi>` elements, so a right-to-left override
cannot reorder the report around it; the page has no scripts, no external resources, and a
Content-Security-Policy that forbids both. Titles are capped at TITLE_CHARS.

Longer than most modules: the text report and the HTML redline walk the same sections in the
same order, kept side by side so that a section added to one is added to the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from monitor.analysis.compare import LANGUAGES, divergences, value_labels, verdict
from monitor.analysis.diff import sentence_key
from monitor.models import (
    ChangedSentence,
    Comparison,
    ConceptDelta,
    DocumentSide,
    Evidence,
    Qualifier,
    WordOp,
)
from monitor.render import untrusted
from monitor.render.untrusted import TITLE_CHARS, isolated, terminal

_RED, _GREEN, _BOLD, _DIM, _RESET = "\x1b[31;9m", "\x1b[32;4m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


# ---- plain text --------------------------------------------------------------------------------


def _score(significance: float) -> str:
    """Three decimals, but exactly 0 (no change at all) as "0"."""
    return "0" if significance == 0 else f"{significance:.3f}"


def _side_line(tag: str, label: str, side: DocumentSide) -> str:
    title = f": {terminal(side.title, TITLE_CHARS)}" if side.title else ""
    return f"{tag} {terminal(label)}{title} ({side.words} words)"


def _variants_text(d: ConceptDelta) -> str:
    def show(vs: Sequence[str]) -> str:
        return ", ".join(f'"{terminal(v)}"' for v in vs) or "-"

    if [v.casefold() for v in d.variants_old] == [v.casefold() for v in d.variants_new]:
        return show(d.variants_new)
    return f"{show(d.variants_old)} → {show(d.variants_new)}"


def _ops_text(ops: Sequence[WordOp], color: bool) -> str:
    out = []
    for op in ops:
        text = terminal(op.text)
        if op.kind == "removed":
            out.append(f"{_RED}{text}{_RESET}" if color else f"[-{text}-]")
        elif op.kind == "added":
            out.append(f"{_GREEN}{text}{_RESET}" if color else f"{{+{text}+}}")
        else:
            out.append(text)
    return " ".join(out)


# Sentence changes shown per kind after the evidence, unless every one is asked for.
SHOWN = 10


def _aside_text(d: ConceptDelta) -> str:
    def show(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{reason} {n}" for reason, n in counts.items())

    old, new = show(d.set_aside_old), show(d.set_aside_new)
    if not (old or new):
        return ""
    return f"set aside: {old or '-'} → {new or '-'}"


def _evidence_head(d: ConceptDelta, qualifiers: Sequence[Qualifier]) -> str:
    facets = [
        f"{q.facet_label or q.facet} {value_labels(q.old_labels)} → {value_labels(q.new_labels)}"
        for q in qualifiers
        if q.concept == d.id and q.status != "kept" and q.own and d.old and d.new
    ]
    status = "superseded by a stronger rung" if d.superseded else d.status
    return "; ".join([f"{d.id} {d.old} → {d.new} ({status})", *facets])


def evidence_sections(c: Comparison) -> list[tuple[ConceptDelta, list[Evidence], int]]:
    """Per concept with evidence: the pairs not already shown under a stronger concept (a CVID
    sentence is also a denuclearization sentence: it is shown once), and how many more there
    are than the pairs kept."""
    seen: set[tuple[str | None, str | None]] = set()
    out = []
    for d in c.concepts:
        if not d.evidence:
            continue
        fresh = [e for e in d.evidence if (e.old, e.new) not in seen]
        seen.update((e.old, e.new) for e in d.evidence)
        out.append((d, fresh, d.evidence_total - len(d.evidence)))
    return out


def _html_list(heading: str, items: list[str]) -> list[str]:
    """A section of the redline as a list under its heading; no section without items."""
    return [f"<h2>{heading}</h2>", "<ul>", *items, "</ul>"] if items else []


def _others(c: Comparison) -> tuple[list[ChangedSentence], list[str], list[str]]:
    """The sentence changes not already shown as evidence."""
    shown = {
        sentence_key(x)
        for d in c.concepts
        for e in d.evidence
        for x in (e.old, e.new)
        if x is not None
    }
    s = c.sentences
    changed = [x for x in s.changed if not {sentence_key(x.old), sentence_key(x.new)} & shown]
    removed = [x for x in s.removed if sentence_key(x) not in shown]
    added = [x for x in s.added if sentence_key(x) not in shown]
    return changed, removed, added


def _more(total: int, limit: int | None) -> int:
    return 0 if limit is None else max(0, total - limit)


def render_text(
    c: Comparison,
    *,
    old_label: str,
    new_label: str,
    color: bool = False,
    limit: int | None = SHOWN,
) -> str:
    """The report as plain text, evidence first; `color` adds ANSI colours (removed red, added
    green); `limit` caps each kind of the remaining sentence changes (None: all)."""
    head = terminal(verdict(c))
    lines = [f"{_BOLD}{head}{_RESET}" if color else head, ""]
    lines += [
        _side_line("old:", old_label, c.old),
        _side_line("new:", new_label, c.new),
        f"significance: {_score(c.significance)}",
    ]
    if c.languages is not None:
        return "\n".join(lines + _bilingual_text(c)) + "\n"
    with_evidence = evidence_sections(c)
    if with_evidence:
        lines += ["", "evidence:"]
        for d, fresh, more in with_evidence:
            same = "" if fresh else ": the sentences above"
            lines.append(f"  {terminal(_evidence_head(d, c.qualifiers))}{same}")
            for e in fresh:
                if e.old is not None and e.new is not None:
                    lines.append(f"    ~ {_ops_text(e.ops, color)}")
                elif e.old is not None:
                    text = terminal(e.old)
                    lines.append(f"    - {_RED}{text}{_RESET}" if color else f"    - {text}")
                elif e.new is not None:
                    text = terminal(e.new)
                    lines.append(f"    + {_GREEN}{text}{_RESET}" if color else f"    + {text}")
            if more:
                lines.append(f"    … and {more} more")
    if c.concepts:
        width = max(len("concept"), *(len(d.id) for d in c.concepts))
        lines += ["", f"{'concept':<{width}}   old   new  status       variants"]
        for d in c.concepts:
            aside = _aside_text(d)
            lines.append(
                f"{terminal(d.id):<{width}} {d.old:>5} {d.new:>5}  {d.status:<12} "
                f"{_variants_text(d)}" + (f"  ({aside})" if aside else "")
            )
    lines += _facets(
        c,
        lambda q: (
            f"{terminal(value_labels(q.old_labels))} → "
            f"{terminal(value_labels(q.new_labels))} ({q.status})"
        ),
    )
    if c.stance:
        lines += ["", "stance:"]
        for m in c.stance:
            old, new = terminal(m.old or "none"), terminal(m.new or "none")
            lines.append(f"  {terminal(m.ladder)}: {old} → {new} ({m.move})")
    changed, removed, added = _others(c)
    heading = "other " if with_evidence else ""
    if changed:
        lines += ["", f"{heading}changed sentences ({len(changed)}):"]
        for x in changed[:limit]:
            lines.append(f"  ~ {_ops_text(x.ops, color)}")
        if more := _more(len(changed), limit):
            lines.append(f"  … and {more} more (--all shows every sentence)")
    for title, items, mark, colour in (
        ("removed", removed, "-", _RED),
        ("added", added, "+", _GREEN),
    ):
        if items:
            lines += ["", f"{heading}{title} sentences ({len(items)}):"]
            for item in items[:limit]:
                text = terminal(item)
                lines.append(f"  {mark} {colour}{text}{_RESET}" if color else f"  {mark} {text}")
            if more := _more(len(items), limit):
                lines.append(f"  … and {more} more (--all shows every sentence)")
    if c.sentences.moved:
        moved = f"moved sentences: {len(c.sentences.moved)} (same wording, new place)"
        lines += ["", f"{_DIM}{moved}{_RESET}" if color else moved]
    return "\n".join(lines) + "\n"


def _facets(c: Comparison, values: Callable[[Qualifier], str]) -> list[str]:
    """The facets section of the text report: each facet's concept and label, then what
    `values` says of the facet's values."""
    if not c.qualifiers:
        return []
    heads = [
        f"  {terminal(q.concept)} {terminal(q.facet_label or q.facet)}: " for q in c.qualifiers
    ]
    return ["", "facets:", *(head + values(q) for head, q in zip(heads, c.qualifiers, strict=True))]


def _bilingual_text(c: Comparison) -> list[str]:
    """Texts in two languages: one table of concepts and facets per language, the divergences."""
    old_lang, new_lang = (LANGUAGES.get(x, x) for x in c.languages or ("old", "new"))
    lines = [
        "",
        "The texts are in different languages: concepts and facets are compared, not words.",
    ]
    if c.concepts:
        width = max(len("concept"), *(len(d.id) for d in c.concepts))
        lines += ["", f"{'concept':<{width}}  {old_lang:>8}  {new_lang:>8}"]
        lines += [f"{terminal(d.id):<{width}}  {d.old:>8}  {d.new:>8}" for d in c.concepts]
    lines += _facets(
        c,
        lambda q: (
            f"{old_lang} text: {terminal(value_labels(q.old_labels))}; "
            f"{new_lang} text: {terminal(value_labels(q.new_labels))}"
        ),
    )
    found = divergences(c)
    lines += ["", "divergences:" if found else "no divergences: the concepts and facets agree"]
    lines += [f"  {terminal(x)}" for x in found]
    return lines


# ---- HTML --------------------------------------------------------------------------------------

_STYLE = """
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfc; --muted: #5c5c5c;
  --line: #d8d8d8; --del-fg: #8a1111; --del-bg: #fde3e3; --ins-fg: #0b5a1e; --ins-bg: #dcf5e1;
  --warn: #8a1111; --up: #0b5a1e; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #161616; --muted: #a8a8a8; --line: #3a3a3a; --del-fg: #ffb4b4;
    --del-bg: #4a1c1c; --ins-fg: #b4f0c2; --ins-bg: #173d22; --warn: #ff9c9c; --up: #8fe0a4; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans KR",
  "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; }
main { max-width: 48rem; margin: 0 auto; padding: 1rem; overflow-wrap: anywhere; }
h1 { font-size: 1.2rem; line-height: 1.35; margin: 0.5rem 0 1rem; }
h2 { font-size: 1rem; margin: 1.5rem 0 0.5rem; border-bottom: 1px solid var(--line); }
.meta, .note { color: var(--muted); font-size: 0.9rem; }
.meta p { margin: 0.15rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: start; padding: 0.3rem 0.5rem 0.3rem 0; border-bottom: 1px solid var(--line);
  vertical-align: top; }
td.n { text-align: end; font-variant-numeric: tabular-nums; }
table { overflow-wrap: normal; }
th, td.n, td:nth-child(4) { white-space: nowrap; }
td:last-child { min-width: 10rem; }
.dropped, .decreased, .downgrade { color: var(--warn); font-weight: 600; }
.introduced, .increased, .upgrade { color: var(--up); font-weight: 600; }
.changed { color: var(--warn); font-weight: 600; }
h3 { font-size: 0.95rem; margin: 1rem 0 0.25rem; }
ol, ul { padding-inline-start: 1.25rem; }
li { margin: 0.4rem 0; }
del { color: var(--del-fg); background: var(--del-bg); text-decoration: line-through; }
ins { color: var(--ins-fg); background: var(--ins-bg); text-decoration: underline; }
bdi, del, ins { unicode-bidi: isolate; }
"""


def html_text(text: str, limit: int | None = None) -> str:
    """Text for the redline: escaped, controls shown; bidirectional controls kept, as every
    piece of document text sits in a <bdi> (see monitor.render.untrusted)."""
    return untrusted.html_text(text, limit, keep_bidi=True)


def _ops_html(ops: Iterable[WordOp]) -> str:
    out = []
    for op in ops:
        tag = {"removed": "del", "added": "ins"}.get(op.kind)
        out.append(
            f"<{tag}>{isolated(op.text, keep_bidi=True)}</{tag}>"
            if tag
            else isolated(op.text, keep_bidi=True)
        )
    return " ".join(out)


def _side_html(tag: str, label: str, side: DocumentSide) -> str:
    title = f": {isolated(side.title, TITLE_CHARS, keep_bidi=True)}" if side.title else ""
    return f"<p><b>{tag}</b> {isolated(label, keep_bidi=True)}{title} ({side.words} words)</p>"


def _bilingual_html(c: Comparison) -> list[str]:
    old_lang, new_lang = (LANGUAGES.get(x, x) for x in c.languages or ("old", "new"))
    parts = [
        '<p class="note">The texts are in different languages: concepts and facets are '
        "compared, not words.</p>",
        "<h2>Concepts</h2>",
        '<div class="scroll"><table>',
        f"<thead><tr><th>concept</th><th>{old_lang}</th><th>{new_lang}</th></tr></thead><tbody>",
    ]
    parts += [
        f'<tr><td>{html_text(d.id)}</td><td class="n">{d.old}</td><td class="n">{d.new}</td></tr>'
        for d in c.concepts
    ]
    parts.append("</tbody></table></div>")
    found = divergences(c)
    parts += [
        "<h2>Divergences</h2>",
        "<ul>" if found else "<p>None: the concepts and facets agree.</p>",
    ]
    if found:
        parts += [f'<li dir="auto">{isolated(x, keep_bidi=True)}</li>' for x in found] + ["</ul>"]
    return parts


def render_html(c: Comparison, *, old_label: str, new_label: str, limit: int | None = SHOWN) -> str:
    """A self-contained HTML5 redline of the comparison, evidence first."""
    head = html_text(verdict(c))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>{head}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<h1 dir="auto"><bdi>{head}</bdi></h1>',
        '<div class="meta">',
        _side_html("old", old_label, c.old),
        _side_html("new", new_label, c.new),
        f"<p>significance {_score(c.significance)}</p>",
        "</div>",
    ]
    if c.languages is not None:
        parts += _bilingual_html(c)
        parts += ["</main>", "</body>", "</html>"]
        return "\n".join(parts) + "\n"
    with_evidence = evidence_sections(c)
    if with_evidence:
        parts.append("<h2>Evidence</h2>")
        for d, fresh, more in with_evidence:
            same = "" if fresh else ": the sentences above"
            parts.append(f"<h3>{html_text(_evidence_head(d, c.qualifiers) + same)}</h3>")
            parts += ["<ul>"] if fresh else []
            for e in fresh:
                if e.old is not None and e.new is not None:
                    parts.append(f'<li dir="auto">{_ops_html(e.ops)}</li>')
                elif e.old is not None:
                    parts.append(
                        f'<li dir="auto"><del>{isolated(e.old, keep_bidi=True)}</del></li>'
                    )
                elif e.new is not None:
                    parts.append(
                        f'<li dir="auto"><ins>{isolated(e.new, keep_bidi=True)}</ins></li>'
                    )
            parts += ["</ul>"] if fresh else []
            if more:
                parts.append(f'<p class="note">… and {more} more.</p>')
    if c.concepts:
        parts += [
            "<h2>Concepts</h2>",
            '<div class="scroll"><table>',
            "<thead><tr><th>concept</th><th>old</th><th>new</th><th>status</th>"
            "<th>variants</th><th>set aside</th></tr></thead><tbody>",
        ]
        for d in c.concepts:
            old_v = ", ".join(isolated(v, keep_bidi=True) for v in d.variants_old) or "–"
            new_v = ", ".join(isolated(v, keep_bidi=True) for v in d.variants_new) or "–"
            alike = [v.casefold() for v in d.variants_old] == [v.casefold() for v in d.variants_new]
            variants = new_v if alike else f"{old_v} → {new_v}"
            aside = _aside_text(d).removeprefix("set aside: ") or "–"
            parts.append(
                f'<tr><td>{html_text(d.id)}</td><td class="n">{d.old}</td>'
                f'<td class="n">{d.new}</td><td class="{html_text(d.status)}">{html_text(d.status)}</td>'
                f"<td>{variants}</td><td>{html_text(aside)}</td></tr>"
            )
        parts.append("</tbody></table></div>")
    parts += _html_list(
        "Facets",
        [
            f"<li>{html_text(q.concept)} {html_text(q.facet_label or q.facet)}: "
            f"{html_text(value_labels(q.old_labels))} → "
            f"{html_text(value_labels(q.new_labels))} "
            f'<span class="{"changed" if q.status != "kept" else ""}">({html_text(q.status)})</span></li>'
            for q in c.qualifiers
        ],
    )
    parts += _html_list(
        "Stance",
        [
            f"<li>{html_text(m.ladder)}: {html_text(m.old or 'none')} → {html_text(m.new or 'none')} "
            f'<span class="{html_text(m.move)}">({html_text(m.move)})</span></li>'
            for m in c.stance
        ],
    )
    changed, removed, added = _others(c)
    other = "Other c" if with_evidence else "C"
    if changed:
        parts += [f"<h2>{other}hanged sentences ({len(changed)})</h2>", "<ol>"]
        parts += [f'<li dir="auto">{_ops_html(x.ops)}</li>' for x in changed[:limit]]
        parts.append("</ol>")
        if more := _more(len(changed), limit):
            parts.append(f'<p class="note">… and {more} more.</p>')
    for title, items, tag in (("removed", removed, "del"), ("added", added, "ins")):
        if items:
            name = f"Other {title}" if with_evidence else title.capitalize()
            parts += [f"<h2>{name} sentences ({len(items)})</h2>", "<ul>"]
            parts += [
                f'<li dir="auto"><{tag}>{isolated(x, keep_bidi=True)}</{tag}></li>'
                for x in items[:limit]
            ]
            parts.append("</ul>")
            if more := _more(len(items), limit):
                parts.append(f'<p class="note">… and {more} more.</p>')
    if c.sentences.moved:
        parts.append(
            f'<p class="note">Moved sentences: {len(c.sentences.moved)} (same wording, new place).</p>'
        )
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
