"""Safe by default: strict headers on every response, and credentials (from the environment
only) that a bind beyond loopback must have and every request must then present."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.errors import MonitorError

# No script may run at all: filters are plain GET forms and the chart is SVG drawn on the
# server, so the page needs none, and a document's text can never become one.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

TOKEN = "MONITOR_WEB_TOKEN"
USER = "MONITOR_WEB_USER"
PASSWORD = "MONITOR_WEB_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    """What a request must present: a bearer token (header or ?token=), or basic auth."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    @property
    def required(self) -> bool:
        return self.token is not None or self.user is not None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Credentials:
        """From MONITOR_WEB_TOKEN, or MONITOR_WEB_USER and MONITOR_WEB_PASSWORD (both or
        neither); an empty value counts as not set."""
        token = environ.get(TOKEN) or None
        user, password = environ.get(USER) or None, environ.get(PASSWORD) or None
        if (user is None) != (password is None):
            missing = PASSWORD if password is None else USER
            raise MonitorError(f"{missing} is not set: basic auth needs both {USER} and {PASSWORD}")
        return cls(token, user, password)

    def accepts(self, authorization: str | None, query_token: str | None) -> bool:
        """Whether a request's Authorization header or ?token= matches, compared in constant
        time (hmac.compare_digest on bytes) so the comparison says nothing of how much matched."""
        if not self.required:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        if self.token is not None:
            given = value if scheme.lower() == "bearer" else query_token
            if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                return True
        if self.user is not None and self.password is not None and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            same_user = hmac.compare_digest(user.encode(), self.user.encode())
            same_password = hmac.compare_digest(password.encode(), self.password.encode())
            return same_user and same_password
        return False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, credentials: Credentials) -> None:
    """A bind beyond loopback serves the history to the network: refused without credentials."""
    if not is_loopback(host) and not credentials.required:
        raise MonitorError(
            f"refusing to serve on {host}, beyond loopback, without credentials: set {TOKEN} "
            f"(a bearer token, or ?token=), or {USER} and {PASSWORD} (basic auth), in the "
            "environment; or bind to 127.0.0.1"
        )


class Guard:
    """ASGI middleware: every response gets the strict headers; without the credentials a
    request gets 401 (and nothing of the history)."""

    def __init__(self, app: ASGIApp, credentials: Credentials) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        if not self.credentials.accepts(_header(scope, b"authorization"), _query_token(scope)):
            await _unauthorized(send_with_headers, self.credentials)
            return
        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _query_token(scope: Scope) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1")).get("token")
    return values[0] if values else None


async def _unauthorized(send: Send, credentials: Credentials) -> None:
    body = b"401: this monitor needs credentials (a bearer token or basic auth)\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if credentials.user is not None:
        headers.append((b"www-authenticate", b'Basic realm="monitor", charset="UTF-8"'))
    else:
        headers.append((b"www-authenticate", b'Bearer realm="monitor"'))
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
