"""The digest's day: the window a digest covers, which day is due, whether it is sent, its data,
and queueing it (delivery renders it, with monitor/render/digest.py)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor import store
from monitor.config import Settings
from monitor.models import DigestData, OutboxItem, Queued
from monitor.render.queued import concept_order
from monitor.store.timeline import daily_counts

log = logging.getLogger("monitor.alerts")


def window(day: date, at: str, timezone: str) -> tuple[datetime, datetime]:
    """The UTC [start, end) of the digest sent on local `day` at local time `at` ("HH:MM", or
    "HH:MM:SS").

    It runs from `at` on the day before to `at` on `day` by the wall clock of `timezone`: 24
    hours, but 23 or 25 when the clocks change in between, so that consecutive digests cover
    every moment exactly once. A local time that does not exist or occurs twice that day is read
    with the offset in force before the change (zoneinfo's fold=0).
    """
    found = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?", at)
    if not found:
        raise ValueError(f"digest time {at!r}: use HH:MM on a 24-hour clock, e.g. '07:00'")
    zone, clock = ZoneInfo(timezone), time(int(found[1]), int(found[2]), int(found[3] or 0))
    end = datetime.combine(day, clock, zone).astimezone(UTC)
    return datetime.combine(day - timedelta(days=1), clock, zone).astimezone(UTC), end


def digest_day(settings: Settings, at: datetime) -> date:
    """The local date of the latest digest whose window has closed at `at`."""
    zone = ZoneInfo(settings.schedule.timezone)
    day = at.astimezone(zone).date()
    while window(day, settings.digest.time, settings.schedule.timezone)[1] > at:
        day -= timedelta(days=1)
    return day


def gathering_day(settings: Settings, at: datetime) -> date:
    """The local date of the digest whose window holds `at`: the one being gathered, which the
    next scheduled digest sends."""
    return digest_day(settings, at) + timedelta(days=1)


def withheld(settings: Settings, db: Database, data: DigestData) -> str | None:
    """Why the digest of `data` is not sent, or None when it is. A digest with changes or
    articles is sent; an empty one only with `send_empty` and for a window monitored throughout:
    monitoring (the first recorded fetch, `store.monitoring_since`) began at or before the
    window's start. So a new database's first poll mails nothing for a day it never watched."""
    if data.changes or data.articles:
        return None
    if not settings.digest.send_empty:
        return "nothing in it and [digest].send_empty is off"
    since = store.monitoring_since(db)
    if since is None:
        return (
            "nothing in it and nothing has been polled yet; an empty digest is sent only for "
            "a day monitored throughout (run `monitor once` or `monitor run` first)"
        )
    if since > data.start:
        zone = ZoneInfo(settings.schedule.timezone)
        return (
            f"nothing in it and its window began {data.start.astimezone(zone):%Y-%m-%d %H:%M %Z}, "
            f"before monitoring did ({since.astimezone(zone):%Y-%m-%d %H:%M %Z}, the first "
            "fetch); an empty digest is sent only for a day monitored throughout"
        )
    return None


def digest_data(settings: Settings, db: Database, day: date) -> DigestData:
    """Everything the digest for local `day` shows."""
    tz = settings.schedule.timezone
    start, end = window(day, settings.digest.time, tz)
    last_day = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date()
    return DigestData(
        day=day,
        start=start,
        end=end,
        timezone=tz,
        changes=tuple(store.changes_between(db, start, end)),
        articles=tuple(store.articles_between(db, start, end)),
        daily_counts=daily_counts(
            db, settings.concepts, last_day=last_day, days=settings.digest.chart_days, timezone=tz
        ),
        labels={cid: c.label for cid, c in settings.concepts.items()},
        order=concept_order(settings),
    )


def queue_digest(settings: Settings, db: Database, day: date) -> int:
    """Put the digest for `day` in the outbox: one message per email recipient and webhook,
    never twice (the dedup key holds the day), unless it is `withheld`. Returns how many were
    new."""
    data = digest_data(settings, db, day)
    reason = withheld(settings, db, data)
    if reason is not None:
        log.info("digest withheld", extra={"event": "digest", "day": str(day), "reason": reason})
        return 0
    recipients = settings.digest.recipients or (settings.email.to if settings.email else ())
    items = [
        OutboxItem("email", (to,), Queued(f"digest:{day}:email:{to}", data))
        for to in (recipients if settings.email else ())
    ]
    items += [
        OutboxItem(hook.name, (), Queued(f"digest:{day}:{hook.name}", data))
        for hook in settings.webhooks
    ]
    with store.transaction(db):
        added = store.enqueue(db, items)
    log.info(
        "digest queued",
        extra={
            "event": "digest",
            "day": str(day),
            "messages": added,
            "changes": len(data.changes),
            "articles": len(data.articles),
        },
    )
    return added


def queue_due_digest(settings: Settings, db: Database, at: datetime | None = None) -> int:
    """Queue the latest digest that is due and not yet queued: the one missed while nothing
    ran is sent when something runs again (older missed days are not)."""
    if settings.email is None and not settings.webhooks:
        return 0
    day = digest_day(settings, at or datetime.now(UTC))
    if store.has_message(db, f"digest:{day}:"):
        return 0
    return queue_digest(settings, db, day)
