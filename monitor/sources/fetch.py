"""The only HTTP client of monitor: polite, bounded GETs with retries, robots.txt, conditional GET.

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

import contextlib
import dataclasses
import http.cookiejar
import ipaddress
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, Self
from urllib.parse import urljoin, urlsplit

import httpcore2
import httpx2
from protego import Protego

from monitor.errors import FetchError
from monitor.models import Attempt, Response
from monitor.sources.reach import Address, Reach, Refusal, numeric_host

MAX_BACKOFF = 60.0  # seconds; the exponential backoff never waits longer
MAX_CRAWL_DELAY = 60.0  # a larger robots.txt Crawl-delay is shortened to this
CONNECT_TIMEOUT = 10.0  # a connect that takes longer is retried (within the total deadline)
ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 300.0  # an unreadable robots.txt is asked for again after this long
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


@dataclass
class _Failure(Exception):
    """One attempt failed; `retry` says whether another attempt may help, `wait` how long first."""

    reason: str
    hint: str
    status: int | None = None
    retry: bool = False
    wait: float | None = None
    nbytes: int = 0
    refused: bool = False
    unresolved: bool = False  # the host name does not resolve: final for this poll


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


class _NoName(Exception):
    """Raised by the network backend: the host name did not resolve (final for the poll)."""

    def __init__(self, host: str, error: socket.gaierror) -> None:
        super().__init__(f"{host} does not resolve ({error.strerror or error})")
        self.host = host


Resolver = Callable[[str, int], list[Address]]


class _Blocked(Exception):
    """Raised by the network backend: no address of the host may be connected to."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


def _resolve(host: str, port: int = 0) -> list[Address]:
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


class _GuardedBackend(httpcore2.SyncBackend):
    """Resolves each host once, checks every address against a Reach, and connects only to a
    checked address (TLS SNI and the Host header keep the name: httpcore sets them)."""

    def __init__(self, reach: Reach, resolve: Resolver = _resolve) -> None:
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
            raise _NoName(host, exc) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(exc) from exc
        allowed: list[Address] = []
        refused: list[Refusal] = []
        for address in resolved:
            refusal = self.reach.refusal(host, address, _addresses_of)
            if refusal is None:
                allowed.append(address)
            else:
                refused.append(refusal)
        if refused and not allowed:
            raise _Blocked(refused[0])
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


class _GuardedTransport(httpx2.HTTPTransport):
    """httpx2's transport over a connection pool that uses `_GuardedBackend`."""

    def __init__(self, reach: Reach, ssl_context: Any, resolve: Resolver = _resolve) -> None:
        super().__init__(verify=ssl_context)
        # HTTPTransport takes no network backend: replace the pool it built (no sockets yet).
        self._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(reach, resolve),
        )


class _ProxiedTransport(httpx2.BaseTransport):
    """A transport through a proxy from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY):
    the proxy connects, so the target is checked here, on the addresses it resolves to locally
    (every one must be allowed); a name that does not resolve here is left to the proxy."""

    def __init__(self, reach: Reach, proxied: httpx2.HTTPTransport) -> None:
        self.reach = reach
        self.proxied = proxied

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        try:
            addresses = _resolve(host)
        except OSError:
            addresses = []
        for address in addresses:
            refusal = self.reach.refusal(host, address, _addresses_of)
            if refusal is not None:
                raise _Blocked(refusal)
        return self.proxied.handle_request(request)

    def close(self) -> None:
        self.proxied.close()


def _proxy_mounts(reach: Reach, ssl_context: Any) -> dict[str, httpx2.BaseTransport | None]:
    """The proxies the environment sets, as httpx2 reads them (NO_PROXY patterns map to None:
    the direct, guarded transport)."""
    from httpx2._utils import get_environment_proxies  # the Client's own reading of them

    return {
        pattern: None
        if proxy is None
        else _ProxiedTransport(reach, httpx2.HTTPTransport(verify=ssl_context, proxy=proxy))
        for pattern, proxy in get_environment_proxies().items()
    }


