"""`monitor search` matches words: war finds war, war* the words that begin with it, and a
Korean word (or a word with a Korean particle attached) its forms with particles.

The history is a real SQLite file written through the store's own functions. The Korean texts
are real: the Korean text of the 2018 Singapore joint statement (tests/data/pdf, see its
PROVENANCE.md) and an entermedia column (tests/data/html, see its PROVENANCE.md).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from monitor import store
from monitor.cli import main
from monitor.models import Extracted, FeedEntry, Processed
from monitor.store import fulltext
from tests.events import save_arrival

DATA = Path(__file__).parent / "data"
SINGAPORE_KO = (DATA / "pdf" / "singapore-joint-statement-2018-ko.source.txt").read_text("utf-8")
ENTERMEDIA_KO = (DATA / "html" / "aeb-entermedia-ko.truth.txt").read_text("utf-8")
# Longer than queries.WHOLE, so its snippet comes from the chunks: the word is at the end.
LONG = "Warheads and early warnings fill this page. " * 100 + "Then the war ended."

TEXTS = {
    "war": "The Korean War ended in an armistice, not a peace treaty.",
    "warhead": "North Korean warhead designs were shown at the parade.",
    "warning": "The ministry issued a warning after the launch.",
    "wars": "Two world wars shaped the alliance.",
    "warfare": "Cyber warfare drills continued.",
    "long": LONG,
    "singapore-ko": SINGAPORE_KO,
    "entermedia-ko": ENTERMEDIA_KO,
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "m.db"
    db = store.open_db(path)
    for day, (name, text) in enumerate(TEXTS.items(), start=1):
        url = f"http://x/{name}"
        digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
        published = datetime(2025, 1, day, tzinfo=UTC)
        save_arrival(
            db,
            url,
            Processed(Extracted(text, name), digest, (), None, None),
            entry=FeedEntry(url, url, name, "", published, published.isoformat()),
        )
    db.close()
    return path


@pytest.fixture
def db(history: Path) -> Database:
    return Database(history)


def found(db: Database, query: str) -> set[str]:
    return {hit.url.removeprefix("http://x/") for hit in store.search(db, query)}


@pytest.mark.parametrize(
    ("query", "documents"),
    [
        ("war", {"war", "long"}),
        ("War", {"war", "long"}),
        ("wars", {"wars"}),
        ("warhead", {"warhead"}),  # not the long page's "Warheads"
        ("warheads", {"long"}),
        ("war*", {"war", "warhead", "warning", "wars", "warfare", "long"}),
        ("warn*", {"warning", "long"}),
        ("war armistice", {"war"}),  # every word must be found
        ('"korean war"', {"war"}),
        ('"korean war"*', {"war", "warhead"}),
        ('"war ended"', {"war", "long"}),
    ],
)
def test_a_word_matches_that_word_and_a_star_asks_for_a_prefix(
    db: Database, query: str, documents: set[str]
) -> None:
    assert found(db, query) == documents


@pytest.mark.parametrize(
    ("query", "documents"),
    [
        ("비핵화", {"singapore-ko"}),  # the statement says only 비핵화를
        ("비핵화를", {"singapore-ko"}),
        ('"완전한 비핵화"', {"singapore-ko"}),  # 한반도의 완전한 비핵화를 위해
        ("한반도", {"singapore-ko"}),  # 한반도의, 한반도 and 한반도에서
        ("2018", {"singapore-ko"}),  # 2018년 4월27일
        ("SNS", {"entermedia-ko"}),  # 사진을 SNS에 공개한다는
        ("sns", {"entermedia-ko"}),
        ("SN", set()),
        ("SN*", {"entermedia-ko"}),
        ("2018 비핵화", {"singapore-ko"}),
        ("비핵화 war", set()),
    ],
)
def test_korean_words_keep_their_particles(db: Database, query: str, documents: set[str]) -> None:
    assert found(db, query) == documents


def test_snippets_mark_the_word_not_the_longer_words(db: Database) -> None:
    [long] = [h for h in store.search(db, "war") if h.url.endswith("/long")]
    assert "[war]" in long.snippet and "[Warheads]" not in long.snippet, long.snippet
    [sns] = store.search(db, "SNS")
    assert "[SNS에]" in sns.snippet, sns.snippet
    [korean] = store.search(db, "비핵화")
    assert "[비핵화를]" in korean.snippet, korean.snippet


def test_the_fts5_query_for_each_kind_of_term() -> None:
    assert store.fts_query("War") == '"War"'
    assert store.fts_query("war*") == '"war"*'
    assert store.fts_query('"extended deterrence" NCG') == '"extended deterrence" AND "NCG"'
    assert store.fts_query('"korean war"*') == '"korean war"*'
    assert store.fts_query("비핵화") == '"비핵화"*'
    assert store.fts_query('"완전한 비핵화"') == '"완전한 비핵화"*'
    assert store.fts_query("freeze-for-freeze") == '"freeze for freeze"'
    forms = {"icbm": ["icbm을", "icbm이"]}
    assert store.fts_query("ICBM", lambda w: forms.get(w, ())) == '("ICBM" OR "icbm을" OR "icbm이")'
    assert store.fts_query("* ()") == ""
    # a prefix longer than 3 characters (no prefix index of its own): its indexed terms
    terms = {"deter": ["deter", "determine"], "완전한 비핵": None}.get
    assert store.fts_query("deter*", terms=terms) == '("deter" OR "determine")'
    assert store.fts_query("war*", terms=terms) == '"war"*'  # read from its prefix index
    assert store.fts_query("dete*", terms=lambda p: None) == '"dete"*'  # too many: the prefix
    assert store.fts_query('"extended deter"*', terms=terms) == (
        '("extended deter" OR "extended determine")'
    )


@pytest.mark.parametrize("query", ["warn*", "warhead*", "warheads*", "warnings*", '"korean war"*'])
def test_a_prefix_asked_for_as_its_terms_finds_what_the_prefix_finds(
    db: Database, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expanded = found(db, query)
    monkeypatch.setattr(fulltext, "TERMS", 0)  # every prefix too common: FTS5's own prefix query
    assert found(db, query) == expanded
    monkeypatch.setattr(fulltext, "PREFIXED", 100)
    assert found(db, query) == expanded


def test_the_command_says_how_words_match(history: Path) -> None:
    result = CliRunner().invoke(main, ["search", "--help"])
    assert "war finds war, not wars or warhead" in " ".join(result.output.split())
    shown = CliRunner().invoke(main, ["search", "war", "--db", str(history)])
    assert shown.exit_code == 0, shown.output
    assert "http://x/war\n" in shown.output and "http://x/warhead" not in shown.output
