"""Datasette on the history: the README's table descriptions and Datasette's metadata are one
text (monitor/store/catalog.py), and a real Datasette on loopback serves the canned queries and
the README's Korean prefix search from its search box."""

from __future__ import annotations

import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor import store
from monitor.cli import main
from monitor.store.catalog import TABLES, readme_text
from monitor.store.datasette_meta import QUERIES, datasette_metadata

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHIPPED = ROOT / "config" / "monitor.toml"
START = "<!-- tables: generated from monitor/store/catalog.py by scripts/readme_tables.py -->"
END = "<!-- tables end -->"

# Two editions of a series stored with `monitor add`: the second drops CVID.
EDITION_A = """---
title: Strategy A
date: 2030-01-01
---
We seek the complete, verifiable, and irreversible denuclearization of North Korea.

Our alliance keeps extended deterrence strong.
"""
EDITION_B = (
    EDITION_A.replace("Strategy A", "Strategy B")
    .replace("2030-01-01", "2030-02-01")
    .replace("complete, verifiable, and irreversible", "complete")
)


def test_the_readme_tables_are_the_catalogs() -> None:
    section = README.split("## The database", 1)[1]
    assert START in section and END in section, "README lost the generated-tables markers"
    generated = section.split(START, 1)[1].split(END, 1)[0].strip()
    assert generated == readme_text(), (
        "README's tables differ from monitor/store/catalog.py: edit the catalog, then run "
        "`python scripts/readme_tables.py`"
    )


def test_the_catalog_describes_every_table_and_column_and_no_other(tmp_path: Path) -> None:
    store.open_db(tmp_path / "m.db").close()
    with sqlite3.connect(tmp_path / "m.db") as conn:
        actual = {
            name: {r[1] for r in conn.execute(f"PRAGMA table_info({name})")} - {"id"}
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("_", "sqlite_", "versions_fts"))
        }
    assert {t.name: {c.name for c in t.columns} for t in TABLES} == actual


def test_write_metadata_gives_datasette_the_catalog(tmp_path: Path) -> None:
    out = tmp_path / "metadata.json"
    result = CliRunner().invoke(
        main,
        ["datasette", "--config", str(SHIPPED), "--write-metadata", str(out)],
        env={"MONITOR_DB": str(tmp_path / "history.db")},
    )
    assert result.exit_code == 0, result.output
    assert f"datasette {tmp_path / 'history.db'} -m {out}" in result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == datasette_metadata("history")
    database = written["databases"]["history"]
    assert set(database["queries"]) == {
        "latest_changes",
        "concept_timeline",
        "dropped_concepts",
        "document_versions",
    }
    versions = database["tables"]["versions"]
    assert versions["fts_table"] == "versions_fts" and versions["searchmode"] == "raw"
    assert versions["columns"]["content_hash"] == "sha256 of the normalised text"
    assert versions["columns"]["method"].startswith("how the text was obtained: trafilatura,")


