"""A channel kind is one module and one entry in monitor/channel_kinds.py: a kind registered
here, in the test alone, passes the config's checks, gets outbox items from the rules and its
messages from delivery."""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import channel_kinds, config, store
from monitor.alerts import channels, delivery, rules
from monitor.config import Settings
from monitor.errors import ConfigError, NotifyError
from monitor.models import Message, Queued, SourceEvent
from monitor.render.queued import render
from tests.conftest import MakeSettings


def _append(path: Path, recipients: Sequence[str], message: Message) -> None:
    """The extra kind's sender: one JSON line per message, in a real file."""
    if path.name.startswith("refuse"):
        raise NotifyError(f"archive {path.name}: refused")
    line = {"to": list(recipients), "subject": message.subject, "key": message.dedup_key}
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _raw(make_settings: MakeSettings, *failure_channels: str) -> dict[str, object]:
    data = make_settings([]).model_dump(mode="json", exclude_defaults=True)
    data["alerts"] = {"failure_threshold": 1, "failure_channels": list(failure_channels)}
    return data


def _settings(make_settings: MakeSettings, *failure_channels: str) -> Settings:
    return Settings.model_validate(_raw(make_settings, *failure_channels))


def _down(name: str = "s") -> SourceEvent:
    return SourceEvent(name, "https://example.org/feed", True, 1, "HTTP 500", datetime.now(UTC))


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "archive.jsonl"
    files = {"archive": path, "refusing": tmp_path / "refuse.jsonl"}
    kind = channel_kinds.ChannelKind("[archive]", lambda settings: files, f"{__name__}:_append")
    monkeypatch.setitem(channel_kinds.CHANNELS, "archive", kind)
    return path


def test_the_config_takes_its_channels_from_the_registry(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"alerts.failure_channels: no channel 'archive'"):
        config.parse(_raw(make_settings, "archive"), environment=False)
    kind = channel_kinds.ChannelKind("[archive]", lambda settings: {"archive": tmp_path}, "x:y")
    monkeypatch.setitem(channel_kinds.CHANNELS, "archive", kind)
    parsed = config.parse(_raw(make_settings, "archive"), environment=False)
    assert parsed.alerts.failure_channels == ("archive",)


def test_every_sender_resolves_to_a_function_of_settings_recipients_and_message() -> None:
    for name, kind in channel_kinds.CHANNELS.items():
        parameters = inspect.signature(kind.sender_function()).parameters
        assert len(parameters) == 3, (name, kind.sender, list(parameters))
    broken = channel_kinds.ChannelKind("[x]", lambda settings: {}, "monitor.alerts.mail:nothing")
    with pytest.raises(TypeError, match=r"channel kind \[x\]: no sender"):
        broken.sender_function()


def test_a_rule_naming_an_unknown_channel_says_how_to_define_one(
    make_settings: MakeSettings,
) -> None:
    raw = _raw(make_settings)
    raw["alerts"] = {"rules": [{"name": "r", "event": "change", "channels": ["nope"]}]}
    with pytest.raises(ConfigError) as caught:
        config.parse(raw, environment=False)
    said = "alerts.rules[0] (r).channels: no channel 'nope'; define [[webhooks]] with that name"
    assert said in str(caught.value)


def test_a_kind_registered_alone_gets_items_and_delivers_them(
    make_settings: MakeSettings, archive: Path
) -> None:
    settings = _settings(make_settings, "archive")
    items = rules.for_source(settings, _down(), since="2026-12-03T00:00:00Z")
    assert [(i.channel, i.recipients) for i in items] == [("archive", ())]
    with store.open_db(settings.database) as db:
        store.enqueue(db, items)
        done = delivery.deliver_due(settings, db)
    assert (done.sent, done.retrying, done.given_up) == (1, 0, 0)
    lines = [json.loads(line) for line in archive.read_text(encoding="utf-8").splitlines()]
    [item] = items
    assert isinstance(item.message, Queued), "the outbox holds the event; delivery renders it"
    message = render(settings, item.message.event, item.message.dedup_key)
    assert message.subject.startswith("Source failing: ")
    assert lines == [{"to": [], "subject": message.subject, "key": item.message.dedup_key}]


def test_its_refusal_waits_in_the_outbox_like_any_channel(
    make_settings: MakeSettings, archive: Path
) -> None:
    settings = _settings(make_settings, "refusing")
    items = rules.for_source(settings, _down(), since="2026-12-03T00:00:00Z")
    with store.open_db(settings.database) as db:
        store.enqueue(db, items)
        done = delivery.deliver_due(settings, db)
    assert (done.sent, done.retrying) == (0, 1)
    assert not archive.exists()


def test_without_it_the_channel_is_unknown(make_settings: MakeSettings) -> None:
    settings = _settings(make_settings, "archive")
    assert rules.for_source(settings, _down(), since="2026-12-03T00:00:00Z") == []
    assert channels.find(settings, "archive") is None
    assert channels.missing(None, "archive") == (
        "no webhook named 'archive' in the config; add it back"
    )


def test_email_stays_reserved_without_its_section(make_settings: MakeSettings) -> None:
    settings = _settings(make_settings, "email")
    found = channels.find(settings, "email")
    assert found is not None and found.settings is None
    assert channels.missing(found, "email") == (
        "no [email] section in the config; add one to send mail"
    )
    assert rules.for_source(settings, _down(), since="2026-12-03T00:00:00Z") == []
