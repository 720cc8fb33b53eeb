"""Extraction quality and speed of monitor.analysis.extract.extract_html against trafilatura's defaults.

For every page of the shared corpus (../shared/corpus/html, MANIFEST section C) print the token
F1 of our text against the expected main text, beside plain `trafilatura.extract(html)`, then
the means, their ratio and the median time per page. `--settings` also scores the candidate
trafilatura settings that extract.py chose between.

    python bench/bench_extraction.py [--repeat N] [--settings]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from bench.quality import CORPUS_HTML, corpus_pages, token_f1  # noqa: E402
from monitor.analysis.extract import extract_html  # noqa: E402

CANDIDATES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no comments": {"include_comments": False},
    "favor_recall": {"include_comments": False, "favor_recall": True},
    "favor_precision": {"include_comments": False, "favor_precision": True},
    "no tables": {"include_comments": False, "include_tables": False},
    "formatting": {"include_comments": False, "include_formatting": True},
    "markdown": {"include_comments": False, "output_format": "markdown"},
    "fast": {"include_comments": False, "fast": True},
}


def ours_text(body: bytes, url: str) -> str:
    """Our extractor's text."""
    return extract_html(body, url).text


def default_text(body: bytes) -> str:
    """trafilatura.extract with nothing but the page."""
    return trafilatura.extract(body) or ""


def timed(run: Callable[[], str], repeat: int) -> tuple[str, float]:
    """The output of `run` and its median wall time in milliseconds over `repeat` runs."""
    times, out = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        times.append((time.perf_counter() - start) * 1000)
    return out, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table; exit 0 (also when the corpus is absent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per page for the timing")
    parser.add_argument("--settings", action="store_true", help="also score candidate settings")
    args = parser.parse_args(argv)
    if not CORPUS_HTML.is_dir():
        print(f"skipped: the shared corpus is not at {CORPUS_HTML} (see its MANIFEST.md)")
        return 0

    pages = corpus_pages()
    rows = []
    print(
        f"{'page':26} {'ours F1':>8} {'default F1':>10} {'ours ms':>8} {'default ms':>10}  method"
    )
    for page in pages:
        body = page.html.read_bytes()
        extracted = extract_html(body, page.url)
        ours, ours_ms = timed(partial(ours_text, body, page.url), args.repeat)
        base, base_ms = timed(partial(default_text, body), args.repeat)
        row = (token_f1(ours, page.truth), token_f1(base, page.truth), ours_ms, base_ms)
        rows.append(row)
        print(
            f"{page.name:26} {row[0]:8.4f} {row[1]:10.4f} {row[2]:8.1f} {row[3]:10.1f}"
            f"  {extracted.method}"
        )
    ours_mean = statistics.mean(r[0] for r in rows)
    base_mean = statistics.mean(r[1] for r in rows)
    print(f"{'mean F1':26} {ours_mean:8.4f} {base_mean:10.4f}")
    print(f"ratio ours/default: {ours_mean / base_mean:.4f}")
    print(
        f"median time per page: ours {statistics.median(r[2] for r in rows):.1f} ms, "
        f"default {statistics.median(r[3] for r in rows):.1f} ms"
    )

    if args.settings:
        print("\nmean F1 of candidate trafilatura.extract settings:")
        for name, options in CANDIDATES.items():
            scores = [
                token_f1(trafilatura.extract(p.html.read_bytes(), **options) or "", p.truth)
                for p in pages
            ]
            print(f"  {name:16} {statistics.mean(scores):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
