"""The web view over plain HTTP (httpx2 against the real uvicorn server on loopback): every
page, its headers, its errors, the credentials a non-loopback bind needs, the hostile history
shown inert, and the Atom feeds."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import quote

import feedparser
import httpx2
import pytest
from lxml import etree

from monitor import config
from monitor.errors import MonitorError
from monitor.web.security import CSP, Credentials, check_bind
from monitor.web.server import Running, running
from tests.web_history import HOSTILE_TITLE
from tests.web_history import history as history  # the module's fixture

PAGES = [
    "/changes",
    "/changes?concept=cvid",
    "/changes?status=dropped",
    "/changes?move=downgrade",
    "/changes?series=hostile",
    "/changes?from=2000-01-01&to=2100-01-01",
    "/changes?page=2",
    "/changes/1",
    "/documents/1",
    "/concepts/complete-denuclearization",
    "/concepts/complete-denuclearization?by=day&split=source",
    "/concepts/cvid?by=week&split=series",
    "/concepts/complete-denuclearization/mentions?by=month&period=2022-05",
    "/search?q=" + quote("비핵화"),
    "/search?q=" + quote('"extended deterrence"'),
    "/sources",
    "/watching",
    "/static/style.css",
    "/feeds/changes.atom",
    "/feeds/changes.atom?concept=cvid",
    "/feeds/changes.atom?series=hostile",
    "/feeds/alerts.atom",
]
SERVE = [sys.executable, "-m", "monitor", "serve"]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def server(history: config.Settings) -> Iterator[Running]:
    with running(history) as found:
        yield found


@pytest.fixture(scope="module")
def client(server: Running) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url, timeout=30) as http:
        yield http


def _strict(response: httpx2.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_with_strict_headers(client: httpx2.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    _strict(response)
    if response.headers["content-type"].startswith("text/html"):
        # no script anywhere, and nothing fetched from elsewhere
        assert "<script" not in response.text.lower()
        assert not re.search(
            r'(src|href)="(https?:)?//(?!127\.0\.0\.1)', response.text.split("<main>")[0]
        )


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/nowhere", 404, "/nowhere: no such page here"),
        ("/changes/999999", 404, "no change 999999 is stored"),
        ("/documents/999999", 404, "no document 999999 is stored"),
        ("/concepts/no-such-concept", 404, "no concept &#39;no-such-concept&#39; in the config"),
        ("/changes?concept=no-such", 400, "concept=&#39;no-such&#39; is not one of"),
        ("/changes?from=yesterday", 400, "is not a date: use YYYY-MM-DD"),
        ("/changes?page=0", 400, "give a whole number from 1"),
        ("/feeds/changes.atom?series=nope", 404, "no series &#39;nope&#39;"),
    ],
)
def test_errors_say_what_is_wrong(
    client: httpx2.Client, path: str, status: int, message: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    _strict(response)
    assert message in response.text


def test_the_changes_filters_narrow_the_list(client: httpx2.Client) -> None:
    everything = client.get("/changes").text
    hostile = client.get("/changes?series=hostile").text
    assert everything.count('class="change"') > hostile.count('class="change"') == 1
    assert client.get("/changes?from=2100-01-01").text.count('class="change"') == 0
    cvid = client.get("/changes?concept=cvid&status=dropped").text
    assert cvid.count('class="change"') >= 1 and "cvid" in cvid


def test_a_change_shows_both_sides_and_the_redline(client: httpx2.Client) -> None:
    page = client.get("/changes?series=hostile").text
    change_id = re.search(r'href="/changes/(\d+)"', page.split('class="change"')[1])
    assert change_id
    body = client.get(f"/changes/{change_id[1]}").text
    assert "Permalink" in body and f"/changes/{change_id[1]}" in body
    assert body.count('class="hash"') == 2
    assert "UTC" in body and "KST" in body
    assert "<h2>Evidence</h2>" in body and "<del>" in body and "<ins>" in body


def test_hostile_text_stays_inert(client: httpx2.Client) -> None:
    page = client.get("/changes?series=hostile").text
    change_id = re.search(r'href="/changes/(\d+)"', page.split('class="change"')[1])
    assert change_id
    for path in (f"/changes/{change_id[1]}", "/changes?series=hostile", "/watching"):
        body = client.get(path).text
        assert "<script" not in body and "<img" not in body and 'href="javascript:' not in body
        assert "\x1b" not in body and "\x07" not in body
    body = client.get(f"/changes/{change_id[1]}").text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in body or "&lt;script&gt;" in body
    assert "&lt;U+001B&gt;" in body  # the escape shown, as in every output
    title = client.get("/changes?series=hostile").text
    assert "&lt;U+202E&gt;" in title  # a title's bidi override shown, never obeyed


def test_only_web_addresses_become_links() -> None:
    from monitor.web.app import _link

    assert "<a " not in _link("javascript:alert(1)")
    assert "<a " not in _link("data:text/html,<script>alert(1)</script>")
    assert '<a href="https://example.org/a?b=1&amp;c=2"' in _link("https://example.org/a?b=1&c=2")


def _atom(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None, name
    datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "")  # an RFC 3339 date
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    for entry in root.iter(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{name}"), name
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "")
    ids = [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))
    return root


@pytest.mark.parametrize(
    "path", ["/feeds/changes.atom", "/feeds/changes.atom?series=hostile", "/feeds/alerts.atom"]
)
def test_the_feeds_are_atom_that_a_reader_parses(client: httpx2.Client, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = _atom(response.content)
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == len(root.findall(f"{ATOM}entry"))
    if "changes" in path:
        assert parsed.entries
        for entry in parsed.entries:
            assert re.search(r"/changes/\d+$", entry.link)


def test_the_hostile_feed_entry_is_text(client: httpx2.Client) -> None:
    parsed = feedparser.parse(client.get("/feeds/changes.atom?series=hostile").content)
    [entry] = parsed.entries
    assert "\x1b" not in entry.title and "<U+001B>" in entry.title
    assert HOSTILE_TITLE.split("<")[0].strip() in entry.title


def test_a_bind_beyond_loopback_needs_credentials() -> None:
    with pytest.raises(MonitorError, match="MONITOR_WEB_TOKEN"):
        check_bind("0.0.0.0", Credentials())
    with pytest.raises(MonitorError, match="MONITOR_WEB_PASSWORD"):
        Credentials.from_environment({"MONITOR_WEB_USER": "analyst"})
    check_bind("0.0.0.0", Credentials(token="x"))
    check_bind("127.0.0.1", Credentials())
    check_bind("::1", Credentials())


def test_serve_refuses_a_public_bind_without_credentials(history: config.Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    done = subprocess.run(
        [*SERVE, "--db", str(history.database), "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "MONITOR_WEB_TOKEN" in done.stderr and "MONITOR_WEB_USER" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_token_is_required_once_set(history: config.Settings) -> None:
    environ = {"MONITOR_WEB_TOKEN": "s3cret-token"}
    with running(history, environ=environ) as found, httpx2.Client(base_url=found.url) as http:
        refused = http.get("/changes")
        assert refused.status_code == 401
        _strict(refused)
        assert "Bearer" in refused.headers["www-authenticate"]
        assert "wording" not in refused.text
        assert http.get("/changes", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = http.get("/changes", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        assert http.get("/changes?token=s3cret-token").status_code == 200
        assert http.get("/feeds/changes.atom?token=nope").status_code == 401
    # ?token= once: the client keeps the cookie it is given, and is let in without the token
    with running(history, environ=environ) as found, httpx2.Client(base_url=found.url) as http:
        first = http.get("/changes?token=s3cret-token")
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "s3cret-token" not in cookie  # its digest
        again = http.get("/sources")
        assert again.status_code == 200 and "set-cookie" not in again.headers
        wrong = httpx2.get(found.url + "/sources", headers={"Cookie": "monitor_token=" + "0" * 64})
        assert wrong.status_code == 401  # a cookie not made from the token


def test_basic_auth_is_required_once_set(history: config.Settings) -> None:
    environ = {"MONITOR_WEB_USER": "analyst", "MONITOR_WEB_PASSWORD": "비밀 password"}
    with running(history, environ=environ) as found, httpx2.Client(base_url=found.url) as http:
        refused = http.get("/sources")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        wrong = base64.b64encode(b"analyst:guess").decode()
        assert http.get("/sources", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        assert http.get("/sources", headers={"Authorization": "Basic !!!"}).status_code == 401
        right = base64.b64encode("analyst:비밀 password".encode()).decode()
        assert http.get("/sources", headers={"Authorization": f"Basic {right}"}).status_code == 200


def test_the_serve_example_serves_until_stopped(history: config.Settings) -> None:
    """`monitor serve` as its help shows it (on any free port: another test run may hold
    8470), until SIGTERM, which ends it with status 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--db", str(history.database), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server says it listens
        found = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        response = httpx2.get(found[1] + "/changes", timeout=30)
        assert response.status_code == 200
        _strict(response)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
