"""The extraction pool: the deadline, a crashed worker, and a broken pool replaced for all."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from monitor.errors import ExtractError
from monitor.workers import Workers, failure

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _error(future: Future[object], deadline: float) -> ExtractError:
    exc = future.exception(timeout=60)
    assert exc is not None
    error = failure("https://example.org/a.pdf", exc, deadline)
    assert error is not None, exc
    return error


def test_a_task_past_the_deadline_is_ended_and_the_worker_replaced() -> None:
    workers = Workers(1, 1.0)
    try:
        first = workers.submit(_sleep, 0).result(timeout=60)
        stuck = workers.submit(_sleep, 600)
        queued = workers.submit(_sleep, 0)  # waits for the one worker; its clock has not started
        error = _error(stuck, 1.0)
        assert str(error) == (
            "https://example.org/a.pdf: extraction took longer than 1 s and its worker was "
            "stopped; raise [extract].deadline if the document is genuine, or stop watching it"
        )
        replacement = queued.result(timeout=60)
        assert replacement != first and not _alive(first)
    finally:
        workers.close()
    assert not _alive(replacement)


def test_a_crashed_worker_fails_its_task_only_and_the_next_runs() -> None:
    workers = Workers(1, 30.0)
    try:
        error = _error(workers.submit(_crash), 30.0)
        assert "the extraction worker crashed" in str(error)
        assert workers.submit(_sleep, 0).result(timeout=60) > 0
    finally:
        workers.close()


def test_a_broken_pool_is_replaced_once_for_every_thread_that_shares_it() -> None:
    workers = Workers(2, 30.0)
    try:
        pids = {workers.submit(_sleep, 0.5).result(timeout=60) for _ in range(4)}
        for pid in pids:  # every worker killed while idle: pebble gives the whole pool up
            os.kill(pid, signal.SIGKILL)
        assert _wait(lambda: not any(_alive(pid) for pid in pids))
        results: list[int] = []
        lock = threading.Lock()

        def submit() -> None:
            found = _wait_result(workers)
            with lock:
                results.append(found)

        threads = [threading.Thread(target=submit) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == 6
        assert not set(results) & pids
        assert len(set(results)) <= 2  # one new pool of two, not one per thread
    finally:
        workers.close()
    assert not any(_alive(pid) for pid in results)


def _wait_result(workers: Workers) -> int:
    """A submission may still land on the dying pool (its task then fails as broken); the
    next one goes to the new pool."""
    for _ in range(20):
        try:
            return int(workers.submit(_sleep, 0.2).result(timeout=60))
        except Exception as exc:
            assert failure("u", exc, 30.0) is not None, exc
    raise AssertionError("the pool was not replaced")


def _never_starts(parent: int) -> None:
    time.sleep(3600)  # a worker that starts but never takes a document


def _same(value: int) -> int:
    return value


def test_documents_no_worker_takes_fail_after_the_startup_allowance() -> None:
    """The deadline counts from when a worker takes a document: without this, workers that
    never start would keep a poll waiting for ever."""
    workers = Workers(1, 3, startup=1, initializer=_never_starts)
    try:
        futures = [workers.submit(_same, n) for n in range(3)]
        assert _wait(workers.stalled, 60)
        # the pool is ended: its waiting documents' futures fail, none is left pending
        assert all(f.exception(timeout=30) is not None for f in futures)
    finally:
        workers.close()
    healthy = Workers(1, 30, startup=1)
    try:
        done = healthy.submit(_sleep, 2)  # running longer than the allowance is no stall
        assert _wait(done.running), "the worker never took the document"
        while not done.done():  # asked all along its 2 s, twice the allowance
            assert not healthy.stalled()
            time.sleep(0.05)
        assert done.result(timeout=60) > 0  # it ran to its end, in a worker (its pid)
    finally:
        healthy.close()


def _loaded(name: str) -> bool:
    return name in sys.modules


def test_workers_import_what_they_are_told_to_preload_before_their_first_task() -> None:
    """The poll process sends `prepare.process` without importing the extraction stack: each
    worker imports it as it starts. A module that cannot be imported does not stop the worker
    (its documents then fail with the reason, as they would without the preload)."""
    workers = Workers(1, 30.0, preload=("tests.data.no_such_module", "colorsys"))
    try:
        assert workers.submit(_loaded, "colorsys").result(timeout=60)
        assert not workers.submit(_loaded, "tests.data.no_such_module").result(timeout=60)
    finally:
        workers.close()
    plain = Workers(1, 30.0)  # nothing the task's module imports loads it: only the preload
    try:
        assert not plain.submit(_loaded, "colorsys").result(timeout=60)
    finally:
        plain.close()
