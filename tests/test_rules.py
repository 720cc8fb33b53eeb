"""Alert rules and delivery details: rule order and filters, backoff, giving up, claims, the
digest's due day and catch-up, and source failure runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor import store
from monitor.alerts import delivery, digest
from monitor.alerts import rules as alerts
from monitor.config import Settings
from monitor.models import Attempt, Change, Comparison, SourceEvent
from tests.conftest import MakeSettings
from tests.mail import MailServer


def _settings(make_settings: MakeSettings, port: int = 1, **raw: Any) -> Settings:
    data = make_settings([]).model_dump(mode="python")
    data["email"] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "to": ["a@example.org"],
        "timeout": 2,
    }
    data.update(raw)
    return Settings.model_validate(data)


def _change(
    *,
    kind: str = "revision",
    source: str = "s",
    significance: float = 0.95,
    new_hash: str = "b" * 64,
    statuses: dict[str, str] | None = None,
    stance: tuple[str | None, str | None, str] = ("cvid", "complete-denuclearization", "downgrade"),
) -> Change:
    statuses = statuses if statuses is not None else {"cvid": "dropped"}
    comparison = {
        "concepts": [
            {"id": c, "old": 1, "new": 0, "status": s, "variants_old": [], "variants_new": []}
            for c, s in statuses.items()
        ],
        "stance": [
            {"ladder": "denuclearization", "old": stance[0], "new": stance[1], "move": stance[2]}
        ],
        "sentences": {
            "added": [],
            "removed": ["The leaders reaffirmed CVID."],
            "changed": [],
            "moved": 0,
        },
        "significance": significance,
        "old": {"title": "t", "words": 10, "concepts": {}},
        "new": {"title": "t", "words": 9, "concepts": {}},
    }
    return Change(
        kind,
        "http://x/a",
        "Statement",
        "Statement",
        source,
        None,
        datetime.now(UTC),
        "a" * 64,
        new_hash,
        significance,
        "cvid dropped",
        Comparison.from_json(comparison),
    )


def test_the_first_matching_rule_decides(make_settings: MakeSettings) -> None:
    mute = {"name": "mute-s", "event": "change", "sources": ["s"], "deliver": "digest"}
    weakening = {
        "name": "weakening",
        "event": "change",
        "statuses": ["dropped"],
        "moves": ["downgrade"],
    }
    muted = _settings(make_settings, alerts={"rules": [mute, weakening]})
    assert alerts.for_change(muted, _change(), watched=True) == []
    assert alerts.for_change(muted, _change(source="other"), watched=True) != []
    reversed_order = _settings(make_settings, alerts={"rules": [weakening, mute]})
    assert alerts.for_change(reversed_order, _change(), watched=True) != []


def test_default_rules_watched_only_significance_and_upgrades(make_settings: MakeSettings) -> None:
    settings = _settings(make_settings)
    assert alerts.for_change(settings, _change(), watched=False) == [], "news articles wait"
    [item] = alerts.for_change(settings, _change(), watched=True)
    assert item.recipients == ("a@example.org",) and item.message.dedup_key.endswith(":email")
    upgrade = _change(
        statuses={"ffvd": "dropped", "cvid": "introduced"}, stance=("ffvd", "cvid", "upgrade")
    )
    assert alerts.for_change(settings, upgrade, watched=True) == [], "FFVD -> CVID is no drop"
    strict = _settings(
        make_settings,
        alerts={"rules": [{"name": "big", "event": "change", "min_significance": 0.99}]},
    )
    assert alerts.for_change(strict, _change(significance=0.95), watched=True) == []


def test_delivery_backs_off_then_gives_up_and_one_outage_costs_one_attempt(
    make_settings: MakeSettings,
) -> None:
    settings = _settings(make_settings, alerts={"max_attempts": 2, "retry_seconds": 60})
    with store.open_db(settings.database) as db:
        for n in range(3):
            store.enqueue(
                db, alerts.for_change(settings, _change(new_hash=f"{n}" * 64), watched=True)
            )
        now = datetime.now(UTC)
        first = delivery.deliver_due(settings, db, now)  # nothing listens on port 1
        assert (first.sent, first.retrying, first.given_up) == (0, 3, 0)
        rows = db.execute(
            "SELECT attempts, next_attempt_at, status FROM alerts ORDER BY id"
        ).fetchall()
        assert [r[0] for r in rows] == [1, 0, 0], "one refused connection per run"
        assert datetime.fromisoformat(rows[0][1]) >= now + timedelta(seconds=59)
        assert delivery.deliver_due(settings, db, now).retrying == 0, "not due before the backoff"
        later = delivery.deliver_due(settings, db, now + timedelta(minutes=2))
        assert later.given_up == 1
        assert db.execute("SELECT status FROM alerts ORDER BY id").fetchone()[0] == "failed"


def test_a_claimed_message_is_not_sent_by_a_second_run(make_settings: MakeSettings) -> None:
    mail = MailServer()
    mail.start()
    try:
        settings = _settings(make_settings, port=mail.port)
        with store.open_db(settings.database) as db:
            store.enqueue(db, alerts.for_change(settings, _change(), watched=True))
            now = datetime.now(UTC)
            [due] = store.due(db, now)
            # another run has it
            assert store.claim(db, due.id, now, now + timedelta(minutes=10), "other")
            assert delivery.deliver_due(settings, db, now).sent == 0
            # The other run died: after its lease the message is due again, and sent once.
            assert delivery.deliver_due(settings, db, now + timedelta(minutes=11)).sent == 1
            assert delivery.deliver_due(settings, db, now + timedelta(minutes=30)).sent == 0
        assert len(mail.inbox.messages) == 1
    finally:
        mail.stop()


@pytest.mark.parametrize(
    ("at", "day"),
    [
        ("2026-11-27T21:59:59+00:00", "2026-11-27"),  # 06:59:59 KST on the 28th
        ("2026-11-27T22:00:00+00:00", "2026-11-28"),  # 07:00 KST: the 28th's digest is due
    ],
)
def test_the_digest_day_turns_at_the_digest_time(
    make_settings: MakeSettings, at: str, day: str
) -> None:
    assert str(digest.digest_day(_settings(make_settings), datetime.fromisoformat(at))) == day


def test_a_missed_digest_is_queued_once_when_something_runs_again(
    make_settings: MakeSettings,
) -> None:
    settings = _settings(make_settings)
    quiet = _settings(make_settings, digest={"send_empty": False})
    with store.open_db(settings.database) as db:
        at = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 10:00 KST, three hours after 07:00
        # Monitored since before the window (06:00 KST on the 27th): its empty day is told.
        first = Attempt("http://x/feed", datetime(2026, 11, 26, 21, 0, tzinfo=UTC), 200, 10, 0.1)
        store.record_attempts(db, "s", [first])
        assert digest.queue_due_digest(quiet, db, at) == 0, "an empty day sends nothing"
        assert digest.queue_due_digest(settings, db, at) == 1
        assert digest.queue_due_digest(settings, db, at + timedelta(hours=5)) == 0, "not twice"
        keys = [k for (k,) in db.execute("SELECT dedup_key FROM alerts")]
        assert keys == ["digest:2026-11-28:email:a@example.org"]


def test_a_source_that_fails_again_after_recovering_alerts_again(
    make_settings: MakeSettings,
) -> None:
    settings = _settings(make_settings, alerts={"failure_threshold": 2})
    at = datetime.now(UTC)

    def failing(n: int) -> SourceEvent:
        return SourceEvent("s", "http://x/feed", True, n, "HTTP 500", at)

    assert alerts.for_source(settings, failing(1), "2026-11-27T00:00:00+00:00") == []
    first = alerts.for_source(settings, failing(2), "2026-11-27T00:00:00+00:00")
    assert alerts.for_source(settings, failing(3), "2026-11-27T00:00:00+00:00") == [], "once"
    recovered = alerts.for_source(
        settings, SourceEvent("s", "http://x/feed", False, 3, None, at), "2026-11-27T00:00:00+00:00"
    )
    again = alerts.for_source(settings, failing(2), "2026-11-29T00:00:00+00:00")
    keys = [items[0].message.dedup_key for items in (first, recovered, again)]
    assert len(set(keys)) == 3 and ":down:" in keys[0] and ":up:" in keys[1]
