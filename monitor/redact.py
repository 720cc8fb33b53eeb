"""Secrets never leave: one redactor for every string bound for a log, the terminal or the database.

A `Redactor` knows the configured secret values (the SMTP login and password, webhook tokens, the
secret path segments and credentials of webhook URLs, credential-looking query values and user
info of source URLs) and hides each of them in the forms a server may echo back: plain,
URL-encoded, JSON-escaped, base64 (standard and URL-safe, with or without padding, and the
stretches of base64 that encode it at any of the three byte alignments inside a longer value),
and SMTP's AUTH PLAIN (`\\0user\\0password`) and AUTH LOGIN (each value on its own) encodings.
Independently of what it knows, it hides the value of every credential-looking query parameter
(`?token=`, `&api_key=`, `&sig=` ...) in the text.

Values shorter than `MIN_SECRET` characters are not redacted: hiding every "ab" would make the
text unreadable and protects nothing worth having.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

from monitor import config_stamp

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.config_stamp import Basics

MARK = "***"
MIN_SECRET = 4
# Shorter stretches of a base64 encoding are too likely to occur by chance to be hidden.
MIN_BASE64_CORE = 8

# A query parameter whose name contains one of these holds a credential.
SECRET_NAME = re.compile(r"key|token|secret|pass|auth|sig|session|credential", re.IGNORECASE)
# `?name=value` or `&name=value` anywhere in a text; the value ends where a URL would.
_QUERY_VALUE = re.compile(r"(?P<name>[?&;][^=&#\s?;]*=)(?P<value>[^&#\s;\"'<>)\]]+)")


def secret_name(name: str) -> bool:
    """Whether a query parameter named `name` looks like it holds a credential."""
    return SECRET_NAME.search(name) is not None


def redact_url(url: str) -> str:
    """A URL fit for a log: no user info, no fragment, and credential-looking query values
    replaced by `***` (the query is re-encoded)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        query = [(k, MARK if secret_name(k) else v) for k, v in parse_qsl(parts.query, True)]
        return urlunsplit((parts.scheme, host, parts.path, urlencode(query), ""))
    except ValueError:
        return "<unparsable URL>"


def has_credentials(url: str) -> bool:
    """Whether a URL carries user info or a credential-looking query value."""
    try:
        parts = urlsplit(url)
        return parts.username is not None or any(
            secret_name(k) and v for k, v in parse_qsl(parts.query, True)
        )
    except ValueError:
        return True  # unparsable: treat as sensitive


def public_url(url: str) -> str:
    """The form of a configured URL that is stored and shown: the URL itself, or `redact_url`
    of it when it carries credentials. Fetches use the configured URL, never this."""
    return redact_url(url) if has_credentials(url) else url


def _url_secrets(url: str) -> list[str]:
    """The secret parts of a URL: user name and password, credential-looking query values."""
    try:
        parts = urlsplit(url)
        found = [
            v for k, v in parse_qsl(parts.query, True) if secret_name(k) and len(v) >= MIN_SECRET
        ]
        if parts.password:
            found += [unquote(parts.password), unquote(parts.username or "")]
            found.append(f"{unquote(parts.username or '')}:{unquote(parts.password)}")
    except ValueError:
        return []
    return found


def _secret_segment(segment: str) -> bool:
    """A path segment that is a secret, not a word: 8 or more characters and not a plain
    lower-case word (`services`, `webhooks` are words; Slack's `B0123/Xa9...` are not)."""
    return len(segment) >= 8 and re.fullmatch(r"[a-z]+(-[a-z]+)*", segment) is None


