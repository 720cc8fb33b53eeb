"""`monitor run` in a child process, for the service and kill tests: its config, its start, and
the database's integrity after it ends."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import config_head, shipped_concepts
from tests.mail import MailServer
from tests.processes import Marker
from tests.servers import LocalServer, feed_toml

ROOT = Path(__file__).parent.parent


def service_config(tmp_path: Path, server: LocalServer, mail: MailServer | None = None) -> Path:
    """A config for `monitor run` polling the demo site's two feeds every 3 s, mail to `mail`."""
    email = (
        f'[email]\nhost = "127.0.0.1"\nport = {mail.port}\nsecurity = "none"\n'
        'to = ["analyst@example.org"]\ntimeout = 3\n'
        if mail
        else ""
    )
    config = tmp_path / "monitor.toml"
    config.write_text(
        shipped_concepts()
        + f"""
{config_head(tmp_path / "m.db", workers=None)}[schedule]
interval_minutes = 0.05
[service]
heartbeat_seconds = 1
jitter_seconds = 0
deliver_seconds = 1
[alerts]
max_age_days = 0
retry_seconds = 0
[digest]
send_empty = false
{email}
{feed_toml("whitehouse", server.url("/feeds/whitehouse-korea.xml"))}{feed_toml("korean", server.url("/feeds/korean-policy.xml"))}""",
        encoding="utf-8",
    )
    return config


def monitor_child(
    command: str, config: Path, mark: Marker | None
) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment of `monitor COMMAND --config CONFIG` in a child process:
    none of the caller's MONITOR_ variables, and `mark` (inherited by its children) if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    args = [sys.executable, "-m", "monitor", command, "--config", str(config)]
    return args, env | (mark.env if mark else {})


def start_service(config: Path, mark: Marker | None = None) -> subprocess.Popen[str]:
    """`monitor run` in a child process; `mark` goes into its environment (and its children's)."""
    args, env = monitor_child("run", config, mark)
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
