"""`monitor datasette`: Datasette on the history, with the catalog's metadata.

Datasette is an optional extra (`pip install 'monitor[datasette]'`); it runs in this process
(no child to outlive it) and opens the database read-only, as Datasette does unless told to
write.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from monitor.errors import MonitorError
from monitor.store.datasette_meta import datasette_metadata

MISSING = (
    "Datasette is not installed in this environment; install it with "
    "`pip install 'monitor[datasette]'` (or `pip install 'datasette>=0.65.5,<0.66'`)"
)


def database_name(database: Path) -> str:
    """The name Datasette gives a database file: its name without the extension."""
    return database.stem


def metadata_json(database: Path) -> str:
    return json.dumps(datasette_metadata(database_name(database)), ensure_ascii=False, indent=2)


def write_metadata(database: Path, out: Path) -> None:
    out.write_text(metadata_json(database) + "\n", encoding="utf-8")


def serve(database: Path, host: str, port: int, extra: Sequence[str] = ()) -> int:
    """Run `datasette serve` on the database with the metadata until it is stopped; its exit
    status. A missing Datasette or database is a MonitorError naming the fix."""
    try:
        from datasette.cli import cli as datasette_cli
    except ImportError:
        raise MonitorError(MISSING) from None
    if not database.is_file():
        raise MonitorError(
            f"{database}: no such database; run `monitor once` (or `monitor demo`) first, or "
            "point $MONITOR_DB at an existing history"
        )
    with tempfile.TemporaryDirectory(prefix="monitor-datasette-") as folder:
        metadata = Path(folder) / "metadata.json"
        write_metadata(database, metadata)
        args = ["serve", str(database), "--metadata", str(metadata), "--host", host]
        args += ["--port", str(port), *extra]
        try:
            datasette_cli.main(args=args, prog_name="datasette", standalone_mode=False)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
    return 0
