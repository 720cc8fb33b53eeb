"""The text of a PDF: PDFium's printed lines joined into paragraphs, with hyphenation at line
ends undone and page furniture (numbers, running headers and footers) left out."""

from __future__ import annotations

import ctypes
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from monitor.errors import ExtractError
from monitor.models import Extracted

# PDFium reports a hyphen at a line end as U+0002 (or U+FFFE); a soft hyphen is U+00AD.
_HYPHEN_MARKS = "\x02\ufffe\xad"
# The look-behind anchors each try at a word start, so a very long unbroken word stays linear.
_LINE_END_HYPHEN = re.compile(rf"(?<![\w-])([\w-]*\w)(?:[{_HYPHEN_MARKS}]\r?\n?|-\n)(\w+)")
# Second halves of compounds that keep their hyphen ("rules-\nbased", "high-\nlevel").
_COMPOUND_TAILS = frozenset(
    {"based", "led", "level", "scale", "term", "related", "oriented", "owned", "sponsored"}
    | {"range", "making", "building"}
)
_PAGE_NUMBER = re.compile(
    r"(?:(?i:page|p\.|페이지)\s*)?[-–—(\[]?\s*(?:\d{1,4}|[ivxlc]{1,7})\s*[-–—)\]]?"
    r"(?:\s*(?:(?i:of)|/)\s*\d{1,4})?\s*(?:쪽|페이지)?"
)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"  # scripts written without spaces (not Hangul)
_WORDS = re.compile(r"\w+(?:-\w+)*")
_BULLET = re.compile(r"[•◦▪▫●○◎□■◆◇▶▷※☐➢·-]\s|[①-⑳]")
_EDGE = 2  # lines at the top and bottom of a page where headers, footers and numbers live


def extract_pdf(body: bytes) -> Extracted:
    """Extract the text of a PDF, repairing line breaks, hyphenation and page furniture."""
    try:
        pdf = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractError(
                "the PDF is password-protected; ask the publisher for an unprotected copy"
            ) from exc
        raise ExtractError(
            f"the PDF is damaged or truncated ({exc}); fetch it again or find an HTML version"
        ) from exc
    try:
        title = str(pdf.get_metadata_dict().get("Title") or "").strip() or None
        pages = [_pdf_lines(pdf, index) for index in range(len(pdf))]
    except pdfium.PdfiumError as exc:
        raise ExtractError(f"the PDF could not be read ({exc}); fetch it again") from exc
    finally:
        pdf.close()
    text = _pdf_text(_drop_furniture(pages))
    if not text:
        raise ExtractError(
            "the PDF has no text layer (it is probably scanned images); it needs OCR"
        )
    return Extracted(text=text, title=title, method="pdfium")


@dataclass(frozen=True)
class _Line:
    """One printed line of a PDF page and where it sits (PDF units, y grows upwards)."""

    text: str
    left: float
    right: float
    baseline: float
    first_word: float  # width of its first word, to tell a wrapped line from a paragraph end
    bold: bool  # bold at both ends: a heading, or part of one


def _pdf_lines(pdf: pdfium.PdfDocument, index: int) -> list[_Line]:
    """The printed lines of one page, each with its position."""
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range()
        if len(text) != count:  # characters outside the BMP: index one code point at a time
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count))
        lines = []
        # PDFium glues a line that ends in a hyphen to whatever text comes next (even the page
        # number), so a hyphen mark ends a line here just like CR LF does
        for match in re.finditer(rf"[^\r\n{_HYPHEN_MARKS}]*[{_HYPHEN_MARKS}]?", text):
            raw = match.group()
            first = match.start() + len(raw) - len(raw.lstrip())
            last = match.start() + len(raw.rstrip()) - 1
            if last < first:
                continue
            left, baseline = _origin(textpage, first)
            first_word = textpage.get_charbox(first + len(raw.split()[0]) - 1)[2] - left
            bold = _is_bold(textpage, first) and _is_bold(textpage, last)
            right = textpage.get_charbox(last)[2]
            lines.append(_Line(" ".join(raw.split()), left, right, baseline, first_word, bold))
        return lines
    finally:
        textpage.close()
        page.close()


def _origin(textpage: Any, index: int) -> tuple[float, float]:
    x, y = ctypes.c_double(), ctypes.c_double()
    pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, ctypes.byref(x), ctypes.byref(y))
    return x.value, y.value


def _is_bold(textpage: Any, index: int) -> bool:
    if pdfium_c.FPDFText_GetFontWeight(textpage.raw, index) >= 600:
        return True
    flags = ctypes.c_int()
    size = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, None, 0, ctypes.byref(flags))
    name = ctypes.create_string_buffer(size)
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, name, size, ctypes.byref(flags))
    return b"bold" in name.value.lower() or bool(flags.value & (1 << 18))  # ForceBold


