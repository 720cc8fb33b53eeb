"""Alert rules: which outbox items an event produces (delivery is monitor/alerts/delivery.py).

Rules are read in order and the first that matches an event decides: `deliver = "now"` writes
the event to the outbox (in the transaction that stores it; monitor/alerts/delivery.py renders
it when it sends it, so rules never render), `deliver = "digest"` lets the
event wait for the daily digest (which shows every change and article anyway). An event no rule
matches waits for the digest too. Dedup keys are built from the event itself (URL and content
hashes, source and the start of its run of failures, the digest's day), so the same event can
never be queued twice, and the key travels with the message (Message-ID, Idempotency-Key).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from monitor.alerts import channels as notify
from monitor.config import AlertRule, Settings
from monitor.models import (
    ArticleEvent,
    Change,
    OutboxItem,
    Queued,
    QueuedEvent,
    SourceEvent,
)

# Mentions the outbox keeps per concept of an article (besides the first of each sentence):
# as many as its message lists (render.untrusted.PAYLOAD_ITEMS; a test holds the two equal).
ALERT_MENTIONS = 100


def _short(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def shown(event: ArticleEvent) -> ArticleEvent:
    """The article as its alert tells it: per concept the first ALERT_MENTIONS mentions and the
    first mention in each other sentence, with the true counts. One sentence may carry 12,000
    mentions; the alert quotes it once and counts them all, so the outbox need not keep them."""
    counts = event.counts or tuple(Counter(m.concept for m in event.mentions).items())
    seen: Counter[str] = Counter()
    sentences: set[tuple[str, str]] = set()
    kept = []
    for m in event.mentions:
        seen[m.concept] += 1
        if seen[m.concept] <= ALERT_MENTIONS or (m.concept, m.sentence) not in sentences:
            kept.append(m)
        sentences.add((m.concept, m.sentence))
    return replace(event, mentions=tuple(kept), counts=counts)


def _items(
    settings: Settings,
    channels: Sequence[str],
    key: str,
    event: QueuedEvent,
    recipients: Sequence[str],
) -> list[OutboxItem]:
    """One outbox item per channel the config enables; a kind that needs recipients
    (email) needs somewhere to send to."""
    items = []
    for name in channels:
        channel = notify.find(settings, name)
        if channel is None or channel.settings is None:
            continue
        if channel.kind.needs_recipients and not recipients:
            continue
        to = tuple(recipients) if channel.kind.needs_recipients else ()
        items.append(OutboxItem(name, to, Queued(f"{key}:{name}", event)))
    return items


def _change_matches(rule: AlertRule, event: Change, watched: bool) -> bool:
    if rule.event != "change" or (rule.sources and event.source not in rule.sources):
        return False
    if (rule.kinds and event.kind not in rule.kinds) or (rule.watched_only and not watched):
        return False
    if event.significance < rule.min_significance:
        return False
    c = event.comparison
    concepts = [d for d in c.concepts if not rule.concepts or d.id in rule.concepts]
    if rule.statuses or rule.moves:
        moved = any(
            s.move in rule.moves
            and (not rule.concepts or s.old in rule.concepts or s.new in rule.concepts)
            for s in c.stance
        )
        # A weaker rung replaced by a stronger one (FFVD -> CVID) is an upgrade, not a drop.
        lifted = {s.old for s in c.stance if s.move == "upgrade"}
        lifted |= {d.id for d in concepts if d.superseded}
        return moved or any(d.status in rule.statuses and d.id not in lifted for d in concepts)
    return not rule.concepts or any(d.status != "unchanged" for d in concepts)


def _article_matches(rule: AlertRule, event: ArticleEvent, settings: Settings) -> bool:
    if rule.event != "article" or (rule.sources and event.source not in rule.sources):
        return False
    found = {m.concept for m in event.mentions if m.concept in settings.concepts}
    if rule.concepts:
        found &= set(rule.concepts)
    if rule.priority is not None:
        found = {c for c in found if settings.concepts[c].priority == rule.priority}
    return bool(found)


def _to_rule(
    settings: Settings, rule: AlertRule | None, key: str, event: QueuedEvent
) -> list[OutboxItem]:
    """The outbox items of the rule that matched an event (none when it waits for the digest)."""
    if rule is None or rule.deliver != "now":
        return []
    return _items(settings, rule.channels, key, event, settings.email.to if settings.email else ())


def for_change(settings: Settings, event: Change, *, watched: bool) -> list[OutboxItem]:
    """Alerts for a wording change, by the first rule that matches it."""
    rule = next((r for r in settings.alerts.rules if _change_matches(r, event, watched)), None)
    key = f"change:{event.kind}:{_short(event.url)}:{event.old_hash[:12]}:{event.new_hash[:12]}"
    return _to_rule(settings, rule, key, event)


def for_article(settings: Settings, event: ArticleEvent) -> list[OutboxItem]:
    """Alerts for a new article that mentions concepts, by the first rule that matches it."""
    if not event.mentions:
        return []
    rule = next((r for r in settings.alerts.rules if _article_matches(r, event, settings)), None)
    return _to_rule(settings, rule, f"article:{_short(event.url)}", shown(event))


def for_source(settings: Settings, event: SourceEvent, since: str) -> list[OutboxItem]:
    """An alert when a source reaches the failure threshold, and one when it recovers after
    that: once per run of failures, to the failure recipients."""
    threshold = settings.alerts.failure_threshold
    if event.failing and event.consecutive_failures != threshold:
        return []
    if not event.failing and event.consecutive_failures < threshold:
        return []
    key = f"source:{event.name}:{'down' if event.failing else 'up'}:{since}"
    to = settings.alerts.failure_recipients or (settings.email.to if settings.email else ())
    return _items(settings, settings.alerts.failure_channels, key, event, to)
