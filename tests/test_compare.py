"""monitor.analysis.compare: concept deltas, ladder moves, verdicts and significance on real documents."""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import store
from monitor.analysis.compare import as_json, compare, verdict
from monitor.analysis.match import Matcher
from monitor.analysis.prepare import matcher
from monitor.demo_run import demo_settings, run_demo
from monitor.ingest import add_file
from monitor.models import (
    CONCEPT_STATUSES,
    MOVES,
    QUALIFIER_STATUSES,
    ChangedSentence,
    Comparison,
    Concept,
    ConceptDelta,
    DocumentSide,
    Evidence,
    Qualifier,
    SentenceDiff,
    StanceMove,
)
from tests.documents import (
    CARBIS_BAY,
    COMPARISON_KEYS,
    CVID_SENTENCE,
    DOCS,
    EMERGENCY_2021,
    EMERGENCY_2022,
    HIROSHIMA,
    SETTINGS,
    SINGAPORE,
    US_ROK_2021,
    US_ROK_2022,
    compare_texts,
    english_half,
    korean_half,
    load,
)


def statuses(c: Comparison) -> dict[str, tuple[int, int, str]]:
    return {d.id: (d.old, d.new, d.status) for d in c.concepts}


def moves(c: Comparison) -> dict[str, tuple[str | None, str | None, str]]:
    return {m.ladder: (m.old, m.new, m.move) for m in c.stance}


# ---- real pairs --------------------------------------------------------------------------------


def test_us_rok_joint_statements_2021_to_2022() -> None:
    # 2021 (Biden-Moon): "complete denuclearization of the Korean Peninsula" twice, one "extended
    # deterrence". 2022 (Biden-Yoon): "complete denuclearization" once, plus "a denuclearized ...
    # Korean peninsula", "extended deterrence" and the "Extended Deterrence Strategy and
    # Consultation Group", and "sanctions" (against Russia: set aside as about another country).
    # The ladder stays at complete.
    c = compare_texts(
        load(US_ROK_2021),
        load(US_ROK_2022),
        old_title="U.S.-ROK Leaders’ Joint Statement",
        new_title="United States-Republic of Korea Leaders’ Joint Statement",
    )
    assert statuses(c) == {
        "complete-denuclearization": (2, 1, "decreased"),
        "denuclearization": (2, 2, "unchanged"),
        "extended-deterrence": (1, 2, "increased"),
        "maximum-pressure": (0, 0, "unchanged"),
    }
    assert moves(c) == {
        "denuclearization": ("complete-denuclearization", "complete-denuclearization", "same")
    }
    sanctions = {d.id: d for d in c.concepts}["maximum-pressure"]
    assert (sanctions.set_aside_old, sanctions.set_aside_new) == ({}, {"other-target": 1})
    by_id = {d.id: d for d in c.concepts}
    # one variant per spelling, case ignored, the first seen kept; in document order
    assert by_id["extended-deterrence"].variants_new == ("extended deterrence",)
    assert by_id["denuclearization"].variants_new == ("denuclearization", "denuclearized")
    assert by_id["maximum-pressure"].variants_old == ()
    assert verdict(c) == "complete-denuclearization 2→1, extended-deterrence 1→2"
    # concept counts changed, no ladder weakened: band 2, kB = 1 + 1
    assert c.significance == pytest.approx(0.5 + 0.3 * 2 / 3)
    assert c.old.title == "U.S.-ROK Leaders’ Joint Statement"
    assert c.old.words == len(load(US_ROK_2021).split())
    assert c.new.concepts == {
        "complete-denuclearization": 1,
        "denuclearization": 2,
        "extended-deterrence": 2,
    }
    assert any("complete denuclearization" in x.old for x in c.sentences.changed)


