"""What one fetch sends besides its URL: the source's User-Agent and headers, and the cookies a
site sets during that fetch (kept for it alone: the shared clients keep none).
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2

from monitor.sources.reach import Reach
from monitor.sources.transport import DnsFailures


class KeepNone(http.cookiejar.DefaultCookiePolicy):
    """The policy of the shared clients' jars: they keep no cookie (each fetch has `Cookies`)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class Cookies:
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
class Call:
    """What one `get` sends besides its URL: the source's User-Agent (to every host), its own
    headers (to its own host, `home`, only) and the cookies set during the fetch."""

    reach: Reach
    user_agent: str | None = None  # None: the client's, [fetch].user_agent
    dns: DnsFailures | None = None  # the poll's names that did not resolve
    headers: Mapping[str, str] = field(default_factory=dict)
    home: str | None = None
    cookies: Cookies = field(default_factory=Cookies)

    def headers_for(self, url: str, base: Mapping[str, str]) -> httpx2.Headers:
        sent = httpx2.Headers(base)
        if self.user_agent:
            sent["User-Agent"] = self.user_agent
        if self.headers and (urlsplit(url).hostname or "") == self.home:
            for name, value in self.headers.items():
                sent[name] = value  # replaces monitor's own (Accept), whatever the case
        return sent
