"""A per-document extraction deadline: a stuck worker is killed, the poll goes on.

The adversarial run saw a 1.4 KB PDF with a page-tree bomb hold an extraction worker for 144 s.
`tests/data/pdf/page-tree-bomb.pdf` is such a file (see its PROVENANCE.md): one /Page object
referenced a million times through shared /Pages nodes; PDFium needs minutes to read it. Here a
feed on loopback lists it between an ordinary article page and an ordinary PDF, with a page of
200,000 unclosed paragraphs (1.6 MB of `<p>word `) that holds trafilatura for about a minute
(about 0.2 ms a paragraph: a page at the 10 MB fetch cap takes minutes), and `monitor once` runs
with a deadline of a few seconds.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from monitor.config import ExtractSettings
from monitor.pipeline import Shared, poll
from monitor.store import open_db
from tests.conftest import DEMO, MakeSettings
from tests.processes import wait_for
from tests.servers import LocalServer, respond

PDFS = Path(__file__).parent.parent / "data" / "pdf"
BOMB = (PDFS / "page-tree-bomb.pdf").read_bytes()
STATEMENT = (PDFS / "us-rok-joint-statement-2022.pdf").read_bytes()
PAGE = (
    DEMO / "pages" / "whitehouse" / "2021-05-21-u-s-rok-leaders-joint-statement.html"
).read_bytes()
FLOOD = b"<html><head><title>Flood</title></head><body>" + b"<p>word " * 200_000 + b"</body></html>"
DEADLINE = 12  # seconds; the good documents take under one (a few on a machine busy with other
# work), the bomb and the flood minutes


def _feed(server: LocalServer) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{server.url(path)}</link>"
        f"<guid>{server.url(path)}</guid><pubDate>Sat, 21 May 2022 0{n}:00:00 GMT</pubDate></item>"
        for n, (title, path) in enumerate(
            [
                ("U.S.-ROK Leaders' Joint Statement", "/statement.html"),
                ("Annex (PDF)", "/bomb.pdf"),
                ("Remarks", "/flood.html"),
                ("Joint Statement (PDF)", "/statement.pdf"),
            ]
        )
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Hostile</title><link>{server.url('/')}</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


def _serve(server: LocalServer) -> None:
    server.route("/feed.xml", respond(200, _feed(server), {"Content-Type": "application/rss+xml"}))
    server.route("/statement.html", respond(200, PAGE, {"Content-Type": "text/html"}))
    server.route("/bomb.pdf", respond(200, BOMB, {"Content-Type": "application/pdf"}))
    server.route("/flood.html", respond(200, FLOOD, {"Content-Type": "text/html"}))
    server.route("/statement.pdf", respond(200, STATEMENT, {"Content-Type": "application/pdf"}))


def _config(tmp_path: Path, server: LocalServer) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'[storage]\ndatabase = "{tmp_path / "m.db"}"\n'
        "[fetch]\ndelay = 0\nretries = 0\n"
        f"[extract]\nworkers = 2\ndeadline = {DEADLINE}\n"
        f'[[sources]]\nname = "hostile"\nkind = "feed"\nurl = "{server.url("/feed.xml")}"\n'
        'follow = "all"\n',
        encoding="utf-8",
    )
    return path


def _children(pid: int) -> set[int]:
    """The live (not zombie) processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name), parent=pid):
            found.add(int(entry.name))
    return found


def _alive(pid: int, parent: int | None = None) -> bool:
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and (parent is None or int(fields[1]) == parent)


def _once(config: Path) -> tuple[subprocess.CompletedProcess[str], set[int]]:
    """`monitor once` in a child process, and every process it started while it ran."""
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "once", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.05):
            seen.update(_workers(process.pid))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        # generous: the bomb alone would take minutes without the deadline
        stdout, stderr = process.communicate(timeout=120)
    finally:
        finished.set()
        watcher.join()
        process.kill()
    assert process.returncode is not None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), seen