class _KeepNone(http.cookiejar.DefaultCookiePolicy):
    """The policy of the shared clients' jars: they keep no cookie (each fetch has `_Cookies`)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class _Cookies:
    """The cookies set during one fetch, one jar per host: a cookie goes back only to the host
    that set it (a Domain attribute does not widen that), within this fetch only."""

    def __init__(self) -> None:
        self._jars: dict[str, httpx2.Cookies] = {}

    def take(self, response: httpx2.Response) -> None:
        if "set-cookie" in response.headers:
            host = response.request.url.host
            self._jars.setdefault(host, httpx2.Cookies()).extract_cookies(response)

    def give(self, request: httpx2.Request) -> None:
        """Add this host's cookies to `request`, after any Cookie header the config set."""
        jar = self._jars.get(request.url.host)
        if not jar:
            return
        configured = request.headers.pop("cookie", None)
        jar.set_cookie_header(request)
        kept = request.headers.pop("cookie", None)
        value = "; ".join(part for part in (configured, kept) if part)
        if value:
            request.headers["Cookie"] = value


@dataclass
class _Call:
    """What one `get` sends besides its URL: the source's User-Agent (to every host), its own
    headers (to its own host, `home`, only) and the cookies set during the fetch."""

    reach: Reach
    user_agent: str | None = None  # None: the client's, [fetch].user_agent
    dns: DnsFailures | None = None  # the poll's names that did not resolve
    headers: Mapping[str, str] = field(default_factory=dict)
    home: str | None = None
    cookies: _Cookies = field(default_factory=_Cookies)

    def headers_for(self, url: str, base: Mapping[str, str]) -> httpx2.Headers:
        sent = httpx2.Headers(base)
        if self.user_agent:
            sent["User-Agent"] = self.user_agent
        if self.headers and (urlsplit(url).hostname or "") == self.home:
            for name, value in self.headers.items():
                sent[name] = value  # replaces monitor's own (Accept), whatever the case
        return sent


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


@dataclass
class _Robots:
    parser: Protego | None  # None: everything allowed
    error: str | None  # set when robots.txt could not be read: nothing allowed for now
    until: float


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_end: float = float("-inf")
    crawl_delay: float = 0.0
    robots: dict[str, _Robots] = field(default_factory=dict)  # by scheme://host:port


