"""Events the alert, message and notification tests share: a real comparison as a change event,
the two sentences of a CVID drop, a feed entry, and a document saved straight to the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from monitor import store
from monitor.analysis.compare import compare, verdict
from monitor.models import Arrival, Change, DocumentKind, FeedEntry, Processed, Stored
from tests.documents import LADDERS, MATCHER, SETTINGS

LABELS = {cid: c.label for cid, c in SETTINGS.concepts.items()}
TITLE = "U.S.-ROK Leaders' Joint Statement"
URL = "https://www.whitehouse.gov/briefing-room/statements-releases/2022/05/21/joint-statement/"
OLD_HASH, NEW_HASH = "0123456789abcdef" * 4, "fedcba9876543210" * 4
AT = datetime(2026, 11, 27, 20, 30, tzinfo=UTC)  # 2026-11-28 05:30 in Seoul
OLD_CVID = (
    "The two leaders reaffirmed their commitment to the complete, verifiable and irreversible "
    "denuclearization of North Korea."
)
NEW_COMPLETE = (
    "The two leaders reaffirmed their commitment to the complete denuclearization of North Korea."
)


def change_event(
    old: str,
    new: str,
    *,
    title: str | None = TITLE,
    kind: str = "succession",
    url: str = URL,
    source: str = "whitehouse",
) -> Change:
    c = compare(old, new, matcher=MATCHER, ladders=LADDERS)
    return Change(
        kind=kind,
        url=url,
        title=title,
        old_title=None,
        source=source,
        series="us-rok-joint-statements",
        detected_at=AT,
        old_hash=OLD_HASH,
        new_hash=NEW_HASH,
        significance=c.significance,
        verdict=verdict(c),
        comparison=c,
    )


def feed_entry(url: str, title: str, published: datetime | None = None) -> FeedEntry:
    """A feed entry as feeds.parse_feed makes one, linking to `url`."""
    return FeedEntry(url, url, title, "", published, published.isoformat() if published else None)


def save_arrival(
    db: Database,
    url: str,
    processed: Processed,
    *,
    source: str = "s",
    link: str | None = None,
    kind: DocumentKind = "article",
    entry: FeedEntry | None = None,
    failure: str | None = None,
    **options: Any,
) -> Stored:
    """`store.save_document` of what extraction made of `url` (found at `link`, by default `url`
    itself) from `source`, with save_document's keyword `options` (changes, limits, ...): the
    store tests' arrivals without the pipeline."""
    arrival = Arrival(
        url=url,
        link=url if link is None else link,
        kind=kind,
        processed=processed,
        entry=entry,
        failure=failure,
    )
    return store.save_document(db, source, arrival, **options)
