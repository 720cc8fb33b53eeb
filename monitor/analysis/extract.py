"""Turn a fetched body (HTML, PDF or plain text) into readable text, a title and a date."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import trafilatura
import yaml
from trafilatura.settings import Document
from trafilatura.utils import handle_compressed_file

from monitor.analysis.pdf import extract_pdf
from monitor.errors import ExtractError
from monitor.models import Extracted
from monitor.sources import charset

# Below this many characters an HTML extraction is "too little" and the next method is tried.
MIN_CHARS = 200

# Chosen by measurement over the shared corpus (bench/bench_extraction.py): trafilatura's
# balanced defaults scored best; favor_recall/favor_precision/markdown scored lower. Comments
# are off because they change from day to day; deduplicate=True is never used because its
# shared LRU cache blanks a page that is extracted a third time.
_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {"include_comments": False, "include_tables": True, "fast": True}
)
_DATE_PARAMS: Mapping[str, Any] = MappingProxyType(
    {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
)
_NEEDS_JS = re.compile(r"javascript|자바스크립트", re.IGNORECASE)
_TITLE_XPATHS = (
    '//meta[@property="og:title" or @name="og:title" or @name="twitter:title"][1]/@content',
    "//head/title//text()",
)
_PLAIN_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
_BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/zip", "application/msword")
_OFFICE_MAGIC = (b"\xd0\xcf\x11\xe0", b"PK\x03\x04")  # OLE (HWP 5, .doc) and zip (HWPX, .docx)


def extract(body: bytes, url: str, content_type: str, *, metadata: bool = True) -> Extracted:
    """Extract readable text from a response body, choosing the reader by content type.

    `metadata=False` skips reading the author and date of an HTML page (about a third of the
    cost) for articles whose feed entry already gives them.
    """
    mime = content_type.partition(";")[0].strip().lower()
    if not body.strip():
        raise ExtractError(f"{url}: the response body is empty; check that the URL still serves it")
    # A PDF is what the server says, or a body that starts as one (not an HTML page that
    # merely mentions "%PDF-" in its first kilobyte).
    if mime == "application/pdf" or body.lstrip()[:5] == b"%PDF-":
        try:
            return extract_pdf(body)
        except ExtractError as exc:
            raise ExtractError(f"{url}: {exc}") from exc
    if body.startswith(_OFFICE_MAGIC) or "hwp" in mime or mime.startswith(_BINARY_TYPES):
        raise ExtractError(
            f"{url}: {mime or 'the body'} is not HTML, PDF or text (HWP/Office files are not "
            "read); watch the PDF or HTML version instead"
        )
    if mime in _PLAIN_TYPES:
        if b"\x00" in body[:65536]:
            raise ExtractError(
                f"{url}: this looks like a binary file, not text; give a PDF, HTML, Markdown "
                "or plain-text document"
            )
        decoded = _decode(body, content_type)
        lines = decoded.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()
        if not text:
            raise ExtractError(f"{url}: the text document holds only whitespace")
        return Extracted(text=text, method="plain", charset_warning=decoded.warning)
    return extract_html(body, url, metadata=metadata, content_type=content_type)


_FILE_TYPES = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html"}
_MARKDOWN = frozenset({".md", ".markdown"})
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_MD_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]*", re.MULTILINE)
_FOOTNOTE = re.compile(r"<sup>.*?</sup>", re.IGNORECASE | re.DOTALL)


def extract_file(path: Path) -> Extracted:
    """Read a local document (PDF, HTML, Markdown with YAML front matter, or plain text)."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ExtractError(
            f"{path}: cannot read the file ({exc.strerror}); check the path"
        ) from exc
    suffix = path.suffix.lower()
    if suffix not in _MARKDOWN:
        return extract(body, path.resolve().as_uri(), _FILE_TYPES.get(suffix, "text/plain"))
    text = _decode(body, "").text
    meta: dict[str, Any] = {}
    front = _FRONT_MATTER.match(text)
    if front:
        try:
            loaded = yaml.safe_load(front.group(1))
        except yaml.YAMLError as exc:
            raise ExtractError(f"{path}: its YAML front matter is invalid ({exc})") from exc
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[front.end() :]
    text = _MD_ESCAPE.sub(r"\1", _MD_HEADING.sub("", _FOOTNOTE.sub("", text)))
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    # A paragraph without a letter or digit is a rule or separator ("###", "* * *").
    body_text = "\n\n".join(p for p in paragraphs if any(c.isalnum() for c in p))
    if not body_text:
        raise ExtractError(f"{path}: the document holds no text")
    title = " ".join(str(meta["title"]).split()) if meta.get("title") else None
    return Extracted(
        text=body_text, title=title, published=_meta_date(meta.get("date")), method="markdown"
    )


