"""Amplification and the 105,000-hit search: database size, wall time and peak memory.

Serves two hostile documents on loopback and runs monitor on them as child processes:
  (a) a page whose one 60 KB sentence repeats "CVID" 12,000 times, polled with `monitor once`:
      the database's size, the poll's wall time and peak RSS;
  (b) a plain-text page holding the word "summit" 105,000 times, polled, then
      `monitor search summit`: the search's wall time and peak RSS (given up after --deadline);
  (c) the alert for a new article made of (a)'s sentence: the time and peak RSS of building it
      (monitor.render.messages.article_message) and the size of its webhook body.
Peak RSS is the child's own (os.wait4), the extraction workers it waited for included.

--tree runs another checkout (e.g. a scratch copy of main: `git clone /work/main /tmp/m`) with
this interpreter; its dependencies must be those of this venv.

Usage: python bench/bench_hostile.py [--tree PATH] [--deadline 300]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import shipped_concepts  # noqa: E402
from tests.hostile.helpers import AMPLIFY, HITS  # noqa: E402
from tests.servers import LocalServer, respond  # noqa: E402


def config(directory: Path, server: LocalServer, page: str) -> Path:
    concepts = shipped_concepts()
    path = directory / "monitor.toml"
    path.write_text(
        f"""
[storage]
database = "{directory / "m.db"}"
[fetch]
delay = 0
retries = 0
[extract]
workers = 1
[[sources]]
name = "hostile"
kind = "page"
url = "{server.url(page)}"
{concepts}""",
        encoding="utf-8",
    )
    return path


ALERT = """
import json
from datetime import UTC, datetime
from monitor.render.messages import article_message
from monitor.models import ArticleEvent, Mention
sentence = "North Korea must accept " + "CVID " * 12_000 + "now."
mentions = tuple(Mention("cvid", "CVID", sentence, 24 + 5 * k, 28 + 5 * k) for k in range(12_000))
event = ArticleEvent("http://x/a", "A statement", "s", None, datetime.now(UTC), "0" * 64, mentions)
message = article_message(event, dedup_key="k", timezone="UTC", labels={"cvid": "CVID"})
print(len(json.dumps(message.payload, ensure_ascii=False).encode()))
"""


def run(
    tree: Path, args: list[str], deadline: float, out: int | None = subprocess.DEVNULL
) -> tuple[float, float, int | None]:
    """Wall seconds, peak RSS (MB) and exit status of `python ARGS` run from `tree` (None:
    ended at the deadline)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, *args],
        cwd=tree,
        env=env,
        stdout=out,
        stderr=subprocess.DEVNULL,
    )
    status: int | None = None
    while True:
        pid, code, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(code)
            break
        if time.monotonic() - started > deadline:
            child.kill()
            _, code, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.05)
    return time.monotonic() - started, usage.ru_maxrss / 1024, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds per command")
    options = parser.parse_args()
    tree = options.tree.resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    print(f"tree: {tree}")
    try:
        with LocalServer() as server:
            server.route("/amplify.html", respond(200, AMPLIFY, {"Content-Type": "text/html"}))
            server.route("/hits.txt", respond(200, HITS, {"Content-Type": "text/plain"}))
            for label, page in (
                ("(a) amplification page", "/amplify.html"),
                ("(b) 105k-hit page", "/hits.txt"),
            ):
                directory = work / page.strip("/")
                directory.mkdir()
                path = config(directory, server, page)
                wall, rss, status = run(
                    tree, ["-m", "monitor", "once", "--config", str(path)], options.deadline
                )
                size = sum(p.stat().st_size for p in directory.glob("m.db*")) / 1e6
                ended = f"exit {status}" if status is not None else "killed at the deadline"
                print(
                    f"{label}, monitor once: {wall:.1f} s, peak RSS {rss:.0f} MB, "
                    f"database {size:.1f} MB (with its WAL), {ended}"
                )
            wall, rss, status = run(
                tree, ["-m", "monitor", "search", "summit", "--config", str(path)], options.deadline
            )
            ended = f"exit {status}" if status is not None else "killed at the deadline"
            print(f"(b) monitor search summit: {wall:.1f} s, peak RSS {rss:.0f} MB, {ended}")
        body = work / "body"
        with body.open("w") as out:
            wall, rss, status = run(tree, ["-c", ALERT], options.deadline, out.fileno())
        size = body.read_text().strip() or "?"
        ended = f"exit {status}" if status is not None else "killed at the deadline"
        print(f"(c) article alert: {wall:.1f} s, peak RSS {rss:.0f} MB, body {size} bytes, {ended}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
