"""Commands that take documents from the command line: compare (two files or URLs) and add (one
edition of a series)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.common import (
    config_option,
    json_option,
    load_settings,
    open_database,
    parse_since,
    print_json,
)
from monitor.errors import MonitorError
from monitor.render.untrusted import (
    ERROR_CHARS,
    terminal,
)

# Only what --help needs is imported here: each command imports the config, the store and the
# extraction stack when it runs (tests/test_startup.py), so `monitor --help`, `search`, `show`
# and `health` start without trafilatura, PDFium, httpx2 or APScheduler.
if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.models import Extracted


# Sentence changes of each kind `compare` shows after the evidence, unless --all.
SHOWN_SENTENCES = 10


def _load(address: str, settings: Settings) -> Extracted:
    """A document from a file or a URL, extracted as the pipeline would."""
    from monitor.analysis.extract import extract, extract_file
    from monitor.sources.fetch import Fetcher
    from monitor.sources.urls import is_web

    if not is_web(address):
        return extract_file(Path(address))
    with Fetcher(settings.fetch.for_fetcher()) as fetcher:
        response = fetcher.get(address)
    return extract(response.body, response.final_url, response.content_type)


@click.command()
@config_option
@click.argument("old")
@click.argument("new")
@json_option
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a self-contained HTML redline here.",
)
@click.option(
    "--ignore", multiple=True, help="Regular expression for boilerplate to ignore (repeatable)."
)
@click.option(
    "--color/--no-color", default=None, help="Colour the word highlights (default: on a terminal)."
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help=f"Show every sentence change (default: the evidence, then {SHOWN_SENTENCES} of each kind).",
)
def compare(
    config_path: Path | None,
    old: str,
    new: str,
    as_json: bool,
    html_path: Path | None,
    ignore: tuple[str, ...],
    color: bool | None,
    show_all: bool,
) -> None:
    """Compare two documents (files or URLs: HTML, PDF, text or Markdown) without the database.

    Prints the verdict first ("cvid dropped; denuclearization ladder: cvid → complete-denuclearization
    (downgrade)"), then the evidence (the old and new sentences of each concept that changed), the
    concept counts with what was set aside, the facets, and the other changed sentences. A Korean
    and an English text of one statement are compared by concepts and facets, not words.
    OLD and NEW are your own files, or URLs.

    \b
    Example: monitor compare joint-statement-2021.html joint-statement-2022.html --html redline.html
    """
    import re

    from monitor.analysis import compare as comparing
    from monitor.analysis.prepare import matcher
    from monitor.redact import Redactor
    from monitor.render import report

    settings = load_settings(config_path)
    try:
        patterns = [re.compile(p) for p in ignore]
    except re.error as exc:
        raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--ignore") from exc
    try:
        before, after = _load(old, settings), _load(new, settings)
    except MonitorError as exc:  # a fetch error can quote the server
        message = Redactor.from_settings(settings).redact(str(exc))
        raise click.ClickException(terminal(message, ERROR_CHARS)) from exc
    result = comparing.compare(
        before.text,
        after.text,
        matcher=matcher(settings.lexicon()),
        ladders=settings.ladders,
        old_title=before.title,
        new_title=after.title,
        ignore=patterns,
    )
    if html_path is not None:
        html_path.write_text(
            report.render_html(
                result, old_label=old, new_label=new, limit=None if show_all else SHOWN_SENTENCES
            ),
            encoding="utf-8",
        )
    if as_json:
        print_json(comparing.as_json(result))
        return
    from monitor.cli.console import colour

    use_color = colour(sys.stdout, color)  # --color/--no-color, else a terminal and no $NO_COLOR
    text = report.render_text(
        result,
        old_label=old,
        new_label=new,
        color=use_color,
        limit=None if show_all else SHOWN_SENTENCES,
    )
    click.echo(text, nl=False)
    if html_path is not None:
        click.echo(f"\nHTML redline written to {html_path}")


@click.command()
@config_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--series", "series_id", required=True, help="The series id from the config.")
@click.option("--title", help="The document's title (default: from the file).")
@click.option("--date", "when", help="Its publication date, YYYY-MM-DD (orders the series).")
@json_option
def add(
    config_path: Path | None,
    file: Path,
    series_id: str,
    title: str | None,
    when: str | None,
    as_json: bool,
) -> None:
    """Store a local document (PDF, HTML, Markdown or text) as a member of a series.

    Editions that are no longer online can seed a series this way; the new member is compared
    with the previous member and the baseline like any other. FILE is your own copy.

    \b
    Example: monitor add nss-2002.txt --series nss --title "National Security Strategy 2002" --date 2002-09-17
    """
    from monitor import store
    from monitor.ingest import add_file
    from monitor.sources.urls import document_key

    settings = load_settings(config_path)
    try:
        series = settings.series_by_id(series_id)
        with open_database(settings.basics()) as db:
            already = store.series_of_document(db, document_key(str(file)))
            if already is not None and already != series_id:
                raise click.ClickException(
                    f"{file} is already a member of series {already!r}; a document belongs "
                    "to one series (copy the file to add it to another)"
                )
            stored = add_file(
                settings,
                db,
                file,
                series=series,
                title=title,
                published=parse_since(when, settings.schedule.timezone, "--date"),
            )
            found = store.history(db, document_key(str(file)), document_key(str(file)))
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        versions = found.versions if found is not None else []
        print_json(
            {
                "file": str(file),
                "document": document_key(str(file)),
                "series": series_id,
                "new_document": stored.new_document,
                "new_version": stored.new_version,
                "version": versions[-1].id if versions else None,
                "versions": len(versions),
                "mentions": stored.mentions,
                "changes": stored.changes,
                "wording_changes": [asdict(w) for w in stored.wording],
            }
        )
        return
    state = "stored" if stored.new_version else "unchanged (already stored)"
    click.echo(
        f"{file}: {state} in series {series_id}; {stored.mentions} mentions, {stored.changes} changes"
    )
    if when is None:
        click.echo("(no --date: the file's own date, else today, places it in the series)")