def test_g7_carbis_bay_2021_to_hiroshima_2023_is_an_upgrade() -> None:
    # Carbis Bay: "the complete denuclearisation of the Korean peninsula and the verifiable and
    # irreversible abandonment ..." (British spelling, no "complete," before "verifiable": not
    # CVID). Hiroshima: "complete, verifiable, and irreversible abandonment of its nuclear
    # weapons" (CVID) and no denuclearization word at all. Its "risk reduction" is disaster risk
    # reduction, which the shipped arms-control patterns ("nuclear/strategic risk reduction")
    # do not count. Carbis Bay's sanctions on Belarus are about
    # another country, Hiroshima's "UN-sanctioned March 23 Movement" names no target: what is
    # left is Carbis Bay's call to implement the DPRK resolutions' sanctions, gone in 2023.
    c = compare_texts(load(CARBIS_BAY), load(HIROSHIMA))
    assert statuses(c) == {
        "cvid": (0, 1, "introduced"),
        "complete-denuclearization": (1, 0, "dropped"),
        "denuclearization": (1, 0, "dropped"),
        "maximum-pressure": (1, 0, "dropped"),
    }
    assert moves(c) == {"denuclearization": ("complete-denuclearization", "cvid", "upgrade")}
    by_id = {d.id: d for d in c.concepts}
    assert by_id["maximum-pressure"].set_aside_old == {"other-target": 1}
    assert by_id["maximum-pressure"].set_aside_new == {"no-target": 1}
    # the rungs below CVID were replaced, not lost
    assert by_id["complete-denuclearization"].superseded and by_id["denuclearization"].superseded
    by_id = {d.id: d for d in c.concepts}
    assert by_id["cvid"].variants_new == ("complete, verifiable, and irreversible abandonment",)
    assert by_id["complete-denuclearization"].variants_old == ("complete denuclearisation",)
    assert verdict(c) == (
        "maximum-pressure dropped; cvid introduced; "
        "denuclearization ladder: complete-denuclearization → cvid (upgrade)"
    )
    # an upgrade: the lower rungs it dropped do not make it a weakening (band 2, not band 1);
    # kB = 1 + 1 + 1 + 1 (counts) + 2 (rungs risen)
    assert c.significance == pytest.approx(0.5 + 0.3 * 6 / 7)
    # ... and the reverse is a downgrade, in the top band
    back = compare_texts(load(HIROSHIMA), load(CARBIS_BAY))
    assert moves(back) == {"denuclearization": ("cvid", "complete-denuclearization", "downgrade")}
    assert verdict(back).startswith(
        "cvid dropped; denuclearization ladder: cvid → complete-denuclearization (downgrade)"
    )
    assert back.significance >= 0.8


def test_national_emergency_notices_2021_to_2022_are_near_identical() -> None:
    # Year and date, "1701-1706" -> "1701 et seq.", "App. 1-44" -> "App. 1 et seq.": four
    # sentences; no concept at all.
    c = compare_texts(load(EMERGENCY_2021), load(EMERGENCY_2022))
    assert c.concepts == ()
    assert moves(c) == {"denuclearization": (None, None, "same")}
    assert len(c.sentences.changed) == 4
    assert (c.sentences.added, c.sentences.removed, c.sentences.moved) == ((), (), ())
    assert verdict(c) == (
        "wording changed: 4 sentences changed, 0 added, 0 removed, 0 moved; concepts unchanged"
    )
    # band 4: 14 words touched (1701-1706) / 1701 *et seq.*), 1-44) / 1 *et seq.*), 2021. / 2022.,
    # 21, 2021. / 13, 2022.) of 833
    assert c.significance == pytest.approx(0.25 * 14 / (14 + 833))


def _insert_after_first_paragraph(text: str, sentence: str) -> str:
    head, sep, tail = text.partition("\n\n")
    return f"{head} {sentence}{sep}{tail}"


def test_cvid_dropped_from_a_real_statement() -> None:
    new = load(US_ROK_2022)
    old = _insert_after_first_paragraph(new, CVID_SENTENCE)
    c = compare_texts(old, new)
    assert statuses(c)["cvid"] == (1, 0, "dropped")
    assert statuses(c)["denuclearization"] == (3, 2, "decreased")
    assert statuses(c)["complete-denuclearization"] == (1, 1, "unchanged")
    assert moves(c) == {"denuclearization": ("cvid", "complete-denuclearization", "downgrade")}
    assert c.sentences.removed == (CVID_SENTENCE,)
    assert verdict(c) == (
        "cvid dropped; denuclearization ladder: cvid → complete-denuclearization (downgrade); "
        "denuclearization 3→2"
    )
    # kA = 2 rungs fallen + 1 ladder concept dropped
    assert c.significance == pytest.approx(0.8 + 0.2 * 3 / 4)


