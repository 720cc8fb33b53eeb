"""Alerts end to end: rules, the outbox, a real SMTP server on loopback, restarts, the digest."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor import store
from monitor.alerts import delivery, digest
from monitor.alerts.digest import window as digest_window
from monitor.cli import main
from monitor.config import Settings
from monitor.pipeline import poll
from tests.conftest import DEMO, SHIPPED, MakeSettings, config_head, shipped_concepts
from tests.documents import ROK_2021, cvid_page
from tests.mail import MailServer, email_section, email_toml
from tests.servers import LocalServer, Versions, feed_toml, respond

ROOT = Path(__file__).parent.parent


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    yield server
    server.stop()


def _settings(
    make_settings: MakeSettings, sources: list[dict[str, Any]], mail: MailServer, **raw: Any
) -> Settings:
    settings = make_settings(sources)
    data = settings.model_dump(mode="python")
    data["email"] = email_section(mail)
    data.update(raw)
    return Settings.model_validate(data)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def test_a_dropped_cvid_alert_arrives_multipart_with_its_dedup_key(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    mail.start()
    page = Versions(cvid_page(ROK_2021))
    with LocalServer() as server:
        server.route("/statement.html", page.handler())
        settings = _settings(
            make_settings,
            [{"name": "statement", "kind": "page", "url": server.url("/statement.html")}],
            mail,
        )
        with store.open_db(settings.database) as db:
            poll(settings, db)
            page.body = ROK_2021.read_bytes()
            poll(settings, db)
            [row] = db.execute("SELECT dedup_key, status FROM alerts").fetchall()
            assert row[1] == "pending", "written with the change, before any delivery"
            delivered = delivery.deliver_due(settings, db)
            assert (delivered.sent, delivered.retrying) == (1, 0)
            assert delivery.deliver_due(settings, db).sent == 0, "sent once"
    [message] = mail.inbox.messages
    assert message["Subject"].startswith("CVID dropped: ")
    assert "Joint Statement" in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    assert row[0].split(":")[0] == "change"
    assert message["X-Monitor-Dedup-Key"] == row[0]
    assert message["Message-ID"].startswith("<change")
    text = _body(message, "plain")
    assert "complete, verifiable, and irreversible denuclearization of North Korea" in text
    assert "downgrade" in text and "UTC" in text and "KST" in text
    assert "<del>" in _body(message, "html") or "line-through" in _body(message, "html")
    assert mail.inbox.envelopes[0] == (
        "monitor@example.org",
        ["analyst@example.org", "desk@example.org"],
    )


def test_with_the_mail_server_down_alerts_wait_and_arrive_once_across_restarts(
    make_settings: MakeSettings, mail: MailServer, tmp_path: Path
) -> None:
    korean = (DEMO / "feeds" / "korean-policy.xml").read_bytes()
    with LocalServer() as server:
        server.route("/feed.xml", respond(200, korean, {"Content-Type": "application/rss+xml"}))
        for page in (DEMO / "pages" / "ko").glob("*.html"):
            server.route(
                f"/pages/ko/{page.name}",
                respond(200, page.read_bytes(), {"Content-Type": "text/html; charset=utf-8"}),
            )
        config = tmp_path / "monitor.toml"
        config.write_text(
            shipped_concepts()
            + f"""
{config_head(tmp_path / "m.db")}{email_toml(mail.port, timeout=3, sender=True)}[alerts]
retry_seconds = 0
max_age_days = 0
[digest]
send_empty = false
{feed_toml("korean", server.url("/feed.xml"))}""",
            encoding="utf-8",
        )

        def once() -> dict[str, Any]:
            # A separate process each time: the outbox must survive restarts.
            out = subprocess.run(
                [sys.executable, "-m", "monitor", "once", "--config", str(config), "--json"],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")},
            )
            return dict(json.loads(out.stdout))

        once()  # the server is down: the high-priority Korean articles wait in the outbox
        with store.open_db(tmp_path / "m.db") as db:
            pending = db.execute(
                "SELECT COUNT(*), SUM(attempts), MAX(last_error) FROM alerts WHERE status = 'pending'"
            ).fetchone()
        # One refused connection per run: the others wait without counting an attempt.
        assert pending[0] >= 2 and pending[1] == 1 and "127.0.0.1" in pending[2]
        assert mail.inbox.messages == []
        mail.start()
        once()
        once()
    subjects = sorted(m["Subject"] for m in mail.inbox.messages)
    assert len(subjects) == pending[0], "every waiting alert arrived, none twice"
    assert len({m["Message-ID"] for m in mail.inbox.messages}) == len(subjects)
    korean_subjects = [s for s in subjects if any("\uac00" <= ch <= "\ud7a3" for ch in s)]
    assert korean_subjects, "Korean subjects arrive intact"
    bodies = [_body(m, "plain") for m in mail.inbox.messages]
    assert any("비핵화" in b for b in bodies)


def test_a_failing_source_alerts_once_at_the_threshold_and_once_on_recovery(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    mail.start()
    feed = (DEMO / "feeds" / "heise.atom").read_bytes()
    with LocalServer() as server:
        # retries = 1: every failed poll asks twice, so three failed polls take six answers.
        answers = [respond(500, b"down")] * 6 + [
            respond(200, feed, {"Content-Type": "application/atom+xml"})
        ]
        state = {"n": 0}

        def flaky(request: Any, stopping: Any) -> None:
            handler = answers[min(state["n"], len(answers) - 1)]
            state["n"] += 1
            handler(request, stopping)

        server.route("/feed", flaky)
        settings = _settings(
            make_settings,
            [{"name": "heise", "kind": "feed", "url": server.url("/feed")}],
            mail,
            alerts={"failure_threshold": 3, "failure_recipients": ["ops@example.org"]},
        )
        with store.open_db(settings.database) as db:
            for _ in range(5):
                poll(settings, db)
                delivery.deliver_due(settings, db)
    subjects = [m["Subject"] for m in mail.inbox.messages]
    assert len(subjects) == 2, subjects
    assert "heise" in subjects[0] and "fail" in subjects[0].lower()
    assert "recover" in subjects[1].lower()
    assert all(to == ["ops@example.org"] for _, to in mail.inbox.envelopes)


def test_the_digest_is_sent_once_per_day_and_recipient(
    make_settings: MakeSettings, mail: MailServer, tmp_path: Path
) -> None:
    mail.start()
    demo_db = tmp_path / "demo"
    CliRunner().invoke(main, ["demo", "--dir", str(demo_db)], catch_exceptions=False)
    config = tmp_path / "monitor.toml"
    config.write_text(
        SHIPPED.read_text(encoding="utf-8")
        + f"""
