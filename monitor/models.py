"""Records passed between the pipeline stages. Stages never pass dicts or library objects onward.

Longer than most modules, and on purpose: every record the stages pass to one another, frozen
dataclasses with no logic beyond reading a comparison back from its JSON, kept in one file so the
data model reads in one place."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, Literal, TypeVar, get_args

# The words a comparison is told in. JSON and the database hold them as strings; within monitor
# they are these types, so a misspelt status is a type error, not a rule that never matches.
ChangeKind = Literal["revision", "succession", "baseline"]
ConceptStatus = Literal["dropped", "introduced", "increased", "decreased", "unchanged"]
QualifierStatus = Literal["kept", "changed", "introduced", "dropped"]
Move = Literal["downgrade", "upgrade", "same"]
WordKind = Literal["same", "added", "removed", "mark"]  # mark: a matched term in a quote
DocumentKind = Literal["entry", "article", "page", "file"]


@dataclass(frozen=True)
class Concept:
    """One idea with many spellings; `patterns` use the syntax documented in match.py."""

    id: str
    label: str
    patterns: tuple[str, ...]
    priority: str = "normal"
    needs_target: bool = False  # a mention counts only when it is about the relevance target
    exclude: tuple[str, ...] = ()  # phrases (same syntax) that set a mention inside them aside
    window: int | None = None  # sentences searched for the target; None: the relevance default


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet, found by its patterns (e.g. `dprk`: "DPRK", "North Korea", "북한")."""

    id: str
    label: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Facet:
    """A qualifier read from the words around each mention of some concepts.

    `scope` "attached": a value inside the mention or joined to it ("of the DPRK", "한반도의");
    "sentence": anywhere in the mention's sentence."""

    id: str
    label: str
    concepts: tuple[str, ...]
    values: tuple[FacetValue, ...]
    scope: str = "attached"


@dataclass(frozen=True)
class Relevance:
    """When a mention counts: the target it must be about, and the cues that set it aside.

    Reasons a mention is set aside: "excluded", "negated", "reported", "other-target",
    "no-target" (see monitor/analysis/match.py); the reasons in `count` still count."""

    target: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    window: int = 1
    attach_after: tuple[str, ...] = ()
    attach_before: tuple[str, ...] = ()
    negation_before: tuple[str, ...] = ()
    negation_after: tuple[str, ...] = ()
    negation_words: int = 3
    not_negation: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    count: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """Everything the matcher needs: concepts, the relevance rules and the facets."""

    concepts: tuple[Concept, ...]
    relevance: Relevance = Relevance()
    facets: tuple[Facet, ...] = ()


@dataclass(frozen=True)
class Mention:
    """One match of a concept in a text; offsets index the original (stored) text.

    `reason` says why a mention was set aside (None: it is relevant); `counted` is whether it
    counts in verdicts, ladders, alerts, the digest and timelines (set-aside reasons count only
    when the config says so); `facets` are the (facet, value) pairs read around it.
    `sentence_start` and `sentence_end` locate the sentence in the text (-1: not known)."""

    concept: str
    variant: str
    sentence: str
    start: int
    end: int
    reason: str | None = None
    counted: bool = True
    facets: tuple[tuple[str, str], ...] = ()
    sentence_start: int = -1
    sentence_end: int = -1


@dataclass(frozen=True)
class Extracted:
    """The readable text of a fetched page or document."""

    text: str
    title: str | None = None
    published: datetime | None = None
    method: str = "trafilatura"
    # set when the body's declared charset was wrong: names it and the charset used
    charset_warning: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt, successful or not, as recorded in the `fetches` table."""

    url: str
    started_at: datetime
    status: int | None
    bytes: int
    elapsed: float
    error: str | None = None


@dataclass(frozen=True)
class Response:
    """What one HTTP request (after redirects and retries) gave back.

    `headers` has lower-case names; `attempts` lists every try, the last one included.
    """

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    attempts: tuple[Attempt, ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, keyed by its canonical URL."""

    url: str
    link: str
    title: str
    summary: str
    published: datetime | None
    published_raw: str | None

    @property
    def fingerprint(self) -> str:
        """sha256 of what is stored of an entry alone (documents.entry_hash): the same again is
        not written again."""
        parts = (self.title, self.summary, self.link)
        return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ParsedFeed:
    """The entries of a feed and, when the feed was damaged, what was wrong with it."""

    title: str | None
    entries: tuple[FeedEntry, ...]
    problem: str | None = None
    # set when the feed's declared charset was wrong: names it and the charset used
    charset_warning: str | None = None