class _Watchdog:
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
                _shutdown(stream)

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self.fired = True
                _shutdown(self._stream)

    def stop(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shutdown(stream: Any) -> None:
    sock = None if stream is None else stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain fd, even under TLS


def _addresses_of(name: str) -> list[Address]:
    """The addresses of a configured host name, asked only when a non-public address is met
    (none when it does not resolve)."""
    try:
        return _resolve(name)
    except OSError:
        return []


def _kind(exc: FetchError) -> type[FetchError]:
    """The class a FetchError is raised again as, by the callers that add their attempts."""
    return type(exc) if isinstance(exc, Refused | Unresolved) else FetchError


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    if value.strip().isascii() and value.strip().isdigit():  # "²" is a digit to str.isdigit
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Fetcher:
    """Thread-safe: share one Fetcher between all worker threads."""

    def __init__(self, settings: FetchSettings, resolve: Resolver = _resolve) -> None:
        """`resolve` looks up a host's addresses (tests count its calls)."""
        self.settings = settings
        self._resolve = resolve
        self._ssl = httpx2.create_ssl_context()
        # One client per Reach, so that a connection one source may make is never reused by
        # another that may not (the pool reuses connections without connecting again).
        self._clients: dict[Reach, httpx2.Client] = {}
        self._clients_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, settings.concurrency))
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client(self, reach: Reach) -> httpx2.Client:
        with self._clients_lock:
            client = self._clients.get(reach)
            if client is None:
                client = self._clients[reach] = httpx2.Client(
                    headers={"User-Agent": self.settings.user_agent},
                    cookies=http.cookiejar.CookieJar(policy=_KeepNone()),
                    transport=_GuardedTransport(reach, self._ssl, self._resolve),
                    mounts=_proxy_mounts(reach, self._ssl),
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
        call = _Call(reach, user_agent, dns, headers or {}, configured)
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
                kind = _kind(exc)
                raise kind(url, exc.reason, exc.status, (*done, *exc.attempts)) from exc
            return dataclasses.replace(response, url=url, attempts=(*done, *response.attempts))
        limit = self.settings.max_redirects
        reason = f"more than {limit} redirects (last to {current}); put the final URL in the config"
        raise FetchError(url, reason, attempts=tuple(done))

    def _get_one(
        self, url: str, headers: dict[str, str], gap: float, robots: bool, call: _Call
    ) -> Response:
        """GET within one origin, holding that host's turn; redirects elsewhere raise _Moved."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "not an http(s) URL; fix it in the config")
        number = numeric_host(parts.hostname)
        refusal = (
            None if number is None else call.reach.refusal(parts.hostname, number, _addresses_of)
        )
        if refusal is not None:
            # A numeric host in any spelling (0xa9fea9fe, 0251.0376.0251.0376) is refused
            # before any request; the connect-time check covers names.
            attempt = Attempt(url, datetime.now(UTC), None, 0, 0.0, refusal.reason)
            raise Refused(url, str(refusal), attempts=(attempt,))
        with self._hosts_lock:
            host = self._hosts.setdefault(parts.hostname, _Host())
        with host.lock:
            early: list[Attempt] = []
            if robots:
                self._check_robots(url, host, gap, early, call)
            try:
                response = self._fetch(url, headers, host, gap, call)
            except FetchError as exc:
                kind = _kind(exc)
                raise kind(url, exc.reason, exc.status, (*early, *exc.attempts)) from exc
            except _Moved as moved:
                raise _Moved(moved.target, moved.status, (*early, *moved.attempts)) from None
        return dataclasses.replace(response, attempts=(*early, *response.attempts))

    def _check_robots(
        self, url: str, host: _Host, gap: float, attempts: list[Attempt], call: _Call
    ) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        entry = host.robots.get(origin)
        if entry is None or entry.until < time.monotonic():
            entry = host.robots[origin] = self._load_robots(origin, host, gap, attempts, call)
        reason = None
        if entry.error is not None:
            reason = f"robots.txt unavailable ({entry.error}); {parts.netloc} is skipped for now"
        elif entry.parser is not None and not entry.parser.can_fetch(url, self.settings.user_agent):
            reason = f"disallowed by robots.txt of {parts.netloc}; drop this page from the config"
        if reason is not None:
            raise FetchError(url, reason, attempts=tuple(attempts))

    def _load_robots(
        self, origin: str, host: _Host, gap: float, out: list[Attempt], call: _Call
    ) -> _Robots:
        now = time.monotonic()
        try:
            # As monitor itself, with no source's headers and cookies of its own: robots.txt
            # is cached for every source.
            robots = _Call(call.reach, dns=call.dns)
            response = self._fetch(f"{origin}/robots.txt", {}, host, gap, robots)
        except (Refused, Unresolved) as exc:
            # Not remembered: another source may be allowed this address; a name may resolve
            # at the next poll. The page fails for that reason, not for want of a robots.txt.
            raise _kind(exc)(exc.url, exc.reason, exc.status, (*out, *exc.attempts)) from None
        except FetchError as exc:
            out.extend(exc.attempts)
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return _Robots(None, None, now + ROBOTS_TTL)  # no robots.txt: all allowed
            last = exc.attempts[-1].error if exc.attempts else None
            return _Robots(None, last or exc.reason, now + ROBOTS_RETRY)
        out.extend(response.attempts)
        parser = Protego.parse(response.body.decode("utf-8", errors="replace"))
        crawl_delay = parser.crawl_delay(self.settings.user_agent)
        if crawl_delay:
            host.crawl_delay = max(host.crawl_delay, min(float(crawl_delay), MAX_CRAWL_DELAY))
        return _Robots(parser, None, now + ROBOTS_TTL)

    def _fetch(
        self, url: str, headers: dict[str, str], host: _Host, gap: float, call: _Call
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
            except _Failure as failure:
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
                time.sleep(self._backoff(retried, failure.wait))
                continue
            host.last_end = end = time.monotonic()
            attempts.append(Attempt(url, started, result.status, len(result.body), end - t0))
            return Response(url, *result, end - first, tuple(attempts))
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, retried: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + random.uniform(0.0, 0.1)
        base = min(self.settings.backoff * 2.0**retried, MAX_BACKOFF)
        return base + random.uniform(0.0, 0.1 * base)

    def _attempt(self, url: str, headers: dict[str, str], call: _Call) -> _Result:
        """One attempt: follow redirects and read the body, all within one total deadline."""
        deadline = time.monotonic() + self.settings.timeout
        dog = _Watchdog(self.settings.timeout)
        current, status = url, 0
        try:
            for _ in range(self.settings.max_redirects + 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._late(None, 0)
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
                            raise _Failure(
                                reason, "the site sent a broken Location", status
                            ) from None
                        if _origin(target) != _origin(current):
                            raise _Moved(target, status)
                        current = target
                        continue
                    self._check_status(response)
                    body = self._read(response, deadline) if status != 304 else b""
                    if dog.fired:  # a body without a length ends at EOF, which the watchdog caused
                        raise self._late(status, len(body))
                    out = {name.lower(): value for name, value in response.headers.items()}
                    return _Result(current, status, out, body)
                finally:
                    response.close()
            limit = self.settings.max_redirects
            reason = f"more than {limit} redirects (last: HTTP {status} to {current})"
            hint = "put the final URL in the config or raise fetch.max_redirects"
            raise _Failure(reason, hint, status)
        except _Blocked as exc:
            raise _Failure(exc.refusal.reason, exc.refusal.hint, refused=True) from None
        except _NoName as exc:
            hint = "check the host name in the URL (it is asked again at the next poll)"
            raise _Failure(str(exc), hint, unresolved=True) from None
        except (httpx2.RequestError, httpx2.InvalidURL) as exc:
            if dog.fired or time.monotonic() >= deadline:
                raise self._late(None, 0) from exc
            network = isinstance(exc, httpx2.TransportError)
            if isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL):
                network = False
            hint = "check the host name and port, and that the site is up"
            if not network:
                hint = "check the URL in the config"
            what = "connection" if network else "request"
            raise _Failure(
                f"{what} failed ({type(exc).__name__}: {exc})", hint, retry=network
            ) from exc
        finally:
            dog.stop()

    def _late(self, status: int | None, received: int) -> _Failure:
        reason = f"no complete response within {self.settings.timeout:g} s"
        if received:
            reason += f" ({received} bytes received)"
        return _Failure(reason, "raise fetch.timeout if the site is slow", status, nbytes=received)

    def _check_status(self, response: httpx2.Response) -> None:
        status = response.status_code
        if 200 <= status < 300 or status == 304:
            return
        what = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status == 429 or status >= 500:
            wait = _retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > self.settings.max_retry_after:
                most = self.settings.max_retry_after
                reason = (
                    f"{what} with Retry-After {wait:.0f} s, over fetch.max_retry_after {most:g}"
                )
                raise _Failure(reason, "it will be tried again on the next poll", status)
            kind = "too many requests" if status == 429 else "server error"
            hint = "the site is busy or failing; it will be tried again on the next poll"
            raise _Failure(f"{kind} ({what})", hint, status, retry=True, wait=wait)
        reason, hint = {
            404: ("not found", "check the URL in the config"),
            410: ("gone", "remove this URL from the config"),
            401: ("access denied", "check the URL, or ask the site to let monitor in"),
            403: ("access denied", "check the URL, or ask the site to let monitor in"),
        }.get(status, ("unexpected response", "check the URL in the config"))
        raise _Failure(f"{reason} (HTTP {status})", hint, status)

    def _read(self, response: httpx2.Response, deadline: float) -> bytes:
        cap, status = self.settings.max_bytes, response.status_code
        too_big = f"response larger than {cap} bytes"
        hint = "raise fetch.max_bytes or drop this source from the config"
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise _Failure(f"{too_big} (Content-Length: {length})", hint, status)
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            received += len(chunk)
            if received > cap:
                raise _Failure(too_big, hint, status, nbytes=received)
            if time.monotonic() > deadline:
                raise self._late(status, received)
        return b"".join(chunks)
