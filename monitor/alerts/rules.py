"""Alert rules, the outbox items they produce, and delivery of what is due.

Rules are read in order and the first that matches an event decides: `deliver = "now"` writes
an alert to the outbox (in the transaction that stores the event), `deliver = "digest"` lets the
event wait for the daily digest (which shows every change and article anyway). An event no rule
matches waits for the digest too. Dedup keys are built from the event itself (URL and content
hashes, source and the start of its run of failures, the digest's day), so the same event can
never be queued twice, and the key travels with the message (Message-ID, Idempotency-Key).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor import store
from monitor.alerts import channels as notify
from monitor.alerts import digest
from monitor.analysis.timeline import daily_counts
from monitor.config import AlertRule, Settings
from monitor.errors import NotifyError
from monitor.models import (
    ArticleEvent,
    ChangeEvent,
    DigestData,
    Message,
    OutboxItem,
    PendingAlert,
    SourceEvent,
)
from monitor.redact import Redactor
from monitor.render import messages

log = logging.getLogger("monitor.alerts.rules")
MAX_RETRY = timedelta(hours=6)
# How long a delivery run holds a message it is sending before another run may take it.
LEASE = timedelta(minutes=10)


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0


def _short(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def _labels(settings: Settings) -> dict[str, str]:
    return {cid: c.label for cid, c in settings.concepts.items()}


def _items(
    settings: Settings, channels: Sequence[str], key: str, render: Any, recipients: Sequence[str]
) -> list[OutboxItem]:
    """One outbox item per channel; email needs somewhere to send to."""
    items = []
    for channel in channels:
        if channel == "email":
            if settings.email is None or not recipients:
                continue
            items.append(OutboxItem("email", tuple(recipients), render(f"{key}:email")))
        elif any(hook.name == channel for hook in settings.webhooks):
            items.append(OutboxItem(channel, (), render(f"{key}:{channel}")))
    return items


def _change_matches(rule: AlertRule, event: ChangeEvent, watched: bool) -> bool:
    if rule.event != "change" or (rule.sources and event.source not in rule.sources):
        return False
    if (rule.kinds and event.kind not in rule.kinds) or (rule.watched_only and not watched):
        return False
    if event.significance < rule.min_significance:
        return False
    concepts = [
        c for c in event.comparison["concepts"] if not rule.concepts or c["id"] in rule.concepts
    ]
    if rule.statuses or rule.moves:
        stance = event.comparison["stance"]
        moved = any(
            s["move"] in rule.moves
            and (not rule.concepts or s["old"] in rule.concepts or s["new"] in rule.concepts)
            for s in stance
        )
        # A weaker rung replaced by a stronger one (FFVD -> CVID) is an upgrade, not a drop.
        lifted = {s["old"] for s in stance if s["move"] == "upgrade"}
        lifted |= {c["id"] for c in concepts if c.get("superseded")}
        return moved or any(
            c["status"] in rule.statuses and c["id"] not in lifted for c in concepts
        )
    return not rule.concepts or any(c["status"] != "unchanged" for c in concepts)


def _article_matches(rule: AlertRule, event: ArticleEvent, settings: Settings) -> bool:
    if rule.event != "article" or (rule.sources and event.source not in rule.sources):
        return False
    found = {m.concept for m in event.mentions if m.concept in settings.concepts}
    if rule.concepts:
        found &= set(rule.concepts)
    if rule.priority is not None:
        found = {c for c in found if settings.concepts[c].priority == rule.priority}
    return bool(found)


def _to_rule(
    settings: Settings, rule: AlertRule | None, key: str, render: Callable[[str], Message]
) -> list[OutboxItem]:
    """The outbox items of the rule that matched an event (none when it waits for the digest)."""
    if rule is None or rule.deliver != "now":
        return []
    return _items(settings, rule.channels, key, render, settings.email.to if settings.email else ())


def for_change(settings: Settings, event: ChangeEvent, *, watched: bool) -> list[OutboxItem]:
    """Alerts for a wording change, by the first rule that matches it."""
    rule = next((r for r in settings.alerts.rules if _change_matches(r, event, watched)), None)
    key = f"change:{event.kind}:{_short(event.url)}:{event.old_hash[:12]}:{event.new_hash[:12]}"
    labels, zone = _labels(settings), settings.schedule.timezone
    return _to_rule(
        settings,
        rule,
        key,
        lambda dedup_key: messages.change_message(
            event, dedup_key=dedup_key, timezone=zone, labels=labels
        ),
    )


def for_article(settings: Settings, event: ArticleEvent) -> list[OutboxItem]:
    """Alerts for a new article that mentions concepts, by the first rule that matches it."""
    if not event.mentions:
        return []
    rule = next((r for r in settings.alerts.rules if _article_matches(r, event, settings)), None)
    labels, zone = _labels(settings), settings.schedule.timezone
    return _to_rule(
        settings,
        rule,
        f"article:{_short(event.url)}",
        lambda dedup_key: messages.article_message(
            event, dedup_key=dedup_key, timezone=zone, labels=labels
        ),
    )


def for_source(settings: Settings, event: SourceEvent, since: str) -> list[OutboxItem]:
    """An alert when a source reaches the failure threshold, and one when it recovers after
    that: once per run of failures, to the failure recipients."""
    threshold = settings.alerts.failure_threshold
    if event.failing and event.consecutive_failures != threshold:
        return []
    if not event.failing and event.consecutive_failures < threshold:
        return []
    key = f"source:{event.name}:{'down' if event.failing else 'up'}:{since}"

    def render(dedup_key: str) -> Message:
        return messages.source_message(
            event, dedup_key=dedup_key, timezone=settings.schedule.timezone
        )

    to = settings.alerts.failure_recipients or (settings.email.to if settings.email else ())
    return _items(settings, settings.alerts.failure_channels, key, render, to)


def _send(settings: Settings, alert: PendingAlert) -> None:
    if alert.channel == "email":
        if settings.email is None:
            raise NotifyError("no [email] section in the config; add one to send mail")
        notify.send_email(settings.email, alert.recipients, alert.message)
        return
    hooks: Mapping[str, Any] = {hook.name: hook for hook in settings.webhooks}
    if alert.channel not in hooks:
        raise NotifyError(f"no webhook named {alert.channel!r} in the config; add it back")
    notify.send_webhook(hooks[alert.channel], alert.message)


def deliver_due(settings: Settings, db: Database, at: datetime | None = None) -> Delivery:
    """Send every outbox message that is due. Each is claimed first, so overlapping runs never
    send one twice. A failure waits with exponential backoff and is given up after
    `alerts.max_attempts` (it stays in the table, status failed); once a channel fails, its
    other messages wait for the next run without counting an attempt, so an outage costs one
    timeout per run, not one per message."""
    moment = at or datetime.now(UTC)
    run = uuid.uuid4().hex  # this run's claims: it changes only the rows it took
    redactor = Redactor.from_settings(settings)
    done = Delivery()
    down: dict[str, str] = {}
    started = time.monotonic()
    for alert in store.due(db, moment):
        # The lease runs from this claim, not from the start of the run: a run that has been
        # sending for longer than LEASE must not hand out claims that have already expired.
        claimed = moment + timedelta(seconds=time.monotonic() - started)
        if not store.claim(db, alert.id, claimed, claimed + LEASE, run):
            continue  # another run took it after this one read the list
        if alert.channel in down:
            retry = moment + timedelta(seconds=settings.alerts.retry_seconds)
            if store.defer(db, alert.id, run, retry, down[alert.channel]):
                done.retrying += 1
            continue
        fields = {"event": "alert", "channel": alert.channel, "dedup_key": alert.message.dedup_key}
        try:
            _send(settings, alert)
        except Exception as exc:  # a channel's refusal, or a bug: recorded, never blocking the rest
            error = str(exc) if isinstance(exc, NotifyError) else f"{type(exc).__name__}: {exc}"
            error = redactor.redact(error)  # a server's text is kept only once redacted
            log.warning("alert not delivered", extra={**fields, "error": error})
            down[alert.channel] = error
            attempts = alert.attempts + 1
            if attempts >= settings.alerts.max_attempts:
                if store.mark_failed(db, alert.id, run, error, None):
                    done.given_up += 1
            else:
                wait = timedelta(seconds=settings.alerts.retry_seconds * 2 ** (attempts - 1))
                if store.mark_failed(db, alert.id, run, error, moment + min(wait, MAX_RETRY)):
                    done.retrying += 1
            continue
        if not store.mark_sent(db, alert.id, run):
            # The lease ran out while sending and another run took the message: it may be sent
            # twice (receivers can drop the copy by its Message-ID); say so rather than hide it.
            log.warning(
                "alert sent after its claim expired",
                extra={**fields, "status": "sent", "lease_seconds": LEASE.total_seconds()},
            )
        else:
            log.info(alert.message.subject, extra={**fields, "status": "sent"})
        done.sent += 1
    return done


def digest_day(settings: Settings, at: datetime) -> date:
    """The local date of the latest digest whose window has closed at `at`."""
    zone = ZoneInfo(settings.schedule.timezone)
    day = at.astimezone(zone).date()
    while digest.window(day, settings.digest.time, settings.schedule.timezone)[1] > at:
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


def concept_order(settings: Settings) -> tuple[str, ...]:
    """Ladder concepts first, strongest first, then the others in config order."""
    laddered = [cid for steps in settings.ladders.values() for cid in steps]
    return tuple(dict.fromkeys([*laddered, *settings.concepts]))


def digest_data(settings: Settings, db: Database, day: date) -> DigestData:
    """Everything the digest for local `day` shows."""
    tz = settings.schedule.timezone
    start, end = digest.window(day, settings.digest.time, tz)
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
        labels=_labels(settings),
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
        OutboxItem("email", (to,), digest.render_digest(data, dedup_key=f"digest:{day}:email:{to}"))
        for to in (recipients if settings.email else ())
    ]
    items += [
        OutboxItem(hook.name, (), digest.render_digest(data, dedup_key=f"digest:{day}:{hook.name}"))
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
