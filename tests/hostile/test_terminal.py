"""Terminal injection and amplification through output: a feed, a page and a failing server on
loopback send escape sequences (clear screen, set title, OSC 8 links), BEL, C1 controls, a
right-to-left override and a 1 MB title. After real `monitor once` runs (click's CliRunner on
the real command, a real SQLite file, a real SMTP server and webhook on loopback), no command
prints any of them raw: each is shown as <U+XXXX>; the digest and the alerts built from the same
history are bounded in size and escaped."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from monitor.alerts.digest import window
from monitor.cli import main
from monitor.render import untrusted
from tests.conftest import config_head, shipped_concepts
from tests.mail import email_toml, free_port
from tests.servers import LocalServer, feed_toml, respond, sequence

ESCAPES = (
    "\x1b[2J\x1b[H"  # clear the screen, cursor home
    "\x1b]0;pwned\x07"  # set the window title, ended by BEL
    "\x1b]8;;http://evil.example/\x1b\\click here\x1b]8;;\x1b\\"  # an OSC 8 hyperlink
    " \x07 \x1b \u202eevil\u202c"  # BEL, a lone ESC, a right-to-left override
)
BIG = 1_000_000
# What a terminal would obey: C0 controls but tab and newline, DEL, C1, bidirectional controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
OUTPUT_CAP = 64_000  # characters: a digest, a mail, a webhook body; the 1 MB title made 1 MB


def _feed(base: str) -> bytes:
    entries = [
        (
            f"Seoul {ESCAPES} calls for complete denuclearization",
            "/entry.html",
            f"Summary {ESCAPES}: the complete denuclearization of North Korea stays the goal.",
        ),
        (
            "Huge complete denuclearization of North Korea " + "x" * BIG,
            "/huge.html",
            "A title of a megabyte about the complete denuclearization of North Korea.",
        ),
        (
            "북한 비핵화 🇰🇷 — 한미 정상 공동성명",
            "/korean.html",
            "한반도의 완전한 비핵화를 재확인했다.",
        ),
    ]
    items = "".join(
        f"<item><title>{t}</title><link>{base}{link}</link><description>{d}</description>"
        "<pubDate>Tue, 01 Dec 2026 00:00:00 GMT</pubDate></item>"
        for t, link, d in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>feed {ESCAPES}</title><link>{base}/</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


def _page(sentence: str) -> bytes:
    # lxml drops C0 controls from HTML; C1 controls and bidirectional controls come through.
    hostile = "\x9b2J \x9d0;pwned\x9c \u202eevil\u202c"
    return (
        f"<html><head><title>Statement {hostile} {'y' * 100_000}</title></head><body><article>"
        f"<h1>Statement {hostile}</h1><p>{sentence} {hostile}.</p>"
        "<p>The two leaders met in Seoul and spoke at length about the alliance and trade, "
        "about the economy, and about the region.</p></article></body></html>"
    ).encode()


CVID = "The leaders called for the complete, verifiable and irreversible denuclearization of North Korea"
COMPLETE = "The leaders called for the complete denuclearization of North Korea"


def _hostile_reason(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
    """A 500 whose reason phrase (quoted in the error) carries a set-title sequence and BEL."""
    request.wfile.write(
        b"HTTP/1.1 500 Oops \x1b]0;pwned\x07 \x1b[2J\r\nContent-Length: 4\r\n"
        b"Content-Type: text/plain\r\n\r\ndown"
    )


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.content, parsed))
        return "250 OK"


@dataclass
class Polled:
    config: str
    site: LocalServer
    once: list[str]
    inbox: _Inbox
    hooks: list[bytes] = field(default_factory=list)


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polled]:
    tmp = tmp_path_factory.mktemp("terminal")
    inbox = _Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    receiver = HTTPServer(host="127.0.0.1")
    receiver.expect_request("/hook", method="POST").respond_with_data("ok")
    receiver.start()
    try:
        with LocalServer() as site:
            base = site.url("/").rstrip("/")
            site.route(
                "/feed.xml", respond(200, _feed(base), {"Content-Type": "application/rss+xml"})
            )
            html = {"Content-Type": "text/html; charset=utf-8"}
            site.route(
                "/page.html",
                sequence(respond(200, _page(CVID), html), respond(200, _page(COMPLETE), html)),
            )
            site.route("/down.xml", _hostile_reason)
            config = tmp / "monitor.toml"
            config.write_text(
                shipped_concepts()
                + f"""
{config_head(tmp / "m.db")}{email_toml(port, timeout=5, sender=True)}[[webhooks]]
name = "hook"
url = "{receiver.url_for("/hook")}"
[alerts]
retry_seconds = 0
[[alerts.rules]]
name = "every-article"
event = "article"
channels = ["email", "hook"]
[[alerts.rules]]
name = "every-change"
event = "change"
channels = ["email", "hook"]
[digest]
send_empty = false
{feed_toml("hostile-feed", site.url("/feed.xml"), "none")}[[sources]]
name = "hostile-page"
kind = "page"
url = "{site.url("/page.html")}"
{feed_toml("hostile-server", site.url("/down.xml"), None)}""",
                encoding="utf-8",
            )
            # hostile-server answers 500: some sources failed (exit 3)
            once = [run("once", "--config", str(config), code=3) for _ in range(2)]
            hooks = [request.get_data() for request, _ in receiver.log]
            yield Polled(str(config), site, once, inbox, hooks)
    finally:
        smtp.stop()
        receiver.stop()


def assert_inert(output: str) -> None:
    found = RAW.search(output)
    assert found is None, (
        f"raw {found.group()!r} at {found.start()}: {output[max(0, found.start() - 60) : found.start() + 60]!r}"
    )


# ---- the terminal --------------------------------------------------------------------------------


def test_once_shows_a_servers_escape_sequences_in_its_error(polled: Polled) -> None:
    for output in polled.once:
        assert_inert(output)
        assert "Oops <U+001B>]0;pwned<U+0007> <U+001B>[2J" in output


def _commands(polled: Polled) -> dict[str, list[str]]:
    entry, page = polled.site.url("/entry.html"), polled.site.url("/page.html")
    return {
        "show-entry": ["show", entry],
        "show-page": ["show", page],
        "search": ["search", "denuclearization"],
        "search-json": ["search", "denuclearization", "--json"],
        "sources": ["sources"],
        "changes": ["changes"],
        "timeline": ["timeline", "complete-denuclearization", "--split"],
    }


# What each command must show visibly (it prints that piece of fetched text).
SHOWN = {
    "show-entry": [
        "<U+001B>[2J<U+001B>[H",
        "<U+001B>]0;pwned<U+0007>",
        "<U+001B>]8;;http://evil.example/<U+001B>\\click here",
        "<U+202E>evil<U+202C>",
    ],
    "show-page": ["<U+009B>2J <U+009D>0;pwned<U+009C> <U+202E>evil<U+202C>"],
    "search": ["<U+001B>]0;pwned<U+0007>", "<U+202E>evil<U+202C>", "<U+009B>2J"],
    "search-json": ["\\u001b]0;pwned\\u0007", "\\u202eevil\\u202c", "\\u009b2J"],
    "sources": ["Oops <U+001B>]0;pwned<U+0007>"],
    "changes": ["Statement <U+009B>2J <U+009D>0;pwned<U+009C> <U+202E>evil<U+202C>"],
    "timeline": ["hostile-feed", "hostile-page"],
}


@pytest.mark.parametrize("command", sorted(SHOWN))
def test_commands_show_controls_instead_of_obeying_them(polled: Polled, command: str) -> None:
    output = run(*_commands(polled)[command], "--config", polled.config)
    assert_inert(output)
    if "--json" not in _commands(polled)[command]:  # JSON is data for scripts: not capped
        assert len(output) < OUTPUT_CAP  # the page's title is 100,000 characters long
    for piece in SHOWN[command]:
        assert piece in output
    assert "북한 비핵화" in run("search", "비핵화", "--config", polled.config)


def test_a_megabyte_title_is_capped_on_the_terminal(polled: Polled) -> None:
    found = run("search", "megabyte", "--config", polled.config)
    assert "Huge complete denuclearization" in found
    assert len(found) < 3 * untrusted.TITLE_CHARS + untrusted.SENTENCE_CHARS
    shown = run("show", polled.site.url("/huge.html"), "--config", polled.config)
    assert len(shown.split("\n", 1)[0]) <= untrusted.TITLE_CHARS


def test_korean_emoji_and_white_space_pass_unchanged(polled: Polled) -> None:
    shown = run("show", polled.site.url("/korean.html"), "--config", polled.config)
    assert shown.startswith("북한 비핵화 🇰🇷 — 한미 정상 공동성명\n")
    assert "한반도의 완전한 비핵화를 재확인했다." in shown


def test_compare_shows_controls_and_caps_titles(tmp_path: Path) -> None:
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    title = "Statement \u202eevil\u202c " + "z" * 100_000  # YAML allows no C0 or C1 controls
    old.write_text(f'---\ntitle: "{title}"\n---\n{CVID} {ESCAPES}.\n', encoding="utf-8")
    new.write_text(f'---\ntitle: "{title}"\n---\n{COMPLETE} {ESCAPES}.\n', encoding="utf-8")
    output = run("compare", str(old), str(new), "--no-color")
    assert_inert(output)
    assert len(output) < OUTPUT_CAP
    assert "<U+001B>]0;pwned<U+0007>" in output and "<U+202E>evil<U+202C>" in output


# ---- the digest and the alerts -------------------------------------------------------------------


def _digest_day(polled: Polled) -> str:
    zone = ZoneInfo("Asia/Seoul")
    now = datetime.now(UTC)
    for day in (now.astimezone(zone).date() + timedelta(days=n) for n in (0, 1)):
        start, end = window(day, "07:00", "Asia/Seoul")
        if start <= now < end:
            return day.isoformat()
    raise AssertionError("no digest window holds now")


def test_the_digest_is_bounded_and_escaped(polled: Polled, tmp_path: Path) -> None:
    day = _digest_day(polled)
    text = run("digest", "--date", day, "--config", polled.config)
    out = tmp_path / "digest.html"
    run("digest", "--date", day, "--out", str(out), "--config", polled.config)
    html = out.read_text(encoding="utf-8")
    eml = tmp_path / "digest.eml"
    run("digest", "--date", day, "--out", str(eml), "--config", polled.config)
    mail = eml.read_bytes()
    assert "Huge complete denuclearization" in text and "Huge complete denuclearization" in html
    assert len(text) < OUTPUT_CAP and len(html) < OUTPUT_CAP and len(mail) < 3 * OUTPUT_CAP
    assert_inert(text)
    assert_inert(html)
    assert "<U+001B>]0;pwned<U+0007>" in text and "<U+202E>evil<U+202C>" in text
    tree = lxml.html.document_fromstring(html)
    assert "<U+001B>]0;pwned<U+0007>" in tree.text_content()
    assert not tree.xpath("//script|//img|//iframe")
    assert all(a.get("href", "").startswith("http://127.0.0.1") for a in tree.iter("a"))
    subject = email.message_from_bytes(mail, policy=email.policy.default)["Subject"]
    assert len(subject) <= untrusted.SUBJECT_CHARS and not RAW.search(subject)


def test_alert_mails_and_webhooks_are_bounded_and_escaped(polled: Polled) -> None:
    subjects = [parsed["Subject"] for _, parsed in polled.inbox.messages]
    assert any(s.startswith("New: Huge complete denuclearization") for s in subjects), subjects
    assert any("<U+202E>evil<U+202C>" in s for s in subjects), subjects
    assert any(s.startswith("CVID dropped: Statement") for s in subjects), subjects
    for raw, parsed in polled.inbox.messages:
        assert len(raw) < 3 * OUTPUT_CAP
        subject = parsed["Subject"]
        assert len(subject) <= untrusted.SUBJECT_CHARS and not RAW.search(subject), subject
        for part in parsed.walk():
            if part.get_content_maintype() == "text":
                body = part.get_content().replace("\r\n", "\n")
                assert len(body) < OUTPUT_CAP
                assert_inert(body)
                if part.get_content_subtype() == "html":
                    tree = lxml.html.document_fromstring(body)
                    assert not tree.xpath("//script|//img|//iframe")
    assert len(polled.hooks) == len(polled.inbox.messages)
    for body in polled.hooks:
        assert len(body) < OUTPUT_CAP
        payload = json.loads(body)
        assert len(payload["subject"]) <= untrusted.SUBJECT_CHARS
        assert len(payload.get("title") or "") <= untrusted.TITLE_CHARS


# ---- the rule itself -----------------------------------------------------------------------------


def _unsafe(ch: str, lines: bool) -> bool:
    """Independent of the module: what a terminal must never get raw."""
    if ch == "\t" or (lines and ch == "\n"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI or ch in "\u2028\u2029"


@given(st.text(), st.booleans())
def test_terminal_output_never_holds_a_control_or_bidi_character(text: str, lines: bool) -> None:
    shown = untrusted.terminal(text, lines=lines)
    assert not any(_unsafe(ch, lines) for ch in shown)


@given(
    st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs")).filter(
            lambda c: c not in BIDI and c not in "\u2028\u2029"
        )
    ),
    st.booleans(),
)
def test_terminal_is_the_identity_on_text_without_one(text: str, lines: bool) -> None:
    assert untrusted.terminal(text, lines=lines) == text


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_caps_hold_and_never_cut_a_marker(text: str, limit: int) -> None:
    for shown in (untrusted.terminal(text, limit), untrusted.one_line(text, limit)):
        assert len(shown) <= limit
        assert not re.search(r"<U\+[0-9A-F]{0,3}…$", shown)
        assert not any(_unsafe(ch, False) for ch in shown)
    subject = untrusted.subject_line(text)
    assert len(subject) <= untrusted.SUBJECT_CHARS and "\r" not in subject and "\n" not in subject
    escaped = untrusted.html_text(text, limit)
    assert not any(_unsafe(ch, True) for ch in escaped) and "<" not in escaped


@settings(max_examples=50)
@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_json_text_is_the_same_value_with_nothing_raw(value: Any) -> None:
    text = untrusted.json_text(value, indent=2)
    assert json.loads(text) == value
    assert not any(_unsafe(ch, True) for ch in text)


def test_terminal_shows_each_kind_visibly() -> None:
    assert untrusted.terminal(ESCAPES) == (
        "<U+001B>[2J<U+001B>[H<U+001B>]0;pwned<U+0007>"
        "<U+001B>]8;;http://evil.example/<U+001B>\\click here<U+001B>]8;;<U+001B>\\"
        " <U+0007> <U+001B> <U+202E>evil<U+202C>"
    )
    assert (
        untrusted.terminal("a\x9b31mb\x7f\u2066c\u200f") == "a<U+009B>31mb<U+007F><U+2066>c<U+200F>"
    )
    assert untrusted.terminal("one\r\ntwo\rthree\nfour") == "one two three four"
    assert untrusted.terminal("one\r\ntwo\x0bthree", lines=True) == "one\ntwo<U+000B>three"
    assert untrusted.terminal("x" * 10 + "\x1b", 12) == "x" * 10 + "…"