def test_korean_singapore_statement_drops_complete_denuclearization() -> None:
    old = korean_half(SINGAPORE)
    assert "한반도의 완전한 비핵화" in old
    new = old.replace("한반도의 완전한 비핵화", "한반도의 비핵화")
    c = compare_texts(old, new)
    assert statuses(c) == {
        "complete-denuclearization": (1, 0, "dropped"),
        "denuclearization": (2, 2, "unchanged"),
    }
    assert {d.id: d.variants_old for d in c.concepts}["complete-denuclearization"] == (
        "완전한 비핵화",
    )
    assert moves(c) == {
        "denuclearization": ("complete-denuclearization", "denuclearization", "downgrade")
    }
    assert verdict(c) == (
        "complete-denuclearization dropped; denuclearization ladder: "
        "complete-denuclearization → denuclearization (downgrade)"
    )
    assert c.significance == pytest.approx(0.8 + 0.2 * 2 / 3)
    [changed] = c.sentences.changed
    assert [op.text for op in changed.ops if op.kind == "removed"] == ["완전한"]


KOREAN_OLD = (
    "한미 양국 정상은 한반도의 완전한 비핵화라는 공동의 목표를 재확인하였다. "
    "양 정상은 북한의 잇따른 탄도미사일 발사가 유엔 안전보장이사회 결의의 명백한 위반이라는 데 "
    "인식을 같이하고, 국제사회의 대북 제재 이행을 촉구하였다. "
    "양 정상은 또한 확장억제의 실효성을 높이기 위해 긴밀히 공조해 나가기로 하였다."
)


def test_korean_paragraph_drops_complete_denuclearization() -> None:
    new = KOREAN_OLD.replace("한반도의 완전한 비핵화라는", "한반도의 비핵화라는")
    c = compare_texts(KOREAN_OLD, new)
    assert statuses(c) == {
        "complete-denuclearization": (1, 0, "dropped"),
        "denuclearization": (1, 1, "unchanged"),
        "extended-deterrence": (1, 1, "unchanged"),
        "maximum-pressure": (1, 1, "unchanged"),
    }
    assert moves(c)["denuclearization"][2] == "downgrade"
    assert verdict(c).startswith("complete-denuclearization dropped")


def test_other_ladders_are_configuration() -> None:
    concepts = [
        Concept("ironclad", "ironclad", ("ironclad",)),
        Concept("unwavering", "unwavering", ("unwavering",)),
        Concept("firm", "firm", ("firm",)),
    ]
    ladders = {"alliance": ["ironclad", "unwavering", "firm"]}
    old = "The President reaffirmed the ironclad U.S. commitment to the defense of the ROK."
    new = "The President reaffirmed the firm U.S. commitment to the defense of the ROK."
    c = compare(old, new, matcher=Matcher(concepts), ladders=ladders)
    assert [(m.ladder, m.old, m.new, m.move) for m in c.stance] == [
        ("alliance", "ironclad", "firm", "downgrade")
    ]
    assert verdict(c) == (
        "ironclad dropped; alliance ladder: ironclad → firm (downgrade); firm introduced"
    )
    gone = compare(old, "The President spoke.", matcher=Matcher(concepts), ladders=ladders)
    assert [(m.old, m.new, m.move) for m in gone.stance] == [("ironclad", None, "downgrade")]
    assert "alliance ladder: ironclad → none (downgrade)" in verdict(gone)


def test_concepts_follow_the_config_order() -> None:
    old = "Sanctions on North Korea stay. We seek its complete denuclearization. CVID is the goal."
    c = compare_texts(old, "")
    assert [d.id for d in c.concepts] == [
        "cvid",
        "complete-denuclearization",
        "denuclearization",
        "maximum-pressure",
    ]
    assert list(c.old.concepts) == [d.id for d in c.concepts]
    assert c.new == DocumentSide(None, 0, {})


# ---- JSON ------------------------------------------------------------------------------------------


