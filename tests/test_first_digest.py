"""The digest a user asks for: the README's command on the demo, and no digest for a day that
was not watched (a new database's first poll, an empty day only partly monitored)."""

from __future__ import annotations

import html
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from monitor import store
from monitor.alerts import delivery, digest
from monitor.cli import main
from monitor.config import Settings
from tests.conftest import SHIPPED, MakeSettings
from tests.mail import MailServer, email_toml
from tests.servers import LocalServer, feed_toml, respond, serve_demo_site

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DIGEST_LINE = "MONITOR_DB=demo/monitor.db .venv/bin/monitor digest --out digest.html"

QUIET_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Weather</title><link>http://example.org/</link>
<description>Nothing about the tracked concepts</description>
<item><title>Sunny in Seoul</title><link>http://example.org/sunny</link>
<description>Clear skies and a light breeze all week.</description>
<pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


def _checkout(folder: Path) -> None:
    """A folder laid out as the README expects: the shipped config, and `.venv/bin/monitor` as
    the monitor this test runs (so the README's line runs as written)."""
    (folder / "config").mkdir()
    (folder / "config" / "monitor.toml").write_bytes(SHIPPED.read_bytes())
    command = folder / ".venv" / "bin" / "monitor"
    command.parent.mkdir(parents=True)
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m monitor "$@"\n', encoding="utf-8")
    command.chmod(command.stat().st_mode | stat.S_IXUSR)


