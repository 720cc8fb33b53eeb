"""The `email` channel: a rendered `Message` as a MIME mail over SMTP ([email]).

The sender returns (the server accepted the message) or raises `NotifyError` naming the server
and what to check; the dedup key travels as the mail's Message-ID and X-Monitor-Dedup-Key, so a
receiver can drop a copy sent twice. Neither the login nor the password appears in an error, in
any form a server may echo them (see monitor/redact.py).
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime

from monitor.config import EmailSettings
from monitor.errors import NotifyError
from monitor.models import Message
from monitor.redact import Redactor
from monitor.render.untrusted import header

log = logging.getLogger("monitor.notify")  # the name in log lines, kept


class _Policy(email.policy.EmailPolicy):
    """Two fixes to CPython's header folding.

    A long non-ASCII Subject can be split between two encoded words at a space, and a reader then
    drops that space (RFC 2047 ignores white space between encoded words): "한미 정상" arrives as
    "한미정상". The legacy `Header` encoder splits inside the encoded text instead.

    A long value without white space (a Message-ID, a dedup key) is moved whole to a continuation
    line, and the stdlib parser then reads it back with a leading space. Such a value cannot be
    folded anyway; it goes on one line (RFC 5322 allows 998 characters)."""

    def _special(self, name: str, value: str) -> str | None:
        text = str(value)
        if text.isascii() and text and not re.search(r"\s", text) and len(name + text) < 990:
            return f"{name}: {text}{self.linesep}"
        if name.lower() == "subject" and not text.isascii() and not self.utf8:
            encoded = Header(text, "utf-8", header_name=name).encode(linesep=self.linesep)
            return f"{name}: {encoded}{self.linesep}"
        return None

    def fold(self, name: str, value: str) -> str:
        return self._special(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        special = self._special(name, value)
        return special.encode("ascii") if special else super().fold_binary(name, value)


# Headers RFC 2047-encoded, bodies quoted-printable or base64: no 8BITMIME needed.
_POLICY = _Policy(linesep="\r\n", cte_type="7bit")
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+")
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")


def message_id(dedup_key: str) -> str:
    """`<key@monitor>`; a key that is not RFC 5322 dot-atom text is sanitised and gets a short
    hash of the original, so distinct keys keep distinct ids."""
    if _DOT_ATOM.fullmatch(dedup_key) and len(dedup_key) <= 200:
        return f"<{dedup_key}@monitor>"
    safe = re.sub(r"\.{2,}", ".", _NOT_ATEXT.sub("-", dedup_key)).strip(".")[:200].strip(".")
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:10]
    return f"<{safe + '.' if safe else ''}{digest}@monitor>"


def build_email(sender: str, recipients: Sequence[str], message: Message) -> EmailMessage:
    """The MIME message: text/plain, and multipart/alternative with text/html when there is HTML."""
    mail = EmailMessage(policy=_POLICY)
    mail["Subject"] = header(message.subject)  # never CR or LF, however it was built
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = message_id(message.dedup_key)
    mail["X-Monitor-Dedup-Key"] = re.sub(r"[\r\n]+", " ", message.dedup_key)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the sender
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


def _smtp_problem(exc: BaseException, email_: EmailSettings) -> str:
    """Why delivery failed and what to check, without any secret."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused; is the mail server running? check [email].host/port"
    # (smtplib turns a timeout while reading a reply into SMTPServerDisconnected("... timed out"))
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return f"no answer within {email_.timeout:g} s; check [email].host/port and the firewall"
    if isinstance(exc, socket.gaierror):
        return "unknown host; check [email].host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message}); check [email].host"
    if isinstance(exc, ssl.SSLError):
        wrong = 'use security = "starttls" (port 587) or "tls" (port 465) to match the port'
        return f"TLS failed ({exc.reason}); {wrong}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return 'the server offers no STARTTLS; set [email].security = "tls" or "none"'
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        env = f"${email_.username_env} / ${email_.password_env}"
        return f"login refused ({_reply(exc.smtp_code, exc.smtp_error)}); check {env}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender refused ({_reply(exc.smtp_code, exc.smtp_error)}); check [email].sender"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{a}: {_reply(c, m)}" for a, (c, m) in exc.recipients.items())
        return f"all recipients refused ({refused}); check the addresses"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server answered {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection; check [email].security matches the port"
    return f"{type(exc).__name__}: {exc}"


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}"[:300]


def send_email(email: EmailSettings, recipients: Sequence[str], message: Message) -> None:
    """Send `message` to `recipients` through the configured server; raise NotifyError if the
    server did not take it. Recipients refused one by one while others were accepted are logged,
    not raised: a retry would mail the accepted ones twice."""
    where = f"smtp {email.host}:{email.port}"
    recipients = [recipients] if isinstance(recipients, str) else list(recipients)
    if not recipients:
        raise NotifyError(f"{where}: no recipients; set [email].to")
    username = email.username()
    password = email.password() if username else None
    if username and not email.password_env:
        raise NotifyError(f"{where}: a login name but no password; set [email].password_env")
    if username and password is None:
        raise NotifyError(f"{where}: ${email.password_env} is not set; export the password")
    if email.username_env and not username:
        raise NotifyError(f"{where}: ${email.username_env} is not set; export the login name")
    mail = build_email(email.sender, recipients, message)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if email.security == "tls":
            smtp = smtplib.SMTP_SSL(email.host, email.port, timeout=email.timeout, context=context)
        else:
            smtp = smtplib.SMTP(email.host, email.port, timeout=email.timeout)
        with smtp:
            if email.security == "starttls":
                smtp.starttls(context=context)
            if username and password is not None:
                smtp.login(username, password)
            refused = smtp.send_message(mail, from_addr=email.sender, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as exc:
        # A server may echo the login in its refusal (plain, or as the base64 it was sent).
        hide = Redactor.of([username, password], [(username or "", password or "")])
        raise NotifyError(hide.redact(f"{where}: {_smtp_problem(exc, email)}")) from None
    hide = Redactor.of([username, password], [(username or "", password or "")])
    for address, (code, text) in refused.items():
        log.warning(
            "%s refused %s (%s); the others got the message",
            where,
            address,
            hide.redact(_reply(code, text)),
        )
