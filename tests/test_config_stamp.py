"""The validated-config stamp (monitor/config_stamp.py): read-only commands skip validating a
config text validated before, and still refuse a broken one.

The commands run in fresh interpreters, as a user runs them; each test has its own cache folder
($XDG_CACHE_HOME, set by tests/conftest.py and inherited by the commands).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import config, config_stamp, store
from monitor.redact import Redactor
from tests.processes import cli_probe

from .conftest import SHIPPED

PROBE = cli_probe('"pydantic": "pydantic" in sys.modules')

SECRET_CONFIG = """
[storage]
database = "{db}"

[schedule]
timezone = "America/New_York"

[service]
heartbeat_seconds = 45

[email]
username_env = "STAMP_TEST_USER"
password_env = "STAMP_TEST_PASSWORD"

[[webhooks]]
name = "team"
url = "https://hooks.example.org/services/T000/B000/abcdefghijklmnop"
token_env = "STAMP_TEST_TOKEN"

[[sources]]
name = "wire"
kind = "feed"
url = "https://feeds.example.org/rss?api_key=feedsecret123"
"""


def _monitor(args: list[str], cwd: Path, **env: str) -> tuple[int, bool, str, str]:
    """Exit status of `monitor ARGS`, whether it imported pydantic, its stdout and stderr."""
    out = cwd / "probe.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = json.loads(out.read_text(encoding="utf-8"))
    return found["code"], found["pydantic"], done.stdout, done.stderr


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder with a config (the shipped one, its database here) and that database, migrated,
    with a fresh heartbeat."""
    text = SHIPPED.read_text(encoding="utf-8").replace(
        'database = "monitor.db"', f'database = "{tmp_path / "monitor.db"}"'
    )
    assert str(tmp_path / "monitor.db") in text
    (tmp_path / "monitor.toml").write_text(text, encoding="utf-8")
    with store.opened(tmp_path / "monitor.db", 5.0) as db:
        store.beat(db, os.getpid(), datetime.now(UTC).isoformat())
    return tmp_path


def _stamps() -> list[Path]:
    return sorted(config_stamp.folder().glob("*.json"))


def test_a_second_read_only_command_skips_validation_and_says_the_same(site: Path) -> None:
    args = ["search", "비핵화", "--config", str(site / "monitor.toml")]
    first = _monitor(args, site)
    assert first[:2] == (0, True)  # no stamp yet: validated in full, with pydantic
    assert len(_stamps()) == 1
    second = _monitor(args, site)
    assert second[:2] == (0, False)  # stamped: no pydantic at all
    assert second[2:] == first[2:]
    for command in (["show", "https://example.org/none"], ["health"]):
        code, validated, _, err = _monitor([*command, "--config", str(site / "monitor.toml")], site)
        assert (code, validated) == ((1 if command[0] == "show" else 0), False), err


def test_a_broken_config_is_never_stamped_and_always_refused(site: Path) -> None:
    good = site / "monitor.toml"
    assert _monitor(["health", "--config", str(good)], site)[0] == 0
    stamped = _stamps()
    text = good.read_text(encoding="utf-8")
    bad = text.replace("timeout = 30 ", "timeout = inf ", 1)
    assert bad != text
    good.write_text(bad, encoding="utf-8")
    for _ in range(2):
        code, validated, _, err = _monitor(["search", "war", "--config", str(good)], site)
        assert code == 1 and validated, err
        assert "timeout" in err and "finite number" in err, err
    assert _stamps() == stamped  # the edited text has none
    good.write_text(text, encoding="utf-8")  # put back: the old stamp holds again
    assert _monitor(["search", "war", "--config", str(good)], site)[:2] == (0, False)


