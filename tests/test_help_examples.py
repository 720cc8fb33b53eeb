"""Every example in every command's help runs as written, on one line, against the shipped config
and the demo database.

Each example is split as a shell would (shlex; a leading ~/ is the home folder) and run with the
installed `monitor` in a folder prepared like a user's: the shipped config in
config/monitor.toml, a copy of the database `monitor demo` wrote, $MONITOR_CONFIG and $MONITOR_DB
naming them, and $HOME the folder itself. A file an example names is created there only when the
command's help says the user supplies it ("your own"). The commands that reach the network
(`once`, `run`, `health`) get the shipped concepts with the demo's sources, whose names are those
of the shipped config, served by the demo's own server on loopback.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load
from monitor.demo_run import demo_root, serve
from tests.conftest import SHIPPED, shipped_concepts

ROOT = Path(__file__).parent.parent
DEADLINE = 300.0  # seconds any one command, or the service's first polls, may take (a deadline
# for a machine busy with other work: they take a few seconds)
WHITEHOUSE = demo_root() / "pages" / "whitehouse"

# Files examples name that the user brings, and what stands in for them here.
SUPPLIED = {
    "joint-statement-2021.html": WHITEHOUSE / "2021-05-21-u-s-rok-leaders-joint-statement.html",
    "joint-statement-2022.html": WHITEHOUSE
    / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html",
    "nss-2002.txt": ROOT / "tests/data/docs/nss-series/2002_national_security_strategy.txt",
}
# Commands whose examples only make sense with the service running; see the service test (and,
# for `serve`, which runs until stopped, tests/test_web.py).
SERVICE = ("run", "health", "serve")


def commands(
    command: click.Command = main, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """The group and every command and subgroup under it, with their paths."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))


def examples_of(command: click.Command) -> list[str]:
    """The command lines after 'Example: ' in a command's help text."""
    lines = (line.strip() for line in (command.help or "").splitlines())
    return [line.removeprefix("Example: ") for line in lines if line.startswith("Example: ")]


EXAMPLES = [(path, example) for path, command in commands() for example in examples_of(command)]


def invoked(example: str) -> str:
    """The command an example runs: its first word after `monitor` that is not an option."""
    words = shlex.split(example)
    assert words[0] == "monitor", f"{example!r} must start with `monitor`"
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] == "--log-level" else rest[1:]
    return rest[0] if rest else ""


def argv(example: str, home: Path) -> list[str]:
    """The example as a shell runs it, with the installed entry point for `monitor`."""
    entry = Path(sys.executable).parent / "monitor"
    program = [str(entry)] if entry.exists() else [sys.executable, "-m", "monitor"]
    words = [str(home / w[2:]) if w.startswith("~/") else w for w in shlex.split(example)]
    return program + words[1:]


def environment(folder: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        MONITOR_CONFIG=str(config),
        MONITOR_DB=str(folder / "monitor.db"),
        HOME=str(folder),
        PYTHONUTF8="1",
    )
    return env


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database `monitor demo` writes, made once per session."""
    where = tmp_path_factory.mktemp("demo")
    entry = argv("monitor demo --dir " + shlex.quote(str(where)), where)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    done = subprocess.run(
        entry, cwd=where, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return where / "monitor.db"


@pytest.fixture(scope="session")
def loopback_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped concepts with the demo's sources, served on loopback for the session."""
    where = tmp_path_factory.mktemp("loopback")
    sources = (demo_root() / "sources.toml").read_text(encoding="utf-8")
    with serve(demo_root()) as base:
        path = where / "monitor.toml"
        path.write_text(
            shipped_concepts()
            + "\n[fetch]\ndelay = 0\n[extract]\nworkers = 1\n[service]\njitter_seconds = 0\n"
            + sources.replace("{base}", base),
            encoding="utf-8",
        )
        yield path


@pytest.fixture
def folder(tmp_path: Path, demo_db: Path) -> Path:
    """A user's folder: the shipped config and (a copy of) the demo database."""
    (tmp_path / "config").mkdir()
    shutil.copy(SHIPPED, tmp_path / "config" / "monitor.toml")
    with sqlite3.connect(demo_db) as source, sqlite3.connect(tmp_path / "monitor.db") as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return tmp_path


