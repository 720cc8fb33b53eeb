"""Sites on loopback for the benches: one threaded HTTP server per address (127.0.0.2, 127.0.0.3,
...), so that monitor's per-host politeness applies to each as to a real site, and the feeds
they list."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def feeds_parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line of a bench that serves local feeds: how many, and how many entries."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--per-feed", type=int, default=50)
    return parser


def feed_xml(host: str, count: int, offset: int, *, concept_every: int = 0) -> bytes:
    """An RSS feed of `count` articles at http://host/articles/N.html; with `concept_every`,
    every so many titles name a concept."""
    items = "".join(
        f"<item><title>Article {offset + i}"
        f"{' on complete denuclearization' if concept_every and i % concept_every == 0 else ''}"
        f"</title><link>http://{host}/articles/{offset + i}.html</link>"
        f"<description>Story {offset + i}</description>"
        f"<pubDate>Mon, 03 Mar 2025 09:{i % 60:02d}:00 +0900</pubDate></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
        f"<link>http://{host}/</link><description>bench feed</description>{items}</channel></rss>"
    ).encode()


def number(path: str) -> int:
    """N in /anything/N.html."""
    return int(path.rsplit("/", 1)[1].split(".")[0])


class Quiet(BaseHTTPRequestHandler):
    """A keep-alive handler that logs nothing and answers with `send`."""

    protocol_version = "HTTP/1.1"

    def send(
        self, status: int, body: bytes, kind: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_hosts(
    hosts: int, handler_for: Callable[[int, str], type[BaseHTTPRequestHandler]]
) -> Iterator[list[str]]:
    """`hosts` servers on their own loopback addresses, server n answering with
    `handler_for(n, "127.0.0.x:port")`; yields their base URLs."""
    with ExitStack() as stack:
        bases = []
        for n in range(hosts):
            server = ThreadingHTTPServer((f"127.0.0.{n + 2}", 0), BaseHTTPRequestHandler)
            host = f"127.0.0.{n + 2}:{server.server_address[1]}"
            server.RequestHandlerClass = handler_for(n, host)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            bases.append(f"http://{host}")
        yield bases
