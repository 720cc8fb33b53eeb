"""The command line: `monitor COMMAND`. Commands take --config and --db; reports take --json."""

from __future__ import annotations

import errno
import sqlite3
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from monitor import __version__
from monitor.errors import MonitorError
from monitor.timeline import PERIODS
from monitor.untrusted import (
    ERROR_CHARS,
    NAME_CHARS,
    SENTENCE_CHARS,
    TITLE_CHARS,
    json_text,
    terminal,
    url_text,
)

# Only what --help needs is imported here: each command imports the config, the store and the
# extraction stack when it runs (tests/test_startup.py), so `monitor --help`, `search`, `show`
# and `health` start without trafilatura, PDFium, httpx2 or APScheduler.
if TYPE_CHECKING:
    from sqlite_utils import Database

    from monitor.config import Settings
    from monitor.config_stamp import Basics
    from monitor.models import DigestData, Extracted
    from monitor.pipeline import Summary

F = TypeVar("F", bound=Callable[..., Any])

# Sentence changes of each kind `compare` shows after the evidence, unless --all.
SHOWN_SENTENCES = 10


# Where --db is kept for _settings, in the command's click context (see config_option).
DB_KEY = "monitor.db"


def _remember_db(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[DB_KEY] = value


def config_option(fn: F) -> F:
    """--config and --db, which every command that reads the config takes: _settings applies
    --db (kept in the click context, so command signatures stay as they are)."""
    fn = click.option(
        "--db",
        type=click.Path(path_type=Path, dir_okay=False),
        expose_value=False,
        callback=_remember_db,
        help="The SQLite database (default: $MONITOR_DB, else [storage].database of the "
        "config); --db wins over $MONITOR_DB.",
    )(fn)
    return click.option(
        "--config",
        "config_path",
        # Not checked here: config.load says what is wrong with the file, and how to fix it.
        type=click.Path(path_type=Path, readable=False),
        default=None,
        help="Config file (default: $MONITOR_CONFIG, else config/monitor.toml, else the "
        "shipped default config).",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def _config_text(path: Path | None) -> tuple[str, str]:
    """Where the config comes from (as messages name it) and its text. With no config file
    found, the shipped default config, said in one line on stderr."""
    from monitor import config_file

    try:
        if config_file.uses_shipped(path):
            click.echo(
                f"no {config_file.DEFAULT_CONFIG} here: using {config_file.SHIPPED} "
                "(`monitor init` writes it to edit; --config or $MONITOR_CONFIG picks another)",
                err=True,
            )
            return config_file.SHIPPED, config_file.shipped_config_text()
        where = config_file.config_path(path)
        return str(where), config_file.load_text(where)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc


def _validated(origin: str, text: str) -> Settings:
    """The config validated in full, with the database $MONITOR_DB names; its text is stamped
    valid for the read-only commands (monitor/config_stamp.py)."""
    from monitor import config, config_stamp

    try:
        settings = config.parse(config.loads(text, origin=origin), origin=origin, environment=False)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
    config_stamp.write(text, settings.basics())
    return config.overridden(settings)


def _db_option() -> Path | None:
    context = click.get_current_context(silent=True)
    return context.meta.get(DB_KEY) if context is not None else None


def _settings(path: Path | None) -> Settings:
    """The config, with the database --db names; from here on, warnings logged reach stderr
    redacted (see monitor/redact.py)."""
    from monitor import logs
    from monitor.redact import Redactor

    settings = _validated(*_config_text(path))
    if (db_path := _db_option()) is not None:
        storage = settings.storage.model_copy(update={"database": str(db_path)})
        settings = settings.model_copy(update={"storage": storage})
    logs.to_stderr(Redactor.from_settings(settings), _log_level())
    return settings


def _basics(path: Path | None) -> Basics:
    """What a read-only command needs of the config, as _settings gives it: from the stamp when
    this very text was validated before, else validated in full now (a broken config is refused
    by every command alike: it never gets a stamp)."""
    from monitor import config_file, config_stamp, logs
    from monitor.redact import Redactor

    origin, text = _config_text(path)
    basics = config_stamp.read(text)
    if basics is None:
        basics = _validated(origin, text).basics()
    elif (database := config_file.database_override()) is not None:
        basics = replace(basics, database=database)
    if (db_path := _db_option()) is not None:
        basics = replace(basics, database=str(db_path))
    logs.to_stderr(Redactor.from_basics(basics), _log_level())
    return basics


def _database(basics: Basics, *, read_only: bool = False) -> AbstractContextManager[Database]:
    """The configured database for a `with` block; its faults become one-line errors. Read
    only, it is never created or migrated (store.open_read_only)."""
    from monitor import store

    return store.opened(basics.database_path, basics.busy_timeout, read_only=read_only)


def _os_fault(exc: OSError) -> str:
    """One line for a file the command could not read or write, with the fix."""
    where = exc.filename or "a file"
    fixes = {
        errno.ENOSPC: "the disk is full; free some space on it or write elsewhere",
        errno.EDQUOT: "the disk quota is used up; free some space or write elsewhere",
        errno.EACCES: "permission denied; give this user access to it or use another path",
        errno.EPERM: "not permitted; give this user access to it or use another path",
        errno.EROFS: "the file system is read-only; write somewhere else",
        errno.ENOENT: "no such file or folder; check the path",
        errno.EISDIR: "is a folder; give a file's path",
    }
    fix = fixes.get(exc.errno or 0, f"{exc.strerror or exc}; check the path and its disk")
    return f"{where}: {fix}"


class _Commands(click.Group):
    """The command group: a fault of the environment or of the input (a MonitorError, an
    unreadable or unwritable file) ends a command with one line on stderr and exit status 1,
    never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(_os_fault(exc)) from None
        except sqlite3.Error as exc:
            raise click.ClickException(
                f"database error ({exc}); check the file [storage].database names"
            ) from None
        except RecursionError:
            raise click.ClickException(
                "input nested too deeply to read; flatten it (see the file named above)"
            ) from None


def _print_json(value: object) -> None:
    click.echo(json_text(value, indent=2))


def _local(stamp: str | None, zone: str) -> str:
    if not stamp:
        return "-"
    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo(zone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Where --log-level is kept, in the group's click context.
LOG_LEVEL_KEY = "monitor.log_level"


def _log_level() -> str | None:
    context = click.get_current_context(silent=True)
    return context.find_root().meta.get(LOG_LEVEL_KEY) if context is not None else None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    envvar="MONITOR_LOG_LEVEL",
    help="What to log (else $MONITOR_LOG_LEVEL; default: warnings for one-shot commands, "
    "INFO for `monitor run`).",
)
@click.pass_context
def main(ctx: click.Context, log_level: str | None) -> None:
    """Watch Korea-policy feeds and documents and notice when their wording changes.

    Every command that reads the config takes --config PATH (else $MONITOR_CONFIG, else
    config/monitor.toml, else the shipped default config) and --db PATH (else $MONITOR_DB, else
    [storage].database). search, show, changes, timeline, sources and digest only read the
    database: they never create or migrate it.

    \b
    Example: monitor search 비핵화 --limit 5
    """
    if log_level is not None:
        ctx.meta[LOG_LEVEL_KEY] = log_level.upper()


@main.command()
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
    settings = _settings(path)
    with _database(settings.basics()) as db:
        store.check_writable(db)
    if as_json:
        _print_json({"config": str(path), "written": written, "database": str(settings.database)})
        return
    for line in [*lines, f"database ready: {settings.database}"]:
        click.echo(line)


@main.command()
@config_option
@json_option
def check(config_path: Path | None, as_json: bool) -> None:
    """Validate the config and report every problem with its key and a fix.

    \b
    Example: monitor check --config config/monitor.toml
    """
    from monitor import config
    from monitor.changes import matcher
    from monitor.errors import ConfigError
    from monitor.redact import Redactor

    origin = config.SHIPPED if config.uses_shipped(config_path) else config.config_path(config_path)
    try:
        settings = _settings(config_path)
        matcher(settings.lexicon())
    except (click.ClickException, MonitorError) as exc:
        if not as_json:
            raise
        cause = exc.__cause__ if isinstance(exc, click.ClickException) else exc
        problems = cause.problems if isinstance(cause, ConfigError) else (str(cause or exc),)
        _print_json({"config": str(origin), "ok": False, "problems": list(problems)})
        sys.exit(1)
    if as_json:
        redactor = Redactor.from_settings(settings)
        _print_json(
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


@main.command(epilog=ONCE_EXIT)
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

    settings = _settings(config_path)
    try:
        sources = [settings.source(n) for n in names] if names else None
    except MonitorError as exc:
        raise click.BadParameter(str(exc), param_hint="--source") from exc
    from monitor import alerts, logs
    from monitor.console import Bar

    bar = Bar(sys.stderr, shown=not as_json)
    # The log lines of the poll wait until the bar is over (all of them on a terminal, else
    # its warnings); those the summary prints (each failure) are not printed twice.
    with logs.held(every=bar.shown) as release, _database(settings.basics()) as db:
        summary = poll(settings, db, sources, progress=bar.draw)
        bar.end()
        release([error for _, error in summary.errors])
        alerts.queue_due_digest(settings, db)
        delivery = alerts.deliver_due(settings, db)
    redactor = Redactor.from_settings(settings)
    summary.errors = [(source, redactor.redact(error)) for source, error in summary.errors]
    code = _once_exit(summary)
    if as_json:
        _print_json(summary.as_json())
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
        title = terminal(change.title or change.url, TITLE_CHARS)
        click.echo(f"  changed ({change.kind}, {change.significance:.2f}): {title}")
        click.echo(f"      {terminal(change.verdict, SENTENCE_CHARS)}")
        click.echo(f"      {url_text(change.url)}")
    for source, error in summary.errors:
        click.echo(f"  {terminal(source, NAME_CHARS)}: {terminal(error, ERROR_CHARS)}")
    if delivery.sent or delivery.retrying or delivery.given_up:
        click.echo(
            f"alerts: {delivery.sent} sent, {delivery.retrying} waiting to retry, "
            f"{delivery.given_up} given up"
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


def _since(value: str | None, zone: str, hint: str = "--since") -> datetime | None:
    """A date or time typed by a person, read in the configured zone, as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use YYYY-MM-DD or an ISO-8601 time", param_hint=hint
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


@main.command()
@config_option
@click.argument("query")
@click.option("--since", help="Only documents published (or first seen) since this date.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="At most this many documents, the newest.",
)
@json_option
def search(
    config_path: Path | None, query: str, since: str | None, limit: int, as_json: bool
) -> None:
    """Full-text search of every stored version, English or Korean.

    A word matches that word (war finds war, not wars or warhead), also with a Korean particle
    attached (ICBM finds ICBM을); war* matches every word that begins with war. A Korean word
    matches as a prefix, so 비핵화 finds 비핵화를 and 비핵화는. "Quoted words" match as a phrase
    ("완전한 비핵화" finds 완전한 비핵화를 too). Every word and phrase must be found.

    \b
    Example: monitor search '"extended deterrence"' --since 2023-01-01
    Example: monitor search 'sanction*' --limit 5
    """
    from monitor import store

    basics = _basics(config_path)
    with _database(basics, read_only=True) as db:
        try:
            hits = store.search(db, query, _since(since, basics.timezone), limit=limit)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        _print_json([asdict(h) for h in hits])
        return
    if not hits:
        click.echo(f"nothing found for {query!r}")
    for hit in hits:
        source, title = (
            terminal(hit.source, NAME_CHARS),
            terminal(hit.title or hit.url, TITLE_CHARS),
        )
        click.echo(f"{_local(hit.published, basics.timezone)}  [{source}] {title}")
        click.echo(f"    {url_text(hit.url)}")
        click.echo(f"    {terminal(hit.snippet, SENTENCE_CHARS)}")
    if len(hits) == limit:
        click.echo(f"(the {limit} newest shown; use --limit for more)")


@main.command()
@config_option
@click.argument("url")
@json_option
def show(config_path: Path | None, url: str, as_json: bool) -> None:
    """A document's versions, their text and concept counts.

    URL is as `monitor search` prints it.

    \b
    Example: monitor show https://www.theguardian.com/us-news/2018/jan/31/donald-trump-state-of-the-union-address-unity-discord
    """
    from monitor import store
    from monitor.redact import public_url
    from monitor.urls import canonical_url

    basics = _basics(config_path)
    with _database(basics, read_only=True) as db:
        found = store.history(db, url, canonical_url(url))
        if found is None and public_url(url) != url:  # a page source's URL is kept without its key
            found = store.history(db, public_url(url), canonical_url(public_url(url)))
    if found is None:
        raise click.ClickException(f"{url}: no such document; `monitor search` finds stored ones")
    if as_json:
        _print_json(asdict(found) | {"versions": [asdict(v) for v in found.versions]})
        return
    title = terminal(found.title, TITLE_CHARS) if found.title else "(untitled)"
    click.echo(f"{title}\n{url_text(found.url)}\nsource: {terminal(found.source, NAME_CHARS)}")
    for version in found.versions:
        counts = ", ".join(f"{k} {v}" for k, v in version.concepts.items()) or "no concepts"
        aside = "; ".join(
            f"{k} {sum(r.values())} ({', '.join(r)})" for k, r in version.set_aside.items()
        )
        counts += f"; set aside: {aside}" if aside else ""
        counts = terminal(counts)
        click.echo(
            f"\n--- version {version.id}, {_local(version.fetched_at, basics.timezone)}: {counts}"
        )
        if version.limits:
            click.echo(f"(stored within limits: {version.limits})")
        click.echo(terminal(version.text, lines=True))


@main.command()
@config_option
@json_option
def sources(config_path: Path | None, as_json: bool) -> None:
    """Health of each source: last success, last error, consecutive failures.

    \b
    Example: monitor sources --json
    """
    from monitor import store
    from monitor.models import SourceHealth
    from monitor.redact import Redactor

    settings = _settings(config_path)
    with _database(settings.basics(), read_only=True) as db:
        stored = {h.name: h for h in store.source_health(db, [s.name for s in settings.sources])}
    # Read only: the config's address and kind, and a source never polled yet shown as such.
    health = [
        replace(stored[s.name], url=s.url, kind=s.kind)
        if s.name in stored
        else SourceHealth(
            name=s.name,
            url=s.url,
            kind=s.kind,
            last_success=None,
            last_error=None,
            consecutive_failures=0,
            documents=0,
        )
        for s in settings.sources
    ]
    redactor = Redactor.from_settings(settings)
    health = [
        replace(h, url=redactor.url(h.url), last_error=redactor.optional(h.last_error))
        for h in health
    ]
    if as_json:
        _print_json([asdict(h) for h in health])
        return
    enabled = {s.name: s.enabled for s in settings.sources}
    names = [terminal(h.name, NAME_CHARS) for h in health]
    width = max([24, *map(len, names)])  # long names keep the columns in line
    for h, name in zip(health, names, strict=True):
        if not enabled.get(h.name, True):
            state = "disabled"
        elif h.consecutive_failures:
            state = f"FAILING x{h.consecutive_failures}"
        elif h.last_success is None and h.last_error is None:
            state = "never polled"
        else:
            state = "ok"
        click.echo(
            f"{name:{width}} {terminal(h.kind):5} {state:12} "
            f"last ok {_local(h.last_success, settings.schedule.timezone):22} {h.documents:5} docs  {url_text(h.url)}"
        )
        if h.last_error:  # stored redacted; again here for rows older than the redactor
            click.echo(f"    last error: {terminal(redactor.redact(h.last_error), ERROR_CHARS)}")
        if h.warning:
            click.echo(f"    warning: {terminal(h.warning, ERROR_CHARS)}")


def _load(address: str, settings: Settings) -> Extracted:
    """A document from a file or a URL, extracted as the pipeline would."""
    from monitor.extract import extract, extract_file
    from monitor.fetch import Fetcher, FetchSettings
    from monitor.urls import is_web

    if not is_web(address):
        return extract_file(Path(address))
    with Fetcher(FetchSettings(**settings.fetch.model_dump())) as fetcher:
        response = fetcher.get(address)
    return extract(response.body, response.final_url, response.content_type)


@main.command()
@config_option
@click.argument("old")
@click.argument("new")
@json_option
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a self-contained HTML redline here.",
)
@click.option(
    "--ignore", multiple=True, help="Regular expression for boilerplate to ignore (repeatable)."
)
@click.option(
    "--color/--no-color", default=None, help="Colour the word highlights (default: on a terminal)."
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help=f"Show every sentence change (default: the evidence, then {SHOWN_SENTENCES} of each kind).",
)
def compare(
    config_path: Path | None,
    old: str,
    new: str,
    as_json: bool,
    html_path: Path | None,
    ignore: tuple[str, ...],
    color: bool | None,
    show_all: bool,
) -> None:
    """Compare two documents (files or URLs: HTML, PDF, text or Markdown) without the database.

    Prints the verdict first ("cvid dropped; denuclearization ladder: cvid → complete-denuclearization
    (downgrade)"), then the evidence (the old and new sentences of each concept that changed), the
    concept counts with what was set aside, the facets, and the other changed sentences. A Korean
    and an English text of one statement are compared by concepts and facets, not words.
    OLD and NEW are your own files, or URLs.

    \b
    Example: monitor compare joint-statement-2021.html joint-statement-2022.html --html redline.html
    """
    import re

    from monitor import compare as comparing
    from monitor import report
    from monitor.changes import matcher
    from monitor.redact import Redactor

    settings = _settings(config_path)
    try:
        patterns = [re.compile(p) for p in ignore]
    except re.error as exc:
        raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--ignore") from exc
    try:
        before, after = _load(old, settings), _load(new, settings)
    except MonitorError as exc:  # a fetch error can quote the server
        message = Redactor.from_settings(settings).redact(str(exc))
        raise click.ClickException(terminal(message, ERROR_CHARS)) from exc
    result = comparing.compare(
        before.text,
        after.text,
        matcher=matcher(settings.lexicon()),
        ladders=settings.ladders,
        old_title=before.title,
        new_title=after.title,
        ignore=patterns,
    )
    if html_path is not None:
        html_path.write_text(
            report.render_html(
                result, old_label=old, new_label=new, limit=None if show_all else SHOWN_SENTENCES
            ),
            encoding="utf-8",
        )
    if as_json:
        _print_json(comparing.as_json(result))
        return
    from monitor.console import colour

    use_color = colour(sys.stdout, color)  # --color/--no-color, else a terminal and no $NO_COLOR
    text = report.render_text(
        result,
        old_label=old,
        new_label=new,
        color=use_color,
        limit=None if show_all else SHOWN_SENTENCES,
    )
    click.echo(text, nl=False)
    if html_path is not None:
        click.echo(f"\nHTML redline written to {html_path}")


@main.command()
@config_option
@click.option("--since", help="Only changes detected since this date.")
@click.option(
    "--concept",
    help="Only changes where this concept's count moved, or a ladder moved to or from it.",
)
@click.option(
    "--status",
    type=click.Choice(["dropped", "introduced", "increased", "decreased"]),
    help="Only changes where a concept (with --concept, that concept) has this status.",
)
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also superseded successions: two editions compared before one between them arrived.",
)
@json_option
def changes(
    config_path: Path | None,
    since: str | None,
    concept: str | None,
    status: str | None,
    limit: int,
    show_all: bool,
    as_json: bool,
) -> None:
    """Stored wording changes, most significant first.

    A succession compares an edition with the one before it; when an edition arrives that lies
    between two already compared, their comparison is superseded by the two new ones and
    hidden unless --all.

    \b
    Example: monitor changes --since 2025-12-01 --concept extended-deterrence
    """
    from monitor import store

    settings = _settings(config_path)
    if concept is not None and concept not in settings.concepts:
        known = ", ".join(settings.concepts)
        raise click.BadParameter(
            f"unknown concept {concept!r} (known: {known})", param_hint="--concept"
        )
    with _database(settings.basics(), read_only=True) as db:
        found = store.list_changes(
            db,
            _since(since, settings.schedule.timezone),
            concept,
            limit + 1,
            superseded=show_all,
            status=status,
        )
    more = len(found) > limit
    found = found[:limit]
    if as_json:
        keys = (
            "id",
            "kind",
            "url",
            "title",
            "detected_at",
            "significance",
            "concepts",
            "stance",
            "superseded_at",
            "superseded_by",
        )
        _print_json([{k: getattr(c, k) for k in keys} for c in found])
        return
    if not found:
        scope = " ".join(w for w in (concept, status) if w)
        click.echo("no changes stored" + (f" for {scope}" if scope else ""))
    for c in found:
        title = terminal(c.title or c.url, TITLE_CHARS)
        gone = (
            f"  (superseded {_local(c.superseded_at, settings.schedule.timezone)})"
            if c.superseded_at
            else ""
        )
        click.echo(
            f"{c.significance:.2f}  {c.kind:10} {_local(c.detected_at, settings.schedule.timezone)}  {title}{gone}"
        )
        click.echo(f"      {terminal(c.verdict, SENTENCE_CHARS)}")
        click.echo(f"      {url_text(c.url)}")
    if more:
        click.echo(f"(the {limit} most significant shown; use --limit for more)")


