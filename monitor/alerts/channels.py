"""The channel kinds: how an outbox item reaches someone. `CHANNELS` maps a kind to what it
takes: the config section that enables it, the channels that section defines (by the name rules,
`failure_channels` and outbox rows use), whether it needs recipients, and how it sends a Message.

A new kind is one module (its sender: monitor/alerts/mail.py, monitor/alerts/webhooks.py) and one
entry here; monitor/alerts/rules.py and monitor/alerts/delivery.py look channels up here only.
Each sender returns (the channel accepted the message) or raises `NotifyError` naming the server
or webhook and what to check; the message then stays in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.alerts import mail, webhooks

# The senders live in their kinds' modules; their users find them here.
from monitor.alerts.mail import build_email as build_email
from monitor.alerts.mail import message_id as message_id
from monitor.alerts.mail import send_email as send_email
from monitor.alerts.webhooks import idempotency_key as idempotency_key
from monitor.alerts.webhooks import send_webhook as send_webhook
from monitor.alerts.webhooks import slack_body as slack_body
from monitor.config import Settings, WebhookSettings
from monitor.models import Message


@dataclass(frozen=True)
class ChannelKind:
    """One kind of channel. `channels` gives the channels of this kind that a config defines,
    each with its own settings; `reserved` names channels of this kind even when its section is
    absent (rules may name "email" before there is an [email] section: nothing is sent then).
    `send` takes a channel's settings, the recipients and the message."""

    section: str  # as written in monitor.toml
    channels: Callable[[Settings], Mapping[str, Any]]
    send: Callable[[Any, Sequence[str], Message], None]
    needs_recipients: bool = False  # email does; a webhook's URL is its address
    reserved: tuple[str, ...] = ()
    absent: str = ""  # why a reserved channel cannot send when its section is missing


@dataclass(frozen=True)
class Channel:
    """A channel name as the config resolves it: its kind and its settings (None: the section
    that would enable it is missing)."""

    name: str
    kind: ChannelKind
    settings: Any


def _email(settings: Settings) -> Mapping[str, Any]:
    return {"email": settings.email} if settings.email is not None else {}


def _webhooks(settings: Settings) -> Mapping[str, Any]:
    return {hook.name: hook for hook in settings.webhooks}


def _post(hook: WebhookSettings, recipients: Sequence[str], message: Message) -> None:
    webhooks.send_webhook(hook, message)  # its URL is where it goes: no recipients


CHANNELS: dict[str, ChannelKind] = {
    "email": ChannelKind(
        "[email]",
        _email,
        mail.send_email,
        needs_recipients=True,
        reserved=("email",),
        absent="no [email] section in the config; add one to send mail",
    ),
    "webhook": ChannelKind("[[webhooks]]", _webhooks, _post),
}


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
