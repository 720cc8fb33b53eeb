"""Connections only to addresses a source may reach: each host name resolved once, every
address checked against its `Reach` (monitor/sources/reach.py) when connecting, also through a
proxy from the environment; and the errors of a refused or unresolved name.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpcore2
import httpx2

from monitor.errors import FetchError
from monitor.sources.reach import Address, Reach, Refusal


class Refused(FetchError):
    """A fetch refused because its address is not public (and not allowed)."""


class Unresolved(FetchError):
    """A fetch whose host name does not resolve: final for this poll (no retry)."""


class DnsFailures:
    """The host names that did not resolve during one poll, with the reason: every later URL
    of such a host fails at once with that reason, without asking the resolver again (the
    next poll asks again). Thread-safe: a poll's fetch threads share one."""

    def __init__(self) -> None:
        self._reasons: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def get(self, host: str) -> tuple[str, str] | None:
        """What the attempt recorded (the resolver's answer) and the reason with its fix."""
        with self._lock:
            return self._reasons.get(host.lower())

    def add(self, host: str, answer: str, reason: str) -> None:
        with self._lock:
            self._reasons.setdefault(host.lower(), (answer, reason))


class NoName(Exception):
    """Raised by the network backend: the host name did not resolve (final for the poll)."""

    def __init__(self, host: str, error: socket.gaierror) -> None:
        super().__init__(f"{host} does not resolve ({error.strerror or error})")
        self.host = host


Resolver = Callable[[str, int], list[Address]]


class Blocked(Exception):
    """Raised by the network backend: no address of the host may be connected to."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


def resolve(host: str, port: int = 0) -> list[Address]:
    """The addresses of `host`, resolved once (scoped IPv6 addresses keep their scope). A
    name under .invalid fails at once, without asking the resolver (RFC 6761, 6.4)."""
    if host.lower().rstrip(".").split(".")[-1] == "invalid":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (.invalid, RFC 6761)")
    found: list[Address] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6):
            text = str(sockaddr[0])
            if family == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3]:
                text = f"{text.split('%')[0]}%{sockaddr[3]}"
            if text not in map(str, found):
                found.append(ipaddress.ip_address(text))
    return found


class GuardedBackend(httpcore2.SyncBackend):
    """Resolves each host once, checks every address against a Reach, and connects only to a
    checked address (TLS SNI and the Host header keep the name: httpcore sets them)."""

    def __init__(self, reach: Reach, resolve: Resolver = resolve) -> None:
        self.reach = reach
        self.resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            resolved = self.resolve(host, port)
        except socket.gaierror as exc:
            # Final, whatever getaddrinfo said: no such name, or no resolver to ask (EAI_AGAIN,
            # which backing off within the poll would only make slower for every URL).
            raise NoName(host, exc) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(exc) from exc
        allowed: list[Address] = []
        refused: list[Refusal] = []
        for address in resolved:
            refusal = self.reach.refusal(host, address, addresses_of)
            if refusal is None:
                allowed.append(address)
            else:
                refused.append(refusal)
        if refused and not allowed:
            raise Blocked(refused[0])
        if not allowed:
            raise httpcore2.ConnectError(f"{host} has no address")
        error: Exception | None = None
        for address in allowed:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore2.ConnectError as exc:
                error = exc
        assert error is not None
        raise error


class GuardedTransport(httpx2.HTTPTransport):
    """httpx2's transport over a connection pool that uses `GuardedBackend`."""

    def __init__(self, reach: Reach, ssl_context: Any, resolve: Resolver = resolve) -> None:
        super().__init__(verify=ssl_context)
        # HTTPTransport takes no network backend: replace the pool it built (no sockets yet).
        self._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(reach, resolve),
        )


class ProxiedTransport(httpx2.BaseTransport):
    """A transport through a proxy from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY):
    the proxy connects, so the target is checked here, on the addresses it resolves to locally
    (every one must be allowed); a name that does not resolve here is left to the proxy."""

    def __init__(self, reach: Reach, proxied: httpx2.HTTPTransport) -> None:
        self.reach = reach
        self.proxied = proxied

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        try:
            addresses = resolve(host)
        except OSError:
            addresses = []
        for address in addresses:
            refusal = self.reach.refusal(host, address, addresses_of)
            if refusal is not None:
                raise Blocked(refusal)
        return self.proxied.handle_request(request)

    def close(self) -> None:
        self.proxied.close()


def proxy_mounts(reach: Reach, ssl_context: Any) -> dict[str, httpx2.BaseTransport | None]:
    """The proxies the environment sets, as httpx2 reads them (NO_PROXY patterns map to None:
    the direct, guarded transport)."""
    from httpx2._utils import get_environment_proxies  # the Client's own reading of them

    return {
        pattern: None
        if proxy is None
        else ProxiedTransport(reach, httpx2.HTTPTransport(verify=ssl_context, proxy=proxy))
        for pattern, proxy in get_environment_proxies().items()
    }


def addresses_of(name: str) -> list[Address]:
    """The addresses of a configured host name, asked only when a non-public address is met
    (none when it does not resolve)."""
    try:
        return resolve(name)
    except OSError:
        return []


def reraised_as(exc: FetchError) -> type[FetchError]:
    """The class a FetchError is raised again as, by the callers that add their attempts."""
    return type(exc) if isinstance(exc, Refused | Unresolved) else FetchError
