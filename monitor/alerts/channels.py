"""Deliver a rendered `Message`: by mail over SMTP, or as a JSON webhook.

Each sender either returns (the channel accepted the message) or raises `NotifyError` naming the
server or webhook and what to check; the message then stays in the outbox. The dedup key travels
with the message (the mail's Message-ID and X-Monitor-Dedup-Key, the webhook's Idempotency-Key)
so a receiver can drop a copy sent twice. Secrets never appear in an error: not the SMTP
login or password, not the webhook token, not the webhook URL's path (Slack puts its secret
there), in any form a server may echo them (see monitor/redact.py).
"""

from __future__ import annotations

import email.policy
import hashlib
import json
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
from typing import Any
from urllib.parse import urlsplit

import httpx2

from monitor import __version__
from monitor.config import EmailSettings, WebhookSettings
from monitor.errors import NotifyError
from monitor.models import Message
from monitor.redact import Redactor, webhook_secrets
from monitor.render.untrusted import header

log = logging.getLogger("monitor.notify")  # the name in log lines, kept

USER_AGENT = f"monitor/{__version__}"


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
# Of a webhook's error reply, this much is read and redacted, then 200 characters are kept: a
# secret the reply echoes is redacted whole before any cut (a cut first could leave half of it).
REPLY_CHARS = 65_536
SLACK_TEXT = 2900  # Slack's section text holds 3000 characters


# ---- email -------------------------------------------------------------------------------------


def message_id(dedup_key: str) -> str:
    """`<key@monitor>`; a key that is not RFC 5322 dot-atom text is sanitised and gets a short
    hash of the original, so distinct keys keep distinct ids."""
    if _DOT_ATOM.fullmatch(dedup_key) and len(dedup_key) <= 200:
        return f"<{dedup_key}@monitor>"
    safe = re.sub(r"\.{2,}", ".", _NOT_ATEXT.sub("-", dedup_key)).strip(".")[:200].strip(".")
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:10]
    return f"<{safe + '.' if safe else ''}{digest}@monitor>"


def idempotency_key(dedup_key: str) -> str:
    """The key as an HTTP header value: visible ASCII kept; otherwise sanitised plus a hash."""
    if re.fullmatch(r"[\x21-\x7e]{1,200}", dedup_key):
        return dedup_key
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:10]
    return re.sub(r"[^\x21-\x7e]+", "-", dedup_key)[:200] + "." + digest


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


# ---- webhooks ----------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn escaping: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int) -> str:
    """The first lines of `text` that fit in `limit` characters."""
    if len(text) <= limit:
        return text.rstrip()
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip() + "\n…"


def slack_body(message: Message) -> dict[str, Any]:
    """A Slack-compatible body: `text` for notifications, and blocks with the headline, the
    start of the plain-text body and a link."""
    subject = _slack_escape(message.subject)
    short = _slack_escape(_short(message.text, SLACK_TEXT))
    lead = _slack_escape(_short(message.text, 1000))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": short}},
    ]
    url = message.payload.get("url")
    if isinstance(url, str) and re.match(r"(?i)https?://", url):
        link = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open>"}]}
        )
    return {"text": f"{subject}\n{lead}", "blocks": blocks}


def send_webhook(hook: WebhookSettings, message: Message) -> None:
    """POST `message` to the webhook; raise NotifyError unless it answers 2xx."""
    parts = urlsplit(hook.url)  # host and port only: user info and paths can hold secrets
    where = f"webhook {hook.name} ({parts.hostname}{f':{parts.port}' if parts.port else ''})"
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key(message.dedup_key),
        "User-Agent": USER_AGENT,
    }
    token = hook.token()
    if hook.token_env and not token:
        raise NotifyError(f"{where}: ${hook.token_env} is not set; export the token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    hide = Redactor.of([token, *webhook_secrets(hook.url)])
    body = message.payload if hook.format == "json" else slack_body(message)
    content = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    try:
        response = httpx2.post(hook.url, content=content, headers=headers, timeout=hook.timeout)
    except httpx2.TimeoutException:
        raise NotifyError(f"{where}: no answer within {hook.timeout:g} s") from None
    except httpx2.HTTPError as exc:
        reason = hide.redact(str(exc).replace(hook.url, "<url>")) or type(exc).__name__
        raise NotifyError(f"{where}: {reason}; check [webhooks].url") from None
    if not 200 <= response.status_code < 300:
        # A server that echoes the request (its path, the Authorization header) must not put
        # a secret in our logs: redacted before it is cut, so no cut leaves half a secret.
        said = response.text[:REPLY_CHARS]  # read only so much of an endless reply, then:
        said = hide.redact(said.replace(token, "<token>") if token else said)
        said = " ".join(said.split())[:200]
        hint = (
            "; redirects are not followed: give the final address" if response.is_redirect else ""
        )
        raise NotifyError(
            f"{where}: HTTP {response.status_code} {response.reason_phrase}"
            + (f" ({said})" if said else "")
            + hint
        )
