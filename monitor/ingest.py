"""The single write path: one document (fetched, from a feed, or a local file) compared with what
is stored, its alerts decided, and all of it saved in one transaction; a source's failures and
recoveries with the alerts they raise.

monitor/analysis/changes.py says which comparisons to make, monitor/alerts/rules.py which alerts a
change or an article raises; the store saves the version, its changes and its outbox items
together, so a crash leaves all of them or none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from monitor import store
from monitor.alerts import rules as alerts
from monitor.analysis.changes import Incoming, compared, series_comparisons
from monitor.analysis.diff import strip_ignored
from monitor.analysis.prepare import matcher, prepared
from monitor.analysis.text import content_hash
from monitor.config import Series, Settings, Source
from monitor.models import (
    Arrival,
    ArticleEvent,
    Change,
    ChangeKind,
    Extracted,
    OutboxItem,
    Placement,
    SourceEvent,
    Stored,
    StoredVersion,
    StoreLimits,
    WordingChange,
)
from monitor.redact import public_url, redact_url
from monitor.sources.urls import document_key

log = logging.getLogger("monitor.changes")  # the name in log lines, kept


def add_file(
    settings: Settings,
    db: Database,
    path: Path,
    *,
    series: Series | None = None,
    title: str | None = None,
    published: datetime | None = None,
) -> Stored:
    """Store a local document (PDF, HTML, Markdown or text), e.g. an edition no longer online.
    It is extracted here, in this process (the extraction stack is imported only then: a poll
    of web sources leaves it to the workers)."""
    from monitor.analysis.extract import extract_file

    extracted = extract_file(path)
    if title:
        extracted = replace(extracted, title=title)
    body = path.read_bytes()
    found = matcher(settings.lexicon())
    ready = prepared(extracted, found, body)
    return store_document(
        settings,
        db,
        None,
        Arrival(
            url=document_key(str(path)),
            link=str(path),
            kind="file",
            processed=ready,
            published=published or extracted.published,
        ),
        series=series,
    )


def store_document(
    settings: Settings,
    db: Database,
    source: Source | None,
    arrival: Arrival,
    *,
    series: Series | None = None,
    validators: dict[str, str] | None = None,
) -> Stored:
    """Store a document as it arrived from `source` (None: a local file) with the changes against
    its earlier versions (kind revision) and, for a series member, against the previous member
    and the baseline.

    `arrival.failure` records why the article behind a feed entry could not be had (the entry's
    own text is stored meanwhile); `validators` are the response headers whose ETag and
    Last-Modified are remembered for the source URL in the same transaction."""
    url, entry, processed = arrival.url, arrival.entry, arrival.processed
    extracted = processed.extracted
    name = source.name if source else "local"
    title = extracted.title or (entry.title if entry else None)
    published = arrival.published or (entry.published if entry else None) or extracted.published
    series = series or settings.series_of(url, name, title)
    series_id = series.id if series else None
    ignore = source.ignore_patterns() if source else ()
    new_hash = processed.normalised_hash
    recent = store.recent_versions(db, url)
    unchanged = bool(recent) and recent[0].content_hash == new_hash
    # The side being stored: the stored latest version when the text did not change.
    current: StoredVersion | Extracted = recent[0] if unchanged else extracted
    feed_text = extracted.method == "feed"
    incoming = Incoming(url, name, series_id, new_hash, ignore, feed_text)
    found: list[Change | None] = []

    def compare(
        kind: ChangeKind, old: StoredVersion | Extracted, new: StoredVersion | Extracted
    ) -> None:
        found.append(compared(settings.lexicon(), settings.ladders, kind, old, new, incoming))

    if recent and not unchanged:
        # A return to an earlier state (A, B, A) is a flip, not news, also when the boilerplate
        # around it rotates; feed text that gives way to its article is not a revision either.
        identity = content_hash(strip_ignored(extracted.text, ignore))
        seen_before = any(
            content_hash(strip_ignored(v.text, ignore)) == identity for v in recent[1:]
        )
        if not seen_before and (recent[0].method == "feed") == feed_text:
            compare("revision", recent[0], extracted)
    placed = False
    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    replacing: Change | None = None
    if series is not None and not feed_text and not store.is_placed(db, url):
        # A member takes its place in the series once, with its first full text.
        plans, before, after = series_comparisons(
            store.series_members(db, series.id),
            series.member_keys(),
            series.baseline,
            url,
            published,
            current,
        )
        start = len(found)
        for relation, old, new in plans:
            compare(relation, old, new)
        placed = True
        # What takes the place of a succession that skipped over this member: the succession
        # from it into the later side, else the one into it from the earlier side.
        made = list(zip(plans, found[start:], strict=True))
        into_later = [pair for (r, old, _), pair in made if r == "succession" and old is current]
        from_earlier = [pair for (r, _, new), pair in made if r == "succession" and new is current]
        replacing = next((p for p in (*into_later, *from_earlier) if p is not None), None)
    changes = [change for change in found if change is not None]
    for event in changes:
        log.info(
            event.verdict,
            extra={
                "event": "change",
                "kind": event.kind,
                "source": name,
                "url": redact_url(event.url),
                "significance": round(event.significance, 3),
            },
        )
    outbox = _alerts(
        settings,
        changes=changes,
        # Watched documents (pages, local files, series members) are where a dropped formula
        # is news; a feed's blurb never alerts, and neither does old history seen for the
        # first time (a new source's back catalogue).
        watched=source is None or source.kind == "page" or series is not None,
        feed_text=feed_text,
        stale=_stale(settings, published),
        # A new article: nothing stored yet, or only its feed blurb (its fetch had failed).
        article=ArticleEvent(
            url=url,
            title=title,
            source=name,
            published=published,
            detected_at=datetime.now(UTC),
            content_hash=new_hash,
            mentions=tuple(m for m in processed.mentions if m.counted),
        )
        if arrival.kind in ("entry", "article")
        and all(v.method == "feed" for v in recent)
        and not (recent and feed_text)
        else None,
    )
    stored = store.save_document(
        db,
        name,
        replace(arrival, published=published),
        series=series_id,
        changes=changes,
        validators=(public_url(source.url), validators) if source and validators else None,
        alerts=outbox,
        placed=placed,
        placement=Placement(
            series_id,
            before,
            after,
            next((i for i, change in enumerate(changes) if change is replacing), None),
        )
        if placed and series_id is not None
        else None,
        limits=StoreLimits(settings.storage.max_mentions, settings.storage.max_sentence),
    )
    stored = replace(
        stored,
        wording=tuple(
            WordingChange(redact_url(e.url), e.title, e.source, e.kind, e.significance, e.verdict)
            for e in changes
        ),
    )
    if stored.limits:
        log.warning(
            f"{redact_url(url)}: stored within limits: {stored.limits}",
            extra={"event": "limits", "source": name, "url": redact_url(url)},
        )
    return stored


def _stale(settings: Settings, published: datetime | None) -> bool:
    days = settings.alerts.max_age_days
    return bool(days and published and published < datetime.now(UTC) - timedelta(days=days))


def _alerts(
    settings: Settings,
    *,
    changes: Sequence[Change],
    watched: bool,
    feed_text: bool,
    stale: bool,
    article: ArticleEvent | None,
) -> list[OutboxItem]:
    """The alerts one stored version raises: for its most significant change that a rule sends
    now (one mail even when it differs from both its predecessor and the baseline), and for
    a new article. A `stale` document (published long ago: a new source's back catalogue, old
    editions seeding a series) raises none, except for a revision, which is news today."""
    items: list[OutboxItem] = []
    if not feed_text:
        current = [(i, e) for i, e in enumerate(changes) if e.kind == "revision" or not stale]
        for i, event in sorted(current, key=lambda pair: -pair[1].significance):
            # Tied to its change, so that superseding the change withdraws the alert.
            items = [
                replace(item, change=i)
                for item in alerts.for_change(settings, event, watched=watched)
            ]
            if items:
                break
    if article is not None and not stale:
        items += alerts.for_article(settings, article)
    return items


def source_failed(settings: Settings, db: Database, name: str, url: str, error: str) -> None:
    """Record a failed poll of source `name` (`url` and `error` already redacted) with the alert
    the start of a run of failures raises, in one transaction."""
    with store.transaction(db):
        failures, since = store.source_failed(db, name, error)
        event = SourceEvent(name, url, True, failures, error, datetime.now(UTC))
        store.enqueue(db, alerts.for_source(settings, event, since))


def source_succeeded(
    settings: Settings,
    db: Database,
    name: str,
    url: str,
    title: str | None = None,
    warning: str | None = None,
) -> None:
    """Record a good poll of source `name` and, when it ends a run of failures, the alert that
    says it recovered, in one transaction."""
    with store.transaction(db):
        failures, since = store.source_succeeded(db, name, title, warning)
        if since is not None:
            event = SourceEvent(name, url, False, failures, None, datetime.now(UTC))
            store.enqueue(db, alerts.for_source(settings, event, since))
