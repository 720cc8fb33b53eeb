"""A comparison for a person: a plain-text report (optionally coloured) and an HTML redline.

Both put the verdict first, then the concept table, the stance moves, the changed sentences with
word-level highlights, the removed and added sentences and the number of moved ones. Empty
sections are left out.

Document text is never trusted. In the text report, control characters (terminal escapes
included) and bidirectional formatting characters are shown as `<U+XXXX>`. In the HTML report
every piece of text is escaped, characters HTML forbids become U+FFFD, and document text sits in
`<bdi>` elements, so a right-to-left override cannot reorder the report around it; the page has no
scripts, no external resources, and a Content-Security-Policy that forbids both.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from monitor.compare import verdict
from monitor.models import Comparison, ConceptDelta, DocumentSide, WordOp

# C0 and C1 controls (tab kept) and the bidirectional formatting characters.
_UNSAFE_TEXT = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# What HTML does not allow in text: controls other than white space, noncharacters, surrogates.
_UNSAFE_HTML = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")

_RED, _GREEN, _BOLD, _DIM, _RESET = "\x1b[31;9m", "\x1b[32;4m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


# ---- plain text --------------------------------------------------------------------------------


def _score(significance: float) -> str:
    """Three decimals, but exactly 0 (no change at all) as "0"."""
    return "0" if significance == 0 else f"{significance:.3f}"


def terminal_safe(text: str) -> str:
    """`text` for a terminal: line breaks as spaces, other controls visible as <U+XXXX>."""
    text = text.replace("\r\n", " ").replace("\n", " ")
    return _UNSAFE_TEXT.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def _side_line(tag: str, label: str, side: DocumentSide) -> str:
    title = f": {terminal_safe(side.title)}" if side.title else ""
    return f"{tag} {terminal_safe(label)}{title} ({side.words} words)"


def _variants_text(d: ConceptDelta) -> str:
    def show(vs: Sequence[str]) -> str:
        return ", ".join(f'"{terminal_safe(v)}"' for v in vs) or "-"

    if [v.casefold() for v in d.variants_old] == [v.casefold() for v in d.variants_new]:
        return show(d.variants_new)
    return f"{show(d.variants_old)} → {show(d.variants_new)}"


def _ops_text(ops: Sequence[WordOp], color: bool) -> str:
    out = []
    for op in ops:
        text = terminal_safe(op.text)
        if op.kind == "removed":
            out.append(f"{_RED}{text}{_RESET}" if color else f"[-{text}-]")
        elif op.kind == "added":
            out.append(f"{_GREEN}{text}{_RESET}" if color else f"{{+{text}+}}")
        else:
            out.append(text)
    return " ".join(out)


def render_text(c: Comparison, *, old_label: str, new_label: str, color: bool = False) -> str:
    """The report as plain text; `color` adds ANSI colours (removed red, added green)."""
    head = terminal_safe(verdict(c))
    lines = [f"{_BOLD}{head}{_RESET}" if color else head, ""]
    lines += [
        _side_line("old:", old_label, c.old),
        _side_line("new:", new_label, c.new),
        f"significance: {_score(c.significance)}",
    ]
    if c.concepts:
        width = max(len("concept"), *(len(d.id) for d in c.concepts))
        lines += ["", f"{'concept':<{width}}   old   new  status       variants"]
        lines += [
            f"{terminal_safe(d.id):<{width}} {d.old:>5} {d.new:>5}  {d.status:<12} {_variants_text(d)}"
            for d in c.concepts
        ]
    if c.stance:
        lines += ["", "stance:"]
        lines += [
            f"  {terminal_safe(m.ladder)}: {terminal_safe(m.old or 'none')} → {terminal_safe(m.new or 'none')}"
            f" ({m.move})"
            for m in c.stance
        ]
    s = c.sentences
    if s.changed:
        lines += ["", f"changed sentences ({len(s.changed)}):"]
        for changed in s.changed:
            lines.append(f"  ~ {_ops_text(changed.ops, color)}")
    for title, items, mark, colour in (
        ("removed", s.removed, "-", _RED),
        ("added", s.added, "+", _GREEN),
    ):
        if items:
            lines += ["", f"{title} sentences ({len(items)}):"]
            for item in items:
                text = terminal_safe(item)
                lines.append(f"  {mark} {colour}{text}{_RESET}" if color else f"  {mark} {text}")
    if s.moved:
        moved = f"moved sentences: {len(s.moved)} (same wording, new place)"
        lines += ["", f"{_DIM}{moved}{_RESET}" if color else moved]
    return "\n".join(lines) + "\n"


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
ol, ul { padding-inline-start: 1.25rem; }
li { margin: 0.4rem 0; }
del { color: var(--del-fg); background: var(--del-bg); text-decoration: line-through; }
ins { color: var(--ins-fg); background: var(--ins-bg); text-decoration: underline; }
bdi, del, ins { unicode-bidi: isolate; }
"""


