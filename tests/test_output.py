"""What the commands print: under a real pseudo-terminal, `once` prints each failure once and
never on the progress bar's line; $NO_COLOR turns colour off; the plain summary and --json carry
the same numbers; --json on check, health, digest, add and init."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.demo_run import demo_root, serve
from tests.conftest import config_head, shipped_concepts
from tests.servers import LocalServer, closed_port, feed_toml, respond

ROOT = Path(__file__).parent.parent
PAGES = ROOT / "monitor" / "demo" / "pages" / "whitehouse"
STATEMENT_2021 = PAGES / "2021-05-21-u-s-rok-leaders-joint-statement.html"
STATEMENT_2022 = PAGES / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html"
DEADLINE = 120.0  # seconds a command may take here; they take a few
COLOUR = re.compile(rb"\x1b\[[0-9;]*m")
BAR = b"fetches and extractions"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.pop("NO_COLOR", None)
    return {**env, **extra}


def _monitor(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def on_terminal(
    args: list[str], env: dict[str, str], *, stdout_too: bool = True
) -> tuple[bytes, bytes, int]:
    """Run `args` with stderr (and stdout, unless not `stdout_too`) on a new pseudo-terminal;
    the bytes the terminal got, stdout's bytes when it was a pipe, and the exit status."""
    master, slave = os.openpty()
    try:
        with subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=slave if stdout_too else subprocess.PIPE,
            stderr=slave,
            env=env,
            cwd=ROOT,
        ) as child:
            os.close(slave)
            seen = bytearray()
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1.0)
                if not ready:
                    if child.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every holder of the terminal's other side is gone
                    break
                if not chunk:
                    break
                seen += chunk
            else:
                child.kill()
                pytest.fail(f"{args} still running after {DEADLINE} s: {bytes(seen)!r}")
            piped = child.stdout.read() if child.stdout is not None else b""
            code = child.wait(timeout=DEADLINE)
    finally:
        os.close(master)
    return bytes(seen), piped, code


def _config(tmp_path: Path, base: str, broken: str, closed: str, database: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
{config_head(database, timeout=10)}[[sources]]
name = "whitehouse-korea"
kind = "feed"
url = "{base}/feeds/whitehouse-korea.xml"
follow = "all"
{feed_toml("broken", broken, None)}[[sources]]
name = "closed"
kind = "page"
url = "{closed}"
[[series]]
id = "us-rok-joint-statements"
title = "U.S.-ROK leaders' joint statements"
[series.rule]
source = "whitehouse-korea"
title = "(?i)(U\\\\.S\\\\.?[-–]ROK|Republic of Korea).*(Joint Statement|Leaders)"
{shipped_concepts()}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Path]:
    """A config with the demo's White House feed (a series: one wording change), a feed that
    answers 500 and a page on a closed port."""
    with serve(demo_root()) as base, LocalServer() as site:
        site.route("/broken.xml", respond(500, b"it broke"))
        closed = f"http://127.0.0.1:{closed_port()}/page.html"
        yield _config(tmp_path, base, site.url("/broken.xml"), closed, tmp_path / "m.db")


def test_once_on_a_terminal_prints_each_failure_once_never_on_the_bar(setup: Path) -> None:
    seen, _, code = on_terminal(_monitor("once", "--config", str(setup)), _env())
    assert code == 3, seen
    assert BAR in seen, "the progress bar is drawn on a terminal"
    failures = [b"broken.xml: server error (HTTP 500", b"page.html: connection failed"]
    for failure in failures:
        assert seen.count(failure) == 1, (failure, seen)
    for line in seen.split(b"\n"):
        if BAR in line:
            assert not any(f in line for f in failures), line
            assert b"warning" not in line.lower() and b"error" not in line.lower(), line
    assert not COLOUR.search(seen), "once uses no colour"


def test_once_with_stdout_piped_prints_each_failure_once(setup: Path) -> None:
    seen, piped, code = on_terminal(
        _monitor("once", "--config", str(setup)), _env(), stdout_too=False
    )
    assert code == 3, seen + piped
    failure = b"broken.xml: server error (HTTP 500"
    assert (seen + piped).count(failure) == 1, (seen, piped)
    assert piped.count(failure) == 1, "the summary, on stdout, lists it"


def _numbers(plain: str) -> dict[str, int]:
    """The numbers of the plain summary line, by their words."""
    line = next(line for line in plain.splitlines() if " sources" in line)
    head, rest = line.split(": ", 1)
    found = {"sources": int(head.split()[0])}
    failed = re.search(r"\((\d+) failed\)", head)
    found["failed"] = int(failed.group(1)) if failed else 0
    for part in rest.split(", "):
        number, words = part.split(" ", 1)
        found[words] = int(number)
    return found


def test_the_plain_summary_and_json_carry_the_same_numbers(setup: Path, tmp_path: Path) -> None:
    plain = subprocess.run(
        _monitor("once", "--config", str(setup)),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=_env(),
        cwd=ROOT,
    )
    shown = subprocess.run(
        _monitor("once", "--config", str(setup), "--db", str(tmp_path / "other.db"), "--json"),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=_env(),
        cwd=ROOT,
    )
    assert plain.returncode == shown.returncode == 3, plain.stderr + shown.stderr
    numbers = _numbers(plain.stdout)
    data = json.loads(shown.stdout)
    assert numbers == {
        "sources": data["sources"],
        "failed": len(data["failed_sources"]),
        "fetched": data["fetched"],
        "not modified": data["not_modified"],
        "unchanged": data["unchanged"],
        "new documents": data["new_documents"],
        "new versions": data["new_versions"],
        "mentions": data["mentions"],
        "wording changes": data["changes"],
        "errors": len(data["errors"]),
    }, (plain.stdout, data)
    assert data["changes"] == len(data["wording_changes"]) >= 1, data
    assert sorted(data["failed_sources"]) == ["broken", "closed"]
    listed = [line for line in plain.stdout.splitlines() if line.startswith("  changed (")]
    assert len(listed) == data["changes"], plain.stdout
    for change in data["wording_changes"]:
        assert set(change) == {"url", "title", "source", "kind", "significance", "verdict"}
        assert change["verdict"] in plain.stdout and change["url"] in plain.stdout
        assert f"({change['kind']}, {change['significance']:.2f}): {change['title']}" in (
            plain.stdout
        )


