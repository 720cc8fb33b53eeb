"""The pages: changes, a change, a document, a concept and its mentions, search, sources and
what monitor watches. Each reads the history read-only and renders a template."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import groupby
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor import store
from monitor.analysis import compare as comparing
from monitor.analysis.prepare import matcher
from monitor.analysis.timeline import PERIODS, Period, period_of, periods
from monitor.models import SearchHit, SourceHealth
from monitor.redact import Redactor
from monitor.render import report
from monitor.store import views
from monitor.store.timeline import timeline
from monitor.web.app import Site, local_day
from monitor.web.chart import bars_svg

PAGE_SIZE = 50
STATUSES = ("dropped", "introduced", "increased", "decreased")
MOVES = ("downgrade", "upgrade")
SPLITS = ("none", "source", "series")


def _site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def _choice(request: Request, name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise HTTPException(400, f"{name}={value!r} is not one of: {', '.join(allowed)}")
    return value


def _number(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise HTTPException(400, f"{name}={value!r}: give a whole number from 1")
    return int(value)


def home(request: Request) -> Response:
    return RedirectResponse("/changes", status_code=302)


def changes(request: Request) -> Response:
    site = _site(request)
    with site.db() as db:
        sources = views.change_sources(db)
        series = views.series_ids(db)
        filters = views.ChangeFilters(
            concept=_choice(request, "concept", list(site.settings.concepts)),
            status=_choice(request, "status", STATUSES),
            move=_choice(request, "move", MOVES),
            source=_choice(request, "source", sources),
            series=_choice(request, "series", series),
            since=local_day(request.query_params.get("from"), site.zone),
            until=local_day(request.query_params.get("to"), site.zone, end=True),
        )
        page = _number(request, "page", 1)
        rows = views.change_rows(db, filters, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)
    query = {k: v for k, v in request.query_params.items() if v and k not in ("page", "token")}

    def page_link(n: int) -> str:
        return "/changes?" + urlencode({**query, "page": n})

    return site.page(
        request,
        "changes.html",
        rows=rows[:PAGE_SIZE],
        page=page,
        previous=page_link(page - 1) if page > 1 else None,
        next=page_link(page + 1) if len(rows) > PAGE_SIZE else None,
        filters=filters,
        asked=request.query_params,
        sources=sources,
        series=series,
        statuses=STATUSES,
        moves=MOVES,
        feed="/feeds/changes.atom"
        + (
            "?" + urlencode({k: v for k, v in query.items() if k in ("concept", "series")})
            if any(k in query for k in ("concept", "series"))
            else ""
        ),
    )


def _redline(site: Site, old: views.VersionSide, new: views.VersionSide) -> Markup:
    """The body of the redline `monitor compare --html` writes for these two texts (its
    <main>, without the page around it, whose inline style this page's CSP forbids), compared
    as the pipeline compares them: the source's `ignore` patterns left out."""
    source = next((s for s in site.settings.sources if s.name == new.source), None)
    result = comparing.compare(
        old.text,
        new.text,
        matcher=matcher(site.settings.lexicon()),
        ladders=site.settings.ladders,
        old_title=old.title,
        new_title=new.title,
        ignore=source.ignore_patterns() if source is not None else (),
    )
    whole = report.render_html(result, old_label=old.url, new_label=new.url)
    body = whole[whole.index("<main>") + len("<main>") : whole.rindex("</main>")]
    return Markup(body)


def change(request: Request) -> Response:
    site, change_id = _site(request), request.path_params["change_id"]
    with site.db() as db:
        found = views.change_detail(db, change_id)
    if found is None:
        raise HTTPException(404, f"no change {change_id} is stored; the changes list has them all")
    return site.page(
        request,
        "change.html",
        change=found,
        row=found.row,
        redline=_redline(site, found.old, found.new),
    )


def document(request: Request) -> Response:
    site = _site(request)
    document_id = request.path_params["document_id"]
    with site.db() as db:
        row = views.document_row(db, document_id)
        if row is None:
            raise HTTPException(404, f"no document {document_id} is stored; search finds them")
        versions = views.document_versions(db, document_id)
        found = store.history(db, row.url, row.url)
        before, after = views.series_neighbours(db, document_id, row.series)
        into = views.document_changes(db, document_id)
        ids = [v.id for v in versions]
        a = _number(request, "a", ids[-2] if len(ids) > 1 else ids[0])
        b = _number(request, "b", ids[-1])
        diff = None
        if "a" in request.query_params or "b" in request.query_params or len(ids) > 1:
            if a not in ids or b not in ids:
                raise HTTPException(404, f"versions {a} and {b} are not both of this document")
            old, new = views.version_side(db, a), views.version_side(db, b)
            if old is not None and new is not None and a != b:
                diff = _redline(site, old, new)
    concepts = {v.id: (v.concepts, v.set_aside) for v in found.versions} if found else {}
    return site.page(
        request,
        "document.html",
        doc=row,
        versions=versions,
        concepts=concepts,
        before=before,
        after=after,
        into=into,
        a=a,
        b=b,
        diff=diff,
    )


def _series_periods(rows: list[tuple[int, str, int]], by: str, zone: ZoneInfo) -> list[Period]:
    days = [(datetime.fromtimestamp(at, zone).date(), series, n) for at, series, n in rows]
    return periods(days, by=by, source=None, split=True)


def _period_range(label: str, by: str, zone: ZoneInfo) -> tuple[int, int]:
    """[start, end) of a period label (2026-11-27, 2026-W48, 2026-11) in seconds since 1970,
    its local midnights in `zone`."""
    try:
        if by == "day":
            first = date.fromisoformat(label)
            last = first + timedelta(days=1)
        elif by == "week":
            iso_year, week = label.split("-W")
            first = date.fromisocalendar(int(iso_year), int(week), 1)
            last = first + timedelta(days=7)
        else:
            year, month = (int(x) for x in label.split("-"))
            first = date(year, month, 1)
            last = date(year + month // 12, month % 12 + 1, 1)
    except ValueError:
        raise HTTPException(400, f"period={label!r} is not a {by}") from None
    if period_of(first, by) != label:
        raise HTTPException(400, f"period={label!r} is not a {by}")

    def midnight(day: date) -> int:
        return int(datetime.combine(day, datetime.min.time(), zone).timestamp())

    return midnight(first), midnight(last)


def _concept_id(request: Request, site: Site) -> str:
    concept: str = request.path_params["concept"]
    if concept not in site.settings.concepts:
        known = ", ".join(site.settings.concepts)
        raise HTTPException(404, f"no concept {concept!r} in the config (known: {known})")
    return concept


def _concept_page(request: Request) -> tuple[Site, str, str]:
    """The site, the concept the path names and the unit of its periods (?by=, month if none)."""
    site = _site(request)
    return site, _concept_id(request, site), _choice(request, "by", PERIODS) or "month"


def concept(request: Request) -> Response:
    site, concept_id, by = _concept_page(request)
    split = _choice(request, "split", SPLITS) or "none"
    zone = site.zone
    with site.db() as db:
        if split == "series":
            found = _series_periods(views.series_dates(db, concept_id), by, zone)
        else:
            found = timeline(
                db,
                concept_id,
                by=by,
                timezone=site.settings.schedule.timezone,
                split=split == "source",
            )
    charts = []
    for group, rows in groupby(sorted(found, key=lambda p: p.source or ""), key=lambda p: p.source):
        bars = list(rows)

        # the address is made once per chart: urlencode per bar took a third of the page's
        # time with ~1,800 weekly bars (a period label is digits, "-" and "W": quote keeps it)
        query = {"by": by, **({split: group} if group is not None else {})}
        base = f"/concepts/{concept_id}/mentions?{urlencode(query)}&period="

        def link(p: Period, base: str = base) -> str:
            return base + quote(p.period, safe="")

        label = f"{concept_id} by {by}" + (f", {split} {group}" if group else "")
        total = sum(p.count for p in bars)
        charts.append((group, total, Markup(bars_svg(bars, link, label))))
    return site.page(
        request,
        "concept.html",
        concept_id=concept_id,
        concept=site.settings.concepts[concept_id],
        by=by,
        split=split,
        periods=PERIODS,  # the choices the page offers
        splits=SPLITS,
        charts=charts,
    )


def mentions(request: Request) -> Response:
    site, concept_id, by = _concept_page(request)
    label = request.query_params.get("period") or ""
    period = _period_range(label, by, site.zone)
    source = request.query_params.get("source") or None
    series = request.query_params.get("series") or None
    with site.db() as db:
        rows = views.concept_documents(db, concept_id, period, source=source, series=series)
    return site.page(
        request,
        "mentions.html",
        concept_id=concept_id,
        period=label,  # the bar's: 2026-11-27, 2026-W48 or 2026-11
        by=by,
        source=source,
        series=series,
        rows=rows,
    )


def search(request: Request) -> Response:
    site = _site(request)
    query = request.query_params.get("q", "").strip()
    since = local_day(request.query_params.get("from"), site.zone)
    hits: list[SearchHit] = []
    ids: dict[str, int] = {}
    error = None
    if query:
        with site.db() as db:
            try:
                hits = store.search(db, query, datetime.fromisoformat(since) if since else None)
            except ValueError as exc:
                error = str(exc)
            ids = views.document_ids(db, [h.url for h in hits])
    return site.page(
        request,
        "search.html",
        status=400 if error else 200,
        query=query,
        hits=hits[::-1],  # newest first
        ids=ids,
        error=error,
        since=request.query_params.get("from", ""),
    )


def sources(request: Request) -> Response:
    site = _site(request)
    settings = site.settings
    with site.db() as db:
        stored = {h.name: h for h in store.source_health(db, [s.name for s in settings.sources])}
    redactor = Redactor.from_settings(settings)
    rows = []
    for s in settings.sources:
        h = stored.get(s.name) or SourceHealth(s.name, s.url, s.kind, None, None, 0, 0)
        h = replace(
            h, url=redactor.url(s.url), kind=s.kind, last_error=redactor.optional(h.last_error)
        )
        rows.append((h, h.state(s.enabled)))
    return site.page(request, "sources.html", rows=rows)


def watching(request: Request) -> Response:
    site = _site(request)
    redactor = Redactor.from_settings(site.settings)
    urls = {s.name: redactor.url(s.url) for s in site.settings.sources}
    return site.page(request, "watching.html", urls=urls)
