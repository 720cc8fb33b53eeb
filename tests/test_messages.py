"""monitor.render.messages: alert subjects, text and HTML bodies and webhook payloads, hostile input
included."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from monitor.alerts import rules as alerts
from monitor.analysis.compare import as_json
from monitor.models import ArticleEvent, Change, Comparison, Message, SourceEvent
from monitor.render.messages import article_message, change_message, source_message, when
from tests.documents import MATCHER, SETTINGS, US_ROK_2021, US_ROK_2022, load
from tests.events import (
    AT,
    LABELS,
    NEW_COMPLETE,
    NEW_HASH,
    OLD_CVID,
    OLD_HASH,
    TITLE,
    URL,
    change_event,
)

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(1)> <b><i> </body> "
    "\u202eevil\u202c \u2066iso\u2069 \x1b[31m\r\nnext"
)


def synthetic(
    concepts: list[tuple[str, str]], moves: list[tuple[str | None, str | None, str]]
) -> Change:
    """A change event from concept statuses and ladder moves alone."""
    comparison = {
        "concepts": [
            {
                "id": cid,
                "old": 1,
                "new": 0,
                "status": status,
                "variants_old": [],
                "variants_new": [],
            }
            for cid, status in concepts
        ],
        "stance": [
            {"ladder": "denuclearization", "old": o, "new": n, "move": m} for o, n, m in moves
        ],
        "sentences": {"added": [], "removed": [], "changed": [], "moved": 0},
    }
    return Change(
        "succession",
        URL,
        "T",
        None,
        "s",
        None,
        AT,
        OLD_HASH,
        NEW_HASH,
        0.5,
        "v",
        Comparison.from_json(comparison),
    )


def render(event: Change) -> Message:
    return change_message(event, dedup_key="change:1", timezone="Asia/Seoul", labels=LABELS)


# ---- changes -----------------------------------------------------------------------------------


def test_a_dropped_cvid_says_so_and_quotes_both_sentences() -> None:
    intro = "President Yoon and President Biden met in Seoul."
    msg = render(change_event(f"{intro} {OLD_CVID}", f"{intro} {NEW_COMPLETE}"))
    assert msg.subject == f"CVID dropped: {TITLE}"
    assert msg.dedup_key == "change:1"
    for body in (msg.text, msg.html or ""):
        assert "denuclearization: CVID → complete denuclearization (downgrade)" in body
        assert "2026-11-28 05:30 KST (2026-11-27 20:30 UTC)" in body
        assert "0123456789ab" in body and "fedcba987654" in body
        assert "sha256" in body
        assert "the previous edition in series us-rok-joint-statements" in body
    text = msg.text
    assert text.splitlines()[0].startswith("cvid dropped")  # the stored verdict comes first
    # the evidence comes first: the dropped concept's sentence paired with its rewording
    evidence = text.split("Evidence:\n", 1)[1]
    assert evidence.lstrip().startswith("CVID: 1 → 0 (dropped)")
    assert f'was: "{OLD_CVID}"' in evidence
    assert f'now: "{NEW_COMPLETE}"' in evidence
    assert "[-complete, verifiable and irreversible-] {+complete+}" in evidence
    assert "Changed sentences" not in text  # shown once, as evidence
    assert f"Link: {URL}" in text
    html = msg.html or ""
    assert (
        '<del style="' in html and "<bdi>complete, verifiable and irreversible</bdi></del>" in html
    )
    assert "<bdi>complete</bdi></ins>" in html
    assert f'<a href="{URL}"' in html
    assert '<meta name="color-scheme" content="light dark">' in html


@pytest.mark.parametrize(
    ("concepts", "moves", "subject"),
    [
        ([("cvid", "dropped")], [], "CVID dropped: T"),
        ([("cvid", "dropped")], [("cvid", None, "downgrade")], "CVID dropped: T"),
        (
            [("cvid", "dropped"), ("ffvd", "dropped"), ("extended-deterrence", "dropped")],
            [],
            "CVID, FFVD and 1 more dropped: T",
        ),
        (
            [("cvid", "dropped"), ("extended-deterrence", "dropped")],
            [("cvid", "ffvd", "downgrade")],
            "CVID, extended deterrence dropped: T",
        ),
        (
            [],
            [("cvid", "complete-denuclearization", "downgrade")],
            "Downgrade (CVID → complete denuclearization): T",
        ),
        # the rung an upgrade replaced is not reported as dropped
        (
            [("complete-denuclearization", "dropped"), ("cvid", "introduced")],
            [("complete-denuclearization", "cvid", "upgrade")],
            "Upgrade (complete denuclearization → CVID): T",
        ),
        ([("extended-deterrence", "introduced")], [], "extended deterrence introduced: T"),
        ([("maximum-pressure", "decreased")], [], "Fewer mentions of pressure and sanctions: T"),
        ([("nuclear-status", "increased")], [], "More mentions of nuclear status: T"),
        ([("unknown-concept", "increased")], [], "More mentions of unknown-concept: T"),
        ([], [], "Wording changed: T"),
    ],
)
def test_subject_says_what_happened(
    concepts: list[tuple[str, str]], moves: list[tuple[str | None, str | None, str]], subject: str
) -> None:
    assert render(synthetic(concepts, moves)).subject == subject


def test_a_baseline_comparison_says_so_and_a_missing_title_falls_back() -> None:
    event = change_event(OLD_CVID, NEW_COMPLETE, kind="baseline", title=None)
    event = dataclasses.replace(event, old_title="Joint Statement of 2021 (the baseline)")
    msg = render(event)
    # never the predecessor's title: the new document's address, in words
    assert "2021" not in msg.subject
    assert msg.subject == "CVID dropped (vs. baseline): joint statement (whitehouse.gov)"
    assert "Document: joint statement (whitehouse.gov)" in msg.text
    assert "the baseline of series us-rok-joint-statements" in msg.text


def test_korean_titles_and_sentences_survive() -> None:
    title = "한미 정상 공동성명 (2026년 11월)"
    old = f"{OLD_CVID} 양국 정상은 북한의 완전한 비핵화를 재확인했다."
    new = f"{NEW_COMPLETE} 양국 정상은 한반도 평화를 강조했다."
    msg = render(change_event(old, new, title=title))
    assert msg.subject.endswith(f": {title}")
    assert title in msg.text and title in (msg.html or "")
    assert "양국 정상은 한반도 평화를 강조했다." in msg.text
    assert msg.payload["title"] == title
    assert json.loads(json.dumps(msg.payload, ensure_ascii=False))["title"] == title


def test_long_lists_are_capped_with_the_most_relevant_first() -> None:
    filler = [f"Paragraph {i} discusses trade and investment in semiconductors." for i in range(8)]
    old = " ".join([*filler, "Extended deterrence remains ironclad."])
    msg = render(change_event(old, "The leaders met in Seoul and discussed the economy."))
    # the sentence that carried the dropped concept is the evidence; the rest follow, capped
    evidence = msg.text.split("Evidence:\n", 1)[1]
    assert '  - "Extended deterrence remains ironclad."' in evidence.split("Other removed")[0]
    removed = msg.text.split("Other removed sentences (8):\n", 1)[1].splitlines()
    assert removed[0] == '  - "Paragraph 0 discusses trade and investment in semiconductors."'
    assert removed[5] == "  and 3 more"
    assert "and 3 more" in (msg.html or "")


def test_a_real_statement_pair_renders_within_bounds() -> None:
    msg = render(change_event(load(US_ROK_2021), load(US_ROK_2022)))
    assert msg.subject.endswith(f": {TITLE}")
    # at most 5 evidence pairs per changed concept, then at most 5 other changed sentences
    changed = sum(1 for d in msg.payload["comparison"]["concepts"] if d["status"] != "unchanged")
    assert msg.text.count('  was: "') <= 5 * changed + 5
    assert len(msg.html or "") < 40_000
    assert_inert(msg.html or "")


def test_payload_is_json_with_the_stored_comparison() -> None:
    event = change_event(OLD_CVID, NEW_COMPLETE)
    msg = render(event)
    payload = json.loads(json.dumps(msg.payload))
    assert payload["event"] == "change"
    assert payload["subject"] == msg.subject
    assert payload["url"] == URL and payload["title"] == TITLE
    assert payload["verdict"] == event.verdict
    assert payload["detected_at"] == "2026-11-27T20:30:00+00:00"
    assert payload["comparison"] == as_json(event.comparison)
    assert payload["dedup_key"] == "change:1"
    assert payload["old_hash"] == OLD_HASH and payload["new_hash"] == NEW_HASH


# ---- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (AT, "Asia/Seoul", "2026-11-28 05:30 KST (2026-11-27 20:30 UTC)"),
        (
            datetime(2026, 11, 27, 7, 5, tzinfo=UTC),
            "Asia/Seoul",
            "2026-11-27 16:05 KST (07:05 UTC)",
        ),
        (
            datetime(2026, 11, 27, 7, 5),
            "Asia/Seoul",
            "2026-11-27 16:05 KST (07:05 UTC)",
        ),  # naive: UTC
        (AT, "UTC", "2026-11-27 20:30 UTC"),
        (AT, "America/New_York", "2026-11-27 15:30 EST (20:30 UTC)"),
        (
            datetime(2026, 7, 1, 2, 0, tzinfo=UTC),
            "America/New_York",
            "2026-06-30 22:00 EDT (2026-07-01 02:00 UTC)",
        ),
        (AT, "Asia/Ho_Chi_Minh", "2026-11-28 03:30 UTC+07 (2026-11-27 20:30 UTC)"),
    ],
)
def test_times_in_the_configured_zone_and_utc(moment: datetime, zone: str, shown: str) -> None:
    assert when(moment, zone) == shown


# ---- articles and sources ----------------------------------------------------------------------


def article(title: str, text: str, **kw: Any) -> ArticleEvent:
    return ArticleEvent(
        url=kw.get("url", "https://en.yna.co.kr/view/AEN20261127000100315"),
        title=title,
        source=kw.get("source", "yonhap-en-nk"),
        published=datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
        detected_at=AT,
        content_hash=OLD_HASH,
        mentions=tuple(MATCHER.find(text)),
    )


def test_a_new_article_names_the_concept_and_marks_the_term() -> None:
    title = "북한, 핵무력 강화 천명… Seoul renews call for CVID"
    text = "Seoul renewed its call for CVID on Friday. Officials met in Busan."
    msg = article_message(
        article(title, text), dedup_key="article:7", timezone="Asia/Seoul", labels=LABELS
    )
    assert msg.subject == f"New: {title} mentions CVID"
    assert '"Seoul renewed its call for «CVID» on Friday."' in msg.text
    assert "CVID (1 mention):" in msg.text
    assert "Source: yonhap-en-nk" in msg.text
    assert "Published: 2026-11-28 00:00 KST (2026-11-27 15:00 UTC)" in msg.text
    assert "Detected: 2026-11-28 05:30 KST (2026-11-27 20:30 UTC)" in msg.text
    assert "Text sha256: 0123456789ab" in msg.text
    html = msg.html or ""
    assert "Seoul renewed its call for <mark" in html and ">CVID</mark> on Friday." in html
    assert msg.payload["event"] == "article" and msg.payload["concepts"] == ["cvid"]
    assert msg.payload["dedup_key"] == "article:7"


def test_an_article_with_many_concepts_lists_them_in_config_order() -> None:
    text = (
        "Extended deterrence was discussed. Pyongyang insists on its status as a nuclear weapons "
        "state. The allies called for CVID. The allies called for CVID again."
    )
    msg = article_message(article("T", text), dedup_key="a", timezone="UTC", labels=LABELS)
    assert msg.subject.startswith("New: T mentions CVID, ")
    assert "CVID (2 mentions):" in msg.text


@pytest.mark.parametrize(
    ("failing", "count", "subject", "line"),
    [
        (
            True,
            3,
            "Source failing: yonhap-en-nk (3 failures)",
            "yonhap-en-nk: 3 failures in a row.",
        ),
        (False, 4, "Source recovered: yonhap-en-nk", "yonhap-en-nk works again after 4 failures"),
    ],
)
def test_source_notices(failing: bool, count: int, subject: str, line: str) -> None:
    event = SourceEvent(
        "yonhap-en-nk", "https://en.yna.co.kr/RSS/nk.xml", failing, count, "HTTP 503", AT
    )
    msg = source_message(event, dedup_key="source:yonhap-en-nk:1", timezone="Asia/Seoul")
    assert msg.subject == subject
    assert msg.text.startswith(line)
    assert "2026-11-28 05:30 KST (2026-11-27 20:30 UTC)" in msg.text
    assert ("Last error: HTTP 503" in msg.text) is failing
    assert msg.payload["event"] == "source" and msg.payload["failing"] is failing


# ---- hostile content ---------------------------------------------------------------------------

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "body", "div", "h1", "h2", "p", "span", "bdi", "del", "ins",
    "mark", "a", "b",
}  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.ends: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)


def assert_inert(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    names = {tag for tag, _ in parser.tags}
    assert names <= ALLOWED_TAGS, names - ALLOWED_TAGS
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name in ("lang", "charset", "name", "content", "style", "dir", "href"), name
            if name == "href":
                assert value is not None and re.match(r"https?://", value)
    assert parser.ends.count("body") == 1 and parser.ends[-2:] == ["body", "html"]
    assert html.endswith("</body>\n</html>\n")
    assert "\u202e" not in html and "\x1b" not in html


def test_hostile_change_renders_inert() -> None:
    old = f"{OLD_CVID} The envoy said {HOSTILE} today."
    new = f"{NEW_COMPLETE} The envoy said {HOSTILE} tomorrow. Added {HOSTILE}."
    event = change_event(old, new, title=f"Statement {HOSTILE}", source=f"src {HOSTILE}")
    msg = render(event)
    for output in (msg.subject, msg.text):
        assert "\u202e" not in output and "\u2066" not in output and "\x1b" not in output
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert msg.subject.startswith("CVID dropped: Statement <script>")
    html = msg.html or ""
    assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/body&gt;" in html


def test_hostile_article_and_source_render_inert() -> None:
    text = f"Seoul called for CVID {HOSTILE} again."
    msgs = [
        article_message(
            article(f"Title {HOSTILE}", text, url="javascript:alert(1)", source=HOSTILE),
            dedup_key="a",
            timezone="Asia/Seoul",
            labels=LABELS,
        ),
        source_message(
            SourceEvent(HOSTILE, "javascript:alert(1)", True, 3, HOSTILE, AT),
            dedup_key="s",
            timezone="Asia/Seoul",
        ),
    ]
    for msg in msgs:
        assert_inert(msg.html or "")
        assert "href" not in (msg.html or "")  # not an http(s) address: shown, not linked
        assert "\u202e" not in msg.subject and "\n" not in msg.subject
        assert "\u202e" not in msg.text
    assert "<mark" in (msgs[0].html or "")


@pytest.mark.parametrize(
    "label", ['"><script>alert(1)</script>', "CVID / <b>PVID</b>", "\u202eDIVC"]
)
def test_odd_labels_are_escaped_too(label: str) -> None:
    labels = {**LABELS, "cvid": label}
    msg = change_message(
        change_event(OLD_CVID, NEW_COMPLETE), dedup_key="k", timezone="UTC", labels=labels
    )
    assert_inert(msg.html or "")
    assert "\u202e" not in msg.subject


def test_an_upgrade_to_cvid_says_upgrade_and_the_weakening_rule_does_not_fire() -> None:
    # Every lower rung disappears (the new text says only "CVID"): they were replaced by a
    # stronger one, not dropped, in the verdict, the subject and the default alert rule.
    old = "The leaders reaffirmed the complete denuclearization of North Korea."
    new = "The leaders reaffirmed the CVID of North Korea."
    event = change_event(old, new)
    concepts = {d.id: d for d in event.comparison.concepts}
    assert concepts["complete-denuclearization"].status == "dropped"
    assert concepts["denuclearization"].superseded is True
    assert "dropped" not in event.verdict
    assert event.verdict.startswith("cvid introduced")
    msg = render(event)
    assert msg.subject == f"Upgrade (complete denuclearization → CVID): {TITLE}"
    weakening = SETTINGS.alerts.rules[0]
    assert weakening.name == "weakening"
    assert not alerts._change_matches(weakening, event, watched=True)
    # the same rule fires on the way down
    down = change_event(new, old)
    assert alerts._change_matches(weakening, down, watched=True)
    assert render(down).subject == f"CVID dropped: {TITLE}"


def test_a_page_repeating_a_concept_makes_a_bounded_alert() -> None:
    # One 5 KB sentence naming CVID 500 times, under a 1 MB title: the mail and the webhook
    # payload stay small (the amplification of issue 9).
    sentence = "Seoul called for CVID " + "and CVID " * 500 + "today."
    msg = article_message(
        article("Title " + "x" * 1_000_000, sentence),
        dedup_key="a",
        timezone="UTC",
        labels=LABELS,
    )
    assert len(msg.subject) <= 160
    assert len(msg.text) < 10_000 and len(msg.html or "") < 20_000
    body = json.dumps(msg.payload, ensure_ascii=False)
    assert len(body) < 100_000, len(body)
    assert len(msg.payload["mentions"]) == 100
