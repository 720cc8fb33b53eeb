"""Charsets checked, not trusted: decode a body with what it declares when that reads as text,
else with what a detector finds, and say so.

A declaration (the byte order mark, the HTTP Content-Type, the XML declaration, an HTML <meta>)
is tried first, strictly. It is kept when it decodes without error and the text is plausible:
a single-byte charset (ISO-8859-1 decodes any bytes) is not plausible for bytes that are valid
multi-byte UTF-8, nor when it yields C1 control characters or mojibake runs (`ë¹\\x84í\\x95µ`),
judged by charset-normalizer's mess detector. A correct declaration costs one strict decode;
only a wrong one (or none) runs the detector. EUC-KR is read as CP949, its superset.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

# WHATWG reads these labels as a superset; so do we (a page declared EUC-KR is CP949 in practice).
_SUPERSET = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "euc_kr": "cp949",
    "gb2312": "gbk",
    "shift_jis": "cp932",
}
# Labels Python does not know by these names.
_LABELS = {
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "ks_c_5601-1989": "cp949",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-gbk": "gbk",
    "x-euc-jp": "euc_jp",
    "unicode-1-1-utf-8": "utf-8",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
}
# Text charsets a web document may use. Anything else a document names (utf-7, unicode_escape,
# idna, EBCDIC) is not trusted as a charset: the detector decides.
_WEB = re.compile(
    r"utf-(?:8|16|32)(?:-[lb]e)?|iso8859-\d+|cp(?:8[56]\d|874|125\d|932|949|950)|koi8-[ru]"
    r"|mac-\w+|gbk|gb18030|big5(?:hkscs)?|euc_\w+|iso2022_\w+|shift_jis\w*|johab|tis-620"
)
_UNICODE = re.compile(r"utf-(?:8|16|32)")
# Single-byte charsets of Latin script: a word is ASCII letters with the odd accented one, so a
# run of three non-ASCII characters is worth a closer look.
_LATIN = re.compile(r"cp125[02478]|iso8859-(?:1|2|3|4|9|10|13|14|15|16)|mac-(?:roman|latin2)")
_MULTIBYTE = re.compile(
    r"cp9(?:32|49|50)|gbk|gb18030|big5\w*|euc_\w+|iso2022_\w+|shift_jis\w*|johab"
)
_RUN = re.compile(r"[^\x00-\x7f]{3,}")
_C1 = re.compile(r"[\x80-\x9f]")
_MESS = 0.2  # charset-normalizer's own threshold: real text scores 0, mojibake well above 1
_PREFERRED = ("utf_8", "cp949", "euc_kr", "cp1252")
_SAMPLE = 2000  # characters of suspicious text given to the mess detector
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NAMES = {
    "utf-8": "UTF-8",
    "cp949": "EUC-KR (CP949)",
    "cp1252": "windows-1252",
    "iso8859-1": "ISO-8859-1",
    "cp932": "Shift_JIS (CP932)",
    "gbk": "GBK",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
}

# A label is letters, digits and . : _ - (so it can carry nothing to a terminal), 40 at most.
_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE | re.ASCII)
_XML_DECL = re.compile(
    rb"^\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([\w.:-]{1,40})[\"']", re.IGNORECASE
)
_META = re.compile(rb"<meta\b[^>]{0,512}?\bcharset\s*=\s*[\"']?\s*([\w.:-]{1,40})", re.IGNORECASE)
_PRESCAN = 8192  # bytes searched for a <meta> charset (the HTML standard says 1024; CMSs differ)


@dataclass(frozen=True)
class Declared:
    """A charset a document declares, as written, and where ("Content-Type", "XML declaration",
    "meta", "XML default")."""

    label: str
    where: str


@dataclass(frozen=True)
class Decoded:
    """A body's text, the charset it was read with, and a warning when a declaration was wrong."""

    text: str
    charset: str  # the codec used (a Python codec name)
    warning: str | None = None

    @property
    def name(self) -> str:
        return display(self.charset)


def display(codec: str) -> str:
    """A charset's usual name: UTF-8, EUC-KR (CP949), windows-1252."""
    return _NAMES.get(codec, codec.upper().replace("_", "-"))


def codec(label: str) -> str | None:
    """The Python codec to read a declared charset label with, or None for a label that names no
    web charset (unknown, or not a charset of documents at all: utf-7, unicode_escape)."""
    key = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(_LABELS.get(key, key)).name
    except LookupError:
        return None
    name = _SUPERSET.get(name, name)
    return name if _WEB.fullmatch(name) else None


