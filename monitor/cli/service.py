"""Commands that set up and run the service: init, check, demo, once, run and health."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.common import (
    config_option,
    json_option,
    load_basics,
    load_settings,
    log_level,
    open_database,
    print_json,
)
from monitor.errors import MonitorError
from monitor.render import untrusted

# Only what --help needs is imported here: each command imports the config, the store and the
# extraction stack when it runs (tests/test_startup.py), so `monitor --help`, `search`, `show`
# and `health` start without trafilatura, PDFium, httpx2 or APScheduler.
if TYPE_CHECKING:
    from monitor.pipeline import Summary


@click.command()
@config_option
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@json_option
def init(config_path: Path | None, force: bool, as_json: bool) -> None:
    """Write the commented example config and create the database.

    \b
    Example: monitor init --config ~/monitor/monitor.toml
    """
    from monitor import config, store

    path = config.config_path(config_path)
    written = force or not path.exists()
    if not written:
        lines = [f"{path} exists; keeping it (use --force to overwrite)"]
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config.shipped_config_text(), encoding="utf-8")
        lines = [f"wrote {path}"]
    settings = load_settings(path)
    with open_database(settings.basics()) as db:
        store.check_writable(db)
    if as_json:
        print_json({"config": str(path), "written": written, "database": str(settings.database)})
        return
    for line in [*lines, f"database ready: {settings.database}"]:
        click.echo(line)


@click.command()
@config_option
@json_option
def check(config_path: Path | None, as_json: bool) -> None:
    """Validate the config and report every problem with its key and a fix.

    \b
    Example: monitor check --config config/monitor.toml
    """
    from monitor import config
    from monitor.analysis.prepare import matcher
    from monitor.errors import ConfigError
    from monitor.redact import Redactor

    origin = config.SHIPPED if config.uses_shipped(config_path) else config.config_path(config_path)
    try:
        settings = load_settings(config_path)
        matcher(settings.lexicon())
    except (click.ClickException, MonitorError) as exc:
        if not as_json:
            raise
        cause = exc.__cause__ if isinstance(exc, click.ClickException) else exc
        problems = cause.problems if isinstance(cause, ConfigError) else (str(cause or exc),)
        print_json({"config": str(origin), "ok": False, "problems": list(problems)})
        sys.exit(1)
    if as_json:
        redactor = Redactor.from_settings(settings)
        print_json(
            {
                "config": str(origin),
                "ok": True,
                "sources": [
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "url": redactor.url(s.url),
                        "enabled": s.enabled,
                    }
                    for s in settings.sources
                ],
                "concepts": list(settings.concepts),
                "ladders": list(settings.ladders),
                "database": str(settings.database),
                "problems": [],
            }
        )
        return
    click.echo(
        f"{origin}: ok: {len(settings.sources)} sources, "
        f"{len(settings.concepts)} concepts, {len(settings.ladders)} ladders; "
        f"database {settings.database}"
    )


# The exit statuses of `monitor once`; 1 and 2 are those of every command.
EXIT_SOME_FAILED = 3


EXIT_ALL_FAILED = 4


ONCE_EXIT = f"""Exit status:

\b
  0  every source was polled (articles that failed are listed; they are retried)
  1  the command could not run: a config, database or file problem (the line says which)
  2  a usage error (an unknown option, or a --source the config does not name)
  {EXIT_SOME_FAILED}  some sources failed (their feed or page could not be had), not all
  {EXIT_ALL_FAILED}  every source polled failed
