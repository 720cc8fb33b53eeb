"""The feed routes: /feeds/changes.atom and /feeds/alerts.atom, optionally ?concept= or
?series=."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from monitor import store
from monitor.config import Settings
from monitor.render.queued import render
from monitor.store import views
from monitor.web.app import Site
from monitor.web.feeds import alerts_feed, changes_feed

ENTRIES = 50
ATOM = "application/atom+xml; charset=utf-8"


def _scope(request: Request, site: Site) -> tuple[str | None, str | None]:
    concept = request.query_params.get("concept") or None
    series = request.query_params.get("series") or None
    if concept is not None and concept not in site.settings.concepts:
        raise HTTPException(404, f"no concept {concept!r} in the config")
    if series is not None and series not in {s.id for s in site.settings.series}:
        raise HTTPException(404, f"no series {series!r} in the config")
    return concept, series


def _atom(
    request: Request,
    feed: Callable[..., bytes],
    rows: Sequence[object],
    kind: str,
    scope: tuple[str | None, str | None],
) -> Response:
    """The Atom document `feed` makes of the rows, titled by their kind and scope (concept,
    series), linking to itself without the access token."""
    body = feed(
        rows,
        base=str(request.base_url).rstrip("/"),
        self_url=str(request.url.remove_query_params("token")),
        title="monitor: " + kind + "".join(f" ({w})" for w in scope if w),
    )
    return Response(body, media_type=ATOM)


def changes_atom(request: Request) -> Response:
    site: Site = request.app.state.site
    concept, series = _scope(request, site)
    with site.db() as db:
        # the latest changes, not the most significant: a reader wants what is new
        rows = views.recent_changes(db, ENTRIES, concept=concept, series=series)
    return _atom(request, changes_feed, rows, "wording changes", (concept, series))


def shown(settings: Settings, row: views.AlertRow) -> views.AlertRow:
    """An alert as its message tells it: one delivery has not rendered yet is rendered here as
    delivery would now (with this process's settings), so the feed lists it before it is sent."""
    if row.event_json is None:
        return row
    message = render(settings, store.read_event(row.event_json), f"{row.event}:{row.id}")
    return replace(row, subject=message.subject, text=message.text, event_json=None)


def alerts_atom(request: Request) -> Response:
    site: Site = request.app.state.site
    concept, series = _scope(request, site)
    with site.db() as db:
        rows = views.recent_alerts(db, ENTRIES, concept=concept, series=series)
    rows = [shown(site.settings, row) for row in rows]
    return _atom(request, alerts_feed, rows, "alerts", (concept, series))
