"""Running the web view under uvicorn: in the foreground (`monitor serve`) or in a thread (the
tests, and `monitor run`), started when its socket listens and stopped when asked."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.web.app import build
from monitor.web.security import Credentials, check_bind


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it listens (a condition to wait on, not a sleep)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[int], None]) -> None:
        super().__init__(config)
        self._listening = listening

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._listening(self.servers[0].sockets[0].getsockname()[1])


def _config(settings: Settings, host: str, port: int, environ: Mapping[str, str]) -> uvicorn.Config:
    credentials = Credentials.from_environment(environ)
    check_bind(host, credentials)
    app = build(settings, settings.database, credentials)
    # Logs go through monitor's own logging (monitor/logs.py), not uvicorn's handlers; the
    # access log is off: a request line can quote a token given as ?token=.
    return uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, server_header=False
    )


def check(settings: Settings, host: str, environ: Mapping[str, str]) -> None:
    """What `monitor serve --check` does instead of serving (a container's health check, and
    the fault tests): refuse the bind as serving would, open the database read-only as every
    page does and read the first page of changes and the sources. A fault is a MonitorError
    naming the file and the fix."""
    from monitor import store
    from monitor.store import views

    check_bind(host, Credentials.from_environment(environ))
    with store.opened(settings.database, settings.storage.busy_timeout, read_only=True) as db:
        views.change_rows(db, views.ChangeFilters(), 0, 1)
        views.change_sources(db)


def _stopped(_signal: int, _frame: object) -> None:
    """A stop signal raised again once uvicorn has stopped: already handled."""


def serve(
    settings: Settings,
    host: str,
    port: int,
    environ: Mapping[str, str],
    listening: Callable[[int], None],
) -> None:
    """Serve until interrupted (SIGINT or SIGTERM, which uvicorn handles); `listening` is told
    the port once the socket listens. A refused bind is a MonitorError naming the fix."""
    server = _Server(_config(settings, host, port, environ), listening)
    # uvicorn stops gracefully on SIGINT or SIGTERM and then raises the signal again under the
    # handlers it found: these say it was handled, so a stop asked for ends with status 0
    stopped = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in stopped.items():
            signal.signal(sig, handler)
    if not server.started:
        raise MonitorError(f"could not listen on {host}:{port} (see the error above)")


@dataclass(frozen=True)
class Running:
    """A server running in a thread: its address, and its thread."""

    url: str
    port: int
    thread: threading.Thread


@contextmanager
def running(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 0,
    environ: Mapping[str, str] | None = None,
    started: Callable[[str], None] | None = None,
) -> Iterator[Running]:
    """The web view in a thread for a `with` block: listening when the block starts (then
    `started` is told its address), stopped and joined when it ends."""
    ready = threading.Event()
    found: list[int] = []

    def listening(bound: int) -> None:
        found.append(bound)
        ready.set()

    # uvicorn listens to signals only in the main thread: this one leaves them to the caller
    server = _Server(_config(settings, host, port, environ or {}), listening)
    thread = threading.Thread(target=server.run, name="monitor-web", daemon=True)
    thread.start()
    while not ready.wait(0.05):
        if not thread.is_alive():
            raise MonitorError(
                f"the web view could not listen on {host}:{port} (see the error above): free "
                "the port or choose another ([web].port, or serve --port)"
            )
    url = f"http://{host}:{found[0]}"
    if started is not None:
        started(url)
    try:
        yield Running(url, found[0], thread)
    finally:
        server.should_exit = True
        thread.join()
