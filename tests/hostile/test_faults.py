"""Faults get one line: every command of the CLI, against every fault of its environment and its
input, ends with exit status 1 and exactly one line on stderr naming the thing and the fix, or
succeeds (a command that only reads may, on a database it cannot write) — never a traceback.

The faults are real: a database file and a folder this user cannot write (as root, the commands
run in a child process as `nobody`, since root writes any file), another process holding the
write lock (`BEGIN IMMEDIATE`) with `[storage].busy_timeout = 0.2`, a full disk (a 4 MB tmpfs in
a private mount namespace, `unshare --mount`, filled to the last byte; skipped where unshare may
not mount), and configs with non-finite, out-of-range and 3,000-deep nested values. The commands
are enumerated from the click group, so a new command is covered (and fails here until it is
given its arguments in `ARGS`). They run in-process with CliRunner; `monitor run` and a few more
run as real processes to show that nothing reaches the real stderr either.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_origin

import pytest
from click.testing import CliRunner

from monitor import config
from monitor.cli import main
from tests.conftest import DEMO
from tests.servers import LocalServer, feed_toml, serve_demo_site

ROOT = Path(__file__).resolve().parent.parent.parent
PAGES = DEMO / "pages" / "whitehouse"
OLD = PAGES / "2021-05-21-u-s-rok-leaders-joint-statement.html"
NEW = PAGES / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html"
NOBODY = 65534

# What each command needs to run; {db}, {folder}, {url} and {member} are filled in per case.
ARGS: dict[str, list[str]] = {
    "init": [],
    "check": [],
    "once": [],
    "search": ["비핵화"],
    "show": ["{url}"],
    "sources": [],
    "compare": [str(OLD), str(NEW)],
    "changes": [],
    "digest": [],
    "timeline": ["complete-denuclearization"],
    "add": ["{member}", "--series", "editions", "--date", "2024-01-02"],
    "run": [],
    "health": [],
    "demo": ["--dir", "{folder}"],
    "datasette": ["--write-metadata", "-"],  # serving would never end; the metadata is the work
    "serve": ["--check"],  # likewise: --check reads the database as every page does
}
# Commands that must write the database to do their work: a write fault must fail them.
WRITERS = {"init", "once", "add", "run", "health", "demo"}
# Commands that never open the database.
NO_DATABASE = {"check", "compare", "datasette"}


def test_every_command_is_given_its_arguments() -> None:
    assert set(main.commands) == set(ARGS), "give a new command its arguments in ARGS"


@dataclass(frozen=True)
class World:
    base: Path
    config: Path
    seed: Path
    url: str
    server: LocalServer


def _config_text(server: LocalServer, member: Path, **changes: str) -> str:
    sections: dict[str, dict[str, str]] = {
        "storage": {"busy_timeout": "0.2"},
        "fetch": {"delay": "0", "retries": "0", "timeout": "10"},
        "schedule": {"interval_minutes": "30"},
        "service": {"heartbeat_seconds": "30", "deliver_seconds": "60"},
        "extract": {"workers": "1"},
    }
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        sections[section][key] = value
    head = "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
        for name, keys in sections.items()
    )
    from tests.conftest import shipped_concepts

    return (
        head
        + f"""
{feed_toml("korean", server.url("/feeds/korean-policy.xml"))}
[[series]]
id = "editions"
title = "Editions"
members = ["{member}"]

