"""`monitor digest`: build the daily digest and show it, write it to a file or send it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.common import (
    config_option,
    json_option,
    load_settings,
    local_time,
    open_database,
    print_json,
)
from monitor.render.untrusted import terminal

# Only what --help needs is imported here (tests/test_startup.py): the command imports the
# alerts, the config and the renderers when it runs.
if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.models import DigestData


@click.command()
@config_option
@click.option(
    "--date",
    "day",
    help="The local date of the digest (default: with --send the latest one due, otherwise the "
    "one being gathered now, which the next scheduled digest sends).",
)
@click.option("--send", is_flag=True, help="Queue it for every recipient and deliver it now.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write it to FILE: HTML, or a whole mail when FILE ends in .eml.",
)
@json_option
def digest(
    config_path: Path | None, day: str | None, send: bool, out: Path | None, as_json: bool
) -> None:
    """Build the daily digest (the 24 hours before [digest].time on a day) and show, write or
    send it. A digest is sent at most once per day and recipient; an empty one only for a day
    monitored throughout.

    Without --date, --out and the printed digest show the one being gathered now (so far), and
    --send the latest whose 24 hours are over.

    \b
    Example: monitor digest --out digest.html
    """
    from datetime import date as date_type

    from monitor.alerts import delivery, digest, mail
    from monitor.config import EmailSettings
    from monitor.render.digest import render_digest

    settings = load_settings(config_path)
    moment = datetime.now(UTC)
    latest = digest.digest_day if send else digest.gathering_day
    try:
        when = date_type.fromisoformat(day) if day else latest(settings, moment)
    except ValueError:
        raise click.BadParameter(f"{day!r}: use YYYY-MM-DD", param_hint="--date") from None
    with open_database(settings.basics(), read_only=not send) as db:
        if send:
            if settings.email is None and not settings.webhooks:
                raise click.ClickException("nothing to send with: add [email] or [[webhooks]]")
            end = digest.window(when, settings.digest.time, settings.schedule.timezone)[1]
            if end > datetime.now(UTC):
                raise click.ClickException(
                    f"the digest for {when} covers the 24 hours to {settings.digest.time} that "
                    "day, which are not over yet; sending it now would leave out what comes "
                    "later (preview it with --out)"
                )
            data = digest.digest_data(settings, db, when)
            reason = digest.withheld(settings, db, data)
            queued = digest.queue_digest(settings, db, when)
            delivered = delivery.deliver_due(settings, db)
            state = (
                "queued"
                if queued
                else f"not sent: {reason}"
                if reason
                else "already queued or sent earlier"
            )
            if as_json:
                print_json(
                    _digest_json(data, settings)
                    | {
                        "queued": queued,
                        "withheld": None if queued else reason,
                        "sent": delivered.sent,
                        "retrying": delivered.retrying,
                        "given_up": delivered.given_up,
                    }
                )
                return
            click.echo(
                f"digest for {when}: {state}; {delivered.sent} sent, "
                f"{delivered.retrying} waiting to retry"
            )
            return
        data = digest.digest_data(settings, db, when)
        message = render_digest(data, dedup_key=f"digest:{when}:preview")
    closes = local_time(data.end.isoformat(), settings.schedule.timezone)
    so_far = f" so far (its window closes {closes})" if data.end > moment else ""
    counts = message.payload
    shown = f"the digest for {when}{so_far}: {counts.get('changes', 0)} wording change(s), "
    shown += f"{counts.get('articles', 0)} new article(s)"
    if out is not None and out.suffix.lower() == ".eml":
        email = settings.email or EmailSettings()
        recipients = settings.digest.recipients or email.to or ("reader@localhost",)
        out.write_bytes(bytes(mail.build_email(email.sender, recipients, message)))
    elif out is not None:
        out.write_text(message.html or message.text, encoding="utf-8")
    if as_json:
        written = {"written": str(out)} if out is not None else {"text": message.text}
        print_json(
            _digest_json(data, settings)
            | {"so_far": data.end > moment, "subject": message.subject}
            | written
        )
    elif out is None:
        click.echo(terminal(message.subject) + "\n\n" + terminal(message.text, lines=True))
    else:
        click.echo(f"wrote {out}: {shown}")


def _digest_json(data: DigestData, settings: Settings) -> dict[str, object]:
    """What `digest --json` says of any digest: its day, window and counts (those it shows)."""
    from monitor.render.digest import render_digest

    counts = render_digest(data, dedup_key=f"digest:{data.day}:preview").payload
    return {
        "date": data.day.isoformat(),
        "window": {"start": data.start.isoformat(), "end": data.end.isoformat()},
        "timezone": settings.schedule.timezone,
        "changes": counts.get("changes", 0),
        "articles": counts.get("articles", 0),
    }
