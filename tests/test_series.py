"""Series repair: editions compared in publication order, whichever order they arrive in.

Real White House statements from the demo, served by a feed on loopback: editions that come in
one poll are stored oldest first, and one that lands between two already compared supersedes
their comparison (kept, hidden from `monitor changes` unless --all, its waiting alert withdrawn).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from monitor import store
from monitor.alerts import delivery, digest
from monitor.cli import main
from monitor.config import Settings
from monitor.pipeline import poll
from tests.conftest import DEMO, SHIPPED, MakeSettings
from tests.mail import MailServer, email_section
from tests.servers import LocalServer, respond

PAGES = DEMO / "pages" / "whitehouse"
# (year, page, title as the feed gives it, publication date as RSS writes it)
EDITIONS = {
    2021: (
        "2021-05-21-u-s-rok-leaders-joint-statement.html",
        "U.S.-ROK Leaders’ Joint Statement",
        "Fri, 21 May 2021 20:43:59 -0400",
    ),
    2022: (
        "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html",
        "United States-Republic of Korea Leaders’ Joint Statement",
        "Sat, 21 May 2022 03:20:51 -0400",
    ),
    2023: (
        "2023-04-26-washington-declaration-2.html",
        "Washington Declaration",
        "Wed, 26 Apr 2023 13:00:00 -0400",
    ),
}
SERIES = [{"id": "us-rok", "title": "U.S.-ROK summits", "rule": {"source": "wh", "title": "."}}]


def _feed(years: list[int]) -> bytes:
    items = "".join(
        f"<item><title>{EDITIONS[y][1]}</title><link>/{y}.html</link>"
        f"<guid>/{y}.html</guid><description>Statement of {y}.</description>"
        f"<pubDate>{EDITIONS[y][2]}</pubDate></item>"
        for y in years
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Briefing Room</title><link>/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


class WhiteHouse:
    """A loopback server with the three statements and a feed whose listing the test sets."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.listing: list[int] = []
        for year, (page, _, _) in EDITIONS.items():
            server.route(
                f"/{year}.html",
                respond(200, (PAGES / page).read_bytes(), {"Content-Type": "text/html"}),
            )
        server.route("/feed", self._serve_feed)

    def _serve_feed(self, request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        respond(200, _feed(self.listing), {"Content-Type": "application/rss+xml"})(
            request, stopping
        )

    def source(self) -> dict[str, Any]:
        return {"name": "wh", "kind": "feed", "url": self.server.url("/feed"), "follow": "all"}


@pytest.fixture
def whitehouse() -> Iterator[WhiteHouse]:
    with LocalServer() as server:
        yield WhiteHouse(server)


def _year(url: str) -> int:
    return int(url.rsplit("/", 1)[-1].split(".")[0])


def _successions(db: Database) -> list[tuple[int, int, bool]]:
    """(older year, newer year, superseded) of every stored succession, in the order stored."""
    return [
        (_year(old), _year(new), gone is not None)
        for old, new, gone in db.execute(
            "SELECT od.url, nd.url, c.superseded_at FROM changes c "
            "JOIN versions ov ON ov.id = c.old_version_id "
            "JOIN documents od ON od.id = ov.document_id "
            "JOIN documents nd ON nd.id = c.document_id "
            "WHERE c.kind = 'succession' ORDER BY c.id"
        )
    ]


@pytest.mark.parametrize("listing", [[2023, 2022, 2021], [2021, 2023, 2022]])
def test_editions_in_one_poll_are_compared_in_publication_order(
    make_settings: MakeSettings, whitehouse: WhiteHouse, listing: list[int]
) -> None:
    whitehouse.listing = listing  # a feed lists the newest first, or in any order at all
    settings = make_settings([whitehouse.source()], series=SERIES)
    with store.open_db(settings.database) as db:
        summary = poll(settings, db)
        assert summary.new_documents == 3 and not summary.errors
        assert _successions(db) == [(2021, 2022, False), (2022, 2023, False)]
        assert poll(settings, db).changes == 0


def _changes_cli(settings: Settings, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    config = tmp_path / "cli.toml"
    config.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    out = CliRunner(env={"MONITOR_DB": str(settings.database)}).invoke(
        main, ["changes", "--config", str(config), "--json", *args]
    )
    assert out.exit_code == 0, out.output
    return list(json.loads(out.stdout))


def test_a_middle_edition_arriving_later_supersedes_the_comparison_it_lands_in(
    make_settings: MakeSettings, whitehouse: WhiteHouse, tmp_path: Path
) -> None:
    settings = make_settings([whitehouse.source()], series=SERIES)
    with store.open_db(settings.database) as db:
        whitehouse.listing = [2023, 2021]
        assert poll(settings, db).changes == 1
        [skipping] = db.execute("SELECT id FROM changes").fetchall()
        whitehouse.listing = [2023, 2022, 2021]
        assert poll(settings, db).changes == 2
        assert _successions(db) == [(2021, 2023, True), (2021, 2022, False), (2022, 2023, False)]
        by = db.execute(
            "SELECT c.superseded_by, n.id FROM changes c, changes n "
            "WHERE c.id = ? AND n.id = (SELECT MAX(id) FROM changes)",
            [skipping[0]],
        ).fetchone()
        assert by[0] == by[1], "replaced by 2022 -> 2023, the comparison that now leads to 2023"
        # The digest of the day tells the two current comparisons only.
        day = digest.digest_day(settings, datetime.now(UTC) + timedelta(days=1))
        told = digest.digest_data(settings, db, day).changes
        assert sorted((c.old_title, c.title) for c in told) == [
            (EDITIONS[2021][1], EDITIONS[2022][1]),
            (EDITIONS[2022][1], EDITIONS[2023][1]),
        ]

    shown = _changes_cli(settings, tmp_path)
    assert len(shown) == 2 and skipping[0] not in [c["id"] for c in shown]
    assert all(c["superseded_by"] is None and c["superseded_at"] is None for c in shown)
    everything = _changes_cli(settings, tmp_path, "--all")
    [kept] = [c for c in everything if c["id"] == skipping[0]]
    assert kept["superseded_by"] == by[1] and kept["superseded_at"]
    assert len(everything) == 3
    plain = CliRunner(env={"MONITOR_DB": str(settings.database)}).invoke(
        main, ["changes", "--config", str(SHIPPED), "--all"]
    )
    assert plain.output.count("(superseded ") == 1


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    yield server
    server.stop()


def _alerting(settings: Settings, mail: MailServer) -> Settings:
    """Every succession alerts by mail, whatever the editions' age."""
    data = settings.model_dump(mode="python")
    data["email"] = email_section(mail)
    data["alerts"] = {
        "max_age_days": 0,
        "retry_seconds": 0,
        "rules": [
            {
                "name": "every-succession",
                "event": "change",
                "kinds": ["succession"],
                "deliver": "now",
                "channels": ["email"],
            }
        ],
    }
    return Settings.model_validate(data)


def _alerts(db: Database) -> dict[str, str]:
    return dict(db.execute("SELECT dedup_key, status FROM alerts").fetchall())


@pytest.fixture
def succession(
    make_settings: MakeSettings, whitehouse: WhiteHouse, mail: MailServer
) -> Iterator[tuple[Settings, Database]]:
    """Alerts on, 2023 and 2021 polled while the mail server is not up yet: the 2021 -> 2023
    alert waits (`_publish_2022` then places the middle edition between them)."""
    settings = _alerting(make_settings([whitehouse.source()], series=SERIES), mail)
    with store.open_db(settings.database) as db:
        whitehouse.listing = [2023, 2021]
        poll(settings, db)
        yield settings, db


def _publish_2022(settings: Settings, db: Database, whitehouse: WhiteHouse) -> None:
    whitehouse.listing = [2023, 2022, 2021]
    poll(settings, db)


def test_an_alert_waiting_for_a_superseded_comparison_is_never_sent(
    succession: tuple[Settings, Database], whitehouse: WhiteHouse, mail: MailServer
) -> None:
    settings, db = succession
    [(stale_key, status)] = _alerts(db).items()
    assert status == "pending" and stale_key.startswith("change:succession:")
    _publish_2022(settings, db, whitehouse)
    statuses = _alerts(db)
    assert statuses[stale_key] == "superseded"
    assert sorted(statuses.values()) == ["pending", "superseded"]
    mail.start()
    assert delivery.deliver_due(settings, db).sent == 1
    assert delivery.deliver_due(settings, db).sent == 0
    assert _alerts(db)[stale_key] == "superseded"
    [message] = mail.inbox.messages
    assert message["X-Monitor-Dedup-Key"] != stale_key
    assert "Washington Declaration" in message["Subject"]


def test_an_alert_delivered_before_its_comparison_is_superseded_stays_sent(
    succession: tuple[Settings, Database], whitehouse: WhiteHouse, mail: MailServer
) -> None:
    settings, db = succession
    mail.start()
    assert delivery.deliver_due(settings, db).sent == 1
    [(sent_key, _)] = _alerts(db).items()
    _publish_2022(settings, db, whitehouse)
    assert _alerts(db)[sent_key] == "sent"
    assert (
        db.execute("SELECT COUNT(*) FROM changes WHERE superseded_at IS NOT NULL").fetchone()[0]
        == 1
    )


def test_an_alert_being_sent_when_superseded_is_not_retried_after_a_failure(
    succession: tuple[Settings, Database], whitehouse: WhiteHouse
) -> None:
    # A delivery run holds the alert (claimed) when an edition supersedes its change, then the
    # channel refuses it: the attempt is counted, but the alert is not put back in line.
    settings, db = succession
    now = datetime.now(UTC)
    [held] = store.due(db, now)
    assert store.claim(db, held.id, now, now + timedelta(minutes=10), "run-1")
    _publish_2022(settings, db, whitehouse)
    store.mark_failed(db, held.id, "run-1", "451 try later", now)
    assert _alerts(db)[held.message.dedup_key] == "superseded"
    assert held.id not in [a.id for a in store.due(db, now + timedelta(days=1))]