"""
        + shipped_concepts()
    )


def _invoke(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One command, in-process: its exit code and output. `run` sets up logging and signal
    handlers for the service; they are put back after it."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    signals = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    # A service that starts despite the fault would run for ever: stop it (its own handler
    # takes the signal), and it exits 0, which the test then reports as a fault not seen.
    watchdog = threading.Timer(20, os.kill, (os.getpid(), signal.SIGTERM))
    if args[0] == "run":
        watchdog.start()
    try:
        result = CliRunner(env=env).invoke(main, args)
    finally:
        watchdog.cancel()
        root.handlers[:] = handlers
        root.setLevel(level)
        for number, handler in signals.items():
            signal.signal(number, handler)
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = repr(result.exception)
    return {"code": result.exit_code, "out": result.stdout, "err": result.stderr, "crash": crash}


def _commands(world: World, db: Path, config_path: Path) -> list[list[str]]:
    values = {
        "{db}": str(db),
        "{folder}": str(db.parent),
        "{url}": world.url,
        "{member}": str(world.base / "member.html"),
    }
    return [
        [name, *(values.get(a, a) for a in ARGS[name]), "--config", str(config_path)]
        # demo last: it replaces the database in its folder with a new one
        for name in sorted(ARGS, key=lambda n: (n == "demo", n))
    ]


def child_main() -> None:
    """Run in a child process: optionally mount a full disk, then every command; JSON out."""
    job = json.load(sys.stdin)
    if job.get("full"):
        folder = Path(job["full"])
        size = Path(job["seed"]).stat().st_size + (1 << 20)
        mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
        subprocess.run(mount, check=True)
        shutil.copy(job["seed"], folder / "monitor.db")
        try:  # fill the disk to the last byte
            with (folder / "filler").open("wb", buffering=0) as filler:
                while True:
                    filler.write(b"\0" * 4096)
        except OSError:
            pass
        if job.get("read_only"):
            (folder / "filler").unlink()
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    results = [_isolated(args, job["env"]) for args in job["commands"]]
    json.dump(results, sys.stdout)


def _isolated(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """`_invoke` in a forked process of its own, as each command is in real use: a command's
    worker pool, signal handlers and resource tracker do not outlive it into the next one."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked command
        os.close(read)
        try:
            result = _invoke(args, env)
        except BaseException as exc:  # reported as a crash, never lost
            result = {"code": -1, "out": "", "err": "", "crash": repr(exc)}
        with os.fdopen(write, "w", encoding="utf-8") as out:
            json.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, encoding="utf-8") as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(text)
    return result


