"""Commands that read the stored history: search, show, sources, changes, timeline and datasette."""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path

import click

from monitor.analysis.timeline import PERIODS
from monitor.cli.common import (
    config_option,
    json_option,
    load_basics,
    load_settings,
    local_time,
    open_database,
    parse_since,
    print_json,
)
from monitor.render.untrusted import (
    ERROR_CHARS,
    NAME_CHARS,
    SENTENCE_CHARS,
    TITLE_CHARS,
    terminal,
    url_text,
)

# Each command imports the config and the store when it runs, as in cli/service.py.


@click.command()
@config_option
@click.argument("query")
@click.option("--since", help="Only documents published (or first seen) since this date.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="At most this many documents, the newest.",
)
@json_option
def search(
    config_path: Path | None, query: str, since: str | None, limit: int, as_json: bool
) -> None:
    """Full-text search of every stored version, English or Korean.

    A word matches that word (war finds war, not wars or warhead), also with a Korean particle
    attached (ICBM finds ICBM을); war* matches every word that begins with war. A Korean word
    matches as a prefix, so 비핵화 finds 비핵화를 and 비핵화는. "Quoted words" match as a phrase
    ("완전한 비핵화" finds 완전한 비핵화를 too). Every word and phrase must be found.

    \b
    Example: monitor search '"extended deterrence"' --since 2023-01-01
    Example: monitor search 'sanction*' --limit 5
    """
    from monitor import store

    basics = load_basics(config_path)
    with open_database(basics, read_only=True) as db:
        try:
            hits = store.search(db, query, parse_since(since, basics.timezone), limit=limit)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    if as_json:
        print_json([asdict(h) for h in hits])
        return
    if not hits:
        click.echo(f"nothing found for {query!r}")
    for hit in hits:
        source, title = (
            terminal(hit.source, NAME_CHARS),
            terminal(hit.title or hit.url, TITLE_CHARS),
        )
        click.echo(f"{local_time(hit.published, basics.timezone)}  [{source}] {title}")
        click.echo(f"    {url_text(hit.url)}")
        click.echo(f"    {terminal(hit.snippet, SENTENCE_CHARS)}")
    if len(hits) == limit:
        click.echo(f"(the {limit} newest shown; use --limit for more)")


@click.command()
@config_option
@click.argument("url")
@json_option
def show(config_path: Path | None, url: str, as_json: bool) -> None:
    """A document's versions, their text and concept counts.

    URL is as `monitor search` prints it.

    \b
    Example: monitor show https://www.theguardian.com/us-news/2018/jan/31/donald-trump-state-of-the-union-address-unity-discord
    """
    from monitor import store
    from monitor.redact import public_url
    from monitor.sources.urls import canonical_url

    basics = load_basics(config_path)
    with open_database(basics, read_only=True) as db:
        found = store.history(db, url, canonical_url(url))
        if found is None and public_url(url) != url:  # a page source's URL is kept without its key
            found = store.history(db, public_url(url), canonical_url(public_url(url)))
    if found is None:
        raise click.ClickException(f"{url}: no such document; `monitor search` finds stored ones")
    if as_json:
        print_json(asdict(found) | {"versions": [asdict(v) for v in found.versions]})
        return
    title = terminal(found.title, TITLE_CHARS) if found.title else "(untitled)"
    click.echo(f"{title}\n{url_text(found.url)}\nsource: {terminal(found.source, NAME_CHARS)}")
    for version in found.versions:
        counts = ", ".join(f"{k} {v}" for k, v in version.concepts.items()) or "no concepts"
        aside = "; ".join(
            f"{k} {sum(r.values())} ({', '.join(r)})" for k, r in version.set_aside.items()
        )
        counts += f"; set aside: {aside}" if aside else ""
        counts = terminal(counts)
        click.echo(
            f"\n--- version {version.id}, {local_time(version.fetched_at, basics.timezone)}: {counts}"
        )
        if version.limits:
            click.echo(f"(stored within limits: {version.limits})")
        click.echo(terminal(version.text, lines=True))


