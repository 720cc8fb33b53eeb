"""Untrusted text in every output: one rule, a function per format, and the length caps.

Anything a feed, a page or a server sent is untrusted: titles, text, sentences, snippets, URLs,
source and series names, error texts that quote a server. Everywhere it is shown, the characters
that could act instead of being read are shown as `<U+XXXX>`:

- the C0 controls (ESC, so every CSI, OSC and OSC 8 sequence; BEL; NUL; CR ...), DEL and the C1
  controls (CSI as U+009B included), except tab, and except line breaks where the format keeps
  lines (elsewhere a line break is a space);
- the bidirectional controls U+202A-U+202E, U+2066-U+2069, U+200E, U+200F and U+061C, which can
  reorder what is around them (a right-to-left override makes "exe.txt" read "txt.exe");
- lone surrogates, which no terminal or mail can carry, and (in HTML) the noncharacters HTML
  forbids.

Everything else (Korean, emoji, combining marks, ordinary white space) passes unchanged.
`terminal` is that rule for a terminal or a plain-text part; `html_text` adds HTML escaping;
`one_line` collapses white space for a line of a mail; `subject_line` makes a mail subject, and
`header` any header value as sent, which never holds CR or LF; `json_text` writes JSON for a
terminal. Each takes a length cap: long text is cut to it (a marker is never cut in two) and
ends in "…". The caps below are the same in every output; JSON for programs is not capped, but
`capped` bounds a webhook payload.

The redline of `compare --html` is a page a browser shows with every piece of document text in a
`<bdi>` (and `unicode-bidi: isolate`), so it keeps the document's bidirectional controls
(`html_text(..., keep_bidi=True)`): they are isolated there, and a Hebrew or Arabic text needs
its marks. Mail clients do not all honour `<bdi>`, so mail shows them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping

TITLE_CHARS = 200  # a title: documents, entries, editions
SUBJECT_CHARS = 160  # a mail subject (and a webhook's subject)
SENTENCE_CHARS = 600  # a quoted sentence, a search snippet, an excerpt
URL_CHARS = 2000  # an address; a longer one is shown cut and not linked
NAME_CHARS = 200  # a source, series or concept name, a label
ERROR_CHARS = 500  # an error text, which may quote a server
PAYLOAD_ITEMS = 100  # entries kept of each list in a webhook payload (sentences, mentions)

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
# Tab is white space everywhere; line breaks are handled before this applies.
_CONTROLS = "\x00-\x08\x0a-\x1f\x7f-\x9f"
_TERMINAL = re.compile(f"[{_CONTROLS}{_BIDI}\u2028\u2029{_SURROGATES}]")
_TERMINAL_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029{_SURROGATES}]")
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff"
_HTML = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029{_SURROGATES}{_NONCHARACTERS}]")
_HTML_KEEP_BIDI = re.compile(
    f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_SURROGATES}{_NONCHARACTERS}]"
)
# What json.dumps(ensure_ascii=False) leaves raw but a terminal could obey (it escapes C0).
_JSON = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029{_SURROGATES}]")
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
_SPACES = re.compile(r"\s+")
# The start of a <U+XXXX> marker left at the end of a cut.
_PARTIAL_MARKER = re.compile(r"<(?:U(?:\+[0-9A-F]{0,4})?)?$")
ELLIPSIS = "…"


def _marker(found: re.Match[str]) -> str:
    return f"<U+{ord(found.group()):04X}>"


def cap(text: str, limit: int | None) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut; None: no cap."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def _shown(text: str, pattern: re.Pattern[str], limit: int | None) -> str:
    """`text` with `pattern`'s characters as markers, capped after, never inside a marker."""
    if limit is not None:
        text = text[: limit + 1]  # enough: a marker only makes text longer
    text = pattern.sub(_marker, text)
    if limit is None or len(text) <= limit:
        return text
    cut = _PARTIAL_MARKER.sub("", text[: max(0, limit - 1)])
    return cut.rstrip() + ELLIPSIS


def terminal(text: str, limit: int | None = None, *, lines: bool = False) -> str:
    """Untrusted text for a terminal or a plain-text part: controls, escape sequences and
    bidirectional controls shown as <U+XXXX>, at most `limit` characters. One line (line
    breaks become spaces) unless `lines`, which keeps them (as "\\n")."""
    text = _LINE_BREAK.sub("\n" if lines else " ", text)
    return _shown(text, _TERMINAL_LINES if lines else _TERMINAL, limit)


def one_line(text: str, limit: int | None = None) -> str:
    """One line of untrusted text for a mail: `terminal`, with runs of white space as one space
    and none at either end."""
    return terminal(_SPACES.sub(" ", text).strip(), limit)


def subject_line(text: str) -> str:
    """A mail subject (and a webhook's) from untrusted text: `one_line`, at most SUBJECT_CHARS."""
    return one_line(text, SUBJECT_CHARS)


def header(text: str) -> str:
    """Any mail header value as sent: one line, never CR or LF, nothing else changed (the
    subject was built by `subject_line`)."""
    return terminal(text)


def html_text(text: str, limit: int | None = None, *, keep_bidi: bool = False) -> str:
    """Untrusted text for HTML: controls (and bidirectional controls, unless `keep_bidi`) and
    the characters HTML forbids shown as <U+XXXX>, capped at `limit` characters before
    escaping, then escaped (quotes too, so it may stand in an attribute)."""
    text = _LINE_BREAK.sub("\n", text)
    return html.escape(_shown(text, _HTML_KEEP_BIDI if keep_bidi else _HTML, limit), quote=True)


def isolated(
    text: str, limit: int | None = None, *, line: bool = False, keep_bidi: bool = False
) -> str:
    """Document text inside HTML: `html_text` (on one line first when `line`, as in a mail; its
    bidirectional controls kept when `keep_bidi`, as in the redline, where they are the text's
    own) in a `<bdi>`, so that its direction cannot leak into the page around it. Every
    renderer's HTML puts document text through here."""
    shown = html_text(one_line(text) if line else text, limit, keep_bidi=keep_bidi)
    return f"<bdi>{shown}</bdi>"


def url_text(url: str) -> str:
    """An address for a terminal: one line, capped at URL_CHARS."""
    return terminal(url, URL_CHARS)


def json_text(value: object, *, indent: int | None = None) -> str:
    """`value` as JSON (non-ASCII text readable, as `ensure_ascii=False`), with DEL, the C1
    controls, the bidirectional controls and lone surrogates written as \\uXXXX escapes: the
    same value for a program, nothing a terminal obeys for a person reading it. Not capped."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return _JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def capped(value: object, limit: int = SENTENCE_CHARS) -> object:
    """A JSON-like value (a webhook payload) with every string in it capped at `limit` and
    every list at its first PAYLOAD_ITEMS entries; the text itself is left as it is (JSON
    escapes controls, and a receiver renders it its own way)."""
    if isinstance(value, str):
        return cap(value, limit)
    if isinstance(value, Mapping):
        return {k: capped(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [capped(v, limit) for v in value[:PAYLOAD_ITEMS]]
    return value
