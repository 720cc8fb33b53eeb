"""Wording changes of a new version: which earlier versions to compare it with, and storing it.

A new version is compared with the previous version of the same URL (kind `revision`) and, when
the document is a new member of a series, with the previous member (`succession`) and the
series' baseline (`baseline`). The changes are stored in the same transaction as the version.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cmp_to_key
from pathlib import Path

from sqlite_utils import Database

from monitor import alerts, match_document, store
from monitor.compare import as_json, compare, language, verdict
from monitor.config import Series, Settings, Source
from monitor.diff import strip_ignored
from monitor.extract import extract_file
from monitor.match import Matcher
from monitor.models import (
    ArticleEvent,
    ChangeEvent,
    ChangeRecord,
    Extracted,
    FeedEntry,
    Lexicon,
    OutboxItem,
    Placement,
    Processed,
    Stored,
    StoredVersion,
    StoreLimits,
    WordingChange,
)
from monitor.redact import public_url, redact_url
from monitor.text import content_hash
from monitor.urls import document_key

FEED_TEXT_CAP = 0.24
log = logging.getLogger("monitor.changes")


def matcher(lexicon: Lexicon) -> Matcher:
    """One compiled matcher per lexicon (per process)."""
    return match_document.matcher(lexicon)


def prepare(
    extracted: Extracted,
    lexicon: Lexicon,
    raw: bytes | None = None,
    raw_bytes: int | None = None,
    body_hash: str | None = None,
) -> Processed:
    """Extracted text with its mentions and content hash, ready to store."""
    return prepared(extracted, matcher(lexicon), raw, raw_bytes, body_hash)


def prepared(
    extracted: Extracted,
    found: Matcher,
    raw: bytes | None = None,
    raw_bytes: int | None = None,
    body_hash: str | None = None,
) -> Processed:
    """`prepare` with the lexicon's matcher in hand; the text is normalised once, for the
    matching and the content hash (as the extraction workers do it)."""
    return match_document.prepared(extracted, found, raw, raw_bytes, body_hash)


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
    ready = prepare(
        extracted, settings.lexicon(), store.pack(body), len(body), store.body_hash(body)
    )
    return store_document(
        settings,
        db,
        source=None,
        url=document_key(str(path)),
        link=str(path),
        kind="file",
        processed=ready,
        published=published or extracted.published,
        series=series,
    )


def _compared(
    settings: Settings,
    kind: str,
    old: StoredVersion | Extracted,
    new: StoredVersion | Extracted,
    *,
    ignore: Sequence[re.Pattern[str]],
    series: str | None,
    stored_hash: str,
    url: str,
    source: str,
    feed_text: bool = False,
) -> tuple[ChangeRecord, ChangeEvent] | None:
    """Compare two versions; a StoredVersion side is named by its id, the other (an Extracted,
    with `stored_hash` and `url`) is the one being stored."""
    result = compare(
        old.text,
        new.text,
        matcher=matcher(settings.lexicon()),
        ladders=settings.ladders,
        old_title=old.title,
        new_title=new.title,
        ignore=ignore,
    )
    if result.significance == 0:
        return None  # reflow, quote styles, boilerplate: no change a reader would see
    significance, line = result.significance, verdict(result)
    if feed_text:
        # A feed's blurb (a search result's snippet) is not the document: keep its rewording
        # in the history and the digest, in the lowest band, never as a downgrade alert.
        significance, line = min(significance, FEED_TEXT_CAP), f"feed summary: {line}"
    record = ChangeRecord(
        kind,
        old.id if isinstance(old, StoredVersion) else None,
        series,
        significance,
        line,
        as_json(result),
        new.id if isinstance(new, StoredVersion) else None,
    )
    event = ChangeEvent(
        kind=kind,
        url=new.url if isinstance(new, StoredVersion) else url,
        title=new.title,
        old_title=old.title,
        source=source,
        series=series,
        detected_at=datetime.now(UTC),
        old_hash=old.content_hash if isinstance(old, StoredVersion) else stored_hash,
        new_hash=new.content_hash if isinstance(new, StoredVersion) else stored_hash,
        significance=record.significance,
        verdict=record.verdict,
        comparison=record.comparison,
    )
    return record, event


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
    failure: str | None = None,
    validators: dict[str, str] | None = None,
) -> Stored:
    """Store a processed document with the changes against its earlier versions (kind
    revision) and, for a series member, against the previous member and the baseline.

    `failure` records why the article behind a feed entry could not be had (the entry's own
    text is stored meanwhile); `validators` are the response headers whose ETag and
    Last-Modified are remembered for the source URL in the same transaction."""
    extracted = processed.extracted
    name = source.name if source else "local"
    title = extracted.title or (entry.title if entry else None)
    published = published or (entry.published if entry else None) or extracted.published
    series = series or settings.series_of(url, name, title)
    series_id = series.id if series else None
    ignore = source.ignore_patterns() if source else ()
    new_hash = processed.normalised_hash
    recent = store.recent_versions(db, url)
    unchanged = bool(recent) and recent[0].content_hash == new_hash
    # The side being stored: the stored latest version when the text did not change.
    current: StoredVersion | Extracted = recent[0] if unchanged else extracted
    feed_text = extracted.method == "feed"
    found: list[tuple[ChangeRecord, ChangeEvent] | None] = []

    def compared(kind: str, old: StoredVersion | Extracted, new: StoredVersion | Extracted) -> None:
        found.append(
            _compared(
                settings,
                kind,
                old,
                new,
                ignore=ignore,
                series=series_id,
                stored_hash=new_hash,
                url=url,
                source=name,
                feed_text=feed_text,
            )
        )

    if recent and not unchanged:
        # A return to an earlier state (A, B, A) is a flip, not news, also when the boilerplate
        # around it rotates; feed text that gives way to its article is not a revision either.
        identity = content_hash(strip_ignored(extracted.text, ignore))
        seen_before = any(
            content_hash(strip_ignored(v.text, ignore)) == identity for v in recent[1:]
        )
        if not seen_before and (recent[0].method == "feed") == feed_text:
            compared("revision", recent[0], extracted)
    placed = False
    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    replacing: tuple[ChangeRecord, ChangeEvent] | None = None
    if series is not None and not feed_text and not store.is_placed(db, url):
        # A member takes its place in the series once, with its first full text.
        plans, before, after = _series_comparisons(db, series, url, published, current)
        start = len(found)
        for relation, old, new in plans:
            compared(relation, old, new)
        placed = True
        # What takes the place of a succession that skipped over this member: the succession
        # from it into the later side, else the one into it from the earlier side.
        made = list(zip(plans, found[start:], strict=True))
        into_later = [pair for (r, old, _), pair in made if r == "succession" and old is current]
        from_earlier = [pair for (r, _, new), pair in made if r == "succession" and new is current]
        replacing = next((p for p in (*into_later, *from_earlier) if p is not None), None)
    changes = [pair for pair in found if pair is not None]
    for _, event in changes:
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
        changes=[event for _, event in changes],
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
        if kind in ("entry", "article")
        and all(v.method == "feed" for v in recent)
        and not (recent and feed_text)
        else None,
    )
    stored = store.save_document(
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
        changes=[record for record, _ in changes],
        failure=failure,
        validators=(public_url(source.url), validators) if source and validators else None,
        alerts=outbox,
        placed=placed,
        placement=Placement(
            series_id,
            before,
            after,
            next((i for i, pair in enumerate(changes) if pair is replacing), None),
        )
        if placed and series_id is not None
        else None,
        limits=StoreLimits(settings.storage.max_mentions, settings.storage.max_sentence),
    )
    stored = replace(
        stored,
        wording=tuple(
            WordingChange(redact_url(e.url), e.title, e.source, e.kind, e.significance, e.verdict)
            for _, e in changes
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
    changes: Sequence[ChangeEvent],
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


def _series_comparisons(
    db: Database,
    series: Series,
    url: str,
    published: datetime | None,
    current: StoredVersion | Extracted,
) -> tuple[
    list[tuple[str, StoredVersion | Extracted, StoredVersion | Extracted]],
    tuple[int, ...],
    tuple[int, ...],
]:
    """Which comparisons place a new member in its series: with the member before it
    (succession), the member after it becomes a succession from it (an edition that arrives
    late), and with the baseline when the baseline comes before it. Also the document ids of
    the members before it and after it: a stored succession from one to the other skipped it.

    Order: members listed in `members` keep their list order between themselves; any other
    pair is ordered by publication date (else by when it was first seen). A series may hold
    editions in two languages: a member is placed among the members in its own language only,
    so a translation is never compared word for word with its original."""
    listed = {key: i for i, key in enumerate(series.member_keys())}
    tongue = language(current.text)
    stamp = (published or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    # (url, date, arrival): on equal dates the member stored first comes first.
    Place = tuple[str, str, int]
    members = [
        (v, (v.url, when, v.document_id))
        for v, when in store.series_members(db, series.id)
        if v.url != url and language(v.text) == tongue
    ]

    def before(a: Place, b: Place) -> bool:
        if a[0] in listed and b[0] in listed:
            return listed[a[0]] < listed[b[0]]
        return (a[1], a[2]) < (b[1], b[2])

    me: Place = (url, stamp, sys.maxsize)
    earlier = [m for m in members if before(m[1], me)]
    later = [m for m in members if not before(m[1], me)]

    def order(x: tuple[StoredVersion, Place], y: tuple[StoredVersion, Place]) -> int:
        return -1 if before(x[1], y[1]) else 1

    earlier.sort(key=cmp_to_key(order))
    later.sort(key=cmp_to_key(order))
    plans: list[tuple[str, StoredVersion | Extracted, StoredVersion | Extracted]] = []
    previous = earlier[-1][0] if earlier else None
    following = later[0][0] if later else None
    if previous is not None:
        plans.append(("succession", previous, current))
    if following is not None:
        plans.append(("succession", current, following))
    if series.baseline:
        base_key = document_key(series.baseline)
        base = next((v for v, _ in earlier if v.url == base_key), None)
        if base is not None and base is not previous:
            plans.append(("baseline", base, current))
    return plans, tuple(v.document_id for v, _ in earlier), tuple(v.document_id for v, _ in later)
