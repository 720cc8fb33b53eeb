"""One poll of the sources: fetch, parse, follow, extract, match, store.

The only module that knows the order of the stages. Fetches run in a thread pool (they wait on
the network); extraction runs in a process pool on every core (it is CPU-bound); all database
work happens here, on the calling thread, one transaction per document.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from monitor import store
from monitor.compare import as_json, compare, verdict
from monitor.config import Series, Settings, Source
from monitor.errors import ExtractError, FeedError, FetchError
from monitor.extract import extract, extract_file
from monitor.feeds import parse_feed
from monitor.fetch import Fetcher, FetchSettings
from monitor.match import Matcher
from monitor.models import (
    ChangeRecord,
    Concept,
    Extracted,
    FeedEntry,
    Processed,
    Response,
    Stored,
    StoredVersion,
)
from monitor.text import content_hash
from monitor.urls import canonical_url, document_key, is_web

# An article whose fetch failed this many times in a row is not tried again.
MAX_ARTICLE_FAILURES = 3


@dataclass
class Summary:
    """What one poll did; `errors` pairs a source name with what went wrong."""

    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    new_documents: int = 0
    new_versions: int = 0
    mentions: int = 0
    changes: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "new_documents": self.new_documents,
            "new_versions": self.new_versions,
            "mentions": self.mentions,
            "changes": self.changes,
            "errors": [{"source": s, "error": e} for s, e in self.errors],
        }


@lru_cache(maxsize=4)
def _matcher(concepts: tuple[Concept, ...]) -> Matcher:
    return Matcher(concepts)


def process(
    body: bytes, url: str, content_type: str, concepts: tuple[Concept, ...], metadata: bool = True
) -> Processed:
    """Extract a fetched body and find the concepts in it (runs in a worker process)."""
    extracted = extract(body, url, content_type, metadata=metadata)
    # Compressing here, in the worker, keeps the storing thread free; level 1 is 3x faster
    # than the default and the body is kept only to re-run extraction.
    return _processed(extracted, concepts, zlib.compress(body, 1), len(body))


def _processed(
    extracted: Extracted,
    concepts: tuple[Concept, ...],
    raw: bytes | None = None,
    raw_bytes: int | None = None,
) -> Processed:
    mentions = tuple(_matcher(concepts).find(extracted.text))
    return Processed(extracted, content_hash(extracted.text), mentions, raw, raw_bytes)


def _entry_text(entry: FeedEntry) -> str:
    return "\n\n".join(part for part in (entry.title, entry.summary) if part)


@dataclass(frozen=True)
class _Job:
    """What a pending future is for."""

    stage: str  # feed, page, article, extract
    source: Source
    url: str
    entry: FeedEntry | None = None
    response: Response | None = None
    validators: tuple[str | None, str | None] = (None, None)


class _Poll:
    """The state of one poll: pools, pending work and the summary."""

    def __init__(self, settings: Settings, db: Database, progress: Callable[[str], None]) -> None:
        self.settings = settings
        self.db = db
        self.progress = progress
        self.concepts = settings.concept_records()
        self.summary = Summary()
        self.pending: dict[Future[Any], _Job] = {}
        self.threads = ThreadPoolExecutor(settings.fetch.concurrency, thread_name_prefix="fetch")
        self.fetcher = Fetcher(FetchSettings(**settings.fetch.model_dump()))
        self.processes: Executor | None = None
        # One fetch per host in flight: a thread never waits on another's host, so many
        # articles from one site cannot starve the other sites of threads.
        self.busy_hosts: set[str] = set()
        self.waiting: dict[str, deque[_Job]] = defaultdict(deque)

    def close(self) -> None:
        self.threads.shutdown(wait=True, cancel_futures=True)
        if self.processes is not None:
            self.processes.shutdown(wait=True, cancel_futures=True)
        self.fetcher.close()

    def _fetch(self, job: _Job) -> None:
        host = urlsplit(job.url).netloc
        if host in self.busy_hosts:
            self.waiting[host].append(job)
            return
        self.busy_hosts.add(host)
        etag, modified = job.validators
        future = self.threads.submit(
            self.fetcher.get,
            job.url,
            etag=etag,
            last_modified=modified,
            delay=job.source.delay,
            robots=job.stage == "article",
        )
        self.pending[future] = job

    def _fetched_from(self, job: _Job) -> None:
        host = urlsplit(job.url).netloc
        self.busy_hosts.discard(host)
        if self.waiting[host]:
            self._fetch(self.waiting[host].popleft())

    def _extract(self, job: _Job, response: Response) -> None:
        workers = self.settings.extract.workers or os.cpu_count() or 1
        job = _Job("extract", job.source, job.url, job.entry, response)
        # An article's feed entry already gives its date: skip reading the page's metadata.
        metadata = job.entry is None
        args = (response.body, response.final_url, response.content_type, self.concepts, metadata)
        if workers == 1:
            try:
                result: object = process(*args)
            except ExtractError as exc:
                result = exc
            self._finish_extract(job, response, result)
            return
        if self.processes is None:
            # spawn, not fork: forking a process that runs fetch threads can deadlock.
            context = multiprocessing.get_context("spawn")
            self.processes = ProcessPoolExecutor(workers, mp_context=context)
        self.pending[self.processes.submit(process, *args)] = job

    def run(self, sources: Sequence[Source]) -> Summary:
        self.summary.sources = len(sources)
        for source in sources:
            validators = store.validators(self.db, source.url)
            self._fetch(_Job(source.kind, source, source.url, validators=validators))
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = self.pending.pop(future)
                try:
                    result = future.result()
                except (FetchError, ExtractError, FeedError) as exc:
                    result = exc
                except Exception as exc:  # a bug or a library crash must not stop the other sources
                    result = ExtractError(f"{job.url}: unexpected {type(exc).__name__}: {exc}")
                if job.stage != "extract":
                    self._fetched_from(job)
                self._handle(job, result)
        return self.summary

    def _handle(self, job: _Job, result: object) -> None:
        if isinstance(result, (FetchError, Response)):
            store.record_attempts(self.db, job.source.name, result.attempts)
        if job.stage == "feed":
            self._feed_done(job, result)
        elif job.stage == "page":
            self._page_done(job, result)
        elif job.stage == "article":
            self._article_done(job, result)
        else:
            assert job.response is not None
            self._finish_extract(job, job.response, result)

    def _fail_source(self, source: Source, error: str) -> None:
        store.source_failed(self.db, source.name, error)
        self.summary.errors.append((source.name, error))
        self.progress(f"{source.name}: {error}")

    def _fetched(self, job: _Job, result: object) -> Response | None:
        if isinstance(result, Exception):
            self._fail_source(job.source, str(result))
            return None
        assert isinstance(result, Response)
        if result.not_modified:
            self.summary.not_modified += 1
            store.source_succeeded(self.db, job.source.name)
            return None
        self.summary.fetched += 1
        return result

    def _feed_done(self, job: _Job, result: object) -> None:
        response = self._fetched(job, result)
        if response is None:
            return
        source = job.source
        try:
            feed = parse_feed(response.body, response.headers, response.final_url)
        except FeedError as exc:
            self._fail_source(source, str(exc))
            return
        store.save_validators(self.db, source.url, response.headers)
        warning = (
            f"feed partly unreadable, kept {len(feed.entries)} entries: {feed.problem}"
            if (feed.problem)
            else None
        )
        store.source_succeeded(self.db, source.name, feed.title, warning)
        if warning:
            self.summary.errors.append((source.name, warning))
        settled = store.settled_urls(self.db, (e.url for e in feed.entries), MAX_ARTICLE_FAILURES)
        keywords = (
            Matcher([Concept("keyword", "keyword", source.keywords)]) if source.keywords else None
        )
        matcher = _matcher(self.concepts)
        for entry in feed.entries:
            if entry.url in settled:
                continue
            text = _entry_text(entry)
            follow = source.follow == "all" or (
                source.follow == "matching"
                and (
                    matcher.matches_any(text)
                    or (keywords is not None and keywords.matches_any(text))
                )
            )
            if follow:
                self._fetch(_Job("article", source, entry.link, entry))
            else:
                self._save_entry(source, entry)
        self.progress(f"{source.name}: {len(feed.entries)} entries, {len(settled)} known")

    def _save_entry(self, source: Source, entry: FeedEntry) -> None:
        processed = _processed(
            Extracted(_entry_text(entry), entry.title, entry.published, "feed"), self.concepts
        )
        self._count(
            store_document(
                self.settings,
                self.db,
                source=source,
                url=entry.url,
                link=entry.link,
                kind="entry",
                processed=processed,
                entry=entry,
            )
        )

    def _article_failed(self, source: Source, entry: FeedEntry, error: str) -> None:
        """Keep the entry's own text and count the failure; later polls retry the article."""
        self._save_entry(source, entry)
        store.article_failed(self.db, entry.url, error)
        self.summary.errors.append((source.name, error))

    def _count(self, stored: Stored) -> None:
        self.summary.new_documents += stored.new_document
        self.summary.new_versions += stored.new_version
        self.summary.mentions += stored.mentions
        self.summary.changes += stored.changes

    def _article_done(self, job: _Job, result: object) -> None:
        assert job.entry is not None
        if isinstance(result, Exception):
            self._article_failed(job.source, job.entry, str(result))
            return
        assert isinstance(result, Response)
        self.summary.fetched += 1
        self._extract(job, result)

    def _page_done(self, job: _Job, result: object) -> None:
        response = self._fetched(job, result)
        if response is None:
            return
        store.save_validators(self.db, job.source.url, response.headers)
        store.source_succeeded(self.db, job.source.name)
        self._extract(job, response)

    def _finish_extract(self, job: _Job, response: Response, result: object) -> None:
        url = job.entry.url if job.entry else canonical_url(job.source.url)
        if isinstance(result, Exception):
            if job.entry is not None:
                self._article_failed(job.source, job.entry, str(result))
            else:
                store.source_failed(self.db, job.source.name, str(result))
                self.summary.errors.append((job.source.name, str(result)))
            return
        assert isinstance(result, Processed)
        self._count(
            store_document(
                self.settings,
                self.db,
                source=job.source,
                url=url,
                link=job.entry.link if job.entry else job.source.url,
                kind="article" if job.entry else "page",
                processed=result,
                entry=job.entry,
                content_type=response.content_type,
                final_url=response.final_url,
            )
        )


