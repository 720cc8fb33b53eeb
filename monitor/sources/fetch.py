"""The only HTTP client of monitor: polite, bounded GETs with retries, robots.txt, conditional GET.

Its parts: connections checked by address (monitor/sources/transport.py), one fetch's headers
and cookies (sources/session.py), each attempt's deadline and byte cap (sources/limits.py),
retries and backoff (sources/retries.py), each host's turn and robots.txt
(sources/politeness.py); this module follows redirects and runs the attempts.

Every attempt has a total wall-clock deadline (a watchdog shuts the socket down when it passes, so
neither a drip-feeding nor a silent server can hold a request longer) and a byte cap. One request
at a time goes to each host, with a pause between them; `concurrency` requests run overall.
Connections go only to public addresses, those of the configured URL and those allowed (see
monitor/sources/reach.py): the check is made on the resolved address, when connecting.

Cookies live for one fetch: those a site sets are sent back during that fetch's redirects and
retries, to the host that set them only, and then forgotten (the clients keep none, so no
cookie passes from one fetch or source to another). A source's own headers go to its own host
only; its User-Agent, if it sets one, to every request made for it.
"""

from __future__ import annotations

import dataclasses
import http.cookiejar
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple, Self
from urllib.parse import urljoin, urlsplit

import httpx2

from monitor.errors import FetchError
from monitor.models import Attempt, Response
from monitor.sources import politeness
from monitor.sources.limits import Alarms, Failure, Watchdog, late, read_body
from monitor.sources.politeness import Host
from monitor.sources.reach import Reach, numeric_host
from monitor.sources.retries import backoff, check_status
from monitor.sources.retries import retry_after as _retry_after  # noqa: F401 (tests use it)
from monitor.sources.session import Call, KeepNone
from monitor.sources.transport import (
    Blocked,
    GuardedTransport,
    NoName,
    Resolver,
    addresses_of,
    proxy_mounts,
    reraised_as,
    resolve,
)

# Where the other names of the client live now; their users find them here.
from monitor.sources.transport import DnsFailures as DnsFailures
from monitor.sources.transport import Refused as Refused
from monitor.sources.transport import Unresolved as Unresolved
from monitor.sources.transport import resolve as _resolve  # noqa: F401 (tests count calls)

CONNECT_TIMEOUT = 10.0  # a connect that takes longer is retried (within the total deadline)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str
    timeout: float = 30.0  # total deadline per attempt: connect + headers + body (+ redirects)
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    retries: int = 3  # extra attempts on connection errors, 429 and 5xx
    backoff: float = 1.0  # first retry waits this long, then twice as long each time
    max_retry_after: float = 120.0
    concurrency: int = 8
    delay: float = 1.0  # minimum seconds between two requests to the same host
    # Non-public addresses, networks (CIDR) and host names every source may reach.
    allow_internal: tuple[str, ...] = ()


class _Moved(Exception):
    """A redirect to another origin: followed by `get` under that host's lock, delay and robots."""

    def __init__(self, target: str, status: int, attempts: tuple[Attempt, ...] = ()) -> None:
        super().__init__(target)
        self.target = target
        self.status = status
        self.attempts = attempts


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Result(NamedTuple):
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes


