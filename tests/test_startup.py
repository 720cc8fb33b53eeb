"""A quick command line (issue 11): what `monitor --help` and the read-only commands import.

Each command runs in a fresh interpreter, as `python -m monitor` would, and reports the modules
loaded by the time it ends. Module presence, not time: the times are in bench/bench_startup.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import store
from tests.conftest import config_head, shipped_concepts
from tests.processes import cli_probe
from tests.servers import LocalServer, feed_toml, serve_demo_site

# The extraction stack, the HTTP client and the scheduler: only commands that fetch, extract or
# run the service need them.
HEAVY = ("trafilatura", "pypdfium2", "httpx2", "httpcore2", "apscheduler", "pebble", "lxml")

PROBE = cli_probe('"modules": sorted(sys.modules)')


def _run(args: list[str], tmp_path: Path) -> tuple[object, set[str]]:
    """The exit status of `monitor ARGS` and the top-level packages it had imported."""
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    env["MONITOR_DB"] = str(tmp_path / "monitor.db")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        cwd=tmp_path,  # no config/monitor.toml here: the shipped config
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), done.stderr
    found = json.loads(out.read_text(encoding="utf-8"))
    return found["code"], {name.split(".")[0] for name in found["modules"]}


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """An empty, migrated database with a fresh heartbeat (so `monitor health` says healthy)."""
    path = tmp_path / "monitor.db"
    with store.opened(path, 5.0) as db:
        store.beat(db, os.getpid(), datetime.now(UTC).isoformat())
    return path


def test_help_imports_neither_the_config_nor_the_store(tmp_path: Path) -> None:
    code, modules = _run(["--help"], tmp_path)
    assert code == 0
    assert not modules & {*HEAVY, "pydantic", "sqlite_utils"}


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["search", "비핵화"], 0),
        (["show", "https://example.org/none"], 1),  # no such document: after the lookup
        (["changes"], 0),
        (["timeline", "cvid"], 0),
        (["sources"], 0),
        (["health"], 0),
    ],
)
def test_read_only_commands_import_no_extraction_fetching_or_scheduling(
    args: list[str], status: int, tmp_path: Path, database: Path
) -> None:
    code, modules = _run(args, tmp_path)
    assert code == status
    assert not modules & set(HEAVY), args


def test_the_probe_sees_what_a_command_imports(tmp_path: Path) -> None:
    """`monitor compare` of two files extracts them: the probe would see a heavy import."""
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("The DPRK and denuclearization.\n", encoding="utf-8")
    code, modules = _run(["compare", "a.txt", "b.txt", "--json"], tmp_path)
    assert code == 0
    assert "trafilatura" in modules


def test_a_poll_leaves_the_extraction_stack_to_its_workers(tmp_path: Path) -> None:
    """`monitor once` extracts every article it follows in its worker processes, which import
    trafilatura and PDFium as they start: the poll process itself (fetching, parsing feeds,
    storing) never loads them."""
    db = tmp_path / "monitor.db"
    with LocalServer() as server:
        serve_demo_site(server)
        config = tmp_path / "monitor.toml"
        feed = server.url("/feeds/korean-policy.xml")
        config.write_text(
            f"{config_head(db)}{feed_toml('korean', feed)}\n{shipped_concepts()}", encoding="utf-8"
        )
        code, modules = _run(["once", "--config", str(config)], tmp_path)
    assert code == 0
    assert not modules & {"trafilatura", "pypdfium2", "justext", "htmldate"}
    with sqlite3.connect(db) as conn:
        methods = {m for (m,) in conn.execute("SELECT method FROM versions")}
    assert methods and "trafilatura" in methods  # the articles were extracted, by the workers
