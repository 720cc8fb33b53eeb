"""Logging: one line per event, JSON when stdout is not a terminal (Docker, journald), readable
when it is. Events carry their fields as `extra=`; no secret is ever passed to a log call."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.untrusted import json_text, terminal

# The attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonLines(logging.Formatter):
    """{"time": UTC ISO-8601, "level", "logger", "message", ...fields} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json_text(line)


class Readable(logging.Formatter):
    """HH:MM:SS level message key=value ..."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{when} {record.levelname.lower():7} {record.getMessage()} {extra}".rstrip()
        line = terminal(line)  # on a terminal: titles and server texts shown, never obeyed
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str = "INFO", json_lines: bool | None = None) -> None:
    """Send monitor's and its libraries' logs to stdout in one format."""
    as_json = not sys.stdout.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines() if as_json else Readable())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Their per-request chatter would drown the events; warnings still come through.
    for noisy in ("httpx", "httpx2", "httpcore", "trafilatura", "htmldate", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


_SECRET = re.compile(r"key|token|secret|pass|auth|sig|session", re.IGNORECASE)


def redact(url: str) -> str:
    """A URL fit for a log: no user info, and query values that look like credentials hidden."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        query = [(k, "***" if _SECRET.search(k) else v) for k, v in parse_qsl(parts.query, True)]
        return urlunsplit((parts.scheme, host, parts.path, urlencode(query), ""))
    except ValueError:
        return "<unparsable URL>"
