"""Search snippets are built from a version's text (monitor/store/snippets.py): the same
passage and marks as FTS5's snippet() on a row of few hits, in time bounded per row.

The texts are real: the Korean articles of tests/data/korean and the pages extracted in
tests/data/html (see their PROVENANCE.md and README.md); FTS5's own snippet() is computed on
them in a scratch table with the tokenizer of versions_fts.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest

from monitor import store
from monitor.models import Arrival, Extracted, Processed
from monitor.store import fulltext, search_words
from monitor.store.fulltext import Forms
from monitor.store.search_words import phrases
from monitor.store.snippets import snippet

DATA = Path(__file__).parent / "data"
TEXTS = sorted((DATA / "korean").glob("*.txt")) + sorted((DATA / "html").glob("*.truth.txt"))
QUERIES = (
    "the",
    "North Korea",
    '"North Korea"',
    "nuclear*",
    "sanction*",
    "denuclearization",
    "missile launch",
    "Kim",
    "Seoul",
    "said",
    "government",
    "military",
    "China",
    "security",
    "Korea*",
    "비핵화",
    "북한",
    "한반도",
    "제재",
    '"완전한 비핵화"',
    "2018",
    "ICBM",
    "미국 대통령",
)


def fts5_snippet(text: str, match: str) -> str | None:
    """FTS5's snippet() of `text` for an FTS5 query, as search built it before."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, text, tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO t (rowid, title, text) VALUES (1, '', ?)", [text])
    row = db.execute(
        "SELECT snippet(t, 1, '[', ']', ' … ', 16) FROM t WHERE t MATCH ?", [match]
    ).fetchone()
    return None if row is None else str(row[0])


def few_hits(text: str, query: str) -> bool:
    folded, kind = search_words.fold_text(text)
    return all(
        len(phrase.pattern(kind).findall(folded)) <= search_words.HITS for phrase in phrases(query)
    )


def test_on_a_row_of_few_hits_the_snippet_is_fts5s_own() -> None:
    compared = []
    for path in TEXTS:
        text = path.read_text("utf-8")
        for query in QUERIES:
            fts = fts5_snippet(text, store.fts_query(query, _forms(text)))
            if fts is None or not few_hits(text, query):
                continue
            assert snippet(text, phrases(query)) == fts, (path.name, query)
            compared.append(path.name)
    assert len(compared) >= 25 and len(set(compared)) >= 8, compared


def _forms(text: str) -> Forms:
    """The terms of `text` that are a word with a Korean particle attached (as search reads
    them from the index)."""
    tokens = {search_words.fold(t) for t in search_words.SEPARATORS.split(text) if t}
    return lambda word: sorted(
        t
        for t in tokens
        if t.startswith(word)
        and len(t) > len(word)
        and "\uac00" <= t[len(word)] <= "\ud7a3"
        and fulltext.ALL_HANGUL.fullmatch(t, len(word))
    )


def test_korean_words_are_marked_with_their_particles() -> None:
    text = "정부는 북한의 완전한 비핵화를 촉구했다. 사진을 SNS에 공개했다."
    assert (
        snippet(text, phrases("비핵화"))
        == "정부는 북한의 완전한 [비핵화를] 촉구했다. 사진을 SNS에 공개했다."
    )
    assert "[SNS에]" in snippet(text, phrases("SNS"))
    assert "[완전한 비핵화를]" in snippet(text, phrases('"완전한 비핵화"'))
    assert snippet(text, phrases("북한")).count("[") == 1


def test_a_prefix_marks_whole_words_and_a_word_only_itself() -> None:
    text = "Early warnings of war. The warhead was shown; the war went on, and Warsaw watched."
    assert snippet(text, phrases("war*")) == (
        "Early [warnings] of [war]. The [warhead] was shown; the [war] went on, and [Warsaw] "
        "watched."
    )
    assert snippet(text, phrases("war")) == (
        "Early warnings of [war]. The warhead was shown; the [war] went on, and Warsaw watched."
    )


def test_a_phrase_is_marked_whole_across_punctuation() -> None:
    text = "Leaders met at the summit, in Singapore. Then the summit -- in Singapore -- ended."
    shown = snippet(text, phrases('"summit in Singapore"'))
    assert shown == (
        "Leaders met at the [summit, in Singapore]. Then the [summit -- in Singapore] -- ended."
    )
    assert fts5_snippet(text, '"summit in singapore"') == shown