def test_as_json_has_exactly_the_documented_shape() -> None:
    new = load(US_ROK_2022)
    c = compare_texts(
        _insert_after_first_paragraph(new, CVID_SENTENCE), new, old_title="a", new_title="b"
    )
    data = as_json(c)
    assert list(data) == list(COMPARISON_KEYS)
    assert data["summary"] == verdict(c)
    assert data["languages"] is None
    assert set(data["old"]) == set(data["new"]) == {"title", "words", "concepts"}
    assert data["old"]["title"] == "a"
    assert data["old"]["concepts"]["cvid"] == 1
    for item in data["concepts"]:
        assert list(item) == [
            "id",
            "old",
            "new",
            "status",
            "superseded",
            "variants_old",
            "variants_new",
            "set_aside",
            "evidence",
            "evidence_total",
        ]
        assert isinstance(item["variants_old"], list)
        assert set(item["set_aside"]) == {"old", "new"}
    assert data["concepts"][0] == {
        "id": "cvid",
        "old": 1,
        "new": 0,
        "status": "dropped",
        "superseded": False,
        "variants_old": ["complete, verifiable, and irreversible denuclearization"],
        "variants_new": [],
        "set_aside": {"old": {}, "new": {}},
        "evidence": [{"old": CVID_SENTENCE, "new": None}],
        "evidence_total": 1,
    }
    for q in data["qualifiers"]:
        assert list(q) == ["concept", "facet", "old", "new", "status", "old_labels", "new_labels"]
        assert q["status"] in ("kept", "changed", "introduced", "dropped")
    assert data["stance"] == [
        {
            "ladder": "denuclearization",
            "old": "cvid",
            "new": "complete-denuclearization",
            "move": "downgrade",
        }
    ]
    assert list(data["sentences"]) == ["added", "removed", "changed", "moved"]
    assert data["sentences"]["removed"] == [CVID_SENTENCE]
    assert data["sentences"]["moved"] == 0
    assert isinstance(data["significance"], float)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_as_json_of_changed_sentences() -> None:
    data = as_json(compare_texts(load(EMERGENCY_2021), load(EMERGENCY_2022)))
    assert len(data["sentences"]["changed"]) == 4
    for pair in data["sentences"]["changed"]:
        assert list(pair) == ["old", "new"]
    json.dumps(data)


# ---- significance ------------------------------------------------------------------------------

BASE = (
    "The leaders met in Seoul on Friday to discuss the alliance.\n"
    "They reaffirmed their shared goal of the complete denuclearization of the Korean Peninsula.\n"
    "They also discussed trade, supply chains and climate change.\n"
    "The two sides agreed to meet again next year in Washington."
)


def _band(score: float) -> int:
    return 0 if score == 0 else 4 if score < 0.25 else 3 if score < 0.5 else 2 if score < 0.8 else 1


def test_significance_bands_on_constructed_examples() -> None:
    wording = BASE.replace("trade, supply chains", "trade, energy security, supply chains")
    around_concept = BASE.replace("reaffirmed their shared goal", "reiterated their common goal")
    introduced = BASE + "\nThey discussed extended deterrence."
    upgrade = BASE.replace(
        "complete denuclearization", "complete, verifiable, and irreversible denuclearization"
    )
    dropped = BASE.replace("the complete denuclearization", "the denuclearization")
    downgrade_far = BASE.replace(
        "They reaffirmed their shared goal of the complete denuclearization of the Korean "
        "Peninsula.\n",
        "",
    )
    scores = [
        compare_texts(BASE, new).significance for new in (BASE, wording, around_concept, introduced)
    ]
    assert [_band(s) for s in scores] == [0, 4, 3, 2]
    assert scores == sorted(scores)
    assert _band(compare_texts(BASE, upgrade).significance) == 2  # an upgrade is a concept change
    weak = compare_texts(BASE, dropped).significance
    far = compare_texts(BASE, downgrade_far).significance
    assert _band(weak) == _band(far) == 1
    assert weak < far  # falling two rungs and dropping two concepts weighs more than one and one
    # within bands 2 and 3, more change scores higher
    introduced_twice = introduced + "\nThe extended deterrence dialogue will resume."
    assert scores[3] < compare_texts(BASE, introduced_twice).significance < 0.8
    base = BASE + "\nThey called for talks with North Korea on denuclearization."
    once = base.replace("reaffirmed their shared goal", "reiterated their common goal")
    twice = once.replace("called for talks", "urged early talks")
    assert (
        0.25
        <= compare_texts(base, once).significance
        < compare_texts(base, twice).significance
        < 0.5
    )
    assert verdict(compare_texts(BASE, around_concept)).endswith(
        "concepts unchanged (the changed sentences mention complete-denuclearization, "
        "denuclearization)"
    )


@given(st.integers(min_value=1, max_value=6))
@settings(max_examples=20, deadline=None)
def test_significance_grows_with_the_amount_of_wording(extra: int) -> None:
    def edit(n: int) -> str:
        return BASE.replace("climate change", "climate change" + " and more" * n)

    small, large = (
        compare_texts(BASE, edit(extra)).significance,
        compare_texts(BASE, edit(extra + 1)).significance,
    )
    assert 0 < small < large < 0.25


