"""Every benchmark of the ingest issue in one run, with its baseline measured in the same run.

    python bench/run.py [--rounds 3] [--feeds 20] [--per-feed 50] [--compare CHECKOUT]

(a) extraction quality: token F1 per corpus page and mean, beside trafilatura's defaults
    (needs ../shared/corpus; skipped with a reason when it is absent);
(b) ingest throughput of `monitor once` over feeds on loopback, as a ratio to the physical limit:
    monitor's own extraction of the same articles in os.cpu_count() processes with no I/O
    (target >= 0.8); with the CPU the monitor process itself used;
(c) CPU time of an immediate second `monitor once` as a share of the first;
(d) the cost of relevance, facets and negation: (b)'s CPU beside plain matching, and
    `Matcher.find` alone on the corpus documents;
(e) verdicts of `monitor compare` on 23 corpus pairs against a hand-written answer key;
(g) idle polls of sources without validators as a share of the cold poll's CPU, and bytes per
    version with raw bodies, before (zlib per version) and after (zstd, stored once, later
    bodies against the document's first).
(h) start-up of `monitor --help`, `search`, `show` and `health` on the demo database, beside
    `python -c pass` (issue 11).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    bench_extraction,
    bench_idle,
    bench_ingest,
    bench_match,
    bench_startup,
    bench_storage,
    bench_verdicts,
)

if __name__ == "__main__":
    print("(a) extraction quality")
    bench_extraction.main(["--repeat", "3"])
    print()
    bench_ingest.main(sys.argv[1:])
    print("    matching alone, on the corpus documents (every page full of mentions):")
    bench_match.main([])
    print()
    print("(e) verdicts")
    bench_verdicts.main([])
    print()
    print("(g) idle polls and storage (issue 11)")
    bench_idle.main([])
    bench_storage.main([])
    print("(h) start-up")
    bench_startup.main(["--runs", "15"])
