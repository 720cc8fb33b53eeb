"""Mentions of a concept over time, by day, ISO week or month: periods from the store's rows.

A document counts on the date it was published (else when it was first seen), with the
mentions of its latest version, so a document revised ten times counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# The command line reads PERIODS for --help: this module imports no store (monitor/store/timeline.py
# reads the rows and gives them to `periods` and `daily`).
PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    period: str
    source: str | None
    count: int


def period_of(day: date, by: str) -> str:
    """The label of the period a local date falls in: 2026-11-27, 2026-W48 or 2026-11."""
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def _labels(first: date, last: date, by: str) -> list[str]:
    """Every period from the one holding `first` to the one holding `last`, gaps included."""
    labels: list[str] = []
    day = first
    while day <= last:
        label = period_of(day, by)
        if not labels or labels[-1] != label:
            labels.append(label)
        day += timedelta(days=1)
    return labels


def periods(
    rows: Iterable[tuple[date, str | None, int]], *, by: str, source: str | None, split: bool
) -> list[Period]:
    """Mentions per period from (local day, source, mentions) rows, oldest first; per source
    when `split`, with empty periods filled."""
    counts: Counter[tuple[str, str | None]] = Counter()
    days = []
    for day, src, n in rows:
        days.append(day)
        counts[(period_of(day, by), src if split else source)] += n
    if not days:
        return []
    groups = sorted({key[1] for key in counts}, key=lambda s: s or "")
    return [
        Period(label, group, counts[(label, group)])
        for label in _labels(min(days), max(days), by)
        for group in groups
    ]


def chart_start(last_day: date, days: int, zone: ZoneInfo) -> datetime:
    """The local midnight that starts a chart of `days` days ending with `last_day`."""
    return datetime.combine(last_day - timedelta(days=days - 1), datetime.min.time(), zone)


def daily(
    rows: Iterable[tuple[datetime, str, int]],
    concepts: Iterable[str],
    *,
    last_day: date,
    days: int,
    zone: ZoneInfo,
) -> dict[str, tuple[tuple[date, int], ...]]:
    """Per concept, mentions on each local day of the `days` days ending with `last_day`, from
    (moment, concept, mentions) rows."""
    first = last_day - timedelta(days=days - 1)
    counts: Counter[tuple[str, date]] = Counter()
    for moment, concept, n in rows:
        counts[(concept, moment.astimezone(zone).date())] += n
    span: Sequence[date] = [first + timedelta(days=i) for i in range(days)]
    return {c: tuple((d, counts[(c, d)]) for d in span) for c in concepts}
