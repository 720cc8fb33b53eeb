"""Shared by the hostile cases: a config on disk, `monitor once` in a child process with its own
peak memory, and a poll in this process with the database it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor import config, store
from monitor.pipeline import Summary, poll
from tests import processes
from tests.conftest import shipped_concepts

ROOT = Path(__file__).parent.parent.parent
# One 60 KB sentence that repeats a concept 12,000 times: stored once per mention, it made a
# 738 MB database.
SENTENCE = "North Korea must accept " + "CVID " * 12_000 + "now."
AMPLIFY = (
    "<html><head><title>Amplification</title></head><body><article><h1>Amplification</h1>"
    f"<p>The statement follows.</p><p>{SENTENCE}</p></article></body></html>"
).encode()
# 105,000 hits of one word in one document: the search ran past 120 s.
HITS = ("Summit notes\n\n" + "summit " * 105_000).encode()
# A ceiling on the peak resident memory of each process of `monitor once` (the poll process and,
# apart, each extraction worker): the poll process measured 75 MB polling a small feed and 110 MB
# with pages (CPython 3.11, lxml, trafilatura, PDFium), a 10 MB capped body included; a 2 GB body
# or bomb held in memory would pass it by far.
BASELINE_MB = 200


def _toml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # strings, numbers, lists of strings: JSON is TOML


def write_config(
    tmp_path: Path,
    sources: list[dict[str, Any]],
    extra: str = "",
    *,
    extract: dict[str, Any] | None = None,
    service: dict[str, Any] | None = None,
    **fetch: Any,
) -> Path:
    """A config with the shipped concepts, `sources`, fast fetching, one extraction worker, and
    `fetch`, `extract` and `service` overrides."""
    options = {"delay": 0, "retries": 0, "backoff": 0.05, "timeout": 5, **fetch}
    lines = [shipped_concepts(), "[storage]", f"database = {_toml(str(tmp_path / 'm.db'))}"]
    lines += ["[fetch]", *(f"{k} = {_toml(v)}" for k, v in options.items())]
    extraction = {"workers": 1, **(extract or {})}
    lines += ["[extract]", *(f"{k} = {_toml(v)}" for k, v in extraction.items())]
    if service:
        lines += ["[service]", *(f"{k} = {_toml(v)}" for k, v in service.items())]
    for source in sources:
        lines += ["[[sources]]", *(f"{k} = {_toml(v)}" for k, v in source.items())]
    path = tmp_path / "monitor.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Ran:
    returncode: int
    output: str  # stdout, then stderr (the log)
    summary: dict[str, Any]
    peak_mb: float  # the poll process's own peak resident set (its VmHWM, read while it ran)
    any_peak_mb: float  # the largest peak of it and of the workers it reaped (wait4: ru_maxrss)
    seconds: float
    cpu: float  # seconds of CPU it and the workers it reaped used (wait4: user and system)

    @property
    def errors(self) -> dict[str, str]:
        return {e["source"]: e["error"] for e in self.summary.get("errors", [])}


def run_once(config_path: Path, timeout: float = 300) -> Ran:
    """`monitor once --json` in a child; its peak memory is its own, not this process's.

    wait4's ru_maxrss is the largest peak of the child *and* the descendants it reaped (spawned
    extraction workers), so the poll process's own high-water mark is read from /proc while it
    runs: VmHWM only grows, and its last reading before the exit is the peak."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    out, err = config_path.parent / "once.out", config_path.parent / "once.err"
    start = time.monotonic()
    with out.open("w") as sink, err.open("w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "monitor", "once", "--json", "--config", str(config_path)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=log,
        )
        deadline = start + timeout
        own = 0.0
        while True:
            own = max(own, processes.peak_mb(child.pid) or 0.0)
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                child.wait()
                raise AssertionError(f"monitor once ran past {timeout} s: {out.read_text()}")
            time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    seconds = time.monotonic() - start
    printed = out.read_text(encoding="utf-8", errors="replace")
    output = printed + err.read_text(encoding="utf-8", errors="replace")
    summary: dict[str, Any] = json.loads(printed) if printed.startswith("{") else {}
    cpu = usage.ru_utime + usage.ru_stime
    return Ran(child.returncode, output, summary, own, usage.ru_maxrss / 1024, seconds, cpu)


def poll_here(config_path: Path) -> Summary:
    """One poll in this process, against the database the config names."""
    settings = config.load(config_path)
    with store.open_db(settings.database) as db:
        return poll(settings, db)


def database(config_path: Path) -> Database:
    return store.open_db(config.load(config_path).database)


def stored_text(config_path: Path) -> str:
    """Every string in every table (titles, texts, errors, mentions, the outbox): to search for
    what must not be there, whatever the schema grows into."""
    with database(config_path) as db:
        tables = [t for t in db.table_names() if not t.startswith("_")]
        return "\n".join(
            value
            for table in tables
            for row in db.execute(f"SELECT * FROM [{table}]")
            for value in row
            if isinstance(value, str)
        )


def count(config_path: Path, sql: str, *params: object) -> int:
    with database(config_path) as db:
        return int(db.execute(sql, params).fetchone()[0])
