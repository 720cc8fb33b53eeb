"""Shared fixtures: settings built from the shipped config, with test sources and a temp database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from monitor import config

# The suite runs on 2 shared cores beside other work: a property test is judged on its
# examples, never on how fast they were generated or ran (Hypothesis's deadline and its
# too_slow health check are timings).
settings.register_profile(
    "busy-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("busy-machine")

SHIPPED = Path(__file__).parent.parent / "config" / "monitor.toml"
DEMO = Path(__file__).parent.parent / "monitor" / "demo"

MakeSettings = Callable[..., config.Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """Settings with the shipped concepts, the given sources and fast, polite-to-nobody fetching."""

    def build(
        sources: list[dict[str, Any]], series: list[dict[str, Any]] | None = None, **fetch: Any
    ) -> config.Settings:
        raw = config.loads(SHIPPED.read_text(encoding="utf-8"))
        raw["sources"] = sources
        raw["series"] = series or []
        raw["storage"] = {"database": str(tmp_path / "monitor.db")}
        raw["fetch"] = {"delay": 0, "retries": 1, "backoff": 0.05, "timeout": 5, **fetch}
        raw["extract"] = {"workers": 1}
        return config.parse(raw)

    return build


@pytest.fixture(autouse=True)
def _no_user_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests never read, or write into, the database, config or cache of whoever runs them:
    each test has its own cache folder for the validated-config stamps (monitor/config_stamp.py),
    and so do the commands it runs."""
    monkeypatch.delenv("MONITOR_DB", raising=False)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def shipped_concepts() -> str:
    """The shipped config's [concepts.*] tables and [ladders], as TOML, for test configs."""
    text = SHIPPED.read_text(encoding="utf-8")
    start = text.index("[concepts.cvid]")
    series = text.index("[[series]]", start)
    concepts = text[start : text.rindex("# ---", start, series)]
    return concepts + text[text.index("[ladders]") :]


def config_head(
    database: Path | None, *, timeout: int | None = None, workers: int | None = 1
) -> str:
    """The tables a hand-written test config begins with, as TOML: `[storage] database` (left out
    for None: the default place), `[fetch]` with no delay and no retries (a test polls at once and
    a failure is final), `timeout` when given, and `[extract] workers` unless None (one worker by
    default: fewer processes on two shared cores)."""
    lines = [] if database is None else ["[storage]", f'database = "{database}"']
    lines += ["[fetch]", "delay = 0", "retries = 0"]
    if timeout is not None:
        lines.append(f"timeout = {timeout}")
    if workers is not None:
        lines += ["[extract]", f"workers = {workers}"]
    return "\n".join(lines) + "\n"
