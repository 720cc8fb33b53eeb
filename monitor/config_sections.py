"""The sections of the configuration, each a pydantic model with the checks of its own keys
(monitor/config.py assembles them into Settings and checks them against each other). Longer than
most modules: one class per TOML table, each short, kept together so that the whole schema of the
file reads in one place."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from monitor import __version__
from monitor.sources import kinds
from monitor.sources.kinds import KINDS
from monitor.sources.reach import parse_allowed
from monitor.sources.urls import document_key

if TYPE_CHECKING:
    from monitor.sources.fetch import FetchSettings as FetcherSettings

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# Upper bounds for numbers that are durations or counts: beyond them a value is a typo, and
# some (a timedelta of 1e300 minutes) would crash the service instead of running it.
HOUR = 3600.0
DAY = 86400.0
YEAR_MINUTES = 525600.0


class Section(BaseModel):
    """What every section shares: frozen, unknown keys refused."""

    # inf and nan are refused in every section: `timeout = inf` would wait forever.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class StorageSettings(Section):
    database: str = Field("monitor.db", description="SQLite file; MONITOR_DB overrides it")
    busy_timeout: Annotated[float, Field(ge=0, le=HOUR)] = Field(
        10.0, description="seconds to wait for another process's write lock before giving up"
    )

    # Bounds on what one version stores (README "Bounded mentions and search"): the mentions kept per
    # concept and reason (the counts stay true), and the characters of a sentence kept for a
    # mention (a longer one keeps this much around the mention). Hitting one is recorded.
    max_mentions: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    max_sentence: Annotated[int, Field(ge=300, le=10_000_000)] = 2000


def _allow_list(value: tuple[str, ...]) -> tuple[str, ...]:
    for entry in value:
        parse_allowed(entry)  # raises ValueError naming the entry
    return value


# A header name is an HTTP token (RFC 9110 5.6.2); a value may not break the header's line.
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HOP_BY_HOP = "a hop-by-hop header belongs to one connection, which monitor manages; remove it"
# Headers a source may not set, each with the fix.
_NOT_SETTABLE = {
    "host": "monitor sends the host of the source's url; put the host you want in url",
    "user-agent": "set the source's user_agent instead",
    "if-none-match": "monitor sends the validators it stored for the URL; remove it",
    "if-modified-since": "monitor sends the validators it stored for the URL; remove it",
    "content-length": "a GET has no body; remove it",
    "connection": _HOP_BY_HOP,
    "keep-alive": _HOP_BY_HOP,
    "proxy-connection": _HOP_BY_HOP,
    "proxy-authenticate": _HOP_BY_HOP,
    "proxy-authorization": _HOP_BY_HOP,
    "te": _HOP_BY_HOP,
    "trailer": _HOP_BY_HOP,
    "transfer-encoding": _HOP_BY_HOP,
    "upgrade": _HOP_BY_HOP,
}


def _user_agent(value: str) -> str:
    if not value.strip():
        raise ValueError("empty; give a User-Agent, or remove the key to use the default")
    if _BREAKS.search(value):
        raise ValueError("contains a line break or control character; write it on one line")
    return value


def _headers(value: dict[str, str]) -> dict[str, str]:
    seen: set[str] = set()
    for name, text in value.items():
        lower = name.lower()
        if not _TOKEN.match(name):
            raise ValueError(
                f"{name!r} is not a header name; use letters, digits and dashes, e.g. "
                "'Accept-Language'"
            )
        if lower in _NOT_SETTABLE:
            raise ValueError(f"{name!r} may not be set: {_NOT_SETTABLE[lower]}")
        if lower in seen:
            raise ValueError(f"{name!r} is given twice (header names ignore case); keep one")
        seen.add(lower)
        if _BREAKS.search(text):
            raise ValueError(
                f"{name!r}: the value contains a line break or control character; write it on "
                "one line"
            )
    return value


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Asia/Seoul"
        ) from exc
    return value


# The checks that [fetch], [schedule] and [[sources]] share, as the types of their keys.
AllowList = Annotated[tuple[str, ...], AfterValidator(_allow_list)]
UserAgent = Annotated[str, AfterValidator(_user_agent)]
Headers = Annotated[dict[str, str], AfterValidator(_headers)]
ZoneName = Annotated[str, AfterValidator(_zone_name)]


class FetchSection(Section):
    """[fetch]: validated here, handed to the HTTP client as its own record (`for_fetcher`;
    tests/test_config.py checks that the two name the same fields with the same defaults)."""

    user_agent: UserAgent = Field(
        f"monitor/{__version__} (Korea-policy wording monitor; +https://github.com/monitor-korea/monitor)",
        description="User-Agent sent with every request",
    )
    timeout: Annotated[float, Field(gt=0, le=HOUR)] = 30.0
    max_bytes: Annotated[int, Field(gt=0, le=2_000_000_000)] = 10_000_000
    max_redirects: Annotated[int, Field(ge=0, le=50)] = 5
    retries: Annotated[int, Field(ge=0, le=100)] = 3
    backoff: Annotated[float, Field(ge=0, le=HOUR)] = 1.0
    max_retry_after: Annotated[float, Field(ge=0, le=DAY)] = 120.0
    concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    delay: Annotated[float, Field(ge=0, le=HOUR)] = 1.0
    allow_internal: AllowList = Field(
        (), description="non-public addresses, networks (CIDR) or host names any source may reach"
    )

    def for_fetcher(self) -> FetcherSettings:
        """The HTTP client's settings (monitor.sources.fetch, imported here: it loads httpx)."""
        from monitor.sources.fetch import FetchSettings

        return FetchSettings(**self.model_dump())


