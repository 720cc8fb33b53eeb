"""A host name that does not resolve is final for its attempt (no retries), and within one
poll it is asked once: the poll's other URLs of that host fail at once with the same reason.

The names are under .invalid (RFC 6761), which monitor's resolver answers itself, without a DNS
query: this machine's resolver would otherwise ask its name server, and tests use no network
but loopback. The resolver is wrapped to count the calls; every answer is the real one.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from monitor import store
from monitor.pipeline import Shared, _workers, poll
from monitor.sources.fetch import DnsFailures, Fetcher, FetchSettings, Unresolved, _resolve
from monitor.sources.reach import Address
from tests.conftest import MakeSettings
from tests.servers import LocalServer, deterrence_feed, respond

NOWHERE = "nowhere.invalid"
RSS = {"Content-Type": "application/rss+xml"}


class CountingResolver:
    """The real resolver, with a count of the names it was asked for."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int = 0) -> list[Address]:
        with self._lock:
            self.asked[host] += 1
        return _resolve(host, port)


def _settings(retries: int) -> FetchSettings:
    # A backoff this long would make a retried name take minutes: the attempts say it was not.
    return FetchSettings(user_agent="monitor-test", retries=retries, backoff=30.0, delay=0.0)


def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    resolver = CountingResolver()
    with (
        Fetcher(_settings(retries=3), resolve=resolver) as fetcher,
        pytest.raises(Unresolved) as raised,
    ):
        fetcher.get(f"http://{NOWHERE}/a")
    error = raised.value
    assert resolver.asked[NOWHERE] == 1, resolver.asked
    assert len(error.attempts) == 1, error.attempts
    assert "retried" not in error.reason, "fetch.retries = 3 was not applied"
    assert f"{NOWHERE} does not resolve" in error.reason, error.reason
    assert "check the host name" in error.reason, "the reason names the fix"


def test_a_poll_asks_for_a_name_once_and_its_other_urls_fail_with_that_reason() -> None:
    resolver = CountingResolver()
    failures = DnsFailures()
    with Fetcher(_settings(retries=3), resolve=resolver) as fetcher:
        errors = []
        for path in ("/a", "/b", "/c"):
            with pytest.raises(Unresolved) as raised:
                fetcher.get(f"http://{NOWHERE}{path}", dns=failures)
            errors.append(raised.value)
        assert resolver.asked[NOWHERE] == 1, resolver.asked
        assert len({e.reason for e in errors}) == 1, [e.reason for e in errors]
        assert all(len(e.attempts) == 1 for e in errors)
        assert len({e.attempts[0].error for e in errors}) == 1, "each records the same answer"
        assert errors[0].reason.startswith(str(errors[0].attempts[0].error))
        # The next poll (a new DnsFailures) asks again: the name may resolve by then.
        with pytest.raises(Unresolved):
            fetcher.get(f"http://{NOWHERE}/a", dns=DnsFailures())
        assert resolver.asked[NOWHERE] == 2, resolver.asked


def test_a_feeds_articles_on_a_name_that_does_not_resolve(
    tmp_path: Path, make_settings: MakeSettings
) -> None:
    """Three articles of a feed on one unresolvable host (robots.txt first, as for every
    article): one resolution, no retries, three failures with the same reason."""
    links = [f"http://{NOWHERE}/news/{n}.html" for n in range(3)]
    with LocalServer() as site:
        site.route("/feed", respond(200, deterrence_feed(*links), RSS))
        settings = make_settings(
            [{"name": "s", "kind": "feed", "url": site.url("/feed"), "follow": "all"}],
            retries=3,
            backoff=30.0,
        )
        resolver = CountingResolver()
        fetcher = Fetcher(settings.fetch.for_fetcher(), resolve=resolver)
        shared = Shared(fetcher, _workers(settings))
        try:
            with store.open_db(settings.database) as db:
                summary = poll(settings, db, shared=shared)
                fetched = [r for r in db["fetches"].rows if NOWHERE in r["url"]]
        finally:
            shared.close()
    assert resolver.asked[NOWHERE] == 1, resolver.asked
    assert summary.failed == [], "the feed itself was read"
    reasons = [error.split(": ", 1)[1] for _, error in summary.errors]
    assert len(reasons) == 3 and len(set(reasons)) == 1, summary.errors
    assert f"{NOWHERE} does not resolve" in reasons[0] and "retried" not in reasons[0]
    # One attempt recorded per article (its robots.txt), each with the same reason.
    assert len(fetched) == 3, fetched
    assert len({r["error"] for r in fetched}) == 1, fetched
    assert reasons[0].startswith(fetched[0]["error"]), (reasons[0], fetched[0]["error"])
