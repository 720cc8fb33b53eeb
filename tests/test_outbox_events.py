"""Rendering at delivery: the outbox keeps the event (monitor/store/events.py), delivery renders
it on its first claim with the delivering settings and freezes the message in the row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitor import store
from monitor.alerts import delivery, rules
from monitor.alerts.digest import digest_data
from monitor.config import Settings
from monitor.models import ArticleEvent, Message, OutboxItem, Queued, QueuedEvent, SourceEvent
from monitor.pipeline import poll
from monitor.render.queued import render
from monitor.render.untrusted import PAYLOAD_ITEMS
from monitor.store import views
from monitor.store.events import EVENT_VERSION, event_json, read_event
from monitor.web.feeds_routes import shown
from tests.conftest import MakeSettings
from tests.documents import (
    CARBIS_BAY,
    HIROSHIMA,
    MATCHER,
    ROK_2021,
    SETTINGS,
    SINGAPORE,
    US_ROK_2021,
    US_ROK_2022,
    cvid_page,
    load,
)
from tests.events import AT, NEW_COMPLETE, OLD_CVID, change_event
from tests.mail import MailServer, email_section
from tests.servers import LocalServer, Versions

KEY = "test:render"


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    yield server
    server.stop()


def _settings(make_settings: MakeSettings, url: str, mail: MailServer) -> Settings:
    data = make_settings([{"name": "statement", "kind": "page", "url": url}]).model_dump(
        mode="python"
    )
    data["email"] = email_section(mail)
    return Settings.model_validate(data)


def _changed(settings: Settings, section: str, **values: Any) -> Settings:
    data = settings.model_dump(mode="python")
    data[section] = {**data[section], **values}
    return Settings.model_validate(data)


def _relabelled(settings: Settings, concept: str, label: str) -> Settings:
    data = settings.model_dump(mode="python")
    data["concepts"][concept]["label"] = label
    return Settings.model_validate(data)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content()).replace("\r\n", "\n")  # as sent: SMTP's line ends


def _article(text: str, url: str = "https://example.org/a") -> ArticleEvent:
    return ArticleEvent(
        url=url,
        title="Statement",
        source="whitehouse",
        published=AT - timedelta(hours=3),
        detected_at=AT,
        content_hash="ab" * 32,
        mentions=tuple(m for m in MATCHER.find(text) if m.counted),
    )


def _events() -> list[QueuedEvent]:
    """Real comparisons and real mentions: the corpus's joint statements and communiqués."""
    pairs = [(US_ROK_2021, US_ROK_2022), (CARBIS_BAY, HIROSHIMA), (US_ROK_2022, US_ROK_2021)]
    changes = [change_event(load(a), load(b)) for a, b in pairs]
    changes.append(change_event(OLD_CVID, NEW_COMPLETE, title=None, kind="revision"))
    articles = [
        rules.shown(_article(load(p), f"https://example.org/{i}"))
        for i, p in enumerate((US_ROK_2022, SINGAPORE, HIROSHIMA))
    ]
    sources = [
        SourceEvent("whitehouse", "https://www.whitehouse.gov/feed/", True, 3, "HTTP 503", AT),
        SourceEvent("통일부", "https://www.unikorea.go.kr/", False, 5, None, AT),
    ]
    return [*changes, *articles, *sources]


@pytest.mark.parametrize("index", range(9))
def test_an_event_read_back_from_the_outbox_renders_byte_for_byte_as_the_event(
    index: int,
) -> None:
    event = _events()[index]
    back = read_event(event_json(event))
    assert type(back) is type(event)
    assert render(SETTINGS, back, KEY) == render(SETTINGS, event, KEY)


def test_a_digest_read_back_from_the_outbox_renders_as_the_digest(
    make_settings: MakeSettings, tmp_path: Any
) -> None:
    settings = make_settings([])
    events = _events()
    changes = tuple(e for e in events if not isinstance(e, (ArticleEvent, SourceEvent)))
    articles = tuple(e for e in events if isinstance(e, ArticleEvent))
    with store.open_db(settings.database) as db:
        data = digest_data(settings, db, date(2026, 11, 28))
    data = replace(data, changes=changes, articles=articles)  # type: ignore[arg-type]
    back = read_event(event_json(data))
    rendered = render(settings, data, KEY)
    assert render(settings, back, KEY) == rendered
    assert "U.S.-ROK Leaders' Joint Statement" in rendered.text, "the changes are in it"