@main.command()
@config_option
@click.option(
    "--date",
    "day",
    help="The local date of the digest (default: with --send the latest one due, otherwise the "
    "one being gathered now, which the next scheduled digest sends).",
)
@click.option("--send", is_flag=True, help="Queue it for every recipient and deliver it now.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write it to FILE: HTML, or a whole mail when FILE ends in .eml.",
)
@json_option
def digest(
    config_path: Path | None, day: str | None, send: bool, out: Path | None, as_json: bool
) -> None:
    """Build the daily digest (the 24 hours before [digest].time on a day) and show, write or
    send it. A digest is sent at most once per day and recipient; an empty one only for a day
    monitored throughout.

    Without --date, --out and the printed digest show the one being gathered now (so far), and
    --send the latest whose 24 hours are over.

    \b
    Example: monitor digest --out digest.html
    """
    from datetime import date as date_type

    from monitor import alerts, notify
    from monitor import digest as digesting
    from monitor.config import EmailSettings

    settings = _settings(config_path)
    moment = datetime.now(UTC)
    latest = alerts.digest_day if send else alerts.gathering_day
    try:
        when = date_type.fromisoformat(day) if day else latest(settings, moment)
    except ValueError:
        raise click.BadParameter(f"{day!r}: use YYYY-MM-DD", param_hint="--date") from None
    with _database(settings.basics(), read_only=not send) as db:
        if send:
            if settings.email is None and not settings.webhooks:
                raise click.ClickException("nothing to send with: add [email] or [[webhooks]]")
            end = digesting.window(when, settings.digest.time, settings.schedule.timezone)[1]
            if end > datetime.now(UTC):
                raise click.ClickException(
                    f"the digest for {when} covers the 24 hours to {settings.digest.time} that "
                    "day, which are not over yet; sending it now would leave out what comes "
                    "later (preview it with --out)"
                )
            data = alerts.digest_data(settings, db, when)
            reason = alerts.withheld(settings, db, data)
            queued = alerts.queue_digest(settings, db, when)
            delivery = alerts.deliver_due(settings, db)
            state = (
                "queued"
                if queued
                else f"not sent: {reason}"
                if reason
                else "already queued or sent earlier"
            )
            if as_json:
                _print_json(
                    _digest_json(data, settings)
                    | {
                        "queued": queued,
                        "withheld": None if queued else reason,
                        "sent": delivery.sent,
                        "retrying": delivery.retrying,
                        "given_up": delivery.given_up,
                    }
                )
                return
            click.echo(
                f"digest for {when}: {state}; {delivery.sent} sent, "
                f"{delivery.retrying} waiting to retry"
            )
            return
        data = alerts.digest_data(settings, db, when)
        message = digesting.render_digest(data, dedup_key=f"digest:{when}:preview")
    closes = _local(data.end.isoformat(), settings.schedule.timezone)
    so_far = f" so far (its window closes {closes})" if data.end > moment else ""
    counts = message.payload
    shown = f"the digest for {when}{so_far}: {counts.get('changes', 0)} wording change(s), "
    shown += f"{counts.get('articles', 0)} new article(s)"
    if out is not None and out.suffix.lower() == ".eml":
        email = settings.email or EmailSettings()
        recipients = settings.digest.recipients or email.to or ("reader@localhost",)
        out.write_bytes(bytes(notify.build_email(email.sender, recipients, message)))
    elif out is not None:
        out.write_text(message.html or message.text, encoding="utf-8")
    if as_json:
        written = {"written": str(out)} if out is not None else {"text": message.text}
        _print_json(
            _digest_json(data, settings)
            | {"so_far": data.end > moment, "subject": message.subject}
            | written
        )
    elif out is None:
        click.echo(terminal(message.subject) + "\n\n" + terminal(message.text, lines=True))
    else:
        click.echo(f"wrote {out}: {shown}")


