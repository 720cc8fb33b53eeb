"""One poll of the sources: the engine that fetches, extracts and stores for every kind.

The only module that knows the order of the stages. Fetches run in a thread pool (they wait on
the network); extraction runs in a process pool on every core (it is CPU-bound); all database
work happens here, on the calling thread, one transaction per document. What a response means
is its source kind's (monitor/sources/kinds.py), which calls back through the `Engine` protocol
(monitor/sources/engine.py) that `_Poll` implements.

Longer than most modules: its scheduling (each host's turn, batched transactions, series members
held to the end, winding down on a stop) is one state machine over one poll's pools; what the
handlers ask of the store is monitor/poll_services.py.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from monitor import store
from monitor.analysis import prepare as worker
from monitor.config import Series, Settings, Source
from monitor.errors import ExtractError, FeedError, FetchError
from monitor.ingest import add_file
from monitor.models import Processed, Response
from monitor.poll_services import PollServices
from monitor.redact import public_url
from monitor.sources.engine import Handler, Job
from monitor.sources.engine import Summary as Summary
from monitor.sources.fetch import DnsFailures, Fetcher
from monitor.sources.kinds import KINDS
from monitor.sources.urls import canonical_url, is_web
from monitor.workers import StartupError, Workers, failure

# Seconds a stopping poll waits for the documents being extracted: a service asked to stop must
# be gone within 10 s (a container's stop grace), however long a hostile document would take.
STOP_GRACE = 2.0
# Finished fetches and extractions handled in one transaction: at most this many, and those
# handled within this many seconds (other poll jobs wait for the write lock meanwhile).
BATCH = 64
BATCH_SECONDS = 0.25
# Seconds finished extractions wait for more to store with them (see _Poll._finished).
GATHER = 0.25


# Called with (work done, work known) as the poll goes: fetches and extractions, the total
# growing as feeds reveal their articles.
Progress = Callable[[int, int], None]
log = logging.getLogger("monitor.poll")


class _Poll(PollServices):
    """The state of one poll: pools and pending work (the store and the summary: PollServices)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        progress: Progress,
        shared: Shared | None,
        stop: threading.Event | None,
    ) -> None:
        super().__init__(settings, db)
        self.progress = progress
        self.stop = stop or threading.Event()
        # Sent with each document; pickled once here, unpickled once per worker (see process).
        self.lexicon_blob = pickle.dumps(self.lexicon)
        self.pending: dict[Future[Any], Job] = {}
        self.finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self.threads = ThreadPoolExecutor(settings.fetch.concurrency, thread_name_prefix="fetch")
        self.shared = shared
        self.fetcher = shared.fetcher if shared else Fetcher(settings.fetch.for_fetcher())
        self.workers = shared.workers if shared else _workers(settings)
        # A name that does not resolve is asked once per poll (see Fetcher.get).
        self.dns = DnsFailures()
        # One fetch per host in flight: a thread never waits on another's host, so many
        # articles from one site cannot starve the other sites of threads.
        self.busy_hosts: set[str] = set()
        self.waiting: dict[str, deque[Job]] = defaultdict(deque)
        # Each kind's handling for this poll, made when its first source is polled.
        self.handlers: dict[str, Handler] = {}
        # Series members extracted this poll, stored at its end in publication order.
        self.held: list[tuple[Job, Processed]] = []
        self.known = self.done = 0

    def close(self) -> None:
        # When stopping, do not wait for fetches in flight: their results would not be stored.
        self.threads.shutdown(wait=not self.stop.is_set(), cancel_futures=True)
        if self.shared is not None:
            return
        self.workers.close()
        self.fetcher.close()

    def fetch(self, job: Job) -> None:
        self.known += 1
        host = urlsplit(job.url).hostname or job.url
        if host in self.busy_hosts:
            self.waiting[host].append(job)
            return
        self.busy_hosts.add(host)
        etag, modified = job.validators
        future = self.threads.submit(
            self.fetcher.get,
            job.url,
            etag=etag,
            last_modified=modified,
            delay=job.source.delay,
            robots=job.robots,
            source_url=job.source.url,
            allow=job.source.allow_internal,
            headers=job.source.headers,
            user_agent=job.source.user_agent,
            dns=self.dns,
        )
        self._submitted(future, job)

    def _fetched_from(self, job: Job) -> None:
        host = urlsplit(job.url).hostname or job.url
        self.busy_hosts.discard(host)
        if self.waiting[host]:
            self.fetch(self.waiting[host].popleft())

    def extract(self, job: Job, response: Response) -> None:
        self.known += 1
        job = Job("extract", job.source, job.url, job.entry, response)
        # An article whose feed entry gives its date skips the page's metadata (the date search).
        metadata = job.entry is None or job.entry.published is None
        args = (
            response.body,
            response.final_url,
            response.content_type,
            self.lexicon_blob,
            metadata,
        )
        # Always in a worker process, even with one worker: only a process can be ended when a
        # document holds it past the deadline.
        try:
            self._submitted(self.workers.submit(worker.process, *args), job)
        except Exception as exc:  # the pool cannot start: this document fails, the poll goes on
            self._handle(job, _as_extract_error(job.url, exc))

    def run(self, sources: Sequence[Source]) -> Summary:
        self.summary.sources = len(sources)
        for source in sources:
            etag, modified, last = store.fetch_state(self.db, public_url(source.url))
            self._handler(source).start(source, (etag, modified), last)
        while self.pending:
            done = self._finished(timeout=0.5)
            if not done and self.workers.stalled():
                # No worker ever took them: each fails with the reason, the poll goes on.
                stuck = [f for f, j in self.pending.items() if j.stage == "extract"]
                for future in stuck:
                    job = self.pending.pop(future)
                    why = StartupError(self.workers.startup)
                    self._handle(job, ExtractError(f"{job.url}: {why}"))
                continue
            if self.stop.is_set():
                self._wind_down()
                break
            self._handle_finished(deque(done))
        self._store_held()
        return self.summary

    def _submitted(self, future: Future[Any], job: Job) -> None:
        self.pending[future] = job
        future.add_done_callback(self.finished.put)

    def _finished(self, timeout: float) -> list[Future[Any]]:
        """The futures that finished (waiting up to `timeout` for the first), at most `BATCH`:
        each finished future reports itself once, so this costs nothing per pending one (as
        `concurrent.futures.wait` over a thousand documents in flight does, at every call)."""
        try:
            done = [self.finished.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(done) < BATCH:
            try:
                done.append(self.finished.get_nowait())
            except queue.Empty:
                break
        # Finished extractions wait up to GATHER seconds for more, so that storing takes one
        # transaction per batch instead of one per document (each commit writes its pages to
        # the WAL and its full-text terms as a new segment). A fetch, whose handling starts
        # the next fetch from its host, is never held back.
        until = time.monotonic() + GATHER
        while len(done) < BATCH and self._gathering(done):
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                done.append(self.finished.get(timeout=left))
            except queue.Empty:
                break
        return done

    def _gathering(self, done: list[Future[Any]]) -> bool:
        """Whether every finished future in hand is an extraction and more are on the way."""
        if self.stop.is_set():
            return False
        jobs = [self.pending.get(f) for f in done]
        if any(job is None or job.stage != "extract" for job in jobs):
            return False
        return sum(1 for job in self.pending.values() if job.stage == "extract") > len(done)

    def _handle_finished(self, done: deque[Future[Any]]) -> None:
        """Handle finished futures, those of each `BATCH_SECONDS` in one transaction: a commit
        per batch instead of several per document, the write lock held only while busy. Each
        document's own writes are still one savepoint inside, so a killed poll leaves each
        document whole or absent, with its feed's validators saved only with its articles."""
        while done:
            started = time.monotonic()
            with store.transaction(self.db):
                while done and time.monotonic() - started < BATCH_SECONDS:
                    future = done.popleft()
                    job = self.pending.pop(future, None)
                    if job is None:  # handled already (failed as stalled)
                        continue
                    try:
                        result = future.result()
                    except (FetchError, ExtractError, FeedError) as exc:
                        result = exc
                    except Exception as exc:  # a bug or a library crash must not stop the others
                        deadline = self.workers.deadline if job.stage == "extract" else None
                        result = _as_extract_error(job.url, exc, deadline)
                    if job.stage != "extract":
                        self._fetched_from(job)
                    self._handle(job, result)

    def _wind_down(self) -> None:
        """Stopping: fetches in flight are dropped, and documents being extracted get
        `STOP_GRACE` seconds; those done by then are stored, the others are cancelled (pebble
        ends their workers) and nothing is recorded for them, so the next poll reads them again
        (their feed's validators are not saved: it is not answered with a 304)."""
        for future, job in list(self.pending.items()):
            if job.stage != "extract":
                future.cancel()
                del self.pending[future]
        done, _ = wait(self.pending, timeout=STOP_GRACE)
        for future, job in list(self.pending.items()):
            if future not in done:
                future.cancel()
            elif not future.cancelled() and future.exception() is None:
                self._handle(job, future.result())
            # else ended by the stop (its pool ended, its worker killed): not a failure of its own
        self.pending.clear()
        self.summary.errors.append(("*", "stopped before the poll finished"))

    def _store_held(self) -> None:
        """Store this poll's series members oldest first, so that each is compared with the
        edition before it rather than with whichever was fetched first (a feed lists the newest
        first; extraction finishes in any order). Also after a stop: they are extracted."""
        held, self.held = self.held, []
        for job, result in sorted(held, key=lambda pair: _published_key(*pair)):
            try:
                self._extract_done(job, result, hold=False)
            except sqlite3.OperationalError:  # as in _handle
                raise
            except Exception as exc:  # as in _handle: recorded against the source
                self._store_failed(job, exc)

    def _handle(self, job: Job, result: object) -> None:
        self.done += 1
        self.progress(self.done, self.known)
        try:
            if isinstance(result, (FetchError, Response)):
                attempts = [
                    replace(a, url=self.redactor.url(a.url), error=self.redactor.optional(a.error))
                    for a in result.attempts
                ]
                store.record_attempts(self.db, job.source.name, attempts)
                for attempt in attempts:
                    log.info(
                        "fetch",
                        extra={
                            "event": "fetch",
                            "source": job.source.name,
                            "url": attempt.url,
                            "status": attempt.status,
                            "bytes": attempt.bytes,
                            "elapsed_ms": round(attempt.elapsed * 1000),
                            "error": attempt.error,
                        },
                    )
            if job.stage == "extract":
                self._extract_done(job, result)
            else:
                assert isinstance(result, (Response, Exception))
                self._handler(job.source).fetched(job, result)
        except sqlite3.OperationalError:
            # The database itself failed (locked, read-only, disk full): nothing more can be
            # stored, so the poll ends with that one fault; what is stored stays stored.
            raise
        except Exception as exc:  # record it against the source and go on with the others
            self._store_failed(job, exc)

    def _store_failed(self, job: Job, exc: Exception) -> None:
        error = self.redactor.redact(
            f"{job.url}: could not be stored ({type(exc).__name__}: {exc})"
        )
        self.summary.errors.append((job.source.name, error))
        log.warning(error, extra={"event": "store", "source": job.source.name})

    def _handler(self, source: Source) -> Handler:
        handler = self.handlers.get(source.kind)
        if handler is None:
            handler = self.handlers[source.kind] = KINDS[source.kind].handler(self)
        return handler

    def _series_member(self, job: Job, result: object) -> bool:
        """Whether an extracted document is (or becomes) a member of a configured series."""
        if not isinstance(result, Processed):
            return False
        title = result.extracted.title or (job.entry.title if job.entry else None)
        url = job.entry.url if job.entry else canonical_url(public_url(job.source.url))
        return self.settings.series_of(url, job.source.name, title) is not None

    def _extract_done(self, job: Job, result: object, *, hold: bool = True) -> None:
        assert job.response is not None
        if hold and self._series_member(job, result):
            assert isinstance(result, Processed)
            self.held.append((job, result))  # its feed stays unsettled until it is stored
            return
        assert isinstance(result, (Processed, Exception))
        self._handler(job.source).extracted(job, result)


def _published_key(job: Job, result: Processed) -> float:
    """Publication time as store_document takes it (the feed's date, else the page's); an
    undated document goes last, as the series places it (at the time it is stored)."""
    published = (job.entry.published if job.entry else None) or result.extracted.published
    return published.timestamp() if published else float("inf")


def _as_extract_error(url: str, exc: Exception, deadline: float | None = None) -> ExtractError:
    if isinstance(exc, ExtractError):
        return exc
    # from the pool: past its deadline (the worker was killed), its worker crashed, or it broke
    ended = None if deadline is None else failure(url, exc, deadline)
    if ended is not None:
        return ended
    return ExtractError(f"{url}: extraction failed ({type(exc).__name__}: {exc})")


@dataclass
class Shared:
    """What the service's poll jobs share: one HTTP client (so politeness holds across jobs that
    reach the same host) and one pool of extraction processes (started when first needed, and
    replaced for all of them when it breaks)."""

    fetcher: Fetcher
    workers: Workers

    @classmethod
    def start(cls, settings: Settings) -> Shared:
        return cls(Fetcher(settings.fetch.for_fetcher()), _workers(settings))

    def close(self) -> None:
        self.workers.close()
        self.fetcher.close()


def _workers(settings: Settings) -> Workers:
    count = settings.extract.workers or os.cpu_count() or 1
    return Workers(count, settings.extract.deadline, preload=(worker.EXTRACTION,))


def poll(
    settings: Settings,
    db: Database,
    sources: Sequence[Source] | None = None,
    progress: Progress = lambda done, total: None,
    *,
    shared: Shared | None = None,
    stop: threading.Event | None = None,
) -> Summary:
    """Poll the given sources (default: every enabled source, and local series members) once.
    With `stop` set, the poll stops after the document in hand and returns what it did."""
    chosen = [s for s in settings.sources if s.enabled] if sources is None else list(sources)
    store.sync_sources(db, settings.sources)
    run = _Poll(settings, db, progress, shared, stop)
    try:
        summary = run.run(chosen)
    finally:
        run.close()
    if sources is None:
        for series in settings.series:
            for member in series.members:
                if not is_web(member):
                    _add_local(settings, db, Path(member), series, summary)
    return summary


def _add_local(
    settings: Settings, db: Database, path: Path, series: Series, summary: Summary
) -> None:
    """Store a series member that is a local file (re-read at each poll, stored when changed)."""
    try:
        stored = add_file(settings, db, path, series=series)
    except ExtractError as exc:
        summary.errors.append((f"series {series.id}", str(exc)))
        return
    summary.new_documents += stored.new_document
    summary.new_versions += stored.new_version
    summary.mentions += stored.mentions
    summary.changes += stored.changes
    summary.wording.extend(stored.wording)