# ---- properties ------------------------------------------------------------------------------

POOL = [
    "President Biden and President Moon emphasize their shared commitment to the complete "
    "denuclearization of the Korean Peninsula.",
    CVID_SENTENCE,
    "We call on all states to fully implement these resolutions and their associated sanctions.",
    "President Biden affirms the U.S. extended deterrence commitment to the ROK.",
    "The two Presidents deeply appreciate the recent accomplishments of the Alliance.",
    "Both leaders agree to initiate discussions to expand combined military exercises.",
    "The United States remains committed to arms control and risk reduction.",
    "양 정상은 한반도의 완전한 비핵화라는 공동의 목표를 재확인하였다.",
    "양 정상은 북한 비핵화를 위한 대화의 문이 열려 있음을 강조하였다.",
    "This notice shall be published in the Federal Register and transmitted to the Congress.",
]
documents = st.lists(st.sampled_from(POOL), max_size=8).map(" ".join)
MIRROR = {
    "dropped": "introduced",
    "introduced": "dropped",
    "increased": "decreased",
    "decreased": "increased",
    "unchanged": "unchanged",
    "downgrade": "upgrade",
    "upgrade": "downgrade",
    "same": "same",
}


def _no_change(c: Comparison) -> None:
    assert c.significance == 0
    assert verdict(c) == "no change"
    assert all(d.status == "unchanged" for d in c.concepts)
    assert all(m.move == "same" for m in c.stance)
    assert c.old.concepts == c.new.concepts


@given(st.one_of(documents, st.text(max_size=300)))
@settings(deadline=None)
def test_a_text_against_itself_is_no_change(text: str) -> None:
    c = compare_texts(text, text)
    _no_change(c)
    assert c.sentences == SentenceDiff()


@given(documents, documents)
@settings(deadline=None)
def test_swapping_sides_mirrors_every_status_and_move(a: str, b: str) -> None:
    forth, back = compare_texts(a, b), compare_texts(b, a)
    assert [(d.id, d.old, d.new, MIRROR[d.status]) for d in forth.concepts] == [
        (d.id, d.new, d.old, d.status) for d in back.concepts
    ]
    assert [(d.variants_old, d.variants_new) for d in forth.concepts] == [
        (d.variants_new, d.variants_old) for d in back.concepts
    ]
    assert [(m.ladder, m.old, m.new, MIRROR[m.move]) for m in forth.stance] == [
        (m.ladder, m.new, m.old, m.move) for m in back.stance
    ]
    assert (forth.old, forth.new) == (back.new, back.old)


@given(
    st.lists(st.sampled_from(POOL), unique=True).map(" ".join),
    st.integers(min_value=30, max_value=100),
    st.sampled_from(["\n", " \n", "\n  ", "  \n"]),
)
@settings(deadline=None)
def test_reflowing_changes_nothing(text: str, width: int, newline: str) -> None:
    reflowed = newline.join(textwrap.wrap(text, width, break_on_hyphens=False))
    _no_change(compare_texts(text, reflowed))