def test_the_outbox_keeps_as_many_mentions_as_a_message_lists() -> None:
    assert rules.ALERT_MENTIONS == PAYLOAD_ITEMS


@hsettings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["cvid", "denuclearization", "extended-deterrence"]), st.integers(0, 6)
        ),
        min_size=1,
        max_size=400,
    )
)
def test_the_mentions_an_article_alert_keeps_render_as_all_of_them(
    picks: list[tuple[str, int]],
) -> None:
    """Hundreds of mentions in a few sentences: the kept ones render the same message."""
    base = _article(load(US_ROK_2022)).mentions
    sample = {m.concept: m for m in base}
    mentions = tuple(
        type(sample.get(c, base[0]))(
            c,
            sample.get(c, base[0]).variant,
            f"Sentence {n} with {sample.get(c, base[0]).variant}.",
            0,
            1,
        )
        for c, n in picks
    )
    event = ArticleEvent("https://example.org/x", "T", "s", None, AT, "cd" * 32, mentions)
    kept = rules.shown(event)
    assert len(kept.mentions) <= 3 * (rules.ALERT_MENTIONS + 7)
    assert render(SETTINGS, kept, KEY) == render(SETTINGS, event, KEY)
    back = read_event(event_json(kept))
    assert render(SETTINGS, back, KEY) == render(SETTINGS, event, KEY)


def test_an_event_of_an_unknown_version_or_kind_is_refused_by_name() -> None:
    stored = json.loads(event_json(_events()[-1]))
    with pytest.raises(ValueError, match=f"version 99; {EVENT_VERSION} known"):
        read_event(json.dumps({**stored, "version": 99}))
    with pytest.raises(ValueError, match="unknown kind 'poem'"):
        read_event(json.dumps({**stored, "kind": "poem"}))


@pytest.fixture
def statement() -> Iterator[tuple[Versions, str]]:
    """A page with CVID on a local server, and its address."""
    page = Versions(cvid_page(ROK_2021))
    with LocalServer() as server:
        server.route("/statement.html", page.handler())
        yield page, server.url("/statement.html")


def _queue_cvid_drop(settings: Settings, db: Any, page: Versions) -> None:
    """Poll the CVID page, then its text without CVID: one change alert in the outbox."""
    poll(settings, db)
    page.body = ROK_2021.read_bytes()
    poll(settings, db)


def test_an_alert_is_rendered_when_delivered_with_the_delivering_settings(
    make_settings: MakeSettings, mail: MailServer, statement: tuple[Versions, str]
) -> None:
    mail.start()
    page, url = statement
    queuing = _settings(make_settings, url, mail)
    with store.open_db(queuing.database) as db:
        _queue_cvid_drop(queuing, db, page)
        [(subject, text, event, rendered)] = db.execute(
            "SELECT subject, text, event_json IS NOT NULL, rendered_at FROM alerts"
        ).fetchall()
        assert (subject, text, event, rendered) == ("", "", 1, None), "the event, unrendered"
        delivering = _relabelled(queuing, "cvid", "Complete verifiable irreversible")
        assert delivery.deliver_due(delivering, db).sent == 1
        [(subject, text, html, payload, rendered)] = db.execute(
            "SELECT subject, text, html, payload, rendered_at FROM alerts"
        ).fetchall()
    [message] = mail.inbox.messages
    assert message["Subject"].startswith("Complete verifiable irreversible dropped: ")
    assert "CVID" not in message["Subject"]
    # the alerts table shows what was sent
    assert subject == message["Subject"] and text == _body(message, "plain")
    assert html == _body(message, "html") and rendered is not None
    assert json.loads(payload)["subject"] == subject


