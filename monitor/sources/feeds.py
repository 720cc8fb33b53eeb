"""Feeds: parse fetched bytes with feedparser into entries keyed by canonical URL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import lxml.html

from monitor.errors import FeedError
from monitor.models import FeedEntry, ParsedFeed
from monitor.sources import charset
from monitor.sources.urls import canonical_url

# Zoneless feed times are read in [schedule].timezone or the source's own `timezone`; this is
# their default (that of [schedule].timezone), for callers that name none.
DEFAULT_ZONE = "Asia/Seoul"
HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_ENCODING_ATTR = re.compile(r"^(\s*<\?xml[^>]*?\bencoding\s*=\s*[\"'])[\w.:-]+", re.IGNORECASE)
# Zone abbreviations that email.utils does not know; feedparser reads "KST" as UTC.
ZONES = {"KST": "+0900", "JST": "+0900", "HKT": "+0800", "CST": "-0600", "CDT": "-0500"}
ZONE_WORD = re.compile(r"\b(" + "|".join(ZONES) + r")\b")
MERIDIEM = r"(오전|오후|AM|PM|am|pm)"
DOTTED = re.compile(
    r"^(\d{4})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{1,2})\.?"
    rf"(?:\s*{MERIDIEM}?\s*(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?\s*{MERIDIEM}?)?$"
)
KOREAN = re.compile(
    r"^(\d{4})년\s*(\d{1,2})월\s*(\d{1,2})일(?:\s*\(\w\))?"
    rf"(?:\s*{MERIDIEM}?\s*(\d{{1,2}})(?:시|:)\s*(?:(\d{{1,2}})분?)?(?::(\d{{2}}))?)?"
    rf"\s*{MERIDIEM}?$"
)


def _clock(hour: int, meridiem: str | None) -> int:
    if meridiem in ("오후", "PM", "pm") and hour < 12:
        return hour + 12
    if meridiem in ("오전", "AM", "am") and hour == 12:
        return 0
    return hour


def parse_date(raw: str | None, zone: str = DEFAULT_ZONE) -> datetime | None:
    """Read a feed date as UTC, including KST and Korean formats that feedparser gets wrong; a
    time that names no zone is read in `zone`."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    m = DOTTED.match(text) or KOREAN.match(text)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        hour, minute, second = int(m[5] or 0), int(m[6] or 0), int(m[7] or 0)
        return _local(year, month, day, _clock(hour, m[4] or m[8]), minute, second, zone)
    try:
        parsed = parsedate_to_datetime(ZONE_WORD.sub(lambda z: ZONES[z[1]], text))
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        # A zoneless time is the publisher's local time: in a Korea-policy feed far more often
        # KST than UTC, which is why the default zone is Seoul's.
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed.astimezone(UTC)


def _local(
    year: int, month: int, day: int, hour: int, minute: int, second: int, zone: str
) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone)).astimezone(
            UTC
        )
    except ValueError:
        return None


def _text(html: str) -> str:
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    try:
        return " ".join(
            lxml.html.fragment_fromstring(html, create_parent="div").text_content().split()
        )
    except (lxml.etree.ParserError, ValueError):
        return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _entry(raw: Any, now: datetime, zone: str) -> FeedEntry | None:
    link = raw.get("link") or ""
    if not link.startswith(("http://", "https://")):
        guid = raw.get("id") or ""
        link = guid if guid.startswith(("http://", "https://")) else ""
    if not link:
        return None
    published_raw = raw.get("published") or raw.get("updated")
    # feedparser's own reading is not a fallback: for dates we cannot read it guesses the month
    # from today's date. An unreadable date stays unknown (the first-seen time stands in).
    published = parse_date(published_raw, zone)
    if published is not None and published > now + timedelta(days=2):
        published = None  # implausible: a date in the future
    try:
        url = canonical_url(link)
    except ValueError:
        return None  # e.g. a port out of range: not an address we could ever fetch
    return FeedEntry(
        url=url,
        link=link,
        title=_text(raw.get("title") or ""),
        summary=_text(raw.get("summary") or ""),
        published=published,
        published_raw=published_raw,
    )


def _checked(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str], str | None]:
    """The body and headers to give feedparser, and a warning when the declared charset was
    wrong. A feed that is not UTF-8 is given as the text decoded with the charset that fits,
    in UTF-8 (declared so in the header and the XML declaration): feedparser would read a wrong
    declaration as windows-1252, and EUC-KR with Python's strict codec, which fails on the
    CP949 syllables Korean sites use (똠, 햏), and fall back to windows-1252 too."""
    content_type = headers.get("content-type", "")
    decoded = charset.decode(body, charset.declarations(content_type, body, "xml"))
    if decoded.warning is None and decoded.charset == "utf-8":
        return body, headers, None
    text = _ENCODING_ATTR.sub(r"\g<1>utf-8", decoded.text, count=1)
    if content_type:
        mime = content_type.partition(";")[0].strip()
        headers = {**headers, "content-type": f"{mime}; charset=utf-8"}
    return text.encode("utf-8"), headers, decoded.warning


def parse_feed(
    body: bytes, headers: dict[str, str], final_url: str, zone: str = DEFAULT_ZONE
) -> ParsedFeed:
    """Parse feed bytes, reading times that name no zone in `zone`; raise FeedError when the
    response is not a feed at all."""
    body, headers, charset_warning = _checked(body, headers)
    parsed = feedparser.parse(body, response_headers={**headers, "content-location": final_url})
    problem = None
    exc = parsed.get("bozo_exception")
    # A charset that disagrees with the header, or a text/* type, is decoded right and loses nothing.
    if parsed.get("bozo") and not isinstance(exc, HARMLESS):
        problem = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
    if not parsed.get("version"):
        kind = headers.get("content-type", "unknown content type")
        hint = f" ({problem})" if problem else ""
        raise FeedError(
            f"{final_url}: not an RSS or Atom feed ({kind}){hint}; "
            'check the URL, or use kind = "page" to watch an HTML page'
        )
    now = datetime.now(UTC)
    entries: dict[str, FeedEntry] = {}
    skipped = 0
    for raw in parsed.get("entries", []):
        entry = _entry(raw, now, zone)
        if entry is None:
            skipped += 1
        elif entry.url not in entries:
            entries[entry.url] = entry
    if skipped:
        note = f"{skipped} entries without a usable link were skipped"
        problem = f"{problem}; {note}" if problem else note
    if not entries and problem:
        raise FeedError(f"{final_url}: feed could not be read: {problem}")
    title = parsed.get("feed", {}).get("title")
    return ParsedFeed(
        title=title or None,
        entries=tuple(entries.values()),
        problem=problem,
        charset_warning=charset_warning,
    )
