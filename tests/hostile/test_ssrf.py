"""Server-side request forgery: a feed entry or a redirect that points monitor at an address
that is not public (loopback, private, link-local, cloud metadata, in any numeric spelling) is
refused and recorded, unless the address is the source's own or the config allows it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from monitor import store
from monitor.pipeline import poll
from tests.conftest import DEMO, MakeSettings, config_head, shipped_concepts
from tests.servers import LocalServer, deterrence_feed, feed_toml, respond

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
ARTICLE = (DEMO / "pages" / "whitehouse" / "2023-04-26-washington-declaration-2.html").read_bytes()
SECRET = (
    b"<html><body><p>AccessKeyId ASIA-SECRET-CREDENTIALS of the instance role</p></body></html>"
)
METADATA = (
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://0xa9fea9fe/latest/",
    "http://2852039166/latest/",
    "http://0251.0376.0251.0376/latest/",
    "http://169.254.43518/latest/",
    "http://[::ffff:169.254.169.254]/latest/",
)


def rows(db: Database, sql: str, *params: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(sql, params).fetchall()]


def documents(db: Database) -> dict[str, tuple[str, str | None]]:
    """link -> (kind, last_error) of every document."""
    return {
        link: (kind, error)
        for link, kind, error in rows(db, "SELECT link, kind, last_error FROM documents")
    }


@contextmanager
def _servers(*hosts: str) -> Iterator[list[LocalServer]]:
    """A local server on each of `hosts`, in that order, stopped together."""
    with ExitStack() as stack:
        yield [stack.enter_context(LocalServer(host)) for host in hosts]


def _serve_secret(server: LocalServer) -> None:
    """The page no source may reach, at /secret.html."""
    server.route("/secret.html", respond(200, SECRET, HTML))


def stored_text(db: Database) -> str:
    return "\n".join(t for (t,) in rows(db, "SELECT text FROM versions"))


def test_a_feed_on_loopback_may_not_link_to_another_loopback_address(
    make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    with _servers("127.0.0.1", "127.0.0.1", "127.0.0.3") as (source, sibling, other):
        _serve_secret(other)
        sibling.route("/a.html", respond(200, ARTICLE, HTML))
        # Numeric spellings of 127.0.0.3 that a C resolver accepts, and the IPv4-mapped form.
        spellings = [
            other.url("/secret.html"),
            f"http://0x7f000003:{other.port}/secret.html",
            f"http://2130706435:{other.port}/secret.html",
            f"http://0177.0.0.3:{other.port}/secret.html",
            f"http://127.3:{other.port}/secret.html",
            f"http://[::ffff:127.0.0.3]:{other.port}/secret.html",
        ]
        source.route(
            "/feed", respond(200, deterrence_feed(*spellings, sibling.url("/a.html")), RSS)
        )
        settings = make_settings(
            [{"name": "s", "kind": "feed", "url": source.url("/feed"), "follow": "all"}],
            retries=0,
        )
        with caplog.at_level(logging.INFO, "monitor"), store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert not other.requests, "nothing was sent to 127.0.0.3, not even robots.txt"
            docs = documents(db)
            # The source's own address, on another port, is its own: fetched.
            assert docs[sibling.url("/a.html")] == ("article", None)
            for link in spellings:
                kind, error = docs[link]
                assert kind == "entry", f"{link}: only the feed's own text is kept"
                assert error is not None and "127.0.0.3" in error, error
                assert "not a public address (" in error and "loopback)" in error
                assert "allow_internal" in error
            assert b"ASIA-SECRET" not in stored_text(db).encode()
            refused = rows(db, "SELECT url, error FROM fetches WHERE error LIKE 'refused:%'")
            assert len(refused) >= len(spellings)
        assert sum("127.0.0.3" in e and "allow_internal" in e for _, e in summary.errors) == len(
            spellings
        )
        logged = [r for r in caplog.records if "refused" in str(getattr(r, "error", ""))]
        assert len(logged) >= len(spellings), "each refusal is in the log"


@pytest.mark.parametrize("where", ["global", "source"])
def test_an_allowed_address_is_fetched(make_settings: MakeSettings, where: str) -> None:
    with LocalServer("127.0.0.1") as source, LocalServer("127.0.0.3") as other:
        other.route("/a.html", respond(200, ARTICLE, HTML))
        source.route("/feed", respond(200, deterrence_feed(other.url("/a.html")), RSS))
        entry: dict[str, Any] = {
            "name": "s",
            "kind": "feed",
            "url": source.url("/feed"),
            "follow": "all",
        }
        fetch: dict[str, Any] = {}
        if where == "global":
            fetch["allow_internal"] = ["127.0.0.3"]
        else:
            entry["allow_internal"] = ["127.0.0.0/24"]
        settings = make_settings([entry], retries=0, **fetch)
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert not summary.errors
            assert documents(db)[other.url("/a.html")] == ("article", None)
            assert other.hits("/a.html")


def test_a_source_allow_list_is_that_sources_only(make_settings: MakeSettings) -> None:
    """Two sources, one allowed 127.0.0.3: the other is refused it, in the same poll (its
    connection is never the allowed source's pooled one)."""
    with _servers("127.0.0.1", "127.0.0.2", "127.0.0.3") as (first, second, other):
        other.route("/a.html", respond(200, ARTICLE, HTML))
        other.route("/b.html", respond(200, SECRET, HTML))
        first.route("/feed", respond(200, deterrence_feed(other.url("/a.html")), RSS))
        second.route("/feed", respond(200, deterrence_feed(other.url("/b.html")), RSS))
        settings = make_settings(
            [
                {
                    "name": "allowed",
                    "kind": "feed",
                    "url": first.url("/feed"),
                    "follow": "all",
                    "allow_internal": ["127.0.0.3"],
                },
                {"name": "other", "kind": "feed", "url": second.url("/feed"), "follow": "all"},
            ],
            retries=0,
        )
        with store.open_db(settings.database) as db:
            poll(settings, db)
            docs = documents(db)
            assert docs[other.url("/a.html")] == ("article", None)
            kind, error = docs[other.url("/b.html")]
            assert kind == "entry" and error is not None and "127.0.0.3" in error
            assert not other.hits("/b.html")


def test_a_redirect_from_an_allowed_page_to_another_internal_address_is_refused(
    make_settings: MakeSettings,
) -> None:
    with _servers("127.0.0.1", "127.0.0.2", "127.0.0.3") as (source, allowed, internal):
        _serve_secret(internal)
        allowed.route("/a.html", respond(302, b"", {"Location": internal.url("/secret.html")}))
        hex_target = f"http://0x7f000003:{internal.port}/secret.html"
        allowed.route("/b.html", respond(301, b"", {"Location": hex_target}))
        source.route(
            "/feed",
            respond(200, deterrence_feed(allowed.url("/a.html"), allowed.url("/b.html")), RSS),
        )
        settings = make_settings(
            [
                {
                    "name": "s",
                    "kind": "feed",
                    "url": source.url("/feed"),
                    "follow": "all",
                    "allow_internal": ["127.0.0.2"],
                }
            ],
            retries=0,
        )
        with store.open_db(settings.database) as db:
            poll(settings, db)
            assert allowed.hits("/a.html") and allowed.hits("/b.html")
            assert not internal.requests
            docs = documents(db)
            for link in (allowed.url("/a.html"), allowed.url("/b.html")):
                kind, error = docs[link]
                assert kind == "entry" and error is not None
                assert "127.0.0.3" in error and "allow_internal" in error
            assert b"ASIA-SECRET" not in stored_text(db).encode()


def test_cloud_metadata_in_every_spelling_is_refused(make_settings: MakeSettings) -> None:
    with LocalServer("127.0.0.1") as source:
        source.route("/feed", respond(200, deterrence_feed(*METADATA), RSS))
        settings = make_settings(
            [{"name": "s", "kind": "feed", "url": source.url("/feed"), "follow": "all"}],
            retries=0,
            timeout=2,
        )
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            docs = documents(db)
            for link in METADATA:
                kind, error = docs[link]
                assert kind == "entry" and error is not None, link
                assert "cloud metadata" in error and "refused" in error, error
                assert "169.254.169.254" in error or "fd00:ec2::254" in error, error
            assert len(summary.errors) == len(METADATA)


# --- a DNS name that resolves to a private address ------------------------------------------------


def _namespace_problem() -> str | None:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return "needs Linux and unshare(1) for a private /etc/hosts"
    probe = subprocess.run(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            "mount --make-rprivate / && mount --bind /dev/null /etc/hosts",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return f"unshare --mount with a bind mount is not permitted here ({probe.stderr.strip()})"
    return None


def test_a_name_that_resolves_to_a_private_address_is_refused(tmp_path: Path) -> None:
    """`monitor once` runs in its own mount namespace with a test /etc/hosts in which
    intranet.test is 127.0.0.3 and alias.test is 127.0.0.1 (the source's own address): the
    resolver answers for real, and the check is made on its answer at connect time."""
    problem = _namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.3 intranet.test\n127.0.0.1 alias.test\n")
    with LocalServer("127.0.0.1") as source, LocalServer("127.0.0.3") as internal:
        _serve_secret(internal)
        source.route("/a.html", respond(200, ARTICLE, HTML))
        refused_link = f"http://intranet.test:{internal.port}/secret.html"
        own_link = f"http://alias.test:{source.port}/a.html"
        source.route("/feed", respond(200, deterrence_feed(refused_link, own_link), RSS))
        config = tmp_path / "monitor.toml"
        database = tmp_path / "m.db"
        config.write_text(
            f"""
{config_head(database, timeout=5)}{feed_toml("s", source.url("/feed"))}{shipped_concepts()}
""",
            encoding="utf-8",
        )
        monitor = Path(sys.executable).parent / "monitor"
        script = (
            'mount --make-rprivate / && mount --bind "$1" /etc/hosts && '
            'exec "$2" once --config "$3" --json'
        )
        done = subprocess.run(
            ["unshare", "--mount", "sh", "-c", script, "sh", str(hosts), str(monitor), str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert "Traceback" not in done.stderr, done.stderr
        result = json.loads(done.stdout)
        errors = [e["error"] for e in result["errors"]]
        assert len(errors) == 1 and "intranet.test resolves to 127.0.0.3" in errors[0], errors
        assert "allow_internal" in errors[0]
        assert not internal.requests
        assert source.hits("/a.html"), "alias.test is the source's own address"
        with store.open_db(database) as db:
            docs = documents(db)
            assert docs[refused_link][0] == "entry"
            assert docs[own_link] == ("article", None)
            assert b"ASIA-SECRET" not in stored_text(db).encode()


def test_a_url_typed_on_the_command_line_counts_as_configured(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import main

    config = tmp_path / "monitor.toml"
    config.write_text(f"[fetch]\ndelay = 0\nretries = 0\n{shipped_concepts()}", encoding="utf-8")
    with LocalServer("127.0.0.3") as typed, LocalServer("127.0.0.4") as internal:
        typed.route("/a.html", respond(200, ARTICLE, HTML))
        typed.route("/r.html", respond(302, b"", {"Location": internal.url("/secret.html")}))
        _serve_secret(internal)
        ok = CliRunner().invoke(
            main, ["compare", "--config", str(config), typed.url("/a.html"), typed.url("/a.html")]
        )
        assert ok.exit_code == 0, ok.output
        refused = CliRunner().invoke(
            main, ["compare", "--config", str(config), typed.url("/a.html"), typed.url("/r.html")]
        )
        assert refused.exit_code != 0 and "Traceback" not in refused.output
        assert "127.0.0.4" in refused.output and "allow_internal" in refused.output
        assert not internal.requests


def test_through_a_proxy_from_the_environment_the_target_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY is honoured; the proxy connects, so the target's addresses are checked
    before the request is handed to it."""
    from monitor.sources.fetch import Fetcher, FetchSettings, Refused

    with LocalServer("127.0.0.2") as proxy:
        proxy.route("http://8.8.8.8/x", respond(200, b"public, through the proxy"))
        proxy.route("http://localhost/x", respond(200, SECRET, HTML))
        proxy.route("http://10.1.2.3/x", respond(200, SECRET, HTML))
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.2:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with Fetcher(FetchSettings(user_agent="t", retries=0, delay=0)) as fetcher:
            source = "http://127.0.0.9/feed"  # numeric: no DNS asked for the own host
            assert fetcher.get("http://8.8.8.8/x", source_url=source).body.startswith(b"public")
            for url in ("http://localhost/x", "http://10.1.2.3/x"):
                with pytest.raises(Refused, match="allow_internal"):
                    fetcher.get(url, source_url=source)
        assert [r.path for r in proxy.requests] == ["http://8.8.8.8/x"]
