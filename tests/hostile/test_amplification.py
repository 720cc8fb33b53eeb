"""Amplification: one document must not cost storage, memory or time out of proportion to its size.

Each case serves a hostile document on loopback and runs monitor on it as a child process, whose
peak memory (os.wait4) and database are measured. bench/bench_hostile.py prints the same figures.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.conftest import config_head, shipped_concepts
from tests.hostile.helpers import AMPLIFY, HITS
from tests.servers import LocalServer, respond

ROOT = Path(__file__).resolve().parent.parent.parent
DEADLINE = 120.0  # generous: what is asserted is that it ends, not how fast


def _config(tmp_path: Path, url: str, kind: str = "page", extra: str = "") -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
{config_head(tmp_path / "m.db")}{extra}
[[sources]]
name = "hostile"
kind = "{kind}"
url = "{url}"
{'follow = "all"' if kind == "feed" else ""}
{shipped_concepts()}""",
        encoding="utf-8",
    )
    return path


def _monitor(tmp_path: Path, *args: str) -> tuple[int, str, str, float]:
    """Run `monitor ARGS` to its end (failing the test at the deadline): its exit status,
    stdout, stderr and peak RSS in MB (its own, from wait4, not that of other children)."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "monitor", *args], cwd=ROOT, stdout=stdout, stderr=stderr
        )
    ends = time.monotonic() + DEADLINE
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > ends:
            child.kill()
            os.wait4(child.pid, 0)
            raise AssertionError(f"monitor {' '.join(args)} still running after {DEADLINE} s")
        time.sleep(0.02)  # polling the child's exit, not waiting out a fixed time
    code = os.waitstatus_to_exitcode(status)
    return code, out.read_text(), err.read_text(), usage.ru_maxrss / 1024


def _poll_once(
    tmp_path: Path, server: LocalServer, path: str, body: bytes, content_type: str
) -> tuple[Path, str, str, float]:
    """`monitor once`, which must succeed, on a config of one page: `body`, served at `path`.
    The config, and the child's stdout, stderr and peak RSS in MB."""
    server.route(path, respond(200, body, {"Content-Type": content_type}))
    config = _config(tmp_path, server.url(path))
    code, out, err, peak = _monitor(tmp_path, "once", "--config", str(config))
    assert code == 0, err
    return config, out, err, peak


def test_a_sentence_repeating_a_concept_is_stored_once_capped_and_the_cap_recorded(
    tmp_path: Path,
) -> None:
    with LocalServer() as server:
        config, out, err, peak = _poll_once(tmp_path, server, "/amplify.html", AMPLIFY, "text/html")
        shown = _monitor(tmp_path, "show", server.url("/amplify.html"), "--config", str(config))
    size = sum(p.stat().st_size for p in tmp_path.glob("m.db*"))
    assert size < 5_000_000, f"database of {size:,} bytes from one 60 KB page"
    assert peak < 400, f"peak RSS {peak:.0f} MB"
    with sqlite3.connect(tmp_path / "m.db") as conn:
        limits = conn.execute("SELECT limits FROM versions").fetchone()[0]
        stored = conn.execute("SELECT COUNT(*), MAX(length(excerpt)) FROM mentions").fetchone()
        found = conn.execute(
            "SELECT SUM(mentions), SUM(stored) FROM mention_counts WHERE concept = 'cvid'"
        ).fetchone()
        widest = conn.execute("SELECT MAX(sentence_end - sentence_start) FROM mentions").fetchone()
    # The counts stay true; what is stored is bounded; the cap is on the version, in the log
    # and in `monitor show`.
    assert found == (12_000, 1_000)
    assert stored[0] <= 1_000 * 2 and stored[1] <= 302
    assert widest[0] <= 2_000
    assert "cvid: 12,000 mentions, 1,000 stored" in limits and "over 2,000 characters" in limits
    assert "stored within limits" in err and "12,000 mentions" in err
    assert "12000 mentions" in out
    assert shown[0] == 0 and "cvid 12000" in shown[1]
    assert "(stored within limits: cvid: 12,000 mentions" in shown[1]


def test_a_search_over_105000_hits_in_one_document_finishes_with_a_bounded_answer(
    tmp_path: Path,
) -> None:
    with LocalServer() as server:
        config, *_ = _poll_once(tmp_path, server, "/hits.txt", HITS, "text/plain")
    # It ends (within DEADLINE, or _monitor fails the test) with one hit and a short snippet.
    code, out, err, peak = _monitor(tmp_path, "search", "summit", "--config", str(config))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and "[summit]" in lines[2], out
    assert len(lines[2]) < 400
    assert peak < 400, f"peak RSS {peak:.0f} MB"


def test_an_article_alert_about_the_sentence_stays_small(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    # The alert for a new article quoted the sentence once per mention in its webhook body:
    # 721 MB, 62 s and 1.4 GB of memory to build.
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with LocalServer() as server:
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{server.url('/')}</link><description>d</description><item>"
            f"<title>A statement</title><link>{server.url('/amplify.html')}</link>"
            f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}</pubDate>"
            "</item></channel></rss>"
        ).encode()
        server.route("/feed.xml", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        server.route("/amplify.html", respond(200, AMPLIFY, {"Content-Type": "text/html"}))
        hook = (
            f'[[webhooks]]\nname = "desk"\nurl = "{httpserver.url_for("/hook")}"\n'
            '[[alerts.rules]]\nname = "article"\nevent = "article"\npriority = "high"\n'
            'deliver = "now"\nchannels = ["desk"]\n'
        )
        config = _config(tmp_path, server.url("/feed.xml"), "feed", hook)
        code, out, err, peak = _monitor(tmp_path, "once", "--config", str(config))
    assert code == 0, err
    assert "alerts: 0 sent" not in out, out + err  # the alert and the digest
    [(request, _)] = [(r, a) for r, a in httpserver.log if b'"event": "article"' in r.get_data()]
    body = json.loads(request.get_data())
    assert len(request.get_data()) < 200_000
    assert body["counts"] == {"cvid": 12_000} and len(body["mentions"]) == 100
    assert all(len(m["sentence"]) <= 600 for m in body["mentions"])
    assert peak < 400, f"peak RSS {peak:.0f} MB"
