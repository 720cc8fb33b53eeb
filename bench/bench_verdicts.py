"""Verdicts of `monitor compare` on real document pairs, scored against a hand-written answer key.

The key, bench/verdicts.toml, was written from reading the texts of group A of the shared corpus
(../shared/corpus/docs) before monitor was run on them; its header says how to read it. For each
pair this runs `monitor compare OLD NEW --json` with the shipped configuration (config/monitor.toml
of this checkout: nothing is passed, and $MONITOR_CONFIG is cleared) and scores:

- ladder: the move of the `denuclearization` ladder (and both rungs) against the key;
- false signals: a concept whose status is introduced, dropped, increased or decreased although
  the key's present_old / present_new (and counts, where given) say otherwise, or that is listed
  in the pair's must_not; concepts the key marks `unsure` are scored against must_not only;
- missed signals: a change the key expects (a concept on one side only, or counts that differ)
  that the status does not report;
- object shifts: the `object` facet of each expected concept in the JSON `qualifiers` list
  (values and status kept / changed / introduced / dropped); no `qualifiers` at all is wrong;
- counts (reported apart): relevant mention counts where the key gives them.

A pair's verdict is fully right when its ladder move and rungs, signals and objects all are.
The `summary` field (the verdict line) is printed for every pair. Exit status 0 always (this is
a benchmark); with --strict, 1 when anything is wrong.

    python bench/bench_verdicts.py [--strict] [--only ID ...] [--monitor CMD]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEY = ROOT / "bench" / "verdicts.toml"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

LADDER = "denuclearization"
RUNGS = ("cvid", "ffvd", "complete-denuclearization", "denuclearization", "arms-control")
CONCEPTS = (*RUNGS, "extended-deterrence", "maximum-pressure", "nuclear-status")
CHANGES = ("introduced", "dropped", "increased", "decreased")
MOVES = ("downgrade", "upgrade", "same")
OBJECT_VALUES = ("korean-peninsula", "dprk")
TIMEOUT = 300  # seconds per comparison


@dataclass(frozen=True)
class Pair:
    """One [[pairs]] table of the key."""

    id: str
    old: str
    new: str
    ladder: tuple[str, str, str]  # old rung, new rung ("none" for no rung), move
    present_old: frozenset[str]
    present_new: frozenset[str]
    counts_old: Mapping[str, int]
    counts_new: Mapping[str, int]
    unsure: frozenset[str]
    must_not: frozenset[str]
    objects: Mapping[str, tuple[frozenset[str], frozenset[str]]]  # concept: (old, new) values


@dataclass
class Score:
    """What monitor said about one pair, and where it differs from the key."""

    pair: Pair
    seconds: float = 0.0
    error: str | None = None
    got_ladder: tuple[str, str, str] = ("?", "?", "?")
    false_signals: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    objects_right: int = 0
    object_problems: list[str] = field(default_factory=list)
    counts_right: int = 0
    counts_total: int = 0
    count_problems: list[str] = field(default_factory=list)
    summary: str | None = None

    @property
    def move_right(self) -> bool:
        return self.error is None and self.got_ladder[2] == self.pair.ladder[2]

    @property
    def rungs_right(self) -> bool:
        return self.error is None and self.got_ladder[:2] == self.pair.ladder[:2]

    @property
    def fully_right(self) -> bool:
        return (
            self.move_right
            and self.rungs_right
            and not self.false_signals
            and not self.missed
            and self.objects_right == len(self.pair.objects)
        )


def _top(present: frozenset[str]) -> str:
    return next((rung for rung in RUNGS if rung in present), "none")


def _rank(rung: str) -> int:
    return len(RUNGS) if rung == "none" else RUNGS.index(rung)


def _values(table: Mapping[str, Any], where: str) -> tuple[frozenset[str], frozenset[str]]:
    old, new = frozenset(table["old"]), frozenset(table["new"])
    if bad := (old | new) - set(OBJECT_VALUES):
        raise ValueError(f"{where}: unknown object value(s) {sorted(bad)}")
    return old, new


def _pair(raw: Mapping[str, Any]) -> Pair:
    pid = raw["id"]
    ladder = raw["ladder"]
    objects = {"complete-denuclearization": _values(raw["object"], f"{pid}: object")}
    for concept, table in raw.get("objects", {}).items():
        objects[concept] = _values(table, f"{pid}: objects.{concept}")
    pair = Pair(
        id=pid,
        old=raw["old"],
        new=raw["new"],
        ladder=(ladder["old"], ladder["new"], ladder["move"]),
        present_old=frozenset(raw["present_old"]),
        present_new=frozenset(raw["present_new"]),
        counts_old=dict(raw.get("counts_old", {})),
        counts_new=dict(raw.get("counts_new", {})),
        unsure=frozenset(raw.get("unsure", [])),
        must_not=frozenset(raw.get("must_not", [])),
        objects=objects,
    )
    _check(pair)
    return pair


def _check(p: Pair) -> None:
    """Refuse a key that contradicts itself (a typo would otherwise score as a tool error)."""
    named = p.present_old | p.present_new | p.unsure | set(p.counts_old) | set(p.counts_new)
    if bad := (named | set(p.objects)) - set(CONCEPTS):
        raise ValueError(f"{p.id}: unknown concept(s) {sorted(bad)}")
    if p.unsure & (p.present_old | p.present_new):
        raise ValueError(f"{p.id}: a concept is both present and unsure")
    want = (_top(p.present_old), _top(p.present_new))
    fall = _rank(want[1]) - _rank(want[0])
    move = "downgrade" if fall > 0 else "upgrade" if fall < 0 else "same"
    if p.ladder != (*want, move):
        raise ValueError(f"{p.id}: ladder {p.ladder} but the present concepts give {(*want, move)}")
    sides = (("old", p.counts_old, p.present_old), ("new", p.counts_new, p.present_new))
    for side, counts, present in sides:
        if wrong := {c for c, n in counts.items() if (n > 0) != (c in present)}:
            raise ValueError(
                f"{p.id}: counts_{side} disagree with present_{side} on {sorted(wrong)}"
            )
    for signal in p.must_not:
        concept, _, status = signal.partition(" ")
        if concept not in CONCEPTS or status not in CHANGES:
            raise ValueError(f"{p.id}: must_not {signal!r} is not '<concept> <status>'")
        if status in _expected(p, concept)[0]:
            raise ValueError(f"{p.id}: must_not {signal!r} is what the key expects")


def load_key(path: Path = KEY) -> list[Pair]:
    """The pairs of the answer key, checked for consistency."""
    with path.open("rb") as handle:
        return [_pair(raw) for raw in tomllib.load(handle)["pairs"]]


def _expected(p: Pair, concept: str) -> tuple[frozenset[str], str | None]:
    """The statuses that agree with the key, and the change the key expects (None: no change)."""
    before, after = concept in p.present_old, concept in p.present_new
    if before and not after:
        return frozenset({"dropped"}), "dropped"
    if after and not before:
        return frozenset({"introduced"}), "introduced"
    if not before:
        return frozenset({"absent", "unchanged"}), None
    if concept in p.counts_old and concept in p.counts_new:
        old, new = p.counts_old[concept], p.counts_new[concept]
        status = "increased" if new > old else "decreased" if new < old else "unchanged"
        return frozenset({status}), None if status == "unchanged" else status
    return frozenset({"unchanged", "increased", "decreased"}), None


def monitor_command(given: str | None) -> list[str]:
    """--monitor if given, else the `monitor` beside this interpreter, on PATH, or `-m monitor`."""
    if given:
        return shlex.split(given)
    beside = Path(sys.executable).parent / "monitor"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("monitor")
    return [found] if found else [sys.executable, "-m", "monitor"]


def run(command: Sequence[str], old: Path, new: Path) -> tuple[dict[str, Any], float]:
    """`monitor compare OLD NEW --json` from the project root with its shipped config."""
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    started = time.perf_counter()
    argv = [*command, "compare", str(old), str(new), "--json"]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"exit {done.returncode}: {tail[0][:200]}")
    result = json.loads(done.stdout)
    if not isinstance(result, dict):
        raise RuntimeError("the JSON output is not an object")
    return result, seconds


def grade(p: Pair, result: Mapping[str, Any], out: Score) -> None:
    """Fill `out` from one comparison's JSON."""
    stance = next((s for s in result.get("stance", []) if s.get("ladder") == LADDER), None)
    if stance is not None:
        out.got_ladder = (stance["old"] or "none", stance["new"] or "none", stance["move"])
    concepts = {d["id"]: d for d in result.get("concepts", [])}
    for concept in sorted(set(CONCEPTS) | set(concepts)):
        got = concepts.get(concept, {}).get("status", "absent")
        signal = f"{concept} {got}"
        if concept in p.unsure:
            if signal in p.must_not:
                out.false_signals.append(signal)
            continue
        agree, change = _expected(p, concept)
        if got in CHANGES and (got not in agree or signal in p.must_not):
            out.false_signals.append(signal)
        if change is not None and got != change:
            out.missed.append(f"{concept} {change} (got {got})")
        for side, counts in (("old", p.counts_old), ("new", p.counts_new)):
            if concept in counts:
                out.counts_total += 1
                got_count = concepts.get(concept, {}).get(side, 0)
                if got_count == counts[concept]:
                    out.counts_right += 1
                else:
                    out.count_problems.append(
                        f"{concept} {side} {counts[concept]} (got {got_count})"
                    )
    _grade_objects(p, result, out)
    summary = result.get("summary")
    out.summary = summary if isinstance(summary, str) else None


