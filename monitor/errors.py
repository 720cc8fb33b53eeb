"""One exception tree: every failure names the thing that failed and how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.models import Attempt


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """The configuration file is missing or invalid; `problems` lists each problem (with its
    key and fix), the message alone when there is one."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


class StoreError(MonitorError):
    """The database cannot be opened, read or written (read-only, locked, disk full): the
    message names the file, why, and what to do."""


class FetchError(MonitorError):
    """An HTTP request failed; `url` names it and the message says why."""

    def __init__(
        self,
        url: str,
        message: str,
        status: int | None = None,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.reason = message
        self.status = status
        self.attempts = attempts


class FeedError(MonitorError):
    """A response could not be read as a feed."""


class ExtractError(MonitorError):
    """No text could be extracted from a page or document."""


class NotifyError(MonitorError):
    """A channel (mail server, webhook) did not accept a message; it stays in the outbox."""
