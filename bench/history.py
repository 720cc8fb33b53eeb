"""Queries at scale (issue 11): search, changes, timeline, show and a store, on histories of
10k, 100k and 1M versions built through monitor's own schema.

The history is made of real text: paragraphs of the English news pages and U.S. government
texts in ../shared/corpus (with the Korean of its Korean page and of the Singapore statement,
plus the Korean articles written for monitor's tests, tests/data/korean), shuffled and sampled
with a fixed seed into versions of about 5.5 KB, 70% English and 30% Korean. Time runs forward:
each step is a new document or a revision (one paragraph replaced, added or dropped) of a
recent one, so version ids grow with time as monitor stores them. Mentions are found by
monitor's matcher (once per paragraph, shifted into each version, as one paragraph is one or
more whole sentences); each revision stores a change whose comparison is one of a pool of real
`compare()` results of such revisions (its concepts and ladders are real, not those of that
exact pair). The rows are what save_document writes, loaded in one transaction with the
full-text triggers and the indexes off, while other processes build versions_fts from the same
texts (monitor.store.bulk.FullText); --check N shows that this equals a rebuild.

A history is cached outside the repository ($MONITOR_BENCH_CACHE, else
~/.cache/monitor-bench/), keyed by its size, this generator's version and monitor's migrations.

Usage: python bench/history.py [--sizes 10000,100000,1000000] [--rebuild] [--build-only]
       [--fts-workers 2] [--check 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import store  # noqa: E402
from monitor.analysis.compare import as_json, compare  # noqa: E402
from monitor.analysis.prepare import matcher, prepared  # noqa: E402
from monitor.analysis.text import excerpt, normalise  # noqa: E402
from monitor.config import load_shipped  # noqa: E402
from monitor.models import Arrival, Extracted  # noqa: E402
from monitor.store import bulk  # noqa: E402
from monitor.store.documents import change_index_rows  # noqa: E402
from monitor.store.schema import EXCERPT  # noqa: E402
from monitor.store.timeline import timeline  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
GENERATOR = 4  # bump when the generated history changes
SEED = 11
VERSION_CHARS = 5_500
KOREAN_SHARE = 0.3
NEW_DOCUMENT = 0.4  # the share of steps that add a document (the rest revise one)
START = datetime(2021, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=3)  # time between two stored versions
SOURCES = ("yonhap-en", "whitehouse", "state-dept", "reuters-asia", "yonhap-ko", "korea-herald")

# 20 fixed queries: English and Korean, rare and common words, phrases, prefixes.
QUERIES = (
    "denuclearization",
    "the",
    "president",
    "sanctions",
    "armistice",
    "ballistic",
    '"extended deterrence"',
    '"North Korea"',
    '"Korean Peninsula"',
    "missile launch",
    "sanction*",
    "deter*",
    "Pyongyang",
    "Singapore",
    "CVID",
    "비핵화",
    "한반도",
    '"완전한 비핵화"',
    "북한",
    "트럼프",
)
CONCEPTS = ("cvid", "complete-denuclearization", "denuclearization", "extended-deterrence")


def paragraphs() -> tuple[list[str], list[str]]:
    """(English, Korean) paragraphs of the corpus, white space tidied, in a fixed order."""
    files = sorted(SHARED.glob("docs/**/*.md")) + sorted(SHARED.glob("docs/**/*.txt"))
    files += sorted(SHARED.glob("html/**/*.expected.txt"))
    files += sorted((ROOT / "tests" / "data" / "korean").glob("*.txt"))
    english: list[str] = []
    korean: list[str] = []
    hangul = re.compile("[\uac00-\ud7a3]")
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # YAML front matter
        for block in re.split(r"\n\s*\n", text):
            para = " ".join(block.replace("\\", "").split())
            if len(para) < 60 or para.startswith(("|", "#", "<", "!")):
                continue
            if len(hangul.findall(para)) > len(para) // 4:
                korean.append(para)
            elif not hangul.search(para):
                english.append(para)
    return english, _korean_mixes(korean)


def _korean_mixes(korean: list[str]) -> list[str]:
    """The few Korean paragraphs, and as many again made of their sentences reshuffled."""
    rng = random.Random(SEED)
    sentences = [s for p in korean for s in re.split(r"(?<=[.다])\s+", p) if len(s) > 10]
    mixes = [" ".join(rng.sample(sentences, rng.randint(2, 4))) for _ in range(len(korean) * 4)]
    return korean + mixes


class Pool:
    """Paragraphs with their normalised text and their mention rows (relative to the
    paragraph), found once."""

    def __init__(self, texts: list[str]) -> None:
        find = matcher(load_shipped().lexicon()).find
        self.texts = texts
        # encoded once: the content hash of each version is of these joined
        self.normalised = [normalise(t).text.encode() for t in texts]
        self.words = [len(t.split()) for t in texts]
        self.mentions = [
            [
                (
                    m.concept,
                    m.variant,
                    excerpt(t, (m.sentence_start, m.sentence_end), (m.start, m.end), EXCERPT),
                    m.sentence_start,
                    m.sentence_end,
                    m.start,
                    m.end - m.start,
                    m.reason,
                    int(m.counted),
                    json.dumps([list(f) for f in m.facets]) if m.facets else None,
                )
                for m in find(t)
            ]
            for t in texts
        ]


def compose(ids: list[int], pool: Pool) -> tuple[str, str, list[tuple[Any, ...]], Counter[Any]]:
    """A version's text from paragraph ids, its content hash (of the paragraphs' normalised
    texts joined, which is normalise() of the whole in 99% of versions), its mention rows
    (without version and document) and its mention counts by (concept, reason, counted)."""
    text = "\n\n".join(pool.texts[i] for i in ids)
    digest = hashlib.sha256(b" ".join(pool.normalised[i] for i in ids)).hexdigest()
    rows: list[tuple[Any, ...]] = []
    counts: Counter[Any] = Counter()
    at = 0
    for i in ids:
        for c, v, e, s0, s1, pos, n, reason, counted, facets in pool.mentions[i]:
            rows.append((c, v, e, at + s0, at + s1, at + pos, n, reason, counted, facets))
            counts[c, reason, counted] += 1
        at += len(pool.texts[i]) + 2
    return text, digest, rows, counts


def pick(rng: random.Random, sizes: list[int]) -> list[int]:
    """Paragraph ids (of paragraphs of these sizes) adding up to about VERSION_CHARS."""
    ids: list[int] = []
    total = 0
    while total < VERSION_CHARS:
        ids.append(rng.randrange(len(sizes)))
        total += sizes[ids[-1]] + 2
    return ids


def revise(rng: random.Random, ids: list[int], size: int) -> list[int]:
    """One paragraph replaced, added or dropped."""
    new = list(ids)
    roll = rng.random()
    if roll < 0.6 or len(new) < 3:
        new[rng.randrange(len(new))] = rng.randrange(size)
    elif roll < 0.8:
        new.insert(rng.randrange(len(new) + 1), rng.randrange(size))
    else:
        del new[rng.randrange(len(new))]
    return new


Step = tuple[int, int, bool, list[int], list[int] | None]  # doc, step, korean, ids, old ids


def steps(count: int, english: list[int], korean: list[int]) -> Iterator[Step]:
    """The history, step by step: (document, step, korean, paragraph ids, previous ids or None
    for a new document)."""
    rng = random.Random(SEED)
    documents: list[tuple[bool, list[int]]] = []
    for step in range(count):
        if not documents or rng.random() < NEW_DOCUMENT:
            is_korean = rng.random() < KOREAN_SHARE
            ids = pick(rng, korean if is_korean else english)
            documents.append((is_korean, ids))
            yield len(documents), step, is_korean, ids, None
            continue
        # mostly a recent document, sometimes any
        recent = len(documents) - 1 - min(int(rng.expovariate(1 / 200)), len(documents) - 1)
        doc = recent if rng.random() < 0.95 else rng.randrange(len(documents))
        is_korean, old = documents[doc]
        ids = revise(rng, old, len(korean if is_korean else english))
        documents[doc] = (is_korean, ids)
        yield doc + 1, step, is_korean, ids, old


def comparisons(en: Pool, ko: Pool, count: int = 300) -> list[dict[str, Any]]:
    """Real compare() results of revisions made as the history makes them."""
    settings = load_shipped()
    rng = random.Random(SEED + 1)
    found = []
    for n in range(count):
        pool = ko if n % 3 == 0 else en
        old = pick(rng, [len(t) for t in pool.texts])
        new = revise(rng, old, len(pool.texts))
        a, b = compose(old, pool)[0], compose(new, pool)[0]
        c = compare(a, b, matcher=matcher(settings.lexicon()), ladders=settings.ladders)
        found.append(as_json(c) | {"significance": c.significance})
    # the ones that moved a concept come up as often as the ones that did not
    return found


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


BATCH = 2_000  # versions per executemany and per message to the full-text process


def build(path: Path, size: int, *, workers: int = 2) -> dict[str, float]:
    """Build a history of `size` versions at `path`, versions_fts built meanwhile by `workers`
    other processes (with 0, rebuilt after); returns its times in seconds (wall, and CPU of
    this process and of the full-text processes)."""
    wall, cpu = time.perf_counter(), time.process_time()
    english, korean = paragraphs()
    en, ko = Pool(english), Pool(korean)
    pool = comparisons(en, ko)
    texts = [json.dumps(c, ensure_ascii=False) for c in pool]
    index = [change_index_rows(c) for c in pool]
    times = {"setup_wall": time.perf_counter() - wall, "setup_cpu": time.process_time() - cpu}
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = store.open_db(partial)
    triggers = bulk.begin(db)
    fulltext = bulk.FullText(db, path.with_suffix(".fts"), workers=workers) if workers else None
    rng = random.Random(SEED + 2)
    change_id = 0
    latest: dict[int, int] = {}  # document -> its latest version
    sizes = ([len(t) for t in english], [len(t) for t in korean])
    documents: list[tuple[Any, ...]] = []
    versions: list[tuple[Any, ...]] = []
    mentions: list[tuple[Any, ...]] = []
    counts: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    indexed: list[tuple[int, Any]] = []

    def flush() -> None:
        bulk.add_documents(db, documents)
        bulk.add_versions(db, versions, mentions, counts)
        bulk.add_changes(db, changes, indexed)
        if fulltext is not None:
            fulltext.add([(v[0], v[4], v[5]) for v in versions])
        for batch in (documents, versions, mentions, counts, changes, indexed):
            batch.clear()

    for document_id, step, is_korean, ids, old in steps(size, *sizes):
        source = SOURCES[4 + step % 2] if is_korean else SOURCES[step % 4]
        paras = ko if is_korean else en
        text, digest, rows, found = compose(ids, paras)
        moment = stamp(START + STEP * step)
        version_id = step + 1
        title = text[: text.find(" ", 40)]
        if old is None:
            url = f"https://{source}.example/news/{document_id}"
            # a feed entry is seen hours after it was published (mean 2 h), 10% are undated
            lag = timedelta(hours=min(rng.expovariate(1 / 2), 240))
            published = None if rng.random() < 0.1 else stamp(START + STEP * step - lag)
            documents.append(
                (document_id, url, url, source, "article", title, published, moment, moment)
            )
        words = sum(paras.words[i] for i in ids)
        versions.append(
            (version_id, document_id, moment, digest, title, text, words, "trafilatura")
        )
        mentions.extend((version_id, document_id, *r) for r in rows)
        counts.extend(
            (version_id, document_id, c, reason, counted, n, n)
            for (c, reason, counted), n in found.items()
        )
        if old is not None:
            change_id += 1
            k = rng.randrange(len(pool))
            changes.append(
                (
                    change_id,
                    "revision",
                    document_id,
                    version_id,
                    latest[document_id],
                    moment,
                    pool[k]["significance"],
                    pool[k]["summary"],
                    texts[k],
                )
            )
            indexed.append((change_id, index[k]))
        latest[document_id] = version_id
        if len(versions) == BATCH:
            flush()
        if version_id % 100_000 == 0:
            print(f"  {version_id:,} versions, {time.perf_counter() - wall:.0f} s", flush=True)
    flush()
    times |= {"rows_wall": time.perf_counter() - wall, "rows_cpu": time.process_time() - cpu}
    finished = bulk.finish(db, triggers, fulltext)
    db.close()
    partial.rename(path)
    times |= {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    times["fts_cpu"] = fulltext.cpu if fulltext else times["cpu"] - times["rows_cpu"]
    times["fts_optimize_cpu"] = fulltext.optimize_cpu if fulltext else 0.0
    times["fts_wait"] = fulltext.waited if fulltext else times["wall"] - times["rows_wall"]
    times |= {f"finish_{k}": v for k, v in finished.items()}
    print(
        f"  built {size:,} versions in {times['wall']:.0f} s wall: setup {times['setup_wall']:.0f} s"
        f" (CPU {times['setup_cpu']:.0f} s), rows until {times['rows_wall']:.0f} s (CPU"
        f" {times['rows_cpu'] - times['setup_cpu']:.0f} s), full-text index CPU"
        f" {times['fts_cpu']:.0f} s ({'in parallel, waited' if fulltext else 'rebuilt in'}"
        f" {times['fts_wait']:.0f} s after the rows); CPU {times['cpu']:.0f} s here,"
        f" {bulk.children_cpu():.0f} s in children",
        flush=True,
    )
    if fulltext:
        print(f"  of the full-text CPU, 'optimize' {times['fts_optimize_cpu']:.0f} s", flush=True)
    print(
        "  after the rows, wall s: " + ", ".join(f"{k} {v:.1f}" for k, v in finished.items()),
        flush=True,
    )
    return times


def same(a: Path, b: Path) -> list[str]:
    """How two histories differ (empty: they do not): every table's rows but the full-text
    index's own (its segments depend on how it was built), the schema, the 20 QUERIES
    (search and the bare MATCH with bm25), and both files' integrity checks."""
    found = []
    with store.opened(a, read_only=True) as x, store.opened(b, read_only=True) as y:
        schema = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        if x.execute(schema).fetchall() != y.execute(schema).fetchall():
            found.append("schema")
        for (table,) in x.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'versions_fts%'"
        ).fetchall():
            rows = f"SELECT * FROM [{table}] ORDER BY rowid"
            if table == "_sqlite_migrations":  # and not when they were applied
                rows = f"SELECT migration_set, name FROM [{table}] ORDER BY rowid"
            if x.execute(rows).fetchall() != y.execute(rows).fetchall():
                found.append(table)
        for q in QUERIES:
            if store.search(x, q, limit=50) != store.search(y, q, limit=50):
                found.append(f"search {q}")
            match = (
                "SELECT rowid, round(bm25(versions_fts), 9) FROM versions_fts "
                "WHERE versions_fts MATCH ? ORDER BY rowid"
            )
            if x.execute(match, [q]).fetchall() != y.execute(match, [q]).fetchall():
                found.append(f"match {q}")
    for path in (a, b):
        conn = sqlite3.connect(path)
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            found.append(f"integrity_check {path.name}")
        try:
            conn.execute(
                "INSERT INTO versions_fts (versions_fts, rank) VALUES ('integrity-check', 1)"
            )
        except sqlite3.DatabaseError as e:
            found.append(f"fts5 integrity-check {path.name}: {e}")
        conn.close()
    return found