def _object_status(old: frozenset[str], new: frozenset[str]) -> str | None:
    """The qualifier status the key implies (None: the facet has no values on either side)."""
    if not old:
        return "introduced" if new else None
    if not new:
        return "dropped"
    return "kept" if old == new else "changed"


def _grade_objects(p: Pair, result: Mapping[str, Any], out: Score) -> None:
    qualifiers = result.get("qualifiers")
    if not isinstance(qualifiers, list):
        out.object_problems.append("no `qualifiers` in the JSON")
        return
    for concept, (old, new) in p.objects.items():
        want = _object_status(old, new)
        entry = next(
            (q for q in qualifiers if q.get("concept") == concept and q.get("facet") == "object"),
            None,
        )
        got_old = frozenset(entry.get("old") or []) if entry else frozenset()
        got_new = frozenset(entry.get("new") or []) if entry else frozenset()
        got_status = entry.get("status") if entry else None
        if want is None:
            right = not got_old and not got_new
        else:
            right = (got_old, got_new, got_status) == (old, new, want)
        if right:
            out.objects_right += 1
        else:
            out.object_problems.append(
                f"{concept}: want {sorted(old)} → {sorted(new)} ({want or 'none'}), "
                f"got {sorted(got_old)} → {sorted(got_new)} ({got_status or 'none'})"
            )


