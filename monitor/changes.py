"""Wording changes of a new version: which earlier versions to compare it with, and storing it.

A new version is compared with the previous version of the same URL (kind `revision`) and, when
the document is a new member of a series, with the previous member (`succession`) and the
series' baseline (`baseline`). The changes are stored in the same transaction as the version.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlite_utils import Database

from monitor import store
from monitor.compare import as_json, compare, verdict
from monitor.config import Series, Settings, Source
from monitor.extract import extract_file
from monitor.match import Matcher
from monitor.models import (
    ChangeRecord,
    Concept,
    Extracted,
    FeedEntry,
    Processed,
    Stored,
    StoredVersion,
)
from monitor.text import content_hash
from monitor.urls import document_key


@lru_cache(maxsize=4)
def matcher(concepts: tuple[Concept, ...]) -> Matcher:
    """One compiled matcher per set of concepts (per process)."""
    return Matcher(concepts)


def prepare(
    extracted: Extracted,
    concepts: tuple[Concept, ...],
    raw: bytes | None = None,
    raw_bytes: int | None = None,
) -> Processed:
    """Extracted text with its mentions and content hash, ready to store."""
    mentions = tuple(matcher(concepts).find(extracted.text))
    return Processed(extracted, content_hash(extracted.text), mentions, raw, raw_bytes)


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
    ready = prepare(extracted, settings.concept_records(), zlib.compress(body, 1), len(body))
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
    ignore: Sequence[re.Pattern[str]],
    series: str | None,
) -> ChangeRecord | None:
    """Compare two versions; a StoredVersion side is named by its id, the other is the one
    being stored."""
    result = compare(
        old.text,
        new.text,
        matcher=matcher(settings.concept_records()),
        ladders=settings.ladders,
        old_title=old.title,
        new_title=new.title,
        ignore=ignore,
    )
    if result.significance == 0:
        return None  # reflow, quote styles, boilerplate: no change a reader would see
    return ChangeRecord(
        kind,
        old.id if isinstance(old, StoredVersion) else None,
        series,
        result.significance,
        verdict(result),
        as_json(result),
        new.id if isinstance(new, StoredVersion) else None,
    )


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
    ignore = source.ignore_patterns() if source else ()
    new_hash = processed.normalised_hash
    recent = store.recent_versions(db, url)
    if recent and recent[0].content_hash == new_hash:
        return store.save_document(
            db,
            source=name,
            url=url,
            link=link,
            kind=kind,
            processed=processed,
            entry=entry,
            failure=failure,
            validators=(source.url, validators) if source and validators else None,
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
        before, after, base = store.series_neighbours(db, series.id, url, published, baseline)
        if before is not None:
            changes.append(_compared(settings, "succession", before, extracted, ignore, series_id))
        elif after is not None:
            # An earlier edition arriving after a later one (a feed lists newest first; an old
            # edition seeded by `monitor add`): the later one is now a succession from it.
            changes.append(_compared(settings, "succession", extracted, after, ignore, series_id))
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
        failure=failure,
        validators=(source.url, validators) if source and validators else None,
    )
