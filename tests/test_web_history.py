"""The web view's reads (monitor/store/views.py) on the history its tests serve
(tests/web_history.py): the hostile change is there, the Change page's redline compared again
from the stored texts is the stored comparison, the Changes page's filters select and page as
worked out by hand, and the series neighbours are the other sides of current successions."""

from __future__ import annotations

from typing import Any

from monitor import config, store
from monitor.analysis import compare as comparing
from monitor.analysis.prepare import matcher
from monitor.store import views
from tests.web_history import history as history  # the module's fixture


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
            assert comparing.as_json(again) == comparing.as_json(found.comparison), row.id


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


def _by_hand(db: Any, f: views.ChangeFilters) -> list[int]:
    """The changes `f` selects, worked out row by row in Python from the tables, ranked."""
    topics: dict[int, set[tuple[str, str | None]]] = {}
    for change_id, concept, status in db.execute(
        "SELECT change_id, concept, status FROM change_topics"
    ):
        topics.setdefault(change_id, set()).add((concept, status))
    unchanged = {
        r[0] for r in db.execute("SELECT change_id FROM change_concepts WHERE status = 'unchanged'")
    }
    moves: dict[int, set[str]] = {}
    for change_id, move in db.execute("SELECT change_id, move FROM change_moves"):
        moves.setdefault(change_id, set()).add(move)
    kept = []
    for cid, significance, source, series, detected, superseded in db.execute(
        "SELECT c.id, c.significance, d.source, c.series, c.detected_at, c.superseded_at "
        "FROM changes c JOIN documents d ON d.id = c.document_id"
    ):
        mine = topics.get(cid, set())
        if superseded is not None and not f.superseded:
            continue
        if f.concept is not None and not any(
            c == f.concept and (f.status is None or s == f.status) for c, s in mine
        ):
            continue
        if f.concept is None and f.status == "unchanged" and cid not in unchanged:
            continue
        if (
            f.concept is None
            and f.status not in (None, "unchanged")
            and f.status not in {s for _, s in mine}
        ):
            continue
        if f.move is not None and f.move not in moves.get(cid, set()):
            continue
        if (f.source, f.series) != (f.source and source, f.series and series):
            continue
        if (f.since and detected < f.since) or (f.until and detected >= f.until):
            continue
        kept.append((-significance, -cid))
    return [-negative for _, negative in sorted(kept)]


def test_every_filter_of_the_changes_page_selects_and_pages_as_worked_by_hand(
    history: config.Settings,
) -> None:
    """Each filter, alone and in pairs, selects what the tables say row by row, in rank order,
    and its pages of 2 laid end to end are the whole list (the index walk reads a page only)."""
    with store.opened(history.database, read_only=True) as db:
        sources = views.change_sources(db)
        choices: dict[str, list[Any]] = {
            "concept": list(history.concepts)[:6],
            "status": ["dropped", "introduced", "increased", "decreased", "unchanged"],
            "move": ["downgrade", "upgrade"],
            "source": sources,
            "series": views.series_ids(db),
            "since": ["2022-01-01"],
            "until": ["2023-06-01"],
            "superseded": [True],
        }
        single = [{k: v} for k, values in choices.items() for v in values]
        pairs = [
            {a: va, b: vb}
            for a, b in (("concept", "status"), ("concept", "move"), ("status", "source"),
                         ("move", "series"), ("since", "until"), ("concept", "since"))
            for va in choices[a][:3]
            for vb in choices[b][:3]
        ]  # fmt: skip
        selected = 0
        for asked in [{}, *single, *pairs]:
            f = views.ChangeFilters(**asked)
            whole = [r.id for r in views.change_rows(db, f, 0, 10_000)]
            assert whole == _by_hand(db, f), asked
            paged = [
                r.id for n in range(0, len(whole) + 2, 2) for r in views.change_rows(db, f, n, 2)
            ]
            assert paged == whole, asked
            selected += bool(whole)
        assert selected > len(single) // 2  # the filters select something, mostly
        every = [r[0] for r in db.execute("SELECT DISTINCT source FROM documents ORDER BY source")]
        assert sources == every and len(sources) > 2


def test_series_neighbours_are_the_other_sides_of_current_successions(
    history: config.Settings,
) -> None:
    """The editions before and after each document, as its current successions say, worked out
    without the series index: every document of the history, members and not."""
    with store.opened(history.database, read_only=True) as db:
        successions = db.execute(
            "SELECT c.id, ov.document_id, c.document_id FROM changes c "
            "JOIN versions ov ON ov.id = c.old_version_id "
            "WHERE c.kind = 'succession' AND c.superseded_at IS NULL ORDER BY c.id"
        ).fetchall()
        assert successions, "the demo history has series editions"
        documents = db.execute("SELECT id, series FROM documents").fetchall()
        for document_id, series in documents:
            before = [old for _, old, new in successions if new == document_id]
            after = [new for _, old, new in successions if old == document_id]
            found = views.series_neighbours(db, document_id, series)
            assert [n.document_id if n else None for n in found] == [
                before[-1] if before else None,
                after[-1] if after else None,
            ], document_id
