"""The offline demo: serve the bundled feeds and pages on loopback and poll them for real.

The server stands in for the internet; everything after it is the ordinary pipeline with the
shipped concept families and the sources of `monitor/demo/sources.toml`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from monitor import config, store
from monitor.pipeline import poll
from monitor.render.untrusted import ERROR_CHARS, SENTENCE_CHARS, TITLE_CHARS, terminal

TYPES = {
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
}


def demo_root() -> Path:
    return Path(str(resources.files("monitor").joinpath("demo")))


class _Handler(BaseHTTPRequestHandler):
    """Serves files under the demo folder with ETag, Last-Modified and 304s, like a real site."""

    root: Path

    def do_GET(self) -> None:
        relative = self.path.split("?", 1)[0].lstrip("/")
        path = (self.root / relative).resolve()
        if not path.is_file() or self.root.resolve() not in path.parents:
            self.send_error(404)
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve a folder on a free loopback port; yields the base URL."""
    handler = type("DemoHandler", (_Handler,), {"root": root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_settings(
    base: str, database: Path, text: str | None = None, origin: str = "demo config"
) -> config.Settings:
    """A config (default: the shipped one) with the demo's sources, series and database."""
    raw = config.loads(text or config.shipped_config_text(), origin=origin)
    sources_text = (demo_root() / "sources.toml").read_text(encoding="utf-8")
    demo = config.loads(sources_text.replace("{base}", base), origin="demo sources")
    raw["sources"], raw["series"] = demo["sources"], demo.get("series", [])
    raw["storage"] = {**raw.get("storage", {}), "database": str(database)}
    return config.parse(raw, origin=origin, environment=False)


def run_demo(
    directory: Path,
    echo: Callable[[str], None],
    config_text: str | None = None,
    origin: str = "demo config",
) -> None:
    """Poll the bundled sources twice and print what was found (`origin` names the config
    text in errors)."""
    database = directory / "monitor.db"
    for stale in directory.glob("monitor.db*"):
        stale.unlink()
    with serve(demo_root()) as base:
        settings = demo_settings(base, database, config_text, origin)
        echo(f"serving the bundled demo at {base}; database {database}")
        with store.opened(settings.database, settings.storage.busy_timeout) as db:
            first = poll(settings, db)
            echo(
                f"\nfirst poll of {first.sources} sources: {first.fetched} fetched, "
                f"{first.new_documents} new documents, {first.new_versions} versions, "
                f"{first.mentions} concept mentions"
            )
            for source, error in first.errors:
                echo(f"  problem recorded for {source}: {terminal(error, ERROR_CHARS)}")
            second = poll(settings, db)
            echo(
                f"second poll: {second.not_modified} not modified (conditional GET), "
                f"{second.new_versions} new versions"
            )
            report(db, settings, echo)
    echo(
        f"\nexplore the history: MONITOR_DB={database} monitor search 비핵화"
        f"\n                     MONITOR_DB={database} monitor changes"
        f"\n                     MONITOR_DB={database} monitor digest --out digest.html"
        f"\n                     MONITOR_DB={database} monitor datasette"
    )


def report(db: Any, settings: config.Settings, echo: Callable[[str], None]) -> None:
    """Per concept: how often and where it was found, with one quotable sentence."""
    echo("\nconcepts found (mentions in documents):")
    for row in store.concept_summary(db):
        label = (
            settings.concepts[row.concept].label
            if row.concept in settings.concepts
            else row.concept
        )
        echo(f"  {row.concept:26} {row.mentions:4} in {row.documents:3} documents  ({label})")
        echo(f"      e.g. “{terminal(row.example_sentence, 160)}”")
        variants = terminal(", ".join(row.variants), SENTENCE_CHARS)
        echo(f"           variants: {variants}  [{terminal(row.example_title, TITLE_CHARS)}]")
    found = store.list_changes(db)
    echo(f"\nwording changes: {len(found)}")
    for change in found:
        title = terminal(change.title or change.url, TITLE_CHARS)
        echo(f"  {change.significance:.2f} {change.kind}: {title}")
        echo(f"       {terminal(change.verdict, SENTENCE_CHARS)}")
    echo("\nsources:")
    for health in store.source_health(db, [s.name for s in settings.sources]):
        error = terminal(health.last_error or "", ERROR_CHARS)
        state = "ok" if health.consecutive_failures == 0 else f"failing: {error}"
        echo(f"  {health.name:24} {health.documents:4} documents  {state}")