def _json(out: str) -> object:
    return json.loads(out)


# What each command's example must print (and write), beyond exiting 0.
Check = Callable[[str, Path], None]


def _init(out: str, folder: Path) -> None:
    assert (folder / "monitor" / "monitor.toml").is_file()
    assert f"wrote {folder}/monitor/monitor.toml" in out and "database ready:" in out


def _check(out: str, _folder: Path) -> None:
    assert re.search(r"^config/monitor\.toml: ok: [1-9]\d* sources", out, re.M)


def _once(out: str, _folder: Path) -> None:
    summary = _json(out)
    assert isinstance(summary, dict)
    assert summary["sources"] == 1 and summary["errors"] == [], summary
    assert summary["fetched"] + summary["not_modified"] >= 1, summary


def _search(out: str, _folder: Path) -> None:
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d \w+  \[[\w-]+\] \S", out, re.M), out
    assert re.search(r"^    https?://\S+$", out, re.M), out


def _show(out: str, _folder: Path) -> None:
    assert out.startswith("Trump State of the Union address promised unity"), out
    assert "source: guardian-us" in out
    assert re.search(r"^--- version \d+, ", out, re.M), out


def _sources(out: str, _folder: Path) -> None:
    listed = _json(out)
    assert isinstance(listed, list)
    by_name = {s["name"]: s for s in listed}
    assert {"whitehouse", "washington-declaration"} <= set(by_name), listed
    assert by_name["washington-declaration"]["documents"] >= 1, listed  # the demo polled it


def _compare(out: str, folder: Path) -> None:
    assert "complete-denuclearization" in out and "extended-deterrence" in out, out
    assert "HTML redline written to redline.html" in out
    assert "<html" in (folder / "redline.html").read_text(encoding="utf-8").lower()


def _changes(out: str, _folder: Path) -> None:
    assert re.search(r"^\d\.\d\d  succession ", out, re.M), out
    assert "extended-deterrence 1→2" in out, out


def _digest(out: str, folder: Path) -> None:
    assert re.search(r"^wrote digest\.html: the digest for \d{4}-\d\d-\d\d", out), out
    assert "<html" in (folder / "digest.html").read_text(encoding="utf-8").lower()


def _timeline(out: str, _folder: Path) -> None:
    rows = _json(out)
    assert isinstance(rows, list) and rows, out
    assert all(re.fullmatch(r"\d{4}-\d\d", r["period"]) for r in rows), rows
    assert sum(r["count"] for r in rows) > 0, rows


def _add(out: str, _folder: Path) -> None:
    assert re.search(r"^nss-2002\.txt: stored in series nss; [1-9]\d* mentions", out), out


def _demo(out: str, folder: Path) -> None:
    assert "first poll of 8 sources" in out and "problem recorded" not in out, out
    assert (folder / "monitor-demo" / "monitor.db").is_file()


def _datasette(out: str, folder: Path) -> None:
    assert out.startswith("wrote metadata.json: datasette "), out
    assert isinstance(json.loads((folder / "metadata.json").read_text(encoding="utf-8")), dict)


CHECKS: dict[str, Check] = {
    "init": _init,
    "check": _check,
    "once": _once,
    "search": _search,
    "show": _show,
    "sources": _sources,
    "compare": _compare,
    "changes": _changes,
    "digest": _digest,
    "timeline": _timeline,
    "add": _add,
    "demo": _demo,
    "datasette": _datasette,
}


def test_every_command_has_an_example_of_itself() -> None:
    for path, command in commands():
        found = examples_of(command)
        where = " ".join(("monitor", *path))
        assert found, f"`{where} --help` has no 'Example: monitor …' line; add one that runs"
        for example in found:
            if path:
                assert shlex.split(example)[1 : 1 + len(path)] == list(path), (
                    f"`{where} --help` shows an example of another command: {example}"
                )


def test_every_example_is_run_by_a_test() -> None:
    for _path, example in EXAMPLES:
        name = invoked(example)
        assert name in CHECKS or name in SERVICE, (
            f"{example!r}: say in CHECKS what its output must show"
        )


