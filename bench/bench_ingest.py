"""Ingest throughput and the cost of a second poll, measured against feeds served on loopback.

Serves N feeds, each on its own loopback address (127.0.0.2, 127.0.0.3, ...), each listing
articles made of real pages (the bundled demo pages, plus ../shared/corpus/html when present).
Then, in one run:
  (b) `monitor once` over all of it, in articles per second, beside a bare loop of
      `trafilatura.extract` over the same pages (one process), and their ratio;
  (c) the CPU time of an immediate second `monitor once` (nothing changed) as a share of the first;
  (d) the cost of relevance, facets and negation: the first `monitor once` with the shipped
      [relevance] and [facets] beside the same run with plain matching (concept patterns only),
      interleaved round by round.

Usage: python bench/bench_ingest.py [--feeds 20] [--per-feed 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "html"


def real_pages() -> list[bytes]:
    pages = sorted((ROOT / "monitor" / "demo" / "pages").rglob("*.html"))
    if CORPUS.is_dir():
        pages += sorted(p for p in CORPUS.rglob("*.html") if not p.name.startswith("expected"))
    return [p.read_bytes() for p in pages]


def feed_xml(host: str, count: int, offset: int) -> bytes:
    items = "".join(
        f"<item><title>Article {offset + i}</title><link>http://{host}/articles/{offset + i}.html</link>"
        f"<description>Story {offset + i}</description>"
        f"<pubDate>Mon, 03 Mar 2025 09:{i % 60:02d}:00 +0900</pubDate></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
        f"<link>http://{host}/</link><description>bench feed</description>{items}</channel></rss>"
    ).encode()


def handler_for(feed: bytes, pages: list[bytes]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/feed.xml":
                if self.headers.get("If-None-Match") == '"feed"':
                    self._send(304, b"", "application/rss+xml")
                else:
                    self._send(200, feed, "application/rss+xml")
            elif self.path.startswith("/articles/"):
                number = int(self.path.rsplit("/", 1)[1].split(".")[0])
                self._send(200, pages[number % len(pages)], "text/html; charset=utf-8")
            else:
                self._send(404, b"", "text/plain")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"feed"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(feeds: int, per_feed: int, pages: list[bytes]) -> Iterator[list[str]]:
    with ExitStack() as stack:
        urls = []
        for n in range(feeds):
            address = f"127.0.0.{n + 2}"
            server = ThreadingHTTPServer((address, 0), handler_for(b"", pages))
            host = f"{address}:{server.server_address[1]}"
            server.RequestHandlerClass = handler_for(feed_xml(host, per_feed, n * per_feed), pages)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            urls.append(f"http://{host}/feed.xml")
        yield urls


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


def run_once(config_path: Path) -> tuple[float, float, dict[str, object]]:
    """Wall seconds, CPU seconds (the process and its workers) and the JSON summary."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "once", "--config", str(config_path), "--json"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MONITOR_DB": ""},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out.stdout)


def baseline(pages: list[bytes], count: int) -> float:
    """Seconds for a bare single-process loop of trafilatura.extract over the same bodies."""
    import trafilatura

    start = time.perf_counter()
    for i in range(count):
        trafilatura.extract(pages[i % len(pages)])
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--per-feed", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the measurement; medians are shown"
    )
    args = parser.parse_args(argv)
    pages = real_pages()
    total = args.feeds * args.per_feed
    print(
        f"ingest: {args.feeds} feeds x {args.per_feed} articles = {total} articles "
        f"from {len(pages)} distinct real pages; {os.cpu_count()} cores"
    )
    rates, base_rates, shares, walls, cpus = [], [], [], [], []
    plain_cpus: list[float] = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp, serve(args.feeds, args.per_feed, pages) as urls:
            _, plain_cpu, _ = run_once(write_config(Path(tmp), urls, relevance=False))
            plain_cpus.append(plain_cpu)
        with tempfile.TemporaryDirectory() as tmp, serve(args.feeds, args.per_feed, pages) as urls:
            path = write_config(Path(tmp), urls)
            wall, cpu, summary = run_once(path)
            if summary["new_versions"] != total + 0 or summary["errors"]:
                print(
                    f"  warning: first poll stored {summary['new_versions']} versions, errors: {summary['errors'][:3]}"
                )
            wall2, cpu2, summary2 = run_once(path)
            assert summary2["new_versions"] == 0, summary2
        base = baseline(pages, total)
        rates.append(total / wall)
        base_rates.append(total / base)
        shares.append(cpu2 / cpu)
        walls.append((wall, wall2))
        cpus.append((cpu, cpu2))
    rate, base_rate, share = (statistics.median(x) for x in (rates, base_rates, shares))
    print(
        f"(b) monitor once: {rate:.1f} articles/s (wall {statistics.median(w[0] for w in walls):.2f} s, "
        f"CPU {statistics.median(c[0] for c in cpus):.2f} s)"
    )
    print(f"    bare trafilatura.extract loop: {base_rate:.1f} articles/s")
    print(f"    ratio: {rate / base_rate:.2f} (target >= 1.0)")
    print(
        f"(c) second monitor once: CPU {statistics.median(c[1] for c in cpus):.2f} s, wall "
        f"{statistics.median(w[1] for w in walls):.2f} s = {100 * share:.1f}% of the first's CPU (target <= 5%)"
    )
    ratios = [c[0] / p for c, p in zip(cpus, plain_cpus, strict=True)]
    print(
        f"(d) relevance, facets, negation: first monitor once CPU {statistics.median(c[0] for c in cpus):.2f} s "
        f"vs {statistics.median(plain_cpus):.2f} s with plain matching: ratio {statistics.median(ratios):.3f} "
        f"(per round: {', '.join(f'{r:.3f}' for r in ratios)}; target <= 1.20)"
    )


if __name__ == "__main__":
    main()
