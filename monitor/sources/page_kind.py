"""The `page` kind: one watched URL (HTML or PDF), extracted and stored as a page whenever its
body changes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from monitor.body import body_hash
from monitor.models import Arrival, Processed, Response
from monitor.sources.engine import Engine, Job, SourceKind, fetched_response
from monitor.sources.urls import canonical_url

if TYPE_CHECKING:
    from monitor.config import Source


class PageHandler:
    """The watched pages of one poll (they keep no state between their calls)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self, source: Source, validators: tuple[str | None, str | None], last: str | None
    ) -> None:
        self.engine.fetch(Job("page", source, source.url, validators=validators, body_hash=last))

    def fetched(self, job: Job, result: Response | Exception) -> None:
        response = fetched_response(self.engine, job, result)
        if response is None:
            return
        digest = body_hash(response.body)
        url = canonical_url(self.engine.public_url(job.source.url))
        if digest == job.body_hash and not self._to_place(job.source, url):
            # The body its stored state came from: extracting it again would find the same.
            self.engine.summary.unchanged += 1
            self.engine.page_unchanged(job.source, url, response, digest)
            return
        self.engine.extract(job, response)

    def _to_place(self, source: Source, url: str) -> bool:
        """Whether a stored page belongs to a series (configured since it was stored) that it
        was not placed in yet: then its unchanged body is extracted again to place it."""
        settings = self.engine.settings
        if not settings.series:
            return False
        stored = self.engine.page_placement(url)
        if stored is None:
            return True
        title, placed = stored
        return not placed and settings.series_of(url, source.name, title) is not None

    def extracted(self, job: Job, result: Processed | Exception) -> None:
        assert job.response is not None
        if isinstance(result, Exception):
            self.engine.fail_source(job.source, str(result))
            return
        link = self.engine.public_url(job.source.url)
        arrival = Arrival(
            url=canonical_url(link),
            link=link,
            kind="page",
            processed=result,
            content_type=job.response.content_type,
            final_url=self.engine.redact_url(job.response.final_url),
        )
        self.engine.store(job.source, arrival, validators=job.response.headers)
        self.engine.succeeded(job.source)
        self.engine.charset(job.source, job.url, result.extracted.charset_warning)


def _problems(source: Source) -> Iterable[tuple[str, str]]:
    if source.follow != "none":
        yield "follow", "only feeds follow links; remove it"


KIND = SourceKind("page", PageHandler, _problems)
