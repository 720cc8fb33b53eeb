"""`monitor health`: is the service's heartbeat fresh and its database writable?

Apart from monitor/schedule.py, so that the container's HEALTHCHECK, which runs it every
interval, imports the store only: never APScheduler or the extraction stack.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor import store
from monitor.errors import StoreError

if TYPE_CHECKING:
    from monitor.config_stamp import Basics


def health(basics: Basics, now: datetime | None = None) -> str | None:
    """None when the heartbeat is fresh and the database writable, else why not."""
    database = basics.database_path
    if not database.exists():
        return f"{database}: no database yet; is `monitor run` running?"
    try:
        # Migrations are the service's to run: a health check during an upgrade must neither
        # start one (under the HEALTHCHECK's timeout) nor wait for the service's.
        with store.opened(database, basics.busy_timeout, migrate=False) as db:
            if pending := store.migrations.pending(db):
                steps = f"{len(pending)} step{'s' if len(pending) > 1 else ''} left"
                return f"{database}: upgrading the schema ({steps}); `monitor run` finishes it"
            beat = store.heartbeat(db)
            store.check_writable(db)
    except StoreError as exc:
        return str(exc)
    if beat is None:
        return f"{database}: no heartbeat yet; `monitor run` has not started"
    limit = timedelta(seconds=3 * basics.heartbeat_seconds + 10)
    age = (now or datetime.now(UTC)) - beat[1]
    if age > limit:
        return f"heartbeat is {age.total_seconds():.0f} s old (pid {beat[0]}); the service is stuck or stopped"
    return None