def _documents(database: Path) -> dict[str, tuple[str, int, str | None]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT url, kind, failures, last_error FROM documents").fetchall()
    return {url.rsplit("/", 1)[1]: (kind, failures, error) for url, kind, failures, error in rows}


def test_a_pdf_bomb_and_a_slow_page_are_ended_at_the_deadline_and_the_others_stored(
    tmp_path: Path,
) -> None:
    with LocalServer() as server:
        _serve(server)
        config = _config(tmp_path, server)
        result, workers = _once(config)
        assert result.returncode == 0, result.stderr  # a failed document is not a failed poll
        assert f"extraction took longer than {DEADLINE} s" in result.stdout + result.stderr
        documents = _documents(tmp_path / "m.db")
        assert documents["statement.html"][:2] == ("article", 0)
        assert documents["statement.pdf"][:2] == ("article", 0)
        kind, failures, error = documents["bomb.pdf"]
        assert (kind, failures) == ("entry", 1)  # the feed entry's own text is kept
        assert error is not None and f"extraction took longer than {DEADLINE} s" in error
        assert "raise [extract].deadline" in error
        kind, failures, error = documents["flood.html"]
        assert (kind, failures) == ("entry", 1)
        assert error is not None and f"extraction took longer than {DEADLINE} s" in error
        with sqlite3.connect(tmp_path / "m.db") as db:
            texts = db.execute("SELECT text FROM versions").fetchall()
        assert any("complete denuclearization" in t.lower() for (t,) in texts)
        # every worker, the killed one and its replacement too, is gone
        assert workers, "no extraction worker was seen"
        assert not any(_alive(pid) for pid in workers), "a worker outlived monitor once"

        # The next poll tries the bomb again (a failed article is retried at the next polls,
        # up to MAX_ARTICLE_FAILURES times in all) and again ends it at the deadline.
        again, workers = _once(config)
        assert again.returncode == 0, again.stderr
        documents = _documents(tmp_path / "m.db")
        assert documents["bomb.pdf"][:2] == ("entry", 2)
        assert documents["flood.html"][:2] == ("entry", 2)
        assert [r.path for r in server.requests].count("/statement.pdf") == 1
        assert not any(_alive(pid) for pid in workers), [_cmdline(p) for p in workers]


def test_service_jobs_sharing_one_pool_go_on_after_its_worker_is_killed(
    make_settings: MakeSettings,
) -> None:
    """One worker shared by two poll jobs (as `monitor run` shares it): the job whose document
    is the bomb records it failed; the other job's document, queued behind it, is extracted by
    the worker started in its place."""
    with LocalServer() as server:
        _serve(server)
        base = make_settings(
            [
                {"name": "bomb", "kind": "page", "url": server.url("/bomb.pdf")},
                {"name": "statement", "kind": "page", "url": server.url("/statement.pdf")},
            ]
        )
        settings = base.model_copy(
            update={"extract": ExtractSettings(workers=1, deadline=DEADLINE)}
        )
        shared = Shared.start(settings)
        errors: dict[str, list[tuple[str, str]]] = {}
        try:

            def job(index: int) -> None:
                with open_db(settings.database) as db:
                    errors[settings.sources[index].name] = poll(
                        settings, db, [settings.sources[index]], shared=shared
                    ).errors

            jobs = [threading.Thread(target=job, args=(i,)) for i in range(2)]
            jobs[0].start()
            # the bomb first, so that the statement (very likely) waits for the worker it holds
            assert wait_for(lambda: any(r.path == "/bomb.pdf" for r in server.requests))
            jobs[1].start()
            for thread in jobs:
                thread.join(timeout=120)
            assert not any(thread.is_alive() for thread in jobs)
            # the killed worker is gone and one was started in its place: one, not two
            assert wait_for(lambda: len(_workers(os.getpid())) == 1)
            workers = _workers(os.getpid())
        finally:
            shared.close()
        assert not any(_alive(pid) for pid in workers), "a worker outlived the shared pool"
        assert errors["statement"] == []
        [(name, error)] = errors["bomb"]
        assert name == "bomb" and f"extraction took longer than {DEADLINE} s" in error
        with open_db(settings.database) as db:
            kinds = {row[0] for row in db.execute("SELECT kind FROM documents").fetchall()}
            assert kinds == {"page"}
            assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 1


def _workers(parent: int) -> set[int]:
    """The extraction workers of process `parent` (multiprocessing's resource tracker, which
    ends on its own once its parent is gone, left out)."""
    found = set()
    for pid in _children(parent):
        try:
            if b"resource_tracker" not in (Path("/proc") / str(pid) / "cmdline").read_bytes():
                found.add(pid)
        except OSError:
            continue
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _never_starts(parent: int) -> None:
    time.sleep(3600)  # a worker that starts but never takes a document


def test_a_poll_whose_workers_never_start_fails_its_documents_and_ends(
    make_settings: MakeSettings,
) -> None:
    """The deadline counts from when a worker takes a document; workers that never take one
    (an interpreter this user cannot run, a process limit) must not hold the poll for ever."""
    from monitor.sources.fetch import Fetcher
    from monitor.workers import Workers

    with LocalServer() as server:
        _serve(server)
        settings = make_settings(
            [{"name": "statement", "kind": "page", "url": server.url("/statement.pdf")}]
        )
        shared = Shared(
            Fetcher(settings.fetch.for_fetcher()),
            Workers(1, DEADLINE, startup=2, initializer=_never_starts),
        )
        try:
            with open_db(settings.database) as db:
                summary = poll(settings, db, shared=shared)
        finally:
            shared.close()
    [(name, error)] = summary.errors
    assert name == "statement" and "no extraction worker started within 2 s" in error
    with open_db(settings.database) as db:
        assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0
        assert (
            "no extraction worker started"
            in db.execute("SELECT last_error FROM sources").fetchone()[0]
        )