def _digest_json(data: DigestData, settings: Settings) -> dict[str, object]:
    """What `digest --json` says of any digest: its day, window and counts (those it shows)."""
    from monitor.digest import render_digest

    counts = render_digest(data, dedup_key=f"digest:{data.day}:preview").payload
    return {
        "date": data.day.isoformat(),
        "window": {"start": data.start.isoformat(), "end": data.end.isoformat()},
        "timezone": settings.schedule.timezone,
        "changes": counts.get("changes", 0),
        "articles": counts.get("articles", 0),
    }


@main.command()
@config_option
@click.argument("concept")
@click.option("--by", type=click.Choice(PERIODS), default="day", show_default=True)
@click.option("--source", help="Only this source.")
@click.option("--split", is_flag=True, help="One row per source and period.")
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Only the latest this many periods."
)
@json_option
def timeline(
    config_path: Path | None,
    concept: str,
    by: str,
    source: str | None,
    split: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Mentions of a concept over time, in the configured time zone.

    A document counts on its publication date (else when first seen), with the mentions of its
    latest version.

    \b
    Example: monitor timeline complete-denuclearization --by month --json
    """
    from monitor.timeline import timeline as mentions_over_time

    settings = _settings(config_path)
    if concept not in settings.concepts:
        known = ", ".join(settings.concepts)
        raise click.BadParameter(
            f"unknown concept {concept!r} (known: {known})", param_hint="CONCEPT"
        )
    with _database(settings.basics(), read_only=True) as db:
        rows = mentions_over_time(
            db, concept, by=by, timezone=settings.schedule.timezone, source=source, split=split
        )
    if limit is not None:
        latest = sorted({r.period for r in rows})[-limit:]
        rows = [r for r in rows if r.period in latest]
    if as_json:
        _print_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo(f"no mentions of {concept} stored")
    top = max((r.count for r in rows), default=0) or 1
    for r in rows:
        bar = "█" * round(30 * r.count / top)
        label = terminal(f"{r.period} {r.source or ''}".strip(), NAME_CHARS)
        click.echo(f"{label:32} {r.count:5} {bar}")


@main.command()
@config_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--series", "series_id", required=True, help="The series id from the config.")
@click.option("--title", help="The document's title (default: from the file).")
@click.option("--date", "when", help="Its publication date, YYYY-MM-DD (orders the series).")
@json_option
def add(
    config_path: Path | None,
    file: Path,
    series_id: str,
    title: str | None,
    when: str | None,
    as_json: bool,
) -> None:
    """Store a local document (PDF, HTML, Markdown or text) as a member of a series.

    Editions that are no longer online can seed a series this way; the new member is compared
    with the previous member and the baseline like any other. FILE is your own copy.

    \b
    Example: monitor add nss-2002.txt --series nss --title "National Security Strategy 2002" --date 2002-09-17
    """
    from monitor import store
    from monitor.changes import add_file
    from monitor.urls import document_key

    settings = _settings(config_path)
    try:
        series = settings.series_by_id(series_id)
        with _database(settings.basics()) as db:
            already = store.series_of_document(db, document_key(str(file)))
            if already is not None and already != series_id:
                raise click.ClickException(
                    f"{file} is already a member of series {already!r}; a document belongs "
                    "to one series (copy the file to add it to another)"
                )
            stored = add_file(
                settings,
                db,
                file,
                series=series,
                title=title,
                published=_since(when, settings.schedule.timezone, "--date"),
            )
            found = store.history(db, document_key(str(file)), document_key(str(file)))
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        versions = found.versions if found is not None else []
        _print_json(
            {
                "file": str(file),
                "document": document_key(str(file)),
                "series": series_id,
                "new_document": stored.new_document,
                "new_version": stored.new_version,
                "version": versions[-1].id if versions else None,
                "versions": len(versions),
                "mentions": stored.mentions,
                "changes": stored.changes,
                "wording_changes": [asdict(w) for w in stored.wording],
            }
        )
        return
    state = "stored" if stored.new_version else "unchanged (already stored)"
    click.echo(
        f"{file}: {state} in series {series_id}; {stored.mentions} mentions, {stored.changes} changes"
    )
    if when is None:
        click.echo("(no --date: the file's own date, else today, places it in the series)")


@main.command()
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

    settings = _settings(config_path)
    logs.setup(_log_level() or "INFO", redactor=Redactor.from_settings(settings))
    sys.exit(run_service(settings))


@main.command()
@config_option
@json_option
def health(config_path: Path | None, as_json: bool) -> None:
    """Exit 0 when the service's heartbeat is fresh and the database writable; else say why and
    exit 1. The container's HEALTHCHECK runs it (with --config /config/monitor.toml).

    \b
    Example: monitor health
    """
    from monitor.health import health as check_health

    problem = check_health(_basics(config_path))
    if as_json:
        status = "healthy" if problem is None else "unhealthy"
        _print_json({"status": status, "reasons": [] if problem is None else [problem]})
        sys.exit(0 if problem is None else 1)
    if problem is not None:
        click.echo(f"unhealthy: {problem}", err=True)
        sys.exit(1)
    click.echo("healthy")


@main.command()
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


@main.command(context_settings={"ignore_unknown_options": True})
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, help="Port (0: any free one).")
@click.option(
    "--write-metadata",
    "metadata_out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Only write the metadata to FILE (- for stdout), for `datasette DB -m FILE`.",
)
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
def datasette(
    config_path: Path | None,
    host: str,
    port: int,
    metadata_out: Path | None,
    datasette_args: tuple[str, ...],
) -> None:
    """Browse the history in Datasette: table and column descriptions, canned queries (latest
    wording changes, a concept's timeline, every dropped concept, a document's versions) and
    FTS5 search (비핵화* finds 비핵화를). Needs pip install 'monitor[datasette]'; further
    arguments go to `datasette serve`.

    \b
    Example: monitor datasette --write-metadata metadata.json
    """
    from monitor import browse

    settings = _settings(config_path)
    if metadata_out == Path("-"):
        click.echo(browse.metadata_json(settings.database))
        return
    if metadata_out is not None:
        browse.write_metadata(settings.database, metadata_out)
        click.echo(f"wrote {metadata_out}: datasette {settings.database} -m {metadata_out}")
        return
    sys.exit(browse.serve(settings.database, host, port, datasette_args))
