"""Politeness towards one host: its turn (one request at a time, with a pause between them, at
least its robots.txt Crawl-delay) and its robots.txt, read as monitor and cached a day.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from monitor.errors import FetchError
from monitor.models import Attempt, Response
from monitor.sources.transport import Refused, Unresolved, reraised_as

MAX_CRAWL_DELAY = 60.0  # a larger robots.txt Crawl-delay is shortened to this
ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 300.0  # an unreadable robots.txt is asked for again after this long


@dataclass
class Robots:
    parser: Protego | None  # None: everything allowed
    error: str | None  # set when robots.txt could not be read: nothing allowed for now
    until: float


@dataclass
class Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_end: float = float("-inf")
    crawl_delay: float = 0.0
    robots: dict[str, Robots] = field(default_factory=dict)  # by scheme://host:port


def check_robots(
    url: str, host: Host, attempts: list[Attempt], user_agent: str, read: Callable[[str], Response]
) -> None:
    """Raise FetchError unless the robots.txt of `url`'s origin lets monitor fetch it; `read`
    GETs a robots.txt URL within the host's turn (its attempts join `attempts`)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    entry = host.robots.get(origin)
    if entry is None or entry.until < time.monotonic():
        entry = host.robots[origin] = _load_robots(origin, host, attempts, user_agent, read)
    reason = None
    if entry.error is not None:
        reason = f"robots.txt unavailable ({entry.error}); {parts.netloc} is skipped for now"
    elif entry.parser is not None and not entry.parser.can_fetch(url, user_agent):
        reason = f"disallowed by robots.txt of {parts.netloc}; drop this page from the config"
    if reason is not None:
        raise FetchError(url, reason, attempts=tuple(attempts))


def _load_robots(
    origin: str, host: Host, out: list[Attempt], user_agent: str, read: Callable[[str], Response]
) -> Robots:
    now = time.monotonic()
    try:
        response = read(f"{origin}/robots.txt")
    except (Refused, Unresolved) as exc:
        # Not remembered: another source may be allowed this address; a name may resolve
        # at the next poll. The page fails for that reason, not for want of a robots.txt.
        raise reraised_as(exc)(exc.url, exc.reason, exc.status, (*out, *exc.attempts)) from None
    except FetchError as exc:
        out.extend(exc.attempts)
        if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
            return Robots(None, None, now + ROBOTS_TTL)  # no robots.txt: all allowed
        last = exc.attempts[-1].error if exc.attempts else None
        return Robots(None, last or exc.reason, now + ROBOTS_RETRY)
    out.extend(response.attempts)
    parser = Protego.parse(response.body.decode("utf-8", errors="replace"))
    crawl_delay = parser.crawl_delay(user_agent)
    if crawl_delay:
        host.crawl_delay = max(host.crawl_delay, min(float(crawl_delay), MAX_CRAWL_DELAY))
    return Robots(parser, None, now + ROBOTS_TTL)
