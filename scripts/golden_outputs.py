"""Every JSON output of the command line on the offline demo and on the test corpus, masked of
what differs between runs (times, loopback ports, temporary paths, the checkout's folder), so that a refactoring can
show its outputs are byte-identical (issue 12). tests/test_golden_outputs.py compares them with
tests/data/golden/.

Usage: python scripts/golden_outputs.py --write DIR   (write one file per command)
       python scripts/golden_outputs.py --check DIR   (exit 1 and print a diff when any differs)
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "tests" / "data" / "docs"

# The three strategy texts of the corpus, as editions of the shipped config's "nss" series.
NSS = [
    ("1994_national_security_strategy.txt", "1994-07-01"),
    ("2001_national_security_strategy.txt", "2001-01-01"),
    ("2002_national_security_strategy.txt", "2002-09-17"),
]
BRIEFINGS = DOCS / "whitehouse-briefings" / "statements-releases"
SEARCHES = [
    ["denuclearization"],
    ["complete, verifiable"],
    ["비핵화"],
    ["비핵*"],
    ["nuclear", "--limit", "3"],
    ["irreversible", "--since", "2000-01-01"],
]

# A time of the run itself (fetched, first seen, detected): a date of today or yesterday, with
# its time of day if any. Publication dates come from the documents and stay.
_CLOCK = r"([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?"


def _run_days() -> re.Pattern[str]:
    now = datetime.now(UTC)
    days = {(now + timedelta(days=d)).date().isoformat() for d in (-1, 0, 1)}
    days |= {(datetime.now() + timedelta(days=d)).date().isoformat() for d in (-1, 0, 1)}
    return re.compile("(" + "|".join(sorted(days)) + ")" + _CLOCK)


_ID = re.compile(r'"id": \d+')
# A digest's sparkline of the last 30 local days: where the run's own day falls in it depends on
# the hour of the run (the chart ends on the digest's date, which, before 07:00 in Seoul, is
# the day the demo's documents were first seen, and after it the next), so it is masked; its
# caption ("max 9 on <today>, 9 in all") stays, and tests/test_digest.py checks the bars.
_SPARK = re.compile("[\u2581-\u2588]{20,}")
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")


def mask(text: str, tmp: str) -> str:
    """What differs between two runs of the same outputs, replaced by placeholders (the
    checkout's own folder too: the corpus documents are named by their paths)."""
    text = text.replace(tmp, "<tmp>").replace(str(ROOT), "<root>")
    text = _PORT.sub(r"\1:<port>", text)
    text = _SPARK.sub("<sparkline>", text)
    return _run_days().sub("<today>", text)


@contextmanager
def environment(tmp: Path) -> Iterator[None]:
    keep = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("MONITOR_"):
            del os.environ[name]
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    os.environ["NO_COLOR"] = "1"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(keep)


def outputs() -> dict[str, str]:
    """Command line → its masked output (stdout, stderr if any, and the exit code)."""
    from monitor.cli import main

    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as name, environment(Path(name)):
        tmp = Path(name)
        runner = CliRunner()

        def run(label: str, *args: str) -> str:
            result = runner.invoke(main, list(args), catch_exceptions=False)
            errors = f"stderr:\n{result.stderr}" if result.stderr else ""
            text = mask(f"{result.stdout}\n{errors}exit {result.exit_code}\n", name)
            if label.startswith("demo"):
                # The demo's workers finish in any order, and so its versions are numbered.
                text = _ID.sub(r'"id": <id>', text)
            results[label] = text
            return result.stdout

        demo = runner.invoke(main, ["demo", "--dir", str(tmp / "demo")], catch_exceptions=False)
        if demo.exit_code != 0:
            raise SystemExit(f"monitor demo failed:\n{demo.output}")
        db = ["--db", str(tmp / "demo" / "monitor.db")]
        run("demo sources", "sources", "--json", *db)
        urls: set[str] = set()
        for words in SEARCHES:
            found = run(f"demo search {' '.join(words)}", "search", "--json", *db, *words)
            urls.update(hit["url"] for hit in json.loads(found))
        run("demo changes", "changes", "--json", *db)
        run("demo changes --all", "changes", "--json", "--all", *db)
        run("demo changes --concept cvid", "changes", "--json", "--concept", "cvid", *db)
        run("demo timeline", "timeline", "--json", *db, "complete-denuclearization")
        run(
            "demo timeline --by month --split",
            "timeline",
            "--json",
            "--by",
            "month",
            "--split",
            *db,
            "cvid",
        )
        run("demo health", "health", "--json", *db)
        run("demo check", "check", "--json", *db)
        for url in sorted(urls)[:8]:
            run(f"demo show {mask(url, name)}", "show", "--json", *db, url)
        run("demo show (not stored)", "show", "--json", *db, "https://example.org/not-stored")
        run("demo digest", "digest", "--json", *db)

        corpus = ["--db", str(tmp / "corpus.db")]
        for file, date in NSS:
            path = DOCS / "nss-series" / file
            run(
                f"corpus add {file}",
                "add",
                "--json",
                *corpus,
                "--series",
                "nss",
                "--date",
                date,
                str(path),
            )
        run("corpus changes", "changes", "--json", "--all", *corpus)
        run("corpus changes --concept cvid", "changes", "--json", "--concept", "cvid", *corpus)
        run("corpus changes --status dropped", "changes", "--json", "--status", "dropped", *corpus)
        run(
            "corpus timeline --by month",
            "timeline",
            "--json",
            "--by",
            "month",
            *corpus,
            "complete-denuclearization",
        )
        for words in SEARCHES:
            run(f"corpus search {' '.join(words)}", "search", "--json", *corpus, *words)
        a, b, c = (str(DOCS / "nss-series" / file) for file, _ in NSS)
        run("corpus compare 1994 2001", "compare", "--json", "--no-color", a, b)
        run("corpus compare 2001 2002", "compare", "--json", "--no-color", b, c)
        run("corpus compare --all 2001 2002", "compare", "--json", "--all", "--no-color", b, c)
        briefings = sorted(str(p) for p in BRIEFINGS.rglob("*") if p.is_file())
        for left, right in itertools.pairwise(briefings):
            label = f"corpus compare {Path(left).name} {Path(right).name}"
            run(label, "compare", "--json", "--no-color", left, right)
    return results


def _file(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label).strip("_") + ".txt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, metavar="DIR")
    group.add_argument("--check", type=Path, metavar="DIR")
    args = parser.parse_args()
    results = outputs()
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for old in args.write.glob("*.txt"):
            old.unlink()
        for label, text in results.items():
            (args.write / _file(label)).write_text(f"$ monitor {label}\n{text}", encoding="utf-8")
        print(f"{len(results)} outputs written to {args.write}")
        return 0
    differ = 0
    expected = {p.name: p.read_text(encoding="utf-8") for p in args.check.glob("*.txt")}
    for label, text in results.items():
        got = f"$ monitor {label}\n{text}"
        want = expected.pop(_file(label), None)
        if want != got:
            differ += 1
            diff = difflib.unified_diff(
                (want or "").splitlines(), got.splitlines(), "golden", "now", lineterm="", n=2
            )
            print("\n".join(list(diff)[:60]))
    for name in expected:
        differ += 1
        print(f"{name}: in the golden outputs, no longer produced")
    print(f"{len(results)} outputs, {differ} differ from {args.check}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
