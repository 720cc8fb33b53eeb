"""A real SMTP server on loopback (aiosmtpd) for the tests that send mail, and a config's [email]
section that sends to it."""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def free_port() -> int:
    """A free loopback port: aiosmtpd's Controller cannot take port 0 (it connects to itself to
    check that it started), and a port nothing listens on is a mail server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailServer:
    """A real SMTP server on loopback that can be started and stopped at a fixed port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def email_section(mail: MailServer, **extra: Any) -> dict[str, Any]:
    """The [email] section of a config that sends to `mail`, with `extra` keys."""
    return {
        "host": "127.0.0.1",
        "port": mail.port,
        "security": "none",
        "sender": "monitor@example.org",
        "to": ["analyst@example.org", "desk@example.org"],
        "timeout": 5,
        **extra,
    }


def email_toml(port: int, *, timeout: int, sender: bool = False) -> str:
    """The [email] table, as TOML, of a config written as text that sends to analyst@example.org
    through the server on `port` (with the sender monitor@example.org when `sender`)."""
    text = f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    text += 'sender = "monitor@example.org"\n' if sender else ""
    return text + f'to = ["analyst@example.org"]\ntimeout = {timeout}\n'
