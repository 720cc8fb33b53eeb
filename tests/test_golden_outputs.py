"""The command line's JSON outputs on the demo and the corpus equal the golden ones
(scripts/golden_outputs.py; tests/data/golden/PROVENANCE.md says how they were made)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "data" / "golden"


def test_outputs_equal_the_golden_ones(monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location(
        "golden_outputs", ROOT / "scripts" / "golden_outputs.py"
    )
    assert spec and spec.loader
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    monkeypatch.chdir(ROOT)
    results = golden.outputs()
    expected = {p.name for p in GOLDEN.glob("*.txt")}
    assert {golden._file(label) for label in results} == expected
    for label, text in results.items():
        want = (GOLDEN / golden._file(label)).read_text(encoding="utf-8")
        assert f"$ monitor {label}\n{text}" == want, label