def test_write_metadata_dash_prints_it() -> None:
    result = CliRunner().invoke(
        main,
        ["datasette", "--config", str(SHIPPED), "--write-metadata", "-"],
        env={"MONITOR_DB": "somewhere/else.db"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == datasette_metadata("else")


def test_without_datasette_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasette.cli", None)  # as if it were not installed
    result = CliRunner().invoke(
        main,
        ["datasette", "--config", str(SHIPPED)],
        env={"MONITOR_DB": str(tmp_path / "history.db")},
    )
    assert result.exit_code == 1
    assert "Datasette is not installed" in result.output
    assert "pip install 'monitor[datasette]'" in result.output


def test_a_missing_database_is_named_with_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["datasette", "--config", str(SHIPPED)],
        env={"MONITOR_DB": str(tmp_path / "nowhere.db")},
    )
    assert result.exit_code == 1
    assert f"{tmp_path / 'nowhere.db'}: no such database; run `monitor once`" in result.output
    assert not (tmp_path / "nowhere.db").exists()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database, plus two editions of a series of which the second drops CVID."""
    folder = tmp_path_factory.mktemp("history")
    runner = CliRunner()
    result = runner.invoke(main, ["demo", "--dir", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    database = folder / "monitor.db"
    for name, text in (("a.md", EDITION_A), ("b.md", EDITION_B)):
        (folder / name).write_text(text, encoding="utf-8")
        added = runner.invoke(
            main,
            ["add", str(folder / name), "--series", "nss", "--config", str(SHIPPED)],
            env={"MONITOR_DB": str(database)},
            catch_exceptions=False,
        )
        assert added.exit_code == 0, added.output
    return database


@dataclass(frozen=True)
class Datasette:
    base: str
    database: Path

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.base}{path}?{query}", timeout=30) as response:
            return json.load(response)


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        into.put(line)


@pytest.fixture(scope="module")
def datasette(history: Path) -> Iterator[Datasette]:
    """`monitor datasette --port 0` as a real server on 127.0.0.1, stopped with the tests."""
    env = os.environ | {"MONITOR_DB": str(history), "MONITOR_CONFIG": str(SHIPPED)}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "datasette", "--host", "127.0.0.1", "--port", "0"],
        cwd=history.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        deadline, seen, base = time.monotonic() + 90, [], None
        while base is None:
            assert process.poll() is None, f"datasette ended early: {''.join(seen)}"
            left = deadline - time.monotonic()
            assert left > 0, f"datasette did not start within 90 s: {''.join(seen)}"
            try:
                seen.append(lines.get(timeout=min(left, 1.0)))
            except queue.Empty:
                continue
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", seen[-1])
            base = found[1] if found else None
        server = Datasette(base, history)
        while True:  # ready once it answers
            try:
                server.get("/-/versions.json")
                break
            except OSError:
                assert time.monotonic() < deadline, "datasette never answered"
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    assert process.returncode is not None


def _monitor_json(database: Path, *args: str) -> Any:
    result = CliRunner().invoke(
        main,
        [*args, "--config", str(SHIPPED), "--json"],
        env={"MONITOR_DB": str(database)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_datasette_serves_the_catalogs_metadata(datasette: Datasette) -> None:
    assert datasette.get("/-/metadata.json") == datasette_metadata("monitor")
    table = datasette.get("/monitor/versions.json", _size="1")
    assert table["columns"][:3] == ["id", "document_id", "fetched_at"]
    queries = {q["name"] for q in datasette.get("/monitor.json")["queries"]}
    assert queries == {q.name for q in QUERIES}
    with urllib.request.urlopen(f"{datasette.base}/monitor/versions", timeout=30) as response:
        page = response.read().decode("utf-8")
    assert "sha256 of the normalised text" in page  # a column's description, shown
    assert "<code>versions_fts</code> is its full-text index" in page


def test_latest_changes_are_the_ones_monitor_changes_lists(datasette: Datasette) -> None:
    rows = datasette.get("/monitor/latest_changes.json", _shape="array")
    listed = _monitor_json(datasette.database, "changes")
    assert len(rows) >= 2
    assert {r["id"] for r in rows} == {c["id"] for c in listed}
    assert [r["detected_at"] for r in rows] == sorted(
        (r["detected_at"] for r in rows), reverse=True
    )
    assert any("2→1" in r["verdict"] and "Leaders" in r["title"] for r in rows), rows


def test_a_concepts_timeline_counts_what_monitor_timeline_counts(datasette: Datasette) -> None:
    concept = "complete-denuclearization"
    rows = datasette.get("/monitor/concept_timeline.json", _shape="array", concept=concept)
    periods = _monitor_json(datasette.database, "timeline", concept, "--by", "month")
    assert sum(r["mentions"] for r in rows) == sum(p["count"] for p in periods) > 0
    assert rows == sorted(rows, key=lambda r: r["month"])


def test_every_dropped_concept_is_listed_with_its_sentence(datasette: Datasette) -> None:
    rows = datasette.get("/monitor/dropped_concepts.json", _shape="array")
    assert [(r["title"], r["concept"]) for r in rows] == [("Strategy B", "cvid")]
    assert rows[0]["old_count"] == 1
    assert "verifiable, and irreversible denuclearization" in rows[0]["sentence"]


def test_a_documents_versions_are_the_ones_monitor_show_lists(datasette: Datasette) -> None:
    url = datasette.get("/monitor/latest_changes.json", _shape="array")[-1]["url"]
    rows = datasette.get("/monitor/document_versions.json", _shape="array", url=url)
    shown = _monitor_json(datasette.database, "show", url)
    assert [r["id"] for r in rows] == [v["id"] for v in shown["versions"]] != []
    for row, version in zip(rows, shown["versions"], strict=True):
        counts = ", ".join(f"{k} {n}" for k, n in sorted(version["concepts"].items()))
        assert row["concepts"] == (counts or None)


def test_the_search_box_takes_the_readmes_korean_prefix_search(datasette: Datasette) -> None:
    def titles(search: str) -> set[str]:
        found = datasette.get(
            "/monitor/versions.json", _search=search, _shape="array", _col="title", _size="max"
        )
        return {row["title"] for row in found}

    prefix, word = titles("비핵화*"), titles("비핵화")
    assert word < prefix, "the prefix finds 비핵화를, 비핵화의 … too"
    hits = _monitor_json(datasette.database, "search", "비핵화")
    assert {h["title"] for h in hits} <= prefix
    assert titles('"extended deterrence"') >= {"Strategy A", "Strategy B"}
