"""The service: scheduled polls at their intervals, start-up catch-up, the digest's time,
heartbeat and health, clean shutdown on SIGTERM. (SIGKILL at random moments is in
tests/hostile/test_kills.py.)"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlite_utils import Database

from monitor import store
from monitor.alerts import digest
from monitor.config import Settings
from monitor.models import Attempt
from monitor.schedule import Service, health
from tests.conftest import MakeSettings
from tests.hostile.helpers import write_config
from tests.processes import HAS_PROC, Marker, Tree, marker, stat, wait_for
from tests.servers import LocalServer, respond, serve_demo_site
from tests.service import integrity, monitor_child, service_config, start_service

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


def _unreachable_email() -> dict[str, Any]:
    """An [email] section whose server is never there (port 1): a digest is planned and tried,
    and nothing is sent."""
    return {
        "host": "127.0.0.1",
        "port": 1,
        "security": "none",
        "to": ["a@example.org"],
        "timeout": 1,
    }


def _serve_until(service: Service, condition: Callable[[], object], what: str) -> None:
    """Run the service in a thread until `condition` holds (60 s at most), then stop it."""
    thread = threading.Thread(target=service.serve)
    thread.start()
    try:
        assert wait_for(condition), f"still waiting after 60 s for {what}"
    finally:
        service.shutdown()
        thread.join(timeout=60)
    assert not thread.is_alive()


def _count_runs(service: Service, job: str) -> threading.Semaphore:
    """A semaphore released each time the service's `job` method (its real one) has run."""
    runs = threading.Semaphore(0)
    real = getattr(service, job)

    def counted(*args: Any) -> None:
        real(*args)
        runs.release()

    setattr(service, job, counted)  # add_jobs schedules the instance's attribute
    return runs


def test_sources_are_polled_at_their_intervals(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        settings = _service_settings(make_settings, server)
        paths = {"whitehouse": "/feeds/whitehouse-korea.xml", "korean": "/feeds/korean-policy.xml"}
        polls = {"whitehouse": 4, "korean": 2}  # 1.2 s and 3 s intervals
        started = time.monotonic()
        _serve_until(
            Service(settings, settings.database),
            lambda: all(len(server.hits(paths[n])) >= polls[n] for n in polls),
            f"polls {polls}",
        )
        hits = {name: [r.started for r in server.hits(path)] for name, path in paths.items()}
    # Both are polled at once on the first start, then on their interval's grid (APScheduler
    # never runs a job early, and coalesces the runs it is late for): the i-th poll after the
    # first comes i intervals after the start at the earliest, however late any of them ran.
    for source in settings.sources:
        interval = (source.interval_minutes or 0) * 60
        assert len(hits[source.name]) >= polls[source.name]
        for i, moment in enumerate(hits[source.name]):
            assert moment - started >= i * interval, (source.name, i, hits[source.name])
    with store.open_db(settings.database) as db:
        assert store.last_success(db, "poll:whitehouse") is not None
        assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] > 10
        assert store.heartbeat(db) is not None
    assert health(settings.basics(), datetime.now(UTC)) is None
    assert "old" in (health(settings.basics(), datetime.now(UTC) + timedelta(minutes=5)) or "")


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
        email = _unreachable_email()
        settings = _service_settings(make_settings, server, email=email)
        with store.open_db(settings.database) as db:  # monitored for days before the restarts
            first = Attempt("http://x/feed", datetime.now(UTC) - timedelta(days=3), 200, 1, 0.1)
            store.record_attempts(db, "whitehouse", [first])
        for _ in range(2):  # two starts, as after a restart
            service = Service(settings, settings.database)
            runs = _count_runs(service, "digest")  # at start: a missed digest is queued
            _serve_until(service, partial(runs.acquire, blocking=False), "the digest job")
        with store.open_db(settings.database) as db:
            digests = [
                k for (k,) in db.execute("SELECT dedup_key FROM alerts WHERE event = 'digest'")
            ]
        day = digest.digest_day(settings, datetime.now(UTC))
        assert digests == [f"digest:{day}:email:a@example.org"]


def _started(process: subprocess.Popen[str]) -> list[str]:
    """Read the service's log until it says it started (its signal handlers are in place)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if '"message": "started"' in line:
            return lines
    raise AssertionError("".join(lines))


class _Log:
    """The service's output, read on a thread, so a test can wait for a line with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.closed = False  # the output reached its end: no process holds it open any more
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for(self, text: str, seconds: float = 60) -> None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: self.closed or any(text in line for line in self.lines), seconds
            )
            if not found or not any(text in line for line in self.lines):
                raise AssertionError(f"no {text!r} in the log within {seconds} s:\n{self.text}")

    def wait_closed(self, seconds: float = 60) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.closed, seconds)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def test_sigterm_stops_cleanly_and_a_second_signal_at_once(tmp_path: Path) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        config = service_config(tmp_path, server)
        process = start_service(config)
        log = _Log(process)
        log.wait_for('"message": "started"')
        log.wait_for('"message": "polled"')  # a poll job has fetched, extracted and stored
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.text
        assert time.monotonic() - started < 10, "the product promises 10 s"
        assert log.wait_closed(), "a process of the service still holds its output"
        output = log.text
        assert '"event": "service"' in output and '"message": "stopped"' in output
        assert '"event": "fetch"' in output and '"event": "poll"' in output, "a line per event"
        assert integrity(tmp_path / "m.db") == "ok"