def _ladder(rungs: tuple[str, str, str]) -> str:
    return f"{rungs[0]} → {rungs[1]} ({rungs[2]})"


def report(scores: Sequence[Score]) -> None:
    width = max(len(s.pair.id) for s in scores)
    print(f"{'pair':<{width}}  {'move want/got':<22} rungs  false  missed  objects  seconds")
    for s in scores:
        moves = f"{s.pair.ladder[2]}/{s.got_ladder[2]}"
        objects = f"{s.objects_right}/{len(s.pair.objects)}"
        print(
            f"{s.pair.id:<{width}}  {moves:<22} {'ok' if s.rungs_right else '--':<6} "
            f"{len(s.false_signals):<6} {len(s.missed):<7} "
            f"{objects:<8} {s.seconds:7.2f}"
            f"{'' if s.fully_right else '   WRONG'}"
        )
        print(f"{'':<{width}}  summary: {s.summary if s.summary is not None else '(no summary)'}")
        if s.error:
            print(f"{'':<{width}}  error: {s.error}")
            continue
        if not (s.move_right and s.rungs_right):
            print(
                f"{'':<{width}}  ladder: want {_ladder(s.pair.ladder)}, got {_ladder(s.got_ladder)}"
            )
        if s.false_signals:
            print(f"{'':<{width}}  false signals: {'; '.join(s.false_signals)}")
        if s.missed:
            print(f"{'':<{width}}  missed: {'; '.join(s.missed)}")
        for problem in s.object_problems:
            print(f"{'':<{width}}  object: {problem}")
        if s.count_problems:
            print(f"{'':<{width}}  counts: {'; '.join(s.count_problems)}")
    n = len(scores)
    times = [s.seconds for s in scores if s.error is None]
    median = f"{statistics.median(times):.2f} s" if times else "n/a"
    print()
    print(
        f"ladder moves right: {sum(s.move_right for s in scores)}/{n}; "
        f"rungs right: {sum(s.rungs_right for s in scores)}/{n}; "
        f"false signals: {sum(len(s.false_signals) for s in scores)}; "
        f"missed signals: {sum(len(s.missed) for s in scores)}; "
        f"object shifts right: {sum(s.objects_right for s in scores)}/"
        f"{sum(len(s.pair.objects) for s in scores)}; "
        f"verdicts fully right: {sum(s.fully_right for s in scores)}/{n}"
    )
    print(
        f"counts right (where the key gives them): {sum(s.counts_right for s in scores)}/"
        f"{sum(s.counts_total for s in scores)}; errors: {sum(s.error is not None for s in scores)}; "
        f"median seconds per comparison: {median}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything is wrong")
    parser.add_argument("--only", nargs="+", metavar="ID", help="only these pairs")
    parser.add_argument("--monitor", help="the command to run (default: see monitor_command)")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(
            f"skip: the shared corpus is not at {CORPUS} (expected ../shared/corpus from the repo)"
        )
        return 0
    pairs = load_key()
    if args.only:
        unknown = set(args.only) - {p.id for p in pairs}
        if unknown:
            parser.error(f"no such pair(s): {', '.join(sorted(unknown))}")
        pairs = [p for p in pairs if p.id in args.only]
    command = monitor_command(args.monitor)
    print(f"monitor: {shlex.join(command)} (cwd {ROOT}); corpus: {CORPUS}; {len(pairs)} pairs\n")
    scores = []
    for p in pairs:
        s = Score(p)
        try:
            result, s.seconds = run(command, CORPUS / p.old, CORPUS / p.new)
            grade(p, result, s)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as exc:
            s.error = f"{type(exc).__name__}: {exc}"
        scores.append(s)
    report(scores)
    return 1 if args.strict and not all(s.fully_right for s in scores) else 0


if __name__ == "__main__":
    sys.exit(main())