@pytest.mark.parametrize("width", [60, 200])
def test_every_example_stays_on_one_line(width: int) -> None:
    for path, _command in commands():
        result = CliRunner().invoke(main, [*path, "--help"], env={"COLUMNS": str(width)})
        assert result.exit_code == 0, result.output
        lines = [line.strip() for line in result.output.splitlines()]
        for example in examples_of(_command):
            assert "Example: " + example in lines, (
                f"`monitor {' '.join(path)} --help` at {width} columns wraps {example!r}: "
                "put a line holding only \\b before the example's paragraph"
            )


def _run(example: str, folder: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv(example, folder),
        cwd=folder,
        env=environment(folder, config),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )


@pytest.mark.parametrize(
    "example", [e for _p, e in EXAMPLES if invoked(e) not in SERVICE], ids=lambda e: e[:60]
)
def test_the_example_runs_as_written(example: str, folder: Path, loopback_config: Path) -> None:
    name = invoked(example)
    help_text = main.commands[name].help or ""
    for word in shlex.split(example):
        if word in SUPPLIED:
            assert "your own" in help_text, f"{example!r} names {word}: say the user brings it"
            shutil.copy(SUPPLIED[word], folder / word)
    config = folder / "config" / "monitor.toml"
    if name == "once":
        words = shlex.split(example)
        for source in (words[i + 1] for i, w in enumerate(words) if w == "--source"):
            shipped = load(config).source(source)  # raises when the shipped config lacks it
            assert load(loopback_config).source(source).kind == shipped.kind
        config = loopback_config
    done = _run(example, folder, config)
    assert done.returncode == 0, (
        f"{example!r} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    )
    assert "Traceback" not in done.stderr, done.stderr
    CHECKS[name](done.stdout, folder)


class _Lines:
    """A process's output lines, read on a thread, waited on with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout

        def read() -> None:
            for line in stream:
                self._queue.put(line)
            self._queue.put(None)

        threading.Thread(target=read, daemon=True).start()

    def wait_for(self, done: Callable[[list[str]], bool], what: str) -> None:
        end = time.monotonic() + DEADLINE
        while not done(self.seen):
            left = end - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(
                    f"no {what} within {DEADLINE} s:\n{''.join(self.seen)}"
                ) from None
            if line is None:
                raise AssertionError(f"the service ended before {what}:\n{''.join(self.seen)}")
            self.seen.append(line)

    def to_the_end(self) -> None:
        """Wait until the process has closed its output."""
        end = time.monotonic() + DEADLINE
        while (line := self._queue.get(timeout=max(end - time.monotonic(), 0.01))) is not None:
            self.seen.append(line)


def _messages(lines: list[str], message: str) -> list[dict[str, object]]:
    found = []
    for line in lines:
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("message") == message:
                found.append(record)
    return found


def test_the_run_and_health_examples_run_as_a_service(folder: Path, loopback_config: Path) -> None:
    """`run` until it has started and polled every source; `health` meanwhile; then SIGTERM."""
    [run] = [e for _p, e in EXAMPLES if invoked(e) == "run"]
    [health] = [e for _p, e in EXAMPLES if invoked(e) == "health"]
    names = set(re.findall(r'^name = "([^"]+)"', loopback_config.read_text("utf-8"), re.M))
    process = subprocess.Popen(
        argv(run, folder),
        cwd=folder,
        env=environment(folder, loopback_config),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _Lines(process)
        lines.wait_for(lambda seen: bool(_messages(seen, "started")), "'started' line")
        lines.wait_for(
            lambda seen: {r["source"] for r in _messages(seen, "polled")} >= names,
            f"first poll of {sorted(names)}",
        )
        checked = _run(health, folder, loopback_config)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.strip() == "healthy"
        process.send_signal(signal.SIGTERM)
        lines.to_the_end()
        process.wait(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines.seen)
    assert process.returncode == 0, output
    assert _messages(output.splitlines(), "stopped"), output
    polled = _messages(lines.seen, "polled")
    assert all(r["errors"] == 0 for r in polled), polled
