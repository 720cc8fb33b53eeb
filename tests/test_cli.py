"""The command line: exact JSON shapes, against a real local server and a real database."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from tests.conftest import DEMO, config_head, shipped_concepts
from tests.documents import COMPARISON_KEYS
from tests.servers import LocalServer, feed_toml, serve_demo_site

ONCE_KEYS = {
    "sources",
    "fetched",
    "not_modified",
    "unchanged",
    "new_documents",
    "new_versions",
    "mentions",
    "changes",
    "wording_changes",
    "failed_sources",
    "errors",
}


@pytest.fixture
def site() -> LocalServer:
    with LocalServer() as server:
        serve_demo_site(server)
        yield server


def _config(tmp_path: Path, server: LocalServer) -> Path:
    shipped = (Path(__file__).parent.parent / "config" / "monitor.toml").read_text(encoding="utf-8")
    concepts = shipped[shipped.index("[concepts.cvid]") :]
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
{config_head(tmp_path / "m.db")}{feed_toml("korean", server.url("/feeds/korean-policy.xml"))}{feed_toml("whitehouse", server.url("/feeds/whitehouse-korea.xml"), "matching")}{feed_toml("gone", server.url("/gone.xml"), None)}{concepts}""",
        encoding="utf-8",
    )
    return path


def _run(*args: str, code: int = 0) -> object:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.output


def test_once_search_show_sources_json_shapes(tmp_path: Path, site: LocalServer) -> None:
    config = str(_config(tmp_path, site))
    once = _run("once", "--config", config, "--json", code=3)  # "gone" failed, not all
    assert isinstance(once, dict) and set(once) == ONCE_KEYS
    lists = {"errors", "wording_changes", "failed_sources"}
    assert all(isinstance(once[k], int) for k in ONCE_KEYS - lists)
    assert once["failed_sources"] == ["gone"]
    assert once["errors"] == [{"source": "gone", "error": once["errors"][0]["error"]}]
    assert "404" in once["errors"][0]["error"]
    assert once["new_documents"] >= 10 and once["mentions"] > 0

    again = _run("once", "--config", config, "--source", "korean", "--json")
    assert again["sources"] == 1 and again["not_modified"] == 1 and again["new_versions"] == 0

    hits = _run("search", "비핵화", "--config", config, "--json")
    assert isinstance(hits, list) and hits
    assert all(set(h) == {"url", "title", "source", "published", "snippet"} for h in hits)
    particles = {m for h in hits for m in re.findall(r"\[비핵화([가-힣]+)\]", h["snippet"])}
    assert particles, "a query for 비핵화 finds it with particles attached (비핵화를, 비핵화는)"
    published = [h["published"] for h in hits if h["published"]]
    assert published == sorted(published), "newest last"
    english = _run(
        "search", "denuclearization", "--since", "2023-01-01", "--config", config, "--json"
    )
    assert english and all(h["published"] >= "2022-12-31T15:00:00+00:00" for h in english)
    assert len(hits) > 1
    assert _run("search", "비핵화", "--limit", "1", "--config", config, "--json") == hits[-1:]
    plain = _run("search", "비핵화", "--limit", "1", "--config", config)
    assert "(the 1 newest shown; use --limit for more)" in str(plain)
    days = _run("timeline", "denuclearization", "--config", config, "--json")
    assert isinstance(days, list) and len(days) > 2
    latest = _run("timeline", "denuclearization", "--limit", "2", "--config", config, "--json")
    assert latest == days[-2:], "the latest two periods"

    url = hits[-1]["url"]
    shown = _run("show", url, "--config", config, "--json")
    assert set(shown) == {"url", "title", "source", "versions"}
    assert shown["url"] == url
    version = shown["versions"][0]
    assert set(version) == {"id", "fetched_at", "text", "concepts", "set_aside", "limits"}
    assert isinstance(version["set_aside"], dict)
    assert version["concepts"]["denuclearization"] >= 1

    health = _run("sources", "--config", config, "--json")
    assert [h["name"] for h in health] == ["korean", "whitehouse", "gone"]
    keys = {
        "name",
        "url",
        "kind",
        "last_success",
        "last_error",
        "consecutive_failures",
        "documents",
        "warning",
    }
    assert all(set(h) == keys for h in health)
    gone = health[2]
    assert (
        gone["consecutive_failures"] == 1
        and gone["last_success"] is None
        and gone["documents"] == 0
    )


def test_check_reports_problems_and_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\nkind = "feed"\nurl = "ftp://x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--config", str(bad)])
    assert result.exit_code == 1
    assert "sources[0] (x).url: must be an absolute http:// or https:// address" in result.output


def test_init_writes_the_commented_config_and_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "--config", "conf/monitor.toml"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "conf" / "monitor.toml").read_text(encoding="utf-8").startswith("# monitor")
    assert (tmp_path / "monitor.db").exists()
    check = CliRunner().invoke(main, ["check", "--config", "conf/monitor.toml"])
    assert check.exit_code == 0 and "ok: 31 sources, 8 concepts, 1 ladders" in check.output


