"""The validated-config stamp: read-only commands skip pydantic for a config validated before.

`monitor search`, `show` and `health` need five things from the config (the database, its busy
timeout, the time zone, the heartbeat interval and what the redactor must hide), yet validating
the whole file costs most of their start-up: importing pydantic and building monitor's models,
then checking some 400 concept patterns (BENCHMARKS.md (h)). Every command must still refuse a
broken config. So once a config text has been validated in full, its `Basics` are written to a
stamp named by a hash of that text and of the code that validates it; the next read-only command
that finds the stamp for the same text uses it instead of validating again. A text that fails
validation never gets a stamp, so it is refused by every command as before; an edit, an upgrade
or a change to the validating modules makes another hash, hence a full validation.

Stamps live in $XDG_CACHE_HOME/monitor/configs (else ~/.cache/monitor/configs), readable by this
user only: they hold the secret parts of configured URLs, as the config file does, but never the
values of the environment variables it names (those are read at each start, as sending does).
A cache that cannot be read or written is no error: the command validates in full.

Nothing here imports pydantic or monitor.config at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import __version__

if TYPE_CHECKING:
    from monitor.config import Settings

ENV_CACHE = "XDG_CACHE_HOME"
# The modules whose code decides whether a config is valid: a change to any of them (an editable
# install between versions) makes new stamps.
VALIDATORS = (
    "config.py",
    "config_sections.py",
    "analysis/patterns.py",
    "analysis/text.py",
    "models.py",
    "sources/reach.py",
    "sources/urls.py",
    # the source kinds' registry: the allowed kinds and their per-kind checks
    "sources/kinds.py",
    "sources/engine.py",
    "sources/feed_kind.py",
    "sources/page_kind.py",
    "body.py",
    # the channel kinds' registry: the channel names rules may use
    "channel_kinds.py",
    "config_stamp.py",
)
KEEP = 32  # stamps kept; the oldest beyond are removed when one is written
FORMAT = 1


@dataclass(frozen=True)
class Basics:
    """What the read-only commands and the redactor take from a valid config."""

    database: str
    busy_timeout: float
    timezone: str
    heartbeat_seconds: float
    # The environment variables holding secrets (the SMTP login and password, webhook tokens),
    # with the (user, password) pair of the SMTP login when both are named.
    secret_env: tuple[str, ...]
    login_env: tuple[tuple[str, str], ...]
    # Configured URLs whose secret parts the redactor hides: sources, then webhooks.
    source_urls: tuple[str, ...]
    webhook_urls: tuple[str, ...]

    @property
    def database_path(self) -> Path:
        return Path(self.database)


def of(settings: Settings) -> Basics:
    """The basics of a validated config."""
    email = settings.email
    secret_env: list[str] = []
    login_env: list[tuple[str, str]] = []
    if email is not None:
        secret_env += [e for e in (email.username_env, email.password_env) if e]
        if email.username_env and email.password_env:
            login_env.append((email.username_env, email.password_env))
    secret_env += [h.token_env for h in settings.webhooks if h.token_env]
    return Basics(
        database=settings.storage.database,
        busy_timeout=settings.storage.busy_timeout,
        timezone=settings.schedule.timezone,
        heartbeat_seconds=settings.service.heartbeat_seconds,
        secret_env=tuple(secret_env),
        login_env=tuple(login_env),
        source_urls=tuple(s.url for s in settings.sources),
        webhook_urls=tuple(h.url for h in settings.webhooks),
    )


def secrets(basics: Basics) -> tuple[list[str | None], list[tuple[str, str]]]:
    """The secret values the environment holds now for these basics, and the SMTP login pair."""
    values = [os.environ.get(name) for name in basics.secret_env]
    logins = [(os.environ.get(u) or "", os.environ.get(p) or "") for u, p in basics.login_env]
    return values, logins


def folder() -> Path:
    base = os.environ.get(ENV_CACHE)
    return (Path(base) if base else Path.home() / ".cache") / "monitor" / "configs"


def key(text: str) -> str:
    """The stamp's name for this config text, validated by this code."""
    digest = hashlib.sha256(f"{FORMAT}\0{__version__}\0".encode())
    here = Path(__file__).parent
    for name in VALIDATORS:
        try:
            info = (here / name).stat()
        except OSError:  # a zipped or frozen install: the version alone names the code
            continue
        digest.update(f"{name}\0{info.st_mtime_ns}\0{info.st_size}\0".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def read(text: str) -> Basics | None:
    """The basics stamped for this text, or None when it has not been validated here."""
    try:
        raw = json.loads((folder() / f"{key(text)}.json").read_text(encoding="utf-8"))
        return Basics(
            database=str(raw["database"]),
            busy_timeout=float(raw["busy_timeout"]),
            timezone=str(raw["timezone"]),
            heartbeat_seconds=float(raw["heartbeat_seconds"]),
            secret_env=tuple(str(e) for e in raw["secret_env"]),
            login_env=tuple((str(u), str(p)) for u, p in raw["login_env"]),
            source_urls=tuple(str(u) for u in raw["source_urls"]),
            webhook_urls=tuple(str(u) for u in raw["webhook_urls"]),
        )
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or damaged: validate in full
        return None


def write(text: str, basics: Basics) -> None:
    """Stamp this text as valid, with its basics; silently nothing where the cache is not
    writable (a read-only home in a container)."""
    where = folder()
    target = where / f"{key(text)}.json"
    try:  # written again each time: a damaged stamp is mended by the next full validation
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = where / f".{target.name}.{os.getpid()}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(basics), out)
        partial.replace(target)  # whole or not at all, even beside another command
        others = sorted(
            (p for p in where.glob("*.json") if p != target), key=lambda p: p.stat().st_mtime_ns
        )
        for old in others[: max(0, len(others) - (KEEP - 1))]:  # the oldest; never this one
            old.unlink(missing_ok=True)
    except OSError:
        return