class Fetcher:
    """Thread-safe: share one Fetcher between all worker threads."""

    def __init__(self, settings: FetchSettings, resolve: Resolver = resolve) -> None:
        """`resolve` looks up a host's addresses (tests count its calls)."""
        self.settings = settings
        self._resolve = resolve
        self._ssl = httpx2.create_ssl_context()
        # One client per Reach, so that a connection one source may make is never reused by
        # another that may not (the pool reuses connections without connecting again).
        self._clients: dict[Reach, httpx2.Client] = {}
        self._clients_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, settings.concurrency))
        self._hosts: dict[str, Host] = {}
        self._hosts_lock = threading.Lock()
        self._alarms = Alarms()  # every attempt's watchdog, on one thread

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self._alarms.close()

    def _client(self, reach: Reach) -> httpx2.Client:
        with self._clients_lock:
            client = self._clients.get(reach)
            if client is None:
                client = self._clients[reach] = httpx2.Client(
                    headers={"User-Agent": self.settings.user_agent},
                    cookies=http.cookiejar.CookieJar(policy=KeepNone()),
                    transport=GuardedTransport(reach, self._ssl, self._resolve),
                    mounts=proxy_mounts(reach, self._ssl),
                )
            return client

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float | None = None,
        robots: bool = False,
        accept: str | None = None,
        source_url: str | None = None,
        allow: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
        dns: DnsFailures | None = None,
    ) -> Response:
        """GET `url`; a 2xx or 304 comes back as a Response, anything else raises FetchError.

        Non-public addresses are refused (raising `Refused`) unless they are those of the host
        of `source_url` (the configured URL; default `url` itself), or `allow` or
        `fetch.allow_internal` lists them. `headers` (a source's own) are sent to the host of
        `source_url` only; `user_agent` replaces [fetch].user_agent for every request of this
        fetch (robots.txt is still read, and obeyed, as monitor's own agent). A host name that
        does not resolve is not retried; with `dns` (one per poll), neither is it asked again:
        the poll's other URLs of that host fail at once with the same reason (`Unresolved`)."""
        configured = urlsplit(source_url or url).hostname
        reach = Reach.build(configured, (*self.settings.allow_internal, *allow))
        call = Call(reach, user_agent, dns, headers or {}, configured)
        base = {"Accept": accept} if accept else {}
        if etag:
            base["If-None-Match"] = etag
        if last_modified:
            base["If-Modified-Since"] = last_modified
        gap = self.settings.delay if delay is None else delay
        done: list[Attempt] = []
        current = url
        for _ in range(self.settings.max_redirects + 1):
            try:
                response = self._get_one(current, base, gap, robots, call)
            except _Moved as moved:
                done.extend(moved.attempts)
                current = moved.target
                base = {"Accept": accept} if accept else {}  # validators belong to `url`
                continue
            except FetchError as exc:
                kind = reraised_as(exc)
                raise kind(url, exc.reason, exc.status, (*done, *exc.attempts)) from exc
            return dataclasses.replace(response, url=url, attempts=(*done, *response.attempts))
        limit = self.settings.max_redirects
        reason = f"more than {limit} redirects (last to {current}); put the final URL in the config"
        raise FetchError(url, reason, attempts=tuple(done))

    def _get_one(
        self, url: str, headers: dict[str, str], gap: float, robots: bool, call: Call
    ) -> Response:
        """GET within one origin, holding that host's turn; redirects elsewhere raise _Moved."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "not an http(s) URL; fix it in the config")
        number = numeric_host(parts.hostname)
        refusal = (
            None if number is None else call.reach.refusal(parts.hostname, number, addresses_of)
        )
        if refusal is not None:
            # A numeric host in any spelling (0xa9fea9fe, 0251.0376.0251.0376) is refused
            # before any request; the connect-time check covers names.
            attempt = Attempt(url, datetime.now(UTC), None, 0, 0.0, refusal.reason)
            raise Refused(url, str(refusal), attempts=(attempt,))
        with self._hosts_lock:
            host = self._hosts.setdefault(parts.hostname, Host())
        with host.lock:
            early: list[Attempt] = []
            if robots:
                # As monitor itself, with no source's headers and cookies of its own:
                # robots.txt is cached for every source.
                plain = Call(call.reach, dns=call.dns)
                politeness.check_robots(
                    url,
                    host,
                    early,
                    self.settings.user_agent,
                    lambda target: self._fetch(target, {}, host, gap, plain),
                )
            try:
                response = self._fetch(url, headers, host, gap, call)
            except FetchError as exc:
                kind = reraised_as(exc)
                raise kind(url, exc.reason, exc.status, (*early, *exc.attempts)) from exc
            except _Moved as moved:
                raise _Moved(moved.target, moved.status, (*early, *moved.attempts)) from None
        return dataclasses.replace(response, attempts=(*early, *response.attempts))

    def _fetch(
        self, url: str, headers: dict[str, str], host: Host, gap: float, call: Call
    ) -> Response:
        """Attempts with retries; the caller holds `host.lock`."""
        attempts: list[Attempt] = []
        first = time.monotonic()
        name = urlsplit(url).hostname or ""
        for retried in range(self.settings.retries + 1):
            known = call.dns.get(name) if call.dns is not None else None
            if known is not None:  # this poll already asked: the answer stands
                answer, reason = known
                attempts.append(Attempt(url, datetime.now(UTC), None, 0, 0.0, answer))
                raise Unresolved(url, reason, attempts=tuple(attempts))
            wait = host.last_end + max(gap, host.crawl_delay) - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # holding the host, not a global slot
            try:
                with self._slots:
                    started, t0 = datetime.now(UTC), time.monotonic()
                    result = self._attempt(url, headers, call)
            except _Moved as moved:
                host.last_end = end = time.monotonic()
                attempts.append(Attempt(url, started, moved.status, 0, end - t0))
                raise _Moved(moved.target, moved.status, tuple(attempts)) from None
            except Failure as failure:
                host.last_end = end = time.monotonic()
                attempts.append(
                    Attempt(url, started, failure.status, failure.nbytes, end - t0, failure.reason)
                )
                if failure.unresolved:
                    reason = f"{failure.reason}; {failure.hint}"
                    if call.dns is not None:
                        call.dns.add(name, failure.reason, reason)
                    raise Unresolved(url, reason, None, tuple(attempts)) from None
                if not failure.retry or retried == self.settings.retries:
                    again = f", retried {retried} time{'s' * (retried > 1)}" if retried else ""
                    reason = f"{failure.reason}{again}; {failure.hint}"
                    kind = Refused if failure.refused else FetchError
                    raise kind(url, reason, failure.status, tuple(attempts)) from None
                time.sleep(backoff(self.settings.backoff, retried, failure.wait))
                continue
            host.last_end = end = time.monotonic()
            attempts.append(Attempt(url, started, result.status, len(result.body), end - t0))
            return Response(url, *result, end - first, tuple(attempts))
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, url: str, headers: dict[str, str], call: Call) -> _Result:
        """One attempt: follow redirects and read the body, all within one total deadline."""
        deadline = time.monotonic() + self.settings.timeout
        dog = Watchdog(self.settings.timeout, self._alarms)
        current, status = url, 0
        try:
            for _ in range(self.settings.max_redirects + 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise late(self.settings.timeout, None, 0)
                timeout = httpx2.Timeout(left, connect=min(left, CONNECT_TIMEOUT))
                client = self._client(call.reach)
                request = client.build_request(
                    "GET",
                    current,
                    headers=call.headers_for(current, headers),
                    timeout=timeout,
                    extensions={"trace": dog.trace},
                )
                call.cookies.give(request)
                response = client.send(request, stream=True)
                try:
                    # Before anything else: a site that answers 307 to itself until its cookie
                    # comes back (South Korea's MOFA) gets it on the next hop.
                    call.cookies.take(response)
                    dog.watch(response.extensions.get("network_stream"))
                    status, location = response.status_code, response.headers.get("location")
                    if status in REDIRECTS and location:
                        try:
                            target = urljoin(current, location)
                        except ValueError:
                            reason = f"bad redirect (HTTP {status} to {location!r})"
                            raise Failure(
                                reason, "the site sent a broken Location", status
                            ) from None
                        if _origin(target) != _origin(current):
                            raise _Moved(target, status)
                        current = target
                        continue
                    check_status(response, self.settings.max_retry_after)
                    body = b""
                    if status != 304:
                        cap = self.settings.max_bytes
                        body = read_body(response, deadline, cap, self.settings.timeout)
                    if dog.fired:  # a body without a length ends at EOF, which the watchdog caused
                        raise late(self.settings.timeout, status, len(body))
                    out = {name.lower(): value for name, value in response.headers.items()}
                    return _Result(current, status, out, body)
                finally:
                    response.close()
            limit = self.settings.max_redirects
            reason = f"more than {limit} redirects (last: HTTP {status} to {current})"
            hint = "put the final URL in the config or raise fetch.max_redirects"
            raise Failure(reason, hint, status)
        except Blocked as exc:
            raise Failure(exc.refusal.reason, exc.refusal.hint, refused=True) from None
        except NoName as exc:
            hint = "check the host name in the URL (it is asked again at the next poll)"
            raise Failure(str(exc), hint, unresolved=True) from None
        except (httpx2.RequestError, httpx2.InvalidURL) as exc:
            if dog.fired or time.monotonic() >= deadline:
                raise late(self.settings.timeout, None, 0) from exc
            network = isinstance(exc, httpx2.TransportError)
            if isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL):
                network = False
            hint = "check the host name and port, and that the site is up"
            if not network:
                hint = "check the URL in the config"
            what = "connection" if network else "request"
            raise Failure(
                f"{what} failed ({type(exc).__name__}: {exc})", hint, retry=network
            ) from exc
        finally:
            dog.stop()