def test_show_unknown_url_says_how_to_find_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor import store

    store.open_db(tmp_path / "m.db").close()  # show only reads: the database must exist
    monkeypatch.setenv("MONITOR_DB", str(tmp_path / "m.db"))
    result = CliRunner().invoke(main, ["show", "http://nowhere/x"])
    assert result.exit_code == 1 and "monitor search" in result.output


def test_demo_data_is_in_the_package() -> None:
    assert (DEMO / "sources.toml").is_file() and (DEMO / "PROVENANCE.md").is_file()


def test_compare_files_prints_json_and_writes_an_html_redline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(DEMO / "pages" / "whitehouse")  # relative paths, as a person types them
    redline = tmp_path / "redline.html"
    result = CliRunner().invoke(
        main,
        [
            "compare",
            "--config",
            str(Path(__file__).parent.parent / "config" / "monitor.toml"),
            "2021-05-21-u-s-rok-leaders-joint-statement.html",
            "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html",
            "--json",
            "--html",
            str(redline),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == set(COMPARISON_KEYS)
    assert set(data["sentences"]) == {"added", "removed", "changed", "moved"}
    assert isinstance(data["sentences"]["moved"], int)
    statuses = {c["id"]: c["status"] for c in data["concepts"]}
    # the 2022 statement's sanctions are on Russia: kept in the history, counted nowhere
    assert statuses["maximum-pressure"] == "unchanged"
    aside = {c["id"]: c["set_aside"] for c in data["concepts"]}
    assert aside["maximum-pressure"] == {"old": {}, "new": {"other-target": 1}}
    page = redline.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<del>" in page and "<script" not in page


def test_compare_names_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "a.pdf"), str(tmp_path / "b.pdf")])
    assert result.exit_code == 1 and "a.pdf: cannot read the file" in result.output


def test_set_aside_mentions_stay_in_the_history_with_their_reason_and_count_nowhere(
    tmp_path: Path,
) -> None:
    # The 2022 U.S.-ROK statement's only "sanctions" are on Russia: stored with the reason,
    # shown by `show`, left out of the counts, the timeline and the concept summary.
    page = DEMO / "pages" / "whitehouse"
    statement = page / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html"
    db_path = tmp_path / "m.db"
    config = tmp_path / "monitor.toml"
    config.write_text(
        (Path(__file__).parent.parent / "config" / "monitor.toml").read_text(encoding="utf-8")
        + '\n[[series]]\nid = "t"\ntitle = "t"\n[series.rule]\nsource = "local"\ntitle = "."\n',
        encoding="utf-8",
    )
    env = {"MONITOR_DB": str(db_path)}
    added = CliRunner(env=env).invoke(
        main, ["add", str(statement), "--series", "t", "--config", str(config)]
    )
    assert added.exit_code == 0, added.output
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT reason, counted, excerpt FROM mentions WHERE concept = 'maximum-pressure'"
        ).fetchall()
        objects = conn.execute(
            "SELECT facets FROM mentions WHERE concept = 'complete-denuclearization'"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("other-target", 0)]
    assert "Russia" in rows[0][2]
    assert json.loads(objects[0][0]) == {"object": ["korean-peninsula"]}
    key = f"{statement}"
    shown = CliRunner(env=env).invoke(main, ["show", key, "--config", str(config), "--json"])
    assert shown.exit_code == 0, shown.output
    version = json.loads(shown.stdout)["versions"][0]
    assert "maximum-pressure" not in version["concepts"]
    assert version["set_aside"]["maximum-pressure"] == {"other-target": 1}
    plain = CliRunner(env=env).invoke(main, ["show", key, "--config", str(config)])
    assert "set aside: maximum-pressure 1 (other-target)" in plain.output
    timeline = CliRunner(env=env).invoke(
        main, ["timeline", "maximum-pressure", "--config", str(config), "--json"]
    )
    assert timeline.exit_code == 0, timeline.output
    assert sum(row["count"] for row in json.loads(timeline.stdout)) == 0


def test_sources_tells_disabled_and_never_polled_apart_and_keeps_its_columns(
    tmp_path: Path, site: LocalServer
) -> None:
    long_name = "a-source-with-a-name-longer-than-the-column"
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[storage]
database = "{tmp_path / "m.db"}"

{feed_toml("korean", site.url("/feeds/korean-policy.xml"), None)}
{feed_toml(long_name, site.url("/feeds/korean-policy.xml"), None)}
{feed_toml("paused", site.url("/feeds/korean-policy.xml"), None)}enabled = false
{shipped_concepts()}""",
        encoding="utf-8",
    )
    _run("once", "--config", str(config), "--source", "korean")
    lines = str(_run("sources", "--config", str(config))).splitlines()
    rows = {line.split()[0]: line for line in lines if not line.startswith(" ")}
    assert rows["korean"].split()[2] == "ok"
    assert "never polled" in rows[long_name]
    assert rows["paused"].split()[2] == "disabled"
    assert len({row.index("last ok") for row in rows.values()}) == 1, "columns in line"
