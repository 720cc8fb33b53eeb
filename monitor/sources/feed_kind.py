"""The `feed` kind: an RSS or Atom feed whose entries are stored, and whose articles are followed
(fetched and extracted) as its `follow` says."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from monitor.body import body_hash
from monitor.errors import FeedError, FetchError
from monitor.models import Arrival, DocumentKind, Extracted, FeedEntry, Processed, Response
from monitor.sources.engine import Engine, Job, SourceKind, fetched_response

if TYPE_CHECKING:
    from monitor.config import Source

# An article whose fetch failed this many times in a row is not tried again.
MAX_ARTICLE_FAILURES = 3
log = logging.getLogger("monitor.poll")


def _entry_text(entry: FeedEntry) -> str:
    return "\n\n".join(part for part in (entry.title, entry.summary) if part)


@dataclass
class _Feed:
    """A feed response whose validators (and body hash) are remembered only once all its work
    is stored, so a poll that is killed half-way reads the feed again instead of getting a 304
    or skipping the same body."""

    headers: dict[str, str] | None
    body_hash: str | None = None
    outstanding: int = 0


class FeedHandler:
    """The feeds of one poll: each feed's outstanding articles, until they are stored."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.feeds: dict[str, _Feed] = {}

    def start(
        self, source: Source, validators: tuple[str | None, str | None], last: str | None
    ) -> None:
        self.engine.fetch(Job("feed", source, source.url, validators=validators, body_hash=last))

    def fetched(self, job: Job, result: Response | Exception) -> None:
        if job.stage == "article":
            self._article_fetched(job, result)
        else:
            self._feed_fetched(job, result)

    def extracted(self, job: Job, result: Processed | Exception) -> None:
        assert job.entry is not None and job.response is not None
        try:
            self._store_article(job, job.entry, job.response, result)
        finally:
            self._settled(job.source, 1)

    def _feed_fetched(self, job: Job, result: Response | Exception) -> None:
        # Imported here: the config imports the kinds registry, and a command that only reads
        # the history need not load feedparser.
        from monitor.sources import feeds

        engine, source = self.engine, job.source
        response = fetched_response(engine, job, result)
        if response is None:
            if isinstance(result, Response):  # 304: the feed is unchanged, but articles may be owed
                self.feeds[source.name] = _Feed(None)
                self._follow_owed(source, set())
                self._settled(source)
            return
        digest = body_hash(response.body)
        if digest == job.body_hash:  # the feed as last read: nothing new to parse
            engine.summary.unchanged += 1
            engine.succeeded(source)
            self.feeds[source.name] = _Feed(response.headers, digest)
            self._follow_owed(source, set())
            self._settled(source)
            return
        try:
            zone = source.timezone or engine.settings.schedule.timezone
            feed = feeds.parse_feed(response.body, response.headers, response.final_url, zone)
        except FeedError as exc:
            engine.fail_source(source, str(exc))
            return
        warning = None
        if feed.problem:
            warning = engine.redact(
                f"feed partly unreadable, kept {len(feed.entries)} entries: {feed.problem}"
            )
            engine.summary.errors.append((source.name, warning))
        engine.succeeded(source, feed.title, warning)
        engine.charset(source, job.url, feed.charset_warning)
        # A damaged feed is read again next time rather than answered with a 304.
        state = self.feeds[source.name] = _Feed(None if warning else response.headers, digest)
        known = engine.entry_states(e.url for e in feed.entries)
        budget = source.max_articles
        for entry in feed.entries:
            kind, failures, stored_entry = known.get(entry.url, (None, 0, None))
            if kind not in (None, "entry") or failures >= MAX_ARTICLE_FAILURES:
                continue
            follow = source.follow == "all" or (
                source.follow == "matching" and engine.mentions(source, _entry_text(entry))
            )
            if follow and (kind is None or failures > 0):
                if budget == 0:
                    state.headers = (
                        None  # the rest waits for the next poll, which re-reads the feed
                    )
                    continue
                budget -= 1
                state.outstanding += 1
                engine.fetch(Job("article", source, entry.link, entry, robots=True))
            elif kind is None or (not follow and stored_entry != entry.fingerprint):
                self._save_entry(source, entry)  # new, or its title, summary or link changed
        self._follow_owed(source, {e.url for e in feed.entries})
        log.debug(
            "feed read",
            extra={
                "event": "feed",
                "source": source.name,
                "entries": len(feed.entries),
                "to_fetch": state.outstanding,
            },
        )
        self._settled(source)

    def _follow_owed(self, source: Source, listed: set[str]) -> None:
        """Retry articles whose fetch failed at an earlier poll, even when the feed is unchanged."""
        if source.follow == "none":
            return
        state = self.feeds[source.name]
        for entry in self.engine.owed_entries(source, MAX_ARTICLE_FAILURES):
            if entry.url not in listed:
                state.outstanding += 1
                self.engine.fetch(Job("article", source, entry.link, entry, robots=True))

    def _settled(self, source: Source, finished: int = 0) -> None:
        state = self.feeds.get(source.name)
        if state is None:
            return
        state.outstanding -= finished
        if state.outstanding == 0 and state.headers is not None:
            self.engine.save_validators(source, state.headers, state.body_hash)
            state.headers = None

    def _save_entry(self, source: Source, entry: FeedEntry, failure: str | None = None) -> None:
        ready = self.engine.prepared(
            Extracted(_entry_text(entry), entry.title, entry.published, "feed")
        )
        self.engine.store(source, replace(_arrival(entry, "entry", ready), failure=failure))

    def _article_failed(self, source: Source, entry: FeedEntry, error: Exception) -> None:
        """Keep the entry's own text and count the failure; later polls retry the article."""
        text = self.engine.redact(str(error))
        self._save_entry(source, entry, failure=text)
        if (
            isinstance(error, FetchError)
            and "robots.txt" in error.reason
            and "disallowed" in error.reason
        ):
            self.engine.give_up(entry.url, text, MAX_ARTICLE_FAILURES)
        self.engine.summary.errors.append((source.name, text))

    def _article_fetched(self, job: Job, result: Response | Exception) -> None:
        assert job.entry is not None
        if isinstance(result, Exception):
            try:
                self._article_failed(job.source, job.entry, result)
            finally:
                self._settled(job.source, 1)
            return
        self.engine.summary.fetched += 1
        self.engine.extract(job, result)

    def _store_article(
        self, job: Job, entry: FeedEntry, response: Response, result: Processed | Exception
    ) -> None:
        if isinstance(result, Exception):
            self._article_failed(job.source, entry, result)
            return
        arrival = replace(
            _arrival(entry, "article", result),
            content_type=response.content_type,
            final_url=response.final_url,
        )
        self.engine.store(job.source, arrival)
        self.engine.charset(job.source, job.url, result.extracted.charset_warning)


def _arrival(entry: FeedEntry, kind: DocumentKind, processed: Processed) -> Arrival:
    """The entry (its own text) or the article behind it, keyed by the entry's URL."""
    return Arrival(entry.url, entry.link, kind, processed, entry)


KIND = SourceKind("feed", FeedHandler)