@dataclass(frozen=True)
class Processed:
    """A page after extraction and matching, ready to store.

    `raw` is the fetched body, zstd-compressed (None for text that came from a feed entry);
    `raw_bytes` its size before compression, `body_hash` its sha256 before compression.
    """

    extracted: Extracted
    normalised_hash: str
    mentions: tuple[Mention, ...] = field(default_factory=tuple)
    raw: bytes | None = None
    raw_bytes: int | None = None
    body_hash: str | None = None


@dataclass(frozen=True)
class Arrival:
    """A document as it reaches the write path (monitor/ingest.py): its key, where it was found
    and what extraction made of it.

    `kind` is entry (a feed entry's own text), article (the page behind an entry), page (a
    watched URL) or file (`monitor add`); `published` the caller's date if it has one (else the
    entry's, else the page's); `failure` why the article behind an entry could not be had (its
    entry's text is stored meanwhile)."""

    url: str  # its canonical key (monitor/sources/urls.py)
    link: str  # the address as found
    kind: DocumentKind
    processed: Processed
    entry: FeedEntry | None = None
    content_type: str | None = None
    final_url: str | None = None
    published: datetime | None = None
    failure: str | None = None


@dataclass(frozen=True)
class StoreLimits:
    """What one version may store ([storage].max_mentions and max_sentence)."""

    max_mentions: int = 1000  # mention rows per concept and reason
    max_sentence: int = 2000  # characters of a sentence kept for a mention


@dataclass(frozen=True)
class Stored:
    """What storing one fetched document changed."""

    document_id: int
    new_document: bool
    new_version: bool
    mentions: int
    changes: int = 0
    limits: str | None = None  # the storage limits the new version hit (versions.limits)
    # The wording changes stored (as many as `changes`), for the poll's summary.
    wording: tuple[WordingChange, ...] = ()


@dataclass(frozen=True)
class WordingChange:
    """A wording change one poll stored, as `monitor once` reports it."""

    url: str
    title: str | None
    source: str
    kind: ChangeKind
    significance: float
    verdict: str


@dataclass(frozen=True)
class SearchHit:
    url: str
    title: str | None
    source: str
    published: str | None
    snippet: str


@dataclass(frozen=True)
class VersionView:
    id: int
    fetched_at: str
    text: str
    concepts: dict[str, int]  # mentions that count
    set_aside: dict[str, dict[str, int]] = field(default_factory=dict)  # concept -> reason -> n
    limits: str | None = None  # the storage limits this version hit (see versions.limits)


@dataclass(frozen=True)
class DocumentHistory:
    url: str
    title: str | None
    source: str
    versions: tuple[VersionView, ...]


@dataclass(frozen=True)
class SourceHealth:
    name: str
    url: str
    kind: str
    last_success: str | None
    last_error: str | None
    consecutive_failures: int
    documents: int
    warning: str | None = None  # the last wrong charset declaration found (sources.warning)

    def state(self, enabled: bool, failing: str = "failing ×{}") -> str:
        """How the source stands: disabled, failing (`failing` with the count of failures in a
        row), never polled, or ok."""
        if not enabled:
            return "disabled"
        if self.consecutive_failures:
            return failing.format(self.consecutive_failures)
        return "never polled" if self.last_success is None and self.last_error is None else "ok"


@dataclass(frozen=True)
class ConceptSummary:
    concept: str
    mentions: int
    documents: int
    variants: tuple[str, ...]
    example_sentence: str
    example_title: str


# --- wording changes -----------------------------------------------------------------------


@dataclass(frozen=True)
class WordOp:
    """A run of words inside a changed sentence: kept ("same"), "added" or "removed"."""

    kind: WordKind
    text: str


@dataclass(frozen=True)
class ChangedSentence:
    """A sentence reworded in place, with word-level highlights: `ops` walk both sides in
    order, so the kept and removed runs spell `old` and the kept and added runs spell `new`."""

    old: str
    new: str
    ops: tuple[WordOp, ...]


@dataclass(frozen=True)
class SentenceDiff:
    """Sentence operations between two texts; moved sentences are neither added nor removed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ChangedSentence, ...] = ()
    moved: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """The old and the new sentence that carry a concept, paired when one rewords the other;
    a side is None when the sentence has no counterpart."""

    old: str | None
    new: str | None
    ops: tuple[WordOp, ...] = ()


@dataclass(frozen=True)
class ConceptDelta:
    """How often a concept appears before and after (relevant mentions only); status is
    dropped, introduced, increased, decreased or unchanged. `set_aside_*` count the mentions
    left out, by reason; `evidence` holds the sentences that carry a change of the concept."""

    id: str
    old: int
    new: int
    status: ConceptStatus
    variants_old: tuple[str, ...]
    variants_new: tuple[str, ...]
    set_aside_old: dict[str, int] = field(default_factory=dict)
    set_aside_new: dict[str, int] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    evidence_total: int = 0
    superseded: bool = False  # dropped because its ladder moved up past it: replaced, not lost


@dataclass(frozen=True)
class Qualifier:
    """A facet's values on each side for one concept; status is kept, changed, introduced or
    dropped. Labels are the values' display names, in the same order."""

    concept: str
    facet: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    status: QualifierStatus
    old_labels: tuple[str, ...] = ()
    new_labels: tuple[str, ...] = ()
    facet_label: str = ""
    own: bool = True  # the change shows in the concept's own mentions (see compare._qualifiers)


