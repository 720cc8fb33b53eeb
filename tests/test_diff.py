"""monitor.analysis.diff: sentence diffs of real policy texts that ignore reflow, typography and furniture."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from random import Random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.analysis.diff import diff, sentence_key, strip_ignored
from monitor.analysis.text import sentences, tidy
from monitor.models import ChangedSentence, SentenceDiff, WordOp

DOCS = Path(__file__).parent / "data" / "docs"
WH = DOCS / "whitehouse-briefings"
NOTICES = WH / "presidential-actions"
NOTICE_2021 = (
    NOTICES / "2021-06" / "2021-06-21-notice-on-the-continuation-of-the-national-emergency-with"
    "-respect-to-north-korea.md"
)
NOTICE_2022 = (
    NOTICES / "2022-06" / "2022-06-13-notice-on-the-continuation-of-the-national-emergency-with"
    "-respect-to-north-korea-2.md"
)
ROK_2021 = WH / "statements-releases" / "2021-05" / "2021-05-21-u-s-rok-leaders-joint-statement.md"
G7_2023 = WH / "statements-releases" / "2023-05" / "2023-05-20-g7-hiroshima-leaders-communique.md"
CARBIS_BAY = (
    WH / "statements-releases" / "2021-06" / "2021-06-13-carbis-bay-g7-summit-communique.md"
)
NSS_2002 = DOCS / "nss-series" / "2002_national_security_strategy.txt"
SINGAPORE = DOCS / "singapore-2018" / "singapore_joint_statement_2018-06-12_en-ko_jinyiabc.md"
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def body(path: Path) -> str:
    """The text of a corpus file without its YAML front matter (the lead loads Markdown)."""
    return FRONT_MATTER.sub("", path.read_text(encoding="utf-8"), count=1)


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def mirrored(forward: SentenceDiff, backward: SentenceDiff) -> bool:
    return (
        forward.added == backward.removed
        and forward.removed == backward.added
        and [(c.old, c.new) for c in forward.changed] == [(c.new, c.old) for c in backward.changed]
        and len(forward.moved) == len(backward.moved)
    )


def changes(result: SentenceDiff) -> list[tuple[str, str]]:
    """The non-"same" word ops of each changed sentence."""
    return [(op.kind, op.text) for c in result.changed for op in c.ops if op.kind != "same"]


def one_change(path: Path, old: str, new: str) -> list[tuple[str, str]]:
    """Replace `old` by `new` in the text of `path`: the diff changes one sentence, whose ops
    check_ops checks; its changed words, as `changes` gives them."""
    text = body(path)
    result = diff(text, edit(text, old, new))
    [change] = result.changed
    check_ops(change)
    return changes(result)


# ---- word ops ---------------------------------------------------------------------------------


def check_ops(change: ChangedSentence) -> None:
    """Ops reconstruct both sentences, alternate, and are never empty."""
    old = [op.text for op in change.ops if op.kind in ("same", "removed")]
    new = [op.text for op in change.ops if op.kind in ("same", "added")]
    assert " ".join(old) == change.old
    assert " ".join(new) == change.new
    assert all(op.text and op.kind in ("same", "removed", "added") for op in change.ops)
    kinds = [op.kind for op in change.ops]
    assert all(a != b for a, b in pairwise(kinds))


def test_swapped_words_are_exactly_the_ops() -> None:
    text = body(ROK_2021)
    new = edit(
        text,
        "the complete denuclearization of the Korean Peninsula and their",  # after "to\u00a0"
        "the complete denuclearization of the DPRK and their",
    )
    result = diff(text, new)
    assert (result.added, result.removed, result.moved) == ((), (), ())
    [change] = result.changed
    assert change.old.startswith("President Biden and President Moon emphasize their shared")
    assert change.old.endswith("nuclear and ballistic missile programs.")
    before, removed, added, after = change.ops
    assert before == WordOp("same", before.text)
    assert before.text.endswith("commitment to the complete denuclearization of the")
    assert (removed, added) == (WordOp("removed", "Korean Peninsula"), WordOp("added", "DPRK"))
    assert after == WordOp("same", after.text)
    assert after.text.startswith("and their intent to address")
    check_ops(change)


def test_a_sentence_final_word_keeps_its_stop() -> None:
    old, new = (
        "complete denuclearization of the Korean Peninsula.",
        "complete denuclearization of the DPRK.",
    )
    assert one_change(SINGAPORE, old, new) == [("removed", "Korean Peninsula."), ("added", "DPRK.")]


def test_korean_statement_dropping_complete() -> None:
    text = body(SINGAPORE)
    new = edit(text, "북한은 한반도의 완전한 비핵화를", "북한은 한반도의 비핵화를")
    result = diff(text, new)
    assert (result.added, result.removed, result.moved) == ((), (), ())
    [change] = result.changed
    assert (
        change.old
        == "(3. 2018년 4월27일 판문점 선언을 재확인하며, 북한은 한반도의 완전한 비핵화를 위해 노력한다.)"
    )
    assert changes(result) == [("removed", "완전한")]
    check_ops(change)


def test_korean_spacing_and_a_reworded_korean_sentence() -> None:
    text = body(SINGAPORE)
    # Korean spacing (띄어쓰기) varies between versions: it is no change
    respaced = edit(text, "미국과 북한은 한반도에", "미국과 북한은 한반도 에")
    assert diff(text, respaced) == SentenceDiff()
    new = edit(text, "함께 노력한다.)", "긴밀히 협력한다.)")
    assert changes(diff(text, new)) == [
        ("removed", "함께 노력한다.)"),
        ("added", "긴밀히 협력한다.)"),
    ]


def test_words_differing_only_in_punctuation_are_replaced_to_keep_ops_exact() -> None:
    old, new = (
        "the U.S. commitment to provide extended deterrence",
        "the US commitment to provide deterrence",
    )
    assert one_change(ROK_2021, old, new) == [
        ("removed", "U.S."),
        ("added", "US"),
        ("removed", "extended"),
    ]


# ---- real documents ---------------------------------------------------------------------------


def test_national_emergency_notices_2021_and_2022_differ_in_four_sentences() -> None:
    result = diff(body(NOTICE_2021), body(NOTICE_2022))
    assert (result.added, result.removed, result.moved) == ((), (), ())
    assert [(c.old[:40], c.new[:40]) for c in result.changed] == [
        ("On June 26, 2008, by Executive Order 134", "On June 26, 2008, by Executive Order 134"),
        # "(50 U.S.C. App. 1-44)" stays inside its sentence: "App." before a number is a citation.
        ("The President also found that it was nec", "The President also found that it was nec"),
        ("For this reason, the national emergency ", "For this reason, the national emergency "),
        ("THE WHITE HOUSE, June 21, 2021.", "THE WHITE HOUSE, June 13, 2022."),
    ]
    assert changes(result) == [
        ("removed", "1701-1706)"),
        ("added", "1701 *et seq.*)"),
        ("removed", "1-44)"),
        ("added", "1 *et seq.*)"),
        ("removed", "2021."),
        ("added", "2022."),
        ("removed", "21, 2021."),
        ("added", "13, 2022."),
    ]
    # "weapons‑usable" (U+2011) became "weapons-usable", "nuclear test\nof" was re-wrapped and
    # "JR." gained a trailing space: none of these is a change.
    for change in result.changed:
        check_ops(change)
    assert mirrored(result, diff(body(NOTICE_2022), body(NOTICE_2021)))


@pytest.mark.parametrize("path", [NOTICE_2021, ROK_2021, G7_2023, CARBIS_BAY, NSS_2002, SINGAPORE])
def test_a_document_against_itself_is_no_change(path: Path) -> None:
    text = body(path)
    assert diff(text, text) == SentenceDiff()
    assert diff(text, text + "\n") == SentenceDiff()  # not identical, so the full path runs


def unwrap(text: str) -> str:
    """Each paragraph and list item on one line."""
    return re.sub(r"(?<=\S)[^\S\n]*\n(?![^\S\n]*(?:[-*]\s|\n))[^\S\n]*", " ", text)


@pytest.mark.parametrize(
    "path", [NOTICE_2021, NOTICE_2022, ROK_2021, G7_2023, CARBIS_BAY, SINGAPORE]
)
def test_a_document_unwrapped_or_rewrapped_is_no_change(path: Path) -> None:
    text = body(path)
    assert diff(text, unwrap(text)) == SentenceDiff()
    rewrapped = "\n".join(wrap(line.split(), 40) for line in unwrap(text).split("\n"))
    assert diff(text, rewrapped) == SentenceDiff()


def test_a_range_at_a_line_start_is_not_a_list_number() -> None:
    text = body(ROK_2021)
    assert "May\n30-31.\u00a0The United States" in text
    assert diff(text, unwrap(text)) == SentenceDiff()


def test_abbreviations_and_hard_line_breaks_do_not_split_sentences() -> None:
    text = body(ROK_2021)
    # "ROK-U.S. Mutual", "the U.S. commitment", "Joseph R.\nBiden, Jr. is" across hard breaks
    new = edit(text, "provide extended deterrence using", "provide deterrence using")
    [change] = diff(text, new).changed
    assert change.old.startswith("President Biden and President Moon reaffirm their mutual")
    assert "ROK-U.S. Mutual Defense Treaty, and President Biden affirms the U.S. commitment" in (
        change.old
    )
    assert change.old.endswith("using its full range of capabilities.")
    new = edit(text, "is honored to welcome", "is delighted to welcome")
    [change] = diff(text, new).changed
    assert change.old == (
        "President Joseph R. Biden, Jr. is honored to welcome President Moon Jae-in of the Republic"
        " of Korea to Washington to begin a new chapter in our partnership."
    )
    # "Dec." and "Nov." in a notice: still one sentence
    notice = body(NOTICE_2021)
    short = edit(notice, "November and December 2014", "Nov. and Dec. 2014")
    [change] = diff(notice, short).changed
    assert change.old.startswith("On January 2, 2015, the President signed Executive Order 13687")
    assert changes(diff(notice, short)) == [
        ("removed", "November"),
        ("added", "Nov."),
        ("removed", "December"),
        ("added", "Dec."),
    ]


def test_pdf_style_broken_lines_and_page_furniture_are_no_change() -> None:
    text = body(NSS_2002)
    header = "THE NATIONAL SECURITY STRATEGY OF THE UNITED STATES"
    pages = []
    for k, paragraph in enumerate(re.split(r"\n\s*\n", text)):
        # break long lines as a PDF would, with a running header every so often
        lines = [wrap(line.split(), 60) for line in paragraph.split("\n")]
        broken = "\n".join(lines).split("\n")
        if len(broken) > 6:
            broken.insert(3, header)
        pages.append("\n".join(broken))
        if k % 5 == 4:  # a page number between paragraphs
            pages.append(f"- {k // 5 + 1} -" if k % 2 else str(k // 5 + 1))
    furnished = "\n\n".join(pages)
    assert furnished.count(header) >= 10
    assert re.search(r"^- \d+ -$", furnished, re.MULTILINE)
    assert diff(text, furnished) == SentenceDiff()
    assert diff(furnished, text) == SentenceDiff()


def test_a_repeated_first_line_of_paragraphs_is_not_a_running_header() -> None:
    text = "\n".join(wrap(line.split(), 40) for line in unwrap(body(ROK_2021)).split("\n"))
    assert len(re.findall(r"^President Biden and President Moon$", text, re.MULTILINE)) >= 5
    new = edit(
        text, "President Biden and President Moon\nreaffirm their", "President Biden\nreaffirms"
    )
    assert changes(diff(text, new)) == [
        ("removed", "and President Moon reaffirm their"),
        ("added", "reaffirms"),
    ]


def test_moving_a_paragraph_is_moved_not_added_and_removed() -> None:
    paragraphs = body(G7_2023).split("\n\n")
    k = next(k for k, p in enumerate(paragraphs) if "Indo-Pacific" in p and len(sentences(p)) >= 2)
    moved = paragraphs.pop(k)
    paragraphs.insert(len(paragraphs) - 3, moved)
    result = diff(body(G7_2023), "\n\n".join(paragraphs))
    assert (result.added, result.removed, result.changed) == ((), (), ())
    assert result.moved == tuple(tidy(moved[a:b]) for a, b in sentences(moved))


def test_long_document_with_many_changes_reports_each_rewording() -> None:
    # Its speed is measured in bench/bench_diff.py (a timed test fails on a busy machine).
    text = body(NSS_2002)
    pieces, prev, reworded, dropped = [], 0, 0, 0
    for n, (a, b) in enumerate(sentences(text)):
        pieces.append(text[prev:a])
        sentence = text[a:b]
        spaces = [m.start() for m in re.finditer(r"(?<=[a-z,]) (?=[a-z])", sentence)]
        if n % 3 == 0 and len(spaces) >= 6:  # reword a third of the sentences
            k = spaces[len(spaces) // 2]
            sentence = f"{sentence[:k]} notably{sentence[k:]}"
            reworded += 1
        elif n % 17 == 5 and len(spaces) >= 6:  # and drop a few
            sentence = ""
            dropped += 1
        pieces.append(sentence)
        prev = b
    new = "".join([*pieces, text[prev:]])
    result = diff(text, new)
    assert (len(result.changed), len(result.removed), result.added) == (reworded, dropped, ())
    for change in result.changed:
        assert [(op.kind, op.text) for op in change.ops if op.kind != "same"] == [
            ("added", "notably")
        ]


# ---- strip_ignored ----------------------------------------------------------------------------

NEWSLETTER = "Subscribe to our newsletter for the latest analysis of Korea policy."
COURSE = "Learn Korean online with our award-winning course! Enroll today."
IGNORE = [
    re.compile(r"Subscribe to our newsletter[^.]*\."),
    re.compile(r"Learn Korean online[^!]*! Enroll today\."),
]


def test_strip_ignored_removes_injected_boilerplate_so_the_diff_sees_no_change() -> None:
    text = body(ROK_2021)
    paragraphs = text.split("\n\n")
    paragraphs.insert(3, NEWSLETTER)  # a paragraph of its own
    injected = "\n\n".join(paragraphs)
    injected = edit(injected, "ironclad alliance.", f"ironclad alliance. {COURSE}")  # mid-text
    injected = edit(
        injected, "the Korean Peninsula and their\n", f"the Korean Peninsula\n{COURSE}\nand their\n"
    )
    injected += f"\n\n{NEWSLETTER}\n"
    assert diff(text, injected).added  # the boilerplate shows without the rules
    cleaned = strip_ignored(injected, IGNORE)
    assert NEWSLETTER not in cleaned and COURSE not in cleaned
    assert diff(strip_ignored(text, IGNORE), cleaned) == SentenceDiff()
    assert diff(text, cleaned) == SentenceDiff()


def test_strip_ignored_keeps_paragraph_breaks_and_ignores_empty_matches() -> None:
    assert strip_ignored(f"One.\n\n{NEWSLETTER}\n\nTwo.", IGNORE) == "One.\n\nTwo."
    assert strip_ignored(f"One\n{NEWSLETTER}\ntwo.", IGNORE) == "One\ntwo."
    assert strip_ignored(f"One. {NEWSLETTER} Two.", IGNORE) == "One. Two."
    assert strip_ignored("One.", [re.compile(r"x*")]) == "One."
    assert strip_ignored("One.", []) == "One."


# ---- properties over real corpus sentences ----------------------------------------------------


def _stands_alone(s: str) -> bool:
    """Whether `s` is one sentence wherever it stands: first, last, mid-line, after a break."""
    for before in ("", "Before it. ", "Before it.\n"):
        for after in ("The end.", "North Korea.", "(끝.)", "Nuclear arms."):
            for joint in (" ", "\n"):
                text = before + s + joint + after
                want = [before.strip(), s, after] if before else [s, after]
                if [tidy(text[a:b]) for a, b in sentences(text)] != want:
                    return False
    return True


def _pool() -> list[str]:
    """Clean corpus sentences that stay one sentence in any company."""
    out: list[str] = []
    for path in (ROK_2021, G7_2023, CARBIS_BAY, NSS_2002, SINGAPORE, NOTICE_2021):
        text = body(path)
        for a, b in sentences(text):
            s = tidy(text[a:b])
            if (
                30 <= len(s) <= 300
                and (s[0].isupper() or s[0] == "(")
                and not re.search(r"[*#\\<>|\[\]_]", s)
                and s not in out
                and _stands_alone(s)
            ):
                out.append(s)
    return out


POOL = _pool()
WORDS = sorted({w for s in POOL for w in s.split() if w.isalpha() and w.islower() and len(w) > 3})
PARAGRAPHS = st.lists(
    st.lists(st.sampled_from(POOL), min_size=1, max_size=5), min_size=1, max_size=8
).filter(lambda ps: len({s for p in ps for s in p}) == sum(len(p) for p in ps))
# Tokens that would start a list item or a numbered line if a line began with them.
_LINE_START = re.compile(r"[-*•▪●◦‣]|#{1,6}|\W*(?:\d{1,3}|[A-Za-z])\.\W*")


def wrap(words: list[str], width: int, rnd: Random | None = None) -> str:
    """Hard-wrap words at `width`, maybe hyphenating long words at line ends."""
    lines: list[str] = []
    line: list[str] = []
    for word in words:
        if line and len(" ".join([*line, word])) > width and not _LINE_START.fullmatch(word):
            if rnd and word.isalpha() and word.islower() and len(word) >= 8 and rnd.random() < 0.5:
                cut = rnd.randrange(3, len(word) - 3)
                line.append(word[:cut] + "-")
                word = word[cut:]
            lines.append(" ".join(line))
            line = []
        line.append(word)
    lines.append(" ".join(line))
    return "\n".join(lines)


def render(paragraphs: list[list[str]], width: int = 72) -> str:
    return "\n\n".join(wrap(" ".join(p).split(), width) for p in paragraphs)


_CURLY = {"“": '"', "”": '"', "‘": "'", "’": "'"}


def restyle(text: str, rnd: Random) -> str:
    """Swap quote styles (curly <-> straight) and dash styles, each at random."""
    if rnd.random() < 0.5:
        text = re.sub("[“”‘’]", lambda m: _CURLY[m.group()], text)
    else:
        text = re.sub(r"(?<=\s)\"|^\"", "“", text)
        text = re.sub(r"(?<=\s)'|^'", "‘", text)
        text = text.replace('"', "”").replace("'", "’")
    text = re.sub(r" [-–—] ", lambda _: rnd.choice([" - ", " – ", " — ", " -- "]), text)
    return re.sub(r"(?<=\w)[–—](?=\w)", lambda _: rnd.choice("–—"), text)


def reflow(paragraphs: list[list[str]], rnd: Random) -> str:
    """The same paragraphs re-wrapped, re-spaced, re-hyphenated and retyped."""
    out = []
    for p in paragraphs:
        words = restyle(" ".join(p), rnd).split()
        words = [
            w[:2] + rnd.choice("\u200b\u00ad\u2060") + w[2:]
            if w.isalpha() and len(w) > 3 and rnd.random() < 0.1
            else w
            for w in words
        ]
        text = wrap(words, rnd.randrange(30, 110), rnd)
        text = re.sub(" ", lambda _: rnd.choice([" ", " ", " ", "  ", "\u00a0", "\t"]), text)
        text = re.sub("\n", lambda _: rnd.choice(["\n", " \n", "\n  "]), text)
        out.append(text)
    return rnd.choice(["\n\n", "\n\n\n", "\n \n"]).join(out) + rnd.choice(["", "\n", "  \n\n"])


@settings(max_examples=60, deadline=None)
@given(PARAGRAPHS)
def test_any_real_text_against_itself_is_no_change(paragraphs: list[list[str]]) -> None:
    text = render(paragraphs)
    assert diff(text, text) == SentenceDiff()
    assert diff(text, text + " ") == SentenceDiff()


@settings(max_examples=100, deadline=None)
@given(PARAGRAPHS, st.randoms(use_true_random=False))
def test_reflowed_retyped_rehyphenated_text_is_no_change(
    paragraphs: list[list[str]], rnd: Random
) -> None:
    text = render(paragraphs)
    other = reflow(paragraphs, rnd)
    assert diff(text, other) == SentenceDiff()
    assert diff(other, text) == SentenceDiff()


def _edited(
    paragraphs: list[list[str]], rnd: Random
) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Paragraphs with a sentence reworded, one dropped and one added; the reworded ones."""
    new = [list(p) for p in paragraphs]
    reworded = []
    for p in new:
        k = rnd.randrange(len(p))
        action = rnd.choice(["reword", "drop", "add", "keep"])
        if action == "reword":
            words = p[k].split()
            word = rnd.choice(WORDS)
            words.insert(rnd.randrange(1, len(words)), word)
            p[k] = " ".join(words)
            reworded.append((p[k], word))
        elif action == "drop" and len(p) > 1:
            del p[k]
        elif action == "add":
            extra = rnd.choice(POOL)
            if all(extra not in q for q in paragraphs):
                p.insert(k, extra)
    return new, reworded


