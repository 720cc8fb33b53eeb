"""The web view in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium;
Playwright never downloads one) against the server on the demo history with its hostile
series. Every page loads without a console error or an outside request, the filters work, the
chart has bars that lead to their documents, hostile text never runs, and the feeds parse."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import feedparser
import pytest

from monitor import config
from monitor.web.server import Running, running
from tests.web_history import history as history  # the module's fixture

CHROMIUM = Path("/usr/bin/chromium")
PAGES = [
    "/changes",
    "/changes?series=hostile",
    "/changes/1",
    "/documents/1",
    "/concepts/complete-denuclearization",
    "/concepts/complete-denuclearization?by=day&split=source",
    "/concepts/cvid?split=series",
    "/concepts/complete-denuclearization/mentions?by=month&period=2022-05",
    "/search?q=" + quote("비핵화"),
    "/sources",
    "/watching",
    "/nowhere",
]


def _chromium() -> Path:
    """Debian's chromium; without it the browser tests are skipped, except in CI, where they
    must run (.ci/run installs it)."""
    if CHROMIUM.is_file():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return Path(found)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI is set but no chromium at {CHROMIUM}: .ci/run installs it with apt")
    pytest.skip(
        f"no chromium at {CHROMIUM} (apt-get install chromium); set CI=true to fail instead"
    )


@pytest.fixture(scope="module")
def server(history: config.Settings) -> Iterator[Running]:
    with running(history) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page with everything the browser reported: console errors, page errors, dialogs
    (which would mean a script ran) and requests for anything not on the server."""

    def __init__(self, browser: object, server: Running, width: int = 1280) -> None:
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": 900}, java_script_enabled=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        origin = urlsplit(server.url).netloc
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: object) -> None:
            self.dialogs.append(d.message)  # type: ignore[attr-defined]
            d.dismiss()  # type: ignore[attr-defined]

        self.page.on("dialog", dialog)

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if urlsplit(url).netloc == origin:
                r.continue_()  # type: ignore[attr-defined]
            else:
                self.outside.append(url)
                r.abort()  # type: ignore[attr-defined]

        self.page.route("**/*", route)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: object, server: Running) -> Iterator[Watched]:
    found = Watched(browser, server)
    yield found
    found.close()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_cleanly(watched: Watched, server: Running, path: str) -> None:
    response = watched.page.goto(server.url + path)
    assert response is not None
    assert response.status == (404 if path == "/nowhere" else 200)
    # the stylesheet applied (a CSP refusal would leave the default serif font)
    family = watched.page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Noto Sans KR" in family
    assert watched.page.evaluate("document.scripts.length") == 0
    # the browser reports a 404 page's own status as a console error, and nothing else may be
    errors = [e for e in watched.errors if not (path == "/nowhere" and "status of 404" in e)]
    assert errors == [] and watched.dialogs == [] and watched.outside == []


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/nowhere"])
def test_every_page_reads_on_a_phone(browser: object, server: Running, path: str) -> None:
    phone = Watched(browser, server, width=375)
    try:
        phone.page.goto(server.url + path)
        wide = phone.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 375, f"{path} is {wide} px wide on a 375 px phone"
        assert phone.errors == []
    finally:
        phone.close()


def test_the_filters_work(watched: Watched, server: Running) -> None:
    page = watched.page
    page.goto(server.url + "/changes")
    everything = page.locator("li.change").count()
    assert everything >= 2
    page.select_option("select[name=series]", "hostile")
    with page.expect_navigation():
        page.click("form.filters button")
    assert "series=hostile" in page.url
    assert page.locator("li.change").count() == 1
    page.select_option("select[name=series]", "")
    page.fill("input[name=from]", "2100-01-01")
    with page.expect_navigation():
        page.click("form.filters button")
    assert page.locator("li.change").count() == 0
    assert watched.errors == []


def test_the_chart_has_bars_that_lead_to_documents(watched: Watched, server: Running) -> None:
    page = watched.page
    page.goto(server.url + "/concepts/complete-denuclearization?by=month")
    bars = page.locator("svg.chart rect.bar")
    assert bars.count() > 0
    heights = [
        float(h)
        for h in page.eval_on_selector_all(
            "svg.chart rect.bar", "rs => rs.map(r => r.getAttribute('height'))"
        )
    ]
    assert any(h > 0 for h in heights)
    box = page.locator("svg.chart a rect.bar").first.bounding_box()
    assert box is not None and box["height"] > 0
    with page.expect_navigation():
        page.locator("svg.chart a").first.click()
    assert "/mentions?" in page.url
    assert page.locator("ul.mentions li").count() >= 1
    with page.expect_navigation():
        page.locator("ul.mentions li a").first.click()
    assert re.search(r"/documents/\d+$", page.url)
    assert watched.errors == []


def test_hostile_documents_stay_inert(watched: Watched, server: Running) -> None:
    page = watched.page
    page.goto(server.url + "/changes?series=hostile")
    with page.expect_navigation():
        page.locator("li.change a.title").first.click()
    text = page.inner_text("main")
    assert "<script>alert(" in text  # shown as text
    assert "<U+001B>" in text
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("main img").count() == 0
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h and h.strip().lower().startswith("javascript:")]
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
        ".filter(a => a.name.startsWith('on')).map(a => a.name))"
    )
    assert handlers == []
    # the document page and its diff of the two hostile versions alike
    with page.expect_navigation():
        page.locator("table.sides a").last.click()
    assert page.evaluate("document.scripts.length") == 0
    assert watched.dialogs == [] and watched.errors == [] and watched.outside == []


def test_the_feeds_parse_in_a_reader(watched: Watched, server: Running) -> None:
    for path in ("/feeds/changes.atom", "/feeds/alerts.atom", "/feeds/changes.atom?concept=cvid"):
        response = watched.page.request.get(server.url + path)
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(response.body())
        assert parsed.bozo == 0 and parsed.version == "atom10"


def test_a_token_given_once_opens_every_link_and_filter(
    browser: object, history: config.Settings
) -> None:
    """Beyond loopback a reader opens the address with ?token= once; the links, the filter form
    and the permalinks then work without it, and no address on the page carries the token."""
    with running(history, environ={"MONITOR_WEB_TOKEN": "tok-3n-once"}) as found:
        watched = Watched(browser, found)
        try:
            page = watched.page
            assert page.goto(found.url + "/changes").status == 401  # type: ignore[union-attr]
            assert page.goto(found.url + "/changes?token=tok-3n-once").status == 200  # type: ignore[union-attr]
            assert "tok-3n-once" not in page.content()
            with page.expect_navigation():
                page.locator("li.change a").first.click()
            assert "token" not in page.url and page.locator("h1.verdict").count() == 1
            page.goto(found.url + "/changes")
            page.select_option("select[name=series]", "hostile")
            with page.expect_navigation():
                page.click("form.filters button")
            assert page.locator("li.change").count() == 1
            cookies = watched.context.cookies()  # type: ignore[attr-defined]
            assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
                ("monitor_token", True, "Strict")
            ]
            assert cookies[0]["value"] != "tok-3n-once"  # a digest, not the token
            assert watched.errors == [] or all("401" in e for e in watched.errors)
        finally:
            watched.close()
