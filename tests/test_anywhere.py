"""Commands work anywhere: the shipped config when no config file is found, --db beside
$MONITOR_DB, and read-only commands that never create, migrate or change the database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlite_utils import Database

from monitor import store
from monitor.cli import main
from tests.conftest import config_head, shipped_concepts
from tests.servers import LocalServer, feed_toml, serve_demo_site

# Each command that only reads the database, with what it needs to run; {url} is a stored
# document's address and {out} a file outside the database's folder.
READERS: dict[str, list[str]] = {
    "search": ["search", "비핵화"],
    "show": ["show", "{url}"],
    "changes": ["changes"],
    "timeline": ["timeline", "complete-denuclearization"],
    "sources": ["sources"],
    "digest": ["digest", "--date", "2023-05-01", "--out", "{out}"],
}

# Every migration's name, in order (all pending on an empty database).
ALL_MIGRATIONS = [m.name for m in store.migrations.pending(Database(memory=True))]


def _config(folder: Path, server: LocalServer, *, extra: bool = False) -> Path:
    """A config of the demo's Korean feed (and, with `extra`, a source never polled)."""
    never = feed_toml("never-polled", server.url("/none.xml"), None) if extra else ""
    path = folder / "monitor.toml"
    path.write_text(
        f"""
{config_head(None)}{feed_toml("korean", server.url("/feeds/korean-policy.xml"))}{never}
{shipped_concepts()}""",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class Seeded:
    folder: Path
    config: Path
    db: Path
    url: str
    server: LocalServer


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A real database, filled by `monitor once` from the demo feed on loopback."""
    folder = tmp_path_factory.mktemp("seeded")
    with LocalServer() as server:
        serve_demo_site(server)
        config = _config(folder, server)
        db = folder / "monitor.db"
        once = CliRunner(env={"MONITOR_DB": str(db)}).invoke(
            main, ["once", "--config", str(config)]
        )
        assert once.exit_code == 0, once.output
        with sqlite3.connect(db) as conn:
            (url,) = conn.execute("SELECT url FROM documents LIMIT 1").fetchone()
        yield Seeded(folder, config, db, url, server)


def _reader(name: str, url: str, out: Path) -> list[str]:
    return [a.format(url=url, out=out) for a in READERS[name]]


def _read(name: str, seeded: Seeded, db: Path, out: Path, config: Path | None = None) -> Result:
    """Run the reader `name` on the database `db` with `config` (else the seeded one's)."""
    args = [*_reader(name, seeded.url, out), "--config", str(config or seeded.config)]
    return CliRunner(env={"MONITOR_DB": str(db)}).invoke(main, args)


def _folder_and_db(folder: Path, *below: str) -> tuple[Path, Path]:
    """The folder, made, and the path of a monitor.db in it (or in the subfolders `below`)."""
    folder.mkdir()
    return folder, folder.joinpath(*below, "monitor.db")


def _one_line(stderr: str) -> str:
    """The only line of `stderr` (failing the test if there are more or none)."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the folder that is not SQLite's WAL or index: its bytes and mtime."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.iterdir()
        if not p.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_reader_on_a_missing_database_creates_nothing_and_says_so(
    name: str, seeded: Seeded, tmp_path: Path
) -> None:
    empty, db = _folder_and_db(tmp_path / "empty", "sub")
    result = _read(name, seeded, db, tmp_path / "digest.html")
    assert result.exit_code == 1, result.output
    assert list(empty.iterdir()) == []  # no database, no folder, no -wal
    line = _one_line(result.stderr)
    assert str(db) in line and "monitor once" in line and "--db" in line
    assert not (tmp_path / "digest.html").exists()


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_reader_changes_no_byte_of_a_real_database(
    name: str, seeded: Seeded, tmp_path: Path
) -> None:
    """The config names a source the database has not seen: a reader does not add it. The copy
    is in rollback-journal mode, as a backup (`sqlite3 .backup`) leaves it: a reader must not
    turn it to WAL either."""
    copy, db = _folder_and_db(tmp_path / "db")
    source, target = sqlite3.connect(seeded.db), sqlite3.connect(db)
    source.backup(target)
    target.execute("PRAGMA journal_mode=delete")
    source.close()
    target.close()
    os.utime(db, ns=(1_000_000_000, 1_000_000_000))
    before = _state(copy)
    config = _config(tmp_path, seeded.server, extra=True)
    result = _read(name, seeded, db, tmp_path / "digest.html", config)
    assert result.exit_code == 0, result.output
    assert _state(copy) == before
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sources")}
    assert names == {"korean"}
    if name == "sources":  # the configured source never polled is still listed
        assert "never-polled" in result.stdout


def _old_database(path: Path) -> None:
    """A database as an earlier release left it: its last migration not yet applied."""
    last = ALL_MIGRATIONS[-1]
    old = Database(path)
    old.execute("PRAGMA journal_mode=wal")
    store.migrations.apply(old, stop_before=last)
    old.close()


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_reader_on_an_older_database_runs_no_migration(
    name: str, seeded: Seeded, tmp_path: Path
) -> None:
    folder, db = _folder_and_db(tmp_path / "old")
    _old_database(db)
    os.utime(db, ns=(1_000_000_000, 1_000_000_000))
    before = _state(folder)
    result = _read(name, seeded, db, tmp_path / "digest.html")
    assert result.exit_code == 1, result.output
    assert _state(folder) == before
    line = _one_line(result.stderr)
    assert str(db) in line and "older" in line and "writing command" in line
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        applied = conn.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0]
    assert applied == len(ALL_MIGRATIONS) - 1


def test_db_wins_over_monitor_db(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_DB", str(tmp_path / "elsewhere.db"))
    result = CliRunner().invoke(
        main, ["search", "비핵화", "--config", str(seeded.config), "--db", str(seeded.db)]
    )
    assert result.exit_code == 0, result.output
    assert "korean" in result.stdout
    check = CliRunner().invoke(main, ["check", "--config", str(seeded.config), "--db", "x.db"])
    assert check.exit_code == 0 and check.stdout.rstrip().endswith("database x.db")
    assert not (tmp_path / "elsewhere.db").exists()


def test_help_names_db_and_monitor_db() -> None:
    for name in main.commands:
        if name == "demo":  # its database is DIR/monitor.db (--dir)
            continue
        text = CliRunner().invoke(main, [name, "--help"]).stdout
        assert "--db" in text and "$MONITOR_DB" in text, name


def _monitor(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_from_an_empty_folder_the_shipped_config_is_used_and_said(
    seeded: Seeded, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    check = _monitor(["check"], empty)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("the shipped default config: ok: ")
    assert check.stderr.splitlines() == [check.stderr.strip()]
    assert "shipped default config" in check.stderr and "monitor init" in check.stderr
    # A reader with the shipped config: its database (monitor.db here) is not there.
    search = _monitor(["search", "비핵화"], empty)
    assert search.returncode == 1
    assert search.stderr.splitlines()[1:] == [f"Error: monitor.db: {NO_DATABASE}"]
    assert list(empty.iterdir()) == []
    # --db points it at a real one; the shipped config's sources are listed, never polled.
    sources = _monitor(["sources", "--db", str(seeded.db)], empty)
    assert sources.returncode == 0, sources.stderr
    assert "yonhap-en-nk" in sources.stdout and "korean" not in sources.stdout
    assert list(empty.iterdir()) == []


NO_DATABASE = (
    "no database here; run `monitor once` (or `monitor demo`) to create one, "
    "or pass --db PATH (or set MONITOR_DB) to an existing one"
)