def check(size: int, workers: int) -> None:
    """Build `size` versions both ways (versions_fts rebuilt after the rows, and built by other
    processes) and show that they hold the same."""
    cache = cache_dir()
    a, b = cache / f"check-{size}-rebuild.db", cache / f"check-{size}-parallel.db"
    for path, n in ((a, 0), (b, workers)):
        print(f"building {size:,} versions in {path}", flush=True)
        path.unlink(missing_ok=True)
        build(path, size, workers=n)
    found = same(a, b)
    print("different: " + ", ".join(found) if found else "the same rows, index and results")
    if found:
        sys.exit(1)
    a.unlink()
    b.unlink()


# wall-clock time, or with --clock cpu this process's CPU time (all the work is in-process: on a
# shared, overloaded machine it shows the work a query does, not the wait for a core)
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """The median time of `fn` in milliseconds."""
    times = []
    for _ in range(repeat):
        t = CLOCK[0]()
        fn()
        times.append((CLOCK[0]() - t) * 1000)
    return statistics.median(times)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(path: Path, size: int) -> dict[str, Any]:
    """The figures for one history."""
    out: dict[str, Any] = {"versions": size, "bytes": path.stat().st_size}
    with store.opened(path, read_only=True) as db:
        per_query = {}
        for q in QUERIES:
            per_query[q] = (
                timed(lambda q=q: store.search(db, q, limit=50)),
                len(store.search(db, q, limit=50)),
            )
        search = [t for t, _ in per_query.values()]
        out["search"] = {
            "p50": p(search, 0.5),
            "p95": p(search, 0.95),
            "max": max(search),
            "each": per_query,
        }
        out["changes"] = {
            c: timed(lambda c=c: store.list_changes(db, None, c, 201)) for c in CONCEPTS
        }
        out["changes_status"] = timed(
            lambda: store.list_changes(db, None, None, 201, status="dropped")
        )
        out["timeline"] = {
            c: timed(lambda c=c: timeline(db, c, by="month", timezone="Asia/Seoul"))
            for c in CONCEPTS
        }
        rng = random.Random(SEED + 3)
        count = db.execute("SELECT MAX(id) FROM documents").fetchone()[0]
        urls = [
            db.execute(
                "SELECT url FROM documents WHERE id = ?", [rng.randint(1, count)]
            ).fetchone()[0]
            for _ in range(20)
        ]
        show = [timed(lambda u=u: store.history(db, u, u)) for u in urls]
        out["show"] = {"p50": p(show, 0.5), "p95": p(show, 0.95)}
    out["store"] = store_time(path)
    return out