class ScheduleSettings(Section):
    timezone: ZoneName = "Asia/Seoul"
    interval_minutes: Annotated[float, Field(gt=0, le=YEAR_MINUTES)] = 30


class ServiceSettings(Section):
    """`monitor run`: jobs in parallel, the heartbeat, and how late a start may be."""

    jobs: Annotated[int, Field(ge=1, le=32)] = 4
    heartbeat_seconds: Annotated[float, Field(gt=0, le=DAY)] = 30.0
    jitter_seconds: Annotated[int, Field(ge=0, le=int(DAY))] = 30
    deliver_seconds: Annotated[float, Field(gt=0, le=DAY)] = 60.0


class WebSettings(Section):
    """[web]: the read-only web view (monitor/web/) inside `monitor run`; `monitor serve` runs
    it alone. Beyond loopback it needs $MONITOR_WEB_TOKEN or $MONITOR_WEB_USER and
    $MONITOR_WEB_PASSWORD (monitor/web/security.py)."""

    enabled: bool = Field(False, description="serve the web view inside `monitor run`")
    host: str = Field(
        "127.0.0.1", min_length=1, description="address to listen on; MONITOR_WEB_HOST overrides it"
    )
    port: Annotated[int, Field(ge=0, le=65535)] = Field(
        8470, description="port to listen on; 0: any free one (the log line names it)"
    )


class ExtractSettings(Section):
    workers: Annotated[int, Field(ge=0, le=256)] = Field(
        0, description="extraction processes; 0 = one per core"
    )
    # A document still being extracted after this many seconds has its worker killed and is
    # recorded as failed (a PDF page-tree bomb held PDFium for minutes).
    deadline: Annotated[float, Field(gt=0, le=HOUR)] = Field(
        60.0, description="seconds one document may take to extract"
    )


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from exc


class Source(Section):
    name: str
    kind: str  # one of monitor/sources/kinds.py's KINDS
    url: str
    follow: Literal["none", "matching", "all"] = "none"
    keywords: tuple[str, ...] = ()
    delay: Annotated[float, Field(ge=0, le=HOUR)] | None = None
    interval_minutes: Annotated[float, Field(gt=0, le=YEAR_MINUTES)] | None = None
    enabled: bool = True
    note: str | None = None
    ignore: tuple[str, ...] = Field((), description="regular expressions for injected boilerplate")
    max_articles: Annotated[int, Field(ge=0, le=100_000)] = Field(
        100, description="articles fetched per poll; the rest wait for the next poll"
    )
    allow_internal: AllowList = Field(
        (), description="non-public addresses, networks (CIDR) or host names this source may reach"
    )
    user_agent: UserAgent | None = Field(
        None, description="replaces [fetch].user_agent for every request made for this source"
    )
    headers: Headers = Field({}, description="extra request headers, sent to the host of url only")
    timezone: ZoneName | None = Field(
        None, description="zone of the feed's dates that name none (default: schedule.timezone)"
    )

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        # The registry's kinds, with the words (and the fix) of a Literal's error.
        if not (isinstance(value, str) and value in KINDS):
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": kinds.names()}
            )
        return value

    @field_validator("ignore")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value

    def ignore_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in self.ignore)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("use lower-case letters, digits and dashes, e.g. 'yonhap-nk'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// address")
        return value


class SeriesRule(Section):
    source: str
    title: str = Field(description="regular expression matched against document titles")

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        _compile(value)
        return value


class Series(Section):
    """Successive editions of one document; members are ordered by their publication date."""

    id: str
    title: str
    members: tuple[str, ...] = ()
    rule: SeriesRule | None = None
    baseline: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                "use lower-case letters, digits and dashes, e.g. 'us-rok-joint-statements'"
            )
        return value

    def member_keys(self) -> tuple[str, ...]:
        return tuple(document_key(m) for m in self.members)

    def includes(self, url: str, source: str, title: str | None) -> bool:
        """Whether a document (canonical URL, source name, title) belongs to this series."""
        if url in self.member_keys():
            return True
        rule = self.rule
        return (
            rule is not None
            and rule.source == source
            and title is not None
            and re.search(rule.title, title) is not None
        )