@click.command()
@config_option
@json_option
def sources(config_path: Path | None, as_json: bool) -> None:
    """Health of each source: last success, last error, consecutive failures.

    \b
    Example: monitor sources --json
    """
    from monitor import store
    from monitor.models import SourceHealth
    from monitor.redact import Redactor

    settings = load_settings(config_path)
    with open_database(settings.basics(), read_only=True) as db:
        stored = {h.name: h for h in store.source_health(db, [s.name for s in settings.sources])}
    # Read only: the config's address and kind, and a source never polled yet shown as such.
    health = [
        replace(stored[s.name], url=s.url, kind=s.kind)
        if s.name in stored
        else SourceHealth(
            name=s.name,
            url=s.url,
            kind=s.kind,
            last_success=None,
            last_error=None,
            consecutive_failures=0,
            documents=0,
        )
        for s in settings.sources
    ]
    redactor = Redactor.from_settings(settings)
    health = [
        replace(h, url=redactor.url(h.url), last_error=redactor.optional(h.last_error))
        for h in health
    ]
    if as_json:
        print_json([asdict(h) for h in health])
        return
    enabled = {s.name: s.enabled for s in settings.sources}
    names = [terminal(h.name, NAME_CHARS) for h in health]
    width = max([24, *map(len, names)])  # long names keep the columns in line
    for h, name in zip(health, names, strict=True):
        state = h.state(enabled.get(h.name, True), failing="FAILING x{}")
        click.echo(
            f"{name:{width}} {terminal(h.kind):5} {state:12} "
            f"last ok {local_time(h.last_success, settings.schedule.timezone):22} {h.documents:5} docs  {url_text(h.url)}"
        )
        if h.last_error:  # stored redacted; again here for rows older than the redactor
            click.echo(f"    last error: {terminal(redactor.redact(h.last_error), ERROR_CHARS)}")
        if h.warning:
            click.echo(f"    warning: {terminal(h.warning, ERROR_CHARS)}")


@click.command()
@config_option
@click.option("--since", help="Only changes detected since this date.")
@click.option(
    "--concept",
    help="Only changes where this concept's count moved, or a ladder moved to or from it.",
)
@click.option(
    "--status",
    type=click.Choice(["dropped", "introduced", "increased", "decreased"]),
    help="Only changes where a concept (with --concept, that concept) has this status.",
)
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also superseded successions: two editions compared before one between them arrived.",
)
@json_option
def changes(
    config_path: Path | None,
    since: str | None,
    concept: str | None,
    status: str | None,
    limit: int,
    show_all: bool,
    as_json: bool,
) -> None:
    """Stored wording changes, most significant first.

    A succession compares an edition with the one before it; when an edition arrives that lies
    between two already compared, their comparison is superseded by the two new ones and
    hidden unless --all.

    \b
    Example: monitor changes --since 2025-12-01 --concept extended-deterrence
    """
    from monitor import store

    settings = load_settings(config_path)
    if concept is not None and concept not in settings.concepts:
        known = ", ".join(settings.concepts)
        raise click.BadParameter(
            f"unknown concept {concept!r} (known: {known})", param_hint="--concept"
        )
    with open_database(settings.basics(), read_only=True) as db:
        found = store.list_changes(
            db,
            parse_since(since, settings.schedule.timezone),
            concept,
            limit + 1,
            superseded=show_all,
            status=status,
        )
    more = len(found) > limit
    found = found[:limit]
    if as_json:
        # Imported here: the other history commands start without the comparison code.
        from monitor.analysis.compare import as_json as comparison_json

        keys = ("id", "kind", "url", "title", "detected_at", "significance")
        rows = []
        for c in found:
            comparison = comparison_json(c.comparison)  # JSON at the edge
            rows.append(
                {
                    **{k: getattr(c, k) for k in keys},
                    "concepts": comparison["concepts"],
                    "stance": comparison["stance"],
                    "superseded_at": c.superseded_at,
                    "superseded_by": c.superseded_by,
                }
            )
        print_json(rows)
        return
    if not found:
        scope = " ".join(w for w in (concept, status) if w)
        click.echo("no changes stored" + (f" for {scope}" if scope else ""))
    for c in found:
        title = terminal(c.title or c.url, TITLE_CHARS)
        gone = (
            f"  (superseded {local_time(c.superseded_at, settings.schedule.timezone)})"
            if c.superseded_at
            else ""
        )
        click.echo(
            f"{c.significance:.2f}  {c.kind:10} {local_time(c.detected_at, settings.schedule.timezone)}  {title}{gone}"
        )
        click.echo(f"      {terminal(c.verdict, SENTENCE_CHARS)}")
        click.echo(f"      {url_text(c.url)}")
    if more:
        click.echo(f"(the {limit} most significant shown; use --limit for more)")