def _demo(folder: Path) -> str:
    done = subprocess.run(
        [".venv/bin/monitor", "demo"],
        cwd=folder,
        env=_plain_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


def test_the_readmes_digest_command_shows_the_demos_changes_and_articles(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") : readme.index("## Configuration")]
    assert DIGEST_LINE in quick_start.splitlines(), "the README's 'afterwards try' digest line"
    _checkout(tmp_path)
    settings = _shipped(tmp_path)  # the zone and digest time the command reads
    for _ in range(3):  # again only if the digest's window closed between the demo and the page
        before = _gathering(settings)
        printed = _demo(tmp_path)
        assert DIGEST_LINE.replace(".venv/bin/", "") in printed, "the demo's hint names it too"
        wrote = subprocess.run(
            DIGEST_LINE,
            shell=True,
            cwd=tmp_path,
            env=_plain_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if _gathering(settings) == before:
            break
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout.startswith("wrote digest.html: the digest for"), wrote.stdout
    page = html.unescape((tmp_path / "digest.html").read_text(encoding="utf-8"))
    assert "No wording changes or new articles" not in page
    start, end = digest.window(before, settings.digest.time, settings.schedule.timezone)
    with store.opened(tmp_path / "demo" / "monitor.db") as db:
        changes = store.changes_between(db, start, end)
        articles = store.articles_between(db, start, end)
        stored = db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
    assert changes and len(changes) == stored, "every wording change of the demo is in the window"
    assert len(articles) >= 5
    for change in changes:
        assert change.verdict in page
        assert (change.title or "")[:40] in page
    for article in articles:
        assert (article.title or "")[:40] in page, article.title
    assert "complete denuclearization 2→1" in page


def _gathering(settings: Settings) -> date:
    """The digest whose window holds this moment (the day after the latest one due)."""
    return digest.digest_day(settings, datetime.now(UTC)) + timedelta(days=1)


def _shipped(folder: Path) -> Settings:
    from monitor import config

    raw = config.loads(SHIPPED.read_text(encoding="utf-8"))
    raw["storage"] = {"database": str(folder / "demo" / "monitor.db")}
    return config.parse(raw, environment=False)


def _digests(mail: MailServer) -> list[str]:
    return [
        str(m["X-Monitor-Dedup-Key"])
        for m in mail.inbox.messages
        if str(m["X-Monitor-Dedup-Key"]).startswith("digest:")
    ]


def test_a_new_databases_first_poll_mails_no_digest_for_the_closed_earlier_window(
    tmp_path: Path, mail: MailServer
) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        config = tmp_path / "monitor.toml"
        config.write_text(
            SHIPPED.read_text(encoding="utf-8").split("\n[[sources]]", 1)[0]
            + f"""
{email_toml(mail.port, timeout=5)}[digest]
send_empty = true
{feed_toml("korean", server.url("/feeds/korean-policy.xml"), None)}""",
            encoding="utf-8",
        )
        env = {"MONITOR_DB": str(tmp_path / "new.db")}
        done = CliRunner(env=env).invoke(main, ["once", "--config", str(config)])
        with store.opened(tmp_path / "new.db") as db:
            [(first,)] = db.execute("SELECT MIN(started_at) FROM fetches").fetchall()
        # The latest window closed when the first poll began, asked for by name.
        day = digest.digest_day(_shipped(tmp_path), datetime.fromisoformat(first))
        send = ["digest", "--send", "--date", str(day), "--config", str(config)]
        asked = CliRunner(env=env).invoke(main, send)
    assert done.exit_code == 0, done.output
    assert asked.exit_code == 0, asked.output
    assert "not sent: nothing in it" in asked.output and "before monitoring did" in asked.output
    assert not _digests(mail), "the latest closed window ended before the database existed"
    with store.opened(tmp_path / "new.db") as db:
        assert db.execute("SELECT COUNT(*) FROM alerts WHERE event = 'digest'").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM fetches").fetchone()[0] > 0, "it did poll"


@contextmanager
def _quiet(make_settings: MakeSettings, mail: MailServer) -> Iterator[Settings]:
    """While QUIET_FEED is served on loopback: settings polling it that mail their digests to
    `mail`, empty ones included."""
    with LocalServer() as server:
        server.route("/feed", respond(200, QUIET_FEED, {"Content-Type": "application/rss+xml"}))
        settings = make_settings([{"name": "weather", "kind": "feed", "url": server.url("/feed")}])
        data = settings.model_dump(mode="python")
        data["email"] = {
            "host": "127.0.0.1",
            "port": mail.port,
            "security": "none",
            "to": ["analyst@example.org"],
            "timeout": 5,
        }
        data["digest"] = {**data["digest"], "send_empty": True}
        yield Settings.model_validate(data)


def _after_the_window(
    settings: Settings, db: Database, day: date
) -> tuple[datetime, datetime, int, int]:
    """The digest window of `day`, and what was done 5 s after its end: the digests queued,
    then the messages delivered."""
    start, end = digest.window(day, settings.digest.time, settings.schedule.timezone)
    closed = end + timedelta(seconds=5)
    queued = digest.queue_due_digest(settings, db, closed)
    return start, end, queued, delivery.deliver_due(settings, db, closed).sent


def test_an_empty_day_is_mailed_only_when_it_was_monitored_throughout(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    from monitor.pipeline import poll

    with _quiet(make_settings, mail) as settings, store.opened(settings.database) as db:
        assert poll(settings, db).errors == []
        [(first,)] = db.execute("SELECT MIN(started_at) FROM fetches").fetchall()
        began = datetime.fromisoformat(first)
        # The window that holds the first poll is only partly monitored, and nothing in it
        # mentions a concept: no empty digest, though send_empty is on.
        partly = digest.digest_day(settings, began) + timedelta(days=1)
        start, end, queued, sent = _after_the_window(settings, db, partly)
        assert start < began < end
        assert (queued, sent) == (0, 0)
        assert _digests(mail) == []
        # The next day was watched from its first moment: its empty digest is mailed.
        throughout = partly + timedelta(days=1)
        start, _, queued, sent = _after_the_window(settings, db, throughout)
        assert began <= start
        assert (queued, sent) == (1, 1)
    assert _digests(mail) == [f"digest:{throughout}:email:analyst@example.org"]
    [message] = mail.inbox.messages
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "No wording changes or new articles" in body.get_content()


def test_the_services_digest_job_at_start_mails_nothing_for_a_day_before_the_database(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    from monitor.schedule import Service

    with _quiet(make_settings, mail) as settings:
        service = Service(settings, settings.database)
        try:
            service.poll_source(settings.sources[0])  # the jobs a first start runs at once
            service.digest()
        finally:
            service.shared.close()
    assert _digests(mail) == []
    with store.opened(settings.database) as db:
        assert db.execute("SELECT COUNT(*) FROM fetches").fetchone()[0] > 0, "it did poll"
        jobs = dict(db.execute("SELECT name, last_error FROM jobs").fetchall())
    assert jobs == {"poll:weather": None, "digest": None}
