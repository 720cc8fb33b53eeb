"""The alert outbox: written with the event that caused it, rendered at delivery, marked sent
once a channel took it.

A row stores what to send: the event as versioned JSON (`event_json`, monitor/store/events.py)
and its dedup key. Delivery renders it when it first claims the row, with the settings of the
delivering process, and writes the message into the row's subject, text, html and payload, which
stay as they are from then on (`freeze`): a retry sends the same message, and the table shows
what was sent. Rows written before `event_json` hold a rendered message and are sent as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from monitor.models import Message, OutboxItem, PendingAlert, Queued
from monitor.store.database import iso, now
from monitor.store.events import event_json, event_kind


def enqueue(db: Database, items: Sequence[OutboxItem], change_ids: Sequence[int] = ()) -> int:
    """Add what to send to the outbox; a dedup key already there is left alone. Returns how many
    were new. Call it inside the transaction that stores the event; `change_ids` are the ids of
    the changes stored with it, in the order the items' `change` positions refer to.

    An event (Queued) is stored as event_json, its subject, text, html and payload left empty
    until delivery renders it; a Message is stored rendered, as it is."""
    added = 0
    stamp = now()
    for item in items:
        m = item.message
        if isinstance(m, Queued):
            kind, stored, rendered = event_kind(m.event), event_json(m.event), None
            subject, text, html, payload = "", "", None, ""
        else:
            kind, stored, rendered = str(m.payload.get("event", "")), None, stamp
            subject, text, html = m.subject, m.text, m.html
            payload = json.dumps(m.payload, ensure_ascii=False)
        cursor = db.execute(
            "INSERT OR IGNORE INTO alerts (dedup_key, event, channel, recipients, subject, text, "
            "html, payload, created_at, next_attempt_at, change_id, event_json, rendered_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                m.dedup_key,
                kind,
                item.channel,
                json.dumps(list(item.recipients)),
                subject,
                text,
                html,
                payload,
                stamp,
                stamp,
                change_ids[item.change] if item.change is not None else None,
                stored,
                rendered,
            ],
        )
        added += cursor.rowcount
    return added


def _message(row: Sequence[Any]) -> Message:
    """The message of (dedup_key, subject, text, html, payload) columns; empty until rendered."""
    dedup_key, subject, text, html, payload = row
    return Message(dedup_key, subject, text, html, json.loads(payload) if payload else {})


def due(db: Database, at: datetime, limit: int = 100) -> list[PendingAlert]:
    """Pending messages whose next attempt is due, oldest first; one not rendered yet carries
    its event_json."""
    rows = db.execute(
        "SELECT id, channel, recipients, dedup_key, subject, text, html, payload, attempts, "
        "CASE WHEN rendered_at IS NULL THEN event_json END "
        "FROM alerts WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? "
        "ORDER BY id LIMIT ?",
        [iso(at), limit],
    ).fetchall()
    return [
        PendingAlert(row[0], row[1], tuple(json.loads(row[2])), _message(row[3:8]), row[8], row[9])
        for row in rows
    ]


def freeze(db: Database, alert_id: int, run: str, message: Message) -> Message:
    """Write the message delivery rendered into a row this run holds, unless the row was
    rendered already (by an earlier attempt, or another run whose lease ran out), and return
    the row's message: the first rendering is the one every attempt sends."""
    db.execute(
        "UPDATE alerts SET subject = ?, text = ?, html = ?, payload = ?, rendered_at = ? "
        "WHERE id = ? AND claimed_by = ? AND rendered_at IS NULL",
        [
            message.subject,
            message.text,
            message.html,
            json.dumps(message.payload, ensure_ascii=False),
            now(),
            alert_id,
            run,
        ],
    )
    row = db.execute(
        "SELECT dedup_key, subject, text, html, payload FROM alerts WHERE id = ?", [alert_id]
    ).fetchone()
    return _message(row)


def claim(db: Database, alert_id: int, at: datetime, lease_until: datetime, run: str) -> bool:
    """Take a due message for the delivery run `run` (a token unique to that run); False when
    another run already has it. A run that dies while sending leaves the claim to expire at
    `lease_until`, then it is due again. Every later change of the row by this run names the same
    token, so a run never moves a row that another run claimed after it read its list."""
    cursor = db.execute(
        "UPDATE alerts SET status = 'sending', next_attempt_at = ?, claimed_by = ? WHERE id = ? "
        "AND status IN ('pending', 'sending') AND next_attempt_at <= ?",
        [iso(lease_until), run, alert_id, iso(at)],
    )
    return cursor.rowcount == 1


def mark_sent(db: Database, alert_id: int, run: str) -> bool:
    """Record that a channel accepted a message this run claimed and still holds; also when it
    was withdrawn while being sent, since it was delivered all the same. False when the run no
    longer held it (its lease ran out and another run took it)."""
    cursor = db.execute(
        "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
        "last_error = NULL, claimed_by = NULL "
        "WHERE id = ? AND status IN ('sending', 'superseded') AND claimed_by = ?",
        [now(), alert_id, run],
    )
    return cursor.rowcount == 1


def mark_failed(
    db: Database, alert_id: int, run: str, error: str, retry_at: datetime | None
) -> bool:
    """Count a failed attempt of a message this run holds; with no `retry_at` it is given up
    (status failed). One withdrawn meanwhile stays withdrawn: it is not to be retried."""
    cursor = db.execute(
        "UPDATE alerts SET attempts = attempts + 1, last_error = ?, claimed_by = NULL, "
        "status = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, "
        "next_attempt_at = COALESCE(?, next_attempt_at) "
        "WHERE id = ? AND status = 'sending' AND claimed_by = ?",
        [error, retry_at and iso(retry_at), retry_at and iso(retry_at), alert_id, run],
    )
    return cursor.rowcount == 1


def defer(db: Database, alert_id: int, run: str, until: datetime, error: str) -> bool:
    """Put a message this run holds back without counting an attempt (its channel is down this
    run). A row the run did not claim, or no longer holds, is left as it is."""
    cursor = db.execute(
        "UPDATE alerts SET status = 'pending', next_attempt_at = ?, last_error = ?, "
        "claimed_by = NULL WHERE id = ? AND status = 'sending' AND claimed_by = ?",
        [iso(until), error, alert_id, run],
    )
    return cursor.rowcount == 1


def withdraw(db: Database, change_ids: Sequence[int]) -> int:
    """Withdraw the undelivered alerts of superseded changes (status superseded): never sent,
    kept for the record. One a delivery run holds is withdrawn too, so a failed attempt is not
    retried; if its channel accepts it, it is recorded as sent. Returns how many."""
    if not change_ids:
        return 0
    marks = ",".join("?" * len(change_ids))
    cursor = db.execute(
        "UPDATE alerts SET status = 'superseded' "
        f"WHERE change_id IN ({marks}) AND status IN ('pending', 'sending')",
        list(change_ids),
    )
    return cursor.rowcount


def has_message(db: Database, prefix: str) -> bool:
    """Whether any outbox message's dedup key starts with `prefix` (e.g. a day's digest)."""
    row = db.execute(
        "SELECT 1 FROM alerts WHERE substr(dedup_key, 1, ?) = ? LIMIT 1", [len(prefix), prefix]
    ).fetchone()
    return row is not None
