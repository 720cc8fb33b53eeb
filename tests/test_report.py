"""monitor.render.report: the text report and the HTML redline, on real documents and hostile input."""

from __future__ import annotations

from html.parser import HTMLParser

import lxml.html
import pytest

from monitor.analysis.compare import verdict
from monitor.models import (
    ChangedSentence,
    Comparison,
    ConceptDelta,
    DocumentSide,
    SentenceDiff,
    StanceMove,
    WordOp,
)
from monitor.render.report import render_html, render_text
from tests.documents import (
    CVID_SENTENCE,
    EMERGENCY_2021,
    EMERGENCY_2022,
    US_ROK_2021,
    US_ROK_2022,
    compare_texts,
    load,
)

OLD, NEW = "2021-05-21 joint statement", "2022-05-21 joint statement"


def dropped_cvid() -> Comparison:
    new = load(US_ROK_2022)
    head, sep, tail = new.partition("\n\n")
    return compare_texts(
        f"{head} {CVID_SENTENCE}{sep}{tail}", new, old_title="old", new_title="new"
    )


# ---- text ----------------------------------------------------------------------------------------


def test_text_report_starts_with_the_verdict_and_has_every_section() -> None:
    c = compare_texts(load(US_ROK_2021), load(US_ROK_2022))
    text = render_text(c, old_label=OLD, new_label=NEW, limit=None)
    first, blank, *rest = text.splitlines()
    assert first == verdict(c)
    assert blank == ""
    body = "\n".join(rest)
    assert "old: 2021-05-21 joint statement (2632 words)" in body
    assert "significance: 0.700" in body
    # the concept table: id, counts, status, variants
    assert any(
        line.split()[:4] == ["complete-denuclearization", "2", "1", "decreased"] for line in rest
    )
    assert '"denuclearization" → "denuclearization", "denuclearized"' in body
    assert "denuclearization: complete-denuclearization → complete-denuclearization (same)" in body
    # evidence first: the sentences that carry the concepts whose counts moved, then the table
    assert body.index("evidence:") < body.index("concept ") < body.index("other changed sentences")
    assert "  complete-denuclearization 2 → 1 (decreased)" in body
    assert "  extended-deterrence 1 → 2 (increased)" in body
    # the rest follows, without the sentences already shown as evidence
    evidence = {x for d in c.concepts for e in d.evidence for x in (e.old, e.new) if x}
    rest_changed = [
        x for x in c.sentences.changed if x.old not in evidence and x.new not in evidence
    ]
    assert f"other changed sentences ({len(rest_changed)}):" in body
    assert "[-and President Moon emphasize-] {+reiterate+}" in body
    assert "other removed sentences (" in body and "other added sentences (" in body
    assert "… and" not in body  # limit=None shows every sentence
    assert "\x1b" not in text
    # by default each kind is cut at SHOWN, with a count of the rest
    short = render_text(c, old_label=OLD, new_label=NEW)
    assert "more (--all shows every sentence)" in short
    assert len(short.splitlines()) < len(text.splitlines())


def test_text_report_of_a_dropped_cvid() -> None:
    text = render_text(dropped_cvid(), old_label=OLD, new_label=NEW)
    assert text.startswith(
        "cvid dropped; denuclearization ladder: cvid → complete-denuclearization"
    )
    assert "denuclearization: cvid → complete-denuclearization (downgrade)" in text
    # the dropped CVID sentence is the evidence, shown once, first
    assert f"evidence:\n  cvid 1 → 0 (dropped)\n    - {CVID_SENTENCE}" in text
    assert "removed sentences" not in text
    assert "changed sentences" not in text  # empty sections are left out
    assert "\nmoved sentences" not in text


def test_text_report_of_near_identical_notices_is_short() -> None:
    c = compare_texts(load(EMERGENCY_2021), load(EMERGENCY_2022))
    text = render_text(c, old_label="2021", new_label="2022")
    assert text.startswith("wording changed: 4 sentences changed")
    assert "concept " not in text  # no concept table when no concept is found
    assert "beyond June 26, [-2021.-] {+2022.+}" in text
    assert "significance: 0.004" in text


def test_colour_marks_words_with_ansi_and_drops_the_brackets() -> None:
    c = compare_texts(load(EMERGENCY_2021), load(EMERGENCY_2022))
    text = render_text(c, old_label="2021", new_label="2022", color=True)
    assert text.startswith("\x1b[1mwording changed")
    assert "\x1b[31;9m2021.\x1b[0m \x1b[32;4m2022.\x1b[0m" in text
    assert "[-" not in text


def test_identical_texts() -> None:
    c = compare_texts(load(US_ROK_2022), load(US_ROK_2022))
    text = render_text(c, old_label="a", new_label="b")
    assert text.startswith("no change\n")
    assert "significance: 0\n" in text


HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> </style><b>bold</b> "
    "\u202eevil\u202c \x1b[2J\x1b]0;pwned\x07 \x00 & \"quotes\" 'single'"
)


