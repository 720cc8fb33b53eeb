"""The command line: `monitor COMMAND`. Every command takes --config; reports take --json."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from monitor import __version__, config, store
from monitor.config import Settings
from monitor.errors import MonitorError

F = TypeVar("F", bound=Callable[..., Any])


def config_option(fn: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Config file (default: $MONITOR_CONFIG, else config/monitor.toml).",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def _settings(path: Path | None) -> Settings:
    try:
        return config.load(path)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_json(value: object) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _local(stamp: str | None, settings: Settings) -> str:
    if not stamp:
        return "-"
    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo(settings.schedule.timezone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
def main() -> None:
    """Watch Korea-policy feeds and documents and notice when their wording changes."""


@main.command()
@config_option
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init(config_path: Path | None, force: bool) -> None:
    """Write the commented example config and create the database.

    Example: monitor init --config ~/monitor/monitor.toml
    """
    path = config.config_path(config_path)
    if path.exists() and not force:
        click.echo(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config.shipped_config_text(), encoding="utf-8")
        click.echo(f"wrote {path}")
    settings = _settings(path)
    store.open_db(settings.database).close()
    click.echo(f"database ready: {settings.database}")


@main.command()
@config_option
def check(config_path: Path | None) -> None:
    """Validate the config and report every problem with its key and a fix.

    Example: monitor check --config config/monitor.toml
    """
    from monitor.match import Matcher

    settings = _settings(config_path)
    Matcher(settings.concept_records())
    click.echo(
        f"{config.config_path(config_path)}: ok: {len(settings.sources)} sources, "
        f"{len(settings.concepts)} concepts, {len(settings.ladders)} ladders; "
        f"database {settings.database}"
    )


@main.command()
@config_option
@click.option("--source", "names", multiple=True, help="Poll only this source (repeatable).")
@json_option
def once(config_path: Path | None, names: tuple[str, ...], as_json: bool) -> None:
    """Poll every source (or the named ones) once: fetch, extract, match, store.

    Example: monitor once --source whitehouse-korea --json
    """
    from monitor.pipeline import poll

    settings = _settings(config_path)
    try:
        sources = [settings.source(n) for n in names] if names else None
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
    verbose = sys.stderr.isatty() and not as_json

    def progress(message: str) -> None:
        if verbose:
            click.echo(message, err=True)

    with store.open_db(settings.database) as db:
        summary = poll(settings, db, sources, progress=progress)
    if as_json:
        _print_json(summary.as_json())
        return
    click.echo(
        f"{summary.sources} sources: {summary.fetched} fetched, {summary.not_modified} not modified, "
        f"{summary.new_documents} new documents, {summary.new_versions} new versions, "
        f"{summary.mentions} mentions, {len(summary.errors)} errors"
    )
    for source, error in summary.errors:
        click.echo(f"  {source}: {error}")


def _since(value: str | None, settings: Settings) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use YYYY-MM-DD or an ISO-8601 time", param_hint="--since"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.schedule.timezone))
    return moment.astimezone(UTC)


@main.command()
@config_option
@click.argument("query")
@click.option("--since", help="Only documents published (or first seen) since this date.")
@json_option
def search(config_path: Path | None, query: str, since: str | None, as_json: bool) -> None:
    """Full-text search of every stored version, English or Korean.

    Words match as prefixes (비핵화 finds 비핵화를); "quoted words" match as a phrase.

    Example: monitor search '"extended deterrence"' --since 2023-01-01
    """
    settings = _settings(config_path)
    with store.open_db(settings.database) as db:
        try:
            hits = store.search(db, query, _since(since, settings))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        _print_json([asdict(h) for h in hits])
        return
    if not hits:
        click.echo(f"nothing found for {query!r}")
    for hit in hits:
        click.echo(f"{_local(hit.published, settings)}  [{hit.source}] {hit.title or hit.url}")
        click.echo(f"    {hit.url}")
        click.echo(f"    {hit.snippet}")


@main.command()
@config_option
@click.argument("url")
@json_option
def show(config_path: Path | None, url: str, as_json: bool) -> None:
    """A document's versions, their text and concept counts.

    Example: monitor show https://www.whitehouse.gov/briefing-room/statements-releases/...
    """
    from monitor.feeds import canonical_url

    settings = _settings(config_path)
    with store.open_db(settings.database) as db:
        found = store.history(db, url, canonical_url(url))
    if found is None:
        raise click.ClickException(f"{url}: no such document; `monitor search` finds stored ones")
    if as_json:
        _print_json(asdict(found) | {"versions": [asdict(v) for v in found.versions]})
        return
    click.echo(f"{found.title or '(untitled)'}\n{found.url}\nsource: {found.source}")
    for version in found.versions:
        counts = ", ".join(f"{k} {v}" for k, v in version.concepts.items()) or "no concepts"
        click.echo(f"\n--- version {version.id}, {_local(version.fetched_at, settings)}: {counts}")
        click.echo(version.text)


@main.command()
@config_option
@json_option
def sources(config_path: Path | None, as_json: bool) -> None:
    """Health of each source: last success, last error, consecutive failures.

    Example: monitor sources --json
    """
    settings = _settings(config_path)
    with store.open_db(settings.database) as db:
        store.sync_sources(db, settings.sources)
        health = store.source_health(db, [s.name for s in settings.sources])
    if as_json:
        _print_json([asdict(h) for h in health])
        return
    for h in health:
        state = "ok" if not h.consecutive_failures else f"FAILING x{h.consecutive_failures}"
        click.echo(
            f"{h.name:24} {h.kind:5} {state:12} last ok {_local(h.last_success, settings):22} "
            f"{h.documents:5} docs  {h.url}"
        )
        if h.last_error:
            click.echo(f"    last error: {h.last_error}")


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo"),
    show_default=True,
    help="Where the demo database goes.",
)
def demo(directory: Path) -> None:
    """Run the offline demo: serve bundled real feeds and pages on loopback and poll them.

    Example: monitor demo --dir /tmp/monitor-demo
    """
    from monitor.demo_run import run_demo

    try:
        run_demo(directory, click.echo)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