def declarations(
    content_type: str, body: bytes, markup: Literal["html", "xml", "text"]
) -> list[Declared]:
    """The charsets a response declares, strongest first: the HTTP header, then the XML
    declaration or HTML <meta>; for XML, UTF-8 as the XML default when nothing is declared."""
    found: list[Declared] = []
    header = _HEADER.search(content_type.partition(";")[2])
    if header:
        found.append(Declared(header.group(1), "Content-Type"))
    if markup == "text":
        return found
    head = body[:_PRESCAN]
    decl = _XML_DECL.match(head)
    if decl:
        found.append(Declared(decl.group(1).decode("ascii"), "XML declaration"))
    if markup == "html":
        meta = _META.search(head)
        if meta:
            found.append(Declared(meta.group(1).decode("ascii"), "meta"))
    elif not found:
        found.append(Declared("UTF-8", "XML default"))
    return found


def decode(body: bytes, declared: Sequence[Declared], fallback: str = "utf-8") -> Decoded:
    """Decode with the byte order mark or the first declaration that gives plausible text, else
    with the detected charset (then `fallback`); warn when the first declaration was wrong."""
    tried: list[tuple[Declared, str]] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            text = _strict(body, name)
            if text is not None:
                used = "utf-8" if name == "utf-8-sig" else name
                return Decoded(text, used, _warning(declared, used, "the byte order mark"))
    for item in declared:
        label = codec(item.label)
        if label is None:
            tried.append((item, "names no known charset"))
            continue
        read = _strict(body, label)
        if read is None:
            tried.append((item, "does not decode"))
        elif not _plausible(body, read, label):
            tried.append((item, "gives implausible text"))
        else:
            warning = _warning(declared, label, item.where) if tried else None
            return Decoded(read, label, warning)
    name, text, how = _detect(body, fallback)
    if not declared:
        return Decoded(text, name)
    first, why = tried[0]
    return Decoded(
        text,
        name,
        f"charset declared {first.label} ({first.where}) {why}; decoded as {display(name)} ({how})",
    )


def _warning(declared: Sequence[Declared], used: str, how: str) -> str | None:
    if not declared or codec(declared[0].label) == used:
        return None
    first = declared[0]
    return f"charset declared {first.label} ({first.where}) is wrong; decoded as {display(used)} ({how})"


def _strict(body: bytes, name: str) -> str | None:
    try:
        return body.decode(name)
    except UnicodeDecodeError:
        if name != "cp1252":
            return None
    # WHATWG windows-1252 keeps the five bytes CP1252 leaves undefined as C1 controls, which
    # _plausible then questions.
    return body.decode("latin-1")


def _plausible(body: bytes, text: str, name: str) -> bool:
    """Whether text decoded without error reads as text of that charset."""
    if name.startswith(("utf-16", "utf-32")):
        # markup is ASCII, so a real UTF-16 or UTF-32 document is full of zero bytes
        return b"\x00" in body[:1024]
    if _UNICODE.match(name) or body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return False  # non-ASCII bytes that are valid UTF-8 are UTF-8, whatever was declared
    if _MULTIBYTE.fullmatch(name):
        return True  # a wrong multi-byte charset fails to decode
    if _C1.search(text):
        return False
    if _LATIN.fullmatch(name):
        runs = [m.start() for m in itertools.islice(_RUN.finditer(text), 50)]
        if not runs:
            return True
        sample = "".join(text[max(0, i - 20) : i + 40] for i in runs)[:_SAMPLE]
        return mess_ratio(sample, _MESS) < _MESS
    return mess_ratio(text[: _SAMPLE * 5], _MESS) < _MESS


def _detect(body: bytes, fallback: str) -> tuple[str, str, str]:
    """The charset a detector finds (UTF-8 when the bytes are valid UTF-8), the text, and how."""
    try:
        return "utf-8", body.decode("utf-8"), "detected"
    except UnicodeDecodeError:
        pass
    for match in from_bytes(body):
        # charset-normalizer names one of the charsets that give the same text; prefer the
        # common one (CP949 over JOHAB-alike names, windows-1252 over cp1250 for Latin text)
        same = match.could_be_from_charset
        name = codec(next((c for c in _PREFERRED if c in same), match.encoding))
        if name is not None:
            text = _strict(body, name)
            if text is not None:
                return name, text, "detected"
    text = _strict(body, fallback)
    if text is not None:
        return fallback, text, "no charset detected"
    replaced = body.decode("utf-8", errors="replace")
    return "utf-8", replaced, "no charset detected; undecodable bytes replaced"