@dataclass(frozen=True)
class StanceMove:
    """The strongest concept of a ladder present before and after; move is downgrade, upgrade or
    same."""

    ladder: str
    old: str | None
    new: str | None
    move: Move


@dataclass(frozen=True)
class DocumentSide:
    """One side of a comparison."""

    title: str | None
    words: int
    concepts: dict[str, int]


@dataclass(frozen=True)
class Comparison:
    """Everything `monitor compare --json` shows.

    `summary` is the verdict as stored: None for a comparison `compare` made (its verdict is
    worked out from it), set by `from_json`, because the stored JSON lacks what the verdict
    reads (facet labels, whether a facet moved on a concept's own mentions)."""

    old: DocumentSide
    new: DocumentSide
    concepts: tuple[ConceptDelta, ...]
    stance: tuple[StanceMove, ...]
    sentences: SentenceDiff
    significance: float
    qualifiers: tuple[Qualifier, ...] = ()
    # Set when the two sides are in different languages (a translation): the sentence diff is
    # left empty, and the verdict compares concepts and facets only.
    languages: tuple[str, str] | None = None
    summary: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        """A comparison from its JSON (compare.as_json: the changes.comparison column, an outbox
        event). The JSON holds less than a comparison: word operations (renderers work them out
        again from the two sentences), facet labels and `own`, and which sentences moved (only
        how many: `sentences.moved` holds that many empty strings). Keys that older or partial
        JSON lacks take their defaults."""

        def side(d: Mapping[str, Any] | None) -> DocumentSide:
            d = d or {}
            return DocumentSide(d.get("title"), int(d.get("words", 0)), dict(d.get("concepts", {})))

        s = data.get("sentences") or {}
        moved = s.get("moved", 0)
        languages = data.get("languages")
        return cls(
            old=side(data.get("old")),
            new=side(data.get("new")),
            concepts=tuple(
                ConceptDelta(
                    id=d["id"],
                    old=d["old"],
                    new=d["new"],
                    status=_checked(d["status"], CONCEPT_STATUSES),
                    variants_old=tuple(d.get("variants_old", ())),
                    variants_new=tuple(d.get("variants_new", ())),
                    set_aside_old=dict((d.get("set_aside") or {}).get("old", {})),
                    set_aside_new=dict((d.get("set_aside") or {}).get("new", {})),
                    evidence=tuple(Evidence(e["old"], e["new"]) for e in d.get("evidence", ())),
                    evidence_total=int(d.get("evidence_total", 0)),
                    superseded=bool(d.get("superseded", False)),
                )
                for d in data.get("concepts", ())
            ),
            stance=tuple(
                StanceMove(m["ladder"], m["old"], m["new"], _checked(m["move"], MOVES))
                for m in data.get("stance", ())
            ),
            sentences=SentenceDiff(
                added=tuple(s.get("added", ())),
                removed=tuple(s.get("removed", ())),
                changed=tuple(
                    ChangedSentence(x["old"], x["new"], ()) for x in s.get("changed", ())
                ),
                moved=tuple(moved) if isinstance(moved, list) else ("",) * int(moved),
            ),
            significance=float(data.get("significance", 0.0)),
            qualifiers=tuple(
                Qualifier(
                    concept=q["concept"],
                    facet=q["facet"],
                    old=tuple(q.get("old", ())),
                    new=tuple(q.get("new", ())),
                    status=_checked(q["status"], QUALIFIER_STATUSES),
                    old_labels=tuple(q.get("old_labels", ())),
                    new_labels=tuple(q.get("new_labels", ())),
                )
                for q in data.get("qualifiers", ())
            ),
            languages=(languages[0], languages[1]) if languages else None,
            summary=data.get("summary"),
        )


_Word = TypeVar("_Word", bound=str)


def _checked(value: object, allowed: tuple[_Word, ...]) -> _Word:
    """`value` as one of the words of a Literal type; anything else is refused, so a misspelt
    status in stored JSON fails where it is read, not in a rule that never matches."""
    for word in allowed:
        if value == word:
            return word
    raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")


CONCEPT_STATUSES: tuple[ConceptStatus, ...] = get_args(ConceptStatus)
QUALIFIER_STATUSES: tuple[QualifierStatus, ...] = get_args(QualifierStatus)
MOVES: tuple[Move, ...] = get_args(Move)
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)


