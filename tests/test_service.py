"""The service: scheduled polls at their intervals, start-up catch-up, the digest's time,
heartbeat and health, clean shutdown on SIGTERM. (SIGKILL at random moments is in
tests/hostile/test_kills.py.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor import alerts, store
from monitor.config import Settings
from monitor.models import Attempt
from monitor.schedule import Service, health
from tests.conftest import MakeSettings, shipped_concepts
from tests.servers import LocalServer
from tests.test_alerts import MailServer
from tests.test_pipeline import serve_demo_site

ROOT = Path(__file__).parent.parent


def _service_settings(make_settings: MakeSettings, server: LocalServer, **raw: Any) -> Settings:
    settings = make_settings(
        [
            {
                "name": "whitehouse",
                "kind": "feed",
                "url": server.url("/feeds/whitehouse-korea.xml"),
                "interval_minutes": 0.02,
            },
            {
                "name": "korean",
                "kind": "feed",
                "url": server.url("/feeds/korean-policy.xml"),
                "interval_minutes": 0.05,
            },
        ]
    )
    data = settings.model_dump(mode="python")
    data["service"] = {"heartbeat_seconds": 0.5, "jitter_seconds": 0, "deliver_seconds": 1}
    data.update(raw)
    return Settings.model_validate(data)


def _serve(service: Service, seconds: float) -> None:
    thread = threading.Thread(target=service.serve)
    thread.start()
    time.sleep(seconds)
    service.shutdown()
    thread.join(timeout=15)
    assert not thread.is_alive()


def test_sources_are_polled_at_their_intervals(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        settings = _service_settings(make_settings, server)
        _serve(Service(settings, settings.database), 4.0)
        white = len(server.hits("/feeds/whitehouse-korea.xml"))
        korean = len(server.hits("/feeds/korean-policy.xml"))
    # 1.2 s and 3 s intervals over 4 s, both polled at once on the first start.
    assert 3 <= white <= 5, white
    assert 2 <= korean <= 3, korean
    with store.open_db(settings.database) as db:
        assert store.last_success(db, "poll:whitehouse") is not None
        assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] > 10
        assert store.heartbeat(db) is not None
    assert health(settings, datetime.now(UTC)) is None
    assert "old" in (health(settings, datetime.now(UTC) + timedelta(minutes=5)) or "")


def test_a_start_polls_only_what_is_overdue(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        settings = _service_settings(make_settings, server)
        settings = Settings.model_validate(
            settings.model_dump(mode="python")
            | {"sources": [s.model_dump() | {"interval_minutes": 60} for s in settings.sources]}
        )
        now = datetime.now(UTC)
        with store.open_db(settings.database) as db:
            store.job_started(db, "poll:korean")
            store.job_finished(db, "poll:korean")  # polled a moment ago: not due for an hour
        service = Service(settings, settings.database)
        service.add_jobs(now)
        white = service.scheduler.get_job("poll:whitehouse").next_run_time
        korean = service.scheduler.get_job("poll:korean").next_run_time
        assert abs((white - now).total_seconds()) < 1, "never polled: due at once"
        assert korean - now > timedelta(minutes=59), "polled recently: waits for its interval"
        # The digest fires at 07:00:05 Asia/Seoul, whatever the machine's zone.
        trigger = service.scheduler.get_job("digest").trigger
        fire = trigger.get_next_fire_time(None, datetime(2026, 11, 27, 23, 0, tzinfo=UTC))
        assert fire.astimezone(UTC) == datetime(2026, 11, 27, 22, 0, 5, tzinfo=UTC) + timedelta(
            days=1
        )
        service.shared.close()


def test_a_restart_catches_up_a_missed_digest_once(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        email = {
            "host": "127.0.0.1",
            "port": 1,
            "security": "none",
            "to": ["a@example.org"],
            "timeout": 1,
        }
        settings = _service_settings(make_settings, server, email=email)
        with store.open_db(settings.database) as db:  # monitored for days before the restarts
            first = Attempt("http://x/feed", datetime.now(UTC) - timedelta(days=3), 200, 1, 0.1)
            store.record_attempts(db, "whitehouse", [first])
        for _ in range(2):  # two starts, as after a restart
            _serve(Service(settings, settings.database), 1.0)
        with store.open_db(settings.database) as db:
            digests = [
                k for (k,) in db.execute("SELECT dedup_key FROM alerts WHERE event = 'digest'")
            ]
        day = alerts.digest_day(settings, datetime.now(UTC))
        assert digests == [f"digest:{day}:email:a@example.org"]


def _config(tmp_path: Path, server: LocalServer, mail: MailServer | None = None) -> Path:
    email = (
        f'[email]\nhost = "127.0.0.1"\nport = {mail.port}\nsecurity = "none"\n'
        'to = ["analyst@example.org"]\ntimeout = 3\n'
        if mail
        else ""
    )
    config = tmp_path / "monitor.toml"
    config.write_text(
        shipped_concepts()
        + f"""