def test_a_retried_alert_sends_the_same_message_it_first_rendered(
    make_settings: MakeSettings, mail: MailServer, statement: tuple[Versions, str]
) -> None:
    page, url = statement
    first = _changed(_settings(make_settings, url, mail), "alerts", retry_seconds=0)
    with store.open_db(first.database) as db:
        _queue_cvid_drop(first, db, page)
        # The mail server is down: the first claim renders the alert, and the send fails.
        assert delivery.deliver_due(first, db).retrying == 1
        [(subject, attempts)] = db.execute("SELECT subject, attempts FROM alerts").fetchall()
        assert subject.startswith("CVID dropped: ") and attempts == 1
        mail.start()
        # Delivered by a process with other labels and another zone: the frozen message.
        other = _changed(_relabelled(first, "cvid", "Else"), "schedule", timezone="Europe/Berlin")
        assert delivery.deliver_due(other, db).sent == 1
        # As if the run had died after the server accepted it and before marking it sent:
        # the next run sends it again, the same bytes, which receivers drop by Message-ID.
        db.execute("UPDATE alerts SET status = 'pending', next_attempt_at = '2000-01-01'")
        assert delivery.deliver_due(_relabelled(other, "cvid", "A third"), db).sent == 1

    def sent(message: EmailMessage) -> list[tuple[str, str]]:
        # The Date header is the moment of sending and the MIME boundary is drawn at random;
        # every other header and every part's bytes were frozen at rendering.
        headers = [(k, str(v)) for k, v in message.items() if k not in ("Date", "Content-Type")]
        parts = [
            (part.get_content_type(), part.get_payload(decode=False))
            for part in message.walk()
            if not part.is_multipart()
        ]
        return headers + [(str(t), str(p)) for t, p in parts]

    one, two = mail.inbox.messages
    assert one["Subject"] == subject and "KST" in _body(one, "plain")
    assert "CET" not in _body(one, "plain") and "Else" not in one["Subject"]
    assert {"text/plain", "text/html"} <= {t for t, _ in sent(one)}
    assert sent(one) == sent(two)


def test_a_row_queued_rendered_before_the_outbox_held_events_is_sent_as_it_is(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    mail.start()
    settings = _settings(make_settings, "http://127.0.0.1:9/never", mail)
    old = Message(
        "change:old:1:email",
        "CVID dropped: an old row",
        "As queued.\n",
        None,
        {"event": "change", "subject": "CVID dropped: an old row"},
    )
    with store.open_db(settings.database) as db:
        with store.transaction(db):
            store.enqueue(db, [OutboxItem("email", ("analyst@example.org",), old)])
        # as m012 leaves a row queued before it: no event, rendered when it was created
        assert db.execute("SELECT event_json, rendered_at IS NOT NULL FROM alerts").fetchall() == [
            (None, 1)
        ]
        assert delivery.deliver_due(_relabelled(settings, "cvid", "Else"), db).sent == 1
    [message] = mail.inbox.messages
    assert message["Subject"] == "CVID dropped: an old row"
    assert _body(message, "plain") == "As queued.\n"


def test_an_event_that_cannot_be_read_is_retried_without_marking_its_channel_down(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    mail.start()
    settings = _changed(
        _settings(make_settings, "http://127.0.0.1:9/never", mail), "alerts", retry_seconds=0
    )
    good = Queued("source:up:email", _events()[-1])
    bad = Queued("source:down:email", _events()[-2])
    with store.open_db(settings.database) as db:
        with store.transaction(db):
            store.enqueue(db, [OutboxItem("email", ("a@example.org",), m) for m in (bad, good)])
        # written by a newer monitor, say
        db.execute(
            "UPDATE alerts SET event_json = json_set(event_json, '$.version', 99) "
            "WHERE dedup_key = 'source:down:email'"
        )
        done = delivery.deliver_due(settings, db)
        [(error,)] = db.execute(
            "SELECT last_error FROM alerts WHERE dedup_key = 'source:down:email'"
        ).fetchall()
    assert (done.sent, done.retrying) == (1, 1), "the other message still went out"
    assert "version 99" in error
    [message] = mail.inbox.messages
    assert message["Subject"] == "Source recovered: 통일부"


def test_the_alerts_atom_feed_shows_an_alert_before_and_after_delivery_alike(
    make_settings: MakeSettings, mail: MailServer
) -> None:
    """Before delivery the feed renders the event as delivery would; after, it reads the row."""
    mail.start()
    settings = _settings(make_settings, "http://127.0.0.1:9/never", mail)
    event = _events()[-1]
    expected = render(settings, event, KEY)
    with store.open_db(settings.database) as db:
        with store.transaction(db):
            store.enqueue(
                db,
                [
                    OutboxItem("email", ("a@example.org",), Queued("source:up:email", event)),
                    OutboxItem("desk", (), Queued("source:up:desk", event)),
                ],
            )
        [before] = views.recent_alerts(db, 10)
        assert before.event_json is not None and before.subject == ""
        assert delivery.deliver_due(settings, db).sent == 1  # email; no webhook named desk
        [after] = views.recent_alerts(db, 10)
    assert after.event_json is None, "one rendered row of the event is what the feed shows"
    for row in (before, after):
        assert (shown(settings, row).subject, shown(settings, row).text) == (
            expected.subject,
            expected.text,
        )
