"""Rebuild the PDF fixtures from the shared corpus with LibreOffice (see PROVENANCE.md).

Needs Debian packages libreoffice-writer-nogui, hyphen-en-us and fonts-nanum, and pypdf for the
password-protected copy; the tests only need the committed files, never this script.

    python tests/data/pdf/make_fixtures.py [/path/to/shared/corpus]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
CORPUS = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared" / "corpus"
ENGLISH = (
    "docs/whitehouse-briefings/statements-releases/2022-05/"
    "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.md"
)
KOREAN = "docs/singapore-2018/singapore_joint_statement_2018-06-12_en-ko_jinyiabc.md"

FODT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:meta><dc:title>{title}</dc:title><dc:language>{lang}</dc:language></office:meta>
<office:font-face-decls>
 <style:font-face style:name="Body" svg:font-family="'{font}'"
  xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/>
</office:font-face-decls>
<office:styles>
 <style:style style:name="Standard" style:family="paragraph">
  <style:paragraph-properties fo:text-align="justify" fo:margin-bottom="{gap}"
   style:text-autospace="none"/>
  <style:text-properties style:font-name="Body" style:font-name-asian="Body" fo:font-size="{size}"
   style:font-size-asian="{size}" fo:language="{lang}" fo:country="{country}"
   style:language-asian="{lang}" style:country-asian="{country}" fo:hyphenate="true"
   fo:hyphenation-remain-char-count="2" fo:hyphenation-push-char-count="2"/>
 </style:style>
 <style:style style:name="Heading" style:family="paragraph" style:parent-style-name="Standard">
  <style:paragraph-properties fo:text-align="start" fo:margin-top="{gap}"
   fo:keep-with-next="always"/>
  <style:text-properties fo:font-weight="bold" style:font-weight-asian="bold" fo:hyphenate="false"/>
 </style:style>
 <style:style style:name="Furniture" style:family="paragraph">
  <style:paragraph-properties fo:text-align="center"/>
  <style:text-properties style:font-name="Body" style:font-name-asian="Body" fo:font-size="9pt"
   style:font-size-asian="9pt"/>
 </style:style>
</office:styles>
<office:automatic-styles>
 <style:page-layout style:name="Layout">
  <style:page-layout-properties fo:page-width="{width}" fo:page-height="{height}"
   fo:margin-top="1.5cm" fo:margin-bottom="1.5cm" fo:margin-left="2.2cm" fo:margin-right="2.2cm"/>
  <style:header-style>
   <style:header-footer-properties fo:margin-bottom="0.5cm"/></style:header-style>
  <style:footer-style>
   <style:header-footer-properties fo:margin-top="0.5cm"/></style:footer-style>
 </style:page-layout>
</office:automatic-styles>
<office:master-styles>
 <style:master-page style:name="Standard" style:page-layout-name="Layout">
  <style:header><text:p text:style-name="Furniture">{header}</text:p></style:header>
  <style:footer><text:p text:style-name="Furniture">{footer_before}<text:page-number
   text:select-page="current">1</text:page-number>{footer_after}</text:p></style:footer>
 </style:master-page>
</office:master-styles>
<office:body><office:text>
{body}
</office:text></office:body>
</office:document>
"""


def english() -> tuple[str, list[tuple[bool, str]]]:
    """The 2022 U.S.-ROK joint statement as (is_heading, text) paragraphs, Markdown removed."""
    text = (CORPUS / ENGLISH).read_text(encoding="utf-8")
    text = text.split("\n---\n", 1)[1]  # YAML front matter
    text = re.sub(r"</?sup>", "", text)
    text = re.sub(r"\\(.)", r"\1", text)  # Markdown escapes: \### \[ \_
    paragraphs: list[tuple[bool, str]] = []
    for block in re.split(r"\n\s*\n", text):
        line = " ".join(block.split())
        if not line or line == "###":
            continue
        heading = line.startswith("**") and line.endswith("**")
        paragraphs.append((heading, re.sub(r"\*+", "", line)))
    return "United States-Republic of Korea Leaders’ Joint Statement", paragraphs


def korean() -> tuple[str, list[tuple[bool, str]]]:
    """The Korean translation of the 2018 Singapore statement, one paragraph per paragraph."""
    lines = (CORPUS / KOREAN).read_text(encoding="utf-8").splitlines()
    paragraphs: list[tuple[bool, str]] = [(True, "북미 정상회담 공동성명")]
    for line in lines:
        line = line.strip()
        if line.startswith("(") and line.endswith(")") and re.search("[가-힣]", line):
            paragraphs.append((False, line[1:-1]))
    return "북미 싱가포르 정상회담 공동성명 (2018년 6월 12일)", paragraphs


def build(name: str, doc: tuple[str, list[tuple[bool, str]]], **layout: str) -> None:
    """Write <name>.source.txt and typeset <name>.pdf with LibreOffice."""
    title, paragraphs = doc
    (HERE / f"{name}.source.txt").write_text(
        "\n\n".join(text for _, text in paragraphs) + "\n", encoding="utf-8"
    )
    body = "\n".join(
        f'<text:p text:style-name="{"Heading" if heading else "Standard"}">{escape(text)}</text:p>'
        for heading, text in paragraphs
    )
    fodt = FODT.format(title=escape(title), body=body, **layout)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"{name}.fodt"
        source.write_text(fodt, encoding="utf-8")
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
            check=True,
            capture_output=True,
        )
        (HERE / f"{name}.pdf").write_bytes((Path(tmp) / f"{name}.pdf").read_bytes())


def encrypt(name: str, target: str) -> None:
    """Write a copy of <name>.pdf that needs the user password "secret" (pypdf, RC4-128)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(HERE / f"{name}.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with (HERE / target).open("wb") as out:
        writer.write(out)


def main() -> None:
    """Build the fixtures."""
    build(
        "us-rok-joint-statement-2022",
        english(),
        lang="en", country="US", font="DejaVu Serif", size="11pt", gap="0.25cm",
        width="13.5cm", height="21cm",  # narrow enough that "denuclearization" is hyphenated
        header="U.S.–ROK Leaders’ Joint Statement · May 21, 2022",
        footer_before="", footer_after="",
    )  # fmt: skip
    build(
        "singapore-joint-statement-2018-ko",
        korean(),
        lang="ko", country="KR", font="NanumGothic", size="13pt", gap="0.4cm",
        width="14.8cm", height="21cm",
        header="북미 싱가포르 정상회담 공동성명 (2018. 6. 12.)",
        footer_before="- ", footer_after=" -",
    )  # fmt: skip
    encrypt("singapore-joint-statement-2018-ko", "password-protected.pdf")


if __name__ == "__main__":
    main()
