"""Text extraction from HTML, PDF and plain text.

Golden files: tests/data/html/<name>.expected.txt (and .expected-meta.json) hold what our
extractor gives today, so a trafilatura upgrade shows up as a readable diff. Regenerate them with
    UPDATE_GOLDEN=1 pytest tests/test_extract.py
and review the diff. <name>.truth.txt is the corpus's ground truth; token F1 against it must
stay above each page's floor whatever the goldens say.
"""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from bench.quality import token_f1
from monitor.analysis.extract import (
    MIN_CHARS,
    _utc,
    extract,
    extract_html,
    extract_pdf,
)
from monitor.analysis.pdf import _join_lines
from monitor.errors import ExtractError

DATA = Path(__file__).parent / "data"
HTML = DATA / "html"
PDF = DATA / "pdf"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# name -> (URL it was fetched from, F1 floor against the ground truth; measured minus 0.03)
PAGES = {
    "aeb-entermedia-ko": (
        "http://entermedia.co.kr/news/news_view.html?idx=8576&page=1&bc=03&mc=08&find=&sch_date=",
        0.95,
    ),
    "aeb-aljazeera-moon": (
        "https://www.aljazeera.com/ajimpact/nasas-commercial-moon-shot-musk-bezos-firms-bid-191119041538885.html",
        0.96,
    ),
    "aeb-aljazeera-helicopter": (
        "https://www.aljazeera.com/news/2019/11/service-members-killed-afghanistan-helicopter-crash-191120070028895.html",
        0.96,
    ),
    "aeb-nbcnews-hitler-house": (
        "https://www.nbcnews.com/news/world/house-hitler-was-born-will-become-police-station-austria-says-n1086531",
        0.97,
    ),
    "readability-heise": ("", 0.94),
    "readability-herald-sun-1": ("", 0.85),
    "readability-lemonde-1": ("", 0.97),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PAGES))
def test_html_golden_and_ground_truth(name: str) -> None:
    url, floor = PAGES[name]
    got = extract_html((HTML / f"{name}.html").read_bytes(), url)
    meta = {
        "title": got.title,
        "published": got.published.isoformat() if got.published else None,
        "method": got.method,
    }
    golden, golden_meta = HTML / f"{name}.expected.txt", HTML / f"{name}.expected-meta.json"
    if UPDATE:
        golden.write_text(got.text + "\n", encoding="utf-8")
        golden_meta.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")
    assert got.text + "\n" == golden.read_text(encoding="utf-8")
    assert meta == json.loads(golden_meta.read_text(encoding="utf-8"))
    f1 = token_f1(got.text, (HTML / f"{name}.truth.txt").read_text(encoding="utf-8"))
    assert f1 >= floor, f"{name}: token F1 {f1:.4f} fell below {floor}"


def test_extracting_the_same_page_again_gives_the_same_text() -> None:
    body = (HTML / "aeb-aljazeera-moon.html").read_bytes()
    texts = {extract_html(body, "http://x/again").text for _ in range(4)}
    assert len(texts) == 1 and len(texts.pop()) > 3000  # deduplicate=True would blank it


@pytest.mark.parametrize("name", sorted(PAGES))
def test_html_paragraphs_are_separated_by_blank_lines(name: str) -> None:
    text = extract_html((HTML / f"{name}.html").read_bytes(), PAGES[name][0]).text
    paragraphs = text.split("\n\n")
    assert len(paragraphs) > 3
    assert all(p and "\n" not in p and p == p.strip() for p in paragraphs)


def test_korean_page_without_a_charset_declaration_comes_out_as_korean() -> None:
    url = PAGES["aeb-entermedia-ko"][0]
    got = extract_html((HTML / "aeb-entermedia-ko.html").read_bytes(), url)
    assert (
        "[엔터미디어=정덕현의 이슈공감] 엘제이의 리벤지인가, 류화영의 피해자 코스프레인가."
        in got.text
    )
    assert "ì" not in got.text and "\ufffd" not in got.text
    # the page's only <h1> is the site logo ("엔터 미디어"); the <title> names the article
    assert got.title == "엘제이-류화영 진흙탕 싸움, 공적인 사안으로 봐야하는 이유 - Entermedia"
    assert got.published == datetime(2018, 8, 25, tzinfo=UTC)


KOREAN_BODY = (
    "<p>2018년 6월 12일 싱가포르에서 도널드 트럼프 미합중국 대통령과 "
    "김정은 국무위원장은 역사적인 첫 정상회담을 개최하였다.</p>"
    "<p>판문점 선언을 재확인하며, 북한은 한반도의 완전한 비핵화를 위해 "
    "노력할 것을 약속하였다. 똠방각하 햏.</p>"
)


