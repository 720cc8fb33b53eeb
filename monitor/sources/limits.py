"""The bounds of one attempt: a total wall-clock deadline (a watchdog shuts the socket down when
it passes, so neither a drip-feeding nor a silent server can hold a request longer) and a byte
cap on the body, read as a stream; and `Failure`, what an attempt that failed says.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
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


class Watchdog:
    """Shuts down the socket of one attempt when its deadline passes, waking any blocked read."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._stream: Any = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

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
        self._timer.cancel()


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
