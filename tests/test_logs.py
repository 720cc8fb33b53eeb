"""Log lines: JSON for machines, readable for people, and no secrets in URLs."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from monitor.logs import JsonLines, Readable
from monitor.redact import redact_url as redact


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("monitor.poll", logging.INFO, __file__, 1, "fetch", None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_json_line_carries_the_event_fields() -> None:
    line = json.loads(JsonLines().format(_record(event="fetch", status=200, url="http://x/a")))
    assert line["event"] == "fetch" and line["status"] == 200 and line["message"] == "fetch"
    assert line["level"] == "info" and line["time"].endswith("+00:00")


def test_a_readable_line_for_a_terminal() -> None:
    assert (
        Readable()
        .format(_record(event="fetch", status=304))
        .endswith("fetch event=fetch status=304")
    )


def test_urls_lose_credentials_before_they_are_logged() -> None:
    assert redact("https://user:pw@example.org:8443/feed?api_key=abc&q=비핵화#x") == (
        "https://example.org:8443/feed?api_key=%2A%2A%2A&q=%EB%B9%84%ED%95%B5%ED%99%94"
    )
    assert redact("http://[::1") == "<unparsable URL>"


def test_a_readable_exception_line_shows_escape_sequences_not_obeys_them() -> None:
    import logging

    from monitor.logs import Readable

    try:
        raise ValueError("server said \x1b]0;owned\x07 and \x1b[2J")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    line = Readable().format(record)
    assert "\x1b" not in line and "\x07" not in line
    assert "<U+001B>]0;owned<U+0007>" in line and "\n" in line  # the traceback keeps its lines


def test_a_readable_line_carries_its_time_zone() -> None:
    import logging
    import re

    from monitor.logs import Readable

    record = logging.LogRecord("t", logging.INFO, "", 0, "polled", None, None)
    assert re.match(r"\d\d:\d\d:\d\d [A-Za-z+\-0-9]+ info +polled", Readable().format(record))


def test_log_level_from_the_option_or_the_environment(tmp_path: Path) -> None:
    import subprocess

    from click.testing import CliRunner

    from monitor.cli import main
    from tests.conftest import SHIPPED

    ok = CliRunner(env={"MONITOR_LOG_LEVEL": "error"}).invoke(
        main, ["check", "--config", str(SHIPPED)]
    )
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(main, ["--log-level", "loud", "check", "--config", str(SHIPPED)])
    assert bad.exit_code == 2 and "'loud' is not one of" in bad.output
    # one-shot commands: warnings by default, only what --log-level asks for when given
    script = (
        "import logging, sys\n"
        "from monitor import logs\n"
        "from monitor.redact import NOTHING\n"
        "logs.to_stderr(NOTHING, sys.argv[1] if len(sys.argv) > 1 else None)\n"
        "logging.getLogger('t').info('an info line')\n"
        "logging.getLogger('t').warning('a warning line')\n"
    )

    def stderr(*level: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, *level], capture_output=True, text=True, check=True
        )
        return done.stderr

    assert "a warning line" in stderr() and "an info line" not in stderr()
    assert "an info line" in stderr("INFO")
    assert "a warning line" not in stderr("ERROR")