def hostile() -> Comparison:
    """A comparison whose every piece of document text is hostile."""
    return Comparison(
        old=DocumentSide(HOSTILE, 3, {"cvid": 1}),
        new=DocumentSide(HOSTILE + " new", 4, {}),
        concepts=(ConceptDelta("cvid", 1, 0, "dropped", (HOSTILE,), ()),),
        stance=(StanceMove("denuclearization", "cvid", None, "downgrade"),),
        sentences=SentenceDiff(
            added=(HOSTILE + " added",),
            removed=(HOSTILE + " removed",),
            changed=(
                ChangedSentence(
                    HOSTILE,
                    HOSTILE + "!",
                    (
                        WordOp("same", HOSTILE),
                        WordOp("removed", HOSTILE),
                        WordOp("added", HOSTILE + "!"),
                    ),
                ),
            ),
            moved=(HOSTILE,),
        ),
        significance=0.95,
    )


def test_text_report_shows_control_characters_instead_of_obeying_them() -> None:
    text = render_text(hostile(), old_label=HOSTILE, new_label="\x1b[31mred", color=False)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\x00" not in text and "\x07" not in text
    assert "<U+001B>[2J" in text
    assert "<U+202E>evil<U+202C>" in text
    coloured = render_text(hostile(), old_label=HOSTILE, new_label="x", color=True)
    # the only escapes are ours: SGR sequences
    assert all(part[:1] == "[" for part in coloured.split("\x1b")[1:])
    assert "\x1b]" not in coloured


# ---- HTML ----------------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "link", "input"}
ALLOWED = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "div", "p", "b",
    "table", "thead", "tbody", "tr", "th", "td", "ul", "ol", "li", "del", "ins", "bdi", "span",
}  # fmt: skip


class Checker(HTMLParser):
    """Checks that tags nest and close, and records where text sits."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[tuple[str, tuple[str, ...], bool]] = []  # data, open tags, isolated
        self.style = ""
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1][0] == tag, f"</{tag}> closes <{self.stack[-1][0]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] == "style":
            self.style += data
        isolated = any(t == "bdi" or a.get("dir") == "auto" for t, a in self.stack)
        self.text.append((data, tuple(t for t, _ in self.stack), isolated))


def check(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], "unclosed tags"
    assert checker.doctype.lower() == "doctype html"
    return checker


def test_html_redline_of_real_statements() -> None:
    c = compare_texts(
        load(US_ROK_2021), load(US_ROK_2022), old_title="U.S.-ROK Leaders’ Joint Statement"
    )
    page = render_html(c, old_label=OLD, new_label=NEW)
    checker = check(page)
    assert {t for t, _ in checker.tags} <= ALLOWED
    tree = lxml.html.document_fromstring(page)
    assert tree.find(".//h1").text_content() == verdict(c)
    assert tree.findtext(".//title") == verdict(c)
    headings = [h.text_content() for h in tree.iter("h2")]
    assert headings.index("Evidence") < headings.index("Concepts")
    dels = [e.text_content() for e in tree.iter("del")]
    inss = [e.text_content() for e in tree.iter("ins")]
    assert "shared commitment to" in dels  # the evidence pair, reworded
    assert "common goal of" in inss
    rows = [[td.text_content() for td in tr.iter("td")] for tr in tree.iter("tr")][1:]
    assert [
        "complete-denuclearization",
        "2",
        "1",
        "decreased",
        "complete denuclearization",
        "–",
    ] in rows
    assert ["maximum-pressure", "0", "0", "unchanged", "–", "- → other-target 1"] in rows
    assert "U.S.-ROK Leaders’ Joint Statement" in page


def test_html_is_self_contained_phone_and_dark_mode_ready() -> None:
    page = render_html(dropped_cvid(), old_label=OLD, new_label=NEW)
    checker = check(page)
    attrs = [a for _, a in checker.tags]
    assert not any(k in a for a in attrs for k in ("src", "href"))
    assert not any(k.startswith("on") for a in attrs for k in a)
    assert "@media (prefers-color-scheme: dark)" in checker.style
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in attrs
    assert "url(" not in checker.style and "@import" not in checker.style
    csp = [a["content"] for a in attrs if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]
    tree = lxml.html.document_fromstring(page)
    assert [e.text_content() for e in tree.iter("del")] == [CVID_SENTENCE]


def test_html_escapes_hostile_text_and_isolates_its_direction() -> None:
    page = render_html(hostile(), old_label=HOSTILE, new_label=HOSTILE)
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "<b>bold" not in lowered
    assert lowered.count("</style>") == 1
    assert "\x00" not in page and "\x1b" not in page and "\x07" not in page
    checker = check(page)
    assert {t for t, _ in checker.tags} <= ALLOWED
    assert not any(k.startswith("on") for _, a in checker.tags for k in a)
    # every piece of hostile text arrived as text, and all of it inside <bdi> or dir="auto"
    hostile_text = [(data, isolated) for data, _, isolated in checker.text if "\u202e" in data]
    assert len(hostile_text) >= 10
    assert all(isolated for _, isolated in hostile_text)
    assert any("<script>alert(1)</script>" in data for data, _ in hostile_text)
    tree = lxml.html.document_fromstring(page)
    assert tree.find(".//script") is None
    assert tree.find(".//img") is None
    assert [e.tag for e in tree.find(".//ol/li")] == ["bdi", "del", "ins"]


@pytest.mark.parametrize("label", ["", "a" * 500, "한국어 라벨", "<>&\"'"])
def test_html_with_odd_labels_still_parses(label: str) -> None:
    check(render_html(compare_texts("", ""), old_label=label, new_label=label))
