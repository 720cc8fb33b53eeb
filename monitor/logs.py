"""Logging: one line per event, JSON when stdout is not a terminal (Docker, journald), readable
when it is. Events carry their fields as `extra=`; no secret is ever passed to a log call, and
the formatters pass every line through the configured `Redactor` in case one is."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from monitor.redact import NOTHING, Redactor
from monitor.render.untrusted import json_text, terminal

# The attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonLines(logging.Formatter):
    """{"time": UTC ISO-8601, "level", "logger", "message", ...fields} on one line; every text
    in it redacted (before encoding, so no JSON escape hides a secret from the redactor)."""

    def __init__(self, redactor: Redactor = NOTHING) -> None:
        super().__init__()
        self.redactor = redactor

    def _clean(self, value: object) -> object:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {str(k): self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(v) for v in value]
        return self.redactor.redact(value if isinstance(value, str) else str(value))

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self._clean(record.getMessage()),
            **{k: self._clean(v) for k, v in _fields(record).items()},
        }
        if record.exc_info:
            line["exception"] = self._clean(self.formatException(record.exc_info))
        return json_text(line)


class Readable(logging.Formatter):
    """HH:MM:SS level message key=value ..., redacted."""

    def __init__(self, redactor: Redactor = NOTHING) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        # local time with its zone (a container without TZ says UTC), never a bare clock time
        when = datetime.fromtimestamp(record.created).astimezone().strftime("%H:%M:%S %Z")
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{when} {record.levelname.lower():7} {record.getMessage()} {extra}".rstrip()
        line = terminal(line)  # on a terminal: titles and server texts shown, never obeyed
        if record.exc_info:
            # an exception's text can quote a server too; its lines stay lines
            line += "\n" + terminal(self.formatException(record.exc_info), lines=True)
        return self.redactor.redact(line)


def setup(
    level: str = "INFO", json_lines: bool | None = None, redactor: Redactor = NOTHING
) -> None:
    """Send monitor's and its libraries' logs to stdout in one format, through `redactor`."""
    as_json = not sys.stdout.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines(redactor) if as_json else Readable(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Their per-request chatter would drown the events; warnings still come through.
    for noisy in ("httpx", "httpx2", "httpcore", "trafilatura", "htmldate", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """What Python prints when logging was never set up (warnings to stderr, message only),
    redacted; it writes to whatever sys.stderr is at the time."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


def to_stderr(redactor: Redactor, level: str | None = None) -> None:
    """For the one-shot commands: warnings (or `level` and above, from --log-level) to stderr
    as Python's last-resort handler prints them, but redacted. Leaves logging alone when
    something already set it up."""
    root = logging.getLogger()
    if not root.handlers:
        handler = _Stderr(redactor)
        handler.setLevel(level or logging.WARNING)
        root.addHandler(handler)
        if level is not None:
            root.setLevel(level)


class _Holding(logging.Filter):
    """Keeps back, in `records`, what the stderr handler would print: every record (`every`),
    else warnings and worse only."""

    def __init__(self, every: bool) -> None:
        super().__init__()
        self.every = every
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if self.every or record.levelno >= logging.WARNING:
            self.records.append(record)
            return False
        return True


@contextmanager
def held(every: bool) -> Iterator[Callable[[Collection[str]], None]]:
    """Hold back the stderr log lines (all of them with `every`, else warnings and worse) for
    the `with` block; the block calls what it is given with the messages printed elsewhere
    (a summary's errors) to print the others, each once. Anything still held at the end is
    printed then."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, _Stderr)]
    holding = _Holding(every)
    for handler in handlers:
        handler.addFilter(holding)

    def release(shown: Collection[str]) -> None:
        for handler in handlers:
            handler.removeFilter(holding)
        records, holding.records = holding.records, []
        for record in records:
            if record.getMessage() not in shown:
                for handler in handlers:
                    if record.levelno >= handler.level:
                        handler.handle(record)

    try:
        yield release
    finally:
        release(())