def store_time(path: Path, count: int = 20) -> float:
    """The median time to store a new document (save_document of a new URL with its mentions),
    removed again after."""
    english, _ = paragraphs()
    rng = random.Random(SEED + 4)
    lexicon = load_shipped().lexicon()
    times = []
    with store.opened(path) as db:
        for n in range(count):
            text = "\n\n".join(rng.sample(english, 14))
            ready = prepared(Extracted(text, title=f"bench {n}"), matcher(lexicon))
            url = f"https://bench.example/new/{n}"
            t = CLOCK[0]()
            store.save_document(
                db, "bench", Arrival(url=url, link=url, kind="article", processed=ready)
            )
            times.append((CLOCK[0]() - t) * 1000)
        bulk.remove_documents(db, "https://bench.example/new/")
    return statistics.median(times)


def cached(size: int) -> Path:
    """Where the history of `size` versions is cached: keyed by this generator's version and
    monitor's migrations, so a new migration builds it again (bench/web.py reads it too)."""
    key = hashlib.sha256(
        (str(GENERATOR) + ",".join((m.name for m in store.migrations._migrations))).encode()
    ).hexdigest()[:10]
    return cache_dir() / f"history-{size}-{key}.db"


def cache_dir() -> Path:
    base = os.environ.get("MONITOR_BENCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "monitor-bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rebuild", action="store_true", help="build again even when cached")
    parser.add_argument("--json", dest="as_json", action="store_true")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument(
        "--check",
        type=int,
        metavar="N",
        help="build N versions with the full-text index rebuilt and built in parallel, compare",
    )
    parser.add_argument(
        "--fts-workers",
        type=int,
        default=2,
        metavar="N",
        help="processes building the full-text index beside the rows (0: rebuild it after)",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build (or find) the histories, time nothing"
    )
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    print(f"times: {args.clock} clock, median of 3 runs each")
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} is absent (the shared corpus the history is made of)")
        return
    if args.check:
        check(args.check, args.fts_workers)
        return
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = cached(size)
        free = shutil.disk_usage(cache).free
        if args.rebuild or not path.exists():
            # the file (23.5 KB a version at 100k: text, full-text index, mentions, changes)
            # and the full-text index built aside meanwhile (9 KB)
            need = size * 33_000
            if free < need:
                print(
                    f"{size:,}: {free / 1e9:.1f} GB free, about {need / 1e9:.1f} GB needed; skipped"
                )
                continue
            print(f"building {size:,} versions in {path}", flush=True)
            path.unlink(missing_ok=True)
            build(path, size, workers=args.fts_workers)
        if args.build_only:
            continue
        results.append(measure(path, size))
        report(results[-1])
    empty = Path(tempfile.mkdtemp()) / "empty.db"
    store.open_db(empty).close()
    base = store_time(empty)
    print(f"store a new document on an empty history: {base:.1f} ms")
    for r in results:
        print(f"  at {r['versions']:,}: {r['store']:.1f} ms ({r['store'] / base:.2f}x)")
    if args.as_json:
        print(
            json.dumps({"empty_store_ms": base, "results": results}, ensure_ascii=False, indent=1)
        )


def report(r: dict[str, Any]) -> None:
    s = r["search"]
    print(f"{r['versions']:,} versions ({r['bytes'] / 1e9:.2f} GB):")
    print(f"  search p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms, max {s['max']:.1f} ms")
    for q, (t, n) in s["each"].items():
        print(f"    {t:8.1f} ms  {n:3} hits  {q}")
    print("  changes --concept " + ", ".join(f"{c} {t:.1f} ms" for c, t in r["changes"].items()))
    print(f"  changes with a dropped concept {r['changes_status']:.1f} ms")
    print("  timeline " + ", ".join(f"{c} {t:.1f} ms" for c, t in r["timeline"].items()))
    print(f"  show p50 {r['show']['p50']:.2f} ms, p95 {r['show']['p95']:.2f} ms")
    print(f"  store a new document {r['store']:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