[email]
host = "127.0.0.1"
port = {mail.port}
security = "none"
to = ["analyst@example.org", "desk@example.org"]
""",
        encoding="utf-8",
    )
    env = {"MONITOR_DB": str(demo_db / "monitor.db")}
    settings = make_settings([])
    day = digest.digest_day(settings, datetime.now(UTC))  # the latest digest whose day is over
    start, _ = digest_window(day, "07:00", "Asia/Seoul")
    with store.open_db(demo_db / "monitor.db") as db:  # as if the demo had run that day
        db.execute(
            "UPDATE documents SET first_seen_at = ?", [store.iso(start + timedelta(hours=1))]
        )
        db.execute("UPDATE changes SET detected_at = ?", [store.iso(start + timedelta(hours=1))])
    tomorrow = date.fromordinal(day.toordinal() + 2)
    early = CliRunner(env=env).invoke(
        main, ["digest", "--config", str(config), "--date", str(tomorrow), "--send"]
    )
    assert early.exit_code == 1 and "not over yet" in early.output
    args = ["digest", "--config", str(config), "--date", str(day), "--send"]
    first = CliRunner(env=env).invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "2 sent" in first.output
    again = CliRunner(env=env).invoke(main, args)
    assert "already queued or sent" in again.output and "0 sent" in again.output
    assert sorted(to for _, [to] in mail.inbox.envelopes) == [
        "analyst@example.org",
        "desk@example.org",
    ]
    message = mail.inbox.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    html = _body(message, "html")
    assert "비핵화" in html or "비핵화" in _body(message, "plain")
    eml = tmp_path / "digest.eml"
    wrote = CliRunner(env=env).invoke(
        main, ["digest", "--config", str(config), "--date", str(day), "--out", str(eml)]
    )
    assert wrote.exit_code == 0, wrote.output
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"


def test_timeline_json_shape(tmp_path: Path) -> None:
    demo_db = tmp_path / "demo"
    CliRunner().invoke(main, ["demo", "--dir", str(demo_db)], catch_exceptions=False)
    env = {"MONITOR_DB": str(demo_db / "monitor.db")}
    out = CliRunner(env=env).invoke(
        main, ["timeline", "extended-deterrence", "--by", "month", "--json"]
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert rows and all(set(r) == {"period", "source", "count"} for r in rows)
    assert all(r["source"] is None for r in rows)
    assert [r["period"] for r in rows] == sorted(r["period"] for r in rows)
    assert sum(r["count"] for r in rows) > 0
    split = CliRunner(env=env).invoke(
        main, ["timeline", "extended-deterrence", "--by", "week", "--split", "--json"]
    )
    assert {r["source"] for r in json.loads(split.stdout)} >= {"whitehouse-korea"}


def test_a_0700_seoul_digest_covers_the_right_24_hours_across_the_utc_date_line(
    make_settings: MakeSettings,
) -> None:
    from monitor.analysis.prepare import matcher, prepared
    from monitor.models import Arrival, Extracted
    from tests.events import feed_entry

    settings = make_settings([])
    mention = "The allies reaffirmed the complete denuclearization of the Korean Peninsula."
    stamps = {
        "before": "2026-11-27T21:59:59+00:00",  # 06:59:59 KST on the 28th: the previous digest
        "first": "2026-11-27T22:00:00+00:00",  # 07:00 KST on the 28th: the first second in
        "last": "2026-11-28T21:59:59+00:00",  # 06:59:59 KST on the 29th: the last second in
        "after": "2026-11-28T22:00:00+00:00",  # 07:00 KST on the 29th: the next digest
    }
    with store.open_db(settings.database) as db:
        for name, stamp in stamps.items():
            url = f"http://x/{name}"
            ready = prepared(Extracted(mention, name), matcher(settings.lexicon()))
            store.save_document(
                db,
                "s",
                Arrival(
                    url=url, link=url, kind="article", processed=ready, entry=feed_entry(url, name)
                ),
            )
            db.execute("UPDATE documents SET first_seen_at = ? WHERE url = ?", [stamp, url])
        data = digest.digest_data(settings, db, date(2026, 11, 29))
    assert [a.title for a in data.articles] == ["last", "first"]
    assert (data.start, data.end) == (
        datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 28, 22, 0, tzinfo=UTC),
    )
