"""Extraction quality: token F1 and the human ground truth of the shared HTML corpus.

Used by bench/bench_extraction.py and tests/test_extract.py, so both measure the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import lxml.html

REPO = Path(__file__).resolve().parent.parent
CORPUS_HTML = REPO.parent / "shared" / "corpus" / "html"

_WORD = re.compile(r"\w+")
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption"}
    | {"figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main"}
    | {"nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)
_MANIFEST_ROW = re.compile(r"\(full id: `([0-9a-f]{64})`\) \| (\S+) \|")


def tokens(text: str) -> list[str]:
    """Lowercase Unicode word tokens (\\w+)."""
    return _WORD.findall(text.lower())


def token_f1(got: str, want: str) -> float:
    """F1 of the multiset of word tokens of `got` against `want` (1.0 when both are empty)."""
    got_tokens, want_tokens = Counter(tokens(got)), Counter(tokens(want))
    if not got_tokens and not want_tokens:
        return 1.0
    common = sum((got_tokens & want_tokens).values())
    if common == 0:
        return 0.0
    precision = common / sum(got_tokens.values())
    recall = common / sum(want_tokens.values())
    return 2 * precision * recall / (precision + recall)


def html_text(html: str) -> str:
    """The visible text of an HTML fragment: one paragraph per block, blank lines between."""
    root = lxml.html.fromstring(html)
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    parts: list[str] = []
    _walk(root, parts)
    paragraphs = (" ".join(p.split()) for p in "".join(parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def _walk(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    block = isinstance(element.tag, str) and element.tag in _BLOCKS
    if block:
        parts.append("\n\n")
    if isinstance(element.tag, str) and element.text:
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append("\n\n")


@dataclass(frozen=True)
class Page:
    """One corpus page: its HTML file, the URL it came from and the expected main text."""

    name: str
    html: Path
    url: str
    truth: str


def corpus_pages(root: Path = CORPUS_HTML) -> list[Page]:
    """Every page of corpus section C with its ground truth, in a stable order."""
    manifest = root.parent / "MANIFEST.md"
    urls = dict(_MANIFEST_ROW.findall(manifest.read_text())) if manifest.exists() else {}
    pages = []
    for html in sorted((root / "scrapinghub-aeb").glob("*.html")):
        truth = html.with_suffix(".expected.txt").read_text(encoding="utf-8")
        pages.append(Page(f"aeb-{html.stem[:8]}", html, urls.get(html.stem, ""), truth))
    for folder in sorted(p for p in (root / "readability").iterdir() if p.is_dir()):
        truth = html_text((folder / "expected.html").read_text(encoding="utf-8"))
        pages.append(Page(f"readability-{folder.name}", folder / "source.html", "", truth))
    return pages
