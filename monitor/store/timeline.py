"""Mentions of a concept over time, read from the history: in the configured time zone, a
document counted on the date it was published (else when it was first seen), with the mentions of
its latest version, so a document revised ten times counts once (periods:
monitor/analysis/timeline.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor.analysis.timeline import Period, chart_start, daily, period_of, periods
from monitor.store.queries import concept_days, mention_dates


def timeline(
    db: Database,
    concept: str,
    *,
    by: str,
    timezone: str,
    source: str | None = None,
    split: bool = False,
) -> list[Period]:
    """Mentions per period, oldest first; per source when `split`, with empty periods filled."""
    rows = concept_days(
        db, concept, source, ZoneInfo(timezone), split=split, group=lambda d: period_of(d, by)
    )
    return periods(rows, by=by, source=source, split=split)


def daily_counts(
    db: Database, concepts: Iterable[str], *, last_day: date, days: int, timezone: str
) -> dict[str, tuple[tuple[date, int], ...]]:
    """Per concept, mentions on each local day of the `days` days ending with `last_day`, by the
    day monitor first saw each document (the digest's items are the ones first seen in its
    window, so its chart ends with them)."""
    zone = ZoneInfo(timezone)
    since = chart_start(last_day, days, zone)
    rows = mention_dates(db, None, None, since, seen=True)
    return daily(
        ((moment, concept, n) for moment, _, concept, n in rows),
        concepts,
        last_day=last_day,
        days=days,
        zone=zone,
    )
