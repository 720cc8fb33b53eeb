"""After a plain `pip install` of the wheel, the README's quick start demo and every command it
says to try afterwards run from an empty folder, with the shipped config."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What pip prints when it had to reach an index it cannot reach from here.
OFFLINE = re.compile(
    r"NewConnectionError|Temporary failure in name resolution|Network is unreachable|"
    r"No matching distribution found|Could not find a version"
)


def _afterwards() -> list[str]:
    """The commands of the README's "Afterwards try:" block, continuation lines joined."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("Afterwards try:\n\n```\n", 1)[1].split("```", 1)[0]
    return [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_readme_commands_run_from_an_empty_folder_after_pip_install(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "PYTHON"))}
    wheels = tmp_path / "wheels"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(wheels)],
        tmp_path,
        env,
    )
    if built.returncode != 0 and OFFLINE.search(built.stdout + built.stderr):
        pytest.skip(f"building the wheel needs the network here: {built.stderr.strip()[-300:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("monitor-*.whl")
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)  # no system packages
    assert made.returncode == 0, made.stderr
    installed = _run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-input", str(wheel)], tmp_path, env
    )
    if installed.returncode != 0 and OFFLINE.search(installed.stdout + installed.stderr):
        pytest.skip(f"installing needs the network here: {installed.stderr.strip()[-300:]}")
    assert installed.returncode == 0, installed.stderr
    monitor = venv / "bin" / "monitor"
    package = _run(
        [str(venv / "bin" / "python"), "-c", "import monitor; print(monitor.__file__)"],
        tmp_path,
        env,
    )
    assert package.returncode == 0, package.stderr
    demo_data = Path(package.stdout.strip()).parent / "demo"
    assert not str(demo_data).startswith(str(ROOT))  # the installed copy, not the checkout

    empty = tmp_path / "empty"
    empty.mkdir()
    demo = _run([str(monitor), "demo"], empty, env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr
    commands = _afterwards()
    assert len(commands) >= 6, commands
    for command in commands:
        words = shlex.split(command)
        extra = {}
        while "=" in words[0] and not words[0].startswith((".", "/")):
            key, value = words.pop(0).split("=", 1)
            extra[key] = value
        assert words[0] == ".venv/bin/monitor", command
        words = [
            str(demo_data / w.removeprefix("monitor/demo/")) if w.startswith("monitor/demo/") else w
            for w in words[1:]
        ]
        done = _run([str(monitor), *words], empty, env | extra)
        where = f"{command}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == 0, where
        assert "Traceback" not in done.stderr, where
    # The readers used the shipped config and said so; nothing but what the commands wrote is here.
    assert sorted(p.name for p in empty.iterdir()) == ["demo", "digest.html", "redline.html"]
    search = _run(
        [str(monitor), "search", "비핵화"], empty, env | {"MONITOR_DB": "demo/monitor.db"}
    )
    assert search.returncode == 0 and search.stdout.strip(), search.stderr
    assert search.stderr.splitlines() == [
        "no config/monitor.toml here: using the shipped default config (`monitor init` writes "
        "it to edit; --config or $MONITOR_CONFIG picks another)"
    ]