def webhook_secrets(url: str) -> list[str]:
    """What a webhook URL hides: its path, its secret-looking segments and its credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    path = parts.path.strip("/")
    found = [url, parts.path] if len(path) >= 8 else [url]  # as long as a secret segment
    found += [unquote(s) for s in path.split("/") if _secret_segment(unquote(s))]
    return found + _url_secrets(url)


def _base64_forms(data: bytes) -> set[str]:
    """`data` in base64 (standard and URL-safe, padded or not), and the stretches of base64
    that encode it after 1 or 2 bytes of anything (its encoding inside a longer value)."""
    forms: set[str] = set()
    for k in range(3):
        shifted = b"\0" * k + data
        whole = len(shifted) // 3 * 3  # the last partial group depends on what follows
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            if k == 0:
                full = encode(data).decode("ascii")
                forms |= {full, full.rstrip("=")}
            core = encode(shifted[:whole]).decode("ascii")[4 if k else 0 :]
            if len(core) >= MIN_BASE64_CORE:
                forms.add(core)
    return forms


def _forms(value: str) -> set[str]:
    """Every spelling of one secret that may come back in a server's text."""
    raw = value.encode("utf-8", "surrogateescape")
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for encoded in (quote(value, safe=""), quote_plus(value, safe=""), quote(value)):
        forms |= {encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), encoded)}
    return forms | _base64_forms(raw)


def _login_forms(user: str, password: str) -> set[str]:
    """SMTP AUTH PLAIN's `[authzid]\\0user\\0password` and HTTP Basic's `user:password`."""
    forms: set[str] = set()
    for blob in (f"\0{user}\0{password}", f"{user}\0{user}\0{password}", f"{user}:{password}"):
        forms |= _base64_forms(blob.encode("utf-8", "surrogateescape"))
    return forms


@dataclass(frozen=True)
class Redactor:
    """Hides known secret values (in every form) and credential-looking query values."""

    forms: tuple[str, ...] = ()  # longest first, so a longer form is hidden whole
    _known: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    @classmethod
    def of(cls, secrets: Iterable[str | None], logins: Iterable[tuple[str, str]] = ()) -> Redactor:
        """A redactor for these secret values and (user, password) pairs."""
        found: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET:
                found |= _forms(secret)
        for user, password in logins:
            if user and password:
                found |= _login_forms(user, password)
        # A value shorter than the minimum never stands alone (the JSON form of a short value).
        kept = {f for f in found if len(f) >= MIN_SECRET}
        return cls(tuple(sorted(kept, key=lambda f: (-len(f), f))))

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """The redactor for a configuration: reads the secrets from the environment variables
        it names (as sending does), and takes the secret parts of every configured URL."""
        return cls.from_basics(config_stamp.of(settings))

    @classmethod
    def from_basics(cls, basics: Basics) -> Redactor:
        """The redactor for a validated config's basics (see monitor/config_stamp.py)."""
        secrets, logins = config_stamp.secrets(basics)
        for url in basics.webhook_urls:
            secrets += webhook_secrets(url)
        for url in basics.source_urls:
            secrets += _url_secrets(url)
        return cls.of(secrets, logins)

    def __post_init__(self) -> None:
        pattern = "|".join(re.escape(f) for f in self.forms)
        object.__setattr__(self, "_known", re.compile(pattern) if pattern else None)

    def redact(self, text: str) -> str:
        """`text` with every known secret and every credential-looking query value hidden."""
        known = self._known
        # Each pass shortens the text (every form is longer than the mark), so this ends; a
        # secret that one replacement brings together (its halves around another) is found by
        # the next pass.
        while True:
            hidden = known.sub(MARK, text) if known is not None else text
            hidden = _QUERY_VALUE.sub(_hide_value, hidden)
            if hidden == text:
                return text
            text = hidden

    def optional(self, text: str | None) -> str | None:
        """`redact` for a value that may be missing."""
        return None if text is None else self.redact(text)

    def url(self, url: str) -> str:
        """A URL as stored or shown: `public_url`, then known secrets hidden."""
        return self.redact(public_url(url))


def _hide_value(match: re.Match[str]) -> str:
    name, value = match["name"], match["value"]
    if not secret_name(name[1:-1]) or value in (MARK, quote(MARK, safe="")):
        return match[0]
    return name + MARK


NOTHING = Redactor()