@click.command()
@config_option
@click.argument("concept")
@click.option("--by", type=click.Choice(PERIODS), default="day", show_default=True)
@click.option("--source", help="Only this source.")
@click.option("--split", is_flag=True, help="One row per source and period.")
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Only the latest this many periods."
)
@json_option
def timeline(
    config_path: Path | None,
    concept: str,
    by: str,
    source: str | None,
    split: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    """Mentions of a concept over time, in the configured time zone.

    A document counts on its publication date (else when first seen), with the mentions of its
    latest version.

    \b
    Example: monitor timeline complete-denuclearization --by month --json
    """
    from monitor.store.timeline import timeline as mentions_over_time

    settings = load_settings(config_path)
    if concept not in settings.concepts:
        known = ", ".join(settings.concepts)
        raise click.BadParameter(
            f"unknown concept {concept!r} (known: {known})", param_hint="CONCEPT"
        )
    with open_database(settings.basics(), read_only=True) as db:
        rows = mentions_over_time(
            db, concept, by=by, timezone=settings.schedule.timezone, source=source, split=split
        )
    if limit is not None:
        latest = sorted({r.period for r in rows})[-limit:]
        rows = [r for r in rows if r.period in latest]
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    if not rows:
        click.echo(f"no mentions of {concept} stored")
    top = max((r.count for r in rows), default=0) or 1
    for r in rows:
        bar = "█" * round(30 * r.count / top)
        label = terminal(f"{r.period} {r.source or ''}".strip(), NAME_CHARS)
        click.echo(f"{label:32} {r.count:5} {bar}")


@click.command(context_settings={"ignore_unknown_options": True})
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, help="Port (0: any free one).")
@click.option(
    "--write-metadata",
    "metadata_out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Only write the metadata to FILE (- for stdout), for `datasette DB -m FILE`.",
)
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
def datasette(
    config_path: Path | None,
    host: str,
    port: int,
    metadata_out: Path | None,
    datasette_args: tuple[str, ...],
) -> None:
    """Browse the history in Datasette: table and column descriptions, canned queries (latest
    wording changes, a concept's timeline, every dropped concept, a document's versions) and
    FTS5 search (비핵화* finds 비핵화를). Needs pip install 'monitor[datasette]'; further
    arguments go to `datasette serve`.

    \b
    Example: monitor datasette --write-metadata metadata.json
    """
    from monitor.cli import browse

    settings = load_settings(config_path)
    if metadata_out == Path("-"):
        click.echo(browse.metadata_json(settings.database))
        return
    if metadata_out is not None:
        browse.write_metadata(settings.database, metadata_out)
        click.echo(f"wrote {metadata_out}: datasette {settings.database} -m {metadata_out}")
        return
    sys.exit(browse.serve(settings.database, host, port, datasette_args))
