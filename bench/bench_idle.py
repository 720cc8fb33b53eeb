"""Idle polls (issue 11): the CPU of a poll in which nothing changed, beside the cold poll's.

Sources that send no ETag or Last-Modified, served on loopback (10 sources per address,
127.0.0.2 ...): 200 watched pages made of real pages, and 20 feeds of 50 entries with
`follow = "none"` and with `follow = "matching"` (every fourth entry names a concept; its
article is fetched). For each kind, one process polls twice as the service does (one HTTP
client for both polls, created in the first): a cold poll into an empty database, then the same
sources again, nothing changed. CPU is user + system of that process and of its extraction
workers (each poll's pool is closed after it, so they are counted), around each poll only: the
service pays its start, and its client's CA certificates (0.14 s), once, not per poll. The
whole `monitor once` (interpreter start, imports and client included) is shown beside it for
the pages.

Usage: python bench/bench_idle.py [--pages 200] [--feeds 20] [--per-feed 50] [--rounds 1]
       [--code DIR]   (DIR: another checkout's package, e.g. the commit before issue 11)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import real_pages, run_once, write_config  # noqa: E402
from bench.local_sites import Quiet, feed_xml, feeds_parser, number, serve_hosts  # noqa: E402

PER_HOST = 10

CHILD = """
import json, resource, sys
from pathlib import Path
from monitor import config, store
from monitor.pipeline import Shared, _workers, poll

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

settings = config.load(Path(sys.argv[1]))
out = []
with store.opened(settings.database) as db:
    fetcher = None
    for _ in range(2):
        before = cpu()
        shared = Shared.start(settings) if fetcher is None else Shared(fetcher, _workers(settings))
        fetcher = shared.fetcher
        summary = poll(settings, db, shared=shared)
        shared.workers.close()  # its processes reaped: their CPU is in RUSAGE_CHILDREN
        out.append({"cpu": cpu() - before, "summary": summary.as_json()})
    fetcher.close()
print(json.dumps(out))
"""


def handler_for(host: str, pages: list[bytes], per_feed: int, first: int) -> type:
    """Pages at /page/N.html, a feed at /feed.xml, articles at /articles/N.html; no validators."""

    class Handler(Quiet):
        def do_GET(self) -> None:
            if self.path == "/feed.xml":
                feed = feed_xml(host, per_feed, first * per_feed, concept_every=4)
                self.send(200, feed, "application/rss+xml")
            elif self.path.startswith(("/page/", "/articles/")):
                self.send(200, pages[number(self.path) % len(pages)], "text/html; charset=utf-8")
            else:
                self.send(404, b"", "text/plain")

    return Handler


def serve(hosts: int, pages: list[bytes], per_feed: int) -> AbstractContextManager[list[str]]:
    """`hosts` servers on their own loopback addresses; yields their base URLs."""
    return serve_hosts(hosts, lambda n, host: handler_for(host, pages, per_feed, n))


def config_for(directory: Path, sources: list[dict[str, str]]) -> Path:
    path = write_config(directory, [])
    lines = [path.read_text(encoding="utf-8")]
    for source in sources:
        lines.append("[[sources]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def page_sources(bases: list[str], count: int) -> list[dict[str, str]]:
    return [
        {"name": f"page-{i}", "kind": "page", "url": f"{bases[i // PER_HOST]}/page/{i}.html"}
        for i in range(count)
    ]


def feed_sources(bases: list[str], count: int, follow: str) -> list[dict[str, str]]:
    return [
        {"name": f"feed-{i}", "kind": "feed", "url": f"{bases[i]}/feed.xml", "follow": follow}
        for i in range(count)
    ]


def two_polls(path: Path, code: Path | None) -> list[dict[str, object]]:
    env = {**os.environ, "MONITOR_DB": ""}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT if code is None else code,
        env=env,
    )
    result: list[dict[str, object]] = json.loads(out.stdout)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = feeds_parser(__doc__)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--code", type=Path, help="run another checkout's monitor package")
    args = parser.parse_args(argv)
    pages = real_pages()
    hosts = max(-(-args.pages // PER_HOST), args.feeds)
    print(
        f"idle polls: {args.pages} pages on {-(-args.pages // PER_HOST)} loopback addresses, "
        f"{args.feeds} feeds x {args.per_feed} entries, no validators; {os.cpu_count()} cores"
        + (f"; code from {args.code}" if args.code else "")
    )
    cases = [
        ("pages", lambda b: page_sources(b, args.pages)),
        ('feeds, follow = "none"', lambda b: feed_sources(b, args.feeds, "none")),
        ('feeds, follow = "matching"', lambda b: feed_sources(b, args.feeds, "matching")),
    ]
    for label, sources in cases:
        colds, idles, shares, whole = [], [], [], []
        unchanged = 0
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp, serve(hosts, pages, args.per_feed) as b:
                path = config_for(Path(tmp), sources(b))
                cold, idle = two_polls(path, args.code)
                assert not cold["summary"]["errors"], cold["summary"]["errors"][:3]  # type: ignore[index]
                assert idle["summary"]["new_versions"] == 0, idle["summary"]  # type: ignore[index]
                unchanged = int(idle["summary"].get("unchanged", 0))  # type: ignore[attr-defined]
                colds.append(float(cold["cpu"]))  # type: ignore[arg-type]
                idles.append(float(idle["cpu"]))  # type: ignore[arg-type]
                shares.append(idles[-1] / colds[-1])
            if label == "pages":
                with tempfile.TemporaryDirectory() as tmp, serve(hosts, pages, 1) as b:
                    path = config_for(Path(tmp), sources(b))
                    if args.code is None:
                        whole.append((run_once(path).cpu, run_once(path).cpu))
        print(
            f"    {label}: idle poll CPU {statistics.median(idles):.3f} s = "
            f"{100 * statistics.median(shares):.1f}% of the cold poll's {statistics.median(colds):.2f} s "
            f"({unchanged} sources unchanged; per round: "
            f"{', '.join(f'{100 * s:.1f}%' for s in shares)}; target <= 5%)"
        )
        if whole:
            cpu1 = statistics.median(w[0] for w in whole)
            cpu2 = statistics.median(w[1] for w in whole)
            print(
                f"      whole `monitor once` (process start and imports included): {cpu2:.2f} s "
                f"of {cpu1:.2f} s = {100 * cpu2 / cpu1:.1f}%"
            )


if __name__ == "__main__":
    main()
