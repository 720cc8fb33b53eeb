"""The web view's Atom feeds validate against RFC 4287's RELAX NG schema (its Appendix B,
converted from the compact syntax by rnc2rng and checked by lxml), and the two Schematron rules
the schema states as annotations are checked here by hand. The feeds come from the real server
on the demo history with its hostile series, and from feeds.py on edge cases directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import rnc2rng
from lxml import etree

from monitor import config
from monitor.store.views import AlertRow, ChangeRow
from monitor.web.feeds import alerts_feed, changes_feed
from monitor.web.server import Running, running
from tests.web_history import HOSTILE_TITLE
from tests.web_history import history as history  # the module's fixture

# RFC 4287 Appendix B (normative), without its two Schematron annotations (tested below), kept
# as the RFC prints it (tests/data/feeds/PROVENANCE.md).
ATOM_RNC = (Path(__file__).parent / "data" / "feeds" / "atom.rnc").read_text(encoding="utf-8")
ATOM = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture(scope="module")
def schema() -> etree.RelaxNG:
    # rnc2rng declares the compact syntax's `local` prefix for the empty namespace, which XML
    # forbids; its uses are already written as nsName ns=""
    rng = rnc2rng.dumps(rnc2rng.loads(ATOM_RNC)).replace(' xmlns:local=""', "")
    return etree.RelaxNG(etree.fromstring(rng.encode("utf-8")))


def valid(schema: etree.RelaxNG, body: bytes) -> etree._Element:
    """The feed, valid by the schema and by its two Schematron rules."""
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    entries = root.findall("atom:entry", ATOM)
    # "An atom:feed must have an atom:author unless all of its atom:entry children have one."
    assert root.find("atom:author", ATOM) is not None or all(
        e.find("atom:author", ATOM) is not None for e in entries
    )
    # "An atom:entry must have at least one atom:link with rel 'alternate' or an atom:content."
    for entry in entries:
        assert entry.xpath(
            "atom:link[@rel='alternate'] or atom:link[not(@rel)] or atom:content", namespaces=ATOM
        )
    return root


@pytest.fixture(scope="module")
def server(history: config.Settings) -> Iterator[Running]:
    with running(history) as found:
        yield found


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/changes.atom",
        "/feeds/changes.atom?concept=cvid",
        "/feeds/changes.atom?series=hostile",
        "/feeds/changes.atom?series=us-rok-joint-statements",
        "/feeds/alerts.atom",
        "/feeds/alerts.atom?concept=cvid",
    ],
)
def test_the_served_feeds_are_valid_atom(schema: etree.RelaxNG, server: Running, path: str) -> None:
    body = httpx2.get(server.url + path, timeout=30).content
    root = valid(schema, body)
    if "changes" in path and "concept" not in path:
        assert root.findall("atom:entry", ATOM)


def test_the_schema_refuses_what_is_not_atom(schema: etree.RelaxNG) -> None:
    """The check has teeth: a feed without its id, or with a date that is not RFC 3339, fails."""
    body = changes_feed(
        [_row(1)], base="http://127.0.0.1", self_url="http://127.0.0.1/f", title="t"
    )
    root = etree.fromstring(body)
    root.remove(root.find("atom:id", ATOM))
    assert not schema.validate(root)
    root = etree.fromstring(body)
    root.find("atom:updated", ATOM).text = "yesterday"
    assert not schema.validate(root)


def _row(n: int, verdict: str = "cvid dropped", title: str | None = "A statement") -> ChangeRow:
    return ChangeRow(
        n,
        "revision",
        n,
        f"https://example.org/{n}",
        title,
        "src",
        None,
        f"2026-12-0{n}T01:02:03+00:00",
        0.5,
        verdict,
        None,
    )


def test_hostile_and_empty_feeds_are_valid(schema: etree.RelaxNG) -> None:
    base, me = "http://127.0.0.1:1", "http://127.0.0.1:1/feeds/changes.atom"
    valid(schema, changes_feed([], base=base, self_url=me, title="empty"))
    valid(schema, alerts_feed([], base=base, self_url=me, title="empty"))
    nasty = HOSTILE_TITLE + "\ufffe\uffff\x00\x0b"
    root = valid(
        schema,
        changes_feed(
            [_row(1, nasty, nasty), _row(2, title=None)], base=base, self_url=me, title="t"
        ),
    )
    text = etree.tostring(root, encoding="unicode")
    assert "\x1b" not in text and "\ufffe" not in text
    titles = [
        e.findtext("atom:title", namespaces=ATOM) or "" for e in root.iterfind("atom:entry", ATOM)
    ]
    assert any("<U+001B>" in title and "<U+FFFE>" in title for title in titles), titles
    alert = AlertRow(7, "change", nasty, f"line one\n{nasty}", "2026-12-01T00:00:00+00:00", None)
    valid(schema, alerts_feed([alert], base=base, self_url=me, title="t"))
