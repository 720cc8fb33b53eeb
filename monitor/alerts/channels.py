"""Channels by name: which kind (monitor/channel_kinds.py) a rule's or outbox row's channel
belongs to under this config, with its settings, and why it cannot send when it cannot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.channel_kinds import CHANNELS, ChannelKind
from monitor.config import Settings


@dataclass(frozen=True)
class Channel:
    """A channel name as the config resolves it: its kind and its settings (None: the section
    that would enable it is missing)."""

    name: str
    kind: ChannelKind
    settings: Any


def find(settings: Settings, name: str) -> Channel | None:
    """The channel a rule or outbox row names, by the first kind that has it; None when no
    kind does (a webhook since removed from the config, say)."""
    for kind in CHANNELS.values():
        if name in kind.reserved:
            return Channel(name, kind, kind.channels(settings).get(name))
        found = kind.channels(settings)
        if name in found:
            return Channel(name, kind, found[name])
    return None


def missing(channel: Channel | None, name: str) -> str:
    """Why a message for channel `name` cannot be sent under this config."""
    if channel is None:  # a name no kind has: webhooks are the channels that come and go by name
        return f"no webhook named {name!r} in the config; add it back"
    return channel.kind.absent or f"no {channel.kind.section} in the config for {name!r}"
