"""Which comparisons a new version calls for, and making one: pure, the store is read by the caller.

A new version is compared with the previous version of the same URL (kind `revision`) and, when
the document is a new member of a series, with the previous member (`succession`) and the
series' baseline (`baseline`). monitor/ingest.py stores the changes with the version.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cmp_to_key

from monitor.analysis.compare import compare, language, verdict
from monitor.analysis.prepare import matcher
from monitor.models import (
    Change,
    ChangeKind,
    Extracted,
    Lexicon,
    StoredVersion,
)
from monitor.sources.urls import document_key

FEED_TEXT_CAP = 0.24


@dataclass(frozen=True)
class Incoming:
    """The document being stored, as its comparisons name it: its URL, source and series, the
    content hash of its new text, the source's boilerplate patterns, and whether the text is a
    feed's own (an entry's summary, not its article)."""

    url: str
    source: str
    series: str | None
    stored_hash: str
    ignore: Sequence[re.Pattern[str]]
    feed_text: bool = False


def compared(
    lexicon: Lexicon,
    ladders: Mapping[str, Sequence[str]],
    kind: ChangeKind,
    old: StoredVersion | Extracted,
    new: StoredVersion | Extracted,
    incoming: Incoming,
) -> Change | None:
    """Compare two versions; a StoredVersion side is named by its id, the other (an Extracted)
    is the `incoming` document."""
    url, stored_hash = incoming.url, incoming.stored_hash
    result = compare(
        old.text,
        new.text,
        matcher=matcher(lexicon),
        ladders=ladders,
        old_title=old.title,
        new_title=new.title,
        ignore=incoming.ignore,
    )
    if result.significance == 0:
        return None  # reflow, quote styles, boilerplate: no change a reader would see
    significance, line = result.significance, verdict(result)
    if incoming.feed_text:
        # A feed's blurb (a search result's snippet) is not the document: keep its rewording
        # in the history and the digest, in the lowest band, never as a downgrade alert.
        significance, line = min(significance, FEED_TEXT_CAP), f"feed summary: {line}"
    return Change(
        kind=kind,
        url=new.url if isinstance(new, StoredVersion) else url,
        title=new.title,
        old_title=old.title,
        source=incoming.source,
        series=incoming.series,
        detected_at=datetime.now(UTC),
        old_hash=old.content_hash if isinstance(old, StoredVersion) else stored_hash,
        new_hash=new.content_hash if isinstance(new, StoredVersion) else stored_hash,
        significance=significance,
        verdict=line,
        comparison=result,
        old_version_id=old.id if isinstance(old, StoredVersion) else None,
        new_version_id=new.id if isinstance(new, StoredVersion) else None,
    )


def series_comparisons(
    stored: Sequence[tuple[StoredVersion, str]],
    keys: Sequence[str],
    baseline: str | None,
    url: str,
    published: datetime | None,
    current: StoredVersion | Extracted,
) -> tuple[
    list[tuple[ChangeKind, StoredVersion | Extracted, StoredVersion | Extracted]],
    tuple[int, ...],
    tuple[int, ...],
]:
    """Which comparisons place a new member in its series (`stored`: its stored members with
    their dates, as store.series_members gives them; `keys`: the document keys the series
    lists, `baseline` its baseline's URL): with the member before it
    (succession), the member after it becomes a succession from it (an edition that arrives
    late), and with the baseline when the baseline comes before it. Also the document ids of
    the members before it and after it: a stored succession from one to the other skipped it.

    Order: members listed in `keys` keep their list order between themselves; any other
    pair is ordered by publication date (else by when it was first seen). A series may hold
    editions in two languages: a member is placed among the members in its own language only,
    so a translation is never compared word for word with its original."""
    listed = {key: i for i, key in enumerate(keys)}
    tongue = language(current.text)
    stamp = (published or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    # (url, date, arrival): on equal dates the member stored first comes first.
    Place = tuple[str, str, int]
    members = [
        (v, (v.url, when, v.document_id))
        for v, when in stored
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
    plans: list[tuple[ChangeKind, StoredVersion | Extracted, StoredVersion | Extracted]] = []
    previous = earlier[-1][0] if earlier else None
    following = later[0][0] if later else None
    if previous is not None:
        plans.append(("succession", previous, current))
    if following is not None:
        plans.append(("succession", current, following))
    if baseline:
        base_key = document_key(baseline)
        base = next((v for v, _ in earlier if v.url == base_key), None)
        if base is not None and base is not previous:
            plans.append(("baseline", base, current))
    return plans, tuple(v.document_id for v, _ in earlier), tuple(v.document_id for v, _ in later)
