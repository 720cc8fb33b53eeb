"""What a source kind sees of the poll engine (monitor/pipeline.py): the `Engine` protocol, the
`Job` a pending fetch or extraction is for, and the `Summary` a poll returns.

A kind (monitor/sources/kinds.py) handles its own responses through these calls only, so it
imports neither the store nor the write path: the engine owns the pools, the transactions and
the counts, and the kind owns what its responses mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Protocol

from monitor.models import Arrival, Extracted, FeedEntry, Processed, Response, WordingChange

if TYPE_CHECKING:
    from monitor.config import Settings, Source

# A stored document's kind, fetch failures in a row and fingerprint, by its URL.
EntryState = tuple[str | None, int, str | None]


@dataclass
class Summary:
    """What one poll did; `errors` pairs a source name with what went wrong, `failed` names
    the sources whose own feed or page could not be had (their articles' errors are in
    `errors` only), `wording` lists the wording changes stored."""

    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    # answered 200 with the body already handled (no validators, or a server that ignores
    # them): neither parsed nor extracted again
    unchanged: int = 0
    new_documents: int = 0
    new_versions: int = 0
    mentions: int = 0
    changes: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wording: list[WordingChange] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "unchanged": self.unchanged,
            "new_documents": self.new_documents,
            "new_versions": self.new_versions,
            "mentions": self.mentions,
            "changes": self.changes,
            "wording_changes": [asdict(w) for w in self.wording],
            "failed_sources": self.failed,
            "errors": [{"source": s, "error": e} for s, e in self.errors],
        }


@dataclass(frozen=True)
class Job:
    """What a pending future is for. `stage` is the kind's own name for a fetch (a feed's
    "feed" and "article"), or "extract" for an extraction, which the engine runs for any kind."""

    stage: str
    source: Source
    url: str
    entry: FeedEntry | None = None
    response: Response | None = None
    validators: tuple[str | None, str | None] = (None, None)
    body_hash: str | None = None  # of the last body of this URL fully handled
    robots: bool = False  # whether robots.txt is asked first (links found, not configured URLs)


class Engine(Protocol):
    """The poll engine as a kind's handler calls it (monitor/pipeline.py implements it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def summary(self) -> Summary: ...

    def fetch(self, job: Job) -> None:
        """Queue a GET of `job.url`; the kind's `fetched` gets the Response or the error."""

    def extract(self, job: Job, response: Response) -> None:
        """Send a fetched body to the extraction workers; the kind's `extracted` gets the
        Processed document or the error (a series member waits for the end of the poll)."""

    def prepared(self, extracted: Extracted) -> Processed:
        """Text the kind has already, with the concepts found in it (no worker needed)."""

    def store(
        self, source: Source, arrival: Arrival, validators: dict[str, str] | None = None
    ) -> None:
        """Store a document through the write path and count what it changed."""

    def succeeded(
        self, source: Source, title: str | None = None, warning: str | None = None
    ) -> None:
        """The source's own feed or page was had."""

    def fail_source(self, source: Source, error: str) -> None:
        """The source's own feed or page could not be had."""

    def charset(self, source: Source, url: str, warning: str | None) -> None:
        """Keep (or clear) a wrong charset declaration of a document the source just decoded."""

    def redact(self, text: str) -> str:
        """`text` with every secret of the config hidden, as stored, logged and reported."""

    def redact_url(self, url: str) -> str:
        """`url` as stored and shown: its secrets hidden."""

    def public_url(self, url: str) -> str:
        """A configured URL without the secrets the config puts in it (the document's key)."""

    def mentions(self, source: Source, text: str) -> bool:
        """Whether `text` mentions a concept, names the target or has one of the source's
        keywords (what `follow = "matching"` follows)."""

    def entry_states(self, urls: Iterable[str]) -> Mapping[str, EntryState]:
        """The stored state of the documents with these URLs."""

    def owed_entries(self, source: Source, max_failures: int) -> list[FeedEntry]:
        """Entries whose article fetch failed at an earlier poll, fewer than `max_failures`
        times in a row."""

    def give_up(self, url: str, error: str, max_failures: int) -> None:
        """Never fetch this article again (robots.txt disallows it)."""

    def save_validators(
        self, source: Source, headers: dict[str, str], body_hash: str | None
    ) -> None:
        """Remember the validators and body hash of the source's URL once all its work is
        stored."""

    def page_unchanged(self, source: Source, url: str, response: Response, body_hash: str) -> None:
        """The source's page answered with the body its stored state came from: its
        validators are kept and the source succeeded, in one commit."""

    def page_placement(self, url: str) -> tuple[str | None, bool] | None:
        """The stored page's title and whether it was placed in a series, if it is stored."""


class Handler(Protocol):
    """One kind's handling of its sources during one poll (it may keep state for that poll)."""

    def start(
        self, source: Source, validators: tuple[str | None, str | None], last: str | None
    ) -> None:
        """Make the source's first request (`last`: the hash of the body last handled)."""

    def fetched(self, job: Job, result: Response | Exception) -> None:
        """A fetch made for this kind finished."""

    def extracted(self, job: Job, result: Processed | Exception) -> None:
        """An extraction of a body fetched for this kind finished."""


# A kind's config problems for one source: (the key, what is wrong and the fix).
Problems = Callable[["Source"], Iterable[tuple[str, str]]]


def no_problems(source: Source) -> Iterable[tuple[str, str]]:
    return ()


@dataclass(frozen=True)
class SourceKind:
    """A `kind` of `[[sources]]`: its handler for a poll and its config cross-checks."""

    name: str
    handler: Callable[[Engine], Handler]
    problems: Problems = no_problems


def fetched_response(engine: Engine, job: Job, result: Response | Exception) -> Response | None:
    """The response to a source's own request, when there is a body to handle: a failure
    fails the source, a 304 is a success with nothing to do."""
    if isinstance(result, Exception):
        engine.fail_source(job.source, str(result))
        return None
    if result.not_modified:
        engine.summary.not_modified += 1
        engine.succeeded(job.source)
        return None
    engine.summary.fetched += 1
    return result