def _with_web(tmp_path: Path, server: LocalServer, web: str) -> Path:
    """The service's config (service_config) with this [web] section."""
    config = service_config(tmp_path, server)
    with config.open("a", encoding="utf-8") as file:
        file.write(f"\n[web]\n{web}")
    return config


def test_the_web_view_runs_inside_the_service_when_enabled(tmp_path: Path) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        process = start_service(_with_web(tmp_path, server, "enabled = true\nport = 0\n"))
        try:
            log = _Log(process)
            log.wait_for('"message": "polled"')
            log.wait_for("web view on http://127.0.0.1:")
            url = re.search(r"web view on (http://127\.0\.0\.1:\d+)", log.text)
            assert url, log.text
            page = httpx2.get(url[1] + "/sources", timeout=30)
            assert page.status_code == 200 and "whitehouse" in page.text
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, log.text
            assert log.wait_closed(), "a process of the service still holds its output"
            with pytest.raises(httpx2.ConnectError):
                httpx2.get(url[1] + "/sources", timeout=30)  # stopped with the service
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_public_web_bind_without_credentials_stops_the_start(tmp_path: Path) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        config = _with_web(tmp_path, server, 'enabled = true\nhost = "0.0.0.0"\nport = 0\n')
        args, env = monitor_child("run", config, None)
        done = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MONITOR_WEB_TOKEN" in done.stderr and "0.0.0.0" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# --- every process the service starts ends with it ------------------------------------------------

PDFS = Path(__file__).parent / "data" / "pdf"
# A 1.4 KB page-tree bomb that holds PDFium for minutes (tests/hostile/test_extraction_deadline.py)
# and a page of 200,000 unclosed paragraphs that holds trafilatura for about a minute.
BOMB = (PDFS / "page-tree-bomb.pdf").read_bytes()
FLOOD = b"<html><head><title>Flood</title></head><body>" + b"<p>word " * 200_000 + b"</body></html>"
SLOW = {"/bomb.pdf": (BOMB, "application/pdf"), "/flood.html": (FLOOD, "text/html")}


def _slow_config(tmp_path: Path, server: LocalServer) -> Path:
    """Two pages whose extraction takes minutes, one worker, and a deadline far beyond that."""
    for path, (body, kind) in SLOW.items():
        server.route(path, respond(200, body, {"Content-Type": kind}))
    pages = [
        {"name": "bomb", "kind": "page", "url": server.url("/bomb.pdf")},
        {"name": "flood", "kind": "page", "url": server.url("/flood.html")},
    ]
    return write_config(
        tmp_path,
        pages,
        extract={"deadline": 3600},
        service={"heartbeat_seconds": 1, "jitter_seconds": 0},
        retries=0,
    )


def _extracting(process: subprocess.Popen[str], log: _Log, cpu: float = 1.5) -> Tree:
    """Wait until both slow pages are fetched (so one is in the worker, the other queued) and
    the worker has used `cpu` seconds; the service's process tree then."""
    log.wait_for('"message": "started"')
    for path in SLOW:
        log.wait_for(path)  # its fetch's log line: it goes to the worker next

    def busy() -> bool:
        # A worker spends under a second of CPU starting (its imports) and extracting an
        # ordinary page (0.8 s measured); past that it is deep in one of these.
        tree = Tree.of(process.pid)
        workers = [stat(p.pid) for p in tree.descendants if "spawn_main" in p.command]
        return len(workers) == 1 and all(w is not None and w.cpu >= cpu for w in workers)

    assert wait_for(busy), f"the worker never got busy: {Tree.of(process.pid).describe()}"
    return Tree.of(process.pid)


def _nothing_left(tree: Tree, mark: Marker, log: _Log) -> None:
    """No process the service started is running, and none holds its output open."""
    assert tree.pids(), "the service had started no process"
    assert any("resource_tracker" in p.command for p in tree.descendants), tree.describe(
        list(tree.descendants)
    )
    assert wait_for(lambda: not tree.alive()), f"left running: {tree.describe()}"
    assert wait_for(lambda: not mark.alive()), f"marked, left running: {mark.alive()}"
    assert log.wait_closed(), "a process still holds the service's output open"


linux = pytest.mark.skipif(not HAS_PROC, reason="needs Linux /proc")


