"""Safe by default: strict headers on every response, and credentials (from the environment
only) that a bind beyond loopback must have and every request must then present."""

from __future__ import annotations

import base64
import binascii
import hashlib
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
COOKIE = "monitor_token"  # the token given once as ?token=, kept by the browser (its digest)


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

    def is_token(self, given: str | None) -> bool:
        """Whether `given` is the token, compared in constant time (hmac.compare_digest on
        bytes) so the comparison says nothing of how much matched."""
        if self.token is None or given is None:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def cookie(self) -> str:
        """The token cookie's value: a digest of the token (hex, so any token fits a cookie,
        and the browser's cookie store does not hold the token itself)."""
        assert self.token is not None
        return hashlib.sha256(b"monitor web cookie\0" + self.token.encode()).hexdigest()

    def is_cookie(self, given: str | None) -> bool:
        if self.token is None or given is None:
            return False
        return hmac.compare_digest(given.encode(), self.cookie().encode())

    def accepts(
        self, authorization: str | None, query_token: str | None, cookie_token: str | None = None
    ) -> bool:
        """Whether a request's Authorization header or ?token= matches, else (neither given)
        its token cookie."""
        if not self.required:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        if self.token is not None:
            given = value if scheme.lower() == "bearer" else query_token
            if self.is_token(given):
                return True
            # the cookie only when nothing else is given: a wrong token given is refused
            if given is None and not authorization and self.is_cookie(cookie_token):
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

        query = _query_token(scope)
        cookie = _cookie_token(scope)
        if not self.credentials.accepts(_header(scope, b"authorization"), query, cookie):
            await _unauthorized(send_with_headers, self.credentials)
            return
        if self.credentials.is_token(query) and not self.credentials.is_cookie(cookie):
            # Opened with ?token=: the browser keeps it as a cookie, so the page's links, its
            # filter forms and its permalinks work without the token in them (a permalink an
            # analyst quotes must not carry the secret). HttpOnly: no script could read it
            # (none runs); SameSite=Strict: another site's link or form never sends it.
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            value = self.credentials.cookie()
            cookie_header = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"
            with_cookie = send_with_headers

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    extra = [(b"set-cookie", cookie_header.encode("latin-1"))]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await with_cookie(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie_token(scope: Scope) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    header = _header(scope, b"cookie")
    if header is None:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


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
