"""Configuration: the shipped file loads, errors name the key and the fix, env overrides."""

from __future__ import annotations

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
    assert all(s.note for s in settings.sources), (
        "every shipped source says whether it was verified"
    )


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
    assert "sources[1] (Bad Name).name: use lower-case letters, digits and dashes" in message
    assert (
        "sources[1] (Bad Name).kind: Input should be 'feed' or 'page' (use one of the allowed"
        in message
    )
    assert "sources[1] (Bad Name).url: must be an absolute http:// or https:// address" in message
    assert "sources[1] (Bad Name).follow:" in message
    assert "7 problem(s)" in message


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


def test_series_and_ignore_rules_are_validated() -> None:
    message = _problems(
        """
        [[sources]]
        name = "wh"
        kind = "feed"
        url = "https://example.org/feed"
        ignore = ["(unclosed"]
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
        title = "Joint ["
        """
    )
    assert "sources[0] (wh).ignore: Value error" not in message
    assert "sources[0] (wh).ignore: '(unclosed' is not a valid regular expression" in message
    assert (
        "series[1] (statements).rule.title: 'Joint [' is not a valid regular expression" in message
    )


def test_series_cross_checks() -> None:
    message = _problems(
        """
        [[sources]]
        name = "wh"
        kind = "feed"
        url = "https://example.org/feed"
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
        title = "Joint"
        """
    )
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
