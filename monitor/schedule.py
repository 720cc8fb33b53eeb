"""The service: a thin APScheduler 3.x shell over the same pipeline `monitor once` runs.

Jobs are built from the config at every start (in-memory job store): one poll job per source at
its interval, with jitter, one instance at a time and coalesced; outbox delivery; the daily
digest at its local time; a heartbeat. APScheduler's own misfire handling forgets runs across
restarts, so the last success of every job is kept in the database and a start polls at once
every source whose last success is older than its interval, and queues a missed digest once.
SIGTERM or SIGINT stops taking new work, lets the document in hand finish its transaction and
exits 0; a second signal exits at once (the database stays consistent: WAL, transactions).
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlite_utils import Database

from monitor import store
from monitor.alerts import delivery, digest
from monitor.config import Settings, Source
from monitor.errors import StoreError
from monitor.health import health as health  # where `monitor health` imports it from
from monitor.pipeline import Shared, poll
from monitor.redact import Redactor

log = logging.getLogger("monitor.service")


class Service:
    """The running service: its scheduler, what its jobs share, and how it stops."""

    def __init__(self, settings: Settings, database: Path) -> None:
        self.settings = settings
        self.database = database
        self.stop = threading.Event()
        self.started_at = store.now()
        self.redactor = Redactor.from_settings(settings)
        self.shared = Shared.start(settings)
        zone = ZoneInfo(settings.schedule.timezone)
        self.scheduler = BlockingScheduler(
            timezone=zone,
            executors={"default": ThreadPoolExecutor(settings.service.jobs)},
            # Defaults must go here: top-level keyword arguments are ignored (APScheduler #146).
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        self.scheduler.add_listener(self._missed, EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def _job(self, name: str, work: Callable[[Any], None]) -> None:
        """Run one job with its own database connection, recording its start and outcome."""
        if self.stop.is_set():
            return
        try:
            with self._open() as db:
                store.job_started(db, name)
                try:
                    work(db)
                except (sqlite3.Error, StoreError):
                    raise
                except Exception as exc:  # one failed run is recorded; the schedule goes on
                    error = self.redactor.redact(f"{type(exc).__name__}: {exc}")
                    store.job_finished(db, name, error)
                    log.exception("job failed", extra={"event": "job", "job": name})
                    return
                store.job_finished(db, name, None if not self.stop.is_set() else "stopped")
        except StoreError as exc:
            # The database's fault (locked by another process, read-only, disk full): one line,
            # no traceback; the job runs again at its next time (its last success is unchanged).
            log.error(
                "job failed",
                extra={"event": "job", "job": name, "error": self.redactor.redact(str(exc))},
            )

    def _open(self) -> AbstractContextManager[Database]:
        return store.opened(self.database, self.settings.storage.busy_timeout)

    def poll_source(self, source: Source) -> None:
        def work(db: Any) -> None:
            summary = poll(self.settings, db, [source], shared=self.shared, stop=self.stop)
            log.info(
                "polled",
                extra={
                    "event": "poll",
                    "source": source.name,
                    "fetched": summary.fetched,
                    "not_modified": summary.not_modified,
                    "unchanged": summary.unchanged,
                    "new_versions": summary.new_versions,
                    "changes": summary.changes,
                    "errors": len(summary.errors),
                },
            )

        self._job(f"poll:{source.name}", work)

    def deliver(self) -> None:
        def work(db: Any) -> None:
            done = delivery.deliver_due(self.settings, db)
            if done.sent or done.retrying or done.given_up:
                log.info("delivered", extra={"event": "alert", **vars(done)})

        self._job("deliver", work)

    def digest(self) -> None:
        def work(db: Any) -> None:
            if digest.queue_due_digest(self.settings, db):
                log.info("digest queued", extra={"event": "digest"})
            delivery.deliver_due(self.settings, db)

        self._job("digest", work)

    def beat(self) -> None:
        try:
            with self._open() as db:
                store.beat(db, os.getpid(), self.started_at)
        except StoreError as exc:  # `monitor health` reports the stale beat; the service goes on
            log.error(
                "heartbeat failed", extra={"event": "job", "job": "heartbeat", "error": str(exc)}
            )

    def _missed(self, event: JobExecutionEvent) -> None:
        what = "missed" if event.code == EVENT_JOB_MISSED else "failed"
        log.warning(f"job {what}", extra={"event": "job", "job": event.job_id})

    def add_jobs(self, now: datetime | None = None) -> None:
        """One job per source, delivery, the digest and the heartbeat; sources whose last
        success is older than their interval (or that never ran) are due at once."""
        moment = now or datetime.now(UTC)
        settings = self.settings
        with self._open() as db:
            store.sync_sources(db, settings.sources)
            store.beat(db, os.getpid(), self.started_at)
            last = {s.name: store.last_success(db, f"poll:{s.name}") for s in settings.sources}
        for source in settings.sources:
            if not source.enabled:
                continue
            minutes = source.interval_minutes or settings.schedule.interval_minutes
            interval = timedelta(minutes=minutes)
            previous = last[source.name]
            first = (
                moment if previous is None or previous + interval <= moment else previous + interval
            )
            self.scheduler.add_job(
                self.poll_source,
                IntervalTrigger(
                    seconds=minutes * 60,
                    jitter=min(settings.service.jitter_seconds, int(minutes * 6)) or None,
                ),
                args=[source],
                id=f"poll:{source.name}",
                name=f"poll {source.name}",
                next_run_time=first,
            )
        self.scheduler.add_job(
            self.deliver,
            IntervalTrigger(seconds=settings.service.deliver_seconds),
            id="deliver",
            next_run_time=moment,
        )
        # Five seconds after the digest's window closes, so nothing stored at the boundary is left out.
        parts = [int(part) for part in settings.digest.time.split(":")] + [0]
        fire = datetime(2000, 1, 1, parts[0], parts[1], parts[2]) + timedelta(seconds=5)
        self.scheduler.add_job(
            self.digest,
            CronTrigger(
                hour=fire.hour,
                minute=fire.minute,
                second=fire.second,
                timezone=settings.schedule.timezone,
            ),
            id="digest",
            misfire_grace_time=3600,
            # A digest missed while the service was down is queued once at start.
            next_run_time=moment,
        )
        self.scheduler.add_job(
            self.beat,
            IntervalTrigger(seconds=settings.service.heartbeat_seconds),
            id="heartbeat",
        )

    def shutdown(self) -> None:
        """Stop taking new work and let running jobs wind down (they watch `stop`)."""
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def serve(self) -> None:
        """Add the jobs and run them until `shutdown` (on any thread)."""
        try:
            self.add_jobs()
            log.info(
                "started",
                extra={
                    "event": "service",
                    "sources": len(self.settings.sources),
                    "pid": os.getpid(),
                },
            )
            with self._web():
                self.scheduler.start()  # blocks until shutdown
        finally:
            self.shared.close()
        log.info("stopped", extra={"event": "service"})

    def _web(self) -> AbstractContextManager[object]:
        """The web view in a thread while the scheduler runs, when [web] is enabled: listening
        before the first job starts (a refused bind ends the start with the fix named), stopped
        and joined when the scheduler stops."""
        web = self.settings.web
        if not web.enabled:
            return nullcontext()
        from monitor.web.server import running  # uvicorn and Starlette load only when enabled

        return running(self.settings, web.host, web.port, os.environ, self._listening)

    def _listening(self, url: str) -> None:
        log.info(f"web view on {url}", extra={"event": "service", "url": url})

    def run(self) -> int:
        signalled = threading.Event()  # set by the first signal itself, before any shutdown runs

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if signalled.is_set() or self.stop.is_set():
                log.warning("second signal: exiting at once", extra={"event": "service"})
                os._exit(128 + signum)  # the database stays consistent: WAL and transactions
            signalled.set()
            log.info("stopping", extra={"event": "service", "signal": signum})
            # Not from inside the handler: shutdown waits for jobs, and this is the main thread.
            threading.Thread(target=self.shutdown, name="shutdown").start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.serve()
        return 0


def run_service(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; 0 after a clean stop."""
    return Service(settings, settings.database).run()
