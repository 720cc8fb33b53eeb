"""bench/history.py --check: a small history built with versions_fts made by the index
processes (monitor.store.bulk.FullText, with its build settings) holds what the same history
holds with versions_fts rebuilt after the rows: every table, the schema, the 20 queries and
both integrity checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("history_bench", ROOT / "bench" / "history.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the index processes are spawned, not forked
    spec.loader.exec_module(module)
    return module


def test_the_parallel_build_is_the_plain_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history = _bench()
    if not history.SHARED.is_dir():
        pytest.skip(f"{history.SHARED} is absent (the corpus the history is made of)")
    monkeypatch.setenv("MONITOR_BENCH_CACHE", str(tmp_path))
    # small batches, so that each index process gets several and FTS5 flushes between them
    monkeypatch.setattr(history, "BATCH", 100)
    pool = history.comparisons  # 20 real comparisons, not 300: the test's time is theirs
    monkeypatch.setattr(history, "comparisons", lambda en, ko: pool(en, ko, 20))
    history.check(1_000, 2)  # exits 1 when they differ
    assert "the same rows, index and results" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # both builds and the scratch files removed