def test_the_database_options_win_over_a_stamp(
    site: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    conf = str(site / "monitor.toml")
    assert _monitor(["health", "--config", conf], site)[0] == 0  # stamps the config
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "other.db"
    for args, env in (
        (["health", "--config", conf, "--db", str(elsewhere)], {}),
        (["health", "--config", conf], {"MONITOR_DB": str(elsewhere)}),
    ):
        code, validated, _, err = _monitor(args, site, **env)
        assert (code, validated) == (1, False), err
        assert f"{elsewhere}: no database yet" in err


def test_basics_read_back_are_those_of_the_validated_config(tmp_path: Path) -> None:
    text = SECRET_CONFIG.format(db=tmp_path / "x.db")
    settings = config.parse(config.loads(text), environment=False)
    assert config_stamp.read(text) is None
    config_stamp.write(text, settings.basics())
    basics = config_stamp.read(text)
    assert basics == settings.basics()
    assert basics is not None
    assert (basics.timezone, basics.heartbeat_seconds) == ("America/New_York", 45.0)
    assert basics.database_path == tmp_path / "x.db"
    assert config_stamp.read(text + "\n# an edit\n") is None


def test_a_stamp_holds_no_secret_from_the_environment_and_redacts_as_the_settings_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAMP_TEST_USER", "alice-the-sender")
    monkeypatch.setenv("STAMP_TEST_PASSWORD", "hunter2-but-longer")
    monkeypatch.setenv("STAMP_TEST_TOKEN", "tok-0123456789")
    text = SECRET_CONFIG.format(db=tmp_path / "x.db")
    settings = config.parse(config.loads(text), environment=False)
    config_stamp.write(text, settings.basics())
    (stamp,) = _stamps()
    written = stamp.read_text(encoding="utf-8")
    for value in ("alice-the-sender", "hunter2-but-longer", "tok-0123456789"):
        assert value not in written
    assert stamp.stat().st_mode & 0o077 == 0  # this user's only: it holds URL secrets
    basics = config_stamp.read(text)
    assert basics is not None
    assert Redactor.from_basics(basics) == Redactor.from_settings(settings)
    said = Redactor.from_basics(basics).redact(
        "alice-the-sender hunter2-but-longer tok-0123456789 feedsecret123"
        " /services/T000/B000/abcdefghijklmnop"
    )
    assert said == " ".join(["***"] * 5)


def test_another_version_or_a_damaged_stamp_means_a_full_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SECRET_CONFIG.format(db=tmp_path / "x.db")
    basics = config.parse(config.loads(text), environment=False).basics()
    config_stamp.write(text, basics)
    with monkeypatch.context() as patched:
        patched.setattr(config_stamp, "__version__", "0.0.0-other")
        assert config_stamp.read(text) is None
    (stamp,) = _stamps()
    stamp.write_text('{"database": 3', encoding="utf-8")
    assert config_stamp.read(text) is None
    config_stamp.write(text, basics)  # the next full validation mends it
    assert config_stamp.read(text) == basics


def test_a_cache_that_cannot_be_written_is_no_error(site: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    args = ["search", "war", "--config", str(site / "monitor.toml")]
    for _ in range(2):
        code, validated, _, err = _monitor(args, site, XDG_CACHE_HOME=str(blocked))
        assert (code, validated) == (0, True), err  # validated in full each time, quietly
        assert err == ""


def test_old_stamps_are_pruned(tmp_path: Path) -> None:
    basics = config.parse(
        config.loads(SECRET_CONFIG.format(db=tmp_path / "x.db")), environment=False
    ).basics()
    for n in range(config_stamp.KEEP + 5):
        config_stamp.write(f"# config {n}\n", replace(basics, database=f"{n}.db"))
    assert len(_stamps()) == config_stamp.KEEP
    assert config_stamp.read(f"# config {config_stamp.KEEP + 4}\n") is not None


def test_every_validating_module_is_in_the_stamp_key() -> None:
    """The stamp's key names the code that validates: each module listed exists, and every
    module of monitor that validating a config loads is listed (a module moved or added without
    its entry would silently keep stale stamps valid), besides those that only read the file
    or hold no rule."""
    here = Path(config_stamp.__file__).parent
    for name in config_stamp.VALIDATORS:
        assert (here / name).is_file(), f"config_stamp.VALIDATORS names {name}, which is gone"
    script = (
        "import sys; from monitor import config; config.load_shipped(); "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('monitor'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    listed = {"monitor." + n.removesuffix(".py").replace("/", ".") for n in config_stamp.VALIDATORS}
    no_rules = {"monitor", "monitor.config_file", "monitor.errors", "monitor.analysis"}
    no_rules.add("monitor.sources")  # the packages hold docstrings only
    assert "monitor.analysis.patterns" in loaded, "the shipped patterns were checked"
    assert set(loaded) - no_rules <= listed, sorted(set(loaded) - no_rules - listed)
