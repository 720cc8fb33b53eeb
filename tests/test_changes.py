"""Wording changes in the pipeline: revisions of one URL, flips, series, ignore rules, the CLI."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from click.testing import CliRunner
from sqlite_utils import Database

from monitor import store
from monitor.changes import add_file
from monitor.cli import main
from monitor.config import Settings
from monitor.pipeline import poll
from tests.conftest import DEMO, MakeSettings
from tests.servers import Handler, LocalServer

PAGES = DEMO / "pages" / "whitehouse"
ROK_2021 = PAGES / "2021-05-21-u-s-rok-leaders-joint-statement.html"
ROK_2022 = PAGES / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html"
CVID = (
    "<p>The two leaders reaffirmed their commitment to the complete, verifiable, and "
    "irreversible denuclearization of North Korea.</p>"
)


def _with_cvid(page: Path) -> bytes:
    """A real statement with one CVID sentence inserted after its first paragraph."""
    html = page.read_text(encoding="utf-8")
    at = html.index("</p>", html.index("<article")) + len("</p>")
    return (html[:at] + CVID + html[at:]).encode()


class Versions:
    """A page whose body the test switches between polls, with an ETag per body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def handler(self) -> Handler:
        def serve(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
            etag = f'"{hash(self.body)}"'
            if request.headers.get("If-None-Match") == etag:
                request.send_response(304)
                request.send_header("Content-Length", "0")
                request.end_headers()
                return
            request.send_response(200)
            request.send_header("Content-Type", "text/html; charset=utf-8")
            request.send_header("ETag", etag)
            request.send_header("Content-Length", str(len(self.body)))
            request.end_headers()
            request.wfile.write(self.body)

        return serve


def _changes(db: Database) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT kind, verdict FROM changes ORDER BY id")]


def test_dropped_cvid_is_a_revision_and_a_flip_back_is_not(make_settings: MakeSettings) -> None:
    with_cvid, without = _with_cvid(ROK_2021), ROK_2021.read_bytes()
    page = Versions(with_cvid)
    with LocalServer() as server:
        server.route("/statement.html", page.handler())
        settings = make_settings(
            [{"name": "statement", "kind": "page", "url": server.url("/statement.html")}]
        )
        with store.open_db(settings.database) as db:
            assert poll(settings, db).changes == 0
            page.body = without
            second = poll(settings, db)
            assert second.new_versions == 1 and second.changes == 1
            [(kind, verdict)] = _changes(db)
            assert kind == "revision"
            assert verdict.startswith("cvid dropped")
            assert (
                "denuclearization ladder: cvid → complete-denuclearization (downgrade)" in verdict
            )
            stored = json.loads(db.execute("SELECT comparison FROM changes").fetchone()[0])
            assert stored["sentences"]["removed"] == [
                "The two leaders reaffirmed their commitment to the complete, verifiable, and "
                "irreversible denuclearization of North Korea."
            ]
            assert stored["sentences"]["added"] == [] and stored["sentences"]["changed"] == []
            # Flipping back and forth (A, B, A, B) is history, not news.
            page.body = with_cvid
            third = poll(settings, db)
            page.body = without
            fourth = poll(settings, db)
            assert (third.new_versions, fourth.new_versions) == (1, 1)
            assert third.changes == fourth.changes == 0
            assert len(_changes(db)) == 1
            assert poll(settings, db).not_modified == 1


def test_boilerplate_matched_by_ignore_rules_raises_no_change(make_settings: MakeSettings) -> None:
    body = ROK_2021.read_text(encoding="utf-8")
    at = body.index("</p>", body.index("<article")) + len("</p>")
    ad = "<p>Subscribe to our newsletter for {} daily briefings on the Korean Peninsula.</p>"
    page = Versions((body[:at] + ad.format("free") + body[at:]).encode())
    with LocalServer() as server:
        server.route("/s.html", page.handler())
        source = {"name": "s", "kind": "page", "url": server.url("/s.html")}
        settings = make_settings([{**source, "ignore": [r"Subscribe to our newsletter[^.]*\."]}])
        with store.open_db(settings.database) as db:
            poll(settings, db)
            page.body = (body[:at] + ad.format("exclusive") + body[at:]).encode()
            summary = poll(settings, db)
            assert summary.new_versions == 1 and summary.changes == 0


def _series_settings(make_settings: MakeSettings, **series: object) -> Settings:
    return make_settings(
        [],
        series=[{"id": "us-rok", "title": "U.S.-ROK leaders' joint statements", **series}],
    )


def test_series_members_added_from_files_are_compared_in_date_order(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = _series_settings(make_settings, rule={"source": "local", "title": "Korea"})
    with store.open_db(settings.database) as db:
        first = add_file(settings, db, ROK_2021, series=settings.series[0])
        assert first.new_document and first.changes == 0
        second = add_file(settings, db, ROK_2022, series=settings.series[0])
        assert second.changes == 1
        [(kind, verdict)] = _changes(db)
        assert kind == "succession"
        comparison = json.loads(db.execute("SELECT comparison FROM changes").fetchone()[0])
        statuses = {c["id"]: c["status"] for c in comparison["concepts"]}
        # 2021: "complete denuclearization of the Korean Peninsula" twice; 2022: once, plus
        # "extended deterrence" grows (see the corpus MANIFEST's phrase table).
        assert statuses["complete-denuclearization"] == "decreased"
        assert statuses["extended-deterrence"] == "increased"
        assert comparison["stance"] == [
            {
                "ladder": "denuclearization",
                "old": "complete-denuclearization",
                "new": "complete-denuclearization",
                "move": "same",
            }
        ]
        assert verdict and comparison["old"]["title"].startswith("U.S.-ROK Leaders")


def test_an_earlier_edition_added_later_is_compared_with_its_predecessor(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = _series_settings(
        make_settings, members=[str(ROK_2021), str(ROK_2022)], baseline=str(ROK_2021)
    )
    with store.open_db(settings.database) as db:
        summary = poll(settings, db)  # file members are read at each poll
        assert summary.new_documents == 2 and not summary.errors
        kinds = [k for k, _ in _changes(db)]
        assert kinds.count("succession") == 1 and "baseline" not in kinds
        assert poll(settings, db).new_versions == 0


def test_changes_command_filters_and_prints_the_json_shape(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = _series_settings(make_settings, rule={"source": "local", "title": "."})
    with store.open_db(settings.database) as db:
        old, new = tmp_path / "old.html", tmp_path / "new.html"
        old.write_bytes(_with_cvid(ROK_2021))
        new.write_bytes(ROK_2021.read_bytes())
        add_file(settings, db, old, series=settings.series[0], title="Statement (draft)")
        add_file(settings, db, new, series=settings.series[0], title="Statement")
        add_file(settings, db, ROK_2022, series=settings.series[0])
    config = tmp_path / "monitor.toml"
    config.write_text(
        (Path(__file__).parent.parent / "config" / "monitor.toml").read_text(encoding="utf-8")
        + '\n[[series]]\nid = "us-rok"\ntitle = "t"\n[series.rule]\nsource = "local"\ntitle = "."\n',
        encoding="utf-8",
    )
    env = {"MONITOR_DB": str(settings.database)}
    out = CliRunner(env=env).invoke(main, ["changes", "--config", str(config), "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    keys = {"id", "kind", "url", "title", "detected_at", "significance", "concepts", "stance"}
    assert len(listed) == 2 and all(set(c) == keys for c in listed)
    assert listed[0]["significance"] >= listed[1]["significance"], "most significant first"
    assert listed[0]["title"] == "Statement"
    cvid = CliRunner(env=env).invoke(
        main, ["changes", "--config", str(config), "--concept", "cvid", "--json"]
    )
    assert [c["title"] for c in json.loads(cvid.stdout)] == ["Statement"]
    later = CliRunner(env=env).invoke(
        main, ["changes", "--config", str(config), "--since", "2999-01-01", "--json"]
    )
    assert json.loads(later.stdout) == []
    plain = CliRunner(env=env).invoke(main, ["changes", "--config", str(config)])
    assert "cvid dropped" in plain.output


def test_add_command_stores_a_member_and_reports(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    config = tmp_path / "monitor.toml"
    shipped = (Path(__file__).parent.parent / "config" / "monitor.toml").read_text(encoding="utf-8")
    config.write_text(
        shipped + '\n[[series]]\nid = "us-rok"\ntitle = "t"\nmembers = []\n[series.rule]\n'
        'source = "local"\ntitle = "."\n',
        encoding="utf-8",
    )
    env = {"MONITOR_DB": str(tmp_path / "m.db")}
    args = ["add", "--config", str(config), "--series", "us-rok"]
    first = CliRunner(env=env).invoke(main, [*args, str(ROK_2021), "--date", "2021-05-21"])
    assert first.exit_code == 0 and "stored in series us-rok" in first.output
    second = CliRunner(env=env).invoke(
        main, [*args, str(ROK_2022), "--title", "Joint Statement 2022", "--date", "2022-05-21"]
    )
    assert "1 changes" in second.output
    again = CliRunner(env=env).invoke(main, [*args, str(ROK_2022), "--date", "2022-05-21"])
    assert "unchanged" in again.output
    wrong = CliRunner(env=env).invoke(main, [*args[:-1], "nope", str(ROK_2021)])
    assert wrong.exit_code == 1 and "no series 'nope'" in wrong.output