@settings(max_examples=100, deadline=None)
@given(PARAGRAPHS, st.randoms(use_true_random=False), st.booleans())
def test_swapping_old_and_new_mirrors_the_diff(
    paragraphs: list[list[str]], rnd: Random, move: bool
) -> None:
    new, reworded = _edited(paragraphs, rnd)
    if move and len(new) > 2:
        new.insert(rnd.randrange(len(new)), new.pop(rnd.randrange(len(new))))
    old_text, new_text = render(paragraphs), reflow(new, rnd)
    forward, backward = diff(old_text, new_text), diff(new_text, old_text)
    assert mirrored(forward, backward)
    for change in forward.changed:
        check_ops(change)
    if not move:  # (a reworded sentence in a moved paragraph is removed and added)
        by_key = {sentence_key(c.new): c for c in forward.changed}
        for sentence, word in reworded:
            assert edited_words(by_key[sentence_key(sentence)]) == ([], [word])


def edited_words(change: ChangedSentence) -> tuple[list[str], list[str]]:
    """Removed and added word keys, without words retyped only (curly quotes, dashes)."""
    removed = Counter(
        sentence_key(w) for op in change.ops if op.kind == "removed" for w in op.text.split()
    )
    added = Counter(
        sentence_key(w) for op in change.ops if op.kind == "added" for w in op.text.split()
    )
    return sorted((removed - added).elements()), sorted((added - removed).elements())


@settings(max_examples=60, deadline=None)
@given(
    PARAGRAPHS,
    st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True),
    st.randoms(use_true_random=False),
)
def test_a_moved_paragraph_is_moved(
    paragraphs: list[list[str]], extra: list[str], rnd: Random
) -> None:
    paragraphs = [p for p in paragraphs if not set(p) & set(extra)]
    assume(paragraphs)
    rest = sum(len(p) for p in paragraphs)
    result = diff(reflow([extra, *paragraphs], rnd), render([*paragraphs, extra]))
    assert (result.added, result.removed, result.changed) == ((), (), ())
    assert len(result.moved) == min(len(extra), rest)
    if len(extra) < rest:
        assert result.moved == tuple(extra)


def test_the_pool_is_big_enough() -> None:
    assert len(POOL) > 300
    assert any("비핵화" in s for s in POOL)