def test_a_long_text_shows_a_window_of_16_tokens_with_ellipses() -> None:
    filler = " ".join(f"word{k}" for k in range(8_000))
    text = filler + ". The summit in Singapore ended. " + filler
    shown = snippet(text, phrases("summit"))
    assert (
        shown
        == " … The [summit] in Singapore ended. " + " ".join(f"word{k}" for k in range(11)) + " … "
    )
    assert shown == fts5_snippet(text, "summit")


def test_a_row_with_100000_hits_of_one_word_stays_fast() -> None:
    # FTS5's snippet() took past 120 s on 105,000; the figure here is well under 1 ms.
    text = "Summit notes\n\n" + "summit " * 100_000
    began = time.process_time()
    shown = snippet(text, phrases("summit"))
    assert time.process_time() - began < 0.5
    assert shown.startswith("[Summit] notes\n\n[summit]") and len(shown) < 200, shown


def test_a_search_over_100000_hits_in_one_row_stays_fast(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "m.db")
    text = "Summit notes\n\n" + "summit " * 100_000
    digest = hashlib.sha256(text.encode()).hexdigest()
    url = "http://x/hits"
    processed = Processed(Extracted(text, "hits"), digest, (), None, None)
    store.save_document(db, "s", Arrival(url=url, link=url, kind="page", processed=processed))
    began = time.process_time()
    [hit] = store.search(db, "summit")
    assert time.process_time() - began < 1.0
    assert "[summit]" in hit.snippet and len(hit.snippet) < 200


@pytest.mark.parametrize(
    ("text", "query", "shown"),
    [
        # decomposed accents are inside the token and dropped, as unicode61 drops them
        ("Le cafe\u0301 est ferme\u0301.", "cafe", "Le [cafe\u0301] est ferme\u0301."),
        ("Le café est fermé.", "cafe", "Le [café] est fermé."),
        ("İstanbul and Ünye", "istanbul ünye", "[İstanbul] and [Ünye]"),
        # the quick pass lowers ASCII only: a capital of another script is found when that
        # pass misses the word, else it goes unmarked (FTS5 marks both)
        ("İstanbul and ISTANBUL", "istanbul", "İstanbul and [ISTANBUL]"),
        # what a regular expression would read as syntax is a word like any other
        ("a.b a b (x) [y]", "a.b", "[a.b] [a b] (x) [y]"),  # a phrase: a then b
        ("price (x) here", "(x)", "price ([x]) here"),
        ("back\\slash", "back\\slash", "[back\\slash]"),
        # the word only in the title: the text's start, unmarked
        ("Nothing here " * 20, "missing", "Nothing here " * 7 + "Nothing here … "),
        ("\x00 war \x00", "war", "\x00 [war] \x00"),
        ("", "war", ""),
        ("_war_ war_time", "war", "_[war]_ [war]_time"),
    ],
)
def test_hostile_text(text: str, query: str, shown: str) -> None:
    assert snippet(text, phrases(query)) == shown
    if (
        "\u0301" not in text and "\x00" not in text and "ISTANBUL" not in text
    ):  # FTS5 reads text up to a NUL
        fts = fts5_snippet(text, store.fts_query(query))
        assert fts is None or fts == shown


def test_a_very_long_token_or_separator_run_is_read_once() -> None:
    text = "x" * 500_000 + " war " + "-" * 500_000 + " war"
    began = time.process_time()
    shown = snippet(text, phrases("war"))
    assert time.process_time() - began < 0.5
    assert shown.count("[war]") == 2


def test_past_8_hits_of_a_word_its_later_ones_are_not_looked_at() -> None:
    # Old (FTS5's snippet()): the densest window anywhere, here the three wars at the end.
    # New: the best window around the first HITS hits of each word, here the first one.
    filler = " ".join(f"w{k}" for k in range(20))
    text = " ".join(f"war {filler}." for _ in range(search_words.HITS)) + " The war, war and war."
    assert fts5_snippet(text, '"war"') == " … The [war], [war] and [war]."
    assert snippet(text, phrases("war")) == (
        "[war] w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 … "
    )