def html_text(text: str) -> str:
    """Escape text for HTML, replacing characters HTML does not allow."""
    return html.escape(_UNSAFE_HTML.sub("\ufffd", text), quote=True)


def _doc(text: str) -> str:
    """Document text: escaped and isolated, so its direction cannot leak into the report."""
    return f"<bdi>{html_text(text)}</bdi>"


def _ops_html(ops: Iterable[WordOp]) -> str:
    out = []
    for op in ops:
        tag = {"removed": "del", "added": "ins"}.get(op.kind)
        out.append(f"<{tag}>{_doc(op.text)}</{tag}>" if tag else _doc(op.text))
    return " ".join(out)


def _side_html(tag: str, label: str, side: DocumentSide) -> str:
    title = f": {_doc(side.title)}" if side.title else ""
    return f"<p><b>{tag}</b> {_doc(label)}{title} ({side.words} words)</p>"


def render_html(c: Comparison, *, old_label: str, new_label: str) -> str:
    """A self-contained HTML5 redline of the comparison."""
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
    if c.concepts:
        parts += [
            "<h2>Concepts</h2>",
            '<div class="scroll"><table>',
            "<thead><tr><th>concept</th><th>old</th><th>new</th><th>status</th>"
            "<th>variants</th></tr></thead><tbody>",
        ]
        for d in c.concepts:
            old_v = ", ".join(_doc(v) for v in d.variants_old) or "–"
            new_v = ", ".join(_doc(v) for v in d.variants_new) or "–"
            same = [v.casefold() for v in d.variants_old] == [v.casefold() for v in d.variants_new]
            variants = new_v if same else f"{old_v} → {new_v}"
            parts.append(
                f'<tr><td>{html_text(d.id)}</td><td class="n">{d.old}</td>'
                f'<td class="n">{d.new}</td><td class="{html_text(d.status)}">{html_text(d.status)}</td>'
                f"<td>{variants}</td></tr>"
            )
        parts.append("</tbody></table></div>")
    if c.stance:
        parts += ["<h2>Stance</h2>", "<ul>"]
        parts += [
            f"<li>{html_text(m.ladder)}: {html_text(m.old or 'none')} → {html_text(m.new or 'none')} "
            f'<span class="{html_text(m.move)}">({html_text(m.move)})</span></li>'
            for m in c.stance
        ]
        parts.append("</ul>")
    s = c.sentences
    if s.changed:
        parts += [f"<h2>Changed sentences ({len(s.changed)})</h2>", "<ol>"]
        parts += [f'<li dir="auto">{_ops_html(x.ops)}</li>' for x in s.changed]
        parts.append("</ol>")
    for title, items, tag in (("Removed", s.removed, "del"), ("Added", s.added, "ins")):
        if items:
            parts += [f"<h2>{title} sentences ({len(items)})</h2>", "<ul>"]
            parts += [f'<li dir="auto"><{tag}>{_doc(x)}</{tag}></li>' for x in items]
            parts.append("</ul>")
    if s.moved:
        parts.append(
            f'<p class="note">Moved sentences: {len(s.moved)} (same wording, new place).</p>'
        )
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
