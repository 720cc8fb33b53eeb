"""The history the web view's tests serve: the offline demo's, as `monitor demo` makes it
(tests/test_golden_outputs.py's way), plus a hostile series whose two editions carry script
tags, event handlers, javascript: addresses, terminal escape sequences and bidirectional
controls in their titles and sentences. Its `history` fixture is imported by the web tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import config, store
from monitor.demo_run import demo_root, run_demo
from monitor.ingest import add_file

HOSTILE = (
    '<script>alert("xss")</script> <img src=x onerror="alert(1)"> '
    '<a href="javascript:alert(2)">click</a> \x1b[31m\x1b]0;pwned\x07 \u202eevil\u202c'
)
HOSTILE_TITLE = f"Hostile statement {HOSTILE}"
OLD_TEXT = (
    f"Joint statement. {HOSTILE} The allies seek the complete, verifiable, and irreversible "
    "denuclearization of North Korea. They also discussed trade.\n"
)
NEW_TEXT = (
    f"Joint statement. {HOSTILE} The allies seek the complete denuclearization of North Korea. "
    f"They also discussed trade and {HOSTILE} extended deterrence for the Republic of Korea.\n"
)

EDITIONS = (("hostile-2020.txt", OLD_TEXT), ("hostile-2021.txt", NEW_TEXT))


def history_settings(database: Path) -> config.Settings:
    """The demo's config (shipped concepts, demo sources and series) with the hostile series."""
    raw = config.loads(config.shipped_config_text(), origin="web test")
    demo_text = (demo_root() / "sources.toml").read_text(encoding="utf-8")
    demo = config.loads(demo_text.replace("{base}", "http://127.0.0.1:9"), origin="demo")
    raw["sources"] = demo["sources"]
    raw["series"] = [
        *demo.get("series", []),
        {
            "id": "hostile",
            "title": "Hostile <script>alert(3)</script> editions",
            "members": [str(database.parent / name) for name, _ in EDITIONS],
        },
    ]
    raw["storage"] = {**raw.get("storage", {}), "database": str(database)}
    return config.parse(raw, origin="web test", environment=False)


def build_history(folder: Path) -> config.Settings:
    """The demo polled twice, then the two hostile editions added to their series."""
    run_demo(folder, lambda _line: None)
    settings = history_settings(folder / "monitor.db")
    series = settings.series_by_id("hostile")
    with store.opened(settings.database) as db:
        for (name, text), day in zip(
            EDITIONS,
            (datetime(2020, 1, 10, tzinfo=UTC), datetime(2021, 1, 10, tzinfo=UTC)),
            strict=True,
        ):
            path = folder / name
            path.write_text(text, encoding="utf-8")
            add_file(settings, db, path, series=series, title=HOSTILE_TITLE, published=day)
    return settings


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> config.Settings:
    return build_history(tmp_path_factory.mktemp("web-history"))