def _rewrap(text: str, width: int | None) -> str:
    """`text` with each paragraph on one line (width None) or re-wrapped at `width`."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    if width is not None:
        paragraphs = [textwrap.fill(p, width, break_on_hyphens=False) for p in paragraphs]
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("path", [US_ROK_2022, EMERGENCY_2021, EMERGENCY_2022])
@pytest.mark.parametrize("width", [None, 50, 100])
def test_reflowing_a_real_document_changes_nothing(path: Path, width: int | None) -> None:
    _no_change(compare_texts(load(path), _rewrap(load(path), width)))


def test_reflowing_a_date_range_at_a_line_start_changes_nothing() -> None:
    _no_change(compare_texts(load(US_ROK_2021), _rewrap(load(US_ROK_2021), None)))


BOILERPLATE = [
    "ADVERTISEMENT: Sign up for the NK Sanctions Weekly, our newsletter on denuclearization.",
    "ADVERTISEMENT: Related articles: CVID explained in five charts",
    "ADVERTISEMENT: 관련 기사: 비핵화 협상의 모든 것",
]
IGNORE = [re.compile(r"^ADVERTISEMENT:.*$", re.MULTILINE)]


@given(
    st.lists(st.sampled_from(POOL), max_size=8),
    st.lists(st.tuples(st.integers(0, 8), st.sampled_from(BOILERPLATE)), max_size=4),
)
@settings(deadline=None)
def test_ignore_rules_remove_injected_boilerplate(
    sentences: list[str], ads: list[tuple[int, str]]
) -> None:
    noisy = list(sentences)
    for where, ad in ads:
        noisy.insert(where, ad)
    _no_change(compare_texts("\n\n".join(sentences), "\n\n".join(noisy), ignore=IGNORE))


def test_ignore_rules_on_a_real_document() -> None:
    text = load(US_ROK_2022)
    ad = "\n\nADVERTISEMENT: Related articles: CVID and sanctions, explained\n\n"
    noisy = text.replace("\n\n", ad, 3)
    _no_change(compare_texts(text, noisy, ignore=IGNORE))
    # without the rule the boilerplate would count
    assert compare_texts(text, noisy).significance >= 0.5


def test_a_korean_and_an_english_text_are_compared_by_concepts_and_facets_not_words() -> None:
    korean, english = korean_half(SINGAPORE), english_half(SINGAPORE)
    c = compare_texts(korean, english)
    assert c.languages == ("ko", "en")
    assert c.sentences == SentenceDiff()  # a translation is never "every sentence changed"
    by_id = {d.id: d for d in c.concepts}
    assert (by_id["complete-denuclearization"].old, by_id["complete-denuclearization"].new) == (
        1,
        1,
    )
    # this copy misspells one English "denuclarization": the one divergence, in one line
    assert verdict(c) == (
        "translation (Korean / English): denuclearization: Korean text 2, English text 1"
    )
    objects = {q.concept: (q.old, q.new) for q in c.qualifiers}
    assert objects["complete-denuclearization"] == (("korean-peninsula",), ("korean-peninsula",))
    data = as_json(c)
    assert data["languages"] == ["ko", "en"] and data["sentences"]["changed"] == []
    # an object that differs between the two texts is named per language
    shifted = compare_texts(korean, english.replace("of the Korean Peninsula", "of the DPRK"))
    assert (
        "complete-denuclearization object: Korean text: Korean Peninsula; English text: DPRK"
        in (verdict(shifted))
    )


# ---- the comparison as JSON and back -----------------------------------------------------------


def _through_json(c: Comparison) -> Comparison:
    """The comparison as the store keeps it and reads it back."""
    return Comparison.from_json(json.loads(json.dumps(as_json(c), ensure_ascii=False)))


def as_read_back(c: Comparison) -> Comparison:
    """What of `c` its JSON holds (see Comparison.from_json): no word operations, facet labels or
    `own`, and how many sentences moved, not which; the verdict as a string."""
    return replace(
        c,
        concepts=tuple(
            replace(d, evidence=tuple(Evidence(e.old, e.new) for e in d.evidence))
            for d in c.concepts
        ),
        qualifiers=tuple(replace(q, facet_label="", own=True) for q in c.qualifiers),
        sentences=replace(
            c.sentences,
            changed=tuple(ChangedSentence(x.old, x.new, ()) for x in c.sentences.changed),
            moved=("",) * len(c.sentences.moved),
        ),
        summary=verdict(c) if c.summary is None else c.summary,
    )


CORPUS = sorted(p for p in (DOCS / "whitehouse-briefings").rglob("*.md"))


@pytest.mark.parametrize("pair", list(itertools.pairwise(CORPUS))[:12])
def test_a_real_comparison_survives_json(pair: tuple[Path, Path]) -> None:
    c = compare_texts(load(pair[0]), load(pair[1]), old_title=pair[0].stem, new_title="new")
    back = _through_json(c)
    assert as_json(back) == as_json(c)
    assert back == as_read_back(c)


@given(documents, documents)
@settings(deadline=None)
def test_a_generated_comparison_survives_json(a: str, b: str) -> None:
    c = compare_texts(a, b)
    back = _through_json(c)
    assert as_json(back) == as_json(c)
    assert back == as_read_back(c)
    assert as_json(_through_json(back)) == as_json(c)


_words = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_ids = st.sampled_from(("cvid", "ffvd", "complete-denuclearization", "sanctions", "x"))
_maybe = st.one_of(st.none(), _ids)
_deltas = st.builds(
    ConceptDelta,
    id=_ids,
    old=st.integers(0, 9),
    new=st.integers(0, 9),
    status=st.sampled_from(CONCEPT_STATUSES),
    variants_old=st.lists(_words, max_size=2).map(tuple),
    variants_new=st.lists(_words, max_size=2).map(tuple),
    set_aside_old=st.dictionaries(st.sampled_from(("negated", "reported")), st.integers(1, 5)),
    set_aside_new=st.dictionaries(st.sampled_from(("negated", "excluded")), st.integers(1, 5)),
    evidence=st.lists(st.builds(Evidence, st.one_of(st.none(), _words), _words), max_size=2).map(
        tuple
    ),
    evidence_total=st.integers(0, 9),
    superseded=st.booleans(),
)
_comparisons = st.builds(
    Comparison,
    old=st.builds(DocumentSide, st.one_of(st.none(), _words), st.integers(0, 999), st.just({})),
    new=st.builds(
        DocumentSide,
        st.one_of(st.none(), _words),
        st.integers(0, 999),
        st.dictionaries(_ids, st.integers(1, 9)),
    ),
    concepts=st.lists(_deltas, max_size=3).map(tuple),
    stance=st.lists(
        st.builds(StanceMove, _words, _maybe, _maybe, st.sampled_from(MOVES)), max_size=2
    ).map(tuple),
    sentences=st.builds(
        SentenceDiff,
        added=st.lists(_words, max_size=2).map(tuple),
        removed=st.lists(_words, max_size=2).map(tuple),
        changed=st.lists(st.builds(ChangedSentence, _words, _words, st.just(())), max_size=2).map(
            tuple
        ),
        moved=st.integers(0, 3).map(lambda n: ("",) * n),
    ),
    significance=st.floats(0, 1),
    qualifiers=st.lists(
        st.builds(
            Qualifier,
            _ids,
            _words,
            st.lists(_words, max_size=2).map(tuple),
            st.lists(_words, max_size=2).map(tuple),
            st.sampled_from(QUALIFIER_STATUSES),
            st.lists(_words, max_size=2).map(tuple),
            st.lists(_words, max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
    languages=st.one_of(st.none(), st.just(("ko", "en"))),
    summary=_words,
)


@given(_comparisons)
@settings(deadline=None)
def test_any_comparison_survives_json(c: Comparison) -> None:
    assert _through_json(c) == c
    assert as_json(_through_json(c)) == as_json(c)


def test_a_misspelt_status_is_refused_where_it_is_read() -> None:
    stored = as_json(compare_texts(CVID_SENTENCE, ""))
    stored["concepts"][0]["status"] = "droped"
    with pytest.raises(ValueError, match="droped"):
        Comparison.from_json(stored)


def test_every_comparison_the_demo_stored_reads_back_as_compare_made_it(tmp_path: Path) -> None:
    """The demo run's changes, read back typed, equal what compare makes of their two versions
    now (and their JSON is what compare's JSON is)."""
    run_demo(tmp_path, lambda line: None)
    settings = demo_settings("http://127.0.0.1:1", tmp_path / "monitor.db")
    with store.open_db(tmp_path / "monitor.db") as db:
        # and the corpus's three strategies as editions of a series: successions and a baseline
        nss = SETTINGS.series_by_id("nss")
        for path in sorted((DOCS / "nss-series").glob("*.txt")):
            year = int(path.name[:4])
            add_file(settings, db, path, series=nss, published=datetime(year, 1, 1, tzinfo=UTC))
        rows = db.execute(
            "SELECT c.comparison, ov.text, nv.text, ov.title, nv.title, d.source "
            "FROM changes c JOIN versions ov ON ov.id = c.old_version_id "
            "JOIN versions nv ON nv.id = c.version_id JOIN documents d ON d.id = c.document_id"
        ).fetchall()
    assert len(rows) >= 3
    sources = {s.name: s for s in settings.sources}
    for stored, old, new, old_title, new_title, source in rows:
        made = compare(
            old,
            new,
            matcher=matcher(settings.lexicon()),
            ladders=settings.ladders,
            old_title=old_title,
            new_title=new_title,
            ignore=sources[source].ignore_patterns() if source in sources else (),
        )
        assert Comparison.from_json(json.loads(stored)) == as_read_back(made)
        assert json.loads(stored) == as_json(made)