def _meta_date(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return _utc(str(value)) if value else None


def extract_html(
    body: bytes, url: str, *, metadata: bool = True, content_type: str = ""
) -> Extracted:
    """Extract the main text, title and (with `metadata`) publication date of an HTML page.

    The page is decoded with the charset it declares (`content_type`, then its <meta>) when that
    gives plausible text, else with the detected one (monitor.sources.charset), and parsed once."""
    body = handle_compressed_file(body)  # a gzip body sent without Content-Encoding, as before
    decoded = charset.decode(body, charset.declarations(content_type, body, "html"))
    tree = trafilatura.load_html(decoded.text)
    if tree is None:
        raise ExtractError(f"{url}: the body could not be parsed as HTML; check the content type")
    title = _html_title(tree)
    doc = (
        _bare(tree, url, with_metadata=True, date_extraction_params=dict(_DATE_PARAMS))
        if metadata
        else _bare(tree, url)
    )
    attempts: tuple[tuple[str, Callable[[], str | None]], ...] = (
        ("trafilatura", lambda: doc.text if doc else None),
        ("trafilatura-recall", lambda: _text(_bare(tree, url, favor_recall=True))),
        ("baseline", lambda: trafilatura.baseline(tree)[1]),
    )
    method, text = "", ""
    for name, attempt in attempts:
        candidate = _paragraphs(attempt() or "")
        if len(candidate) > len(text):
            method, text = name, candidate
        if len(text) >= MIN_CHARS:
            break
    if not text or (len(text) < MIN_CHARS and _NEEDS_JS.search(text)):
        raise ExtractError(
            f"{url}: no text could be extracted (the page may need JavaScript); "
            "watch its feed or PDF instead"
        )
    if not metadata:
        return Extracted(
            text=text,
            title=title or (doc.title if doc else None),
            method=method,
            charset_warning=decoded.warning,
        )
    meta = doc or trafilatura.extract_metadata(tree, url or None, dict(_DATE_PARAMS))
    return Extracted(
        text=text,
        title=title or meta.title or None,
        published=_utc(meta.date),
        method=method,
        charset_warning=decoded.warning,
    )


def _bare(tree: Any, url: str, **options: Any) -> Document | None:
    doc = trafilatura.bare_extraction(tree, url=url or None, **options, **_SETTINGS)
    return doc if isinstance(doc, Document) else None


def _text(doc: Document | None) -> str | None:
    return doc.text if doc else None


def _paragraphs(text: str) -> str:
    """One paragraph per non-empty line, whitespace collapsed, blank lines between them."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def _html_title(tree: Any) -> str | None:
    """The og:title, twitter:title or <title> of a page (a lone <h1> is often the site logo)."""
    for xpath in _TITLE_XPATHS:
        title = " ".join(" ".join(str(part) for part in tree.xpath(xpath)).split())
        if title:
            return title
    return None


def _utc(value: str | None) -> datetime | None:
    """Parse an htmldate timestamp; a date without a zone is read as UTC so the day is kept."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _decode(body: bytes, content_type: str) -> charset.Decoded:
    """Decode text with the charset in `content_type` when it fits, else UTF-8 or the detected
    charset, else CP949 (a superset of EUC-KR, the usual undeclared legacy charset here)."""
    declared = charset.declarations(content_type, body, "text")
    return charset.decode(body, declared, fallback="cp949")
