"""Delivery of what is due in the outbox: claimed, rendered, sent by its channel, retried with
backoff.

A message is claimed before it is sent, so overlapping runs never send one twice; a channel that
fails once is skipped for the rest of the run (one timeout per outage, not one per message).
The outbox holds what to send (the event); the first run that claims a row renders it with its
own settings (concept labels, time zone) and freezes the result in the row, so every attempt
sends the same message and the table shows what was sent.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from monitor import store
from monitor.alerts import channels as notify
from monitor.config import Settings
from monitor.errors import NotifyError
from monitor.models import PendingAlert
from monitor.redact import Redactor
from monitor.render.queued import render

log = logging.getLogger("monitor.alerts")
MAX_RETRY = timedelta(hours=6)
# How long a delivery run holds a message it is sending before another run may take it.
LEASE = timedelta(minutes=10)


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0


def _send(settings: Settings, alert: PendingAlert) -> None:
    channel = notify.find(settings, alert.channel)
    if channel is None or channel.settings is None:
        raise NotifyError(notify.missing(channel, alert.channel))
    channel.kind.send(channel.settings, alert.recipients, alert.message)


def _rendered(settings: Settings, db: Database, alert: PendingAlert, run: str) -> PendingAlert:
    """The claimed alert with the message to send: the row's, once rendered (and frozen)."""
    if alert.event_json is None:
        return alert  # rendered already, or queued rendered before the outbox held events
    dedup_key = alert.message.dedup_key
    message = render(settings, store.read_event(alert.event_json), dedup_key)
    return replace(alert, message=store.freeze(db, alert.id, run, message), event_json=None)


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
        sending = False
        try:
            alert = _rendered(settings, db, alert, run)
            sending = True
            _send(settings, alert)
        except Exception as exc:  # a channel's refusal, or a bug: recorded, never blocking the rest
            error = str(exc) if isinstance(exc, NotifyError) else f"{type(exc).__name__}: {exc}"
            error = redactor.redact(error)  # a server's text is kept only once redacted
            log.warning("alert not delivered", extra={**fields, "error": error})
            if sending:  # a message that could not be rendered says nothing of its channel
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