@linux
def test_a_first_signal_during_a_long_extraction_ends_the_service_within_10_s(
    tmp_path: Path,
) -> None:
    mark = marker()
    with LocalServer() as server:
        config = _slow_config(tmp_path, server)
        process = start_service(config, mark)
        log = _Log(process)
        tree = _extracting(process, log)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        seconds = time.monotonic() - signalled
        assert code == 0, log.text
        assert seconds < 10, f"{seconds:.1f} s from SIGTERM to exit"
        _nothing_left(tree, mark, log)
        assert '"message": "stopped"' in log.text
        assert integrity(tmp_path / "m.db") == "ok"
        with sqlite3.connect(tmp_path / "m.db") as db:
            # nothing recorded as done, or as failed: the pages were cut off, not wrong
            assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
            assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0
            sources = db.execute(
                "SELECT name, consecutive_failures, last_error FROM sources"
            ).fetchall()
            assert sorted(sources) == [("bomb", 0, None), ("flood", 0, None)]
        # nothing lost: the next start reads both pages again
        again = start_service(config, mark)
        again_log = _Log(again)
        assert wait_for(lambda: all(len(server.hits(path)) == 2 for path in SLOW))
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=60) == 0, again_log.text
        assert wait_for(lambda: not mark.alive()), f"marked, left running: {mark.alive()}"
    print(f"\nfirst SIGTERM during extraction to exit: {seconds:.1f} s")


@linux
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_ends_the_service_and_every_process_it_started_at_once(
    tmp_path: Path, signum: int
) -> None:
    mark = marker()
    with LocalServer() as server:
        process = start_service(_slow_config(tmp_path, server), mark)
        log = _Log(process)
        tree = _extracting(process, log, cpu=0)  # the worker exists
        process.send_signal(signum)
        # the first stop gives the extractions a grace of seconds: the second signal cuts it
        log.wait_for('"message": "stopping"')
        process.send_signal(signum)
        assert process.wait(timeout=60) == 128 + signum, log.text
        assert "second signal: exiting at once" in log.text
        _nothing_left(tree, mark, log)
        assert integrity(tmp_path / "m.db") == "ok"


@linux
def test_every_process_the_service_started_ends_when_it_is_killed(tmp_path: Path) -> None:
    mark = marker()
    with LocalServer() as server:
        process = start_service(_slow_config(tmp_path, server), mark)
        log = _Log(process)
        tree = _extracting(process, log)  # busy in PDFium and lxml: no Python code runs there
        process.kill()
        assert process.wait(timeout=60) == -signal.SIGKILL
        _nothing_left(tree, mark, log)
        assert integrity(tmp_path / "m.db") == "ok"


def _clear_of_midnight() -> datetime:
    """Seoul's local time, once it is more than a minute away from local midnight (so "today"
    stays today for the digest being waited for)."""
    from zoneinfo import ZoneInfo

    def local() -> datetime:
        return datetime.now(ZoneInfo("Asia/Seoul"))

    assert wait_for(lambda: 1 <= local().hour * 60 + local().minute < 23 * 60 + 59, 130)
    return local()


def test_the_digest_fires_at_its_local_time(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        email = _unreachable_email()
        # 4 s ahead: after the service's start (else it is caught up at start), and not long
        local = _clear_of_midnight() + timedelta(seconds=4)
        settings = _digest_settings(make_settings, server, email, local)
        before = datetime.now(UTC)
        today = f"digest:{local.date()}:email:a@example.org"

        def digests() -> list[tuple[str, str]]:
            """Read-only, so the waiting never holds a lock the service wants."""
            if not settings.database.exists():
                return []
            try:
                with sqlite3.connect(f"file:{settings.database}?mode=ro", uri=True) as db:
                    return db.execute(
                        "SELECT dedup_key, created_at FROM alerts WHERE event = 'digest' "
                        "ORDER BY id"
                    ).fetchall()
            except sqlite3.OperationalError:  # not migrated yet
                return []

        _serve_until(
            Service(settings, settings.database),
            lambda: any(key == today for key, _ in digests()),
            f"the digest {today}",
        )
        rows = digests()
    # At start, the latest digest already due (yesterday's) is not caught up: it ended before this
    # new database was first polled. Today's comes when its 24 hours close, at the configured
    # local time, and not before.
    assert [key for key, _ in rows][-1] == today
    created = datetime.fromisoformat(rows[-1][1])
    assert created >= before + timedelta(seconds=4) - timedelta(seconds=1)  # stored to the second


def _digest_settings(
    make_settings: MakeSettings, server: LocalServer, email: dict[str, Any], local: datetime
) -> Settings:
    return _service_settings(
        make_settings, server, email=email, digest={"time": local.strftime("%H:%M:%S")}
    )


def test_the_health_check_leaves_migrations_to_the_service(make_settings: MakeSettings) -> None:
    """A HEALTHCHECK during an upgrade neither runs the pending migrations (under its own
    timeout, racing the service) nor waits for the service's: it says the schema is being
    upgraded, and the file is left as it was."""
    settings = make_settings([])
    older = Database(settings.database)
    store.migrations.apply(older, stop_before="m010_bodies")
    older.close()
    said = health(settings.basics(), datetime.now(UTC)) or ""
    assert "upgrading the schema (3 steps left)" in said, said
    with sqlite3.connect(settings.database) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(versions)")}
    assert "raw" in columns and "body_hash" not in columns, "the health check migrated"
    with store.open_db(settings.database) as db:  # the service's open migrates
        store.beat(db, os.getpid(), store.now())
    assert health(settings.basics(), datetime.now(UTC)) is None
