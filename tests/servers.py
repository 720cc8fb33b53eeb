"""A real threaded HTTP server on loopback for tests that pytest-httpserver cannot express.

    with LocalServer("127.0.0.2") as server:
        server.route("/slow", drip(b"x" * 100, interval=0.2))
        server.route("/big", huge(20_000_000, content_length=False))
        server.route("/feed", respond(200, FEED, {"Content-Type": "application/rss+xml"}))
        fetch(server.url("/slow"))
        assert server.requests[0].headers["User-Agent"].startswith("monitor/")

Handlers get the `BaseHTTPRequestHandler` and the server's `stopping` event (set on exit; long
handlers should return when it is set). Every request is recorded in `server.requests`, with its
start and end on the `time.monotonic()` clock. Unknown paths get 404.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from tests.conftest import DEMO

Handler = Callable[[BaseHTTPRequestHandler, threading.Event], None]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    started: float
    ended: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up early (a timeout, a size cap) is expected here, not an error to
    print: tests read stderr, and a traceback from a server thread would land in it."""

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LocalServer:
    """A `ThreadingHTTPServer` in a background thread; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                record = Recorded(self.command, self.path, dict(self.headers), time.monotonic())
                with server._lock:
                    server.requests.append(record)
                handler = server.routes.get(self.path.split("?")[0], respond(404, b"not found"))
                try:
                    handler(self, server.stopping)
                except (ConnectionError, TimeoutError):
                    self.close_connection = True  # the client gave up; that is often the point
                finally:
                    record.ended = time.monotonic()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = _QuietServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def hits(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _head(
    request: BaseHTTPRequestHandler, status: int, headers: dict[str, str] | None, length: int | None
) -> None:
    request.send_response(status)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    if length is None:
        request.send_header("Connection", "close")  # the body ends when the connection does
        request.close_connection = True
    else:
        request.send_header("Content-Length", str(length))
    request.end_headers()


def respond(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    """An ordinary response."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        _head(request, status, headers, len(body))
        request.wfile.write(body)

    return handler


def sequence(*handlers: Handler) -> Handler:
    """The first handler for the first request, and so on; the last one repeats."""
    remaining = list(handlers)
    lock = threading.Lock()

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        with lock:
            current = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        current(request, stopping)

    return handler


def drip(
    body: bytes,
    interval: float = 0.2,
    chunk: int = 1,
    content_length: bool = True,
    headers: dict[str, str] | None = None,
) -> Handler:
    """Send `body` `chunk` bytes at a time, one chunk every `interval` seconds."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        _head(request, 200, headers, len(body) if content_length else None)
        for start in range(0, len(body), chunk):
            request.wfile.write(body[start : start + chunk])
            request.wfile.flush()
            if stopping.wait(interval):
                return

    return handler


def huge(size: int, content_length: bool = True, headers: dict[str, str] | None = None) -> Handler:
    """`size` bytes of b"x", in 64 KiB writes, as fast as the client reads."""
    block = b"x" * 65536

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        _head(request, 200, headers, size if content_length else None)
        sent = 0
        while sent < size and not stopping.is_set():
            piece = block[: size - sent]
            request.wfile.write(piece)
            sent += len(piece)

    return handler


def hang(
    seconds: float = 60.0,
    headers_first: bool = True,
    body: bytes = b"",
    length: int | None = 1000,
    pause: float = 0.0,
) -> Handler:
    """Wait `pause` s; unless not `headers_first`, send headers (claiming `length` bytes, or no
    Content-Length when None) and `body`; then say nothing for `seconds`."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        if stopping.wait(pause):
            return
        if headers_first:
            _head(request, 200, None, length)
            request.wfile.write(body)
            request.wfile.flush()
        stopping.wait(seconds)
        request.close_connection = True

    return handler


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that nothing listens on, so connections to it are refused."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def redirect(location: str, status: int = 302) -> Handler:
    """A redirect to `location`, sent as given (relative, another scheme, odd bytes)."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        # by hand, so CR, LF and any other byte go out exactly as given
        request.wfile.write(b"HTTP/1.1 %d Moved\r\n" % status)
        request.wfile.write(b"Location: " + location.encode("latin-1") + b"\r\n")
        request.wfile.write(b"Content-Length: 0\r\n\r\n")

    return handler


def raw(data: bytes, interval: float = 0.0, chunk: int = 0) -> Handler:
    """Write `data` as the whole response, status line and headers included: at once, or
    `chunk` bytes every `interval` seconds (a slowloris that drips even its headers)."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        request.close_connection = True
        step = chunk or len(data)
        for start in range(0, len(data), step):
            request.wfile.write(data[start : start + step])
            request.wfile.flush()
            if interval and stopping.wait(interval):
                return

    return handler


def stream(chunks: Callable[[], Iterator[bytes]], headers: dict[str, str] | None = None) -> Handler:
    """A 200 whose body is whatever `chunks()` yields, as fast as the client reads, with no
    Content-Length (the body ends when the connection does)."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        _head(request, 200, headers, None)
        for piece in chunks():
            if stopping.is_set():
                return
            request.wfile.write(piece)

    return handler


def static(body: bytes, content_type: str, etag: str = '"v1"') -> Handler:
    """A file as a real site serves it: with an ETag, and 304 when the client already has it."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        if request.headers.get("If-None-Match") == etag:
            request.send_response(304)
            request.send_header("ETag", etag)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("ETag", etag)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


def serve_demo_site(server: LocalServer) -> None:
    """The demo's White House and Korean feeds with every page they link to."""
    for path in DEMO.rglob("*"):
        if path.is_file() and path.suffix in (".xml", ".html", ".rss", ".atom"):
            kind = "text/html; charset=utf-8" if path.suffix == ".html" else "application/rss+xml"
            server.route("/" + path.relative_to(DEMO).as_posix(), static(path.read_bytes(), kind))


class Versions:
    """A page whose body the test switches between polls, with an ETag per body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def handler(self) -> Handler:
        def serve(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
            etag = f'"{hash(self.body)}"'
            if request.headers.get("If-None-Match") == etag:
                request.send_response(304)
                request.send_header("Content-Length", "0")
                request.end_headers()
                return
            request.send_response(200)
            request.send_header("Content-Type", "text/html; charset=utf-8")
            request.send_header("ETag", etag)
            request.send_header("Content-Length", str(len(self.body)))
            request.end_headers()
            request.wfile.write(self.body)

        return serve


def feed_toml(name: str, url: str, follow: str | None = "all") -> str:
    """A `[[sources]]` table of kind "feed" at `url`, as TOML, for configs a test writes as text;
    `follow` None leaves the key out (the default)."""
    text = f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{url}"\n'
    return text + (f'follow = "{follow}"\n' if follow else "")


def deterrence_feed(*links: str) -> bytes:
    """An RSS feed with one item a link, each titled and described in words the shipped concepts
    match (extended deterrence, NCG), so a poll follows every link."""
    items = "".join(
        f"<item><title>Extended deterrence item {i}</title><link>{link}</link>"
        f"<description>NCG meets</description></item>"
        for i, link in enumerate(links)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>'
        f"<description>d</description>{items}</channel></rss>"
    ).encode()


def rss_feed(*items: tuple[str, str, str]) -> bytes:
    """A minimal RSS 2.0 feed of (title, link, description) items."""
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{summary}</description></item>"
        for title, link, summary in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>'
        f"<description>d</description>{body}</channel></rss>"
    ).encode()
