"""Redirects and header injection: loops (within one origin and across two), long chains,
redirects to other schemes (file:, ftp:, gopher:, data:, javascript:), and CR/LF smuggled into
URLs from feeds and into Location headers. Every linked page is served from the feed's own
address (127.0.0.1), so the cases hold whatever the rules for other addresses become."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.helpers import count, poll_here, stored_text, write_config
from tests.servers import LocalServer, redirect, respond

HTML = {"Content-Type": "text/html"}
PAGE = b"<html><body><p>North Korea's complete denuclearization remains the goal.</p></body></html>"
MAX = 3  # fetch.max_redirects here


def test_loops_and_long_chains_end_at_the_redirect_limit(tmp_path: Path) -> None:
    with LocalServer() as server, LocalServer() as other:
        server.route("/loop", redirect("/loop", 307))
        server.route("/ping", redirect(other.url("/pong"), 302))  # across two origins
        other.route("/pong", redirect(server.url("/ping"), 302))
        for hop in range(100):
            server.route(f"/chain/{hop}", redirect(f"/chain/{hop + 1}", 301))
        server.route("/chain/100", respond(200, PAGE, HTML))
        config = write_config(
            tmp_path,
            [
                {"name": "loop", "kind": "page", "url": server.url("/loop")},
                {"name": "ping-pong", "kind": "page", "url": server.url("/ping")},
                {"name": "chain", "kind": "page", "url": server.url("/chain/0")},
            ],
            max_redirects=MAX,
        )
        summary = poll_here(config)
        loop = len(server.hits("/loop"))
        chain = sum(1 for r in server.requests if r.path.startswith("/chain/"))
        ping_pong = len(server.hits("/ping")) + len(other.hits("/pong"))
    errors = dict(summary.errors)
    assert set(errors) == {"loop", "ping-pong", "chain"}, errors
    for error in errors.values():
        assert f"more than {MAX} redirects" in error and "final URL" in error, error
    # the limit bounds the requests: the first plus MAX redirects followed, no retry
    assert loop == MAX + 1 and chain == MAX + 1 and ping_pong == MAX + 1, (loop, chain, ping_pong)
    assert count(config, "SELECT COUNT(*) FROM documents") == 0
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error LIKE '%redirects%'") == 3
    # one attempt follows the redirects within its origin; a hop to another origin is its own
    hops = "SELECT COUNT(*) FROM fetches WHERE source = ?"
    assert [count(config, hops, name) for name in ("loop", "chain", "ping-pong")] == [1, 1, MAX + 1]


NON_HTTP = {
    "file": "file:///etc/passwd",
    "ftp": "ftp://127.0.0.1:{port}/pub/secret",
    "gopher": "gopher://127.0.0.1:{port}/_GET%20/gophered%20HTTP/1.0%0d%0a%0d%0a",
    "data": "data:text/html,<p>North Korea's complete denuclearization injected</p>",
    "javascript": "javascript:alert(document.cookie)",
}


def test_redirects_to_other_schemes_are_refused_as_pages_and_as_articles(tmp_path: Path) -> None:
    passwd = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
    with LocalServer() as server:
        items = []
        sources = []
        for scheme, target in NON_HTTP.items():
            location = target.format(port=server.port)
            server.route(f"/to-{scheme}", redirect(location))
            server.route(f"/article-{scheme}", redirect(location, 301))
            sources.append(
                {"name": f"to-{scheme}", "kind": "page", "url": server.url(f"/to-{scheme}")}
            )
            items.append(
                f"<item><title>Article {scheme}</title>"
                f"<link>{server.url(f'/article-{scheme}')}</link></item>"
            )
        feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Schemes</title>'
            + "".join(items)
            + "</channel></rss>"
        ).encode()
        server.route("/feed", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        sources.append(
            {"name": "articles", "kind": "feed", "url": server.url("/feed"), "follow": "all"}
        )
        config = write_config(tmp_path, sources)
        summary = poll_here(config)
        paths = [r.path for r in server.requests]
    assert not [p for p in paths if p.startswith(("/gophered", "/pub"))], paths
    by_source: dict[str, list[str]] = {}
    for name, error in summary.errors:
        by_source.setdefault(name, []).append(error)
    for scheme in NON_HTTP:
        [error] = by_source[f"to-{scheme}"]
        assert "not an http(s) URL" in error, error
    assert len(by_source["articles"]) == len(NON_HTTP)
    assert all("not an http(s) URL" in e for e in by_source["articles"])
    # the pages stored nothing; the articles kept only their entries, each with the refusal
    assert count(config, "SELECT COUNT(*) FROM documents WHERE kind != 'entry'") == 0
    refused = "SELECT COUNT(*) FROM documents WHERE last_error LIKE '%not an http(s) URL%'"
    assert count(config, refused) == len(NON_HTTP)
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error LIKE '%http(s)%'") == 5
    text = stored_text(config)
    assert passwd not in text and "injected</p>" not in text.replace("data:text/html,", "")


def test_cr_lf_in_feed_links_and_location_headers_injects_no_header(tmp_path: Path) -> None:
    """A link from a feed, and Location headers, carrying CR/LF (raw and percent-encoded) and
    a header to inject: no request reaching the server has that header or a split request line."""
    with LocalServer() as server:
        base = server.url("")
        links = [
            f"{base}/a&#13;&#10;X-Injected: link-raw",
            f"{base}/b%0d%0aX-Injected:%20link-encoded",
            f"{base}/c%0d%0a%0d%0aGET%20/smuggled%20HTTP/1.1%0d%0aX-Injected:%20smuggled",
        ]
        items = "".join(
            f"<item><title>Item {n}</title><link>{link}</link></item>"
            for n, link in enumerate(links)
        )
        items += f"<item><title>Hop</title><link>{base}/hop-raw</link></item>"
        items += f"<item><title>Hop 2</title><link>{base}/hop-encoded</link></item>"
        items += f"<item><title>Hop 3</title><link>{base}/hop-cr</link></item>"
        feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Inject</title>'
            f"{items}</channel></rss>"
        ).encode()
        server.route("/feed", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        server.route("/hop-raw", redirect("/landing\r\nX-Injected: location-raw"))
        server.route("/hop-cr", redirect("/landing\rX-Injected: location-bare-cr"))
        server.route("/hop-encoded", redirect("/landing%0d%0aX-Injected:%20location-encoded"))
        for path in ("/a", "/b", "/c", "/landing", "/smuggled"):
            server.route(path, respond(200, PAGE, HTML))
        config = write_config(
            tmp_path,
            [{"name": "inject", "kind": "feed", "url": server.url("/feed"), "follow": "all"}],
        )
        summary = poll_here(config)
        requests = list(server.requests)
    injected = [r for r in requests if any(k.lower() == "x-injected" for k in r.headers)]
    assert not injected, [(r.path, r.headers) for r in injected]
    assert not [r for r in requests if r.path.startswith("/smuggled")], "a request was smuggled"
    assert all("\r" not in r.path and "\n" not in r.path for r in requests)
    assert [r.path for r in requests if r.path == "/feed"] == ["/feed"]
    # every entry is accounted for: stored as an article, or as an entry with its error
    documents = count(config, "SELECT COUNT(*) FROM documents")
    failed = count(config, "SELECT COUNT(*) FROM documents WHERE last_error IS NOT NULL")
    assert documents == 6 and failed == len(summary.errors), summary.errors
    assert count(config, "SELECT COUNT(*) FROM versions WHERE text LIKE '%X-Injected%'") == 0
    assert any("/hop-cr" in e and "Location" in e for _, e in summary.errors), summary.errors