def _in_child(
    commands: list[list[str]], env: dict[str, str], prefix: list[str], **job: Any
) -> list[dict[str, Any]]:
    done = subprocess.run(
        [
            *prefix,
            sys.executable,
            "-c",
            "from tests.hostile.test_faults import child_main; child_main()",
        ],
        input=json.dumps({"commands": commands, "env": env, **job}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # A folder `nobody` can traverse (pytest's own tmp folders are private to their owner).
    base = Path(tempfile.mkdtemp(prefix="monitor-faults-"))
    base.chmod(0o755)
    with LocalServer() as server:
        serve_demo_site(server)
        shutil.copy(PAGES / "2023-04-26-washington-declaration-2.html", base / "member.html")
        path = base / "monitor.toml"
        path.write_text(_config_text(server, base / "member.html"), encoding="utf-8")
        path.chmod(0o644)
        seed = base / "seed.db"
        once = CliRunner(env={"MONITOR_DB": str(seed)}).invoke(
            main, ["once", "--config", str(path), "--json"]
        )
        assert once.exit_code == 0, once.output
        assert json.loads(once.stdout)["new_documents"] >= 5
        import sqlite3

        with sqlite3.connect(seed) as db:
            url = db.execute("SELECT url FROM documents WHERE kind = 'article' LIMIT 1").fetchone()
        seed.chmod(0o644)
        yield World(base, path, seed, url[0], server)
    for folder in base.iterdir():  # the read-only folders' owner may not be root
        if folder.is_dir():
            folder.chmod(0o755)
    shutil.rmtree(base, ignore_errors=True)


def _case(world: World, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=world.base))
    folder.chmod(0o755)
    shutil.copy(world.seed, folder / "monitor.db")
    return folder / "monitor.db"


def _check(
    results: list[dict[str, Any]],
    commands: list[list[str]],
    *,
    must_fail: set[str],
    may_succeed: set[str],
    says: tuple[str, ...],
    demo_says: tuple[str, ...] | None = None,
) -> None:
    """Each command either succeeded (only those in `may_succeed`) or exited 1 with one line on
    stderr that holds every string of `says` (for `demo`, which deletes and recreates its
    database, `demo_says`); no traceback, no crash, anywhere."""
    for args, got in zip(commands, results, strict=True):
        name = args[0]
        if name == "demo" and demo_says is not None:
            says = demo_says
        where = f"monitor {' '.join(args)}: {got}"
        assert got["crash"] is None, where
        assert "Traceback" not in got["out"] + got["err"], where
        lines = [line for line in got["err"].splitlines() if line.strip()]
        if got["code"] == 0:
            assert name in may_succeed and name not in must_fail, where
            continue
        assert got["code"] == 1, where
        assert len(lines) == 1, where
        for text in says:
            assert text in lines[0], where


def _all_fail(results: list[dict[str, Any]], commands: list[list[str]], *says: str) -> None:
    """_check with every command failing, its line holding every string of `says`."""
    _check(results, commands, must_fail=set(ARGS), may_succeed=set(), says=says)


def test_every_command_on_a_healthy_database_succeeds_or_says_why(world: World) -> None:
    """The baseline the faults are measured against (health: no service ever ran)."""
    db = _case(world, "healthy")
    commands = _commands(world, db, world.config)
    commands = [c for c in commands if c[0] not in {"run", "demo"}]
    results = [_invoke(args, {"MONITOR_DB": str(db)}) for args in commands]
    _check(results, commands, must_fail={"health"}, may_succeed=set(ARGS) - {"health"}, says=())


def _as_nobody() -> list[str]:
    """As root every file is writable: the child runs as nobody for permissions to bind."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to become nobody: root writes any file")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def test_a_read_only_database_file(world: World) -> None:
    db = _case(world, "ro-file")
    db.parent.chmod(0o777)  # the folder is writable: SQLite may create -wal and -shm there
    db.chmod(0o444)
    # Not demo: it replaces the file (the folder is writable), so it meets no fault here, and its
    # full first poll as `nobody` starts extraction workers from root's Python, which that user
    # cannot always run (seen here: a pool whose workers never start).
    commands = [c for c in _commands(world, db, world.config) if c[0] != "demo"]
    results = _in_child(commands, {"MONITOR_DB": str(db)}, _as_nobody())
    _check(
        results,
        commands,
        must_fail=WRITERS - {"demo"},
        may_succeed=set(ARGS) - WRITERS,
        says=(str(db), "read-only", f"chmod u+w {db}", "[storage].database"),
    )
    readers = {c[0]: r["code"] for c, r in zip(commands, results, strict=True)}
    assert all(readers[name] == 0 for name in set(ARGS) - WRITERS)  # reading still works


def test_a_read_only_database_folder(world: World) -> None:
    db = _case(world, "ro-folder")
    db.chmod(0o666)
    db.parent.chmod(0o555)
    commands = _commands(world, db, world.config)
    results = _in_child(commands, {"MONITOR_DB": str(db)}, _as_nobody())
    _check(
        results,
        commands,
        must_fail=set(ARGS) - NO_DATABASE,
        may_succeed=NO_DATABASE,
        says=(f"folder {db.parent} is read-only", "make the folder writable"),
        demo_says=(str(db), "permission denied", "give this user access"),
    )


def _lock(db: Path) -> subprocess.Popen[str]:
    """Another process that holds `db`'s write lock (BEGIN IMMEDIATE) until it is killed; it
    has the lock when this returns."""
    script = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "locked\n"
    return process


@pytest.fixture
def holder(world: World) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """Another process holding the database's write lock until the test ends."""
    db = _case(world, "locked")
    process = _lock(db)
    yield db, process
    process.kill()
    process.wait()


def test_a_database_another_process_holds_locked(
    world: World, holder: tuple[Path, subprocess.Popen[str]]
) -> None:
    db, process = holder
    commands = _commands(world, db, world.config)
    results = [_invoke(args, {"MONITOR_DB": str(db)}) for args in commands]
    _check(
        results,
        commands,
        must_fail=WRITERS - {"demo"},
        # WAL: readers are not blocked by a writer; demo replaces the file with a new one
        may_succeed=set(ARGS) - WRITERS | {"demo"},
        says=(str(db), "locked", f"pid {process.pid}", "busy_timeout", "wait for it"),
    )


def _can_mount() -> list[str] | None:
    """The unshare prefix that gives a private mount namespace where tmpfs may be mounted."""
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return None
    prefix = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-r", "--mount"]
    probe = subprocess.run(
        [*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || exit 1"],
        capture_output=True,
        check=False,
    )
    return prefix if probe.returncode == 0 else None


def _on_a_tmpfs(
    world: World, name: str, what: str, **job: Any
) -> tuple[Path, list[list[str]], list[dict[str, Any]]]:
    """Every command run in a child with its database on a tmpfs of its own, filled to the last
    byte (`job`: read_only=True remounts it read-only): the database, the commands, results."""
    prefix = _can_mount()
    if prefix is None:
        pytest.skip(f"no private mount namespace here (unshare --mount) for {what}")
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=world.base))
    db = folder / "monitor.db"
    commands = _commands(world, db, world.config)
    results = _in_child(
        commands, {"MONITOR_DB": str(db)}, prefix, full=str(folder), seed=str(world.seed), **job
    )
    return db, commands, results