@pytest.mark.parametrize(
    "head", ['<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">', ""]
)
def test_euc_kr_html_is_decoded(head: str) -> None:
    page = f"<html><head>{head}<title>외교부 보도자료</title></head><body>"
    page += (
        f"<div class='nav'><a href='/'>홈</a></div><article>{KOREAN_BODY}</article></body></html>"
    )
    got = extract(page.encode("cp949"), "http://mofa.example/1", "text/html")
    assert "한반도의 완전한 비핵화를 위해" in got.text
    assert "똠방각하 햏" in got.text  # CP949-only syllables, outside strict EUC-KR
    assert got.title == "외교부 보도자료"


def test_a_short_page_keeps_its_text() -> None:
    page = (
        b"<html><head><title>Notice</title></head><body><main><h1>Notice</h1>"
        b"<p>The briefing on 4 March is cancelled.</p></main></body></html>"
    )
    got = extract_html(page, "http://x/notice")
    assert "The briefing on 4 March is cancelled." in got.text
    assert len(got.text) < MIN_CHARS


SENTENCE = "The two leaders reaffirmed the complete denuclearization of the Korean Peninsula."


@pytest.mark.parametrize(
    ("wrapper", "method"),
    [
        ("<article>{}</article>", "trafilatura"),
        ("<footer>{}</footer>", "trafilatura-recall"),
        ('<div class="comments">{}</div>', "baseline"),
    ],
)
def test_fallbacks_when_trafilatura_finds_too_little(wrapper: str, method: str) -> None:
    paragraphs = "".join(f"<p>{i}. {SENTENCE}</p>" for i in range(4))
    page = f"<html><head><title>T</title></head><body>{wrapper.format(paragraphs)}</body></html>"
    got = extract_html(page.encode(), "http://x/p")
    assert got.method == method
    assert got.text.split("\n\n")[0] == f"0. {SENTENCE}"


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>App</title></head><body><div id='root'></div>"
        b"<script src='/app.js'></script></body></html>",
        b"<html><body><noscript>You need to enable JavaScript to run this app.</noscript>"
        b"<div id='root'></div></body></html>",
    ],
)
def test_a_javascript_page_raises_with_advice(page: bytes) -> None:
    with pytest.raises(ExtractError, match=r"^http://x/app: no text .*JavaScript.*feed or PDF"):
        extract(page, "http://x/app", "text/html; charset=utf-8")


@pytest.mark.parametrize("body", [b"", b"  \r\n "])
def test_an_empty_body_raises(body: bytes) -> None:
    with pytest.raises(ExtractError, match=r"^http://x/e: the response body is empty"):
        extract(body, "http://x/e", "text/html")
    with pytest.raises(ExtractError, match="http://x/e"):
        extract_html(body, "http://x/e")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "application/octet-stream"),  # HWP 5
        (b"PK\x03\x04" + bytes(100), "application/hwp+zip"),  # HWPX
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png"),
    ],
)
def test_binary_documents_are_refused_with_advice(body: bytes, content_type: str) -> None:
    with pytest.raises(ExtractError, match=r"^http://x/f: .*not HTML, PDF or text.*PDF or HTML"):
        extract(body, "http://x/f", content_type)


def test_plain_text_is_passed_through() -> None:
    got = extract(b"First line.\r\nSame paragraph.\r\n\r\n\r\nSecond.  \n", "u", "text/plain")
    assert (got.text, got.method, got.title) == (
        "First line.\nSame paragraph.\n\nSecond.",
        "plain",
        None,
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("완전한 비핵화".encode("euc-kr"), "text/plain; charset=EUC-KR"),
        ("완전한 비핵화".encode(), "text/plain"),
        ("\ufeff완전한 비핵화".encode(), "text/markdown"),
        ("완전한 비핵화".encode("cp949"), "text/plain"),  # undeclared legacy Korean
        ("완전한 비핵화".encode(), "text/plain; charset=euc-kr"),  # a wrong declaration
    ],
)
def test_plain_text_charsets(body: bytes, content_type: str) -> None:
    assert extract(body, "u", content_type).text == "완전한 비핵화"


def _pdf(name: str) -> bytes:
    return (PDF / name).read_bytes()


