"""Start-up time of the command line (issue 11), beside `python -c pass` in the same run.

Builds a small database with `monitor demo` (offline: the bundled feeds on loopback) and a fresh
heartbeat, then runs each command as a subprocess --runs times, round-robin so that the load of
a shared machine falls on all alike, and prints the median wall time and the median CPU time
(user + system of the child) of each. The commands share one cache folder ($XDG_CACHE_HOME), so
the read-only ones find the config stamped valid after the first round (monitor/config_stamp.py);
the "(no stamp)" row runs `search` with an empty cache folder each time: a config never validated
here, or just edited. With --before COMMIT the same commands also run on the
`monitor` package of that commit (`git archive`, put first on PYTHONPATH), in the same rounds.

    python bench/bench_startup.py [--runs 15] [--before COMMIT]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def demo_database(directory: Path) -> tuple[Path, str]:
    """A demo database under `directory`, and one stored document's URL."""
    subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--dir", str(directory)],
        check=True,
        capture_output=True,
        cwd=directory,
    )
    database = directory / "monitor.db"
    with closing(sqlite3.connect(database)) as db:
        (url,) = db.execute("SELECT url FROM documents ORDER BY url LIMIT 1").fetchone()
    return database, str(url)


def beat(database: Path) -> None:
    """A fresh heartbeat, as a running service writes it, so `monitor health` says healthy."""
    with closing(sqlite3.connect(database)) as db, db:
        now = datetime.now(UTC).isoformat()
        db.execute(
            "INSERT OR REPLACE INTO heartbeat (id, pid, started_at, beat_at) VALUES (1, ?, ?, ?)",
            [os.getpid(), now, now],
        )


def package_of(commit: str, directory: Path) -> Path:
    """The `monitor` package (and config/) of a commit, unpacked under `directory`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "monitor", "config"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


LOAD_CONFIG = "from monitor import config; config.load_shipped()"
NO_STAMP = "search (no stamp)"


def commands(url: str) -> list[tuple[str, list[str]]]:
    monitor = [sys.executable, "-m", "monitor"]
    return [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("monitor --help", [*monitor, "--help"]),
        ("monitor search 비핵화", [*monitor, "search", "비핵화"]),
        ("monitor show URL", [*monitor, "show", url]),
        ("monitor health", [*monitor, "health"]),
        (NO_STAMP, [*monitor, "search", "비핵화"]),
        # What of those three is importing and validating the whole config, as each of them does.
        ("config load alone", [sys.executable, "-c", LOAD_CONFIG]),
    ]


def measure(
    runs: int, trees: dict[str, Path | None], cwd: Path, database: Path, url: str
) -> dict[tuple[str, str], tuple[list[float], list[float]]]:
    """Per (tree, command): the wall and CPU seconds of each run."""
    times: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    caches = cwd / "caches"
    for run in range(-1, runs):  # round -1 writes the bytecode and the stamps; not counted
        for tree, path in trees.items():
            # Bytecode is written and used, as in an installed monitor (pip compiles a wheel's
            # modules): with $PYTHONDONTWRITEBYTECODE an editable install compiles every
            # module of monitor from source at each start (~100 ms here).
            skip = {"MONITOR_CONFIG", "PYTHONDONTWRITEBYTECODE"}
            env = {k: v for k, v in os.environ.items() if k not in skip}
            env["MONITOR_DB"] = str(database)
            env["XDG_CACHE_HOME"] = str(caches / tree)
            if path is not None:
                env["PYTHONPATH"] = str(path)
            for label, argv in commands(url):
                if label.startswith("python") and tree != next(iter(trees)):
                    continue  # the baseline once per round
                if label == NO_STAMP:
                    env = {**env, "XDG_CACHE_HOME": str(caches / f"{tree}-{run}")}
                beat(database)  # a loaded machine can take longer than a beat's lifetime
                cpu, start = _child_cpu(), time.perf_counter()
                done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
                wall = time.perf_counter() - start
                if done.returncode != 0:
                    raise SystemExit(f"{label} ({tree}) failed: {done.stderr.decode()[-500:]}")
                if run < 0:
                    continue
                walls, cpus = times.setdefault((tree, label), ([], []))
                walls.append(wall)
                cpus.append(_child_cpu() - cpu)
    return times


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", help="also measure the monitor package of this commit")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        database, url = demo_database(work)
        trees: dict[str, Path | None] = {"now": None}
        if args.before:
            trees[args.before] = package_of(args.before, work / "before")
        times = measure(args.runs, trees, work, database, url)
    base = statistics.median(times[("now", "python -c pass")][0]) * 1000
    print(
        f"    start-up, median of {args.runs} runs each: wall ms (CPU ms), and wall beyond `pass`"
    )
    for label, _ in commands(url):
        cells = []
        for tree in trees:
            if (tree, label) not in times:
                continue
            walls, cpus = times[(tree, label)]
            wall, cpu = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
            beyond = "" if label.startswith("python") else f" +{wall - base:.0f}"
            named = "" if tree == "now" else f"{tree}: "
            cells.append(f"{named}{wall:5.0f} ({cpu:4.0f}){beyond}")
        print(f"        {label:22} " + ";  ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
