"""Whether `monitor once` stores the same rows as another checkout's, on a small bench run.

Serves the bench's feeds (bench/bench_ingest.py, default 4 feeds x 25 articles), runs the first
and the second `monitor once` with this checkout and with CHECKOUT (e.g. `git archive` of the
commit before a change), and compares every table: row ids are replaced by what they stand for
(a document by its URL, a version by its document's URL and content hash, a change by its
kind, document and versions) and the columns that hold the time of the run (`*_at`,
`elapsed_ms`) are left out, since they differ between any two runs. The full-text index is
compared by its rows and by the versions a few queries find, not by its internal segments
(which depend on how the inserts were grouped into transactions).

Usage: python bench/compare_ingest_rows.py CHECKOUT [--feeds 4] [--per-feed 25]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import bench_ingest as bench

TIME_COLUMNS = frozenset({"fetched_at", "started_at", "elapsed_ms", "applied_at", "detected_at"})
SKIPPED = ("versions_fts_data", "versions_fts_idx", "versions_fts_docsize", "versions_fts_config")
QUERIES = ("denuclearization", "korea", "비핵화", '"extended deterrence"', "sanction*")


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, ids replaced by what they stand for, sorted."""
    db = sqlite3.connect(path)
    doc = dict(db.execute("SELECT id, url FROM documents"))
    ver = {
        i: (doc[d], h)
        for i, d, h in db.execute("SELECT id, document_id, content_hash FROM versions")
    }
    change = {
        i: (k, doc[d], ver.get(v), ver.get(o))
        for i, k, d, v, o in db.execute(
            "SELECT id, kind, document_id, version_id, old_version_id FROM changes"
        )
    }
    maps = {
        "document_id": doc,
        "version_id": ver,
        "old_version_id": ver,
        "change_id": change,
        "superseded_by": change,
    }
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name not in SKIPPED
    ]
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in tables:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info('{table}')")]
        select = "rowid, *" if table == "versions_fts" else "*"
        rows = []
        for values in db.execute(f"SELECT {select} FROM '{table}'"):
            names = (["rowid"] if table == "versions_fts" else []) + columns
            named = dict(zip(names, values, strict=True))
            if table == "versions_fts":
                named["rowid"] = ver.get(named["rowid"])
            elif "id" in named and table in ("documents", "versions", "changes"):
                named.pop("id")
            elif table in ("mentions", "fetches", "alerts", "heartbeat", "_sqlite_migrations"):
                named.pop("id", None)
            kept = tuple(
                (k, maps[k].get(v) if k in maps else v)
                for k, v in sorted(named.items())
                if k not in TIME_COLUMNS and not k.endswith("_at")
            )
            rows.append(kept)
        out[table] = sorted(rows, key=repr)
    for query in QUERIES:
        found = db.execute(
            "SELECT rowid FROM versions_fts WHERE versions_fts MATCH ?", [query]
        ).fetchall()
        out[f"fts {query}"] = sorted((repr(ver.get(r)),) for (r,) in found)
    return out


def runs(
    roots: list[Path], feeds: int, per_feed: int
) -> list[list[dict[str, list[tuple[Any, ...]]]]]:
    """For each checkout in `roots`, the database after its first and after its second
    `monitor once`, all against the same servers (so the same URLs and feed bodies)."""
    pages = bench.real_pages()
    out = []
    with bench.serve(feeds, per_feed, pages) as urls:
        for root in roots:
            with tempfile.TemporaryDirectory() as tmp:
                config = bench.write_config(Path(tmp), urls)
                dumps = []
                for _ in range(2):
                    bench.run_once(config, root)
                    dumps.append(dump(Path(tmp) / "bench.db"))
                out.append(dumps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkout", type=Path)
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--per-feed", type=int, default=25)
    args = parser.parse_args(argv)
    ours, theirs = runs([bench.ROOT, args.checkout.resolve()], args.feeds, args.per_feed)
    differ = 0
    for n, (a, b) in enumerate(zip(ours, theirs, strict=True), 1):
        for table in sorted(set(a) | set(b)):
            rows_a, rows_b = a.get(table, []), b.get(table, [])
            same = rows_a == rows_b
            differ += not same
            print(f"poll {n} {table}: {len(rows_a)} rows {'same' if same else 'DIFFER'}")
            if not same:
                extra = [r for r in rows_a if r not in rows_b][:2]
                missing = [r for r in rows_b if r not in rows_a][:2]
                print(f"  only here: {extra}\n  only there: {missing}")
    print("identical" if not differ else f"{differ} tables differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
