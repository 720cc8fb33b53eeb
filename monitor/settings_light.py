"""Finding and reading the config file, and the light settings of the commands that only read
the database (`search`, `show`, `health`), without pydantic.

`monitor.config` validates the whole file (pydantic, 18 models, every concept pattern: most of a
read-only command's start-up, BENCHMARKS.md (h)). The commands that need only where the
database is, how long to wait for its lock, the time zone and the heartbeat interval read those
keys here instead, with the same file discovery (--config, $MONITOR_CONFIG, config/monitor.toml,
the shipped default config), the same $MONITOR_DB and --db overrides and errors in the same
words. A fault elsewhere in the file (a broken concept pattern, an unknown key of another table)
is not theirs to report: `monitor check`, and every other command, validates the whole file.

With `monitor.config`, the only module that reads environment variables.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError

DEFAULT_CONFIG = Path("config/monitor.toml")
ENV_CONFIG = "MONITOR_CONFIG"
ENV_DB = "MONITOR_DB"
# How the shipped default config is named in messages.
SHIPPED = "the shipped default config"

# The keys of [storage] (monitor.config.StorageSettings): it names the database, so a misspelt
# key there is reported here too rather than quietly opening the default database.
STORAGE_KEYS = ("database", "busy_timeout", "max_mentions", "max_sentence")
# The bounds monitor.config sets on the keys read here.
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class LightSettings:
    """What `search`, `show` and `health` read of the config (defaults as monitor.config's)."""

    database: Path = Path("monitor.db")  # [storage].database, after $MONITOR_DB and --db
    busy_timeout: float = 10.0  # [storage].busy_timeout
    timezone: str = "Asia/Seoul"  # [schedule].timezone
    heartbeat_seconds: float = 30.0  # [service].heartbeat_seconds
    # The secrets a log line must not show (the redactor's, as Redactor.from_settings reads
    # them: SMTP login, webhook tokens and URLs, source URLs with credentials).
    secrets: tuple[str, ...] = ()
    webhook_urls: tuple[str, ...] = ()
    source_urls: tuple[str, ...] = ()
    logins: tuple[tuple[str, str], ...] = ()


def config_path(path: Path | None) -> Path:
    """The config file to use: the given path, else $MONITOR_CONFIG, else config/monitor.toml."""
    if path is not None:
        return path
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG


def uses_shipped(path: Path | None) -> bool:
    """True when no config was asked for (no --config, no $MONITOR_CONFIG) and the default
    config/monitor.toml does not exist here: the shipped default config is used instead, so
    that every command runs from any folder after `pip install`."""
    return path is None and not os.environ.get(ENV_CONFIG) and not DEFAULT_CONFIG.exists()


def shipped_notice() -> str:
    """The one line on stderr that says the shipped default config is used."""
    return (
        f"no {DEFAULT_CONFIG} here: using {SHIPPED} "
        "(`monitor init` writes it to edit; --config or $MONITOR_CONFIG picks another)"
    )


def load_text(path: Path) -> str:
    """The config file's text; ConfigError naming the file and the fix when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found; run `monitor init` to write one, "
            f"or pass --config PATH (or set {ENV_CONFIG})"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"{path}: cannot read the config file (permission denied); make it readable by "
            "this user (chmod u+r), or pass --config PATH"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a folder, not a config file; pass --config PATH to the TOML file"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the config file is not UTF-8 ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the config file ({exc.strerror or exc}); check the file "
            "and its disk, or pass --config PATH"
        ) from None


def loads(text: str, *, origin: str = "config") -> dict[str, Any]:
    """Parse TOML text, turning syntax errors into ConfigError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(
            f"{origin}: not valid TOML for monitor: arrays or tables nested too deeply to read; "
            "flatten them (monitor's config nests at most a few levels)"
        ) from None


def shipped_config_text() -> str:
    """The commented example config that ships with monitor (config/monitor.toml)."""
    packaged = resources.files("monitor").joinpath("data/monitor.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # An editable install runs from the source tree, where the file sits beside the package.
    return (Path(__file__).resolve().parent.parent / DEFAULT_CONFIG).read_text(encoding="utf-8")


def load_light(path: Path | None = None, db: Path | None = None) -> LightSettings:
    """The light settings of the config `path` names (the shipped one when `uses_shipped`),
    with the database `db` names (--db), else $MONITOR_DB, else [storage].database;
    ConfigError naming the file, each bad key and its fix. The caller says the shipped
    config's `shipped_notice`."""
    if uses_shipped(path):
        origin, text = SHIPPED, shipped_config_text()
    else:
        found = config_path(path)
        origin, text = str(found), load_text(found)
    settings = parse_light(loads(text, origin=origin), origin=origin)
    return settings if db is None else replace(settings, database=db)


def parse_light(raw: Mapping[str, Any], *, origin: str = "config") -> LightSettings:
    """The light settings of a parsed TOML mapping, with $MONITOR_DB applied; ConfigError
    listing every problem with the keys read here, worded as monitor.config words them."""
    problems: list[str] = []
    storage = _table(raw, "storage", problems)
    schedule = _table(raw, "schedule", problems)
    service = _table(raw, "service", problems)
    for key in storage:
        if key not in STORAGE_KEYS:
            problems.append(
                f"storage.{key}: Extra inputs are not permitted (remove it or check its "
                "spelling against config/monitor.toml)"
            )
    database = _text(storage, "storage.database", "monitor.db", problems, 'e.g. "monitor.db"')
    busy = _number(storage, "storage.busy_timeout", 10.0, problems, low=0.0, high=HOUR)
    zone = _text(schedule, "schedule.timezone", "Asia/Seoul", problems, 'e.g. "Asia/Seoul"')
    if "timezone" in schedule and isinstance(schedule["timezone"], str):
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"schedule.timezone: unknown time zone {zone!r}; use an IANA name such as "
                "Asia/Seoul"
            )
    beat = _number(
        service, "service.heartbeat_seconds", 30.0, problems, low=0.0, high=DAY, above=True
    )
    if len(problems) == 1:  # one fault, one line (as monitor.config.parse)
        raise ConfigError(f"{origin}: {problems[0]}", (problems[0],))
    if problems:
        raise ConfigError(
            f"{origin} has {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            tuple(problems),
        )
    secrets, logins, hooks = _secrets(raw)
    return LightSettings(
        database=Path(os.environ.get(ENV_DB) or database),
        busy_timeout=busy,
        timezone=zone,
        heartbeat_seconds=beat,
        secrets=secrets,
        webhook_urls=hooks,
        source_urls=tuple(_strings(raw.get("sources"), "url")),
        logins=logins,
    )


def _table(raw: Mapping[str, Any], name: str, problems: list[str]) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if isinstance(value, dict):
        return value
    problems.append(f"{name}: Input should be a table (write it as [{name}] with its keys)")
    return {}


def _text(
    table: Mapping[str, Any], key: str, default: str, problems: list[str], example: str
) -> str:
    value = table.get(key.split(".")[1], default)
    if isinstance(value, str):
        return value
    problems.append(f"{key}: Input should be a valid string (quote it, {example})")
    return default


def _number(
    table: Mapping[str, Any],
    key: str,
    default: float,
    problems: list[str],
    *,
    low: float,
    high: float,
    above: bool = False,
) -> float:
    """A number as pydantic reads a float in lax mode (a numeric string too), within bounds."""
    value = table.get(key.split(".")[1], default)
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        number = None
    if number is None:
        problems.append(f"{key}: Input should be a valid number (use a number)")
    elif not math.isfinite(number):
        problems.append(
            f"{key}: Input should be a finite number (use a finite number; inf and nan are "
            "not allowed)"
        )
    elif above and number <= low:
        problems.append(f"{key}: Input should be greater than {low:g} (use a larger number)")
    elif number < low:
        problems.append(
            f"{key}: Input should be greater than or equal to {low:g} (use a larger number)"
        )
    elif number > high:
        problems.append(
            f"{key}: Input should be less than or equal to {high:g} (use a smaller number)"
        )
    else:
        return number
    return default


def _strings(entries: object, key: str) -> list[str]:
    """The string values of `key` in a TOML array of tables (what is not a string is skipped:
    the full config reports it)."""
    if not isinstance(entries, list):
        return []
    return [e[key] for e in entries if isinstance(e, dict) and isinstance(e.get(key), str)]


def _env(name: object) -> str | None:
    return os.environ.get(name) if isinstance(name, str) and name else None


def _secrets(
    raw: Mapping[str, Any],
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The secret values the config's environment variables hold (SMTP login, webhook tokens),
    the SMTP (user, password) pair and the webhook URLs, as Redactor.from_settings reads them."""
    secrets: list[str] = []
    logins: list[tuple[str, str]] = []
    email = raw.get("email")
    if isinstance(email, dict):
        user, password = _env(email.get("username_env")), _env(email.get("password_env"))
        secrets += [s for s in (user, password) if s]
        if user and password:
            logins.append((user, password))
    hooks = raw.get("webhooks")
    for hook in hooks if isinstance(hooks, list) else []:
        token = _env(hook.get("token_env")) if isinstance(hook, dict) else None
        if token:
            secrets.append(token)
    return tuple(secrets), tuple(logins), tuple(_strings(hooks, "url"))