def _drop_furniture(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Remove page numbers and running headers/footers found at the top or bottom of pages."""

    def edge(lines: list[_Line], i: int) -> bool:
        return i < _EDGE or i >= len(lines) - _EDGE

    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    seen = Counter(
        k for lines in pages for k in {key(line) for i, line in enumerate(lines) if edge(lines, i)}
    )
    # on most pages, or on three or more (a header that names the current chapter)
    repeated = {k for k, n in seen.items() if n >= 2 and (n >= 3 or n >= len(pages) / 2)}
    return [
        [
            line
            for i, line in enumerate(lines)
            if not (edge(lines, i) and (_PAGE_NUMBER.fullmatch(line.text) or key(line) in repeated))
        ]
        for lines in pages
    ]


def _pdf_text(pages: list[list[_Line]]) -> str:
    """Join lines into paragraphs: a new one starts after a wide gap or a line that stops short."""
    pitches = [a.baseline - b.baseline for lines in pages for a, b in itertools.pairwise(lines)]
    usual = statistics.median(pitches) if pitches else 0.0
    # the column's right edge, over the whole document (a short last page has no full line)
    # and robust to the odd line that sticks out
    rights = sorted(line.right for lines in pages for line in lines)
    right = rights[int(0.9 * (len(rights) - 1))] if rights else 0.0
    flow = [(line, i == 0) for lines in pages for i, line in enumerate(lines)]
    paragraphs: list[list[str]] = [[]]
    for index, (line, _) in enumerate(flow):
        paragraphs[-1].append(line.text)
        if index + 1 < len(flow) and _ends_paragraph(line, *flow[index + 1], usual, right):
            paragraphs.append([])
    # words seen whole, to tell "denuclear-ization" from "people-to-people" at a line end
    vocabulary: set[str] = set()
    broken = False
    for line, _ in flow:
        words = _WORDS.findall(line.text.lower())
        ends_broken = line.text.endswith(tuple(_HYPHEN_MARKS + "-"))
        for word in words[int(broken) : len(words) - int(ends_broken)]:
            vocabulary.update((word, *word.split("-")))
        broken = ends_broken
    texts = (_join_lines(lines, vocabulary) for lines in paragraphs if lines)
    return "\n\n".join(text for text in texts if text)


def _ends_paragraph(
    line: _Line, following: _Line, new_page: bool, usual: float, right: float
) -> bool:
    """Whether a paragraph ends after `line`: a gap, a heading, a bullet, or a line that stops short."""
    if line.text.endswith(tuple(_HYPHEN_MARKS + "-")):
        return False
    pitch = line.baseline - following.baseline
    gap = not new_page and (pitch > usual * 1.3 or pitch < -usual)  # or the top of a new column
    # the line stopped although the next line's first word (and a space) would have fitted
    space = 1.5 * (following.right - following.left) / len(following.text)
    fits = right - line.right > following.first_word + space
    return gap or fits or line.bold != following.bold or bool(_BULLET.match(following.text))


def _join_lines(lines: list[str], vocabulary: set[str]) -> str:
    """Join the lines of one paragraph, undoing hyphenation at line ends.

    The hyphen goes when the joined word occurs elsewhere in the document; it stays when the
    hyphenated form does, when the next part does not start with a lower-case letter, when the
    next part is a usual compound tail ("-based", "-level"), or when it continues a compound
    ("people-to-\npeople"). Otherwise the break is taken for hyphenation and the hyphen goes.
    """

    def unhyphenate(match: re.Match[str]) -> str:
        before, after = match.group(1), match.group(2)
        word, tail = before.rsplit("-", 1)[-1].lower(), after.lower()
        if not after[0].islower():  # "ROK-\nU.S.", "COVID-\n19"
            return f"{before}-{after}"
        if word + tail in vocabulary or f"{before.lower()}{tail}" in vocabulary:
            return before + after
        keep = (
            f"{word}-{tail}" in vocabulary
            or (tail in _COMPOUND_TAILS and len(word) >= 3)
            or ("-" in before and tail in vocabulary)
        )
        return f"{before}-{after}" if keep else before + after

    text = _LINE_END_HYPHEN.sub(unhyphenate, "\n".join(lines))
    text = re.sub(rf"(?<=[{_CJK}])\n(?=[{_CJK}])", "", text)
    text = re.sub(r"(?<=\S)[-\x02\ufffe]\n|[\x02\ufffe]", "-", text).replace("\xad", "")
    return " ".join(text.split())
