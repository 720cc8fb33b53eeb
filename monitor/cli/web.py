"""`monitor serve`: the read-only web view of the history (monitor/web/)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from monitor.cli.common import config_option, load_settings


@click.command()
@config_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; beyond loopback, $MONITOR_WEB_TOKEN or $MONITOR_WEB_USER and "
    "$MONITOR_WEB_PASSWORD must be set.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8470, show_default=True, help="Port (0: any)."
)
@click.option(
    "--check",
    is_flag=True,
    help="Check instead of serving: the bind, the credentials and the database, read as the "
    "pages read it; exit 0 when all is well (a container's health check).",
)
def serve(config_path: Path | None, host: str, port: int, check: bool) -> None:
    """Serve a read-only web view of the history: changes, a change's redline, documents,
    concept timelines, search, sources, and Atom feeds of changes and alerts.

    It opens the database read-only and makes no external request. Bound to loopback by
    default; on any other address every request needs the token (Authorization: Bearer, or
    ?token=) or the basic-auth login from the environment.

    \b
    Example: monitor serve --port 8470
    """
    from monitor.web import server

    settings = load_settings(config_path)
    if not settings.database.is_file():
        raise click.ClickException(
            f"{settings.database}: no database here; run `monitor once` (or `monitor demo`) "
            "first, or pass --db PATH (or set MONITOR_DB) to an existing one"
        )

    if check:
        server.check(settings, host, os.environ)
        click.echo(f"monitor: {settings.database} is ready to serve on {host}")
        return

    def listening(bound: int) -> None:
        click.echo(f"monitor: serving {settings.database} on http://{host}:{bound}/ (Ctrl-C stops)")

    server.serve(settings, host, port, os.environ, listening)
