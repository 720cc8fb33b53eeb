"""Loading a large history at once (bench/history.py): the rows save_document would write, in
one transaction with the full-text triggers and the indexes off (made again after), and
versions_fts rebuilt after or built meanwhile in a second process (`FullText`)."""

from __future__ import annotations

import multiprocessing
import resource
import sqlite3
import time
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.store.documents import CHANGE_INDEX
from monitor.store.schema import fill_change_topics, fill_latest_mentions

# (version_id, document_id, concept, variant, excerpt, sentence_start, sentence_end, position,
#  length, reason, counted, facets): a row of mentions, as documents._insert_version writes it
MentionRow = tuple[Any, ...]

# versions_fts's own shadow tables: what an FTS5 table with external content stores
FTS_SHADOWS = ("data", "idx", "docsize", "config")
# FTS5 settings while `FullText` builds (not kept in the file): hashsize is the size of the
# in-memory terms flushed to a new segment (default 1 MB; bigger segments, fewer merges;
# measured fastest of 1, 8, 64 and 256 MB); no incremental merges (automerge 0), as the end
# merges all into one segment ('optimize'): at 100k versions 47 s of CPU in all against 52 s
# with automerge 4 and no optimize, and the same search times. crisismerge: FTS5 merges a
# level's segments as soon as it has this many (default 16) even with automerge 0, so with
# the default every byte of a 1M index (75 segments a process) was merged twice, once by that
# and once by 'optimize'; 1,000 (below FTS5's 2,000 segments) leaves it to 'optimize' alone
FTS_BUILD = {"hashsize": 64 * 1024 * 1024, "automerge": 0, "crisismerge": 1000}


def begin(db: Database) -> list[str]:
    """Drop the triggers that keep versions_fts in step and the indexes (their statements
    are returned, to run again with `finish`: an index made once after the load is the same
    index, made faster) and open one transaction without a journal: a crash while loading
    leaves a file to delete, not a history."""
    found = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
        "(type = 'index' OR (type = 'trigger' AND tbl_name = 'versions'))"
    ).fetchall()
    for kind, name, _ in found:
        db.execute(f"DROP {kind.upper()} [{name}]")
    db.execute("PRAGMA journal_mode=off")
    db.execute("PRAGMA synchronous=off")
    db.execute("PRAGMA cache_size=-1000000")
    db.conn.execute("BEGIN")
    return [sql for _, _, sql in found]


