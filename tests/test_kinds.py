"""A source kind is one module and one entry in monitor/sources/kinds.py: a kind registered here,
in the test alone, is accepted by the config and polled by the engine against a real server."""

from __future__ import annotations

import pytest

from monitor import config, store
from monitor.errors import ConfigError
from monitor.models import Arrival, Extracted, Processed, Response
from monitor.pipeline import poll
from monitor.sources.engine import Engine, Job, SourceKind, fetched_response
from monitor.sources.kinds import KINDS
from monitor.sources.urls import canonical_url
from tests.conftest import MakeSettings
from tests.servers import LocalServer, respond

BODY = "The allies reaffirmed the complete denuclearization of North Korea.\n\nNothing else."

Validators = tuple[str | None, str | None]  # a Job's: the stored ETag and Last-Modified


class TextHandler:
    """A "text" kind: the body is the document, stored as is (no worker, no extraction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, source: config.Source, validators: Validators, last: str | None) -> None:
        self.engine.fetch(Job("text", source, source.url, validators=validators, body_hash=last))

    def fetched(self, job: Job, result: Response | Exception) -> None:
        response = fetched_response(self.engine, job, result)
        if response is None:
            return
        link = self.engine.public_url(job.source.url)
        text = response.body.decode("utf-8")
        arrival = Arrival(
            url=canonical_url(link),
            link=link,
            kind="page",
            processed=self.engine.prepared(Extracted(text, None, None, "text")),
            content_type=response.content_type,
        )
        self.engine.store(job.source, arrival, validators=response.headers)
        self.engine.succeeded(job.source)

    def extracted(self, job: Job, result: Processed | Exception) -> None:
        raise AssertionError("a text source is never extracted")


def _keywordless(source: config.Source) -> list[tuple[str, str]]:
    return [("keywords", "text sources take no keywords; remove them")] if source.keywords else []


TEXT = SourceKind("text", TextHandler, _keywordless)


@pytest.fixture
def text_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "text", TEXT)


@pytest.mark.usefixtures("text_kind")
def test_a_kind_registered_alone_is_polled_and_stored(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        server.route("/note.txt", respond(200, BODY.encode(), {"Content-Type": "text/plain"}))
        settings = make_settings(
            [{"name": "notes", "kind": "text", "url": server.url("/note.txt")}]
        )
        with store.open_db(settings.database) as db:
            first = poll(settings, db)
            again = poll(settings, db)
            rows = db.execute(
                "SELECT d.kind, v.text, v.method FROM documents d JOIN versions v"
                " ON v.document_id = d.id"
            ).fetchall()
            concepts = {r[0] for r in db.execute("SELECT concept FROM mentions").fetchall()}
    assert (first.fetched, first.new_documents, first.new_versions, first.errors) == (1, 1, 1, [])
    assert (again.new_documents, again.new_versions, again.errors) == (0, 0, [])
    assert rows == [("page", BODY, "text")]  # the body as is
    assert "complete-denuclearization" in concepts
    assert [h.path for h in server.requests] == ["/note.txt", "/note.txt"]


@pytest.mark.usefixtures("text_kind")
def test_the_config_takes_its_kinds_and_checks_from_the_registry(
    make_settings: MakeSettings,
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings([{"name": "a", "kind": "pdf", "url": "https://example.org/a"}])
    assert "sources[0] (a).kind: Input should be 'feed', 'page' or 'text'" in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        make_settings(
            [{"name": "a", "kind": "text", "url": "https://example.org/a", "keywords": ["x"]}]
        )
    assert "sources[0] (a).keywords: text sources take no keywords; remove them" in str(
        raised.value
    )


def test_without_it_the_kind_is_unknown(make_settings: MakeSettings) -> None:
    with pytest.raises(ConfigError, match=r"Input should be 'feed' or 'page' \(use one of"):
        make_settings([{"name": "a", "kind": "text", "url": "https://example.org/a"}])
