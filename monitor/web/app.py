"""The web view as a Starlette application: its routes, templates and the shared helpers of its
pages. Everything it serves comes from monitor (templates, CSS): a page makes no external
request, and the Guard middleware puts the strict headers on every response."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from sqlite_utils import Database
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor import store
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.render.untrusted import URL_CHARS, html_text, isolated
from monitor.web.security import Credentials, Guard

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Site:
    """What every page needs: the config, the database file (opened read-only per request:
    a connection is never shared between uvicorn's threads) and the templates."""

    settings: Settings
    database: Path
    env: jinja2.Environment

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.schedule.timezone)

    @contextmanager
    def db(self) -> Iterator[Database]:
        with store.opened(self.database, self.settings.storage.busy_timeout, read_only=True) as db:
            yield db

    def page(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        values = {"request": request, "settings": self.settings, **values}
        body = self.env.get_template(template).render(**values)
        return HTMLResponse(body, status_code=status)


def local_time(stamp: str | int | None, zone: ZoneInfo) -> str:
    """A stored time (ISO-8601 UTC, or seconds since 1970) in the configured zone."""
    moment = _moment(stamp)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def utc_time(stamp: str | int | None) -> str:
    moment = _moment(stamp)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _moment(stamp: str | int | None) -> datetime | None:
    if stamp is None or stamp == "":
        return None
    if isinstance(stamp, int):
        return datetime.fromtimestamp(stamp, UTC)
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_day(value: str | None, zone: ZoneInfo, *, end: bool = False) -> str | None:
    """A YYYY-MM-DD typed into a filter, as the UTC ISO-8601 time of that local midnight (with
    `end`, of the next one: a date range includes its last day). 400 for anything else."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{value!r} is not a date: use YYYY-MM-DD") from None
    day += timedelta(days=1) if end else timedelta(0)
    return store.iso(datetime.combine(day, datetime.min.time(), zone))


def _document_text(text: str | None, limit: int | None = None) -> Markup:
    """Document text (anything a feed, page or server sent): monitor/render/untrusted.py's rule,
    escaped, in a <bdi>."""
    return Markup(isolated(text or "", limit))


def _link(url: str | None) -> Markup:
    """A document's address: a link only when it is http(s) and not too long (never a
    javascript: or data: address), always shown as text."""
    if not url:
        return Markup("-")
    shown = isolated(url, URL_CHARS)
    if url.lower().startswith(("http://", "https://")) and len(url) <= URL_CHARS:
        return Markup(f'<a href="{html_text(url)}" rel="noreferrer nofollow">{shown}</a>')
    return Markup(shown)


def environment(zone: ZoneInfo) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped unless a filter below says it was
        undefined=jinja2.StrictUndefined,
    )
    env.filters["doc"] = _document_text
    env.filters["link"] = _link
    env.filters["local"] = lambda stamp: local_time(stamp, zone)
    env.filters["utc"] = utc_time
    return env


async def _not_found(request: Request, exc: Exception) -> Response:
    site: Site = request.app.state.site
    detail = exc.detail if isinstance(exc, HTTPException) else "not found"
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if status == 404 and detail in ("Not Found", None):
        detail = f"{request.url.path}: no such page here"
    return site.page(request, "error.html", status=status, status_code=status, message=detail)


async def _monitor_error(request: Request, exc: Exception) -> Response:
    # A store fault (a missing or too old database): one line, as the command line says it.
    return PlainTextResponse(f"503: {exc}\n", status_code=503)


def build(settings: Settings, database: Path, credentials: Credentials) -> Guard:
    """The application, wrapped in its Guard."""
    from monitor.web import feeds_routes, pages

    zone = ZoneInfo(settings.schedule.timezone)
    site = Site(settings, database, environment(zone))
    routes = [
        Route("/", pages.home),
        Route("/changes", pages.changes),
        Route("/changes/{change_id:int}", pages.change),
        Route("/documents/{document_id:int}", pages.document),
        Route("/concepts/{concept}", pages.concept),
        Route("/concepts/{concept}/mentions", pages.mentions),
        Route("/search", pages.search),
        Route("/sources", pages.sources),
        Route("/watching", pages.watching),
        Route("/feeds/changes.atom", feeds_routes.changes_atom),
        Route("/feeds/alerts.atom", feeds_routes.alerts_atom),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: _not_found,
            404: _not_found,
            MonitorError: _monitor_error,
        },
    )
    app.state.site = site
    return Guard(app, credentials)
