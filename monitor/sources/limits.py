"""The bounds of one attempt: a total wall-clock deadline (a watchdog shuts the socket down when
it passes, so neither a drip-feeding nor a silent server can hold a request longer) and a byte
cap on the body, read as a stream; and `Failure`, what an attempt that failed says.

The watchdogs of one fetcher share one thread (`Alarms`): a `threading.Timer` per attempt cost
0.2 ms of CPU to start, and the fetch thread waited for it to run, which on a busy machine is a
scheduler's turn; an idle poll of 200 pages made 200 of them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2


@dataclass
class Failure(Exception):
    """One attempt failed; `retry` says whether another attempt may help, `wait` how long first."""

    reason: str
    hint: str
    status: int | None = None
    retry: bool = False
    wait: float | None = None
    nbytes: int = 0
    refused: bool = False
    unresolved: bool = False  # the host name does not resolve: final for this poll


class Alarms:
    """Calls each callback given to `after` once its delay has passed, unless it is cancelled
    first, all on one daemon thread started with the first. Thread-safe. `close` rings the
    alarms still pending at once and ends the thread: the attempts still running when their
    fetcher closes (a stopping poll does not wait for them) end now instead of at their
    deadline, and an alarm set after it rings at once."""

    def __init__(self, name: str = "fetch-watchdog") -> None:
        self._name = name
        self._due: list[tuple[float, int, list[Callable[[], None] | None]]] = []
        self._order = itertools.count()  # ties in time ring in the order they were set
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def after(self, seconds: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Ring `callback` in `seconds`; returns the function that cancels it."""
        slot: list[Callable[[], None] | None] = [callback]
        with self._changed:
            closed = self._closed
            if not closed:
                heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), slot))
                if self._thread is None:
                    thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    thread.start()  # a thread that cannot start is tried again by the next
                    self._thread = thread
                elif self._due[0][2] is slot:  # sooner than any other: the thread waits too long
                    self._changed.notify()
        if closed:
            _ring(callback)

        def cancel() -> None:
            slot[0] = None  # dropped from the heap when it reaches the front

        return cancel

    def close(self) -> None:
        with self._changed:
            self._closed = True
            pending, self._due = self._due, []
            self._changed.notify()
            thread = self._thread
        for _, _, slot in sorted(pending):
            callback, slot[0] = slot[0], None
            if callback is not None:
                _ring(callback)
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._due and self._due[0][2][0] is None:
                    heapq.heappop(self._due)  # cancelled: most attempts end before their time
                if self._closed:
                    return
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is None or wait > 0:
                    self._changed.wait(wait)
                    continue
                _, _, slot = heapq.heappop(self._due)
                callback, slot[0] = slot[0], None
            if callback is not None:
                _ring(callback)


def _ring(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # one alarm's fault must not silence the others
        logging.getLogger("monitor.fetch").exception("a fetch watchdog failed")


class Watchdog:
    """Shuts down the socket of one attempt when its deadline passes, waking any blocked read."""

    def __init__(self, seconds: float, alarms: Alarms) -> None:
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._stream: Any = None
        self._cancel = alarms.after(seconds, self._fire)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.watch(info.get("return_value"))

    def watch(self, stream: Any) -> None:
        with self._lock:
            self._stream = stream
            if self.fired and not self._done:
                shutdown(stream)

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self.fired = True
                shutdown(self._stream)

    def stop(self) -> None:
        with self._lock:
            self._done = True
        self._cancel()


def shutdown(stream: Any) -> None:
    sock = None if stream is None else stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain fd, even under TLS


def late(timeout: float, status: int | None, received: int) -> Failure:
    """The failure of an attempt past its deadline of `timeout` seconds."""
    reason = f"no complete response within {timeout:g} s"
    if received:
        reason += f" ({received} bytes received)"
    return Failure(reason, "raise fetch.timeout if the site is slow", status, nbytes=received)


def read_body(response: httpx2.Response, deadline: float, cap: int, timeout: float) -> bytes:
    """The body of `response`, refused past `cap` bytes or past the attempt's `deadline`."""
    status = response.status_code
    too_big = f"response larger than {cap} bytes"
    hint = "raise fetch.max_bytes or drop this source from the config"
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise Failure(f"{too_big} (Content-Length: {length})", hint, status)
    chunks: list[bytes] = []
    received = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        received += len(chunk)
        if received > cap:
            raise Failure(too_big, hint, status, nbytes=received)
        if time.monotonic() > deadline:
            raise late(timeout, status, received)
    return b"".join(chunks)
