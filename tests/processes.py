"""Which processes a test's monitor left behind, from Linux /proc.

    mark = marker()
    service = subprocess.Popen([...], env={**os.environ, **mark.env})
    tree = Tree.of(service.pid)      # everything the service started, as of now
    service.kill()
    assert wait_for(lambda: not tree.alive() and not mark.alive()), tree.describe()

A process is identified by its pid and its start time (field 22 of /proc/PID/stat), so a pid the
kernel hands to a new process is not taken for the old one. The marker is an environment variable
that every process the service starts inherits (extraction workers, multiprocessing's resource
tracker): scanning for it finds a descendant started after the tree was read, or reparented away
from it. Zombies count as gone: they have ended and only wait to be reaped.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
MARK = "MONITOR_TEST_PROCESS_MARK"
HAS_PROC = (PROC / "self" / "stat").exists()


@dataclass(frozen=True)
class Stat:
    pid: int
    parent: int
    state: str
    started: int  # clock ticks after boot
    cpu: float  # seconds of user and system time


def stat(pid: int) -> Stat | None:
    """The process's /proc/PID/stat, or None when there is no such process."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
    ticks = os.sysconf("SC_CLK_TCK")
    return Stat(
        pid, int(fields[1]), fields[0], int(fields[19]), (int(fields[11]) + int(fields[12])) / ticks
    )


def peak_mb(pid: int) -> float | None:
    """The process's own peak resident set (VmHWM in /proc/PID/status), in MB; None once it has
    ended (a zombie has no memory left to describe)."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def _all() -> Iterator[Stat]:
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            found = stat(int(entry.name))
            if found is not None:
                yield found


def cmdline(pid: int) -> str:
    try:
        return (
            (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


@dataclass(frozen=True)
class Process:
    pid: int
    started: int
    command: str  # its cmdline when the tree was read


@dataclass(frozen=True)
class Tree:
    """A process's descendants, read at one moment."""

    root: int
    descendants: tuple[Process, ...]

    @classmethod
    def of(cls, pid: int) -> Tree:
        everything = list(_all())
        assert any(s.pid == pid for s in everything), f"process {pid} is not running"
        children: dict[int, list[Stat]] = {}
        for found in everything:
            children.setdefault(found.parent, []).append(found)
        seen: list[Process] = []
        todo = [pid]
        while todo:
            for child in children.get(todo.pop(), []):
                if child.state != "Z":
                    seen.append(Process(child.pid, child.started, cmdline(child.pid)))
                    todo.append(child.pid)
        return cls(pid, tuple(seen))

    def pids(self) -> set[int]:
        return {p.pid for p in self.descendants}

    def alive(self) -> list[Process]:
        """The descendants still running (the same processes, not others given their pids)."""
        return [p for p in self.descendants if _same(p.pid, p.started)]

    def describe(self, processes: list[Process] | None = None) -> str:
        shown = self.alive() if processes is None else processes
        return "; ".join(f"{p.pid}: {p.command[:120]}" for p in shown) or "none"


def _same(pid: int, started: int) -> bool:
    found = stat(pid)
    return found is not None and found.started == started and found.state != "Z"


@dataclass(frozen=True)
class Marker:
    """An environment variable that marks the processes of one test's service."""

    value: str

    @property
    def env(self) -> dict[str, str]:
        return {MARK: self.value}

    def alive(self, besides: int | None = None) -> set[int]:
        """Every running process carrying the mark (but `besides`, e.g. the service itself)."""
        needle = f"{MARK}={self.value}".encode()
        found = set()
        for process in _all():
            if process.state == "Z" or process.pid == besides:
                continue
            try:
                environ = (PROC / str(process.pid) / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.add(process.pid)
        return found


def marker() -> Marker:
    return Marker(uuid.uuid4().hex)


def wait_for(condition: Callable[[], object], seconds: float = 60) -> bool:
    """Poll `condition` until it is true or `seconds` have passed; whether it became true."""
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def cli_probe(report: str) -> str:
    """A script for `python -c SCRIPT OUT ARGS...` that runs `monitor ARGS` in that process and
    writes {"code": its exit status, **REPORT} as JSON to OUT: `report` is Python text for the
    other keys, read after the command ran (e.g. what `sys.modules` then held)."""
    return (
        "\nimport json, runpy, sys\n\n"
        'out, sys.argv = sys.argv[1], ["monitor", *sys.argv[2:]]\n'
        "try:\n"
        '    runpy.run_module("monitor", run_name="__main__", alter_sys=True)\n'
        "    code = 0\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        'with open(out, "w", encoding="utf-8") as file:\n'
        f'    json.dump({{"code": code, {report}}}, file)\n'
    )
