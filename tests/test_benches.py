"""The poll benches run end to end at a tiny size: their figures are only as good as the scripts
that print them (bench/bench_idle.py and bench/bench_storage.py once unpacked a record that had
become a dataclass, and nothing noticed until the next measurement)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 600  # seconds: a handful of `monitor once` runs on a busy 2-core machine


def _bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_idle_bench_prints_each_share() -> None:
    out = _bench("bench_idle.py", "--pages", "4", "--feeds", "1", "--per-feed", "2")
    for label in ("pages", 'feeds, follow = "none"', 'feeds, follow = "matching"'):
        assert f"    {label}: idle poll CPU " in out, out
    assert "(4 sources unchanged;" in out, out
    assert "whole `monitor once`" in out, out


def test_the_storage_bench_prints_bytes_per_version() -> None:
    out = _bench("bench_storage.py", "--pages", "4", "--polls", "2")
    assert "raw bodies, before (zlib level 1 per version):" in out, out
    assert "whole file: before " in out, out


def test_the_ingest_bench_prints_its_ratio() -> None:
    out = _bench(
        "bench_ingest.py", "--feeds", "1", "--per-feed", "3", "--rounds", "1", "--skip-plain"
    )
    assert "ratio to the limit: " in out, out
    assert "(c) second monitor once: CPU " in out, out
