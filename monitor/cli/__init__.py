"""The command line: `monitor COMMAND`. Commands take --config and --db; reports take --json.

The group and its options are here; what every command shares is in common.py, and the commands
are in four modules: service.py (init, check, demo, once, run, health), digest.py (digest),
history.py (search, show, sources, changes, timeline, datasette) and documents.py (compare, add).
"""

from __future__ import annotations

import click

from monitor import __version__
from monitor.cli import digest, documents, history, service, web
from monitor.cli.common import LEVELS, LOG_LEVEL_KEY, Commands
from monitor.cli.service import EXIT_ALL_FAILED as EXIT_ALL_FAILED
from monitor.cli.service import EXIT_SOME_FAILED as EXIT_SOME_FAILED


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    envvar="MONITOR_LOG_LEVEL",
    help="What to log (else $MONITOR_LOG_LEVEL; default: warnings for one-shot commands, "
    "INFO for `monitor run`).",
)
@click.pass_context
def main(ctx: click.Context, log_level: str | None) -> None:
    """Watch Korea-policy feeds and documents and notice when their wording changes.

    Every command that reads the config takes --config PATH (else $MONITOR_CONFIG, else
    config/monitor.toml, else the shipped default config) and --db PATH (else $MONITOR_DB, else
    [storage].database). search, show, changes, timeline, sources and digest only read the
    database: they never create or migrate it.

    \b
    Example: monitor search 비핵화 --limit 5
    """
    if log_level is not None:
        ctx.meta[LOG_LEVEL_KEY] = log_level.upper()


for command in (
    service.init,
    service.check,
    service.demo,
    service.once,
    service.run,
    service.health,
    digest.digest,
    history.search,
    history.show,
    history.sources,
    history.changes,
    history.timeline,
    history.datasette,
    documents.compare,
    documents.add,
    web.serve,
):
    main.add_command(command)
