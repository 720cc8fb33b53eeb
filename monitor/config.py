"""The configuration: one TOML file, validated once, with errors that name the key and the fix.

This module, monitor/config_file.py (finding and reading the file) and monitor/config_stamp.py
(configs already validated) are the only ones that read environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError

from monitor import channel_kinds, config_stamp

# Finding and reading the file live in monitor/config_file.py; their callers still find them here.
from monitor.config_file import DEFAULT_CONFIG as DEFAULT_CONFIG
from monitor.config_file import SHIPPED as SHIPPED
from monitor.config_file import config_path as config_path
from monitor.config_file import database_override, web_host_override
from monitor.config_file import load_text as load_text
from monitor.config_file import loads as loads
from monitor.config_file import no_color as no_color
from monitor.config_file import shipped_config_text as shipped_config_text
from monitor.config_file import uses_shipped as uses_shipped
from monitor.config_sections import DAY as DAY
from monitor.config_sections import DEFAULT_RULES as DEFAULT_RULES
from monitor.config_sections import HOUR as HOUR
from monitor.config_sections import NAME as NAME
from monitor.config_sections import YEAR_MINUTES as YEAR_MINUTES
from monitor.config_sections import AlertRule as AlertRule
from monitor.config_sections import AlertSettings as AlertSettings
from monitor.config_sections import ConceptSettings as ConceptSettings
from monitor.config_sections import DigestSettings as DigestSettings
from monitor.config_sections import EmailSettings as EmailSettings
from monitor.config_sections import ExtractSettings as ExtractSettings
from monitor.config_sections import FacetSettings as FacetSettings
from monitor.config_sections import FacetValueSettings as FacetValueSettings
from monitor.config_sections import FetchSection as FetchSection
from monitor.config_sections import RelevanceSettings as RelevanceSettings
from monitor.config_sections import ScheduleSettings as ScheduleSettings

# The sections live in monitor/config_sections.py; their users find them here.
from monitor.config_sections import Section
from monitor.config_sections import Series as Series
from monitor.config_sections import SeriesRule as SeriesRule
from monitor.config_sections import ServiceSettings as ServiceSettings
from monitor.config_sections import Source as Source
from monitor.config_sections import StorageSettings as StorageSettings
from monitor.config_sections import WebhookSettings as WebhookSettings
from monitor.config_sections import WebSettings as WebSettings
from monitor.config_stamp import Basics
from monitor.errors import ConfigError
from monitor.models import Concept, Facet, FacetValue, Lexicon, Relevance
from monitor.sources.kinds import KINDS

if TYPE_CHECKING:
    pass


class Settings(Section):
    storage: StorageSettings = Field(default_factory=StorageSettings)
    fetch: FetchSection = Field(default_factory=FetchSection)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    sources: tuple[Source, ...] = ()
    concepts: dict[str, ConceptSettings] = Field(default_factory=dict)
    relevance: RelevanceSettings = Field(default_factory=RelevanceSettings)
    facets: dict[str, FacetSettings] = Field(default_factory=dict)
    ladders: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    series: tuple[Series, ...] = ()
    email: EmailSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @property
    def database(self) -> Path:
        return Path(self.storage.database)

    def basics(self) -> Basics:
        """What the read-only commands take from this config (monitor/config_stamp.py)."""
        return config_stamp.of(self)

    def concept_records(self) -> tuple[Concept, ...]:
        """The configured concepts as match records, in file order."""
        return tuple(
            Concept(
                id=cid,
                label=c.label,
                patterns=c.patterns,
                priority=c.priority,
                needs_target=c.needs_target,
                exclude=c.exclude,
                window=c.window,
            )
            for cid, c in self.concepts.items()
        )

    def lexicon(self) -> Lexicon:
        """Concepts, relevance rules and facets, as the matcher takes them."""
        r = self.relevance
        return Lexicon(
            self.concept_records(),
            Relevance(**r.model_dump()),
            tuple(
                Facet(
                    fid,
                    f.label,
                    f.concepts,
                    tuple(FacetValue(vid, v.label, v.patterns) for vid, v in f.values.items()),
                    f.scope,
                )
                for fid, f in self.facets.items()
            ),
        )

    def series_of(self, url: str, source: str, title: str | None) -> Series | None:
        """The first configured series a document belongs to, if any."""
        return next((s for s in self.series if s.includes(url, source, title)), None)

    def series_by_id(self, series_id: str) -> Series:
        for series in self.series:
            if series.id == series_id:
                return series
        known = ", ".join(s.id for s in self.series) or "none"
        raise ConfigError(
            f"no series {series_id!r} in the config (known: {known}); add a [[series]]"
        )

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} in the config (known: {known})")


_FIXES = {
    "missing": "add this key",
    "extra_forbidden": "remove it or check its spelling against config/monitor.toml",
    "literal_error": "use one of the allowed values",
    "float_parsing": "use a number",
    "int_parsing": "use a whole number",
    "greater_than": "use a larger number",
    "greater_than_equal": "use a larger number",
    "less_than": "use a smaller number",
    "less_than_equal": "use a smaller number",
    "finite_number": "use a finite number; inf and nan are not allowed",
    "int_from_float": "use a whole number",
    "int_type": "use a whole number",
    "float_type": "use a number",
    "too_short": "add at least one entry",
}


def _key(loc: tuple[int | str, ...], raw: Mapping[str, Any]) -> str:
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                name = node[item].get("name") or node[item].get("id")
                if name:
                    label = f"[{item}] ({name})"
            parts.append(label)
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        fix = _FIXES.get(err["type"])
        problems.append(f"{_key(err['loc'], raw)}: {msg}" + (f" ({fix})" if fix else ""))
    return problems


def _pattern_problem(pattern: str) -> str | None:
    """Why a concept pattern or keyword cannot be matched, or None (each is compiled alone, as
    the automaton would: no automaton is built for the check)."""
    from monitor.analysis.patterns import problem

    return problem(pattern)


def _cross_check(settings: Settings) -> list[str]:
    problems = []
    seen: set[str] = set()
    for i, source in enumerate(settings.sources):
        if source.name in seen:
            problems.append(
                f"sources[{i}] ({source.name}).name: duplicate name; names must be unique"
            )
        seen.add(source.name)
        for key, wrong in KINDS[source.kind].problems(source):
            problems.append(f"sources[{i}] ({source.name}).{key}: {wrong}")
    for i, source in enumerate(settings.sources):
        for j, keyword in enumerate(source.keywords):
            problem = _pattern_problem(keyword)
            if problem:
                problems.append(f"sources[{i}] ({source.name}).keywords[{j}]: {problem}")
    for cid in settings.concepts:
        if not NAME.match(cid):
            problems.append(f"concepts.{cid}: use lower-case letters, digits and dashes in ids")
        for field_ in ("patterns", "exclude"):
            for j, pattern in enumerate(getattr(settings.concepts[cid], field_)):
                problem = _pattern_problem(pattern)
                if problem:
                    problems.append(f"concepts.{cid}.{field_}[{j}]: {problem}")
    r = settings.relevance
    for field_ in (
        "target",
        "others",
        "negation_before",
        "negation_after",
        "not_negation",
        "reported",
    ):
        for j, pattern in enumerate(getattr(r, field_)):
            problem = _pattern_problem(pattern)
            if problem:
                problems.append(f"relevance.{field_}[{j}]: {problem}")
    if not r.target and any(c.needs_target for c in settings.concepts.values()):
        needing = ", ".join(cid for cid, c in settings.concepts.items() if c.needs_target)
        problems.append(
            f"relevance.target: concepts {needing} need a target; list its names "
            '(e.g. target = ["North Korea", "북한"]) or set needs_target = false'
        )
    for fid, facet in settings.facets.items():
        if not NAME.match(fid):
            problems.append(f"facets.{fid}: use lower-case letters, digits and dashes in ids")
        for cid in facet.concepts:
            if cid not in settings.concepts:
                problems.append(
                    f"facets.{fid}.concepts: unknown concept {cid!r}; define [concepts.{cid}]"
                )
        for vid, value in facet.values.items():
            if not NAME.match(vid):
                problems.append(
                    f"facets.{fid}.values.{vid}: use lower-case letters, digits and dashes"
                )
            for j, pattern in enumerate(value.patterns):
                problem = _pattern_problem(pattern)
                if problem:
                    problems.append(f"facets.{fid}.values.{vid}.patterns[{j}]: {problem}")
    names = {s.name for s in settings.sources}
    ids: set[str] = set()
    for i, series in enumerate(settings.series):
        key = f"series[{i}] ({series.id})"
        if series.id in ids:
            problems.append(f"{key}.id: duplicate id; ids must be unique")
        ids.add(series.id)
        if not series.members and series.rule is None:
            problems.append(f"{key}: give members = [...] or a [series.rule], or both")
        if (
            series.rule is not None
            and series.rule.source not in names
            and series.rule.source != "local"
        ):
            problems.append(f"{key}.rule.source: no source named {series.rule.source!r}")
        if series.baseline is not None and series.members and series.baseline not in series.members:
            problems.append(f"{key}.baseline: not one of the members; list it in members")
    channels = channel_kinds.defined(settings)
    for i, rule in enumerate(settings.alerts.rules):
        key = f"alerts.rules[{i}] ({rule.name})"
        for channel in rule.channels:
            if channel not in channels:
                problems.append(f"{key}.channels: no channel {channel!r}; {channel_kinds.hint()}")
        for concept in rule.concepts:
            if concept not in settings.concepts:
                problems.append(f"{key}.concepts: unknown concept {concept!r}")
        for name in rule.sources:
            if name not in names:
                problems.append(f"{key}.sources: no source named {name!r}")
    for channel in settings.alerts.failure_channels:
        if channel not in channels:
            problems.append(f"alerts.failure_channels: no channel {channel!r}")
    for lid, steps in settings.ladders.items():
        for step in steps:
            if step not in settings.concepts:
                problems.append(
                    f"ladders.{lid}: unknown concept {step!r}; define [concepts.{step}] or remove it"
                )
        if len(set(steps)) != len(steps):
            problems.append(f"ladders.{lid}: a concept appears twice; list each once")
    return problems


def parse(raw: Mapping[str, Any], *, origin: str = "config", environment: bool = True) -> Settings:
    """Validate a parsed TOML mapping; raise ConfigError listing every problem.

    With `environment`, $MONITOR_DB overrides the database (the demo keeps its own) and
    $MONITOR_WEB_HOST the web view's address (the container's image sets it to 0.0.0.0)."""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = _describe(exc, raw)
    else:
        problems = _cross_check(settings)
    if len(problems) == 1:  # one fault, one line
        raise ConfigError(f"{origin}: {problems[0]}", (problems[0],))
    if problems:
        raise ConfigError(
            f"{origin} has {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            tuple(problems),
        )
    return overridden(settings) if environment else settings


def overridden(settings: Settings) -> Settings:
    """The settings with the database $MONITOR_DB names and the web view's address
    $MONITOR_WEB_HOST names, when they are set."""
    database = database_override()
    if database:
        storage = settings.storage.model_copy(update={"database": database})
        settings = settings.model_copy(update={"storage": storage})
    host = web_host_override()
    if host:
        settings = settings.model_copy(
            update={"web": settings.web.model_copy(update={"host": host})}
        )
    return settings


def load(path: Path | None = None) -> Settings:
    """Read and validate the config file."""
    path = config_path(path)
    return parse(loads(load_text(path), origin=str(path)), origin=str(path))


def load_shipped() -> Settings:
    """The shipped default config (the one `monitor init` writes), validated."""
    return parse(loads(shipped_config_text(), origin=SHIPPED), origin=SHIPPED)
