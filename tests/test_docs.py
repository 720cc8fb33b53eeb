"""The README stays true: its quick start, its command table, its tables, and the demo it promises."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import store
from monitor.cli import main

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start() -> list[str]:
    """The fenced block after '## Quick start', as .ci/run reads it."""
    section = README.split("## Quick start", 1)[1]
    return section.split("```", 2)[1].strip().splitlines()


def test_quick_start_is_two_commands_demo_then_tests() -> None:
    setup, tests = quick_start()
    assert "pip install" in setup and "-e '.[dev]'" in setup
    assert setup.endswith("monitor demo")
    assert tests.startswith(".venv/bin/pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert (
        "## Quick start" in ci
        and 'bash -c "${quickstart[0]}"' in ci
        and 'bash -c "${quickstart[1]}"' in ci
    )


def test_the_layout_section_names_modules_that_exist() -> None:
    """ "How the code is laid out" walks from a source to an alert through real modules: each path
    it names exists (a bare name or a stage-relative one is found under monitor/), and every stage
    package of monitor/ is on the walk."""
    section = README.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`((?:[\w/]+/)?\w+\.(?:py|toml))`", section)
    assert len(named) > 15
    for name in named:
        found = (ROOT / name).exists() or any(
            p.as_posix().endswith("/" + name) for p in (ROOT / "monitor").rglob(Path(name).name)
        )
        assert found, f"README 'How the code is laid out' names {name}, which does not exist"
    packages = {p.parent.name for p in (ROOT / "monitor").glob("*/__init__.py")} - {"demo"}
    for package in packages:
        assert f"monitor/{package}/" in section, (
            f"the layout walk does not visit monitor/{package}/"
        )


def test_every_command_is_documented_with_an_example() -> None:
    for name, command in main.commands.items():
        assert f"`monitor {name}" in README, f"README does not document `monitor {name}`"
        assert "Example: monitor " + name in (command.help or ""), (
            f"`monitor {name} --help` has no example"
        )


def test_every_table_and_column_is_documented(tmp_path: Path) -> None:
    store.open_db(tmp_path / "m.db").close()
    with sqlite3.connect(tmp_path / "m.db") as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith(("_", "sqlite_", "versions_fts"))
        ]
        for table in tables:
            assert f"**`{table}`**" in README, f"README does not document table {table}"
            section = README.split(f"**`{table}`**", 1)[1].split("**`", 1)[0]
            for column in (r[1] for r in conn.execute(f"PRAGMA table_info({table})")):
                if column != "id":
                    assert f"`{column}`" in section, f"README does not document {table}.{column}"


def test_the_demo_runs_offline_and_finds_the_concepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "production.db"
    monkeypatch.setenv("MONITOR_DB", str(elsewhere))  # the demo never writes into it
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    first = re.search(r"first poll of (\d+) sources: (\d+) fetched, (\d+) new documents", out)
    assert first and int(first[1]) >= 6 and int(first[3]) >= 60
    second = re.search(
        r"second poll: (\d+) not modified \(conditional GET\), (\d+) new versions", out
    )
    assert second and second[1] == first[1] and second[2] == "0"
    for concept in ("cvid", "complete-denuclearization", "denuclearization", "extended-deterrence"):
        assert re.search(rf"^  {concept} +\d+ in +\d+ documents", out, re.M), concept
    assert "완전한 비핵화" in out and "problem recorded" not in out
    with sqlite3.connect(tmp_path / "monitor.db") as conn:
        counts = dict(
            conn.execute("SELECT method, COUNT(*) FROM versions GROUP BY method").fetchall()
        )
    assert counts.get("feed", 0) > 50 and sum(counts.values()) - counts["feed"] >= 10
    assert not elsewhere.exists()
    assert "succession: United States-Republic of Korea Leaders" in out, "a wording change"
    # the verdict the README quotes for the demo's succession is the one the demo prints
    quoted = re.search(r"shows the succession:\n`([^`]+)`", README)
    assert quoted is not None and f"\n       {quoted[1]}\n" in out


def test_every_picture_and_page_the_readme_links_exists() -> None:
    """The README's images and its links to files of the repository (the web view's
    screenshots, written by scripts/web_screenshots.py) are there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?:docs|scripts|bench|config)/[^)#\s]+)\)", readme)
    assert any(t.startswith("docs/screenshots/") for t in targets)
    missing = [t for t in targets if not (ROOT / t).is_file()]
    assert not missing, f"README links files that are not there: {missing}"
    taken = {p.name for p in (ROOT / "docs" / "screenshots").glob("*.png")}
    shown = {Path(t).name for t in targets if t.startswith("docs/screenshots/")}
    assert taken == shown, f"screenshots the README does not link: {sorted(taken - shown)}"
