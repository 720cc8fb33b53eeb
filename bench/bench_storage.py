"""Bytes per version (issue 11): raw bodies and the whole database file, before and after.

200 watched pages, each a real page with a sentence of its own in its longest paragraph, 10 per
loopback address, are polled 5 times by `monitor once`; before each poll after the first, that
sentence changes, so each poll stores a new version of each page whose longest paragraph is in
the extracted text (most of them; the count is printed). Then, from the stored
bodies, in the same run:
  before: today's scheme until issue 11, each version's body zlib level 1 (`versions.raw`),
          and the whole file rebuilt that way (the same rows, `raw` filled, no `bodies`);
  zstd level 3, each body alone; zstd level 3 with a dictionary trained per host (16 KB, on
          that host's bodies: an upper bound, it has seen what it compresses);
  after:  what monitor stores (`bodies`): zstd level 3, a document's later bodies against its
          first body as a raw-content dictionary.
Both files are VACUUMed before they are measured.

Usage: python bench/bench_storage.py [--pages 200] [--polls 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import zlib
from collections import defaultdict
from contextlib import AbstractContextManager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from bench.bench_idle import PER_HOST, config_for, page_sources  # noqa: E402
from bench.bench_ingest import real_pages, run_once  # noqa: E402
from bench.local_sites import Quiet, number, serve_hosts  # noqa: E402


def page_body(pages: list[bytes], number: int, poll: int) -> bytes:
    """A real page with a sentence of its own, in its longest paragraph, that changes at each
    poll."""
    own = (
        f" Notice {number}, revision {poll}: the ministry restated its position on talks "
        f"with the North for the {poll + 1}th time this year (page {number})."
    ).encode()
    page = pages[number % len(pages)]
    longest = max(
        re.finditer(rb"<p[ >].*?</p>", page, re.DOTALL), key=lambda m: len(m.group()), default=None
    )
    at = len(page) // 2 if longest is None else longest.end() - 4
    return page[:at] + own + page[at:]


def serve(
    hosts: int, pages: list[bytes], state: dict[str, int]
) -> AbstractContextManager[list[str]]:
    class Handler(Quiet):
        def do_GET(self) -> None:
            body = page_body(pages, number(self.path), state["poll"])
            self.send(200, body, "text/html; charset=utf-8")

    return serve_hosts(hosts, lambda n, host: Handler)


def vacuumed_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.close()
    return path.stat().st_size


def old_layout(path: Path, bodies: dict[int, bytes]) -> None:
    """Rebuild a database as the zlib scheme stored it: each version's body in versions.raw."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=off")
    conn.execute("ALTER TABLE versions ADD COLUMN raw BLOB")
    conn.executemany(
        "UPDATE versions SET raw = ?, body_hash = NULL WHERE id = ?",
        [(zlib.compress(body, 1), vid) for vid, body in bodies.items()],
    )
    conn.execute("DROP INDEX versions_body")
    conn.execute("ALTER TABLE versions DROP COLUMN body_hash")
    conn.execute("DROP TABLE bodies")
    conn.commit()
    conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--polls", type=int, default=5)
    args = parser.parse_args(argv)
    from monitor import store

    pages = real_pages()
    state = {"poll": 0}
    hosts = -(-args.pages // PER_HOST)
    with tempfile.TemporaryDirectory() as tmp, serve(hosts, pages, state) as bases:
        path = config_for(Path(tmp), page_sources(bases, args.pages))
        per_poll = []
        for poll in range(args.polls):
            state["poll"] = poll
            summary = run_once(path).summary
            assert not summary["errors"], summary["errors"]
            per_poll.append(str(summary["new_versions"]))
        database = Path(tmp) / "bench.db"
        with store.opened(database) as db:
            rows = db.execute(
                "SELECT v.id, d.link FROM versions v JOIN documents d ON d.id = v.document_id "
                "WHERE v.body_hash IS NOT NULL"
            ).fetchall()
            bodies = {vid: store.raw_body(db, vid) or b"" for vid, _ in rows}
            host_of = {vid: link.split("/")[2] for vid, link in rows}
            stored = db.execute("SELECT SUM(length(data)), COUNT(*) FROM bodies").fetchone()
            versions = db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
        count = len(bodies)
        raw_total = sum(len(b) for b in bodies.values())
        zlib_total = sum(len(zlib.compress(b, 1)) for b in bodies.values())
        plain = zstandard.ZstdCompressor(level=3)
        zstd_total = sum(len(plain.compress(b)) for b in bodies.values())
        by_host: dict[str, list[bytes]] = defaultdict(list)
        for vid, body in bodies.items():
            by_host[host_of[vid]].append(body)
        trained_total, untrained = 0, 0
        for samples in by_host.values():
            try:
                dictionary = zstandard.train_dictionary(16384, samples)
            except zstandard.ZstdError:  # too few samples on this host: compressed alone
                untrained += 1
                trained_total += sum(len(plain.compress(s)) for s in samples)
                continue
            with_dict = zstandard.ZstdCompressor(level=3, dict_data=dictionary)
            trained_total += len(dictionary.as_bytes()) + sum(
                len(with_dict.compress(s)) for s in samples
            )
        after_file = vacuumed_size(database)
        before_path = Path(tmp) / "before.db"
        shutil.copy(database, before_path)
        old_layout(before_path, bodies)
        before_file = vacuumed_size(before_path)
    print(
        f"storage: {args.pages} pages x {args.polls} polls, one sentence changed per poll: "
        f"{versions} versions, {count} with a body of {raw_total / count:,.0f} B on average; "
        f"{os.cpu_count()} cores"
    )
    print(f"    new versions per poll: {', '.join(per_poll)}")
    print(f"    raw bodies, before (zlib level 1 per version): {zlib_total / count:,.0f} B/version")
    print(f"      zstd level 3, each body alone: {zstd_total / count:,.0f} B/version")
    print(
        f"      zstd level 3, a 16 KB dictionary trained per host (dictionaries counted): "
        f"{trained_total / count:,.0f} B/version"
        + (f" ({untrained} of {len(by_host)} hosts too few samples to train)" if untrained else "")
    )
    print(
        f"    raw bodies, after (zstd 3, later bodies against the document's first; "
        f"{stored[1]} bodies): {stored[0] / count:,.0f} B/version = "
        f"{100 * stored[0] / zlib_total:.1f}% of before"
    )
    print(
        f"    whole file: before {before_file / versions:,.0f} B/version, after "
        f"{after_file / versions:,.0f} B/version = {100 * after_file / before_file:.1f}% of before"
    )


if __name__ == "__main__":
    main()
