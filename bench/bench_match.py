"""The cost of relevance, facets and negation in matching alone, on texts full of mentions.

Runs `Matcher.find` over the group A documents of the shared corpus (U.S. statements and NSS
editions on North Korea: the worst case, every page full of concept mentions) and the bundled
Korean demo articles, with the shipped lexicon and with plain matching (the same concept
patterns, no relevance rules or facets), interleaved, and prints the medians and their ratio.

    python bench/bench_match.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT.parent / "shared" / "corpus" / "docs"


def texts() -> list[str]:
    found = sorted(DOCS.rglob("*.md")) + sorted(DOCS.rglob("*.txt")) if DOCS.is_dir() else []
    found += sorted((ROOT / "monitor" / "demo").rglob("*.html"))
    return [p.read_text(encoding="utf-8", errors="replace") for p in found]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from monitor.analysis.match import Matcher
    from monitor.config import loads, parse, shipped_config_text

    settings = parse(loads(shipped_config_text()), environment=False)
    lexicon = settings.lexicon()
    full = Matcher(lexicon.concepts, lexicon.relevance, lexicon.facets)
    plain = Matcher([c.__class__(c.id, c.label, c.patterns) for c in lexicon.concepts])
    corpus = texts()
    size = sum(len(t) for t in corpus)
    mentions = sum(len(full.find(t)) for t in corpus)
    if not DOCS.is_dir():
        print(f"note: no shared corpus at {DOCS}; the demo pages only")
    print(f"match: {len(corpus)} texts, {size / 1e6:.2f} M characters, {mentions} mentions")
    timings: dict[str, list[float]] = {"relevance": [], "plain": []}
    for _ in range(args.rounds):
        for name, matcher in (("plain", plain), ("relevance", full)):
            start = time.perf_counter()
            for text in corpus:
                matcher.find(text)
            timings[name].append(time.perf_counter() - start)
    with_rules, without = (statistics.median(timings[k]) for k in ("relevance", "plain"))
    print(
        f"    Matcher.find with relevance and facets: {with_rules * 1000:.0f} ms; plain: "
        f"{without * 1000:.0f} ms; ratio {with_rules / without:.3f} (median of {args.rounds})"
    )


if __name__ == "__main__":
    main()
