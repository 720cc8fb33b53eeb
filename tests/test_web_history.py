"""The history the web view's tests serve: the offline demo's, as `monitor demo` makes it
(tests/test_golden_outputs.py's way), plus a hostile series whose two editions carry script
tags, event handlers, javascript: addresses, terminal escape sequences and bidirectional
controls in their titles and sentences. Also checks that the Change page's redline, compared
again from the stored texts, is the stored comparison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import config, store
from monitor.analysis import compare as comparing
from monitor.analysis.prepare import matcher
from monitor.demo_run import demo_root, run_demo
from monitor.ingest import add_file
from monitor.store import views

HOSTILE = (
    '<script>alert("xss")</script> <img src=x onerror="alert(1)"> '
    '<a href="javascript:alert(2)">click</a> \x1b[31m\x1b]0;pwned\x07 \u202eevil\u202c'
)
HOSTILE_TITLE = f"Hostile statement {HOSTILE}"
OLD_TEXT = (
    f"Joint statement. {HOSTILE} The allies seek the complete, verifiable, and irreversible "
    "denuclearization of North Korea. They also discussed trade.\n"
)
NEW_TEXT = (
    f"Joint statement. {HOSTILE} The allies seek the complete denuclearization of North Korea. "
    f"They also discussed trade and {HOSTILE} extended deterrence for the Republic of Korea.\n"
)

EDITIONS = (("hostile-2020.txt", OLD_TEXT), ("hostile-2021.txt", NEW_TEXT))


def history_settings(database: Path) -> config.Settings:
    """The demo's config (shipped concepts, demo sources and series) with the hostile series."""
    raw = config.loads(config.shipped_config_text(), origin="web test")
    demo_text = (demo_root() / "sources.toml").read_text(encoding="utf-8")
    demo = config.loads(demo_text.replace("{base}", "http://127.0.0.1:9"), origin="demo")
    raw["sources"] = demo["sources"]
    raw["series"] = [
        *demo.get("series", []),
        {
            "id": "hostile",
            "title": "Hostile <script>alert(3)</script> editions",
            "members": [str(database.parent / name) for name, _ in EDITIONS],
        },
    ]
    raw["storage"] = {**raw.get("storage", {}), "database": str(database)}
    return config.parse(raw, origin="web test", environment=False)


def build_history(folder: Path) -> config.Settings:
    """The demo polled twice, then the two hostile editions added to their series."""
    run_demo(folder, lambda _line: None)
    settings = history_settings(folder / "monitor.db")
    series = settings.series_by_id("hostile")
    with store.opened(settings.database) as db:
        for (name, text), day in zip(
            EDITIONS,
            (datetime(2020, 1, 10, tzinfo=UTC), datetime(2021, 1, 10, tzinfo=UTC)),
            strict=True,
        ):
            path = folder / name
            path.write_text(text, encoding="utf-8")
            add_file(settings, db, path, series=series, title=HOSTILE_TITLE, published=day)
    return settings


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> config.Settings:
    return build_history(tmp_path_factory.mktemp("web-history"))


def test_the_history_holds_the_demo_and_the_hostile_change(history: config.Settings) -> None:
    with store.opened(history.database, read_only=True) as db:
        rows = views.change_rows(db, views.ChangeFilters(), 0, 100)
        hostile = views.change_rows(db, views.ChangeFilters(series="hostile"), 0, 100)
    assert len(rows) >= 2
    assert len(hostile) == 1 and "cvid" in hostile[0].verdict


def test_the_redline_is_compared_as_the_stored_comparison(history: config.Settings) -> None:
    """The Change page compares the two stored texts again (as `compare --html` would): the
    result is the comparison stored when the change was found, for every stored change."""
    with store.opened(history.database, read_only=True) as db:
        rows = views.change_rows(db, views.ChangeFilters(superseded=True), 0, 1000)
        assert rows
        for row in rows:
            found = views.change_detail(db, row.id)
            assert found is not None
            source = next((s for s in history.sources if s.name == found.new.source), None)
            again = comparing.compare(
                found.old.text,
                found.new.text,
                matcher=matcher(history.lexicon()),
                ladders=history.ladders,
                old_title=found.old.title,
                new_title=found.new.title,
                ignore=source.ignore_patterns() if source is not None else (),
            )
            assert comparing.as_json(again) == json.loads(found.comparison), row.id


def test_the_change_page_lists_what_monitor_changes_lists(history: config.Settings) -> None:
    """The Changes page's filters rank as `monitor changes` does (store.list_changes)."""
    with store.opened(history.database, read_only=True) as db:
        for concept, status in [
            (None, None),
            ("cvid", None),
            (None, "dropped"),
            ("cvid", "dropped"),
        ]:
            mine = views.change_rows(
                db, views.ChangeFilters(concept=concept, status=status), 0, 200
            )
            theirs = store.list_changes(db, None, concept, 200, status=status)
            assert [r.id for r in mine] == [c.id for c in theirs], (concept, status)
