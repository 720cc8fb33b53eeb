"""Canonical document addresses: the key that makes one document of many spellings of its URL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|_ga|_gl|yclid|ocid|cmpid"
    r"|spm|s_cid|ncid|sr_share|ref_src|wt_mc|wt_zmc)$",
    re.IGNORECASE,
)


def canonical_url(url: str) -> str:
    """The key of a document: lower-case scheme and host, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80)
        or (parts.scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)
    ]
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", urlencode(query), ""))


def is_web(address: str) -> bool:
    """Whether an address is an http(s) URL rather than a local file."""
    return address.startswith(("http://", "https://"))


def document_key(address: str) -> str:
    """The canonical key of a URL, or a file:// URL for a local path."""
    if is_web(address) or address.startswith("file://"):
        return canonical_url(address)
    return Path(address).expanduser().resolve().as_uri()
