"""What an outbox row tells of, rendered: the message of a queued event with the concept labels,
time zone and concept order of the settings at hand (delivery's, or the web view's for a row
not delivered yet)."""

from __future__ import annotations

from dataclasses import replace

from monitor.config import Settings
from monitor.models import ArticleEvent, Change, Message, QueuedEvent, SourceEvent
from monitor.render import messages
from monitor.render.digest import render_digest


def concept_order(settings: Settings) -> tuple[str, ...]:
    """Ladder concepts first, strongest first, then the others in config order."""
    laddered = [cid for steps in settings.ladders.values() for cid in steps]
    return tuple(dict.fromkeys([*laddered, *settings.concepts]))


def render(settings: Settings, event: QueuedEvent, dedup_key: str) -> Message:
    """The message of a queued event, with the concept labels and time zone of `settings`."""
    labels = {cid: c.label for cid, c in settings.concepts.items()}
    zone = settings.schedule.timezone
    if isinstance(event, Change):
        return messages.change_message(event, dedup_key=dedup_key, timezone=zone, labels=labels)
    if isinstance(event, ArticleEvent):
        return messages.article_message(event, dedup_key=dedup_key, timezone=zone, labels=labels)
    if isinstance(event, SourceEvent):
        return messages.source_message(event, dedup_key=dedup_key, timezone=zone)
    shown = replace(event, labels=labels, timezone=zone, order=concept_order(settings))
    return render_digest(shown, dedup_key=dedup_key)