def test_a_full_disk(world: World) -> None:
    db, commands, results = _on_a_tmpfs(world, "full", "a small tmpfs")
    _check(
        results,
        commands,
        must_fail=set(ARGS) - NO_DATABASE - {"demo"},
        may_succeed=NO_DATABASE | {"demo"},  # demo deletes the old database: space comes free
        says=(str(db), "disk is full", "free some space"),
    )


def test_a_database_on_a_read_only_file_system(world: World) -> None:
    db, commands, results = _on_a_tmpfs(world, "ro-mount", "a read-only tmpfs", read_only=True)
    _check(
        results,
        commands,
        must_fail=set(ARGS) - NO_DATABASE,
        may_succeed=NO_DATABASE,
        says=(str(db), "read-only file system", "mount it read-write"),
        demo_says=(str(db), "read-only", "write somewhere else"),
    )


DEEP = "[" * 3000 + "]" * 3000
INTERVAL = "schedule__interval_minutes"
CONFIG_FAULTS = {
    "timeout-inf": ({"fetch__timeout": "inf"}, ("fetch.timeout", "finite number")),
    "interval-inf": ({INTERVAL: "inf"}, ("schedule.interval_minutes", "finite number")),
    "heartbeat-nan": ({"service__heartbeat_seconds": "nan"}, ("heartbeat_seconds", "finite")),
    "retries-negative": ({"fetch__retries": "-1"}, ("fetch.retries", "use a larger number")),
    "deliver-zero": ({"service__deliver_seconds": "0"}, ("deliver_seconds", "larger number")),
    "interval-huge": ({INTERVAL: "1e300"}, ("schedule.interval_minutes", "use a smaller number")),
    "max-bytes-huge": ({"fetch__max_bytes": "9223372036854775807"}, ("max_bytes", "smaller")),
    "busy-timeout-negative": ({"storage__busy_timeout": "-0.5"}, ("busy_timeout", "larger")),
    "deep-toml": ({"extract__deep": DEEP}, ("nested too deeply", "flatten them")),
}


@pytest.mark.parametrize("fault", sorted(CONFIG_FAULTS))
def test_a_config_value_out_of_range_or_not_finite(world: World, fault: str) -> None:
    changes, says = CONFIG_FAULTS[fault]
    bad = world.base / f"{fault}.toml"
    bad.write_text(
        _config_text(world.server, world.base / "member.html", **changes), encoding="utf-8"
    )
    db = _case(world, fault)
    commands = _commands(world, db, bad)
    results = [_invoke(args, {"MONITOR_DB": str(db)}) for args in commands]
    _all_fail(results, commands, str(bad), *says)


def test_a_missing_or_unreadable_config(world: World) -> None:
    db = _case(world, "config-missing")
    missing = db.parent / "nowhere.toml"
    commands = [c for c in _commands(world, db, missing) if c[0] != "init"]  # init writes it
    results = [_invoke(args, {"MONITOR_DB": str(db)}) for args in commands]
    _all_fail(results, commands, str(missing), "not found", "monitor init")
    unreadable = db.parent / "secret.toml"
    shutil.copy(world.config, unreadable)
    unreadable.chmod(0)
    db.parent.chmod(0o777)
    commands = _commands(world, db, unreadable)
    results = _in_child(commands, {"MONITOR_DB": str(db)}, _as_nobody())
    _all_fail(results, commands, str(unreadable), "permission denied", "readable")


