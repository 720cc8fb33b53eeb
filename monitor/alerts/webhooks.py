"""The webhook channels ([[webhooks]]): a rendered `Message` POSTed as monitor's own JSON
(`format = "json"`) or as a Slack-compatible body (`"slack"`).

The sender returns (the webhook answered 2xx) or raises `NotifyError` naming the webhook and what
to check; the dedup key travels as the Idempotency-Key header. Neither the token nor the URL's
path (Slack puts its secret there) appears in an error, in any form a server may echo them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2

from monitor import __version__
from monitor.config import WebhookSettings
from monitor.errors import NotifyError
from monitor.models import Message
from monitor.redact import Redactor, webhook_secrets

USER_AGENT = f"monitor/{__version__}"
# Of a webhook's error reply, this much is read and redacted, then 200 characters are kept: a
# secret the reply echoes is redacted whole before any cut (a cut first could leave half of it).
REPLY_CHARS = 65_536
SLACK_TEXT = 2900  # Slack's section text holds 3000 characters


def idempotency_key(dedup_key: str) -> str:
    """The key as an HTTP header value: visible ASCII kept; otherwise sanitised plus a hash."""
    if re.fullmatch(r"[\x21-\x7e]{1,200}", dedup_key):
        return dedup_key
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:10]
    return re.sub(r"[^\x21-\x7e]+", "-", dedup_key)[:200] + "." + digest


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


def post(hook: WebhookSettings, recipients: Sequence[str], message: Message) -> None:
    """The sender monitor/channel_kinds.py names: a webhook's URL is its address, so it takes
    no recipients."""
    send_webhook(hook, message)


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
