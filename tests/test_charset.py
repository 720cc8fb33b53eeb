"""monitor.sources.charset: declarations found, kept when they read as text, replaced when they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.sources import charset
from monitor.sources.charset import Declared, codec, declarations, decode
from monitor.sources.feeds import parse_feed

DATA = Path(__file__).parent / "data"
KOREAN = (DATA / "korean" / "kcna_condemn.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("ISO-8859-1", "cp1252"),  # as WHATWG reads it
        ("us-ascii", "cp1252"),
        ("EUC-KR", "cp949"),  # its superset
        ("ks_c_5601-1987", "cp949"),
        ("windows-949", "cp949"),
        ("'utf8'", "utf-8"),
        ("Shift_JIS", "cp932"),
        ("windows-1251", "cp1251"),
        ("koi8-r", "koi8-r"),
        # not charsets of documents: a hostile declaration must not pick a codec
        ("utf-7", None),
        ("unicode_escape", None),
        ("raw_unicode_escape", None),
        ("idna", None),
        ("punycode", None),
        ("base64", None),
        ("rot13", None),
        ("cp500", None),  # EBCDIC
        ("cp875", None),
        ("no-such-charset", None),
    ],
)
def test_codec(label: str, expected: str | None) -> None:
    assert codec(label) == expected


def test_declarations_strongest_first() -> None:
    html = b'<?xml version="1.0" encoding="utf-8"?><html><head><meta charset="euc-kr">'
    assert declarations("text/html; charset=ISO-8859-1", html, "html") == [
        Declared("ISO-8859-1", "Content-Type"),
        Declared("utf-8", "XML declaration"),
        Declared("euc-kr", "meta"),
    ]
    equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=EUC-KR">'
    assert declarations("text/html", equiv, "html") == [Declared("EUC-KR", "meta")]
    assert declarations("application/rss+xml", b"<rss/>", "xml") == [
        Declared("UTF-8", "XML default")
    ]
    assert declarations("text/plain", b'<meta charset="euc-kr">', "text") == []


def test_euc_kr_read_as_latin_1_is_implausible() -> None:
    """Latin-1 decodes anything without error; the mojibake (ºñÇÙÈ­) gives it away."""
    body = KOREAN.encode("euc-kr")
    got = decode(body, [Declared("ISO-8859-1", "Content-Type")])
    assert got.text == KOREAN and got.charset == "cp949"
    assert got.warning == (
        "charset declared ISO-8859-1 (Content-Type) gives implausible text; "
        "decoded as EUC-KR (CP949) (detected)"
    )


def test_utf8_read_as_latin_1_is_implausible() -> None:
    body = KOREAN.encode()
    got = decode(body, [Declared("iso-8859-1", "meta")])
    assert got.text == KOREAN and got.charset == "utf-8"
    assert got.warning is not None and "iso-8859-1 (meta)" in got.warning


def test_euc_kr_declared_utf8_does_not_decode() -> None:
    got = decode(KOREAN.encode("euc-kr"), [Declared("UTF-8", "XML declaration")])
    assert got.text == KOREAN
    assert got.warning is not None and "UTF-8 (XML declaration) does not decode" in got.warning


def test_a_later_declaration_that_fits_is_used_and_the_wrong_first_named() -> None:
    body = KOREAN.encode("cp949")
    got = decode(body, [Declared("utf-8", "Content-Type"), Declared("euc-kr", "meta")])
    assert got.text == KOREAN
    assert got.warning == (
        "charset declared utf-8 (Content-Type) is wrong; decoded as EUC-KR (CP949) (meta)"
    )


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # real Latin-1 text, including a run of three non-ASCII characters (—«É)
        ((DATA / "feeds" / "rss_2.0_encoding_1.xml").read_bytes().decode("latin-1"), "ISO-8859-1"),
        ("Le pavillon —«Ébène»— a rouvert; «Ça» n'a pas été facile, dit-il.", "windows-1252"),
        ("Größenänderung über „Äußerungen“ — Öl, Übermaß", "windows-1252"),
        ("Северная Корея заявила о полной денуклеаризации полуострова.", "windows-1251"),
        ("完全な非核化を目指すことで一致した。", "Shift_JIS"),
    ],
)
def test_correct_declarations_are_kept_without_a_warning(text: str, label: str) -> None:
    body = text.encode(codec(label) or label)
    got = decode(body, [Declared(label, "Content-Type")])
    assert got.text == text and got.warning is None


def test_a_correct_declaration_never_runs_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    def detector(body: bytes) -> object:
        raise AssertionError("the detector ran for a correct declaration")

    monkeypatch.setattr(charset, "from_bytes", detector)
    for text, label in ((KOREAN, "EUC-KR"), (KOREAN, "UTF-8"), ("Ação, ciência", "ISO-8859-1")):
        got = decode(text.encode(codec(label) or label), [Declared(label, "Content-Type")])
        assert got.text == text and got.warning is None


def test_byte_order_marks() -> None:
    text = "완전한 비핵화"
    bom = b"\xef\xbb\xbf" + text.encode()
    assert decode(bom, [Declared("utf-8", "Content-Type")]) == charset.Decoded(text, "utf-8")
    wrong = decode(bom, [Declared("ISO-8859-1", "Content-Type")])
    assert wrong.text == text
    assert wrong.warning == (
        "charset declared ISO-8859-1 (Content-Type) is wrong; decoded as UTF-8 (the byte order mark)"
    )
    assert decode(text.encode("utf-16"), []).text == text


def test_an_unknown_or_hostile_label_is_replaced_by_the_detected_charset() -> None:
    body = KOREAN.encode("euc-kr")
    got = decode(body, [Declared("utf-7", "Content-Type")])
    assert got.text == KOREAN
    assert got.warning is not None and "utf-7 (Content-Type) names no known charset" in got.warning


def test_undeclared_bytes_are_detected_silently() -> None:
    assert decode(KOREAN.encode("euc-kr"), []) == charset.Decoded(KOREAN, "cp949")


def test_bytes_no_charset_fits_are_replaced_not_raised() -> None:
    body = bytes(range(256)) * 8
    got = decode(body, [Declared("UTF-8", "Content-Type")])
    assert got.warning is not None and "UTF-8 (Content-Type) does not decode" in got.warning


def test_feed_declared_utf8_in_euc_kr_is_read_as_korean() -> None:
    headline = KOREAN.split("\n")[0]
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{headline}</title><link>http://x.example/1</link></item></channel></rss>"
    )
    headers = {"content-type": "application/rss+xml; charset=utf-8"}
    got = parse_feed(feed.encode("euc-kr"), headers, "http://x.example/f")
    assert [e.title for e in got.entries] == [headline]
    assert got.problem is None
    assert got.charset_warning is not None and "EUC-KR (CP949)" in got.charset_warning
    right = parse_feed(feed.encode(), headers, "http://x.example/f")
    assert [e.title for e in right.entries] == [headline] and right.charset_warning is None


def test_the_detector_prefers_windows_1252_among_charsets_giving_the_same_text() -> None:
    text = "Größenänderung über „Äußerungen“ — Öl, Übermaß; «Ça» n'a pas été facile"
    got = decode(text.encode("cp1252"), [Declared("UTF-8", "Content-Type")])
    assert got.text == text and got.charset == "cp1252"
    assert got.warning is not None and got.warning.endswith("decoded as windows-1252 (detected)")


def test_utf8_declared_euc_kr_is_read_as_utf8() -> None:
    got = decode(KOREAN.encode(), [Declared("EUC-KR", "Content-Type")])
    assert got.text == KOREAN and got.charset == "utf-8" and got.warning is not None


def test_a_declared_label_carries_no_control_characters_and_is_short() -> None:
    found = declarations("text/html; charset=utf\x1b[2J-8\u202e", b"", "html")
    assert found == [Declared("utf", "Content-Type")]
    long = declarations("text/plain; charset=" + "a" * 5000, b"", "text")
    assert len(long[0].label) == 40


def test_a_feed_declared_euc_kr_keeps_its_cp949_syllables() -> None:
    """feedparser alone reads EUC-KR strictly, fails on 똠 and falls back to windows-1252."""
    title = "똠방각하 햏 완전한 비핵화"
    feed = (
        '<?xml version="1.0" encoding="EUC-KR"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>http://x.example/1</link></item></channel></rss>"
    )
    got = parse_feed(feed.encode("cp949"), {"content-type": "application/rss+xml"}, "http://x/f")
    assert [e.title for e in got.entries] == [title]
    assert got.charset_warning is None and got.problem is None


def test_utf16_declared_for_an_ascii_body_is_implausible() -> None:
    body = b"<html><body><p>complete denuclearization</p></body></html>"
    got = decode(body, [Declared("UTF-16", "Content-Type")])
    assert got.text == body.decode() and got.charset == "utf-8"
    assert got.warning is not None and "gives implausible text" in got.warning
    real = "<p>완전한 비핵화</p>"
    assert decode(real.encode("utf-16-le"), [Declared("utf-16le", "meta")]).text == real
