"""Mentions of a concept over time, read from the history: in the configured time zone, a
document counted on the date it was published (else when it was first seen), with the mentions of
its latest version, so a document revised ten times counts once (periods:
monitor/analysis/timeline.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor.analysis.timeline import Period, chart_start, daily, period_of, periods
from monitor.store.database import given, iso


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


def mention_dates(
    db: Database,
    concept: str | None,
    source: str | None,
    since: datetime | None = None,
    seen: bool = False,
) -> list[tuple[datetime, str, str, int]]:
    """(document date, source, concept, mentions) for the latest version of every document, the
    date being its publication time (else when it was first seen), or with `seen` when monitor
    first saw it."""
    when = "d.first_seen_at" if seen else "COALESCE(d.published_at, d.first_seen_at)"
    # m: the version's mention counts; each filter given adds its condition and its value
    filters = {
        "m.concept = ?": concept,
        "d.source = ?": source,
        f"{when} >= ?": iso(since) if since else None,
    }
    where, params = given("m.counted", filters)
    if concept is not None:  # read by concept (index), each row kept if its version is latest
        join = "mention_counts m JOIN documents d ON d.id = m.document_id"
        where += (
            " AND NOT EXISTS (SELECT 1 FROM versions w WHERE w.document_id = m.document_id "
            "AND w.id > m.version_id)"
        )
    else:  # read by source or date (index), each document's latest version
        join = (
            "documents d JOIN mention_counts m ON m.version_id = "
            "(SELECT MAX(id) FROM versions WHERE document_id = d.id)"
        )
    rows = db.execute(
        f"SELECT {when}, d.source, m.concept, SUM(m.mentions) FROM {join} "
        f"WHERE {where} GROUP BY d.id, m.concept",
        params,
    ).fetchall()
    return [(datetime.fromisoformat(at), src, cid, n) for at, src, cid, n in rows]


DAY = 86_400


def offsets(zone: tzinfo, first: int, last: int) -> list[tuple[int, int]]:
    """The zone's UTC offsets from `first` to `last` (seconds since 1970): (from, offset in
    seconds) pairs, the first from `first`. Read a day apart and narrowed to the second where
    they differ: two changes less than a day apart that cancel out would not be seen."""

    def offset(at: int) -> int:
        delta = datetime.fromtimestamp(at, zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    found = [(first, offset(first))]
    at = first
    while at < last:
        step = min(at + DAY, last)
        current = offset(step)
        if current != found[-1][1]:
            low, high = at, step  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high, current))
        at = step
    return found


def day_spans(zone: tzinfo, first: int, last: int) -> list[tuple[int, int, int]]:
    """[start, end) spans of seconds since 1970 covering `first` to `last`, each within one
    local date in `zone`: (start, end, that date as days since 1970-01-01). A span ends at
    each local midnight and at each change of offset, so a date may have several spans (and,
    where a clock went back over midnight, spans apart)."""
    spans = []
    changes = offsets(zone, first, last)
    for n, (at, offset) in enumerate(changes):
        end = changes[n + 1][0] if n + 1 < len(changes) else last + 1
        while at < end:
            day = (at + offset) // DAY
            cut = min((day + 1) * DAY - offset, end)
            spans.append((at, cut, day))
            at = cut
    return spans


def concept_days(
    db: Database,
    concept: str,
    source: str | None,
    zone: tzinfo,
    *,
    split: bool = False,
    group: Callable[[date], object] = lambda day: day,
) -> list[tuple[date, str | None, int]]:
    """(local date in `zone`, source when `split`, mentions) of a concept: the counted mentions
    of each document's latest version on its date (published, else first seen), summed per
    local day, and per source when `split`; only `source`'s documents when given. With
    `group` (a date's period, such as its month), adjacent days of one period are summed as
    one, on the first of them.

    Read from latest_mentions by its indexes on (concept, date) and (concept, source, date):
    one range per period (or day, see `day_spans`) and source, summed in SQL, so nothing is
    sorted and no row comes to Python."""
    where, params = "concept = ? AND date IS NOT NULL", [concept]
    if source is not None:
        where += " AND source = ?"
        params.append(source)
    first = db.execute(
        f"SELECT date FROM latest_mentions WHERE {where} ORDER BY date LIMIT 1", params
    ).fetchone()
    if first is None:
        return []
    last = db.execute(
        f"SELECT date FROM latest_mentions WHERE {where} ORDER BY date DESC LIMIT 1", params
    ).fetchone()
    epoch = date(1970, 1, 1).toordinal()
    spans: list[tuple[int, int, int]] = []  # day spans, adjacent ones of one period merged
    last_period = None
    for start, end, day in day_spans(zone, first[0], last[0]):
        period = group(date.fromordinal(epoch + day))
        if spans and last_period == period and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end, spans[-1][2])
        else:
            spans.append((start, end, day))
        last_period = period
    sources: list[str | None] = [source]
    if split and source is None:  # each source of the concept, one index seek apiece
        sources = [
            r[0]
            for r in db.execute(
                "WITH RECURSIVE seen(source) AS (SELECT MIN(source) FROM latest_mentions "
                "WHERE concept = :c UNION ALL SELECT (SELECT MIN(source) FROM latest_mentions "
                "WHERE concept = :c AND source > seen.source) FROM seen "
                "WHERE seen.source IS NOT NULL) SELECT source FROM seen WHERE source IS NOT NULL",
                {"c": concept},
            )
        ]
    ranges = json.dumps([[start, end] for start, end, _ in spans])
    counts: dict[tuple[int, str | None], int] = {}
    for src in sources:
        chosen = "" if src is None else " AND source = ?"
        rows = db.execute(
            "SELECT p.key, (SELECT SUM(mentions) FROM latest_mentions WHERE concept = ? "
            f"AND date >= json_extract(p.value, '$[0]') AND date < json_extract(p.value, '$[1]')"
            f"{chosen}) FROM json_each(?) p",
            [concept, *([] if src is None else [src]), ranges],
        ).fetchall()
        for at, n in rows:
            if n is not None:
                found = (spans[at][2], src if split else None)
                counts[found] = counts.get(found, 0) + n
    return [(date.fromordinal(epoch + day), src, n) for (day, src), n in counts.items()]