@dataclass(frozen=True)
class Change:
    """A wording change, the one record of it from the comparison to the alert: made by
    monitor/analysis/changes.py, saved by the store (a `changes` row, the comparison as JSON),
    judged by monitor/alerts/rules.py, told by monitor/render/.

    kind is revision (the same URL), succession (the previous member of its series) or baseline
    (the series' chosen baseline). A version id of None stands for the version being stored:
    an earlier edition stored after a later one becomes the old side of the later one's
    succession."""

    kind: ChangeKind
    url: str
    title: str | None
    old_title: str | None
    source: str
    series: str | None
    detected_at: datetime
    old_hash: str
    new_hash: str
    significance: float
    verdict: str
    comparison: Comparison
    old_version_id: int | None = None
    new_version_id: int | None = None


@dataclass(frozen=True)
class Placement:
    """Where a new series member lands: every current succession from a member before it
    (`before`, document ids) to one after it (`after`) now skips it and is superseded by the
    change at position `replacement` among those stored with it (None: none was stored)."""

    series: str
    before: tuple[int, ...]
    after: tuple[int, ...]
    replacement: int | None


@dataclass(frozen=True)
class StoredVersion:
    """A stored version, as needed to compare a newer one with it."""

    id: int
    document_id: int
    url: str
    title: str | None
    content_hash: str
    text: str
    method: str


@dataclass(frozen=True)
class ChangeView:
    """A stored change, as `monitor changes` lists it (with its id and supersession, which a
    Change does not carry). Its comparison is read from the stored JSON when first asked for:
    the plain listing shows none of it, and parsing 200 comparisons was about 40% of listing
    them."""

    id: int
    kind: str
    url: str
    title: str | None
    detected_at: str
    significance: float
    verdict: str
    stored: str = field(repr=False)  # changes.comparison, JSON
    superseded_at: str | None = None
    superseded_by: int | None = None

    @cached_property
    def comparison(self) -> Comparison:
        return Comparison.from_json(json.loads(self.stored))


# --- alerts and the digest -----------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """An alert or a digest, rendered once and kept in the outbox until a channel accepts it.

    `dedup_key` goes into the mail's Message-ID and the webhook's Idempotency-Key; `payload` is
    the JSON body webhooks receive (monitor's own format)."""

    dedup_key: str
    subject: str
    text: str
    html: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ArticleEvent:
    """A new document that mentions concepts."""

    url: str
    title: str | None
    source: str
    published: datetime | None
    detected_at: datetime
    content_hash: str
    mentions: tuple[Mention, ...]
    # The true number of mentions per concept, when fewer are stored ([storage].max_mentions);
    # empty: count `mentions`.
    counts: tuple[tuple[str, int], ...] = ()

    def count(self, concept: str) -> int:
        return dict(self.counts).get(concept) or sum(m.concept == concept for m in self.mentions)


@dataclass(frozen=True)
class SourceEvent:
    """A source that started failing (after the threshold) or recovered."""

    name: str
    url: str
    failing: bool
    consecutive_failures: int
    last_error: str | None
    at: datetime


@dataclass(frozen=True)
class DigestData:
    """Everything one day's digest shows; its times are UTC."""

    day: date
    start: datetime
    end: datetime
    timezone: str  # for display only
    changes: tuple[Change, ...]
    articles: tuple[ArticleEvent, ...]
    daily_counts: dict[str, tuple[tuple[date, int], ...]]
    labels: dict[str, str]
    order: tuple[str, ...]


# What an outbox row tells of, kept as JSON until delivery renders it (monitor/store/events.py).
QueuedEvent = Change | ArticleEvent | SourceEvent | DigestData


@dataclass(frozen=True)
class Queued:
    """What to send, as the outbox keeps it until delivery renders it: the event and its dedup
    key (the mail's Message-ID, the webhook's Idempotency-Key)."""

    dedup_key: str
    event: QueuedEvent


@dataclass(frozen=True)
class OutboxItem:
    """What to send on one channel ("email" or a webhook's name), to write to the outbox: an
    event that delivery renders (Queued), or a message rendered already (written as it is)."""

    channel: str
    recipients: tuple[str, ...]
    message: Queued | Message
    # The change it tells of, as its position among the changes stored with it (their ids are
    # not known before they are stored): a superseded change withdraws its pending alerts.
    change: int | None = None


@dataclass(frozen=True)
class PendingAlert:
    """An outbox row due for delivery. `event_json` is set while the row waits to be rendered
    (its `message` then holds only its dedup key); once rendered, `message` is what is sent."""

    id: int
    channel: str
    recipients: tuple[str, ...]
    message: Message
    attempts: int
    event_json: str | None = None