class EmailSettings(Section):
    """SMTP delivery. The login and password come from the environment variables named here."""

    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "monitor@localhost"
    to: tuple[str, ...] = ()
    timeout: Annotated[float, Field(gt=0, le=HOUR)] = 30.0

    def username(self) -> str | None:
        return os.environ.get(self.username_env) if self.username_env else None

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class WebhookSettings(Section):
    """A JSON webhook: `json` posts monitor's own body, `slack` a Slack-compatible one."""

    name: str
    url: str
    format: Literal["json", "slack"] = "json"
    token_env: str | None = Field(None, description="sent as Authorization: Bearer <token>")
    timeout: Annotated[float, Field(gt=0, le=HOUR)] = 15.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return Source._url(value)

    def token(self) -> str | None:
        return os.environ.get(self.token_env) if self.token_env else None


class AlertRule(Section):
    """Which events alert at once. A rule matches when every filter it sets holds; statuses and
    moves together mean either (a concept's status, or a ladder's move)."""

    name: str
    event: Literal["change", "article"]
    sources: tuple[str, ...] = ()
    concepts: tuple[str, ...] = ()
    kinds: tuple[Literal["revision", "succession", "baseline"], ...] = ()
    statuses: tuple[Literal["dropped", "introduced", "increased", "decreased"], ...] = ()
    moves: tuple[Literal["downgrade", "upgrade"], ...] = ()
    priority: Literal["high", "normal", "low"] | None = None
    watched_only: bool = Field(False, description="only watched pages, local files and series")
    min_significance: Annotated[float, Field(ge=0, le=1)] = 0.0
    deliver: Literal["now", "digest"] = "now"
    channels: tuple[str, ...] = ("email",)


DEFAULT_RULES = (
    AlertRule(
        name="weakening",
        event="change",
        statuses=("dropped",),
        moves=("downgrade",),
        watched_only=True,
    ),
    AlertRule(name="high-priority-article", event="article", priority="high"),
)


class AlertSettings(Section):
    rules: tuple[AlertRule, ...] = DEFAULT_RULES
    failure_threshold: Annotated[int, Field(ge=1, le=10_000)] = 3
    failure_recipients: tuple[str, ...] = Field((), description="default: email.to")
    failure_channels: tuple[str, ...] = ("email",)
    max_attempts: Annotated[int, Field(ge=1, le=10_000)] = 12
    retry_seconds: Annotated[float, Field(ge=0, le=7 * DAY)] = 60.0
    max_age_days: Annotated[int, Field(ge=0, le=36_500)] = Field(
        14, description="documents published longer ago never alert (0: no limit)"
    )


class DigestSettings(Section):
    time: str = Field("07:00", description="local time in schedule.timezone, HH:MM")
    send_empty: bool = True
    recipients: tuple[str, ...] = Field((), description="default: email.to")
    chart_days: Annotated[int, Field(ge=7, le=90)] = 30

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?", value):
            raise ValueError("use HH:MM on a 24-hour clock, e.g. '07:00'")
        return value


class ConceptSettings(Section):
    label: str
    priority: Literal["high", "normal", "low"] = "normal"
    patterns: Annotated[tuple[str, ...], Field(min_length=1)]
    # A mention counts only when [relevance].target is joined to it, is the entity nearest to it
    # in its sentence, or is named within [relevance].window sentences of it.
    needs_target: bool = False
    exclude: tuple[str, ...] = ()  # phrases that set aside a mention inside them
    window: Annotated[int, Field(ge=0, le=20)] | None = None  # overrides [relevance].window


class RelevanceSettings(Section):
    """When a mention counts (see monitor/analysis/relevance.py); the defaults are in config/monitor.toml."""

    target: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    window: Annotated[int, Field(ge=0, le=5)] = 1
    attach_after: tuple[str, ...] = ("of", "on", "in", "for", "against", "toward", "towards")
    attach_before: tuple[str, ...] = ("'s", "의", "에 대한")
    negation_before: tuple[str, ...] = ()
    negation_after: tuple[str, ...] = ()
    negation_words: Annotated[int, Field(ge=0, le=10)] = 3
    not_negation: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    count: tuple[Literal["excluded", "negated", "reported", "other-target", "no-target"], ...] = ()


class FacetValueSettings(Section):
    label: str
    patterns: Annotated[tuple[str, ...], Field(min_length=1)]


class FacetSettings(Section):
    label: str
    concepts: Annotated[tuple[str, ...], Field(min_length=1)]
    scope: Literal["attached", "sentence"] = "attached"
    values: Annotated[dict[str, FacetValueSettings], Field(min_length=1)]
