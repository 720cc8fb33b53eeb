"""Page render times of the web view (`monitor serve`) on a large history.

    .venv/bin/python bench/web.py [--db PATH] [--repeat 20]

By default it reads the 1,000,000-version history bench/history.py caches (build it first with
`.venv/bin/python bench/history.py --sizes 1000000 --build-only`), else the demo history it makes
in a temporary folder; the first line says which. The server is monitor's own (uvicorn on
loopback, in a thread of this process, the database opened read-only per request as in
`monitor serve`); each page is fetched `--repeat` times over HTTP after one warm-up fetch, and the
p50 and p95 of the wall time are printed per page kind, beside a baseline measured in the same
run: the static stylesheet, which reads no database (the ratio shows the pages' own work). Goal
(issue 13): p95 at most 100 ms for the changes list, a change, a document and a concept (as
the site links it: by month); its heaviest form, weekly and per source, is shown beside.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2

from bench.history import cached
from monitor.config import Settings, load_shipped
from monitor.web.server import running

SEED = 13
GOAL_MS = 100.0


def _ids(database: Path, table: str, count: int) -> list[int]:
    """`count` ids of `table` spread over it (the first id at or after a random one)."""
    rng = random.Random(SEED)
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        top = connection.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0] or 0
        found = []
        for _ in range(count):
            row = connection.execute(
                f"SELECT id FROM {table} WHERE id >= ? ORDER BY id LIMIT 1",
                [rng.randint(1, max(top, 1))],
            ).fetchone()
            if row:
                found.append(int(row[0]))
        return found
    finally:
        connection.close()


def pages(database: Path, settings: Settings, count: int) -> dict[str, list[str]]:
    """The paths to fetch, by page kind."""
    concepts = list(settings.concepts)[:4]
    return {
        "baseline: /static/style.css": ["/static/style.css"],
        "changes list": [
            "/changes",
            "/changes?concept=cvid",
            "/changes?status=dropped",
            "/changes?move=downgrade",
            "/changes?page=5",
        ],
        "a change": [f"/changes/{i}" for i in _ids(database, "changes", count)],
        "a document": [f"/documents/{i}" for i in _ids(database, "documents", count)],
        "a concept": [f"/concepts/{quote(c)}" for c in concepts],  # as linked: by month
        # the heaviest form: ~300 weeks times 6 sources, 1,800 bars, 400 KB of SVG
        "a concept, weekly by source": [
            f"/concepts/{quote(c)}?by=week&split=source" for c in concepts
        ],
        "search": ["/search?q=" + quote(q) for q in ("denuclearization", "비핵화", '"nuclear"')],
    }


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def demo_history() -> Path:
    from monitor.demo_run import run_demo

    folder = Path(tempfile.mkdtemp(prefix="monitor-bench-web-"))
    run_demo(folder, lambda _line: None)
    return folder / "monitor.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="the history (default: the cached 1M one)")
    parser.add_argument("--repeat", type=int, default=20, help="fetches of each path")
    args = parser.parse_args()
    database = args.db
    if database is None:
        database = cached(1_000_000)
        if database.exists():
            print(f"history: {database} (the 1,000,000 versions of bench/history.py)")
        else:
            print(f"history: the demo's ({database} is not built: bench/history.py builds it)")
            database = demo_history()
    else:
        print(f"history: {database}")
    shipped = load_shipped()
    settings = shipped.model_copy(
        update={"storage": shipped.storage.model_copy(update={"database": str(database)})}
    )
    kinds = pages(database, settings, 10)
    results: dict[str, list[float]] = {}
    with running(settings) as server, httpx2.Client(base_url=server.url, timeout=120) as http:
        for kind, paths in kinds.items():
            times = []
            for path in paths:
                first = http.get(path)  # warm-up: the page's rows read into SQLite's cache once
                if first.status_code != 200:
                    raise SystemExit(f"{path}: status {first.status_code}: {first.text[:300]}")
                for _ in range(max(1, args.repeat // len(paths))):
                    started = time.perf_counter()
                    http.get(path).raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
            results[kind] = times
    base = statistics.median(results["baseline: /static/style.css"])
    print(f"{'page':<30} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50/baseline':>13}")
    for kind, times in results.items():
        p50, p95 = p(times, 0.5), p(times, 0.95)
        goal = (
            ""
            if kind.startswith(("baseline", "search"))
            else ("  ok" if p95 <= GOAL_MS else f"  over the {GOAL_MS:.0f} ms goal")
        )
        print(
            f"{kind:<30} {len(times):>4} {p50:>8.1f} {p95:>8.1f} {max(times):>8.1f} "
            f"{p50 / base:>12.1f}x{goal}"
        )


if __name__ == "__main__":
    main()
