"""Bombs and external entities: XML entity expansion (billion laughs, quadratic blowup) in feeds,
external entities and DTDs (a local file, an http URL on loopback), and compressed bodies that
expand to gigabytes (Content-Encoding gzip and deflate, the two the client accepts).

Each runs `monitor once` in a child process against a real server on loopback and asserts that
the poll ended, nothing expanded was stored, the problem was recorded, and the child's peak
memory stayed near what a poll of a small feed weighs.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.helpers import BASELINE_MB, Ran, count, run_once, stored_text, write_config
from tests.servers import LocalServer, respond, stream

RSS = {"Content-Type": "application/rss+xml"}
CAP = 10_000_000  # fetch.max_bytes for these cases


def _feed(doctype: str, title: str, link: str = "http://127.0.0.1/a") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>Hostile</title>'
        f"<item><title>{title}</title><link>{link}</link>"
        "<description>North Korea complete denuclearization</description></item>"
        "</channel></rss>"
    ).encode()


def _poll_feed(tmp_path: Path, name: str, body: bytes) -> tuple[Path, Ran]:
    """`monitor once` on a config of one feed, `name`, served `body` on loopback."""
    with LocalServer() as server:
        server.route("/feed", respond(200, body, RSS))
        config = write_config(
            tmp_path, [{"name": name, "kind": "feed", "url": server.url("/feed")}]
        )
        return config, run_once(config)


def billion_laughs(levels: int = 10) -> bytes:
    """10 ** levels "lol"s: 30 GB of text from under 2 KB when expanded."""
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    return _feed(f"<!DOCTYPE rss [\n{chr(10).join(entities)}\n]>", f"&lol{levels - 1};")


def quadratic_blowup() -> bytes:
    """One 100 KB entity referenced 20,000 times: 2 GB from a 160 KB feed."""
    doctype = f'<!DOCTYPE rss [<!ENTITY big "{"B" * 100_000}">]>'
    return _feed(doctype, "&big;" * 20_000)


@pytest.mark.parametrize("bomb", [billion_laughs, quadratic_blowup])
def test_an_entity_bomb_in_a_feed_is_not_expanded(tmp_path: Path, bomb: object) -> None:
    assert callable(bomb)
    body: bytes = bomb()
    config, ran = _poll_feed(tmp_path, "bomb", body)
    assert ran.returncode == 0, ran.output
    assert ran.peak_mb < BASELINE_MB, (
        f"peak {ran.peak_mb:.0f} MB ({ran.any_peak_mb:.0f} MB with workers)"
    )
    assert ran.cpu < 30, f"{ran.cpu:.1f} s of CPU"  # an expansion would take minutes
    text = stored_text(config)
    assert "lollollol" not in text and "B" * 1000 not in text, "an entity was expanded"
    # the problem is named: in the poll summary and on the source
    assert "bomb" in ran.errors and "partly unreadable" in ran.errors["bomb"], ran.output
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error LIKE '%unreadable%'") == 1


def test_an_external_entity_to_a_local_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a9c\n", encoding="utf-8")
    passwd = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    feed = _feed(
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        f'<!ENTITY own SYSTEM "{secret.as_uri()}">]>',
        "before &xxe; &own; after",
    )
    config, ran = _poll_feed(tmp_path, "xxe", feed)
    assert ran.returncode == 0, ran.output
    text = stored_text(config)
    assert count(config, "SELECT COUNT(*) FROM documents") == 1, "the entry itself is kept"
    assert "TOP-SECRET" not in text and passwd not in text and "root:" not in text
    assert "TOP-SECRET" not in ran.output and passwd not in ran.output


def test_external_entities_and_dtds_over_http_are_never_fetched(tmp_path: Path) -> None:
    """A general entity, a parameter entity and an external DTD, all pointing at a server on
    loopback; and an XHTML article with the same, followed from the feed."""
    with LocalServer() as server:
        bait = server.url("/bait")
        feed = _feed(
            f'<!DOCTYPE rss SYSTEM "{bait}?dtd" [<!ENTITY xxe SYSTEM "{bait}?general">'
            f'<!ENTITY % remote SYSTEM "{bait}?parameter"> %remote;]>',
            "before &xxe; after",
            link=server.url("/article"),
        )
        article = (
            '<?xml version="1.0"?>\n'
            f'<!DOCTYPE html SYSTEM "{bait}?xhtml-dtd" [<!ENTITY xxe SYSTEM "{bait}?xhtml">]>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>A &xxe;</title></head>'
            "<body><p>North Korea's complete denuclearization &xxe; remains the goal.</p>"
            "</body></html>"
        ).encode()
        server.route("/feed", respond(200, feed, RSS))
        server.route("/article", respond(200, article, {"Content-Type": "application/xhtml+xml"}))
        server.route("/bait", respond(200, b"INJECTED-FROM-BAIT", {"Content-Type": "text/plain"}))
        config = write_config(
            tmp_path,
            [{"name": "xxe", "kind": "feed", "url": server.url("/feed"), "follow": "all"}],
        )
        ran = run_once(config)
        assert ran.returncode == 0, ran.output
        assert server.hits("/article"), "the article was followed"
        assert server.hits("/bait") == [], [r.path for r in server.hits("/bait")]
    assert "INJECTED-FROM-BAIT" not in stored_text(config)


# --- compression bombs -----------------------------------------------------------------------

PIECE = 1 << 24  # 16 MiB of zeros per repeated deflate block
PIECES = 128  # 2 GiB in all


def _bomb(wbits: int, pieces: int = PIECES) -> Iterator[bytes]:
    """A valid gzip (wbits 31) or zlib (wbits 15) stream of 2 GiB of zeros, about 2 MB long.

    A full flush resets the compressor, so every 16 MiB piece compresses to the same bytes: the
    stream is built from two compressions and a checksum, not from compressing 2 GiB."""
    zeros = bytes(PIECE)
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    piece = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15)
    yield first
    for _ in range(pieces - 2):
        yield piece
    yield piece + final.compress(b"") + final.flush()
    size = PIECE * pieces
    if wbits == 31:  # gzip: CRC-32 and length of what it expands to
        crc = 0
        for _ in range(pieces):
            crc = zlib.crc32(zeros, crc)
        yield struct.pack("<II", crc, size & 0xFFFFFFFF)
    else:  # zlib: Adler-32, big-endian
        adler = 1
        for _ in range(pieces):
            adler = zlib.adler32(zeros, adler)
        yield struct.pack(">I", adler)


@pytest.mark.parametrize("wbits", [31, 15])
def test_the_bomb_streams_are_valid(wbits: int) -> None:
    """Built the same way, a 64 MiB bomb expands to exactly that, checksum and all (expanding
    the 2 GiB ones would take longer than the rest of the suite)."""
    decompressor = zlib.decompressobj(wbits)
    total = 0
    for chunk in _bomb(wbits, pieces=4):
        total += len(decompressor.decompress(chunk))
    assert decompressor.eof and not decompressor.unused_data and total == PIECE * 4


@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", 31), ("deflate", 15)])
def test_a_compression_bomb_hits_the_size_cap(tmp_path: Path, encoding: str, wbits: int) -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": encoding}
    with LocalServer() as server:
        server.route("/feed", stream(lambda: _bomb(wbits), headers))
        server.route(
            "/page", stream(lambda: _bomb(wbits), {**headers, "Content-Type": "text/html"})
        )
        config = write_config(
            tmp_path,
            [
                {"name": "bomb-feed", "kind": "feed", "url": server.url("/feed")},
                {"name": "bomb-page", "kind": "page", "url": server.url("/page")},
            ],
            max_bytes=CAP,
            timeout=120,  # inflating 10 MB under load took past 5 s: the cap, not the clock, ends it
        )
        ran = run_once(config)
    assert ran.returncode == 4, ran.output  # every source failed, each with its reason
    assert ran.peak_mb < BASELINE_MB, (
        f"peak {ran.peak_mb:.0f} MB ({ran.any_peak_mb:.0f} MB with workers)"
    )
    for name in ("bomb-feed", "bomb-page"):
        assert f"response larger than {CAP} bytes" in ran.errors[name], ran.output
    assert count(config, "SELECT COUNT(*) FROM documents") == 0
    assert count(config, "SELECT COUNT(*) FROM versions") == 0
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error LIKE '%larger than%'") == 2
    # what was counted against the cap is the expanded size, not the few KB on the wire
    assert count(config, f"SELECT COUNT(*) FROM fetches WHERE bytes > {CAP}") == 2
