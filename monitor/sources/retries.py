"""Which failed responses are tried again, and how long to wait first: exponential backoff with
jitter, or the server's Retry-After up to `fetch.max_retry_after`.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx2

from monitor.sources.limits import Failure

MAX_BACKOFF = 60.0  # seconds; the exponential backoff never waits longer


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    if value.strip().isascii() and value.strip().isdigit():  # "²" is a digit to str.isdigit
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff(first: float, retried: int, retry_after: float | None) -> float:
    """Seconds to wait before retry number `retried` + 1 (`first`: fetch.backoff)."""
    if retry_after is not None:
        return retry_after + random.uniform(0.0, 0.1)
    base = min(first * 2.0**retried, MAX_BACKOFF)
    return base + random.uniform(0.0, 0.1 * base)


def check_status(response: httpx2.Response, max_retry_after: float) -> None:
    """Raise the Failure of a status that is not 2xx or 304: retried on 429 and 5xx."""
    status = response.status_code
    if 200 <= status < 300 or status == 304:
        return
    what = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 429 or status >= 500:
        wait = retry_after(response.headers.get("retry-after"))
        if wait is not None and wait > max_retry_after:
            most = max_retry_after
            reason = f"{what} with Retry-After {wait:.0f} s, over fetch.max_retry_after {most:g}"
            raise Failure(reason, "it will be tried again on the next poll", status)
        kind = "too many requests" if status == 429 else "server error"
        hint = "the site is busy or failing; it will be tried again on the next poll"
        raise Failure(f"{kind} ({what})", hint, status, retry=True, wait=wait)
    reason, hint = {
        404: ("not found", "check the URL in the config"),
        410: ("gone", "remove this URL from the config"),
        401: ("access denied", "check the URL, or ask the site to let monitor in"),
        403: ("access denied", "check the URL, or ask the site to let monitor in"),
    }.get(status, ("unexpected response", "check the URL in the config"))
    raise Failure(f"{reason} (HTTP {status})", hint, status)