"""


@click.command(epilog=ONCE_EXIT)
@config_option
@click.option("--source", "names", multiple=True, help="Poll only this source (repeatable).")
@json_option
def once(config_path: Path | None, names: tuple[str, ...], as_json: bool) -> None:
    """Poll every source (or the named ones) once: fetch, extract, match, store.

    \b
    Example: monitor once --source washington-declaration --json
    """
    from monitor.pipeline import poll
    from monitor.redact import Redactor

    settings = load_settings(config_path)
    try:
        sources = [settings.source(n) for n in names] if names else None
    except MonitorError as exc:
        raise click.BadParameter(str(exc), param_hint="--source") from exc
    from monitor import logs
    from monitor.alerts import delivery, digest
    from monitor.cli.console import Bar

    bar = Bar(sys.stderr, shown=not as_json)
    # The log lines of the poll wait until the bar is over (all of them on a terminal, else
    # its warnings); those the summary prints (each failure) are not printed twice.
    with logs.held(every=bar.shown) as release, open_database(settings.basics()) as db:
        summary = poll(settings, db, sources, progress=bar.draw)
        bar.end()
        release([error for _, error in summary.errors])
        digest.queue_due_digest(settings, db)
        delivered = delivery.deliver_due(settings, db)
    redactor = Redactor.from_settings(settings)
    summary.errors = [(source, redactor.redact(error)) for source, error in summary.errors]
    code = _once_exit(summary)
    if as_json:
        print_json(summary.as_json())
        sys.exit(code)
    failed = f" ({len(summary.failed)} failed)" if summary.failed else ""
    click.echo(
        f"{summary.sources} sources{failed}: {summary.fetched} fetched, "
        f"{summary.not_modified} not modified, {summary.unchanged} unchanged, "
        f"{summary.new_documents} new documents, {summary.new_versions} new versions, "
        f"{summary.mentions} mentions, {summary.changes} wording changes, "
        f"{len(summary.errors)} errors"
    )
    for change in summary.wording:
        title = untrusted.terminal(change.title or change.url, untrusted.TITLE_CHARS)
        click.echo(f"  changed ({change.kind}, {change.significance:.2f}): {title}")
        click.echo(f"      {untrusted.terminal(change.verdict, untrusted.SENTENCE_CHARS)}")
        click.echo(f"      {untrusted.url_text(change.url)}")
    for source, error in summary.errors:
        name = untrusted.terminal(source, untrusted.NAME_CHARS)
        click.echo(f"  {name}: {untrusted.terminal(error, untrusted.ERROR_CHARS)}")
    if delivered.sent or delivered.retrying or delivered.given_up:
        click.echo(
            f"alerts: {delivered.sent} sent, {delivered.retrying} waiting to retry, "
            f"{delivered.given_up} given up"
        )
    sys.exit(code)


def _once_exit(summary: Summary) -> int:
    """The exit status of `monitor once` (see ONCE_EXIT): a source fails when its own feed or
    page could not be had; an article that failed is retried at the next polls and, like a
    feed read in part, is listed in the summary without failing its source."""
    failed = len(set(summary.failed))
    if not failed:
        return 0
    return EXIT_ALL_FAILED if failed >= summary.sources else EXIT_SOME_FAILED


@click.command()
@config_option
def run(config_path: Path | None) -> None:
    """Run the service: scheduled polls, alert delivery and the daily digest, until SIGTERM or
    SIGINT (a second signal exits at once). Logs go to stdout, as JSON unless on a terminal.
    The container runs it with --config /config/monitor.toml.

    \b
    Example: monitor run
    """
    from monitor import logs
    from monitor.redact import Redactor
    from monitor.schedule import run_service

    settings = load_settings(config_path)
    logs.setup(log_level() or "INFO", redactor=Redactor.from_settings(settings))
    sys.exit(run_service(settings))


@click.command()
@config_option
@json_option
def health(config_path: Path | None, as_json: bool) -> None:
    """Exit 0 when the service's heartbeat is fresh and the database writable; else say why and
    exit 1. The container's HEALTHCHECK runs it (with --config /config/monitor.toml).

    \b
    Example: monitor health
    """
    from monitor.health import health as check_health

    problem = check_health(load_basics(config_path))
    if as_json:
        status = "healthy" if problem is None else "unhealthy"
        print_json({"status": status, "reasons": [] if problem is None else [problem]})
        sys.exit(0 if problem is None else 1)
    if problem is not None:
        click.echo(f"unhealthy: {problem}", err=True)
        sys.exit(1)
    click.echo("healthy")


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Take the concepts and ladders from this config (default: the shipped one).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo"),
    show_default=True,
    help="Where the demo database goes.",
)
def demo(config_path: Path | None, directory: Path) -> None:
    """Run the offline demo: serve bundled real feeds and pages on loopback and poll them.

    The demo's sources replace the config's; its database is DIR/monitor.db whatever
    $MONITOR_DB says.

    \b
    Example: monitor demo --dir monitor-demo
    """
    from monitor import config
    from monitor.demo_run import run_demo

    try:
        text = config.load_text(config_path) if config_path else None
        run_demo(directory, click.echo, text, origin=str(config_path))
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
