"""The outbox's events as JSON (`alerts.event_json`): what to send, kept until delivery renders
it. Versioned: a row of a version this monitor does not know is refused when read, not guessed.

Every event reads back as it was written, but for what `Comparison.from_json` documents (word
operations, which sentences moved), which the messages do not show; tests/test_outbox_events.py
renders each event and its read-back and compares them byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any

from monitor.models import (
    ArticleEvent,
    Change,
    Comparison,
    DigestData,
    Mention,
    QueuedEvent,
    SourceEvent,
)

# The version of event_json's shape; a row of another version is refused when read, not guessed.
EVENT_VERSION = 1


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _change(c: Change) -> dict[str, Any]:
    # Imported here: the read-only commands import the store and never queue an alert.
    from monitor.analysis.compare import as_json

    own = {f.name: getattr(c, f.name) for f in fields(c)}
    return {**own, "detected_at": _when(c.detected_at), "comparison": as_json(c.comparison)}


def _read_change(d: dict[str, Any]) -> Change:
    return Change(
        **{
            **d,
            "detected_at": datetime.fromisoformat(d["detected_at"]),
            "comparison": Comparison.from_json(d["comparison"]),
        }
    )


def _article(a: ArticleEvent) -> dict[str, Any]:
    # A sentence is written once however many mentions it carries (one may carry thousands).
    sentences: dict[str, int] = {}
    mentions = [
        [
            m.concept,
            m.variant,
            sentences.setdefault(m.sentence, len(sentences)),
            m.start,
            m.end,
            m.reason,
            m.counted,
            [list(f) for f in m.facets],
            m.sentence_start,
            m.sentence_end,
        ]
        for m in a.mentions
    ]
    return {
        "url": a.url,
        "title": a.title,
        "source": a.source,
        "published": _when(a.published),
        "detected_at": _when(a.detected_at),
        "content_hash": a.content_hash,
        "sentences": list(sentences),
        "mentions": mentions,
        "counts": [list(pair) for pair in a.counts],
    }


def _read_article(d: dict[str, Any]) -> ArticleEvent:
    sentences = d["sentences"]
    return ArticleEvent(
        url=d["url"],
        title=d["title"],
        source=d["source"],
        published=_moment(d["published"]),
        detected_at=datetime.fromisoformat(d["detected_at"]),
        content_hash=d["content_hash"],
        mentions=tuple(
            Mention(
                concept,
                variant,
                sentences[sentence],
                start,
                end,
                reason,
                counted,
                tuple((f, v) for f, v in facets),
                sentence_start,
                sentence_end,
            )
            for (
                concept,
                variant,
                sentence,
                start,
                end,
                reason,
                counted,
                facets,
                sentence_start,
                sentence_end,
            ) in d["mentions"]
        ),
        counts=tuple((c, n) for c, n in d["counts"]),
    )


def _source(s: SourceEvent) -> dict[str, Any]:
    return {**asdict(s), "at": _when(s.at)}


def _read_source(d: dict[str, Any]) -> SourceEvent:
    return SourceEvent(**{**d, "at": datetime.fromisoformat(d["at"])})


def _digest(data: DigestData) -> dict[str, Any]:
    return {
        "day": data.day.isoformat(),
        "start": _when(data.start),
        "end": _when(data.end),
        "timezone": data.timezone,
        "changes": [_change(c) for c in data.changes],
        "articles": [_article(a) for a in data.articles],
        "daily_counts": {
            cid: [[day.isoformat(), n] for day, n in series]
            for cid, series in data.daily_counts.items()
        },
        "labels": data.labels,
        "order": list(data.order),
    }


def _read_digest(d: dict[str, Any]) -> DigestData:
    return DigestData(
        day=date.fromisoformat(d["day"]),
        start=datetime.fromisoformat(d["start"]),
        end=datetime.fromisoformat(d["end"]),
        timezone=d["timezone"],
        changes=tuple(_read_change(c) for c in d["changes"]),
        articles=tuple(_read_article(a) for a in d["articles"]),
        daily_counts={
            cid: tuple((date.fromisoformat(day), n) for day, n in series)
            for cid, series in d["daily_counts"].items()
        },
        labels=dict(d["labels"]),
        order=tuple(d["order"]),
    )


def event_kind(event: QueuedEvent) -> str:
    """The `alerts.event` of a row telling of `event`: change, article, source or digest."""
    if isinstance(event, Change):
        return "change"
    if isinstance(event, ArticleEvent):
        return "article"
    if isinstance(event, SourceEvent):
        return "source"
    return "digest"


def event_json(event: QueuedEvent) -> str:
    """An event as the outbox stores it (`alerts.event_json`)."""
    kind = event_kind(event)
    if isinstance(event, Change):
        body = _change(event)
    elif isinstance(event, ArticleEvent):
        body = _article(event)
    elif isinstance(event, SourceEvent):
        body = _source(event)
    else:
        body = _digest(event)
    return json.dumps({"version": EVENT_VERSION, "kind": kind, kind: body}, ensure_ascii=False)


def read_event(text: str) -> QueuedEvent:
    """The event of an outbox row (`event_json`); ValueError for a shape this version cannot
    read (written by a newer monitor)."""
    data = json.loads(text)
    if data.get("version") != EVENT_VERSION:
        raise ValueError(f"outbox event of version {data.get('version')!r}; {EVENT_VERSION} known")
    kind = data["kind"]
    readers: dict[str, Callable[[dict[str, Any]], QueuedEvent]] = {
        "change": _read_change,
        "article": _read_article,
        "source": _read_source,
        "digest": _read_digest,
    }
    if kind not in readers:
        raise ValueError(f"outbox event of unknown kind {kind!r}")
    return readers[kind](data[kind])
