"""The extraction worker processes: a deadline per document, and a pool replaced when broken.

Extraction runs in worker processes because it is CPU-bound and because a hostile document (a
PDF page-tree bomb) can hold PDFium for minutes inside one C call that no signal interrupts: the
only way to end it is to kill the process. Pebble's pool does that per task (the stuck worker is
killed, SIGTERM then SIGKILL, and a new one started), so the other documents in flight go on.
A pool that breaks as a whole (every worker gone) is replaced at the next submission, under a
lock, so the service's poll jobs that share it all get the new one and none is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pebble import ProcessExpired, ProcessPool

from monitor.errors import ExtractError

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> bool:
    """Ask Linux to SIGKILL this process the moment the thread that started it ends (that
    thread's process ending included); False where the kernel offers no such thing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)  # orphaned: the parent is gone, and its work with it


def _worker(
    parent: int, then: Callable[[int], None] | None = None, preload: Sequence[str] = ()
) -> None:
    """Start an extraction worker: tied to its parent however the parent ends (a second
    signal's os._exit, SIGKILL, a crash), and off the parent's stdout and stderr, which a
    lingering worker would otherwise hold open for whoever reads the service's output; then
    import the modules in `preload` (the extraction stack), so that the poll process need not.

    The tie is the kernel's parent-death signal where there is one (Linux): it needs no help
    from this process, which may be deep in one C call (PDFium, a regular expression) that
    holds the interpreter for minutes. Elsewhere a thread watches for the parent to go, which
    works once that call lets it run. SIGTERM, which pebble sends to end a worker, ends it at
    once for the same reason (pebble's own handler would wait for that call to return)."""
    tied = _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)  # the parent ended before the tie was made
    if not tied:
        threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    if then is not None:
        then(parent)
    for name in preload:
        # A module that fails to import (a missing package, a library that does not load) fails
        # each document with the reason instead: a worker whose start failed would be replaced
        # again and again, and its documents would fail only after the start-up allowance.
        with contextlib.suppress(Exception):
            importlib.import_module(name)


STARTUP = 120.0  # seconds documents may wait for a worker that never takes any


class StartupError(Exception):
    """No extraction worker took a document within the start-up allowance."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"no extraction worker started within {seconds:g} s; check that this user can run "
            "the Python interpreter monitor runs on, and the machine's process limits"
        )


class Stopped(Exception):
    """The pool was ended (the service is stopping) before this document's extraction ended."""

    def __init__(self) -> None:
        super().__init__(
            "extraction was ended because monitor is stopping; the document is read again at "
            "the next poll"
        )


class Workers:
    """A pool of `count` extraction processes, each document given `deadline` seconds from the
    moment a worker takes it, each process importing the modules `preload` names as it starts.
    Thread-safe: the service's poll jobs share one."""

    def __init__(
        self,
        count: int,
        deadline: float,
        *,
        startup: float = STARTUP,
        initializer: Callable[[int], None] | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        self.count = count
        self.deadline = deadline
        self.startup = startup  # seconds documents may wait while no worker runs any
        self._initializer = initializer  # run in each worker after _worker (tests use it)
        self._preload = tuple(preload)
        self._lock = threading.Lock()
        self._pool: ProcessPool | None = None
        self._launcher: ThreadPoolExecutor | None = None
        self._futures: weakref.WeakSet[Future[Any]] = weakref.WeakSet()
        self._idle_since: float | None = None

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run `function(*args)` in a worker; its future fails with TimeoutError past the
        deadline, ProcessExpired when the worker dies, BrokenProcessPool when the pool does."""
        for _ in range(2):
            with self._lock:
                broken = self._pool if self._pool is not None and not self._pool.active else None
                if self._pool is None or broken is not None:
                    self._pool = self._start()
                pool = self._pool
            if broken is not None:
                _end(broken)  # outside the lock: the other jobs go on with the new pool
            try:
                future = pool.schedule(function, args=args, timeout=self.deadline)
            except RuntimeError:  # the pool broke between the check and the call
                continue
            with self._lock:
                self._futures.add(future)
            return future
        raise BrokenProcessPool("the extraction pool could not be started twice in a row")

    def _start(self) -> ProcessPool:
        """A new pool with its workers running. They are started on the launcher thread, which
        lives as long as this object: Linux ends a worker when the *thread* that started it
        ends, and the thread that asks first (a poll job's) may end long before. Pebble starts
        the pool's replacement workers on its own manager thread, which lives as long as the
        pool. Called with the lock held."""
        # spawn, not fork: forking a process that runs fetch threads can deadlock.
        pool = ProcessPool(
            self.count,
            initializer=_worker,
            initargs=(os.getpid(), self._initializer, self._preload),
            context=multiprocessing.get_context("spawn"),
        )
        if self._launcher is None:
            self._launcher = ThreadPoolExecutor(1, thread_name_prefix="extract-launcher")
        # `active` starts a pool not yet started: its workers are spawned by the caller
        self._launcher.submit(lambda: pool.active).result()
        return pool

    def stalled(self) -> bool:
        """Whether documents have waited `startup` seconds while no worker ran any: the workers
        do not start (the deadline counts only from when a worker takes a document, so without
        this a poll would wait for them for ever). Then the pool is ended (its waiting documents'
        futures fail) and replaced at the next submission; the caller records them as failed
        with `StartupError`."""
        with self._lock:
            waiting = [f for f in self._futures if not f.done()]
            if not waiting or any(f.running() for f in waiting):
                self._idle_since = None
                return False
            now = time.monotonic()
            if self._idle_since is None:
                self._idle_since = now
            if now - self._idle_since < self.startup:
                return False
            self._idle_since = None
            pool, self._pool = self._pool, None
        if pool is not None:
            _end(pool)  # after it, pebble touches none of its futures
        for future in waiting:  # pebble may leave a never-taken document's future pending
            if not future.done():
                with contextlib.suppress(InvalidStateError):
                    future.set_exception(StartupError(self.startup))
        return True

    def close(self) -> None:
        """End every worker (at once: what they were doing is not wanted) and wait for them.
        A document not done by then fails with `Stopped` (pebble may leave its future pending,
        and whoever waits for it would wait for ever)."""
        with self._lock:
            pool, self._pool = self._pool, None
            launcher, self._launcher = self._launcher, None
            waiting = [f for f in self._futures if not f.done()]
        if pool is not None:
            _end(pool)
        if launcher is not None:
            launcher.shutdown()
        for future in waiting:
            if not future.done():
                with contextlib.suppress(InvalidStateError):
                    future.set_exception(Stopped())


def _end(pool: ProcessPool) -> None:
    pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves stop() unannotated
    pool.join()


def failure(url: str, exc: BaseException, deadline: float) -> ExtractError | None:
    """The error to record for a document whose extraction the pool ended, else None."""
    if isinstance(exc, TimeoutError):
        return ExtractError(
            f"{url}: extraction took longer than {deadline:g} s and its worker was stopped; "
            "raise [extract].deadline if the document is genuine, or stop watching it"
        )
    if isinstance(exc, ProcessExpired):
        return ExtractError(f"{url}: the extraction worker crashed (exit code {exc.exitcode})")
    if isinstance(exc, BrokenProcessPool):
        return ExtractError(f"{url}: the extraction worker crashed ({exc})")
    return None
