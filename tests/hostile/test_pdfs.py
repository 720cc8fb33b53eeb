"""Broken PDFs: truncated, with a garbled cross-reference table, random bytes behind the magic
number, a page tree pointing at itself, and a password-protected one. Each is served as a
watched page; each fails alone with its reason recorded, stores no version, and a sound PDF
polled beside them lands."""

from __future__ import annotations

import random
from pathlib import Path

from tests.hostile.helpers import count, database, poll_here, write_config
from tests.servers import LocalServer, respond

PDFS = Path(__file__).parent.parent / "data" / "pdf"
GOOD = (PDFS / "us-rok-joint-statement-2022.pdf").read_bytes()
PDF = {"Content-Type": "application/pdf"}


def _garbled_xref(body: bytes) -> bytes:
    start = body.rindex(b"startxref")
    return body[:start] + b"startxref\n999999999\n%%EOF\n"


def _self_parent() -> bytes:
    """A tiny hand-written PDF whose page tree lists itself as its own kid."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


BROKEN = {
    "truncated": GOOD[: len(GOOD) // 2],
    "garbled-xref": _garbled_xref(GOOD),
    "random": b"%PDF-1.7\n" + random.Random(9).randbytes(200_000),
    "self-parent": _self_parent(),
    "encrypted": (PDFS / "password-protected.pdf").read_bytes(),
}


def test_broken_and_encrypted_pdfs_fail_alone_with_their_reason(tmp_path: Path) -> None:
    with LocalServer() as server:
        for name, body in BROKEN.items():
            server.route(f"/{name}.pdf", respond(200, body, PDF))
        server.route("/good.pdf", respond(200, GOOD, PDF))
        sources = [
            {"name": name, "kind": "page", "url": server.url(f"/{name}.pdf")}
            for name in [*BROKEN, "good"]
        ]
        config = write_config(tmp_path, sources)
        summary = poll_here(config)
    errors = dict(summary.errors)
    # PDFium rebuilds a cross-reference table it cannot use, so that one is read whole
    assert set(errors) == set(BROKEN) - {"garbled-xref"}, errors
    assert "password-protected" in errors["encrypted"], errors["encrypted"]
    for name in ("truncated", "random"):
        assert "damaged or truncated" in errors[name], errors[name]
    assert "could not be read" in errors["self-parent"], errors["self-parent"]
    for name, error in errors.items():
        assert error.startswith(f"http://{server.host}:{server.port}/{name}.pdf: "), error
    with database(config) as db:
        texts = {
            str(source): str(text)
            for source, text in db.execute(
                "SELECT d.source, v.text FROM versions v JOIN documents d ON d.id = v.document_id"
            )
        }
    assert set(texts) == {"good", "garbled-xref"}, set(texts)
    assert texts["garbled-xref"] == texts["good"], "repaired, not half-read"
    assert count(config, "SELECT COUNT(*) FROM documents") == 2
    failed = "SELECT COUNT(*) FROM sources WHERE last_error IS NOT NULL AND name = ?"
    for name in errors:
        assert count(config, failed, name) == 1, name
