"""The light settings of `search`, `show` and `health` (monitor/settings_light.py): the same
file, database, time zone and errors as the full config, without pydantic."""

from __future__ import annotations

import dataclasses
import itertools
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import config, store
from monitor.cli import main
from monitor.errors import ConfigError
from monitor.redact import Redactor
from monitor.settings_light import LightSettings, load_light, parse_light

ROOT = Path(__file__).parent.parent
SHIPPED = ROOT / "config" / "monitor.toml"


def _problem(raw: dict[str, object], *, full: bool) -> str:
    with pytest.raises(ConfigError) as caught:
        if full:
            config.parse(raw, origin="monitor.toml")
        else:
            parse_light(raw, origin="monitor.toml")
    return str(caught.value)


def test_a_database_that_is_not_a_path_names_the_key_the_file_and_the_fix() -> None:
    message = _problem({"storage": {"database": 5}}, full=False)
    assert message == (
        'monitor.toml: storage.database: Input should be a valid string (quote it, e.g. "monitor.db")'
    )
    assert message.startswith(_problem({"storage": {"database": 5}}, full=True))


def test_an_unknown_time_zone_is_worded_as_the_full_config_words_it() -> None:
    raw: dict[str, object] = {"schedule": {"timezone": "Mars/Olympus_Mons"}}
    message = _problem(raw, full=False)
    assert message == (
        "monitor.toml: schedule.timezone: unknown time zone 'Mars/Olympus_Mons'; "
        "use an IANA name such as Asia/Seoul"
    )
    assert message == _problem(raw, full=True)


@pytest.mark.parametrize(
    "raw",
    [
        {"storage": {"busy_timeout": -1}},
        {"storage": {"busy_timeout": 1e9}},
        {"storage": {"busy_timeout": float("inf")}},
        {"storage": {"busy_timeout": "soon"}},
        {"service": {"heartbeat_seconds": 0}},
        {"service": {"heartbeat_seconds": 100_000}},
        {"storage": {"databse": "typo.db"}},  # a typo would quietly open another database
    ],
)
def test_a_bad_light_key_gets_the_full_configs_message(raw: dict[str, object]) -> None:
    light = _problem(raw, full=False)
    assert light.startswith("monitor.toml: ")
    full = _problem(raw, full=True)
    assert light.split(" (")[0] == full.split(" (")[0].split(", unable")[0]


def test_every_problem_is_listed_at_once() -> None:
    message = _problem(
        {"storage": {"database": 1, "busy_timeout": -1}, "schedule": {"timezone": "Nowhere"}},
        full=False,
    )
    assert message.startswith("monitor.toml has 3 problem(s):\n  storage.database: ")
    assert "storage.busy_timeout" in message and "schedule.timezone" in message


def test_a_fault_elsewhere_is_left_to_the_full_config() -> None:
    raw = config.loads(SHIPPED.read_text(encoding="utf-8"))
    raw["concepts"]["cvid"]["patterns"] = ["foo*bar"]
    with pytest.raises(ConfigError, match=r"concepts\.cvid"):
        config.parse(raw)
    assert parse_light(raw).timezone == "Asia/Seoul"


CONFIGS = [
    "",
    '[storage]\ndatabase = "data/one.db"\n',
    '[storage]\ndatabase = "two.db"\nbusy_timeout = 2.5\n[schedule]\ntimezone = "UTC"\n',
    '[schedule]\ntimezone = "America/New_York"\n[service]\nheartbeat_seconds = 5\n',
    '[storage]\ndatabase = "/abs/three.db"\nbusy_timeout = 0\n[service]\njobs = 2\n',
    SHIPPED.read_text(encoding="utf-8"),
]


@pytest.mark.parametrize("text", CONFIGS, ids=range(len(CONFIGS)))
def test_the_same_database_zone_and_timeouts_as_the_full_config(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    for env_db, flag_db, by_env in itertools.product(
        (None, "env.db"), (None, Path("flag.db")), (False, True)
    ):
        if env_db is None:
            monkeypatch.delenv(config.ENV_DB, raising=False)
        else:
            monkeypatch.setenv(config.ENV_DB, env_db)
        if by_env:  # found through $MONITOR_CONFIG instead of --config
            monkeypatch.setenv(config.ENV_CONFIG, str(path))
        else:
            monkeypatch.delenv(config.ENV_CONFIG, raising=False)
        chosen = None if by_env else path
        full = config.load(chosen)
        light = load_light(chosen, flag_db)
        case = (env_db, flag_db, by_env)
        assert light.database == (flag_db or full.database), case
        assert light.timezone == full.schedule.timezone, case
        assert light.busy_timeout == full.storage.busy_timeout, case
        assert light.heartbeat_seconds == full.service.heartbeat_seconds, case


def test_the_shipped_config_when_none_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    light = load_light()
    assert light.database == config.load_shipped().database
    monkeypatch.setenv(config.ENV_CONFIG, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml: config file not found"):
        load_light()


def test_the_redactor_hides_what_the_full_configs_hides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_USER", "alerts@example.org")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-but-longer")
    monkeypatch.setenv("HOOK_TOKEN", "tok-0123456789")
    raw = config.loads(
        """
[email]
username_env = "SMTP_USER"
password_env = "SMTP_PASSWORD"
[[webhooks]]
name = "slack"
url = "https://hooks.example.org/services/T000/B000/XXXXsecretXXXX"
token_env = "HOOK_TOKEN"
[[sources]]
name = "keyed"
kind = "feed"
url = "https://user:pw-9876@example.org/feed?api_key=k-55555555"
"""
    )
    assert Redactor.from_light(parse_light(raw)) == Redactor.from_settings(config.parse(raw))


def _database(path: Path) -> None:
    with store.opened(path, 5.0) as db:
        store.beat(db, os.getpid(), datetime.now(UTC).isoformat())


def test_search_and_health_run_with_a_broken_concept_that_check_reports(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    _database(db)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SHIPPED.read_text(encoding="utf-8").replace(
            "[concepts.cvid]", "[concepts.cvid]\nexclude = ['foo*bar']", 1
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    for args in (["search", "x"], ["show", "https://example.org/none"], ["health"]):
        result = runner.invoke(main, [*args, "--config", str(bad), "--db", str(db)])
        assert "concepts.cvid" not in result.output, args
    assert runner.invoke(main, ["health", "--config", str(bad), "--db", str(db)]).exit_code == 0
    checked = runner.invoke(main, ["check", "--config", str(bad)])
    assert checked.exit_code == 1 and "concepts.cvid" in checked.output


def test_search_says_which_key_of_which_file_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\ntimezone = "Asia/Nowhere"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["search", "x", "--config", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: schedule.timezone: unknown time zone 'Asia/Nowhere'" in result.output


def test_light_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LightSettings().database = Path("x")  # type: ignore[misc]
