"""A fetched body as monitor keeps it: named by its sha256, compressed alone with zstd.

Apart from monitor/store/bodies.py (which stores bodies, a later one against its document's first)
so that the extraction workers, which pack and hash each body off the storing thread, import
neither the store nor the SQLite layer.
"""

from __future__ import annotations

import hashlib

import zstandard

LEVEL = 3  # zstd's default: faster than zlib level 1, and smaller (BENCHMARKS.md (g))


def body_hash(body: bytes) -> str:
    """The sha256 of a body as fetched (bodies.hash, versions.body_hash, http_cache.body_hash)."""
    return hashlib.sha256(body).hexdigest()


def pack(body: bytes) -> bytes:
    """A body compressed alone (in the extraction worker, off the storing thread)."""
    return zstandard.ZstdCompressor(level=LEVEL).compress(body)
