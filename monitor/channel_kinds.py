"""The channel kinds: how an outbox item reaches someone. `CHANNELS` maps a kind to what it
takes: the config section that enables it, the channels that section defines (by the names
rules, `failure_channels` and outbox rows use), whether it needs recipients, and its sender.

A new kind is one module (its sender: monitor/alerts/mail.py, monitor/alerts/webhooks.py) and one
entry here. The config checks channel names against this registry, and the rules and delivery
look channels up in it (monitor/alerts/channels.py). Senders sit above the config in the layout,
so an entry names its sender as "module:function", like APScheduler 3.x's plugin entry points,
and the sender is imported when a message goes out: validating a config loads no mail or HTTP
code. Each sender returns (the channel accepted the message) or raises `NotifyError` naming the
server or webhook and what to check; the message then stays in the outbox.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.models import Message


@dataclass(frozen=True)
class ChannelKind:
    """One kind of channel. `channels` gives the channels of this kind that a config defines,
    each with its own settings; `reserved` names channels of this kind even when its section is
    absent (rules may name "email" before there is an [email] section: nothing is sent then).
    `sender` takes a channel's settings, the recipients and the message."""

    section: str  # as written in monitor.toml
    channels: Callable[[Settings], Mapping[str, Any]]
    sender: str  # "module:function"
    needs_recipients: bool = False  # email does; a webhook's URL is its address
    reserved: tuple[str, ...] = ()
    absent: str = ""  # why a reserved channel cannot send when its section is missing

    def sender_function(self) -> Callable[[Any, Sequence[str], Message], None]:
        """The sender, imported; a name that does not resolve is this registry's bug."""
        module, _, function = self.sender.partition(":")
        found = getattr(importlib.import_module(module), function, None)
        if not callable(found):
            raise TypeError(f"channel kind {self.section}: no sender {self.sender!r}")
        return cast("Callable[[Any, Sequence[str], Message], None]", found)

    def send(self, settings: Any, recipients: Sequence[str], message: Message) -> None:
        self.sender_function()(settings, recipients, message)


def _email(settings: Settings) -> Mapping[str, Any]:
    return {"email": settings.email} if settings.email is not None else {}


def _webhooks(settings: Settings) -> Mapping[str, Any]:
    return {hook.name: hook for hook in settings.webhooks}


CHANNELS: dict[str, ChannelKind] = {
    "email": ChannelKind(
        "[email]",
        _email,
        "monitor.alerts.mail:send_email",
        needs_recipients=True,
        reserved=("email",),
        absent="no [email] section in the config; add one to send mail",
    ),
    "webhook": ChannelKind("[[webhooks]]", _webhooks, "monitor.alerts.webhooks:post"),
}


def defined(settings: Settings) -> set[str]:
    """Every channel name this config may use: the reserved ones and those its sections define."""
    names: set[str] = set()
    for kind in CHANNELS.values():
        names.update(kind.reserved, kind.channels(settings))
    return names


def hint() -> str:
    """How to define a channel a rule names, as the config's error messages put it."""
    sections = [kind.section for kind in CHANNELS.values() if not kind.reserved]
    return f"define {' or '.join(sections)} with that name"
