"""What every command shares: --config and --db, the config and the database they name, --json,
one-line faults, and times shown in the configured zone."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from monitor.errors import MonitorError
from monitor.render.untrusted import json_text

# Only what --help needs is imported here: each command imports the config, the store and the
# extraction stack when it runs (tests/test_startup.py), so `monitor --help`, `search`, `show`
# and `health` start without trafilatura, PDFium, httpx2 or APScheduler.
if TYPE_CHECKING:
    from sqlite_utils import Database

    from monitor.config import Settings
    from monitor.config_stamp import Basics


F = TypeVar("F", bound=Callable[..., Any])


# Where --db is kept for load_settings, in the command's click context (see config_option).
DB_KEY = "monitor.db"


def _remember_db(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[DB_KEY] = value


def config_option(fn: F) -> F:
    """--config and --db, which every command that reads the config takes: load_settings applies
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


def load_settings(path: Path | None) -> Settings:
    """The config, with the database --db names; from here on, warnings logged reach stderr
    redacted (see monitor/redact.py)."""
    from monitor import logs
    from monitor.redact import Redactor

    settings = _validated(*_config_text(path))
    if (db_path := _db_option()) is not None:
        storage = settings.storage.model_copy(update={"database": str(db_path)})
        settings = settings.model_copy(update={"storage": storage})
    logs.to_stderr(Redactor.from_settings(settings), log_level())
    return settings


def load_basics(path: Path | None) -> Basics:
    """What a read-only command needs of the config, as load_settings gives it: from the stamp when
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
    logs.to_stderr(Redactor.from_basics(basics), log_level())
    return basics


def open_database(basics: Basics, *, read_only: bool = False) -> AbstractContextManager[Database]:
    """The configured database for a `with` block; its faults become one-line errors. Read
    only, it is never created or migrated (store.open_read_only)."""
    from monitor import store

    return store.opened(basics.database_path, basics.busy_timeout, read_only=read_only)


def os_fault(exc: OSError) -> str:
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


class Commands(click.Group):
    """The command group: a fault of the environment or of the input (a MonitorError, an
    unreadable or unwritable file) ends a command with one line on stderr and exit status 1,
    never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(os_fault(exc)) from None
        except sqlite3.Error as exc:
            raise click.ClickException(
                f"database error ({exc}); check the file [storage].database names"
            ) from None
        except RecursionError:
            raise click.ClickException(
                "input nested too deeply to read; flatten it (see the file named above)"
            ) from None


def print_json(value: object) -> None:
    click.echo(json_text(value, indent=2))


def local_time(stamp: str | None, zone: str) -> str:
    if not stamp:
        return "-"
    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo(zone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


# Where --log-level is kept, in the group's click context.
LOG_LEVEL_KEY = "monitor.log_level"


def log_level() -> str | None:
    context = click.get_current_context(silent=True)
    return context.find_root().meta.get(LOG_LEVEL_KEY) if context is not None else None


def parse_since(value: str | None, zone: str, hint: str = "--since") -> datetime | None:
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
