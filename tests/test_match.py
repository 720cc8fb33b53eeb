"""monitor.analysis.match: concept matching on real English and Korean text, with original offsets."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.analysis.match import Matcher
from monitor.analysis.text import sentence_at, tidy
from monitor.errors import ConfigError
from monitor.models import Concept, Mention

DOCS = Path(__file__).parent / "data" / "docs"
WH = DOCS / "whitehouse-briefings"
US_ROK_2021 = WH / "statements-releases/2021-05/2021-05-21-u-s-rok-leaders-joint-statement.md"
CARBIS_BAY = WH / "statements-releases/2021-06/2021-06-13-carbis-bay-g7-summit-communique.md"
HIROSHIMA = WH / "statements-releases/2023-05/2023-05-20-g7-hiroshima-leaders-communique.md"
YOON_2022 = (
    WH / "speeches-remarks/2022-05/2022-05-21-remarks-by-president-biden-and-president-"
    "yoon-suk-yeol-of-the-republic-of-korea-in-joint-press-conference.md"
)
SINGAPORE = DOCS / "singapore-2018/singapore_joint_statement_2018-06-12_en-ko_jinyiabc.md"
NSS_2002 = DOCS / "nss-series/2002_national_security_strategy.txt"

CONCEPTS = (
    Concept(
        "cvid",
        "CVID / PVID",
        (
            "complete, verifiable, and irreversible denucleari*",
            "complete, verifiable, irreversible denucleari*",
            "complete, verifiable, and irreversible dismantlement",
            "complete, verifiable, and irreversible abandonment",
            "permanent, verifiable, irreversible dismantlement",
            "CVID",
            "PVID",
            "완전하고 검증 가능하며 불가역적인 비핵화",
        ),
        "high",
    ),
    Concept(
        "ffvd",
        "FFVD",
        ("final, fully verified denucleari*", "FFVD", "최종적이고 완전히 검증된 비핵화"),
        "high",
    ),
    Concept(
        "complete-denuclearization",
        "complete denuclearization",
        ("complete denucleari*", "완전한 비핵화", "완전한 한반도 비핵화"),
        "high",
    ),
    Concept("denuclearization", "denuclearization (any)", ("denucleari*", "비핵화")),
    Concept(
        "arms-control",
        "arms control and coexistence",
        (
            "arms control",
            "peaceful coexistence",
            "freeze",
            "freeze-for-freeze",
            "step-by-step",
            "action for action",
            "군비통제",
            "평화적 공존",
            "동결",
            "행동 대 행동",
        ),
    ),
    Concept(
        "extended-deterrence",
        "extended deterrence",
        (
            "extended deterrence",
            "nuclear umbrella",
            "Nuclear Consultative Group",
            "NCG",
            "Washington Declaration",
            "확장억제",
            "핵우산",
            "핵협의그룹",
            "워싱턴 선언",
        ),
    ),
    Concept(
        "maximum-pressure",
        "pressure and sanctions",
        ("maximum pressure", "sanctions relief", "sanction*", "최대 압박", "제재"),
    ),
    Concept(
        "nuclear-status",
        "nuclear status",
        ("nuclear weapons state", "nuclear state", "irreversible nuclear status", "핵보유국"),
        "high",
    ),
)
MATCHER = Matcher(CONCEPTS)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def found(text: str, concept: str | None = None) -> list[Mention]:
    return [m for m in MATCHER.find(text) if concept is None or m.concept == concept]


def variants(text: str, concept: str) -> list[str]:
    return [m.variant for m in found(text, concept)]


# ---- English variants ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "the complete, verifiable, and irreversible denuclearization of North Korea",
        "the complete, verifiable and irreversible denuclearization of North Korea",
        "the complete, verifiable, irreversible denuclearization of North Korea",
        "the Complete, Verifiable, and Irreversible Denuclearization of North Korea",
        "the COMPLETE, VERIFIABLE AND IRREVERSIBLE DENUCLEARIZATION OF NORTH KOREA",
        "the complete, verifiable and irreversible denuclearisation of North Korea",
        "to completely? no: the “complete, verifiable, and irreversible denuclearization”",
        "the complete,\nverifiable, and irreversible denuclear-\nization of North Korea",
        "the complete, verifi-\nable, and irreversible denuclearization of North Korea",
        "the complete,\u00a0verifiable,\u00a0and irreversible\u200b denuclearization",
        "the complete ,  verifiable ,\tand irreversible denuclearization",
        "we will completely, verifiably and irreversibly — no: complete, verifiable and "
        "irreversible denuclearization",
        "CVID를 요구했다",
        "they want CVID.",
    ],
)
def test_cvid_english_variants(text: str) -> None:
    assert MATCHER.concepts_in(text).get("cvid") == 1


@pytest.mark.parametrize(
    ("text", "variant"),
    [
        ("North Korea must denuclearize.", "denuclearize"),
        ("Denuclearizing the peninsula.", "Denuclearizing"),
        ("a denuclearized Korean peninsula", "denuclearized"),
        ("the DENUCLEARISATION of the DPRK", "DENUCLEARISATION"),
        ("complete denuclear-\nisation", "denuclearisation"),
        ("North Korea’s denuclearization’s costs", "denuclearization"),
        ("a denuclearizationist", "denuclearizationist"),
        ("the de\u00adnu\u00adcle\u00adar\u00adi\u00adza\u00adtion", "denuclearization"),
    ],
)
def test_prefix_patterns_report_the_whole_word(text: str, variant: str) -> None:
    assert variants(text, "denuclearization") == [variant]


def test_dash_and_hyphen_variants() -> None:
    text = "freeze-for-freeze, freeze–for–freeze, freeze — for — freeze and freeze for freeze"
    assert variants(text, "arms-control") == [
        "freeze-for-freeze",
        "freeze–for–freeze",
        "freeze — for — freeze",
        "freeze for freeze",
    ]
    assert MATCHER.concepts_in("a step–by–step approach, then step by step")["arms-control"] == 2


def test_curly_apostrophes_match_straight_ones() -> None:
    concept = Concept("dprk", "DPRK", ("Democratic People's Republic of Korea",))
    matcher = Matcher([concept])
    text = "the Democratic People’s Republic of Korea and the Democratic People's Republic of Korea"
    assert [m.variant for m in matcher.find(text)] == [
        "Democratic People’s Republic of Korea",
        "Democratic People's Republic of Korea",
    ]
    assert matcher.find("the Democratic Peoples Republic of Korea") == []


def test_single_quotes_around_words_are_separators() -> None:
    text = "Pyongyang insists on its 'irreversible' nuclear status."
    assert variants(text, "nuclear-status") == ["irreversible' nuclear status"]


# ---- word boundaries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a freezer in the kitchen",
        "the antifreeze",
        "farms controller",
        "armscontrol",
        "the NCGs met",
        "ANCGX",
        "incomplete",
        "CVIDS",
        "the unsanctioned trade",
    ],
)
def test_no_match_inside_unrelated_words(text: str) -> None:
    assert MATCHER.find(text) == []


def test_prefix_patterns_match_any_word_they_begin() -> None:
    assert variants("sanctions, sanctioned, sanctionless", "maximum-pressure") == [
        "sanctions",
        "sanctioned",
        "sanctionless",
    ]
    assert variants("incomplete denuclearization", "denuclearization") == ["denuclearization"]


def test_ascii_term_next_to_hangul_or_punctuation_matches() -> None:
    text = "CVID를 요구했다. (NCG) and NCG's first meeting; 'freeze'"
    assert MATCHER.concepts_in(text) == {"cvid": 1, "extended-deterrence": 2, "arms-control": 1}


# ---- Korean ------------------------------------------------------------------------------------


@pytest.mark.parametrize("particle", ["", "를", "는", "에", "가", "의", "와", "로", "에서"])
def test_korean_terms_match_with_particles(particle: str) -> None:
    text = f"북한의 비핵화{particle} 논의했다"
    mentions = found(text, "denuclearization")
    assert [m.variant for m in mentions] == ["비핵화"]
    assert text[mentions[0].start : mentions[0].end] == "비핵화"


@pytest.mark.parametrize(
    "text",
    [
        "한반도의 완전한 비핵화를 위해",
        "한반도의 완전한비핵화를 위해",
        "한반도의 완전한  비핵화를 위해",
        "한반도의 완전한\n비핵화를 위해",
        unicodedata.normalize("NFD", "한반도의 완전한 비핵화를 위해"),
    ],
)
def test_korean_spacing_variants(text: str) -> None:
    assert MATCHER.concepts_in(text) == {"complete-denuclearization": 1, "denuclearization": 1}


def test_korean_cvid_with_or_without_spaces() -> None:
    spaced = "완전하고 검증 가능하며 불가역적인 비핵화는 목표다"
    joined = "완전하고 검증가능하며 불가역적인 비핵화를 요구했다"
    assert variants(spaced, "cvid") == ["완전하고 검증 가능하며 불가역적인 비핵화"]
    assert variants(joined, "cvid") == ["완전하고 검증가능하며 불가역적인 비핵화"]


def test_text_may_split_a_korean_term_only_into_two_syllables_or_more() -> None:
    assert variants("대북 군비 통제를 논의", "arms-control") == ["군비 통제"]
    assert variants("핵협의 그룹 회의", "extended-deterrence") == ["핵협의 그룹"]
    assert variants("행동 대 행동 원칙, 행동대행동", "arms-control") == [
        "행동 대 행동",
        "행동대행동",
    ]
    assert "arms-control" not in MATCHER.concepts_in("운동 결과와 행동 결정")
    assert variants("핵 동결을", "arms-control") == ["동결"]


def test_nfd_hangul_offsets_quote_the_original_jamo() -> None:
    text = unicodedata.normalize("NFD", "북한은 한반도의 완전한 비핵화를 위해 노력한다.")
    (mention,) = found(text, "denuclearization")
    assert text[mention.start : mention.end] == unicodedata.normalize("NFD", "비핵화")
    assert mention.sentence == text


# ---- offsets, variants and sentences quote the original -----------------------------------------


def test_offsets_and_sentences_quote_the_original() -> None:
    text = (
        "Leaders met in Seoul.  They urged the “complete,\nverifiable, and irreversible\n"
        "denuclear-\nization” of the DPRK.   Talks follow."
    )
    mentions = found(text)
    assert [(m.concept, m.variant) for m in mentions] == [
        ("cvid", "complete, verifiable, and irreversible denuclearization"),
        ("denuclearization", "denuclearization"),
    ]
    cvid, denuc = mentions
    assert text[cvid.start : cvid.end] == (
        "complete,\nverifiable, and irreversible\ndenuclear-\nization"
    )
    assert text[denuc.start : denuc.end] == "denuclear-\nization"
    expected = (
        "They urged the “complete, verifiable, and irreversible denuclearization” of the DPRK."
    )
    assert cvid.sentence == denuc.sentence == expected


def test_mentions_are_sorted_and_sentences_come_from_sentence_at() -> None:
    text = read(YOON_2022)
    mentions = MATCHER.find(text)
    assert [m.start for m in mentions] == sorted(m.start for m in mentions)
    for m in mentions:
        start, end = sentence_at(text, m.start)
        assert m.sentence == tidy(text[start:end])
        assert m.variant == tidy(text[m.start : m.end])
        assert start <= m.start < m.end <= end


# ---- counting ------------------------------------------------------------------------------------


def test_each_concept_counts_independently() -> None:
    text = "We seek the complete, verifiable, and irreversible denuclearization of North Korea."
    assert MATCHER.concepts_in(text) == {"cvid": 1, "denuclearization": 1}
    text = "We seek the complete denuclearization of North Korea."
    assert MATCHER.concepts_in(text) == {"complete-denuclearization": 1, "denuclearization": 1}


def test_overlapping_patterns_of_one_concept_count_once_longest_wins() -> None:
    concept = Concept(
        "kp",
        "complete denuclearization of the Korean Peninsula",
        ("complete denucleari*", "complete denuclearization of the Korean Peninsula", "Korean"),
    )
    matcher = Matcher([concept, Concept("korea", "Korea", ("Korean Peninsula",))])
    text = "the complete denuclearization of the Korean Peninsula, and complete denuclearization"
    assert [(m.concept, m.variant) for m in matcher.find(text)] == [
        ("kp", "complete denuclearization of the Korean Peninsula"),
        ("korea", "Korean Peninsula"),
        ("kp", "complete denuclearization"),
    ]
    assert matcher.concepts_in(text) == {"kp": 2, "korea": 1}


def test_matches_any_and_empty_matchers() -> None:
    assert MATCHER.matches_any("Yoon, Biden reaffirm extended deterrence")
    assert MATCHER.matches_any("북한 비핵화 협상 재개")
    assert not MATCHER.matches_any("Seoul weather: a freezer-cold morning")
    empty = Matcher([])
    assert empty.find("CVID") == [] and empty.concepts_in("CVID") == {}
    assert not empty.matches_any("CVID")
    assert MATCHER.find("") == []


@pytest.mark.parametrize("pattern", ["", "   ", "*", "de*nuclear", ", -"])
def test_bad_patterns_are_config_errors(pattern: str) -> None:
    with pytest.raises(ConfigError, match=r"is empty or has a \* before its end"):
        Matcher([Concept("bad", "bad", (pattern,))])


# ---- real documents (counts as in corpus/MANIFEST.md) ------------------------------------------


def test_us_rok_joint_statement_2021() -> None:
    # MANIFEST: "complete denuclearization" 2, "... of the Korean Peninsula" 1,
    # any "denucleariz-" 2, "extended deterrence" 1.
    text = read(US_ROK_2021)
    counts = MATCHER.concepts_in(text)
    assert counts["complete-denuclearization"] == 2
    assert counts["denuclearization"] == 2
    assert counts["extended-deterrence"] == 1
    assert "cvid" not in counts
    kp = Matcher([Concept("kp", "kp", ("complete denuclearization of the Korean Peninsula",))])
    assert kp.concepts_in(text) == {"kp": 1}
    (first, _) = found(text, "complete-denuclearization")
    assert first.sentence.startswith("President Biden and President Moon emphasize their shared")
    assert text[first.start : first.end] == "complete denuclearization"


def test_hiroshima_communique_has_the_long_form_with_abandonment() -> None:
    # MANIFEST: CVID long form with another object: 1 (abandonment); no "denucleariz-".
    text = read(HIROSHIMA)
    counts = MATCHER.concepts_in(text)
    assert counts["cvid"] == 1
    assert "denuclearization" not in counts and "complete-denuclearization" not in counts
    (cvid,) = found(text, "cvid")
    assert cvid.variant == "complete, verifiable, and irreversible abandonment"
    assert text[cvid.start : cvid.end] == "complete, verifiable, and irreversible abandonment"
    assert cvid.sentence.startswith("We reiterate our unwavering commitment to the goal of North")
    assert cvid.sentence.endswith("in accordance with relevant UNSCRs.")


def test_carbis_bay_communique_uses_british_spelling() -> None:
    # MANIFEST: "complete denuclearization" 1 (as "denuclearisation"), any "denucleariz-" 1.
    text = read(CARBIS_BAY)
    assert variants(text, "complete-denuclearization") == ["complete denuclearisation"]
    assert variants(text, "denuclearization") == ["denuclearisation"]
    assert "cvid" not in MATCHER.concepts_in(text)


def test_yoon_biden_press_conference_2022() -> None:
    # MANIFEST: "complete denuclearization" 2, any "denucleariz-" 6, "extended deterrence" 6.
    text = read(YOON_2022)
    counts = MATCHER.concepts_in(text)
    assert counts["complete-denuclearization"] == 2
    assert counts["denuclearization"] == 6
    assert Counter(variants(text, "denuclearization")) == {
        "denuclearization": 5,
        "denuclearizing": 1,
    }
    assert Counter(variants(text, "extended-deterrence")) == {
        "extended deterrence": 6,
        "nuclear umbrella": 1,
    }


def test_singapore_statement_in_english_and_korean() -> None:
    # MANIFEST (English only): "complete denuclearization of the Korean Peninsula" 1, any
    # "denucleariz-" 1 (the first paragraph misspells it "denuclarization"). The Korean
    # translation adds 한반도 비핵화를 and 완전한 비핵화를.
    text = read(SINGAPORE)
    assert variants(text, "complete-denuclearization") == [
        "complete denuclearization",
        "완전한 비핵화",
    ]
    assert variants(text, "denuclearization") == ["비핵화", "denuclearization", "비핵화"]
    korean = [m for m in found(text, "denuclearization") if m.variant == "비핵화"]
    assert korean[1].sentence == (
        "(3. 2018년 4월27일 판문점 선언을 재확인하며, 북한은 한반도의 완전한 비핵화를 위해 노력한다.)"
    )


def test_ocr_nss_2002_has_no_denuclearization() -> None:
    text = read(NSS_2002)
    counts = MATCHER.concepts_in(text)
    assert not {"cvid", "complete-denuclearization", "denuclearization"} & set(counts)


# ---- properties ----------------------------------------------------------------------------------

PHRASES = st.sampled_from(
    [
        "complete, verifiable, and irreversible denuclearization",
        "complete, verifiable and irreversible denuclearisation",
        "complete denuclearization",
        "denuclearize",
        "extended deterrence",
        "the NCG",
        "freeze-for-freeze",
        "sanctions relief",
        "한반도의 완전한 비핵화를",
        "군비통제와",
        "확장억제",
        "the U.S.",
        "North Korea",
        "agreed.",
        "a freezer",
        "운동",
        "결과",
    ]
)
GAPS = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", "\u00a0", " \n  ", "\n\n", "\u200b "])


@given(st.lists(st.tuples(PHRASES, GAPS, GAPS), min_size=1, max_size=25))
def test_counts_do_not_depend_on_line_breaks_or_spacing(parts: list[tuple[str, str, str]]) -> None:
    one = "".join(phrase + gap for phrase, gap, _ in parts)
    other = "".join(phrase.replace(" ", gap) + gap for phrase, _, gap in parts)
    assert MATCHER.concepts_in(one) == MATCHER.concepts_in(other)


@given(st.lists(st.tuples(PHRASES, GAPS), min_size=1, max_size=25))
def test_every_mention_is_found_again_in_its_own_span(parts: list[tuple[str, str]]) -> None:
    text = "".join(phrase + gap for phrase, gap in parts)
    mentions = MATCHER.find(text)
    assert MATCHER.matches_any(text) == bool(mentions)
    assert Counter(m.concept for m in mentions) == MATCHER.concepts_in(text)
    for m in mentions:
        assert m.concept in MATCHER.concepts_in(text[m.start : m.end])
        assert m.variant in m.sentence
