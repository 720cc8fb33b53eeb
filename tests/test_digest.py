"""monitor.render.digest and the window of monitor.alerts.digest: grouping and order, counts, links, charts, hostile input, an empty
day and Korean text, on changes and articles built from the test corpus."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import lxml.html
import pytest

from monitor.alerts.digest import window
from monitor.analysis.compare import as_json, verdict
from monitor.models import (
    ArticleEvent,
    Change,
    ChangedSentence,
    Comparison,
    DigestData,
    Message,
    SentenceDiff,
)
from monitor.render.digest import (
    MAX_ARTICLES,
    MAX_LISTED,
    MAX_SENTENCES,
    SPARK,
    render_digest,
)
from tests.documents import (
    CARBIS_BAY,
    CVID_SENTENCE,
    EMERGENCY_2021,
    EMERGENCY_2022,
    HIROSHIMA,
    MATCHER,
    SETTINGS,
    SINGAPORE,
    US_ROK_2021,
    US_ROK_2022,
    compare_texts,
    korean_half,
    load,
)

DAY = date(2026, 11, 28)
START, END = window(DAY, "07:00", "Asia/Seoul")
SEEN = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)  # 12:15 KST, inside the window
ORDER = tuple(dict.fromkeys([*SETTINGS.ladders["denuclearization"], *SETTINGS.concepts]))
LABELS = {cid: c.label for cid, c in SETTINGS.concepts.items()}
WH = "https://bidenwhitehouse.archives.gov/briefing-room/statements-releases"
KOREAN_TITLE = "북미 정상 싱가포르 공동성명 전문 (한국어 번역)"


def change(c: Comparison, url: str, title: str, **extra: Any) -> Change:
    """A stored change as the store gives it to the digest: the comparison as JSON."""
    event = Change(
        kind="succession",
        url=url,
        title=title,
        old_title=c.old.title,
        source="whitehouse",
        series="us-rok-joint-statements",
        detected_at=SEEN,
        old_hash="a" * 64,
        new_hash="b" * 64,
        significance=c.significance,
        verdict=verdict(c),
        comparison=Comparison.from_json(as_json(c)),
    )
    return dataclasses.replace(event, **extra)


def article(text: str, url: str, title: str, **extra: Any) -> ArticleEvent:
    """A new article whose mentions the shipped concepts find in `text`."""
    event = ArticleEvent(
        url=url,
        title=title,
        source="whitehouse",
        published=SEEN - timedelta(hours=2),
        detected_at=SEEN,
        content_hash="c" * 64,
        mentions=tuple(m for m in MATCHER.find(text) if m.counted),
    )
    return dataclasses.replace(event, **extra)


def cvid_dropped() -> Change:
    """The 2022 U.S.-ROK statement against itself with the CVID sentence: CVID dropped."""
    new = load(US_ROK_2022)
    head, sep, tail = new.partition("\n\n")
    c = compare_texts(
        f"{head} {CVID_SENTENCE}{sep}{tail}", new, old_title="draft", new_title="final"
    )
    return change(c, f"{WH}/2022/05/21/joint-statement/?a=1&b=2", "U.S.-ROK Joint Statement (CVID)")


def rok_2021_2022() -> Change:
    c = compare_texts(load(US_ROK_2021), load(US_ROK_2022), old_title="2021", new_title="2022")
    return change(c, f"{WH}/2022/05/21/rok/", "United States-Republic of Korea Leaders’ Statement")


def counts(days: int = 30, peak: int = 9) -> dict[str, tuple[tuple[date, int], ...]]:
    """Per concept, a made-up but varied series ending on DAY, its maximum `peak` on DAY - 3."""
    span = [DAY - timedelta(days=days - 1 - k) for k in range(days)]
    return {
        cid: tuple(
            (d, peak if d == DAY - timedelta(days=3) else (k * (i + 1)) % 5)
            for k, d in enumerate(span)
        )
        for i, cid in enumerate(SETTINGS.concepts)
        if cid != "ffvd"
    } | {"ffvd": tuple((d, 0) for d in span)}


def digest(
    changes: tuple[Change, ...] = (),
    articles: tuple[ArticleEvent, ...] = (),
    **extra: Any,
) -> DigestData:
    data = DigestData(DAY, START, END, "Asia/Seoul", changes, articles, counts(), LABELS, ORDER)
    return dataclasses.replace(data, **extra)


def full() -> DigestData:
    return digest(
        (rok_2021_2022(), cvid_dropped()),
        (
            article(
                load(HIROSHIMA),
                f"{WH}/2023/05/20/g7-hiroshima/",
                "G7 Hiroshima Leaders’ Communiqué",
            ),
            article(
                load(CARBIS_BAY), f"{WH}/2021/06/13/carbis-bay/", "Carbis Bay G7 Summit Communiqué"
            ),
            article(
                korean_half(SINGAPORE),
                "https://www.nocutnews.co.kr/news/4984257",
                KOREAN_TITLE,
                source="nocutnews",
                published=None,
            ),
        ),
    )


def sections(text: str) -> list[str]:
    return re.findall(r"^== (.+) ==$", text, re.MULTILINE)


def section(text: str, name: str) -> str:
    return text.split(f"== {name} ==\n", 1)[1].split("\n== ", 1)[0]


# ---- the window ----------------------------------------------------------------------------------


def test_a_seoul_morning_digest_covers_the_24_hours_before_across_the_utc_date() -> None:
    start, end = window(date(2026, 11, 28), "07:00", "Asia/Seoul")
    # 07:00 KST on the 28th is 22:00 UTC on the 27th; the window opened 24 hours before
    assert start == datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    assert window(date(2026, 1, 1), "09:30", "Asia/Seoul") == (
        datetime(2025, 12, 31, 0, 30, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 30, tzinfo=UTC),
    )


def test_a_dst_change_day_has_23_or_25_hours_and_digests_tile_time() -> None:
    ny = "America/New_York"
    start, end = window(date(2026, 3, 8), "07:00", ny)  # clocks go forward at 02:00
    assert (start, end) == (
        datetime(2026, 3, 7, 12, tzinfo=UTC),
        datetime(2026, 3, 8, 11, tzinfo=UTC),
    )
    start, end = window(date(2026, 11, 1), "07:00", ny)  # clocks go back at 02:00
    assert (start, end) == (
        datetime(2026, 10, 31, 11, tzinfo=UTC),
        datetime(2026, 11, 1, 12, tzinfo=UTC),
    )
    # 02:30 does not exist on 8 March: read with the offset before the change (EST)
    assert window(date(2026, 3, 8), "02:30", ny)[1] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 01:30 happens twice on 1 November: the first one (EDT) counts
    assert window(date(2026, 11, 1), "01:30", ny)[1] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    for at in ("07:00", "02:30", "01:30", "00:00"):
        days = [date(2026, 3, 1) + timedelta(days=k) for k in range(250)]
        for before, after in itertools.pairwise(days):
            assert window(before, at, ny)[1] == window(after, at, ny)[0]


@pytest.mark.parametrize("at", ["7:00", "24:00", "07:60", "0700", ""])
def test_a_malformed_time_is_refused(at: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        window(DAY, at, "Asia/Seoul")


# ---- content -------------------------------------------------------------------------------------


def test_groups_go_strongest_first_with_changes_before_articles() -> None:
    message = render_digest(full(), dedup_key="digest:2026-11-28")
    assert sections(message.text) == [
        "CVID / PVID",
        "complete denuclearization",
        "Other tracked concepts",
    ]
    cvid = section(message.text, "CVID / PVID")
    assert cvid.index("Wording changes:") < cvid.index("New articles:")
    assert "U.S.-ROK Joint Statement (CVID)" in cvid and "G7 Hiroshima" in cvid
    complete = section(message.text, "complete denuclearization")
    # the 2021 -> 2022 change touches complete-denuclearization, extended deterrence and
    # pressure; the Carbis Bay and Singapore texts mention complete denuclearization first
    assert complete.index("United States-Republic of Korea Leaders’ Statement") < complete.index(
        "Carbis Bay"
    )
    assert KOREAN_TITLE in complete
    tree = lxml.html.fromstring(message.html or "")
    assert [h.text_content() for h in tree.iter("h2")] == sections(message.text)
    h3 = [h.text_content() for h in tree.iter("h3")]
    assert h3 == ["Wording changes", "New articles", "Wording changes", "New articles"]


def test_an_item_appears_once_under_its_strongest_concept_and_names_the_others() -> None:
    message = render_digest(full(), dedup_key="k")
    # Hiroshima mentions CVID, and a "UN-sanctioned" armed group in Africa, which is set aside
    # (no North Korea near it): under CVID only, nothing else named
    assert message.text.count("G7 Hiroshima Leaders’ Communiqué") == 1
    hiroshima = message.text.split("G7 Hiroshima Leaders’ Communiqué", 1)[1].split("\n* ", 1)[0]
    assert "also:" not in hiroshima
    # the Singapore text mentions complete denuclearization and denuclearization (twice)
    korean = message.text.split(KOREAN_TITLE, 1)[1].split("\n* ", 1)[0]
    assert "also: denuclearization (any) ×2" in korean
    assert "denuclearization (any)" not in sections(message.text)
    html = message.html or ""
    assert html.count("G7 Hiroshima Leaders’ Communiqué") == 1
    others = section(message.text, "Other tracked concepts")
    # the CVID change (its CVID sentence named denuclearization), Carbis Bay and Singapore
    assert "denuclearization (any): in 3 items above" in others


def test_counts_per_group_in_total_in_the_subject_and_the_payload() -> None:
    message = render_digest(full(), dedup_key="digest:2026-11-28")
    assert "2 wording changes, 3 new articles" in message.text.splitlines()[:4]
    assert "  CVID / PVID: 1 wording change, 1 new article" in message.text
    assert "  complete denuclearization: 1 wording change, 2 new articles" in message.text
    assert message.subject.startswith(
        "monitor digest 2026-11-28 (KST): 2 wording changes, 3 articles — "
    )
    assert message.payload == {
        "event": "digest",
        "day": "2026-11-28",
        "start": "2026-11-26T22:00:00+00:00",
        "end": "2026-11-27T22:00:00+00:00",
        "changes": 2,
        "articles": 3,
        "subject": message.subject,
    }
    assert message.dedup_key == "digest:2026-11-28"


def test_the_subject_leads_with_the_most_significant_change() -> None:
    message = render_digest(full(), dedup_key="k")
    dropped = cvid_dropped()
    assert dropped.significance > rok_2021_2022().significance
    assert dropped.verdict.startswith("cvid dropped; ")
    # the first clause of its verdict, concepts by their short labels
    assert message.subject.endswith(f"— CVID dropped: {dropped.title}")
    articles_only = render_digest(digest(articles=full().articles), dedup_key="k")
    assert articles_only.subject == (
        "monitor digest 2026-11-28 (KST): 3 articles — CVID: G7 Hiroshima Leaders’ Communiqué"
    )


def test_wording_changes_quote_old_and_new_with_word_highlights() -> None:
    message = render_digest(full(), dedup_key="k")
    text, html = message.text, message.html or ""
    # the sentence the 2021 -> 2022 change reworded around complete denuclearization
    assert "[-and President Moon emphasize-] {+reiterate+}" in text
    assert "removed: “The leaders reaffirmed their commitment to the complete, verifiable" in text
    tree = lxml.html.fromstring(html)
    deleted = [d.text_content() for d in tree.iter("del")]
    inserted = [i.text_content() for i in tree.iter("ins")]
    assert "and President Moon emphasize" in deleted and "reiterate" in inserted
    assert CVID_SENTENCE in deleted
    assert all("line-through" in d.get("style", "") for d in tree.iter("del"))
    # the evidence is quoted first, the group's concept's first, at most MAX_SENTENCES; the rest
    # are counted
    comparison = rok_2021_2022().comparison
    c = comparison.sentences
    total = len(c.changed) + len(c.removed) + len(c.added)
    evidence = {x for d in comparison.concepts for e in d.evidence for x in (e.old, e.new) if x}
    item = text.split("* United States-Republic of Korea Leaders’ Statement\n", 1)[1].split("\n* ")[
        0
    ]
    quoted = re.findall(r"^  (reworded|removed|added): (.*)$", item, re.MULTILINE)
    assert 0 < len(quoted) <= MAX_SENTENCES
    assert "complete denuclearization" in quoted[0][1]
    assert all(q.strip("“”") in evidence for kind, q in quoted if kind != "reworded")
    more = re.search(
        r"and (\d+) more sentences \((\d+) changed, (\d+) removed, (\d+) added\)", item
    )
    assert more is not None
    assert 0 < int(more[1]) == sum(int(more[k]) for k in (2, 3, 4)) <= total - len(quoted)
    assert "sha256 aaaaaaaaaaaa… → bbbbbbbbbbbb…" in text


def test_articles_show_source_time_and_the_matched_sentence_with_the_term_marked() -> None:
    message = render_digest(full(), dedup_key="k")
    hiroshima = message.text.split("* G7 Hiroshima Leaders’ Communiqué\n", 1)[1]
    meta, quote = hiroshima.splitlines()[:2]
    assert meta == "  whitehouse · published 2026-11-27 10:15 KST"
    assert "«complete, verifiable, and irreversible abandonment»" in quote
    tree = lxml.html.fromstring(message.html or "")
    marks = [m.text_content() for m in tree.iter("mark")]
    assert "complete, verifiable, and irreversible abandonment" in marks
    assert "완전한 비핵화" in marks  # Korean, the particle 를 left outside
    # an old publication date is shown with when monitor first saw the item
    old = article(
        load(HIROSHIMA),
        "https://example.org/old",
        "Old news",
        published=datetime(2023, 5, 20, tzinfo=UTC),
    )
    text = render_digest(digest(articles=(old,)), dedup_key="k").text
    assert "published 2023-05-20 09:00 KST · first seen 2026-11-27 12:15 KST" in text


def test_a_document_both_new_and_changed_is_told_once_as_the_change() -> None:
    dropped = cvid_dropped()
    same = article(load(US_ROK_2022), dropped.url, "New side of the change")
    message = render_digest(digest((dropped,), (same,)), dedup_key="k")
    assert "New side of the change" not in message.text
    assert message.payload["articles"] == 0


def test_long_article_lists_are_capped() -> None:
    many = tuple(
        article(
            load(CARBIS_BAY),
            f"https://example.org/{k}",
            f"Article {k:03}",
            published=SEEN - timedelta(minutes=k),
        )
        for k in range(MAX_ARTICLES + MAX_LISTED + 5)
    )
    message = render_digest(digest(articles=many), dedup_key="k")
    assert message.text.count("\n* Article") == MAX_ARTICLES
    assert message.text.count("\n- Article") == MAX_LISTED
    assert "and 5 more" in message.text
    tree = lxml.html.fromstring(message.html or "")
    assert len(tree.xpath("//li/a")) == MAX_LISTED
    assert len((message.html or "").encode()) < 102_000  # Gmail clips longer messages


def test_links_are_escaped_and_only_web_urls_are_links() -> None:
    local = article(load(CARBIS_BAY), "file:///srv/docs/carbis%20bay.md", "Local copy")
    ftp = article(load(CARBIS_BAY), "ftp://example.org/carbis", "FTP copy")
    message = render_digest(
        dataclasses.replace(full(), articles=(*full().articles, local, ftp)), dedup_key="k"
    )
    html = message.html or ""
    assert (
        'href="https://bidenwhitehouse.archives.gov/briefing-room/statements-releases/2022/05/21/joint-statement/?a=1&amp;b=2"'
        in html
    )
    hrefs = lxml.html.fromstring(html).xpath("//a/@href")
    assert f"{WH}/2022/05/21/joint-statement/?a=1&b=2" in hrefs
    # A file:// link to another host can leak Windows credentials when clicked: shown as text.
    assert not any(h.startswith(("ftp:", "file:")) for h in hrefs)
    assert "file:///srv/docs/carbis%20bay.md" in html
    assert "ftp://example.org/carbis" in html  # shown, not linked
    assert "https://www.nocutnews.co.kr/news/4984257" in message.text


def test_a_chart_per_concept_with_a_bar_per_day_the_maximum_and_a_sparkline() -> None:
    message = render_digest(full(), dedup_key="k")
    tree = lxml.html.fromstring(message.html or "")
    charts = tree.xpath("//table[@role='presentation']")
    # the two groups, then every other concept with mentions (not FFVD, which has none)
    assert len(charts) == len(SETTINGS.concepts) - 1
    for chart in charts:
        cells = chart.xpath(".//td")
        assert len(cells) == 30
        assert cells[26].get("title") == f"{DAY - timedelta(days=3)}: 9"
        heights = [int(re.findall(r"height:(\d+)px", td[0].get("style"))[0]) for td in cells]
        assert heights[26] == max(heights) in (36, 20)  # the maximum fills the chart
        assert heights[0] == 1  # a day without mentions: a hairline
        assert not chart.xpath(".//svg|.//img")
    caption = f"mentions per day, 30 days to 2026-11-28: max 9 on {DAY - timedelta(days=3)}"
    assert caption in (message.html or "") and caption in message.text
    cvid = dict(counts()["cvid"])
    line = next(x for x in section(message.text, "CVID / PVID").splitlines() if x[:1] in SPARK)
    spark = line.split()[0]
    assert len(spark) == 30 and spark[26] == "█" and spark[0] == SPARK[0]
    assert line.endswith(f", {sum(cvid.values())} in all")
    assert "No mentions today or in the last 30 days: FFVD" in message.text


def test_a_wording_only_change_goes_under_the_concept_its_sentences_name() -> None:
    new = load(US_ROK_2022)
    reworded = new.replace("reiterate their common goal", "restate their shared goal")
    assert reworded != new
    c = compare_texts(reworded, new)
    assert all(d.status == "unchanged" for d in c.concepts)
    event = change(c, f"{WH}/2022/05/21/rok/", "Reworded statement")
    message = render_digest(digest((event,)), dedup_key="k")
    assert sections(message.text)[0] == "complete denuclearization"
    assert "reworded: President Yoon and President Biden [-restate-] {+reiterate+}" in message.text
    assert "also: denuclearization (any)" in message.text


def test_a_change_that_touches_no_concept_goes_last_under_other() -> None:
    c = compare_texts(load(EMERGENCY_2021), load(EMERGENCY_2022))
    assert not c.concepts
    other = change(c, "https://example.org/notice", "Notice on the National Emergency")
    message = render_digest(digest((other, cvid_dropped())), dedup_key="k")
    assert sections(message.text)[:2] == ["CVID / PVID", "Other"]
    assert "Notice on the National Emergency" in section(message.text, "Other")


# ---- hostile input ---------------------------------------------------------------------------------

EVIL = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> </div></td><b>bold <a href='javascript:x'>"
    "\u202eevil\u202c \x1b[2J\x00 & \"quotes\" 'single' --> <!--"
)


class _Checker(HTMLParser):
    """Records tags, attributes and text, and whether each text sits inside a <bdi>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[tuple[str, bool]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        self.text.append((data, "bdi" in self.open or "title" in self.open))


def hostile() -> DigestData:
    dropped = cvid_dropped()
    comparison = dataclasses.replace(
        dropped.comparison,
        sentences=SentenceDiff(
            added=(f"Added {EVIL} complete, verifiable, and irreversible denuclearization",),
            removed=(f"{CVID_SENTENCE} {EVIL}",),
            changed=(ChangedSentence(f"CVID stays {EVIL}", f"CVID goes {EVIL}", ()),),
        ),
    )
    bad = dataclasses.replace(
        dropped,
        title=f"Title {EVIL}",
        old_title=EVIL,
        url="javascript:alert(document.cookie)",
        verdict=f"cvid dropped {EVIL}",
        comparison=comparison,
        source=EVIL,
        series=EVIL,
    )
    text = f"{EVIL} The leaders called for complete denuclearization {EVIL}."
    evil_article = article(text, " JaVaScRiPt:alert(3)", f"\u202e{EVIL}", source=EVIL)
    tab = article(text, "java\tscript:alert(4)", "tab", source="x")
    data_url = article(text, "data:text/html,<script>alert(5)</script>", "data", source="x")
    return digest((bad,), (evil_article, tab, data_url), labels={**LABELS, "cvid": f"CVID {EVIL}"})


def test_hostile_content_is_inert_in_the_html() -> None:
    message = render_digest(hostile(), dedup_key="k")
    html = message.html or ""
    tree = lxml.html.fromstring(html)
    assert not tree.xpath("//script|//img|//iframe|//object|//embed|//form|//style|//svg")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    checker = _Checker()
    checker.feed(html)
    assert set(checker.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "div",
        "h1",
        "h2",
        "h3",
        "b",
        "span",
        "a",
        "bdi",
        "del",
        "ins",
        "mark",
        "table",
        "tr",
        "td",
        "ul",
        "li",
        "p",
    }
    assert not [name for name, _ in checker.attrs if name.startswith("on")]
    hrefs = [value or "" for name, value in checker.attrs if name == "href"]
    assert all(re.match(r"https?:|file:", h) for h in hrefs)
    assert not any("script" in h.lower() or h.startswith("data:") for h in hrefs)
    # every piece of hostile text arrived as text, its right-to-left override made visible,
    # inside a <bdi> (or the <title>, where the subject has none)
    assert "\u202e" not in html
    evil = [(data, isolated) for data, isolated in checker.text if "<U+202E>evil" in data]
    assert len(evil) >= 10
    assert all(isolated for _, isolated in evil)
    assert any("<script>alert(1)</script>" in data for data, _ in evil)
    assert "\x00" not in html and "\x1b" not in html
    assert "<U+001B>[2J<U+0000>" in tree.text_content()
    # broken markup in the text did not close the layout: every item is still there
    assert len(tree.xpath("//h2")) == 3  # CVID, complete denuclearization, other concepts
    assert len(tree.xpath("//h3")) == 2
    assert tree.xpath("//bdi[text()='tab']") and tree.xpath("//bdi[text()='data']")


def test_hostile_content_in_the_text_part_and_the_subject() -> None:
    message = render_digest(hostile(), dedup_key="k")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", message.text)
    assert "<U+202E>evil<U+202C>" in message.text
    assert not re.search(
        "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", message.subject
    )
    assert "— CVID <script>alert(1)</script>" in message.subject  # plain text: shown, not run
    assert len(message.subject) <= 160


# ---- empty day and Korean ------------------------------------------------------------------------


def test_an_empty_day_is_one_line() -> None:
    message = render_digest(digest(), dedup_key="digest:2026-11-28")
    line = (
        "No wording changes or new articles about the tracked concepts in the 24 hours to "
        "07:00 KST on 2026-11-28."
    )
    assert message.text == line + "\n"
    assert message.subject == "monitor digest 2026-11-28 (KST): nothing new"
    tree = lxml.html.fromstring(message.html or "")
    assert [p.text_content() for p in tree.iter("p")] == [line]
    assert tree.body.text_content().strip() == line
    assert message.payload["changes"] == message.payload["articles"] == 0
    # a day the clocks went back had 25 hours
    start, end = window(date(2026, 11, 1), "07:00", "America/New_York")
    ny = digest(start=start, end=end, day=date(2026, 11, 1), timezone="America/New_York")
    assert "in the 25 hours to 07:00 EST on 2026-11-01." in render_digest(ny, dedup_key="k").text


def test_korean_titles_and_sentences_are_intact() -> None:
    korean = article(
        korean_half(SINGAPORE), "https://www.nocutnews.co.kr/news/4984257", KOREAN_TITLE
    )
    message = render_digest(digest(articles=(korean,)), dedup_key="k")
    assert (
        message.subject
        == f"monitor digest 2026-11-28 (KST): 1 article — complete denuclearization: {KOREAN_TITLE}"
    )
    sentence = (
        "3. 2018년 4월27일 판문점 선언을 재확인하며, 북한은 한반도의 완전한 비핵화를 위해 노력한다."
    )
    assert sentence.replace("완전한 비핵화", "«완전한 비핵화»") in message.text
    html = message.html or ""
    assert KOREAN_TITLE in html and "북한은 한반도의 " in html
    tree = lxml.html.fromstring(html)
    quote = next(d for d in tree.iter("div") if d.text_content() == sentence)
    assert [m.text_content() for m in quote.iter("mark")] == ["완전한 비핵화"]


def test_the_html_is_a_mail_page_with_inline_styles() -> None:
    message = render_digest(full(), dedup_key="k")
    html = message.html or ""
    tree = lxml.html.fromstring(html)
    assert tree.xpath("//meta[@name='color-scheme']/@content") == ["light dark"]
    assert "max-width:720px" in tree.body[0].get("style")
    assert not tree.xpath("//style|//link|//*[@class]")
    assert not re.search(r"(src|url)\s*[=(]", html)  # no external resources
    assert isinstance(message, Message) and message.text and message.subject in html