@pytest.mark.parametrize(
    ("command", "fault"), [("once", "locked"), ("search", "deep"), ("check", "timeout-inf")]
)
def test_real_processes_print_one_line_and_no_traceback(
    world: World, holder: tuple[Path, subprocess.Popen[str]], command: str, fault: str
) -> None:
    db, process = holder
    path = world.config
    if fault != "locked":
        path = world.base / f"real-{fault}.toml"
        changes = {"extract__deep": DEEP} if fault == "deep" else {"fetch__timeout": "inf"}
        path.write_text(
            _config_text(world.server, world.base / "member.html", **changes), encoding="utf-8"
        )
    args = [command, *ARGS[command], "--config", str(path)]
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env={**os.environ, "MONITOR_DB": str(db)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: ")
    if fault == "locked":
        assert f"pid {process.pid}" in line


def test_every_numeric_config_key_refuses_inf_nan_negative_and_huge() -> None:
    """Enumerated from the pydantic models, so a new number without bounds fails here."""
    from pydantic import BaseModel

    def numbers(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, type]]:
        for name, info in model.model_fields.items():
            kind = info.annotation
            args = getattr(kind, "__args__", ())
            base = next((a for a in (kind, *args) if a in (int, float)), None)
            inner = next(
                (a for a in (kind, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
                None,
            )
            if get_origin(kind) in (tuple, dict):  # lists of sources, rules: not a section
                inner = None
            if base is not None and kind is not bool:
                yield f"{prefix}{name}", base
            elif inner is not None and prefix.count(".") < 1:
                yield from numbers(inner, f"{prefix}{name}.")

    found = dict(numbers(config.Settings, ""))
    assert "fetch.timeout" in found and "schedule.interval_minutes" in found
    for key, kind in found.items():
        section, name = key.split(".")
        for value in (float("inf"), float("nan"), -1, 10**18):
            if kind is int and value != value:  # nan is not an int in TOML either
                continue
            raw: dict[str, Any] = {section: {name: value}}
            with pytest.raises(config.ConfigError) as caught:
                config.parse(raw, environment=False)
            message = str(caught.value)
            assert key in message and "\n" not in message, (key, value, message)


def _wait_for(condition: Any, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_the_service_logs_a_locked_database_and_polls_again_after(world: World) -> None:
    """`monitor run`: a poll that meets a locked database logs one line and the service goes
    on; once the lock is gone, the next poll stores again."""
    db = _case(world, "service")
    path = world.base / "service.toml"
    path.write_text(
        _config_text(
            world.server,
            world.base / "member.html",
            schedule__interval_minutes="0.01",
            service__deliver_seconds="0.5",
            service__heartbeat_seconds="0.5",
        ).replace("[service]\n", "[service]\njitter_seconds = 0\n"),
        encoding="utf-8",
    )
    log = world.base / "service.log"
    with log.open("w") as out:
        service = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(path)],
            env={**os.environ, "MONITOR_DB": str(db)},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:

        def events() -> list[dict[str, Any]]:
            return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

        _wait_for(lambda: any(e.get("message") == "polled" for e in events()))
        lock = _lock(db)
        _wait_for(
            lambda: any(
                e.get("message") == "job failed" and f"pid {lock.pid}" in str(e.get("error"))
                for e in events()
            )
        )
        seen = len(events())
        lock.kill()
        lock.wait()
        _wait_for(lambda: any(e.get("message") == "polled" for e in events()[seen:]))
        assert service.poll() is None  # still running
        text = log.read_text()
        assert "Traceback" not in text
        failed = [e for e in events() if e.get("message") == "job failed"]
        assert all("exception" not in e for e in failed)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
    assert stat.S_ISREG(db.stat().st_mode)
