"""What a fetch sends besides its URL, against real servers on loopback: the cookies a site sets
during one fetch (kept across its redirects, sent back to that host only, forgotten after it),
and a source's own `user_agent` and `headers` (South Korea's MOFA feed answers 307 to itself
until its cookie comes back; the State Department answers 403 to a non-browser agent)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import FetchError
from monitor.sources.fetch import Fetcher, FetchSettings
from tests.hostile.helpers import count, poll_here, write_config
from tests.servers import Handler, LocalServer, Recorded, respond

UA = "monitor-test/0.1 (+https://example.invalid/monitor)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
    b"<description>d</description></channel></rss>"
)
RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = b"<html><body><p>North Korea's complete denuclearization remains the goal.</p></body></html>"


def make(**overrides: Any) -> Fetcher:
    options: dict[str, Any] = {"timeout": 5.0, "retries": 0, "delay": 0.0, **overrides}
    return Fetcher(FetchSettings(user_agent=UA, **options))


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make() as f:
        yield f


def header(record: Recorded, name: str) -> str | None:
    """A request header as the server received it, whatever the case of its name."""
    return next((v for k, v in record.headers.items() if k.lower() == name.lower()), None)


def cookie_wall(name: str = "visit", value: str = "1", body: bytes = FEED) -> Handler:
    """Like www.mofa.go.kr's feed: 307 to itself with Set-Cookie until the cookie comes back."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        cookies = [c.strip() for c in (request.headers.get("Cookie") or "").split(";")]
        if f"{name}={value}" in cookies:
            respond(200, body, RSS if body is FEED else HTML)(request, stopping)
        else:
            extra = {"Location": request.path, "Set-Cookie": f"{name}={value}; Path=/; HttpOnly"}
            respond(307, b"", extra)(request, stopping)

    return handler


