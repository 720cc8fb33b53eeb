"""The cost of checking declared charsets, on documents that declare theirs correctly.

Feeds: `parse_feed` on every bundled feed (UTF-8, ISO-8859-1, EUC-KR), beside `parse_feed` with
the charset check bypassed (the code before it: feedparser given the bytes as fetched).
Pages: the decode-and-parse step of HTML extraction (the check, then `trafilatura.load_html` of
the text) beside `trafilatura.load_html` of the bytes (before: it tries UTF-8, else runs its
detector), on the test and demo pages and the Korean demo pages re-encoded in EUC-KR as their
header and <meta> declare; then the same step for wrongly declared pages, where the detector
runs. Per document, the best CPU time of interleaved rounds; the sums and their ratios.

    python bench/bench_charset.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(work: Callable[[], object]) -> float:
    """CPU seconds of `work` (the machine is shared: wall time measures the neighbours)."""
    start = time.process_time()
    work()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import trafilatura
    from trafilatura.utils import handle_compressed_file

    from monitor.sources import charset, feeds

    feed_files = sorted((ROOT / "tests" / "data" / "feeds").glob("*.xml"))
    feed_files += sorted((ROOT / "tests" / "data" / "feeds").glob("*.rss"))
    feed_files += sorted((ROOT / "monitor" / "demo" / "feeds").glob("*"))
    bodies = [p.read_bytes() for p in feed_files]
    checked = feeds._checked

    def bypass(body: bytes, given: dict[str, str]) -> tuple[bytes, dict[str, str], None]:
        return body, given, None

    def parse(body: bytes, content_type: str, check: bool) -> None:
        feeds._checked = checked if check else bypass  # type: ignore[assignment]
        try:
            feeds.parse_feed(body, {"content-type": content_type}, "http://127.0.0.1/feed")
        finally:
            feeds._checked = checked

    def check_alone(body: bytes, content_type: str, check: bool) -> None:
        if check:
            charset.decode(body, charset.declarations(content_type, body, "xml"))

    def load(body: bytes, content_type: str, check: bool) -> None:
        if not check:
            trafilatura.load_html(body)
            return
        raw = handle_compressed_file(body)
        decoded = charset.decode(raw, charset.declarations(content_type, raw, "html"))
        trafilatura.load_html(decoded.text)

    pages: list[tuple[bytes, str]] = []
    for path in sorted((ROOT / "tests" / "data" / "html").glob("*.html")):
        pages.append((path.read_bytes(), "text/html"))
    demo = sorted((ROOT / "monitor" / "demo" / "pages").rglob("*.html"))
    pages += [(p.read_bytes(), "text/html; charset=utf-8") for p in demo]
    korean = [p.read_text(encoding="utf-8") for p in demo if "/ko/" in p.as_posix()]
    euc_kr = [
        (
            t.replace('charset="utf-8"', 'charset="euc-kr"').encode("cp949"),
            "text/html; charset=EUC-KR",
        )
        for t in korean
    ]
    pages += euc_kr
    wrong = [(body, "text/html; charset=utf-8") for body, _ in euc_kr]
    wrong += [(t.encode(), "text/html; charset=ISO-8859-1") for t in korean]
    feed_docs = [(body, "application/rss+xml") for body in bodies]
    for docs, markup in ((feed_docs, "xml"), (pages, "html")):
        warned = [
            c for b, c in docs if charset.decode(b, charset.declarations(c, b, markup)).warning
        ]
        assert not warned, f"correctly declared documents were warned about: {warned}"

    rounds = args.rounds
    print(f"charset check (CPU time; per document the best of {rounds} interleaved rounds):")
    with_check, without = _paired(feed_docs, parse, rounds)
    print(
        f"    parse_feed, {len(bodies)} feeds declared right: checked {with_check:.1f} ms, "
        f"unchecked {without:.1f} ms; ratio {with_check / without:.3f}"
    )
    alone, _ = _paired(feed_docs, check_alone, rounds)
    print(f"    the check alone on those feeds: {alone:.2f} ms, {alone / without:.2%} of unchecked")
    with_check, without = _paired(pages, load, rounds)
    print(
        f"    decode + load_html, {len(pages)} pages declared right ({len(euc_kr)} EUC-KR): "
        f"checked {with_check:.1f} ms, load_html(bytes) {without:.1f} ms; "
        f"ratio {with_check / without:.3f}"
    )
    with_check, without = _paired(wrong, load, rounds)
    print(
        f"    decode + load_html, {len(wrong)} pages declared wrong (the detector runs): "
        f"checked {with_check:.1f} ms, load_html(bytes) {without:.1f} ms; "
        f"ratio {with_check / without:.3f}"
    )


def _paired(
    docs: list[tuple[bytes, str]], work: Callable[[bytes, str, bool], None], rounds: int
) -> tuple[float, float]:
    """Milliseconds of `work` with the check and without it, summed over the documents, each
    document's time the best of `rounds` (the two interleaved, alternating which goes first)."""
    best = {True: [float("inf")] * len(docs), False: [float("inf")] * len(docs)}
    for round_ in range(rounds):
        for i, (body, content_type) in enumerate(docs):
            for check in (True, False) if round_ % 2 else (False, True):
                spent = _time(lambda: work(body, content_type, check))  # noqa: B023
                best[check][i] = min(best[check][i], spent)
    return sum(best[True]) * 1000, sum(best[False]) * 1000


if __name__ == "__main__":
    main()
