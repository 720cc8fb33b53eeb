"""Secrets never leave: servers on loopback that echo the secrets they were sent (an SMTP server
whose 535 repeats the login, plain and base64; a webhook whose 500 repeats its secret path and
the Authorization header; a source that answers a `?token=` URL with an error naming it), then
no form of any secret in the log, on the terminal, or anywhere in the database file.

Each test runs the real commands in their own processes (`monitor once`, `monitor sources`,
`monitor digest --send`), then one delivery run in this process with the service's JSON log
setup, and reads the database both as SQL (`iterdump`) and as the bytes of the file."""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from threading import Event
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import config, logs, store
from monitor.alerts import delivery
from monitor.cli import main
from monitor.pipeline import poll
from monitor.redact import Redactor
from tests.conftest import config_head, shipped_concepts
from tests.mail import email_toml, free_port
from tests.servers import LocalServer, respond

ROOT = Path(__file__).resolve().parents[2]
USER = "relay-login-7f3a"
PASSWORD = "Pa55+w0rd/x=Q?&k"
TOKEN = "tok-9Zq8Wv7Ux6Ty5S"
HOOK_PATH = "/services/T0A1B2C3D/B9Z8Y7X6W/Xa9fQ2mP7kL3vB8nR4tY"
HOOK_SECRET = "Xa9fQ2mP7kL3vB8nR4tY"
SOURCE_TOKEN = "SECRET-feed-7c1e99"
PAGE_KEY = "pagekey-41b2d0"
NO_TLS_WARNING = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def spellings(secret: str) -> set[str]:
    """How a server may give a secret back: as is, URL-encoded, base64 (also URL-safe)."""
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        b64(raw),
        b64(raw).rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def smtp_spellings() -> set[str]:
    """The login's own spellings, and the base64 SMTP sends: AUTH PLAIN and AUTH LOGIN."""
    plain = f"\0{USER}\0{PASSWORD}".encode()
    return spellings(USER) | spellings(PASSWORD) | {b64(plain), b64(plain).rstrip("=")}


@dataclass
class EchoingSmtp:
    """Refuses every login with a 535 that repeats it, plain and as base64."""

    tried: list[tuple[bytes, bytes]] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.tried.append((data.login, data.password))
        user, password = data.login, data.password
        plain = b64(b"\0" + user + b"\0" + password)
        said = (
            f"535 5.7.8 {mechanism} refused for {user.decode()} / {password.decode()} "
            f"(PLAIN {plain}, LOGIN {b64(user)} {b64(password)})"
        )
        return AuthResult(success=False, handled=False, message=said)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[EchoingSmtp, int]]:
    sink = EchoingSmtp()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        authenticator=sink.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def plain_smtp() -> Iterator[tuple[EchoingSmtp, int]]:
    """A mail server that takes everything (no login): to see what the alerts carry."""
    sink = EchoingSmtp()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def echo(status: int) -> Any:
    """An error page that repeats the request line, query and all."""

    def handler(request: BaseHTTPRequestHandler, stopping: Event) -> None:
        body = f"no such thing: {request.path}".encode()
        request.send_response(status)
        request.send_header("Content-Length", str(len(body)))
        request.send_header("X-Echo", request.path)
        request.end_headers()
        request.wfile.write(body)

    return handler


def write_config(tmp_path: Path, body: str, alerts: str = "") -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        shipped_concepts()
        + f"""
{config_head(tmp_path / "m.db", timeout=5)}[alerts]
failure_threshold = 1
retry_seconds = 0
"""
        + alerts
        + body,
        encoding="utf-8",
    )
    return path


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "TEST_"))}
    return env | extra