def poll(
    settings: Settings,
    db: Database,
    sources: Sequence[Source] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Summary:
    """Poll the given sources (default: every enabled source) once."""
    chosen = [s for s in settings.sources if s.enabled] if sources is None else list(sources)
    store.sync_sources(db, settings.sources)
    run = _Poll(settings, db, progress)
    try:
        summary = run.run(chosen)
    finally:
        run.close()
    if sources is None:
        for series in settings.series:
            for member in series.members:
                if not is_web(member):
                    _add_local(settings, db, Path(member), series, summary)
    return summary


def _add_local(
    settings: Settings, db: Database, path: Path, series: Series, summary: Summary
) -> None:
    """Store a series member that is a local file (re-read at each poll, stored when changed)."""
    try:
        stored = add_file(settings, db, path, series=series)
    except ExtractError as exc:
        summary.errors.append((f"series {series.id}", str(exc)))
        return
    summary.new_documents += stored.new_document
    summary.new_versions += stored.new_version
    summary.mentions += stored.mentions
    summary.changes += stored.changes


def add_file(
    settings: Settings,
    db: Database,
    path: Path,
    *,
    series: Series | None = None,
    title: str | None = None,
    published: datetime | None = None,
) -> Stored:
    """Store a local document (PDF, HTML, Markdown or text), e.g. an edition no longer online."""
    extracted = extract_file(path)
    if title:
        extracted = replace(extracted, title=title)
    body = path.read_bytes()
    processed = _processed(extracted, settings.concept_records(), zlib.compress(body, 1), len(body))
    return store_document(
        settings,
        db,
        source=None,
        url=document_key(str(path)),
        link=str(path),
        kind="file",
        processed=processed,
        published=published or extracted.published,
        series=series,
    )


def _compared(
    settings: Settings,
    kind: str,
    old: StoredVersion,
    new: Extracted,
    ignore: Sequence[re.Pattern[str]],
    series: str | None,
) -> ChangeRecord | None:
    result = compare(
        old.text,
        new.text,
        matcher=_matcher(settings.concept_records()),
        ladders=settings.ladders,
        old_title=old.title,
        new_title=new.title,
        ignore=ignore,
    )
    if result.significance == 0:
        return None  # reflow, quote styles, boilerplate: no change a reader would see
    return ChangeRecord(kind, old.id, series, result.significance, verdict(result), as_json(result))


def store_document(
    settings: Settings,
    db: Database,
    *,
    source: Source | None,
    url: str,
    link: str,
    kind: str,
    processed: Processed,
    entry: FeedEntry | None = None,
    content_type: str | None = None,
    final_url: str | None = None,
    published: datetime | None = None,
    series: Series | None = None,
) -> Stored:
    """Store a processed document with the changes against its earlier versions (kind
    revision) and, for a series member, against the previous member and the baseline."""
    extracted = processed.extracted
    name = source.name if source else "local"
    title = extracted.title or (entry.title if entry else None)
    published = published or (entry.published if entry else None) or extracted.published
    series = series or settings.series_of(url, name, title)
    ignore = source.ignore_patterns() if source else ()
    new_hash = processed.normalised_hash
    recent = store.recent_versions(db, url)
    if recent and recent[0].content_hash == new_hash:
        return store.save_document(
            db, source=name, url=url, link=link, kind=kind, processed=processed, entry=entry
        )
    changes: list[ChangeRecord | None] = []
    series_id = series.id if series else None
    # A return to an earlier state (A, B, A) is a flip, not news; feed text that gives way to
    # the article it summarised is not a revision either.
    seen_before = any(v.content_hash == new_hash for v in recent[1:])
    if recent and not seen_before and (recent[0].method == "feed") == (extracted.method == "feed"):
        changes.append(_compared(settings, "revision", recent[0], extracted, ignore, series_id))
    if series is not None and not recent:
        baseline = document_key(series.baseline) if series.baseline else None
        before, base = store.series_neighbours(db, series.id, url, published, baseline)
        if before is not None:
            changes.append(_compared(settings, "succession", before, extracted, ignore, series_id))
        if base is not None and (before is None or base.id != before.id):
            changes.append(_compared(settings, "baseline", base, extracted, ignore, series_id))
    return store.save_document(
        db,
        source=name,
        url=url,
        link=link,
        kind=kind,
        processed=processed,
        entry=entry,
        content_type=content_type,
        final_url=final_url,
        series=series_id,
        published=published,
        changes=[c for c in changes if c is not None],
    )
