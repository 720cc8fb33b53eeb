"""Exactly once under overlap: delivery runs that overlap never send an alert twice.

The adversarial run saw 21 mails for 11 Message-IDs: one run whose mail server refused a message
put back every message of the list it had read, including those another run had claimed and was
sending meanwhile, so the next run sent them again. Here three runs at once deliver through a
real SMTP server on loopback that is slow and refuses every fourth recipient.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor import store
from monitor.alerts import delivery
from monitor.config import Settings
from monitor.models import Message, OutboxItem
from tests.conftest import MakeSettings

ALERTS = 24
RUNS = 3


class Refusing:
    """An aiosmtpd handler that takes a while per message and refuses every fourth recipient."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recipients = 0
        self.received: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            self.recipients += 1
            refuse = self.recipients % 4 == 0
        if refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.02)  # a slow server: runs overlap while one is sending
        for line in envelope.content.decode("ascii", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                with self.lock:
                    self.received[line.split(":", 1)[1].strip()] += 1
        return "250 OK"


def _port() -> int:
    with socket.socket() as sock:  # aiosmtpd's Controller cannot take port 0
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(make_settings: MakeSettings, port: int) -> Settings:
    data = make_settings([]).model_dump(mode="python")
    data["email"] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "monitor@example.org",
        "to": ["desk@example.org"],
        "timeout": 10,
    }
    data["alerts"] = {**data["alerts"], "max_attempts": 50, "retry_seconds": 60}
    return Settings.model_validate(data)


def _queue(path: Path) -> None:
    items = [
        OutboxItem(
            "email",
            (f"analyst{i}@example.org",),
            Message(f"test:overlap:{i}", f"Alert {i}", f"Body {i}", None, {"event": "test"}),
        )
        for i in range(ALERTS)
    ]
    with store.open_db(path) as db, store.transaction(db):
        assert store.enqueue(db, items) == ALERTS


def _statuses(path: Path) -> Counter[str]:
    with store.open_db(path) as db:
        return Counter(row[0] for row in db.execute("SELECT status FROM alerts"))


def test_three_overlapping_runs_deliver_each_alert_once(make_settings: MakeSettings) -> None:
    handler = Refusing()
    controller = Controller(handler, hostname="127.0.0.1", port=_port())
    controller.start()
    try:
        settings = _settings(make_settings, controller.port)
        _queue(settings.database)
        start = datetime.now(UTC)
        errors: list[BaseException] = []

        def run(at: datetime) -> None:
            try:
                with store.open_db(settings.database) as db:
                    delivery.deliver_due(settings, db, at)
            except BaseException as exc:  # reported by the test, not lost in a thread
                errors.append(exc)

        # Rounds a day apart, so what a run put back is due in the next round; each round
        # starts three runs at once and waits for all of them.
        for day in range(40):
            if _statuses(settings.database)["pending"] == 0:
                break
            moment = start + timedelta(days=day)
            threads = [threading.Thread(target=run, args=(moment,)) for _ in range(RUNS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
                assert not thread.is_alive(), "a delivery run did not end"
        assert not errors, errors
    finally:
        controller.stop()

    assert _statuses(settings.database) == Counter({"sent": ALERTS})
    assert handler.recipients > ALERTS, "the server refused some recipients, so runs retried"
    assert len(handler.received) == ALERTS, "every alert arrived"
    twice = {mid: n for mid, n in handler.received.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"


def test_a_run_changes_only_the_rows_it_claimed(make_settings: MakeSettings) -> None:
    settings = make_settings([])
    _queue(settings.database)
    now = datetime.now(UTC)
    lease = now + timedelta(minutes=10)
    with store.open_db(settings.database) as db:
        first, second = store.due(db, now)[:2]
        assert store.claim(db, first.id, now, lease, "run-a")
        assert not store.claim(db, first.id, now, lease, "run-b"), "held by run-a"
        # run-b read the list before run-a claimed: none of its changes may move run-a's row
        assert not store.defer(db, first.id, "run-b", now, "channel down")
        assert not store.mark_failed(db, first.id, "run-b", "550", now)
        assert not store.mark_sent(db, first.id, "run-b")
        assert store.mark_sent(db, first.id, "run-a")
        # nor a row nobody claimed
        assert not store.defer(db, second.id, "run-b", now, "channel down")
        rows = dict(db.execute("SELECT id, status FROM alerts").fetchall())
    assert rows[first.id] == "sent"
    assert rows[second.id] == "pending"


# A lease far longer than one message takes even on a machine busy with other work, and a run of
# messages that lasts well past it: 12 messages at 0.75 s, 9 s in all, against a 6 s lease.
LEASE = timedelta(seconds=6)  # ten minutes in real use
PER_MESSAGE = 0.75


class Slow(Refusing):
    """Takes PER_MESSAGE seconds per message and refuses nobody."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(PER_MESSAGE)
        return await super().handle_DATA(server, session, envelope)


def test_a_long_run_claims_each_message_for_a_full_lease(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim's lease runs from the claim, not from the start of the run: a run that has been
    sending for longer than the lease must not hand out claims already expired, which a second
    run would take while the first is still sending them."""
    monkeypatch.setattr(delivery, "LEASE", LEASE)
    handler = Slow()
    controller = Controller(handler, hostname="127.0.0.1", port=_port())
    controller.start()
    try:
        settings = _settings(make_settings, controller.port)
        items = [
            OutboxItem(
                "email",
                (f"analyst{i}@example.org",),
                Message(f"test:lease:{i}", f"Alert {i}", f"Body {i}", None, {"event": "test"}),
            )
            for i in range(12)
        ]
        with store.open_db(settings.database) as db, store.transaction(db):
            store.enqueue(db, items)

        def run() -> None:
            with store.open_db(settings.database) as db:
                delivery.deliver_due(settings, db)

        first = threading.Thread(target=run)
        started = time.monotonic()
        first.start()
        # the second run starts once the first has been sending for longer than a lease
        while time.monotonic() - started < LEASE.total_seconds() + 0.5 or not handler.received:
            assert first.is_alive(), "the first run ended before a lease had passed"
            time.sleep(0.05)
        second = threading.Thread(target=run)
        second.start()
        for thread in (first, second):
            thread.join(timeout=120)
            assert not thread.is_alive()
    finally:
        controller.stop()
    assert len(handler.received) == 12
    twice = {mid: n for mid, n in handler.received.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"