def test_english_pdf_sentences_survive_line_breaks_and_hyphenation() -> None:
    body = _pdf("us-rok-joint-statement-2022.pdf")
    raw = _raw_pdf_text(body)
    # the fixture really breaks these words across lines with a hyphen
    assert "complete denucle\ufffe" in raw and "a denu\ufffe" in raw
    got = extract(body, "http://x/s.pdf", "application/pdf")
    assert got.method == "pdfium"
    assert got.title == "United States-Republic of Korea Leaders’ Joint Statement"
    assert (
        "President Yoon and President Biden reiterate their common goal of the complete "
        "denuclearization of the Korean Peninsula and agree to further strengthen the airtight "
        "coordination to this end." in got.text
    )
    assert "an audacious plan aimed at a denuclearized and prosperous Korean peninsula" in got.text
    assert "people-to-people ties" in got.text and "rules-based international order" in got.text
    source = (PDF / "us-rok-joint-statement-2022.source.txt").read_text(encoding="utf-8").strip()
    want, have = source.split("\n\n"), got.text.split("\n\n")
    assert len(have) == len(want) == 28
    # one paragraph differs: "zero-\nemissions" is rejoined as "zeroemissions" (see extract.py)
    assert sum(p in have for p in want) == 27


def test_pdf_page_furniture_is_dropped() -> None:
    got = extract_pdf(_pdf("us-rok-joint-statement-2022.pdf"))
    assert "Leaders’ Joint Statement · May" not in got.text
    paragraphs = got.text.split("\n\n")
    assert not [p for p in paragraphs if p.isdigit() or p.split()[-1].isdigit()]
    assert paragraphs[0].startswith("President Yoon Suk Yeol welcomes President Joseph R. Biden")
    assert paragraphs[2] == "The Linchpin for Peace and Prosperity"  # a heading stays apart


def test_korean_pdf() -> None:
    got = extract(_pdf("singapore-joint-statement-2018-ko.pdf"), "http://x/k.pdf", "")
    assert got.title == "북미 싱가포르 정상회담 공동성명 (2018년 6월 12일)"
    assert "완전한 비핵화" in got.text
    assert (
        "3. 2018년 4월27일 판문점 선언을 재확인하며, 북한은 한반도의 완전한 비핵화를 위해 노력한다."
        in got.text
    )
    source = (PDF / "singapore-joint-statement-2018-ko.source.txt").read_text(encoding="utf-8")
    assert got.text == source.strip()  # paragraphs, header "(2018. 6. 12.)" and "- 1 -" gone


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_a_truncated_pdf_raises(cut: float) -> None:
    body = _pdf("us-rok-joint-statement-2022.pdf")
    body = body[: int(len(body) * cut)]
    with pytest.raises(ExtractError, match=r"^http://x/t.pdf: the PDF is damaged or truncated"):
        extract(body, "http://x/t.pdf", "application/octet-stream")


def test_a_password_protected_pdf_raises() -> None:
    with pytest.raises(ExtractError, match="password-protected"):
        extract_pdf(_pdf("password-protected.pdf"))


def test_a_pdf_without_text_raises() -> None:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842).close()
    buffer = io.BytesIO()
    pdf.save(buffer)
    pdf.close()
    with pytest.raises(ExtractError, match="no text layer"):
        extract_pdf(buffer.getvalue())


@pytest.mark.parametrize(
    ("lines", "joined"),
    [
        (["the complete denucle\x02", "arization of"], "the complete denuclearization of"),
        (["the complete denucle-", "arization of"], "the complete denuclearization of"),
        (["the ROK\x02", "U.S. Mutual"], "the ROK-U.S. Mutual"),
        (["the COVID\ufffe", "19 pandemic"], "the COVID-19 pandemic"),
        (["the rules\x02", "based order"], "the rules-based order"),
        (["people-to\x02", "people ties"], "people-to-people ties"),
        (["cyber-at\x02", "tacks"], "cyber-attacks"),
        (["a well\x02", "known fact, well-known"], "a well-known fact, well-known"),
        (["wrapped", "line"], "wrapped line"),
        (["中文", "文本"], "中文文本"),
        (["한반도의", "완전한 비핵화"], "한반도의 완전한 비핵화"),
    ],
)
def test_line_joining(lines: list[str], joined: str) -> None:
    vocabulary = {"people", "well-known", "well", "known", "fact"}
    assert _join_lines(lines, vocabulary) == joined


def test_dates_become_utc() -> None:
    assert _utc("2019-11-19T06:56:43-0500") == datetime(2019, 11, 19, 11, 56, 43, tzinfo=UTC)
    assert _utc("2018-08-25T00:00:00") == datetime(2018, 8, 25, tzinfo=UTC)
    assert _utc(None) is None and _utc("yesterday") is None


def _raw_pdf_text(body: bytes) -> str:
    pdf = pdfium.PdfDocument(body)
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "".join(texts)
    finally:
        pdf.close()


def test_an_html_page_that_mentions_pdf_magic_is_still_html() -> None:
    body = (
        b"<html><head><title>Why %PDF- headers matter</title></head><body><article>"
        + b"<p>A long enough paragraph about file formats and their magic numbers. " * 8
        + b"</p></article></body></html>"
    )
    extracted = extract(body, "http://x/a", "text/html")
    assert extracted.method != "pdfium" and "magic numbers" in extracted.text
