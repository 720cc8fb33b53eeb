"""The ingest path's shortcuts keep what is stored: one normalisation per document for matching
and the hash, the lexicon sent pickled, batched transactions, and the page's date search only
for articles whose feed entry has no date."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor import config
from monitor.analysis import prepare as worker
from monitor.analysis import text
from monitor.analysis.extract import extract
from monitor.analysis.prepare import matcher, prepared, process
from monitor.analysis.text import content_hash
from monitor.pipeline import poll
from monitor.store import open_db
from tests.conftest import DEMO, SHIPPED, MakeSettings
from tests.servers import LocalServer

HTML = Path(__file__).parent / "data" / "html"
PAGES = sorted((DEMO / "pages").rglob("*.html")) + sorted(HTML.glob("*.html"))[:8]
LEXICON = config.load(SHIPPED).lexicon()
HTML_TYPE = "text/html; charset=utf-8"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem[:40])
def test_hash_and_mentions_are_those_of_the_old_way(page: Path) -> None:
    """The content hash and the mentions made from one normalisation equal those made, as
    before, by normalising for the hash and again for matching."""
    body = page.read_bytes()
    url = f"https://example.org/{page.name}"
    extracted = extract(body, url, HTML_TYPE, metadata=False)
    old_hash = content_hash(extracted.text)
    old_mentions = tuple(matcher(LEXICON).find(extracted.text))
    for processed in (
        prepared(extracted, matcher(LEXICON)),
        process(body, url, HTML_TYPE, LEXICON, False),
        process(body, url, HTML_TYPE, pickle.dumps(LEXICON), False),
    ):
        assert processed.normalised_hash == old_hash
        assert processed.mentions == old_mentions
        assert processed.extracted == extracted


def test_a_worker_imports_neither_the_store_nor_the_http_client() -> None:
    """What the pool sends a worker (worker.process, pickled by reference) loads in a
    fresh interpreter without the SQLite layer, the HTTP client, the configuration models or
    the alerts: a cheaper start for every spawned worker."""
    heavy = ("monitor.store", "sqlite_utils", "httpx2", "pydantic", "monitor.alerts")
    code = (
        "import pickle, sys\n"
        f"pickle.loads({pickle.dumps(worker.process)!r})\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_hashes_of_known_texts_do_not_move() -> None:
    """SHA-256 of the normalised view, as stored by every earlier release."""
    assert content_hash("Complete,  verifiable\n and irreversible — “CVID”") == (
        "fc566116559faee9db3f3d2d47b53cbbde40b1e130ce483ef69d85b627c77f66"
    )


def _rss(base: str, dated: bool) -> bytes:
    date = "<pubDate>Mon, 03 Mar 2025 09:00:00 +0900</pubDate>" if dated else ""
    items = "".join(
        f"<item><title>Story {n}</title><link>{base}/a/{n}.html</link>{date}</item>"
        for n in range(12)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{base}/</link>'
        f"<description>d</description>{items}</channel></rss>"
    ).encode()


def test_a_batched_poll_stores_every_article_with_its_version_and_dates_the_undated(
    make_settings: MakeSettings,
) -> None:
    """Twelve articles of one feed are stored whole (each document with its version and
    mentions); entries without a date take the page's, dated entries keep the feed's."""
    page = (DEMO / "pages" / "ko" / "20250306-cvid-principle.html").read_bytes()
    page_date = extract(page, "https://example.org/x", HTML_TYPE).published
    assert page_date is not None

    with LocalServer() as server:

        def article(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
            request.send_response(200)
            request.send_header("Content-Type", HTML_TYPE)
            request.send_header("Content-Length", str(len(page)))
            request.end_headers()
            request.wfile.write(page)

        base = server.url("").rstrip("/")
        server.route("/dated.rss", lambda r, s: _send(r, _rss(base + "/dated", True)))
        server.route("/undated.rss", lambda r, s: _send(r, _rss(base + "/undated", False)))
        for kind in ("dated", "undated"):
            for n in range(12):
                server.route(f"/{kind}/a/{n}.html", article)
        settings = make_settings(
            [
                {"name": kind, "kind": "feed", "url": server.url(f"/{kind}.rss"), "follow": "all"}
                for kind in ("dated", "undated")
            ]
        )
        db = open_db(Path(settings.storage.database))
        summary = poll(settings, db)
    assert summary.errors == []
    assert summary.new_versions == 24
    rows = db.execute(
        "SELECT d.source, d.published_at, COUNT(v.id), "
        "(SELECT COUNT(*) FROM mentions m WHERE m.document_id = d.id) "
        "FROM documents d LEFT JOIN versions v ON v.document_id = d.id GROUP BY d.id"
    ).fetchall()
    assert len(rows) == 24
    assert all(versions == 1 and mentions > 0 for _, _, versions, mentions in rows)
    dated = {published for source, published, *_ in rows if source == "dated"}
    undated = {published for source, published, *_ in rows if source == "undated"}
    assert dated == {"2025-03-03T00:00:00+00:00"}
    assert undated == {page_date.isoformat(timespec="seconds")}


def _send(request: BaseHTTPRequestHandler, body: bytes) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


_ZW = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# The two patterns as they were before their look-behinds moved after the first character.
_OLD_BOUNDARY = re.compile(
    rf"(?<![.!?。！？])(?P<stop>[.!?。！？]++[{text._CLOSERS}]*+)(?=\s|\Z)"
    r"|(?<=[a-z]{2})(?P<glued>\.)(?=[A-Z][a-z])"
    r"|(?P<blank>\n[^\S\n]*\n\s*)"
    r"|\n(?=[^\S\n]*(?:[-*•▪●◦‣○□■◇◆※]|#{1,6})[^\S\n])"
)
_OLD_BREAKS = re.compile(
    rf"(?P<hyphen>(?<=[^\s\-{_ZW}])[-\u2010\u2011\u00ad][^\S\n]*\n[\s{_ZW}]*(?=[^\s{_ZW}]))"
    rf"|[\s{_ZW}]{{2,}}|[{_ZW}]"
)
_TRICKY = (
    "a-\nb  self-\n\ndefense x\u00ad\ny -\nz --\nq \u200b\u200b w-\u2011\nk -\n\nnext\n- item",
    '...Start. U.S. forces?! "Quoted." programs.Both\n\n  lower\n○ item\n# Head. End.',
    ".\n-\n",
)


def test_sentence_and_break_patterns_match_as_before() -> None:
    texts = [*_TRICKY, *(p.read_text(encoding="utf-8") for p in HTML.glob("*.txt"))]
    for t in texts:
        for old, new in ((_OLD_BOUNDARY, text._BOUNDARY), (_OLD_BREAKS, text._BREAKS)):
            assert [(m.span(), m.lastgroup) for m in old.finditer(t)] == [
                (m.span(), m.lastgroup) for m in new.finditer(t)
            ]
