"""Fetched bodies: each stored once, keyed by its sha256, zstd-compressed.

A document's first body is compressed alone; a later body of the same document is compressed
with that first body as its zstd dictionary (raw content), so a page that changed one paragraph
costs about the paragraph, not the page (BENCHMARKS.md (g): against zstd alone, a dictionary
trained per host saved 5 per cent, the document's own first body 69 per cent). The chain is one
step deep: a body's base is always a body compressed alone.
"""

from __future__ import annotations

import zstandard
from sqlite_utils import Database

from monitor.body import LEVEL, body_hash, pack

__all__ = ["LEVEL", "body_hash", "pack", "save_body"]


def _dictionary(base: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def save_body(db: Database, digest: str, packed: bytes, size: int, document_id: int | None) -> None:
    """Store a body (given as `pack` made it) unless it is stored already; a later body of a
    document is compressed again against the document's first body."""
    if db.execute("SELECT 1 FROM bodies WHERE hash = ?", [digest]).fetchone():
        return
    base = _first_body(db, document_id) if document_id is not None else None
    if base is not None:
        base_body = load_body(db, base)
        if base_body:
            body = zstandard.ZstdDecompressor().decompress(packed)
            compressor = zstandard.ZstdCompressor(level=LEVEL, dict_data=_dictionary(base_body))
            delta = compressor.compress(body)
            if len(delta) < len(packed):
                packed = delta
            else:
                base = None
        else:
            base = None
    db.execute(
        "INSERT INTO bodies (hash, bytes, base, data) VALUES (?, ?, ?, ?)",
        [digest, size, base, packed],
    )


def _first_body(db: Database, document_id: int) -> str | None:
    """The base for a document's later bodies: its first stored body, or that body's own base."""
    row = db.execute(
        "SELECT b.hash, b.base FROM versions v JOIN bodies b ON b.hash = v.body_hash "
        "WHERE v.document_id = ? ORDER BY v.id LIMIT 1",
        [document_id],
    ).fetchone()
    if row is None:
        return None
    return str(row[1] or row[0])


def load_body(db: Database, digest: str) -> bytes | None:
    """A stored body, decompressed."""
    row = db.execute("SELECT data, base FROM bodies WHERE hash = ?", [digest]).fetchone()
    if row is None:
        return None
    data, base = row
    if base is None:
        return zstandard.ZstdDecompressor().decompress(data)
    base_body = load_body(db, base)
    assert base_body is not None  # REFERENCES bodies(hash)
    return zstandard.ZstdDecompressor(dict_data=_dictionary(base_body)).decompress(data)
