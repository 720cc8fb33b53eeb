"""Wording changes in the pipeline: revisions of one URL, flips, series, ignore rules, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlite_utils import Database

from monitor import store
from monitor.cli import main
from monitor.config import Series, Settings
from monitor.ingest import add_file
from monitor.pipeline import poll
from tests.conftest import MakeSettings
from tests.documents import CVID, PAGES, ROK_2021, ROK_2022, cvid_page
from tests.servers import LocalServer, Versions


def _changes(db: Database) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT kind, verdict FROM changes ORDER BY id")]


def test_dropped_cvid_is_a_revision_and_a_flip_back_is_not(make_settings: MakeSettings) -> None:
    with_cvid, without = cvid_page(ROK_2021), ROK_2021.read_bytes()
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
        old.write_bytes(cvid_page(ROK_2021))
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
    keys |= {"superseded_at", "superseded_by"}
    assert len(listed) == 2 and all(set(c) == keys for c in listed)
    assert listed[0]["significance"] >= listed[1]["significance"], "most significant first"
    assert listed[0]["title"] == "Statement"
    cvid = CliRunner(env=env).invoke(
        main, ["changes", "--config", str(config), "--concept", "cvid", "--json"]
    )
    assert [c["title"] for c in json.loads(cvid.stdout)] == ["Statement"]

    def titles(*options: str) -> list[str]:
        args = ["changes", "--config", str(config), "--json", *options]
        return [c["title"] for c in json.loads(CliRunner(env=env).invoke(main, args).stdout)]

    assert titles("--status", "dropped") == ["Statement"]  # the draft's CVID is gone
    assert titles("--concept", "cvid", "--status", "dropped") == ["Statement"]
    assert titles("--concept", "cvid", "--status", "introduced") == []
    refused = CliRunner(env=env).invoke(main, ["changes", "--config", str(config), "--status", "x"])
    assert refused.exit_code == 2 and "dropped" in refused.output
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


DOCS = Path(__file__).parent / "data" / "docs" / "whitehouse-briefings" / "statements-releases"
MD_2021 = DOCS / "2021-05" / "2021-05-21-u-s-rok-leaders-joint-statement.md"
MD_2022 = DOCS / "2022-05" / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.md"
DECLARATION_2023 = PAGES / "2023-04-26-washington-declaration-2.html"


def _pairs(db: Database) -> list[tuple[str, str, str]]:
    """(kind, older title, newer title) of every stored change, in the order stored."""
    return [
        (kind, old, new)
        for kind, old, new in db.execute(
            "SELECT c.kind, ov.title, nv.title FROM changes c "
            "JOIN versions ov ON ov.id = c.old_version_id JOIN versions nv ON nv.id = c.version_id "
            "ORDER BY c.id"
        )
    ]


def _when(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


# The editions of the series tests: each file, its title and its publication day.
EDITIONS = {
    "2021": (MD_2021, "2021-05-21"),
    "2022": (MD_2022, "2022-05-21"),
    "2023": (DECLARATION_2023, "2023-04-26"),
}


def _add(settings: Settings, db: Database, series: Series, *titles: str) -> None:
    """Add the editions of these titles to the series, in this order."""
    for title in titles:
        path, day = EDITIONS[title]
        add_file(settings, db, path, series=series, title=title, published=_when(day))


def _pairs_of(settings: Settings, *titles: str) -> list[tuple[str, str, str]]:
    """The stored changes (as _pairs gives them) once these editions are added to the series."""
    with store.open_db(settings.database) as db:
        _add(settings, db, settings.series[0], *titles)
        return _pairs(db)


def test_a_middle_edition_arriving_last_is_placed_between_its_neighbours(
    make_settings: MakeSettings,
) -> None:
    settings = _series_settings(make_settings, rule={"source": "local", "title": "."})
    series = settings.series[0]
    with store.open_db(settings.database) as db:
        _add(settings, db, series, "2021", "2023", "2022")
        assert _pairs(db) == [
            ("succession", "2021", "2023"),
            ("succession", "2021", "2022"),
            ("succession", "2022", "2023"),
        ]
        # 2021 -> 2023 is kept, superseded by 2022 -> 2023, and no longer listed.
        assert [r[0] for r in db.execute("SELECT superseded_by FROM changes ORDER BY id")] == [
            3,
            None,
            None,
        ]
        assert sorted(c.id for c in store.list_changes(db)) == [2, 3]


def test_the_members_list_orders_the_series_whatever_the_dates(make_settings: MakeSettings) -> None:
    # Listed 2022 before 2021 on purpose: the list is the order, so 2021 follows 2022.
    settings = _series_settings(make_settings, members=[str(MD_2022), str(MD_2021)])
    assert _pairs_of(settings, "2021", "2022") == [("succession", "2022", "2021")]


def test_a_baseline_is_compared_only_with_later_members(make_settings: MakeSettings) -> None:
    settings = _series_settings(
        make_settings, rule={"source": "local", "title": "."}, baseline=str(MD_2021)
    )
    assert _pairs_of(settings, "2021", "2022", "2023") == [
        ("succession", "2021", "2022"),
        ("succession", "2022", "2023"),
        ("baseline", "2021", "2023"),
    ]
    # Seeding an older edition after the baseline never compares the baseline backwards.
    late = _series_settings(
        make_settings, rule={"source": "local", "title": "."}, baseline=str(MD_2022)
    )
    with store.open_db(late.database.with_name("late.db")) as db:
        _add(late, db, late.series[0], "2022", "2021")
        assert _pairs(db) == [("succession", "2021", "2022")]


def test_a_feed_entry_is_not_a_series_member_until_its_article_arrives(
    make_settings: MakeSettings,
) -> None:
    from tests.servers import respond, sequence

    feed = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>
    <description>d</description>
    <item><title>U.S.-ROK Leaders’ Joint Statement 2021</title><link>/2021.html</link>
    <description>The leaders met.</description><pubDate>Fri, 21 May 2021 20:00:00 -0400</pubDate></item>
    <item><title>U.S.-ROK Leaders’ Joint Statement 2022</title><link>/2022.html</link>
    <description>The leaders met again.</description><pubDate>Sat, 21 May 2022 20:00:00 -0400</pubDate></item>
    </channel></rss>""".encode()
    with LocalServer() as server:
        server.route("/feed", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        server.route(
            "/2021.html", respond(200, ROK_2021.read_bytes(), {"Content-Type": "text/html"})
        )
        server.route(
            "/2022.html",
            sequence(
                respond(503, b"busy"),
                respond(200, ROK_2022.read_bytes(), {"Content-Type": "text/html"}),
            ),
        )
        source = {"name": "wh", "kind": "feed", "url": server.url("/feed"), "follow": "all"}
        settings = make_settings(
            [source],
            series=[
                {"id": "us-rok", "title": "t", "rule": {"source": "wh", "title": "Joint Statement"}}
            ],
            retries=0,
        )
        with store.open_db(settings.database) as db:
            first = poll(settings, db)  # 2022's article fails: only its feed blurb is stored
            assert first.changes == 0
            second = poll(settings, db)  # now the article: it takes its place after 2021
            assert second.changes == 1
            [(kind, _, _)] = _pairs(db)
            assert kind == "succession"
            verdict = db.execute("SELECT verdict FROM changes").fetchone()[0]
            assert "none (downgrade)" not in verdict


def test_boilerplate_that_rotates_does_not_defeat_flip_detection(
    make_settings: MakeSettings,
) -> None:
    body = ROK_2021.read_text(encoding="utf-8")
    at = body.index("</p>", body.index("<article")) + len("</p>")

    def version(cvid: bool, ad: int) -> bytes:
        extra = CVID if cvid else ""
        return (
            body[:at] + f"<p>Advertisement: course number {ad} starts soon.</p>" + extra + body[at:]
        ).encode()

    page = Versions(version(True, 1))
    with LocalServer() as server:
        server.route("/s.html", page.handler())
        source = {
            "name": "s",
            "kind": "page",
            "url": server.url("/s.html"),
            "ignore": [r"Advertisement: [^.]*\."],
        }
        settings = make_settings([source])
        with store.open_db(settings.database) as db:
            counts = []
            for n, cvid in enumerate([True, False, True, False, True], start=1):
                page.body = version(cvid, n)
                counts.append(poll(settings, db).changes)
            assert counts == [0, 1, 0, 0, 0]


def test_a_series_configured_later_places_documents_already_stored(
    make_settings: MakeSettings,
) -> None:
    plain = make_settings([])
    with store.open_db(plain.database) as db:
        add_file(plain, db, MD_2021, title="2021", published=_when("2021-05-21"))
        add_file(plain, db, MD_2022, title="2022", published=_when("2022-05-21"))
        assert _pairs(db) == []
        later = _series_settings(make_settings, members=[str(MD_2021), str(MD_2022)])
        summary = poll(later, db)  # file members are read at each poll
        assert summary.changes == 1 and _pairs(db) == [("succession", "2021", "2022")]
        assert poll(later, db).changes == 0


def test_a_document_belongs_to_one_series(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    shipped = (Path(__file__).parent.parent / "config" / "monitor.toml").read_text(encoding="utf-8")
    config.write_text(
        shipped
        + '\n[[series]]\nid = "a"\ntitle = "A"\n[series.rule]\nsource = "local"\ntitle = "."\n'
        + '\n[[series]]\nid = "b"\ntitle = "B"\n[series.rule]\nsource = "local"\ntitle = "."\n',
        encoding="utf-8",
    )
    env = {"MONITOR_DB": str(tmp_path / "m.db")}
    first = CliRunner(env=env).invoke(
        main, ["add", "--config", str(config), "--series", "a", str(MD_2021)]
    )
    assert first.exit_code == 0, first.output
    assert "no --date" in first.output
    second = CliRunner(env=env).invoke(
        main, ["add", "--config", str(config), "--series", "b", str(MD_2021)]
    )
    assert second.exit_code == 1 and "already a member of series 'a'" in second.output


def test_compare_refuses_a_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "program"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    result = CliRunner().invoke(main, ["compare", str(MD_2021), str(binary)])
    assert result.exit_code == 1 and "looks like a binary file" in result.output


def test_a_series_in_two_languages_compares_each_edition_with_its_own_language(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    # The Singapore statement in Korean and in English, then an edited English text: the
    # translation is never diffed word for word; the English edit is compared with the English.
    from tests.documents import SINGAPORE, english_half, korean_half

    korean, english = tmp_path / "ko.txt", tmp_path / "en.txt"
    korean.write_text(korean_half(SINGAPORE), encoding="utf-8")
    english.write_text(english_half(SINGAPORE), encoding="utf-8")
    edited = tmp_path / "en-2.txt"
    edited.write_text(
        english_half(SINGAPORE).replace("complete denuclearization", "denuclearization"),
        encoding="utf-8",
    )
    settings = _series_settings(make_settings, rule={"source": "local", "title": "."})
    series = settings.series[0]
    with store.open_db(settings.database) as db:
        add_file(settings, db, korean, series=series, published=datetime(2018, 6, 12, tzinfo=UTC))
        translated = add_file(
            settings, db, english, series=series, published=datetime(2018, 6, 13, tzinfo=UTC)
        )
        assert translated.changes == 0  # no word-for-word comparison with the Korean text
        later = add_file(
            settings, db, edited, series=series, published=datetime(2018, 6, 14, tzinfo=UTC)
        )
        assert later.changes == 1
        [(kind, verdict)] = _changes(db)
    assert kind == "succession"
    assert verdict.startswith("complete-denuclearization dropped")
