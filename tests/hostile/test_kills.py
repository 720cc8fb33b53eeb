"""Kill tests: SIGKILL at random moments, of `monitor once` and of the service. After each kill
the database is consistent (`PRAGMA integrity_check`, foreign keys, the full-text index, no
document stored without its version), and afterwards every queued alert reaches a real SMTP
server on loopback exactly once, counted by Message-ID."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import config as configuration
from monitor import store
from monitor.alerts import delivery
from monitor.pipeline import poll
from tests.conftest import DEMO
from tests.hostile.helpers import write_config
from tests.mail import MailServer, email_toml
from tests.processes import HAS_PROC, Marker, marker, wait_for
from tests.servers import LocalServer, serve_demo_site
from tests.service import integrity, monitor_child, service_config, start_service

ROOT = Path(__file__).parent.parent.parent
KILLS = 8


def _consistent(path: Path) -> None:
    """What a killed process must leave: a sound file, sound references, a full-text index
    that matches the versions, and no document without the version it was stored with."""
    assert integrity(path) == "ok"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO versions_fts(versions_fts) VALUES ('integrity-check')")
        bare = conn.execute(
            "SELECT url FROM documents d WHERE NOT EXISTS "
            "(SELECT 1 FROM versions v WHERE v.document_id = d.id)"
        ).fetchall()
        assert bare == [], f"documents stored without a version: {bare}"
        urls = [u for (u,) in conn.execute("SELECT url FROM documents")]
        assert len(urls) == len(set(urls))


def _once(config: Path, mark: Marker | None = None) -> subprocess.Popen[bytes]:
    args, env = monitor_child("once", config, mark)
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _nothing_left(mark: Marker, moments: list[float]) -> None:
    """No process the killed one started (extraction workers, multiprocessing's resource
    tracker) outlives it: the kernel ends them with it."""
    if HAS_PROC:
        assert wait_for(lambda: not mark.alive()), f"left running (kills at {moments} s)"


def _deliver_what_is_owed(config: Path) -> tuple[set[str], set[str]]:
    """Delivery after any lease a killed run held; the alerts and their statuses."""
    settings = configuration.load(config)
    with store.open_db(settings.database) as db:
        delivery.deliver_due(settings, db, datetime.now(UTC) + timedelta(minutes=15))
        queued = {k for (k,) in db.execute("SELECT dedup_key FROM alerts")}
        statuses = {s for (s,) in db.execute("SELECT status FROM alerts")}
    return queued, statuses


def _korean_config(tmp_path: Path, server: LocalServer, mail: MailServer) -> Path:
    """The demo's Korean feed, every article followed: its articles raise alerts."""
    extra = f"""
[alerts]
max_age_days = 0
retry_seconds = 0
[digest]
send_empty = false
{email_toml(mail.port, timeout=3)}"""
    source = {"name": "korean", "kind": "feed", "url": server.url("/feeds/korean-policy.xml")}
    return write_config(tmp_path, [{**source, "follow": "all"}], extra)


def _opened(database: Path, process: subprocess.Popen[bytes]) -> None:
    """Wait until the process has created the database (imports take a while under load)."""
    deadline = time.monotonic() + 60
    while not database.exists() and process.poll() is None:
        assert time.monotonic() < deadline, "monitor once never opened its database"
        time.sleep(0.02)


def test_sigkill_of_monitor_once_at_random_moments(tmp_path: Path) -> None:
    mail = MailServer()
    rng = random.Random(20261202)
    database = tmp_path / "m.db"
    with LocalServer() as server:
        serve_demo_site(server)
        config = _korean_config(tmp_path, server, mail)
        moments = []
        killed = 0
        latest = 2.5  # seconds: kill moments are drawn below this
        for _ in range(KILLS):
            if rng.random() < 0.5:
                mail.start()  # sometimes the mail server is up, so some alerts go out mid-run
            mark = marker()
            process = _once(config, mark)
            _opened(database, process)
            # a random moment of its work: polling, extracting, storing, delivering
            moment = rng.uniform(0.0, latest)
            moments.append(round(moment, 2))
            started = time.monotonic()
            try:
                process.wait(timeout=moment)
                # it finished first (a fast machine, or little left to do): later kills come
                # earlier than this run took, so they land mid-work
                latest = min(latest, max(0.05, 0.9 * (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                process.kill()
            killed += process.wait(timeout=10) == -signal.SIGKILL
            mail.stop()
            _nothing_left(mark, moments)
            _consistent(database)
        assert killed >= KILLS // 2, f"most runs were killed mid-work, not let finish: {moments}"
        mail.start()
        finished = _once(config)
        assert finished.wait(timeout=60) == 0, "a whole `monitor once` after the kills"
        queued, statuses = _deliver_what_is_owed(config)
        mail.stop()
    _consistent(database)
    assert queued, "the Korean articles raise alerts"
    assert statuses == {"sent"}, statuses
    ids = Counter(str(m["Message-ID"]) for m in mail.inbox.messages)
    twice = {mid: n for mid, n in ids.items() if n > 1}
    assert not twice, f"sent more than once (kills at {moments} s): {twice}"
    received = Counter(str(m["X-Monitor-Dedup-Key"]) for m in mail.inbox.messages)
    assert set(received) == queued, "every queued alert arrived"


def test_sigkill_at_random_moments_loses_no_alert_and_sends_none_twice(tmp_path: Path) -> None:
    """The same for the service, `monitor run`."""
    mail = MailServer()
    rng = random.Random(20261127)
    with LocalServer() as server:
        serve_demo_site(server)
        config = service_config(tmp_path, server, mail)
        moments: list[float] = []
        for _ in range(8):
            if rng.random() < 0.5:
                mail.start()  # sometimes the mail server is up, so some alerts go out mid-run
            mark = marker()
            process = start_service(config, mark)
            moments.append(round(rng.uniform(0.3, 2.5), 2))
            time.sleep(moments[-1])  # a random moment of its work: the kill's time, not a wait
            process.kill()
            process.wait(timeout=10)
            mail.stop()
            _nothing_left(mark, moments)
            assert integrity(tmp_path / "m.db") == "ok"
        # Finally let everything owed go out: a clean poll, then delivery after any lease.
        mail.start()
        settings = configuration.load(config)
        with store.open_db(settings.database) as db:
            poll(settings, db)
            delivery.deliver_due(settings, db, datetime.now(UTC) + timedelta(minutes=15))
            queued = {
                k for (k,) in db.execute("SELECT dedup_key FROM alerts WHERE event != 'digest'")
            }
            statuses = {s for (s,) in db.execute("SELECT status FROM alerts")}
        mail.stop()
    received = [m["X-Monitor-Dedup-Key"] for m in mail.inbox.messages]
    assert queued, "the Korean articles raise alerts"
    assert statuses == {"sent"}
    assert sorted(received) == sorted(queued), "every alert arrived exactly once"
    # Each article's document was stored once, whatever moment the process died at.
    with sqlite3.connect(tmp_path / "m.db") as conn:
        urls = [u for (u,) in conn.execute("SELECT url FROM documents")]
    assert len(urls) == len(set(urls))
    assert (DEMO / "feeds" / "korean-policy.xml").exists()