def test_no_color_turns_the_highlights_off_on_a_terminal() -> None:
    args = _monitor("compare", str(STATEMENT_2021), str(STATEMENT_2022))
    coloured, _, code = on_terminal(args, _env())
    assert code == 0, coloured
    assert COLOUR.search(coloured), "on a terminal, compare colours its highlights"
    plain, _, code = on_terminal(args, _env(NO_COLOR="1"))
    assert code == 0 and b"[-" in plain, plain  # the highlights are there, as brackets
    assert not COLOUR.search(plain), "NO_COLOR=1: no colour"
    empty, _, _ = on_terminal(args, _env(NO_COLOR=""))
    assert COLOUR.search(empty), "an empty NO_COLOR is not set (no-color.org)"
    asked, _, _ = on_terminal([*args, "--color"], _env(NO_COLOR="1"))
    assert COLOUR.search(asked), "--color wins over NO_COLOR"


def test_no_color_once_prints_no_escape_on_a_terminal(setup: Path) -> None:
    seen, _, _ = on_terminal(_monitor("once", "--config", str(setup)), _env(NO_COLOR="1"))
    assert BAR in seen and not COLOUR.search(seen), seen


def _json(*args: str, code: int = 0) -> object:
    done = subprocess.run(
        _monitor(*args), capture_output=True, text=True, timeout=DEADLINE, env=_env(), cwd=ROOT
    )
    assert done.returncode == code, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_init_and_check_json(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "monitor.toml"
    database = tmp_path / "m.db"
    made = _json("init", "--config", str(config), "--db", str(database), "--json")
    assert made == {"config": str(config), "written": True, "database": str(database)}
    kept = _json("init", "--config", str(config), "--db", str(database), "--json")
    assert kept == {"config": str(config), "written": False, "database": str(database)}
    checked = _json("check", "--config", str(config), "--db", str(database), "--json")
    assert isinstance(checked, dict) and checked["ok"] is True and checked["problems"] == []
    assert checked["config"] == str(config) and checked["database"] == str(database)
    assert len(checked["sources"]) == 31 and "cvid" in checked["concepts"]
    assert set(checked["sources"][0]) == {"name", "kind", "url", "enabled"}
    bad = tmp_path / "bad.toml"
    bad.write_text("[fetch]\ntimeout = -1\nretries = 'x'\n", encoding="utf-8")
    failed = _json("check", "--config", str(bad), "--json", code=1)
    assert isinstance(failed, dict) and failed["ok"] is False
    assert len(failed["problems"]) == 2, failed
    assert any("fetch.timeout" in p for p in failed["problems"]), failed


def test_health_json_keeps_its_exit_code(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    database = tmp_path / "m.db"
    _json("init", "--config", str(config), "--db", str(database), "--json")
    shown = _json("health", "--config", str(config), "--db", str(database), "--json", code=1)
    assert isinstance(shown, dict) and shown["status"] == "unhealthy"
    assert len(shown["reasons"]) == 1 and "no heartbeat yet" in shown["reasons"][0], shown


def test_digest_json_after_a_poll(setup: Path, tmp_path: Path) -> None:
    subprocess.run(
        _monitor("once", "--config", str(setup)), capture_output=True, timeout=DEADLINE, env=_env()
    )
    preview = _json("digest", "--config", str(setup), "--json")
    assert isinstance(preview, dict)
    assert set(preview) >= {"date", "window", "timezone", "changes", "articles", "subject", "text"}
    assert preview["changes"] >= 1 and preview["articles"] >= 1, preview
    assert preview["window"]["start"] < preview["window"]["end"]
    out = tmp_path / "digest.html"
    written = _json("digest", "--config", str(setup), "--out", str(out), "--json")
    assert isinstance(written, dict) and written["written"] == str(out) and out.exists()
    assert written["changes"] == preview["changes"]


def test_add_json(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    shipped = (ROOT / "config" / "monitor.toml").read_text(encoding="utf-8")
    config.write_text(
        shipped + '\n[[series]]\nid = "us-rok"\ntitle = "t"\nmembers = []\n[series.rule]\n'
        'source = "local"\ntitle = "."\n',
        encoding="utf-8",
    )
    common = ["--config", str(config), "--db", str(tmp_path / "m.db"), "--series", "us-rok"]
    first = _json("add", str(STATEMENT_2021), *common, "--date", "2021-05-21", "--json")
    assert isinstance(first, dict) and first["new_document"] and first["new_version"]
    assert first["versions"] == 1 and isinstance(first["version"], int)
    assert first["changes"] == 0 and first["wording_changes"] == [] and first["mentions"] > 0
    second = _json("add", str(STATEMENT_2022), *common, "--date", "2022-05-21", "--json")
    assert isinstance(second, dict) and second["changes"] == len(second["wording_changes"]) == 1
    assert second["wording_changes"][0]["kind"] == "succession", second
    again = _json("add", str(STATEMENT_2022), *common, "--date", "2022-05-21", "--json")
    assert isinstance(again, dict) and again["new_version"] is False
    assert again["version"] == second["version"] and again["series"] == "us-rok"
