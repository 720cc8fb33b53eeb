"""Configuration: the shipped file loads, errors name the key and the fix, env overrides."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from monitor import config
from monitor.errors import ConfigError

ROOT = Path(__file__).parent.parent
SHIPPED = ROOT / "config" / "monitor.toml"

CONCEPT_IDS = {
    "cvid",
    "ffvd",
    "complete-denuclearization",
    "denuclearization",
    "arms-control",
    "extended-deterrence",
    "maximum-pressure",
    "nuclear-status",
}


def test_shipped_config_defines_the_concept_families_and_ladder() -> None:
    settings = config.load(SHIPPED)
    assert set(settings.concepts) == CONCEPT_IDS
    assert settings.ladders["denuclearization"] == (
        "cvid",
        "ffvd",
        "complete-denuclearization",
        "denuclearization",
        "arms-control",
    )
    for cid in CONCEPT_IDS:
        patterns = settings.concepts[cid].patterns
        assert any(p.isascii() for p in patterns), f"{cid} has no English pattern"
        assert any(not p.isascii() for p in patterns), f"{cid} has no Korean pattern"
    assert len(settings.sources) >= 15


def test_every_shipped_note_says_where_and_when_its_address_was_seen() -> None:
    # Nothing could be fetched where the file was written: a note tells the evidence, and
    # claims no check that was not made.
    for source in config.load(SHIPPED).sources:
        note = source.note or ""
        assert "seen" in note and re.search(r"\b20\d\d\b", note), source.name
        assert "not fetched from here" in note.lower(), source.name
        assert "verified" not in note.lower(), source.name


def test_shipped_series_members_are_watched_pages() -> None:
    settings = config.load(SHIPPED)
    pages = {s.url: s for s in settings.sources if s.kind == "page"}
    for series in settings.series:
        for member in series.members:
            assert member in pages and pages[member].enabled, (series.id, member)
    nss = settings.series_by_id("nss").members
    assert [m.split("/uploads/")[1][:4] for m in nss] == ["2017", "2022", "2025"]


# Titles as the White House published them (the corpus's, and the 2024 and 2025 editions').
US_ROK_EDITIONS = [
    "U.S.-ROK Leaders\u2019 Joint Statement",
    "United States-Republic of Korea Leaders\u2019 Joint Statement",
    "Leaders\u2019 Joint Statement in Commemoration of the 70th Anniversary of the Alliance "
    "between the United States of America and the Republic of Korea",
    "Joint Statement by President Joseph R. Biden of the United States of America and President "
    "Yoon Suk Yeol of the Republic of Korea on U.S.-ROK Guidelines for Nuclear Deterrence and "
    "Nuclear Operations on the Korean Peninsula",
    "Joint Fact Sheet on President Donald J. Trump\u2019s Meeting with President Lee Jae Myung",
]
US_ROK_NEIGHBOURS = [
    "The Spirit of Camp David: Joint Statement of Japan, the Republic of Korea, and the United "
    "States",
    "United States-Japan-Republic of Korea Trilateral National Security Advisors\u2019 Press "
    "Statement",
    "U.S.- Japan Joint Leaders\u2019 Statement: \u201cU.S. \u2013 JAPAN GLOBAL PARTNERSHIP FOR A "
    "NEW ERA\u201d",
    "FACT SHEET: Republic of Korea State Visit to the United States",
    "Joint Readout of the Inaugural U.S.-ROK Nuclear Consultative Group Meeting",
    "Joint Press Statement on Nuclear Consultative Group Meeting",
    "Remarks by President Biden and President Yoon Suk Yeol of the Republic of Korea in Joint "
    "Press Conference",
    "Joint Fact Sheet on President Donald J. Trump\u2019s Meeting with Prime Minister of Japan",
]


def test_shipped_us_rok_rule_takes_the_editions_and_leaves_their_neighbours() -> None:
    series = config.load(SHIPPED).series_by_id("us-rok-joint-statements")
    assert series.rule is not None and series.rule.source == "whitehouse"
    url = "https://www.whitehouse.gov/x/"
    for title in US_ROK_EDITIONS:
        assert series.includes(url, "whitehouse", title), title
    for title in US_ROK_NEIGHBOURS:
        assert not series.includes(url, "whitehouse", title), title


def test_packaged_copy_is_the_shipped_config() -> None:
    assert config.shipped_config_text() == SHIPPED.read_text(encoding="utf-8")


def _problems(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        config.parse(config.loads(text))
    return str(caught.value)


def test_errors_name_the_key_and_the_fix() -> None:
    message = _problems(
        """
        [fetch]
        timeout = -1
        retrys = 2
        [schedule]
        timezone = "Asia/Seol"
        [[sources]]
        name = "ok-source"
        kind = "feed"
        url = "https://example.org/feed"
        timezone = "KST"
        [[sources]]
        name = "Bad Name"
        kind = "blog"
        url = "example.org/feed"
        follow = "some"
        """
    )
    assert "fetch.timeout: Input should be greater than 0 (use a larger number)" in message
    assert (
        "fetch.retrys: Extra inputs are not permitted (remove it or check its spelling" in message
    )
    assert "schedule.timezone: unknown time zone 'Asia/Seol'; use an IANA name" in message
    assert "sources[0] (ok-source).timezone: unknown time zone 'KST'; use an IANA name" in message
    assert "sources[1] (Bad Name).name: use lower-case letters, digits and dashes" in message
    assert (
        "sources[1] (Bad Name).kind: Input should be 'feed' or 'page' (use one of the allowed"
        in message
    )
    assert "sources[1] (Bad Name).url: must be an absolute http:// or https:// address" in message
    assert "sources[1] (Bad Name).follow:" in message
    assert "8 problem(s)" in message


def test_cross_checks_name_the_key() -> None:
    message = _problems(
        """
        [[sources]]
        name = "a"
        kind = "page"
        url = "https://example.org/a.pdf"
        follow = "all"
        [[sources]]
        name = "a"
        kind = "feed"
        url = "https://example.org/feed"
        [concepts.cvid]
        label = "CVID"
        patterns = ["CVID"]
        [ladders]
        denuclearization = ["cvid", "ffvd"]
        """
    )
    assert "sources[0] (a).follow: only feeds follow links; remove it" in message
    assert "sources[1] (a).name: duplicate name" in message
    assert "ladders.denuclearization: unknown concept 'ffvd'; define [concepts.ffvd]" in message


def _source(lines: str) -> str:
    return f'[[sources]]\nname = "state"\nkind = "feed"\nurl = "https://example.org/f"\n{lines}\n'


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (
            'headers = { Host = "example.net" }',
            "sources[0] (state).headers: 'Host' may not be set: monitor sends the host of the "
            "source's url; put the host you want in url",
        ),
        (
            'headers = { connection = "close" }',
            "sources[0] (state).headers: 'connection' may not be set: a hop-by-hop header belongs "
            "to one connection, which monitor manages; remove it",
        ),
        ('headers = { "Transfer-Encoding" = "chunked" }', "'Transfer-Encoding' may not be set"),
        ('headers = { TE = "trailers" }', "'TE' may not be set: a hop-by-hop header"),
        ('headers = { Upgrade = "h2c" }', "'Upgrade' may not be set: a hop-by-hop header"),
        ('headers = { "Keep-Alive" = "300" }', "'Keep-Alive' may not be set: a hop-by-hop"),
        ('headers = { "Proxy-Authorization" = "x" }', "'Proxy-Authorization' may not be set"),
        (
            'headers = { "User-Agent" = "Mozilla/5.0" }',
            "'User-Agent' may not be set: set the source's user_agent instead",
        ),
        (
            'headers = { "If-None-Match" = "x" }',
            "'If-None-Match' may not be set: monitor sends the validators it stored",
        ),
        (
            'headers = { "Bad Name" = "x" }',
            "sources[0] (state).headers: 'Bad Name' is not a header name; use letters, digits",
        ),
        (
            'headers = { "X-Desk" = "korea\\r\\nHost: evil" }',
            "sources[0] (state).headers: 'X-Desk': the value contains a line break",
        ),
        (
            'headers = { "accept" = "a", "Accept" = "b" }',
            "'Accept' is given twice (header names ignore case); keep one",
        ),
        ('user_agent = ""', "sources[0] (state).user_agent: empty; give a User-Agent"),
        ('user_agent = "a\\nb"', "sources[0] (state).user_agent: contains a line break"),
    ],
)
def test_a_source_header_or_agent_that_cannot_be_sent_is_named_with_the_fix(
    lines: str, problem: str
) -> None:
    assert problem in _problems(_source(lines))


def test_a_source_may_set_its_agent_and_ordinary_headers() -> None:
    agent = "Mozilla/5.0 (compatible; monitor/0.1; +https://github.com/monitor-korea/monitor)"
    settings = config.parse(
        config.loads(
            _source(
                f'user_agent = "{agent}"\n'
                'headers = { "Accept-Language" = "en-US,en;q=0.8", Cookie = "consent=yes" }'
            )
        )
    )
    [source] = settings.sources
    assert source.user_agent == agent
    assert source.headers == {"Accept-Language": "en-US,en;q=0.8", "Cookie": "consent=yes"}
    assert "fetch.user_agent: empty" in _problems('[fetch]\nuser_agent = " "\n')


def test_missing_file_and_bad_toml_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="monitor init"):
        config.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[storage\ndatabase = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        config.load(bad)


def test_monitor_db_overrides_the_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_DB", str(tmp_path / "elsewhere.db"))
    assert config.load(SHIPPED).database == tmp_path / "elsewhere.db"


def test_monitor_config_picks_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[storage]\ndatabase = "x.db"\n', encoding="utf-8")
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    assert config.load(None).database == Path("x.db")


def test_bad_patterns_and_keywords_are_reported_with_their_keys() -> None:
    raw = config.loads(SHIPPED.read_text(encoding="utf-8"))
    raw["concepts"]["cvid"]["patterns"] = ["CVID", "foo*bar", ","]
    raw["sources"][0]["keywords"] = ["North Korea", "  "]
    with pytest.raises(ConfigError) as caught:
        config.parse(raw)
    message = str(caught.value)
    assert "3 problem(s)" in message
    assert (
        "concepts.cvid.patterns[1]: pattern 'foo*bar' is empty or has a * before its end" in message
    )
    assert "concepts.cvid.patterns[2]: pattern ','" in message
    assert "sources[0] (yonhap-en-nk).keywords[1]: pattern '  '" in message


def _series_problems(ignore: str, rule_title: str) -> str:
    """The problems of a feed (with these `ignore` lines) and two series: one with neither
    members nor a rule, one whose rule (of this title) names no source and whose baseline is
    not a member."""
    return _problems(
        f"""
        [[sources]]
        name = "wh"
        kind = "feed"
        url = "https://example.org/feed"
        {ignore}
        [[series]]
        id = "nss"
        title = "NSS"
        [[series]]
        id = "statements"
        title = "Statements"
        members = ["https://example.org/a"]
        baseline = "https://example.org/b"
        [series.rule]
        source = "nowhere"
        title = "{rule_title}"
        """
    )


def test_series_and_ignore_rules_are_validated() -> None:
    message = _series_problems('ignore = ["(unclosed"]', "Joint [")
    assert "sources[0] (wh).ignore: Value error" not in message
    assert "sources[0] (wh).ignore: '(unclosed' is not a valid regular expression" in message
    assert (
        "series[1] (statements).rule.title: 'Joint [' is not a valid regular expression" in message
    )


def test_series_cross_checks() -> None:
    message = _series_problems("", "Joint")
    assert "series[0] (nss): give members = [...] or a [series.rule], or both" in message
    assert "series[1] (statements).rule.source: no source named 'nowhere'" in message
    assert "series[1] (statements).baseline: not one of the members" in message


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-5"])
def test_the_extraction_deadline_is_finite_and_positive(value: str) -> None:
    message = _problems(f"[extract]\ndeadline = {value}\n")
    assert "extract.deadline: Input should be" in message and "(use a " in message
    assert len(message.splitlines()) == 1, message  # one problem, one line


def test_the_extraction_deadline_defaults_to_a_minute() -> None:
    assert config.parse({}).extract.deadline == 60
    assert config.parse({"extract": {"deadline": 2.5}}).extract.deadline == 2.5


def test_the_fetch_section_and_the_http_clients_settings_agree() -> None:
    """[fetch] is validated by config.FetchSection and handed to the HTTP client as its own
    record: the two name the same fields, with the same defaults (the client's user agent comes
    from the config), so a setting added to one cannot be dropped on the way."""
    from monitor.sources.fetch import FetchSettings

    section = config.FetchSection()
    client = {f.name: f.default for f in dataclasses.fields(FetchSettings)}
    assert set(client) == set(config.FetchSection.model_fields)
    for name, default in client.items():
        if name != "user_agent":
            assert getattr(section, name) == default, name
    assert section.for_fetcher() == FetchSettings(**section.model_dump())
    assert section.for_fetcher().user_agent.startswith("monitor/")
