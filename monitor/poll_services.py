"""What a source kind's handler may ask of the poll, besides fetching and extracting: the half
of the `Engine` protocol (monitor/sources/engine.py) that reads and writes the store through
monitor/ingest.py and keeps the poll's summary. `_Poll` in monitor/pipeline.py, the engine that
orders the stages, is one of these; the handlers (monitor/sources/feed_kind.py, page_kind.py)
see only the protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlite_utils import Database

from monitor import store
from monitor.analysis.match import Matcher
from monitor.analysis.prepare import matcher, prepared
from monitor.config import Settings, Source
from monitor.ingest import source_failed, source_succeeded, store_document
from monitor.models import Arrival, Concept, Extracted, FeedEntry, Processed, Response
from monitor.redact import Redactor, public_url
from monitor.sources.engine import EntryState, Summary

log = logging.getLogger("monitor.poll")


class PollServices:
    """One poll's store, redaction and summary, as the source kinds' handlers use them."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self.lexicon = settings.lexicon()
        # Every error text and URL stored, logged or reported passes it; fetches use the real URL.
        self.redactor = Redactor.from_settings(settings)
        self.summary = Summary()
        self.keywords: dict[str, Matcher | None] = {}

    def fail_source(self, source: Source, error: str) -> None:
        error = self.redactor.redact(error)
        source_failed(self.settings, self.db, source.name, self.redactor.url(source.url), error)
        self.summary.errors.append((source.name, error))
        self.summary.failed.append(source.name)
        log.warning(error, extra={"event": "source", "source": source.name})

    def succeeded(
        self, source: Source, title: str | None = None, warning: str | None = None
    ) -> None:
        warning = self.redactor.optional(warning)
        url = self.redactor.url(source.url)
        source_succeeded(self.settings, self.db, source.name, url, title, warning)

    def charset(self, source: Source, url: str, warning: str | None) -> None:
        """Keep on the source, and log, a wrong charset declaration of a document it just
        decoded; a document decoded right clears the warning that was about it."""
        shown = self.redactor.url(url)
        if warning is not None:
            warning = f"{shown}: {warning}"
            log.warning(warning, extra={"event": "charset", "source": source.name})
        store.source_warning(self.db, source.name, shown, warning)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def redact_url(self, url: str) -> str:
        return self.redactor.url(url)

    def public_url(self, url: str) -> str:
        return public_url(url)

    def prepared(self, extracted: Extracted) -> Processed:
        return prepared(extracted, matcher(self.lexicon))

    def store(
        self, source: Source, arrival: Arrival, validators: dict[str, str] | None = None
    ) -> None:
        stored = store_document(self.settings, self.db, source, arrival, validators=validators)
        self.summary.new_documents += stored.new_document
        self.summary.new_versions += stored.new_version
        self.summary.mentions += stored.mentions
        self.summary.changes += stored.changes
        self.summary.wording.extend(stored.wording)

    def mentions(self, source: Source, text: str) -> bool:
        if source.name not in self.keywords:  # one automaton per source and poll
            keywords = [Concept("keyword", "keyword", source.keywords)]
            self.keywords[source.name] = Matcher(keywords) if source.keywords else None
        found = self.keywords[source.name]
        concepts = matcher(self.lexicon)
        return (
            concepts.matches_any(text)
            or concepts.names_target(text)
            or (found is not None and found.matches_any(text))
        )

    def entry_states(self, urls: Iterable[str]) -> Mapping[str, EntryState]:
        return store.entry_states(self.db, urls)

    def owed_entries(self, source: Source, max_failures: int) -> list[FeedEntry]:
        return list(store.owed_entries(self.db, source.name, max_failures))

    def give_up(self, url: str, error: str, max_failures: int) -> None:
        store.give_up_article(self.db, url, error, max_failures)

    def save_validators(
        self, source: Source, headers: dict[str, str], body_hash: str | None
    ) -> None:
        store.save_validators(self.db, public_url(source.url), headers, body_hash)

    def page_unchanged(self, source: Source, url: str, response: Response, body_hash: str) -> None:
        with store.transaction(self.db):  # one commit for the page and its source
            store.page_unchanged(self.db, public_url(source.url), url, response.headers, body_hash)
            self.succeeded(source)

    def page_placement(self, url: str) -> tuple[str | None, bool] | None:
        return store.page_placement(self.db, url)