[storage]
database = "{tmp_path / "m.db"}"
[fetch]
delay = 0
retries = 0
[schedule]
interval_minutes = 0.05
[service]
heartbeat_seconds = 1
jitter_seconds = 0
deliver_seconds = 1
[alerts]
max_age_days = 0
retry_seconds = 0
[digest]
send_empty = false
{email}
[[sources]]
name = "whitehouse"
kind = "feed"
url = "{server.url("/feeds/whitehouse-korea.xml")}"
follow = "all"
[[sources]]
name = "korean"
kind = "feed"
url = "{server.url("/feeds/korean-policy.xml")}"
follow = "all"
""",
        encoding="utf-8",
    )
    return config


def _start(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _started(process: subprocess.Popen[str]) -> list[str]:
    """Read the service's log until it says it started (its signal handlers are in place)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if '"message": "started"' in line:
            return lines
    raise AssertionError("".join(lines))


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_sigterm_stops_cleanly_and_a_second_signal_at_once(tmp_path: Path) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        config = _config(tmp_path, server)
        process = _start(config)
        head = _started(process)
        time.sleep(2)  # polling and extracting
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
        output = "".join(head) + output
        assert process.returncode == 0, output
        assert time.monotonic() - started < 10
        assert '"event": "service"' in output and '"message": "stopped"' in output
        assert '"event": "fetch"' in output and '"event": "poll"' in output, "a line per event"
        assert _integrity(tmp_path / "m.db") == "ok"
        again = _start(config)
        _started(again)
        time.sleep(1)
        again.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=10)
        # Exited at once: by our handler (143), or, when the first stop was already finishing,
        # by the default one during interpreter shutdown (-15), or cleanly (0).
        assert again.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
        assert _integrity(tmp_path / "m.db") == "ok"


def _children(pid: int) -> set[int]:
    """The live processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(condition: Any, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_extraction_workers_end_with_the_service_when_it_is_killed(tmp_path: Path) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        process = _start(_config(tmp_path, server))
        _started(process)
        # the service spawns its extraction workers when the first pages arrive
        assert _wait_for(lambda: len(_children(process.pid)) >= 1), "no worker started"
        workers = _children(process.pid)
        process.kill()
        process.wait(timeout=60)
        assert _wait_for(lambda: not any(_alive(w) for w in workers)), "orphaned workers"
        assert process.stdout is not None
        process.stdout.read()  # EOF: no worker holds the service's output open


def test_the_digest_fires_at_its_local_time(make_settings: MakeSettings) -> None:
    from zoneinfo import ZoneInfo

    with LocalServer() as server:
        serve_demo_site(server)
        email = {
            "host": "127.0.0.1",
            "port": 1,
            "security": "none",
            "to": ["a@example.org"],
            "timeout": 1,
        }
        local = datetime.now(ZoneInfo("Asia/Seoul")) + timedelta(seconds=3)
        if local.hour == 0 and local.minute == 0:
            time.sleep(5)  # not across local midnight: "today" must stay today
            local = datetime.now(ZoneInfo("Asia/Seoul")) + timedelta(seconds=3)
        settings = _service_settings(
            make_settings, server, email=email, digest={"time": local.strftime("%H:%M:%S")}
        )
        before = datetime.now(UTC)
        _serve(Service(settings, settings.database), 11.0)
        with store.open_db(settings.database) as db:
            rows = db.execute(
                "SELECT dedup_key, created_at FROM alerts WHERE event = 'digest' ORDER BY id"
            ).fetchall()
    today = f"digest:{local.date()}:email:a@example.org"
    # At start, the latest digest already due (yesterday's) is not caught up: it ended before this
    # new database was first polled. Today's comes when its 24 hours close, at the configured
    # local time, and not before.
    assert [key for key, _ in rows][-1] == today
    created = datetime.fromisoformat(rows[-1][1])
    assert created >= before + timedelta(seconds=3) - timedelta(seconds=1)