def add_documents(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    """(id, url, link, source, kind, title, published_at, first_seen_at, last_checked_at)."""
    db.conn.executemany(
        "INSERT INTO documents (id, url, link, source, kind, title, published_at, "
        "first_seen_at, last_checked_at) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )


def add_versions(
    db: Database,
    rows: Iterable[Sequence[Any]],
    mentions: Iterable[MentionRow],
    counts: Iterable[Sequence[Any]],
) -> None:
    """Versions (id, document_id, fetched_at, content_hash, title, text, words, method), their
    mention rows and their mention_counts rows (version_id, document_id, concept, reason,
    counted, mentions, stored)."""
    db.conn.executemany(
        "INSERT INTO versions (id, document_id, fetched_at, content_hash, title, text, words, "
        "method) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    db.conn.executemany(
        "INSERT INTO mentions (version_id, document_id, concept, variant, excerpt, "
        "sentence_start, sentence_end, position, length, reason, counted, facets) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        mentions,
    )
    db.conn.executemany(
        "INSERT INTO mention_counts (version_id, document_id, concept, reason, counted, "
        "mentions, stored) VALUES (?,?,?,?,?,?,?)",
        counts,
    )


def add_changes(
    db: Database,
    rows: Iterable[Sequence[Any]],
    index: Sequence[tuple[int, tuple[list[tuple[Any, ...]], ...]]],
) -> None:
    """Changes (id, kind, document_id, version_id, old_version_id, detected_at, significance,
    verdict, comparison JSON) and their index rows: (change_id,
    documents.change_index_rows of its comparison) for each."""
    db.conn.executemany(
        "INSERT INTO changes (id, kind, document_id, version_id, old_version_id, detected_at, "
        "significance, verdict, comparison) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    for n, sql in enumerate(CHANGE_INDEX):
        db.conn.executemany(sql, [(i, *r) for i, rows_of in index for r in rows_of[n]])


class FullText:
    """versions_fts built in a second process while the rows load: it is sent (rowid, title,
    text) and indexes them into the same FTS5 table in a scratch database (an external-content
    table indexes what it is given without reading versions), whose shadow tables `finish`
    copies in place of the empty ones. Same index as a rebuild, in other segments."""

    def __init__(
        self,
        db: Database,
        scratch: Path,
        settings: dict[str, int] | None = None,
        *,
        optimize: bool = True,
        workers: int = 1,
    ) -> None:
        (create,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'versions_fts'"
        ).fetchone()
        self.scratch = [scratch.with_name(f"{scratch.name}.{n}") for n in range(workers)]
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes = []
        for path in self.scratch:
            path.unlink(missing_ok=True)
            pipe, child = context.Pipe()
            process = context.Process(
                target=_index,
                args=(str(path), create, child, FTS_BUILD | (settings or {}), optimize),
            )
            process.start()
            child.close()
            self._pipes.append(pipe)
            self._processes.append(process)
        self._sent = 0
        self.cpu = 0.0  # the index processes' CPU seconds, once closed
        self.optimize_cpu = 0.0  # of which their 'optimize'
        self.waited = 0.0  # seconds `close` waited for them

    def add(self, rows: list[tuple[int, str | None, str]]) -> None:
        """Index these versions (rowid, title, text); each batch goes to the next process."""
        # As UTF-8 bytes, which the index process binds as they are (FTS5 reads a blob's bytes
        # as its text: the same tokens), rather than decoding each text into a str there only
        # for sqlite3 to encode it again (about 4% of that process's CPU)
        batch = [(i, None if t is None else t.encode(), x.encode()) for i, t, x in rows]
        self._pipes[self._sent % len(self._pipes)].send(batch)
        self._sent += 1

    def close(self) -> None:
        """Wait for the index to be complete."""
        began = time.perf_counter()
        for pipe in self._pipes:
            pipe.send(None)
        used = [pipe.recv() for pipe in self._pipes]
        self.cpu = sum(total for total, _ in used)
        self.optimize_cpu = sum(merged for _, merged in used)
        for process in self._processes:
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"building versions_fts failed (exit {process.exitcode})")
        self.waited = time.perf_counter() - began


def _index(
    path: str, create: str, pipe: Connection, settings: dict[str, int], optimize: bool
) -> None:
    """The second process of `FullText`: index, and with `optimize` merge the index into
    one segment."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=off", "synchronous=off", "cache_size=-1000000"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(create)
    for key, value in settings.items():
        conn.execute("INSERT INTO versions_fts (versions_fts, rank) VALUES (?, ?)", [key, value])
    conn.execute("BEGIN")
    while (rows := pipe.recv()) is not None:
        conn.executemany("INSERT INTO versions_fts (rowid, title, text) VALUES (?,?,?)", rows)
    conn.execute("COMMIT")
    indexed = time.process_time()
    if optimize:
        conn.execute("INSERT INTO versions_fts (versions_fts) VALUES ('optimize')")
    conn.executemany("DELETE FROM versions_fts_config WHERE k = ?", [[k] for k in settings])
    conn.close()
    pipe.send((time.process_time(), time.process_time() - indexed))
    pipe.close()


def finish(
    db: Database, triggers: Sequence[str], fulltext: FullText | None = None
) -> dict[str, float]:
    """Commit, make the indexes again, rewrite change_topics and latest_mentions from the rows
    loaded, fill versions_fts (from `fulltext`, else a rebuild from versions), put the triggers
    back and return to WAL, as open_db leaves a database. With `fulltext`, close `db` after:
    this connection may hold the empty index's state. Returns the wall seconds of each step."""
    times: dict[str, float] = {}
    began = time.perf_counter()

    def step(name: str) -> None:
        nonlocal began
        times[name] = time.perf_counter() - began
        began = time.perf_counter()

    db.conn.execute("COMMIT")
    step("commit")
    indexes = [sql for sql in triggers if not sql.lstrip().upper().startswith("CREATE TRIGGER")]
    for sql in indexes:
        db.execute(sql)
    step("indexes")
    with db.conn:  # the tables that follow from the rows loaded, read through their indexes
        fill_change_topics(db)
        fill_latest_mentions(db)
    step("aggregates")
    if fulltext is None:
        db.execute("INSERT INTO versions_fts (versions_fts) VALUES ('rebuild')")
        step("rebuild")
    else:
        fulltext.close()
        step("wait")
        _merge_indexes(db, fulltext.scratch)
        step("copy")
    for sql in triggers:
        if sql not in indexes:
            db.execute(sql)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=normal")
    step("triggers")
    return times


def _merge_indexes(db: Database, scratch: Sequence[Path]) -> None:
    """Put the segments of the versions_fts built in each scratch file (of disjoint rowids) in
    place of db's empty ones: each segment renumbered (its pages' rowids carry its id above bit
    37, as FTS5_SEGMENT_ROWID), the structure record (fts5_index.c, fts5StructureDecode) with
    each level's segments of all files, and the averages (documents, tokens per column)
    summed."""
    levels: list[list[tuple[int, int, int]]] = []
    averages: list[int] = []
    writes = 0
    with db.conn:
        for shadow in FTS_SHADOWS:
            db.execute(f"DELETE FROM main.versions_fts_{shadow}")
        for n, path in enumerate(scratch):
            db.execute("ATTACH ? AS scratch", [str(path)])
            structure = _record(db, 10)
            at = 4  # a cookie, then nLevel, nSegment, nWriteCounter
            count, at = _varint(structure, at)
            _, at = _varint(structure, at)
            written, at = _varint(structure, at)
            writes += written
            for level in range(count):
                merging, at = _varint(structure, at)
                segments, at = _varint(structure, at)
                if merging:
                    raise RuntimeError("versions_fts was built with an incremental merge open")
                if level == len(levels):
                    levels.append([])
                for _ in range(segments):
                    old, at = _varint(structure, at)
                    first, at = _varint(structure, at)
                    last, at = _varint(structure, at)
                    new = sum(len(x) for x in levels) + 1
                    levels[level].append((new, first, last))
                    db.execute(
                        "INSERT INTO main.versions_fts_data SELECT id + (? << 37), block "
                        "FROM scratch.versions_fts_data WHERE id >= (? << 37) AND id < (? << 37)",
                        [new - old, old, old + 1],
                    )
                    db.execute(
                        "INSERT INTO main.versions_fts_idx SELECT ?, term, pgno "
                        "FROM scratch.versions_fts_idx WHERE segid = ?",
                        [new, old],
                    )
            totals: list[int] = []
            at = 0
            record = _record(db, 1)
            while at < len(record):
                value, at = _varint(record, at)
                totals.append(value)
            averages = [a + b for a, b in zip(totals, averages or [0] * len(totals), strict=True)]
            db.execute(
                "INSERT INTO main.versions_fts_docsize SELECT * FROM scratch.versions_fts_docsize"
            )
            if n == 0:
                db.execute(
                    "INSERT INTO main.versions_fts_config SELECT * FROM scratch.versions_fts_config"
                )
            db.execute("DETACH scratch")
        merged = bytearray(4)  # cookie 0
        for value in (len(levels), sum(len(x) for x in levels), writes):
            merged += _put_varint(value)
        for placed in levels:
            merged += _put_varint(0) + _put_varint(len(placed))
            for segment in placed:
                for value in segment:
                    merged += _put_varint(value)
        db.execute(
            "INSERT INTO main.versions_fts_data (id, block) VALUES (1, ?), (10, ?)",
            [b"".join(_put_varint(a) for a in averages), bytes(merged)],
        )
    for path in scratch:
        path.unlink()


def _record(db: Database, rowid: int) -> bytes:
    """A special row of the scratch index's %_data: 1 the averages, 10 the structure."""
    row = db.execute("SELECT block FROM scratch.versions_fts_data WHERE id = ?", [rowid]).fetchone()
    return bytes(row[0])


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at `at` (7 bits a byte, the high bit for more; a ninth
    byte gives 8): its value and where the next one starts."""
    value = 0
    for n in range(8):
        byte = data[at + n]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + n + 1
    return (value << 8) | data[at + 8], at + 9


def _put_varint(value: int) -> bytes:
    """SQLite's variable-length integer for a value below 2**56."""
    if value >= 1 << 56:
        raise ValueError(value)
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(groups))


def children_cpu() -> float:
    """CPU seconds of this process's finished children (a `FullText` once closed)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def remove_documents(db: Database, prefix: str) -> None:
    """Delete the documents whose URL starts with `prefix`, with their versions, mentions and
    changes (the benchmark's stored samples)."""
    documents = "SELECT id FROM documents WHERE url >= ? AND url < ?"
    bounds = [prefix, prefix + "\uffff"]
    with db.conn:
        changes = f"SELECT id FROM changes WHERE document_id IN ({documents})"
        for table in ("change_concepts", "change_qualifiers", "change_moves", "change_topics"):
            db.execute(f"DELETE FROM {table} WHERE change_id IN ({changes})", bounds)
        for table in ("changes", "mentions", "mention_counts", "latest_mentions", "versions"):
            db.execute(f"DELETE FROM {table} WHERE document_id IN ({documents})", bounds)
        db.execute(f"DELETE FROM documents WHERE id IN ({documents})", bounds)
