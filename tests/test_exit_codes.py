"""`monitor once` exits 0 when nothing failed, 3 when some sources failed, 4 when every source
failed (and 1 for a config problem, 2 for a usage error), against a real local server: one
source answers, one answers 500, one is a closed port."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import EXIT_ALL_FAILED, EXIT_SOME_FAILED
from tests.conftest import shipped_concepts
from tests.servers import LocalServer, closed_port, respond

RSS = {"Content-Type": "application/rss+xml"}
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title><link>/</link>'
    b"<description>d</description><item><title>Extended deterrence talks</title>"
    b"<link>http://127.0.0.1/news/1</link><description>The NCG met.</description></item>"
    b"</channel></rss>"
)


def _config(tmp_path: Path, sources: dict[str, str], follow: str = "none") -> Path:
    listed = "".join(
        f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{url}"\nfollow = "{follow}"\n'
        for name, url in sources.items()
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[storage]\ndatabase = "{tmp_path / "m.db"}"\n'
        "[fetch]\ndelay = 0\nretries = 0\ntimeout = 10\n[extract]\nworkers = 1\n"
        f"{listed}{shipped_concepts()}",
        encoding="utf-8",
    )
    return path


def _once(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "once", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def site() -> LocalServer:
    with LocalServer() as server:
        server.route("/ok.xml", respond(200, FEED, RSS))
        server.route("/broken.xml", respond(500, b"it broke"))
        yield server


def _sources(site: LocalServer, *names: str) -> dict[str, str]:
    urls = {
        "ok": site.url("/ok.xml"),
        "broken": site.url("/broken.xml"),
        "closed": f"http://127.0.0.1:{closed_port()}/feed.xml",
    }
    return {name: urls[name] for name in names}


def test_every_source_polled_exits_0(tmp_path: Path, site: LocalServer) -> None:
    done = _once(_config(tmp_path, _sources(site, "ok")))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 sources: 1 fetched" in done.stdout and "0 errors" in done.stdout, done.stdout


def test_a_failed_article_is_listed_but_its_source_was_polled(
    tmp_path: Path, site: LocalServer
) -> None:
    """The feed was read; its article (here a 404) is retried at the next polls."""
    article = site.url("/news/gone.html")
    site.route(
        "/with-article.xml",
        respond(200, FEED.replace(b"http://127.0.0.1/news/1", article.encode()), RSS),
    )
    config = _config(tmp_path, {"ok": site.url("/with-article.xml")}, follow="all")
    done = _once(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 errors" in done.stdout and "gone.html: not found (HTTP 404)" in done.stdout


def test_some_sources_failed_exits_3_and_names_them(tmp_path: Path, site: LocalServer) -> None:
    done = _once(_config(tmp_path, _sources(site, "ok", "broken", "closed")))
    assert done.returncode == EXIT_SOME_FAILED == 3, done.stdout + done.stderr
    assert "3 sources (2 failed)" in done.stdout, done.stdout
    lines = done.stdout.splitlines()
    assert any(line.startswith("  broken: ") and "HTTP 500" in line for line in lines), lines
    assert any(line.startswith("  closed: ") and "connection failed" in line for line in lines)
    assert not any(line.startswith("  ok: ") for line in lines), lines


def test_every_source_failed_exits_4(tmp_path: Path, site: LocalServer) -> None:
    config = _config(tmp_path, _sources(site, "broken", "closed"))
    done = _once(config)
    assert done.returncode == EXIT_ALL_FAILED == 4, done.stdout + done.stderr
    assert "  broken: " in done.stdout and "  closed: " in done.stdout, done.stdout
    as_json = _once(config, "--json")
    assert as_json.returncode == 4, as_json.stdout + as_json.stderr
    assert '"failed_sources": [\n    "broken",\n    "closed"\n  ]' in as_json.stdout


def test_one_failing_source_of_the_named_ones_exits_4(tmp_path: Path, site: LocalServer) -> None:
    config = _config(tmp_path, _sources(site, "ok", "broken"))
    done = _once(config, "--source", "broken")
    assert done.returncode == 4, done.stdout + done.stderr
    assert _once(config, "--source", "ok").returncode == 0


def test_a_config_problem_exits_1_and_a_usage_error_2(tmp_path: Path, site: LocalServer) -> None:
    config = _config(tmp_path, _sources(site, "ok"))
    unknown = _once(config, "--source", "nope")
    assert unknown.returncode == 2, unknown.stderr
    assert "no source named 'nope'" in unknown.stderr and "known: ok" in unknown.stderr
    assert _once(config, "--no-such-option").returncode == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("[fetch]\ntimeout = 'soon'\n", encoding="utf-8")
    bad = _once(broken)
    assert bad.returncode == 1, bad.stderr
    assert "fetch.timeout" in bad.stderr, bad.stderr


def test_the_exit_statuses_are_in_the_help_and_the_readme() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "once", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for code in ("0", "1", "2", str(EXIT_SOME_FAILED), str(EXIT_ALL_FAILED)):
        assert re.search(rf"\n +{code}  [a-z]", done.stdout), done.stdout
        assert f"| `{code}` |" in readme, f"README.md's table of exit statuses lacks {code}"
