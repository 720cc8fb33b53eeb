"""Ingest throughput and the cost of a second poll, measured against feeds served on loopback.

Serves N feeds, each on its own loopback address (127.0.0.2, 127.0.0.3, ...), each listing
articles made of real pages (the bundled demo pages, plus ../shared/corpus/html when present).
Then, in one run:
  (b) `monitor once` over all of it, in articles per second, beside the physical limit: monitor's
      own extraction (monitor.analysis.extract, its settings) of the same articles in os.cpu_count()
      processes with no I/O, measured in the same round, and their ratio (target >= 0.8); also
      its sustained rate, from the 10th to the 90th percent of the articles stored, once the
      poll's imports, feeds and worker start-up are behind it (as a running service's are);
  (c) the CPU time of an immediate second `monitor once` (nothing changed) as a share of the first;
  (d) the cost of relevance, facets and negation: the first `monitor once` with the shipped
      [relevance] and [facets] beside the same run with plain matching (concept patterns only),
      interleaved round by round.

Usage: python bench/bench_ingest.py [--feeds 20] [--per-feed 50] [--rounds 3] [--skip-plain]
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.local_sites import Quiet, feed_xml, feeds_parser, number, serve_hosts  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "html"


def real_pages() -> list[bytes]:
    pages = sorted((ROOT / "monitor" / "demo" / "pages").rglob("*.html"))
    if CORPUS.is_dir():
        pages += sorted(p for p in CORPUS.rglob("*.html") if not p.name.startswith("expected"))
    return [p.read_bytes() for p in pages]


def handler_for(feed: bytes, pages: list[bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(Quiet):
        def do_GET(self) -> None:
            etag = [("ETag", '"feed"')]
            if self.path == "/feed.xml":
                if self.headers.get("If-None-Match") == '"feed"':
                    self.send(304, b"", "application/rss+xml", etag)
                else:
                    self.send(200, feed, "application/rss+xml", etag)
            elif self.path.startswith("/articles/"):
                page = pages[number(self.path) % len(pages)]
                self.send(200, page, "text/html; charset=utf-8", etag)
            else:
                self.send(404, b"", "text/plain", etag)

    return Handler


@contextmanager
def serve(feeds: int, per_feed: int, pages: list[bytes]) -> Iterator[list[str]]:
    def handler(n: int, host: str) -> type[BaseHTTPRequestHandler]:
        return handler_for(feed_xml(host, per_feed, n * per_feed), pages)

    with serve_hosts(feeds, handler) as bases:
        yield [f"{base}/feed.xml" for base in bases]


def _toml(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def write_config(directory: Path, urls: list[str], relevance: bool = True) -> Path:
    """The bench config: the feeds, and the shipped concepts, with the shipped relevance rules
    and facets or (relevance=False) as plain patterns."""
    sys.path.insert(0, str(ROOT))
    from monitor import config

    shipped = config.load(ROOT / "config" / "monitor.toml")
    lines = [
        "[storage]",
        f"database = {json.dumps(str(directory / 'bench.db'))}",
        "[fetch]",
        "delay = 0",
        "concurrency = 16",
        "[extract]",
        "workers = 0",
    ]
    for i, url in enumerate(urls):
        lines += [
            "[[sources]]",
            f'name = "feed-{i}"',
            'kind = "feed"',
            f'url = "{url}"',
            'follow = "all"',
        ]
    for cid, concept in shipped.concepts.items():
        lines += [
            f"[concepts.{cid}]",
            f"label = {json.dumps(concept.label, ensure_ascii=False)}",
            f"patterns = {json.dumps(list(concept.patterns), ensure_ascii=False)}",
        ]
        if relevance:
            lines += [f"needs_target = {_toml(concept.needs_target)}"]
            lines += [f"exclude = {_toml(concept.exclude)}"]
            lines += [f"window = {concept.window}"] if concept.window is not None else []
    if relevance:
        lines.append("[relevance]")
        lines += [f"{k} = {_toml(v)}" for k, v in shipped.relevance.model_dump().items()]
        for fid, facet in shipped.facets.items():
            lines += [
                f"[facets.{fid}]",
                f"label = {_toml(facet.label)}",
                f"concepts = {_toml(facet.concepts)}",
                f"scope = {_toml(facet.scope)}",
            ]
            for vid, value in facet.values.items():
                lines += [
                    f"[facets.{fid}.values.{vid}]",
                    f"label = {_toml(value.label)}",
                    f"patterns = {_toml(value.patterns)}",
                ]
    path = directory / ("bench.toml" if relevance else "plain.toml")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# `python -m monitor`, reporting on stderr the CPU the monitor process itself used (its
# extraction workers' CPU is the rest of what RUSAGE_CHILDREN gains).
_MONITOR = (
    "import atexit, resource, sys\n"
    "def _report():\n"
    "    u = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    print(f'bench-parent-cpu {u.ru_utime + u.ru_stime}', file=sys.stderr)\n"
    "atexit.register(_report)\n"
    "sys.argv[0] = 'monitor'\n"
    "from monitor.cli import main\n"
    "main()\n"
)


@dataclass(frozen=True)
class Run:
    """One `monitor once`: wall seconds, CPU seconds of it and its workers, of it alone, its JSON
    summary, and its sustained rate (articles stored per second from the 10th to the 90th
    percent of them: what the poll keeps up once its imports, feeds and workers are behind it,
    as a running service's are; None when too few were stored to tell)."""

    wall: float
    cpu: float
    parent_cpu: float
    summary: dict[str, Any]
    sustained: float | None = None


def run_once(config_path: Path, root: Path = ROOT, expected: int = 0) -> Run:
    """`monitor once` with the code in `root` (another checkout, to compare before and after).
    With `expected` articles to store, its database is read as it runs (WAL: readers do not
    hold it up) to time its sustained rate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", _MONITOR, "once", "--config", str(config_path), "--json"],
            stdout=out,
            stderr=err,
            text=True,
            cwd=root,
            env={**os.environ, "MONITOR_DB": "", "PYTHONPATH": str(root)},
        )
        marks = _stored_marks(child, config_path.parent / "bench.db", expected)
        code = child.wait()
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code:
        raise subprocess.CalledProcessError(code, "monitor once", stdout, stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    reported = [line for line in stderr.splitlines() if line.startswith("bench-parent-cpu ")]
    parent = float(reported[-1].split()[1]) if reported else float("nan")
    return Run(wall, cpu, parent, json.loads(stdout), marks)


def _stored_marks(child: subprocess.Popen[str], db: Path, expected: int) -> float | None:
    """Articles per second stored between the moments 10 % and 90 % of `expected` were, read
    every 20 ms from the database until `child` ends."""
    low, high = expected // 10, expected - expected // 10
    if high - low < 10:
        return None
    seen: dict[int, float] = {}
    with contextlib.ExitStack() as stack:
        conn: sqlite3.Connection | None = None
        while child.poll() is None and high not in seen:
            with contextlib.suppress(sqlite3.Error):  # not created yet, or being migrated
                if conn is None:
                    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
                    stack.callback(conn.close)
                (count,) = conn.execute("SELECT count(*) FROM versions").fetchone()
                for mark in (low, high):
                    if count >= mark:
                        seen.setdefault(mark, time.perf_counter())
            time.sleep(0.02)
    if low not in seen or high not in seen or seen[high] <= seen[low]:
        return None
    return (high - low) / (seen[high] - seen[low])


_PAGES: list[bytes] = []
ARTICLE_TYPE = "text/html; charset=utf-8"  # what the bench servers send with every article


def _limit_start(pages: list[bytes]) -> None:
    """In each process of the limit's pool: keep the pages, and extract each once, so that the
    imports and first-call costs are paid before the clock starts."""
    from monitor.analysis.extract import extract

    _PAGES[:] = pages
    for i, page in enumerate(pages):
        extract(page, f"http://127.0.0.1/articles/{i}.html", ARTICLE_TYPE, metadata=False)


def _limit_chunk(numbers: range) -> int:
    """Extract articles `numbers` (bodies already in this process) exactly as monitor's worker
    does for a feed article with a date; returns the characters extracted."""
    from monitor.analysis.extract import extract

    chars = 0
    for n in numbers:
        url = f"http://127.0.0.1/articles/{n}.html"
        chars += len(extract(_PAGES[n % len(_PAGES)], url, ARTICLE_TYPE, metadata=False).text)
    return chars


def limit(pages: list[bytes], count: int, processes: int | None = None) -> tuple[float, float]:
    """The physical limit: wall and CPU seconds of monitor's own extraction (monitor.analysis.extract,
    its settings, metadata=False as for a dated feed article) of the same `count` articles in
    `os.cpu_count()` processes, with no I/O: the bodies are in the processes before the clock
    starts and only article numbers and character counts cross the process boundary."""
    import multiprocessing

    processes = processes or os.cpu_count() or 1
    chunks = [range(i, min(i + 10, count)) for i in range(0, count, 10)]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_limit_start, initargs=(pages,)) as pool:
        pool.map(_limit_chunk, [range(0)] * processes * 4)  # every process has started
        cpu_before = _pool_cpu(pool)
        start = time.perf_counter()
        pool.map(_limit_chunk, chunks, chunksize=1)
        wall = time.perf_counter() - start
        cpu = _pool_cpu(pool) - cpu_before
    return wall, cpu


def _pool_cpu(pool: Any) -> float:
    """User + system seconds the pool's processes have used so far (from /proc)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for process in pool._pool:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def main(argv: list[str] | None = None) -> None:
    parser = feeds_parser(__doc__)
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the measurement; medians are shown"
    )
    parser.add_argument(
        "--skip-plain", action="store_true", help="skip (d), the run with plain matching"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="CHECKOUT",
        help="also run (b) with the monitor of another checkout (e.g. the commit before a "
        "change, from `git archive`), in the same rounds",
    )
    args = parser.parse_args(argv)
    pages = real_pages()
    total = args.feeds * args.per_feed
    cores = os.cpu_count() or 1
    print(
        f"ingest: {args.feeds} feeds x {args.per_feed} articles = {total} articles "
        f"from {len(pages)} distinct real pages; {cores} cores"
    )
    firsts: list[Run] = []
    seconds: list[Run] = []
    limits: list[tuple[float, float]] = []
    plain_cpus: list[float] = []
    others: list[Run] = []
    for _ in range(args.rounds):
        if not args.skip_plain:
            with (
                tempfile.TemporaryDirectory() as tmp,
                serve(args.feeds, args.per_feed, pages) as urls,
            ):
                plain_cpus.append(run_once(write_config(Path(tmp), urls, relevance=False)).cpu)
        limits.append(limit(pages, total, cores))
        with tempfile.TemporaryDirectory() as tmp, serve(args.feeds, args.per_feed, pages) as urls:
            path = write_config(Path(tmp), urls)
            first = run_once(path, expected=total)
            summary = first.summary
            if summary["new_versions"] != total + 0 or summary["errors"]:
                print(
                    f"  warning: first poll stored {summary['new_versions']} versions, errors: {summary['errors'][:3]}"
                )
            second = run_once(path)
            assert second.summary["new_versions"] == 0, second.summary
        firsts.append(first)
        seconds.append(second)
        if args.compare is not None:
            with (
                tempfile.TemporaryDirectory() as tmp,
                serve(args.feeds, args.per_feed, pages) as urls,
            ):
                others.append(run_once(write_config(Path(tmp), urls), args.compare, total))
        print(
            f"  round {len(firsts)}: {total / first.wall:.1f} articles/s, CPU {first.cpu:.2f} s "
            f"(monitor process {first.parent_cpu:.2f} s); limit {total / limits[-1][0]:.1f} "
            f"articles/s, CPU {limits[-1][1]:.2f} s"
            + (
                f"; {args.compare}: {total / others[-1].wall:.1f} articles/s, CPU "
                f"{others[-1].cpu:.2f} s (monitor process {others[-1].parent_cpu:.2f} s)"
                if others
                else ""
            ),
            flush=True,
        )
    med = statistics.median
    rates = [total / r.wall for r in firsts]
    limit_rates = [total / wall for wall, _ in limits]
    ratios = [r / b for r, b in zip(rates, limit_rates, strict=True)]
    print(
        f"(b) monitor once: {med(rates):.1f} articles/s (wall {med(r.wall for r in firsts):.2f} s, "
        f"CPU {med(r.cpu for r in firsts):.2f} s, of which the monitor process "
        f"{med(r.parent_cpu for r in firsts):.2f} s = "
        f"{100 * med(r.parent_cpu / r.cpu for r in firsts):.0f}%)"
    )
    print(
        f"    physical limit (monitor.analysis.extract in {cores} processes, no I/O): "
        f"{med(limit_rates):.1f} articles/s (wall {med(w for w, _ in limits):.2f} s, "
        f"CPU {med(c for _, c in limits):.2f} s)"
    )
    print(
        f"    ratio to the limit: {med(ratios):.2f} (per round: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.8); CPU per article: "
        f"{1000 * med(r.cpu for r in firsts) / total:.1f} ms vs {1000 * med(c for _, c in limits) / total:.1f} ms"
    )
    sustained = [r.sustained / b for r, b in zip(firsts, limit_rates, strict=True) if r.sustained]
    if sustained:
        print(
            f"    sustained (articles {total // 10} to {total - total // 10} stored, the poll's "
            f"start-up behind it): {med(r.sustained for r in firsts if r.sustained):.1f} "
            f"articles/s = {med(sustained):.2f} of the limit (per round: "
            f"{', '.join(f'{r:.2f}' for r in sustained)})"
        )
    if others:
        other_ratios = [total / r.wall / b for r, b in zip(others, limit_rates, strict=True)]
        print(
            f"    {args.compare}: {med(total / r.wall for r in others):.1f} articles/s (wall "
            f"{med(r.wall for r in others):.2f} s, CPU {med(r.cpu for r in others):.2f} s, of "
            f"which the monitor process {med(r.parent_cpu for r in others):.2f} s = "
            f"{100 * med(r.parent_cpu / r.cpu for r in others):.0f}%); ratio to the limit "
            f"{med(other_ratios):.2f} (per round: {', '.join(f'{r:.2f}' for r in other_ratios)})"
        )
        held = [r.sustained / b for r, b in zip(others, limit_rates, strict=True) if r.sustained]
        if held:
            print(f"      sustained: {med(held):.2f} of the limit")
    share = med(s.cpu / f.cpu for f, s in zip(firsts, seconds, strict=True))
    print(
        f"(c) second monitor once: CPU {med(s.cpu for s in seconds):.2f} s, wall "
        f"{med(s.wall for s in seconds):.2f} s = {100 * share:.1f}% of the first's CPU (target <= 5%)"
    )
    if plain_cpus:
        d = [f.cpu / p for f, p in zip(firsts, plain_cpus, strict=True)]
        print(
            f"(d) relevance, facets, negation: first monitor once CPU {med(f.cpu for f in firsts):.2f} s "
            f"vs {med(plain_cpus):.2f} s with plain matching: ratio {med(d):.3f} "
            f"(per round: {', '.join(f'{r:.3f}' for r in d)}; target <= 1.20)"
        )


if __name__ == "__main__":
    main()