def run(config_path: Path, env: dict[str, str], *args: str) -> str:
    """A command in its own process; its stdout and stderr together."""
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(config_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def commands(config_path: Path, env: dict[str, str]) -> str:
    """What `once`, `sources` and `digest --send` print (a digest whose day is over)."""
    day = date.today() - timedelta(days=2)
    return "\n".join(
        [
            run(config_path, env, "once"),
            run(config_path, env, "sources"),
            run(config_path, env, "digest", "--date", str(day), "--send"),
        ]
    )


def service_log(config_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> str:
    """A poll and a delivery run with the service's log setup (JSON lines on stdout), in this
    process; returns what was logged."""
    saved = os.environ.copy()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    os.environ.update(env)
    try:
        settings = config.load(config_path)
        capsys.readouterr()
        logs.setup("INFO", json_lines=True, redactor=Redactor.from_settings(settings))
        with store.open_db(settings.database) as db:
            poll(settings, db)
            db.execute("UPDATE alerts SET next_attempt_at = ?", [store.now()])
            delivery.deliver_due(settings, db, datetime.now(UTC) + timedelta(seconds=1))
    finally:
        root.handlers[:], root.level = handlers, level
        os.environ.clear()
        os.environ.update(saved)
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert {"fetch", "source"} <= {line.get("event") for line in lines}, out.out
    return out.out + out.err


def database_text(path: Path) -> tuple[str, bytes]:
    """The database as SQL, and the file's bytes once the write-ahead log is checkpointed."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    raw = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return dump, raw + (wal.read_bytes() if wal.exists() else b"")


def assert_nowhere(secrets: set[str], output: str, db: Path) -> None:
    dump, raw = database_text(db)
    for secret in sorted(secrets):
        assert secret not in output, f"{secret!r} printed or logged:\n{output}"
        assert secret not in dump, f"{secret!r} in the database"
        assert secret.encode() not in raw, f"{secret!r} in the bytes of the database file"


@NO_TLS_WARNING
def test_an_smtp_server_echoing_the_login_leaks_it_nowhere(
    tmp_path: Path, smtp: tuple[EchoingSmtp, int], capsys: pytest.CaptureFixture[str]
) -> None:
    sink, port = smtp
    with LocalServer() as server:
        server.route("/feed", respond(500, b"down for maintenance"))
        path = write_config(
            tmp_path,
            f"""
{email_toml(port, timeout=5, sender=True)}username_env = "RELAY_USER"
password_env = "RELAY_PASSWORD"
[[sources]]
name = "down"
kind = "feed"
url = "{server.url("/feed")}"
""",
        )
        env = environment(RELAY_USER=USER, RELAY_PASSWORD=PASSWORD)
        output = commands(path, env) + service_log(path, env, capsys)
    assert (USER.encode(), PASSWORD.encode()) in sink.tried, "the login was tried"
    assert "login refused (535" in output and "$RELAY_USER / $RELAY_PASSWORD" in output
    with sqlite3.connect(tmp_path / "m.db") as conn:
        errors = [r[0] for r in conn.execute("SELECT last_error FROM alerts")]
    assert errors and all(e and "535" in e and "***" in e for e in errors), errors
    assert_nowhere(smtp_spellings(), output, tmp_path / "m.db")


def test_a_webhook_echoing_its_path_and_token_leaks_them_nowhere(
    tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def echoing(request: Request) -> Response:
        said = f"cannot post to {request.path}; you sent {request.headers.get('Authorization')}"
        return Response(said + f" ({b64(TOKEN.encode())})", status=500)

    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(echoing)
    with LocalServer() as server:
        server.route("/feed", respond(500, b"down for maintenance"))
        path = write_config(
            tmp_path,
            f"""
[[webhooks]]
name = "ops"
url = "{httpserver.url_for(HOOK_PATH)}"
token_env = "HOOK_TOKEN"
timeout = 5
[[sources]]
name = "down"
kind = "feed"
url = "{server.url("/feed")}"
""",
            alerts='failure_channels = ["ops"]\n',
        )
        env = environment(HOOK_TOKEN=TOKEN)
        output = commands(path, env) + service_log(path, env, capsys)
    posted = [r for r, _ in httpserver.log if r.path == HOOK_PATH]
    assert posted and posted[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "HTTP 500" in output
    with sqlite3.connect(tmp_path / "m.db") as conn:
        errors = [r[0] for r in conn.execute("SELECT last_error FROM alerts")]
    assert errors and all(e and "HTTP 500" in e for e in errors), errors
    secrets = spellings(TOKEN) | spellings(HOOK_SECRET) | {HOOK_PATH, f"Bearer {TOKEN}"}
    assert_nowhere(secrets, output, tmp_path / "m.db")


def test_a_source_token_in_the_url_leaks_nowhere(
    tmp_path: Path, plain_smtp: tuple[EchoingSmtp, int], capsys: pytest.CaptureFixture[str]
) -> None:
    sink, port = plain_smtp
    page = b"<html><head><title>Statement</title></head><body><p>" + b"A plain page. " * 40
    with LocalServer() as server:
        server.route("/feed", echo(500))
        server.route("/gone", echo(404))
        server.route("/page", respond(200, page + b"</p></body></html>", {"ETag": '"v1"'}))
        path = write_config(
            tmp_path,
            f"""
{email_toml(port, timeout=5, sender=True)}[[sources]]
name = "feed-with-token"
kind = "feed"
url = "{server.url("/feed")}?token={SOURCE_TOKEN}&lang=ko"
[[sources]]
name = "gone-with-token"
kind = "page"
url = "{server.url("/gone")}?access_token={SOURCE_TOKEN}"
[[sources]]
name = "page-with-key"
kind = "page"
url = "{server.url("/page")}?api_key={PAGE_KEY}"
""",
        )
        env = environment()
        output = commands(path, env) + service_log(path, env, capsys)
        fetched = [r.path for r in server.requests]
        page_url = f"{server.url('/page')}?api_key={PAGE_KEY}"
    # `show` finds the page by the URL in the config, and prints it without the key.
    shown = CliRunner().invoke(main, ["show", page_url, "--config", str(path)])
    assert shown.exit_code == 0 and "A plain page." in shown.output, shown.output
    output += shown.output
    # The fetches used the real URLs from the config ...
    assert f"/feed?token={SOURCE_TOKEN}&lang=ko" in fetched
    assert f"/page?api_key={PAGE_KEY}" in fetched
    # ... and what is stored and shown is the URL without its credential.
    assert "HTTP 500" in output and "HTTP 404" in output and "token=%2A%2A%2A" in output
    with sqlite3.connect(tmp_path / "m.db") as conn:
        urls = dict(conn.execute("SELECT name, url FROM sources").fetchall())
        pages = [r[0] for r in conn.execute("SELECT url FROM documents WHERE kind = 'page'")]
        cached = [r[0] for r in conn.execute("SELECT url FROM http_cache")]
    assert urls["feed-with-token"].endswith("/feed?token=%2A%2A%2A&lang=ko")
    assert pages == [urls["page-with-key"]] == cached
    assert sink.received, "the failure alerts were mailed"
    mailed = b"\n".join(sink.received)
    assert SOURCE_TOKEN.encode() not in mailed and PAGE_KEY.encode() not in mailed
    assert_nowhere(spellings(SOURCE_TOKEN) | spellings(PAGE_KEY), output, tmp_path / "m.db")


@pytest.mark.parametrize("padding", [1_965, 1_975, 1_982])  # the token across char 2,000
def test_a_webhook_reply_that_echoes_the_token_across_a_cut_leaks_no_part_of_it(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, padding: int
) -> None:
    """A reply read in part must be redacted before it is cut: a token straddling the cut
    would otherwise survive in part, where no redactor can recognise it."""
    from monitor.alerts import webhooks
    from monitor.config import WebhookSettings
    from monitor.errors import NotifyError
    from monitor.models import Message

    token = "xoxb-9f8e7d6c5b4a39281706"
    monkeypatch.setenv("CUT_TOKEN", token)

    def echo(request: Request) -> Response:
        said = " " * padding + "you sent " + str(request.headers.get("Authorization"))
        return Response(said, status=500)

    httpserver.expect_request("/hook").respond_with_handler(echo)
    hook = WebhookSettings(name="desk", url=httpserver.url_for("/hook"), token_env="CUT_TOKEN")
    with pytest.raises(NotifyError) as caught:
        webhooks.send_webhook(hook, Message("k", "s", "t", None, {"event": "test"}))
    said = str(caught.value)
    assert "HTTP 500" in said
    assert not any(token[:n] in said for n in range(6, len(token) + 1)), said
