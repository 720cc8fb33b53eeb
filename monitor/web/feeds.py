"""Atom feeds (RFC 4287) of wording changes and of alerts, written by feedgen, so that users
follow monitor in their own reader."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from monitor import __version__
from monitor.render.untrusted import SENTENCE_CHARS, TITLE_CHARS, URL_CHARS, terminal
from monitor.store.views import AlertRow, ChangeRow

# XML 1.0 cannot carry these at all (lxml refuses them); `terminal` already shows the controls
# and bidirectional controls as <U+XXXX>.
_NOT_XML = re.compile("[\ufffe\uffff]")

# A feed's `updated` when it has no entry yet: a fixed time, so an empty feed does not change.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def xml_text(text: str, limit: int | None = None) -> str:
    """Untrusted text for an Atom element: the terminal rule (no control, escape sequence or
    bidirectional control passes raw), nothing XML refuses; lxml escapes the rest."""
    return _NOT_XML.sub(lambda m: f"<U+{ord(m.group()):04X}>", terminal(text, limit))


def _moment(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _feed(feed_id: str, title: str, self_url: str, home: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(title)
    fg.author({"name": "monitor"})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=home, rel="alternate", type="text/html")
    fg.generator("monitor", version=__version__)
    fg.language("en")
    return fg


def changes_feed(rows: Sequence[ChangeRow], *, base: str, self_url: str, title: str) -> bytes:
    """Wording changes, newest first, each linking to its permalink."""
    fg = _feed(self_url, title, self_url, f"{base}/changes")
    newest = max((_moment(r.detected_at) for r in rows), default=EPOCH)
    fg.updated(newest)
    for row in sorted(rows, key=lambda r: (r.detected_at, r.id)):  # feedgen prepends each entry
        entry = fg.add_entry()
        link = f"{base}/changes/{row.id}"
        entry.id(link)
        document = xml_text(row.title or row.url, TITLE_CHARS)
        entry.title(f"{document}: {xml_text(row.verdict, SENTENCE_CHARS)}")
        entry.link(href=link, rel="alternate", type="text/html")
        entry.summary(
            f"{xml_text(row.verdict, SENTENCE_CHARS)} ({row.kind}, significance "
            f"{row.significance:.2f}; {xml_text(row.url, URL_CHARS)})"
        )
        entry.updated(_moment(row.detected_at))
        entry.published(_moment(row.detected_at))
        entry.category(term=row.kind)
    return bytes(fg.atom_str(pretty=True))


def alerts_feed(rows: Sequence[AlertRow], *, base: str, self_url: str, title: str) -> bytes:
    """Alerts monitor queued (one entry per event, whatever its channels), newest first."""
    fg = _feed(self_url, title, self_url, f"{base}/changes")
    newest = max((_moment(r.created_at) for r in rows), default=EPOCH)
    fg.updated(newest)
    for row in sorted(rows, key=lambda r: (r.created_at, r.id)):
        entry = fg.add_entry()
        entry.id(f"{base}/feeds/alerts/{row.id}")
        entry.title(xml_text(row.subject, TITLE_CHARS))
        if row.change_id is not None:
            entry.link(href=f"{base}/changes/{row.change_id}", rel="alternate", type="text/html")
        entry.content(xml_text(row.text.replace("\n", " "), None), type="text")
        entry.updated(_moment(row.created_at))
        entry.category(term=row.event)
    return bytes(fg.atom_str(pretty=True))