def demanding(agent: str, **headers: str) -> Handler:
    """Like www.state.gov: 403 unless the request carries this User-Agent and these headers."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        wanted = {"User-Agent": agent, **headers}
        if all(request.headers.get(k) == v for k, v in wanted.items()):
            respond(200, FEED, RSS)(request, stopping)
        else:
            respond(403, b"Access Denied")(request, stopping)

    return handler


# --- cookies -------------------------------------------------------------------------------------


def test_a_cookie_set_on_a_307_to_itself_comes_back_on_the_next_hop(fetcher: Fetcher) -> None:
    with LocalServer() as server:
        server.route("/rss.do", cookie_wall())
        response = fetcher.get(server.url("/rss.do?brdId=235"))
        first, second = server.hits("/rss.do")
    assert response.status == 200 and response.body == FEED
    assert header(first, "Cookie") is None and header(second, "Cookie") == "visit=1"
    assert [a.status for a in response.attempts] == [200]  # one attempt, its redirect inside


def test_cookies_live_for_one_fetch_only(fetcher: Fetcher) -> None:
    # The Fetcher is shared by every source: a cookie kept after a fetch would reach the next
    # fetch, of another source, too.
    with LocalServer() as server:
        server.route("/rss.do", cookie_wall())
        server.route("/set", respond(200, b"ok", {"Set-Cookie": "session=abc; Path=/"}))
        server.route("/other", respond(200, b"ok"))
        fetcher.get(server.url("/rss.do"))
        fetcher.get(server.url("/rss.do"))
        fetcher.get(server.url("/set"))
        fetcher.get(server.url("/other"))
        walls = server.hits("/rss.do")
        [other] = server.hits("/other")
    assert [header(r, "Cookie") for r in walls] == [None, "visit=1", None, "visit=1"]
    assert header(other, "Cookie") is None


def test_a_cookie_goes_back_only_to_the_host_that_set_it() -> None:
    with (
        make(allow_internal=("127.0.0.3",)) as fetcher,
        LocalServer("127.0.0.2") as home,
        LocalServer("127.0.0.3") as away,
    ):
        home.route("/start", respond(302, b"", {"Location": away.url("/hop"), "Set-Cookie": "a=1"}))
        # A cookie for a wider domain than the host that sets it is not taken at all.
        moved = {"Location": home.url("/end"), "Set-Cookie": "b=2; Domain=127.0.0.2"}
        away.route("/hop", respond(302, b"", moved))
        home.route("/end", respond(200, b"done"))
        response = fetcher.get(home.url("/start"))
        [hop], [end] = away.hits("/hop"), home.hits("/end")
    assert response.body == b"done" and response.final_url == home.url("/end")
    assert header(hop, "Cookie") is None
    assert header(end, "Cookie") == "a=1"


def test_a_source_behind_a_cookie_redirect_is_polled(tmp_path: Path) -> None:
    with LocalServer() as server:
        server.route("/press.html", cookie_wall(body=PAGE))
        config = write_config(
            tmp_path, [{"name": "mofa", "kind": "page", "url": server.url("/press.html")}]
        )
        summary = poll_here(config)
        hits = server.hits("/press.html")
    assert not summary.errors and summary.new_documents == 1
    assert [header(r, "Cookie") for r in hits] == [None, "visit=1"]
    assert count(config, "SELECT COUNT(*) FROM versions") == 1


# --- a source's User-Agent and headers -----------------------------------------------------------


def test_a_source_user_agent_gets_past_a_403_the_default_meets(fetcher: Fetcher) -> None:
    with LocalServer() as server:
        server.route("/feed", demanding(BROWSER))
        with pytest.raises(FetchError) as refused:
            fetcher.get(server.url("/feed"))
        response = fetcher.get(server.url("/feed"), user_agent=BROWSER)
        plain, disguised = server.hits("/feed")
    assert refused.value.status == 403 and "access denied" in refused.value.reason
    assert response.status == 200
    assert header(plain, "User-Agent") == UA and header(disguised, "User-Agent") == BROWSER


def test_a_source_header_replaces_monitors_own_and_validators_stay(fetcher: Fetcher) -> None:
    with LocalServer() as server:
        server.route("/feed", respond(200, FEED, RSS))
        fetcher.get(
            server.url("/feed"),
            accept="application/rss+xml",
            etag='"v1"',
            headers={"accept": "application/xml", "Accept-Language": "ko-KR"},
        )
        [sent] = server.hits("/feed")
    accepts = [v for k, v in sent.headers.items() if k.lower() == "accept"]
    assert accepts == ["application/xml"]
    assert header(sent, "Accept-Language") == "ko-KR" and header(sent, "If-None-Match") == '"v1"'


def test_a_source_header_goes_to_its_own_host_only_its_agent_everywhere() -> None:
    with (
        make(allow_internal=("127.0.0.3",)) as fetcher,
        LocalServer("127.0.0.2") as home,
        LocalServer("127.0.0.3") as away,
    ):
        home.route("/feed", respond(302, b"", {"Location": away.url("/feed")}))
        away.route("/feed", respond(200, FEED, RSS))
        away.route("/robots.txt", respond(200, b"User-agent: *\nAllow: /\n"))
        away.route("/article", respond(200, PAGE, HTML))
        options: dict[str, Any] = {
            "source_url": home.url("/feed"),
            "headers": {"X-Desk": "korea"},
            "user_agent": BROWSER,
        }
        fetcher.get(home.url("/feed"), **options)
        fetcher.get(away.url("/article"), robots=True, **options)  # an article on another host
        [first], [moved] = home.hits("/feed"), away.hits("/feed")
        [robots], [article] = away.hits("/robots.txt"), away.hits("/article")
    assert header(first, "X-Desk") == "korea" and header(first, "User-Agent") == BROWSER
    assert header(moved, "X-Desk") is None and header(moved, "User-Agent") == BROWSER
    assert header(article, "X-Desk") is None and header(article, "User-Agent") == BROWSER
    # robots.txt is cached for every source: read as monitor, and obeyed as monitor.
    assert header(robots, "User-Agent") == UA and header(robots, "X-Desk") is None


def test_a_configured_cookie_is_sent_with_those_the_site_sets(fetcher: Fetcher) -> None:
    with LocalServer() as server:
        server.route("/rss.do", cookie_wall())
        fetcher.get(server.url("/rss.do"), headers={"Cookie": "consent=yes"})
        first, second = server.hits("/rss.do")
    assert header(first, "Cookie") == "consent=yes"
    assert header(second, "Cookie") == "consent=yes; visit=1"


def test_a_configured_agent_and_header_reach_the_site_through_a_poll(tmp_path: Path) -> None:
    with LocalServer() as server:
        server.route("/feed", demanding(BROWSER, **{"Accept-Language": "en-US"}))
        browser = {"name": "browser", "kind": "feed", "url": server.url("/feed?as=browser")}
        config = write_config(
            tmp_path,
            [
                {"name": "plain", "kind": "feed", "url": server.url("/feed")},
                {**browser, "user_agent": BROWSER},
            ],
        )
        with config.open("a", encoding="utf-8") as toml:  # the last source's table
            toml.write('headers = { "Accept-Language" = "en-US" }\n')
        summary = poll_here(config)
    errors = dict(summary.errors)
    assert set(errors) == {"plain"} and "access denied (HTTP 403)" in errors["plain"]
