#!/usr/bin/env python3
"""Regenerate the offline demo's White House pages and feed from the shared corpus.

Reads public-domain White House briefing-room texts (Markdown with YAML front
matter, archived by brian14708/wh-briefings, CC0) from
``../shared/corpus/docs/whitehouse-briefings/`` and writes:

* ``monitor/demo/pages/whitehouse/<slug>.html``: one realistic article page per
  document (header navigation, the article in ``<main><article>``, a "related"
  aside and a footer, so a content extractor has boilerplate to remove);
* ``monitor/demo/feeds/whitehouse-korea.xml``: an RSS 2.0 feed (UTF-8) listing
  those pages with relative links (``/pages/whitehouse/<slug>.html``), which
  feedparser resolves against the feed URL given as ``Content-Location``.

The article text is kept exactly: only Markdown syntax is turned into HTML
(front matter stripped, backslash escapes such as ``\\###`` and ``2\\.``
removed, paragraphs to ``<p>``, bold-only lines to ``<h2>``, lists to
``<ul>``/``<ol>``, ``*x*`` to ``<em>``, trailing two-space breaks to ``<br>``).
Non-breaking spaces, soft hyphens and curly quotes are left as they are.

Standard library only; the output is deterministic (no clock, no randomness).

    python scripts/make_demo_pages.py [--corpus ../shared/corpus] [--out monitor/demo]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_OUT = ROOT / "monitor" / "demo"
WH_DIR = Path("docs") / "whitehouse-briefings"

# Upstream: brian14708/wh-briefings, snapshot HEAD 737ca03a271adc205c67766074ec8d0070f7ad95;
# every file below was last touched upstream in commit 5c9137a24866 (see MANIFEST.md A2).
UPSTREAM_REPO = "brian14708/wh-briefings"
UPSTREAM_HEAD = "737ca03a271adc205c67766074ec8d0070f7ad95"

# (path under docs/whitehouse-briefings/, upstream commit that last touched it)
DOCUMENTS: list[tuple[str, str]] = [
    ("statements-releases/2021-05/2021-05-21-u-s-rok-leaders-joint-statement.md", "5c9137a24866"),
    (
        "presidential-actions/2021-06/2021-06-21-notice-on-the-continuation-of-the-national-"
        "emergency-with-respect-to-north-korea.md",
        "5c9137a24866",
    ),
    (
        "statements-releases/2022-05/2022-05-21-united-states-republic-of-korea-leaders-joint-"
        "statement.md",
        "5c9137a24866",
    ),
    (
        "presidential-actions/2022-06/2022-06-13-notice-on-the-continuation-of-the-national-"
        "emergency-with-respect-to-north-korea-2.md",
        "5c9137a24866",
    ),
    (
        "statements-releases/2022-11/2022-11-02-statement-by-nsc-spokesperson-adrienne-watson-"
        "on-the-democratic-peoples-republic-of-koreas-icbm-test.md",
        "5c9137a24866",
    ),
    ("statements-releases/2023-04/2023-04-26-washington-declaration-2.md", "5c9137a24866"),
    ("statements-releases/2023-05/2023-05-20-g7-hiroshima-leaders-communique.md", "5c9137a24866"),
    (
        "presidential-actions/2023-06/2023-06-20-notice-on-the-continuation-of-the-national-"
        "emergency-with-respect-to-north-korea-3.md",
        "5c9137a24866",
    ),
    (
        "statements-releases/2023-08/2023-08-18-the-spirit-of-camp-david-joint-statement-of-"
        "japan-the-republic-of-korea-and-the-united-states.md",
        "5c9137a24866",
    ),
]

CATEGORY = {
    "statements-releases": "Statements and Releases",
    "presidential-actions": "Presidential Actions",
    "speeches-remarks": "Speeches and Remarks",
    "press-briefings": "Press Briefings",
}

PAGE_PREFIX = "/pages/whitehouse/"
CHANNEL_DESCRIPTION = (
    "White House statements, joint statements and notices on the Korean Peninsula, "
    "2021-2023 (public-domain texts served offline for the monitor demo)."
)
FEED_PATH = "/feeds/whitehouse-korea.xml"

# --------------------------------------------------------------------------- front matter


_YAML_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_YAML_HEX = {"x": 2, "u": 4, "U": 8}


def _fold(lines: list[str]) -> str:
    """YAML line folding for flow scalars: a single line break becomes a space."""
    out = lines[0].rstrip(" \t")
    for line in lines[1:]:
        line = line.strip(" \t")
        if out.endswith("\\") and not out.endswith("\\\\"):  # escaped line break: join
            out = out[:-1] + line
        else:
            out = out + " " + line
    return out


def _double_quoted(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _YAML_HEX:
            n = _YAML_HEX[nxt]
            out.append(chr(int(raw[i + 2 : i + 2 + n], 16)))
            i += 2 + n
        else:
            out.append(_YAML_ESCAPES[nxt])
            i += 2
    return "".join(out)


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split ``---``-delimited front matter (the simple YAML subset the archive uses)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        raise ValueError("no front matter")
    end = lines.index("---", 1)
    fields: dict[str, list[str]] = {}
    key = ""
    for line in lines[1:end]:
        m = re.match(r"([A-Za-z_][\w-]*):(?: (.*))?$", line)
        if m and not line[0].isspace():
            key = m.group(1)
            fields[key] = [m.group(2) or ""]
        else:
            fields[key].append(line)
    meta: dict[str, str] = {}
    for k, parts in fields.items():
        first = parts[0].lstrip()
        if first.startswith('"'):
            joined = _fold(parts).strip()
            if not joined.endswith('"'):
                raise ValueError(f"unterminated string in {k}")
            meta[k] = _double_quoted(joined[1:-1])
        elif first.startswith("'"):
            joined = _fold(parts).strip()
            meta[k] = joined[1:-1].replace("''", "'")
        else:
            meta[k] = _fold(parts).strip()
    return meta, "\n".join(lines[end + 1 :])


# --------------------------------------------------------------------------- Markdown


_ESCAPABLE = r"""\\`*_{}[]()#+-.!|<>"'~$&:;=?@^,/"""
_LIST_RE = re.compile(r"^(?:(?P<num>\d+)\.|(?P<bullet>[-*+]))( +)(?=\S)")
_HR_RE = re.compile(r"^ {0,3}(?:-{3,}|\*{3,}|_{3,})[ \t]*$")
_HEADING_RE = re.compile(r"^(?:(\*{2,3})(?=\S)(.+?)(?<=\S)\1\s*)+$", re.S)


def _is_blank(line: str) -> bool:
    return line.strip(" \t") == ""


def inline(md: str) -> str:
    """Inline Markdown to HTML: escapes, <sup>/<sub>, emphasis, links, hard breaks."""
    stash: list[str] = []

    def keep(s: str) -> str:
        stash.append(s)
        return f"\x00{len(stash) - 1}\x00"

    # backslash escapes first, so an escaped "*" is never emphasis
    md = re.sub(r"\\([" + re.escape(_ESCAPABLE) + "])", lambda m: keep(html.escape(m.group(1))), md)
    md = re.sub(r"</?(?:sup|sub)>", lambda m: keep(m.group(0)), md)
    md = html.escape(md, quote=False)
    md = re.sub(
        r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', md
    )
    md = re.sub(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*", r"<strong><em>\1</em></strong>", md, flags=re.S)
    md = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", md, flags=re.S)
    md = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", md, flags=re.S)
    md = re.sub(r"(?<=[^\s\\]) {2,}\n", "<br>\n", md)  # two trailing spaces: hard line break
    return re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], md)


def _paragraph_text(lines: list[str]) -> str:
    return "\n".join(lines).rstrip(" \t\n")


@dataclass
class Block:
    kind: str  # "p", "h2", "hr", "ul", "ol"
    items: list[list[str]]  # for p/h2: [[markdown]], lists: [[para, para, ...], ...]
    start: int = 1


def parse_blocks(body: str) -> list[Block]:
    """Split the Markdown body into blocks (paragraphs, headings, rules, lists)."""
    groups: list[list[str]] = []
    cur: list[str] = []
    for line in body.split("\n"):
        if _is_blank(line):
            if cur:
                groups.append(cur)
                cur = []
        else:
            cur.append(line)
    if cur:
        groups.append(cur)

    blocks: list[Block] = []
    for group in groups:
        first = group[0]
        m = _LIST_RE.match(first)
        if _HR_RE.match(first) and len(group) == 1:
            blocks.append(Block("hr", []))
            continue
        if m:
            kind = "ol" if m.group("num") else "ul"
            items: list[list[str]] = []
            for line in group:
                lm = _LIST_RE.match(line)
                if lm and (lm.group("num") is not None) == (kind == "ol"):
                    items.append([line[lm.end() :]])
                else:
                    items[-1].append(re.sub(r"^ {1,4}", "", line))
            paras = [[_paragraph_text(it)] for it in items]
            prev = blocks[-1] if blocks else None
            if prev is not None and prev.kind == kind:  # loose list: items split by blank lines
                prev.items.extend(paras)
            else:
                start = int(m.group("num")) if m.group("num") else 1
                blocks.append(Block(kind, paras, start))
            continue
        in_list = bool(blocks) and blocks[-1].kind in ("ul", "ol")
        if in_list and all(line.startswith("  ") for line in group):
            # an indented paragraph continues the last list item
            blocks[-1].items[-1].append(_paragraph_text([ln.strip(" ") for ln in group]))
            continue
        text = _paragraph_text(group)
        if _HEADING_RE.match(text.strip()):
            heading = re.sub(r"\*{2,3}", "", text.strip())
            blocks.append(Block("h2", [[heading]]))
        else:
            blocks.append(Block("p", [[text]]))
    return blocks


def render_blocks(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "hr":
            out.append("<hr>")
        elif b.kind in ("p", "h2"):
            out.append(f"<{b.kind}>{inline(b.items[0][0])}</{b.kind}>")
        else:
            start = f' start="{b.start}"' if b.kind == "ol" and b.start != 1 else ""
            out.append(f"<{b.kind}{start}>")
            for paras in b.items:
                if len(paras) == 1:
                    out.append(f"<li>{inline(paras[0])}</li>")
                else:
                    inner = "\n".join(f"<p>{inline(p)}</p>" for p in paras)
                    out.append(f"<li>\n{inner}\n</li>")
            out.append(f"</{b.kind}>")
    return "\n".join(out)


def plain(md_html: str) -> str:
    """Text of an inline-rendered fragment (tags dropped, entities decoded, spaces collapsed)."""
    text = re.sub(r"<br>", " ", md_html)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


_ABBREV = re.compile(
    r"(?:\b(?:[A-Z]|U\.S|Jr|Sr|Mr|Mrs|Ms|Dr|No|St|Gen|Gov|Sen|Rep|Inc|Co|e\.g|i\.e))$"
)


def first_sentence(text: str) -> str:
    for m in re.finditer(r"[.!?][\"”’)]?(?=\s+[\"“‘(]?[A-Z0-9])", text):
        if not _ABBREV.search(text[: m.start()]):
            return text[: m.end()]
    return text


# --------------------------------------------------------------------------- pages


@dataclass
class Doc:
    rel: str
    commit: str
    slug: str
    meta: dict[str, str]
    title: str
    category: str
    published: datetime
    article_html: str
    description: str

    @property
    def href(self) -> str:
        return PAGE_PREFIX + self.slug + ".html"


def load(corpus: Path, rel: str, commit: str) -> Doc:
    text = (corpus / WH_DIR / rel).read_text(encoding="utf-8")
    meta, body = parse_front_matter(text)
    blocks = parse_blocks(body)
    title = re.sub(r"\s+", " ", meta["title"].replace("\xa0", " ")).strip()
    tag = meta.get("tags", rel.split("/", 1)[0])
    ts = meta.get("published_time") or f"{meta['date'].strip(chr(39))} 12:00:00-04:00"
    published = datetime.fromisoformat(ts)
    first_p = next(b for b in blocks if b.kind in ("p", "ol", "ul"))
    first_text = plain(inline(first_p.items[0][0]))
    return Doc(
        rel=rel,
        commit=commit,
        slug=Path(rel).stem,
        meta=meta,
        title=title,
        category=CATEGORY.get(tag, "Briefing Room"),
        published=published,
        article_html=render_blocks(blocks),
        description=first_sentence(first_text),
    )


def _attr(s: str) -> str:
    return html.escape(s, quote=True)


def _long_date(d: datetime) -> str:
    return f"{d.strftime('%B')} {d.day}, {d.year}"


NAV = [
    ("Administration", "/administration/"),
    ("Priorities", "/priorities/"),
    ("Briefing Room", "/briefing-room/"),
    ("Issues", "/issues/"),
    ("The Record", "/the-record/"),
    ("Get Involved", "/get-involved/"),
    ("Contact Us", "/contact/"),
]
FOOTER_LINKS = [
    ("Accessibility Statement", "/accessibility/"),
    ("Privacy Policy", "/privacy/"),
    ("Copyright Policy", "/copyright/"),
    ("Disclosures", "/disclosures/"),
    ("Site Map", "/site-map/"),
]


def render_page(doc: Doc, related: list[Doc]) -> str:
    li = '        <li><a href="{}">{}</a></li>'
    nav = "\n".join(li.format(u, html.escape(t)) for t, u in NAV)
    foot = "\n".join(li.format(u, html.escape(t)) for t, u in FOOTER_LINKS)
    rel_items = "\n".join(
        f'        <li><a href="{r.href}">{html.escape(r.title)}</a>'
        f' <span class="related-date">{_long_date(r.published)}</span></li>'
        for r in related
    )
    section_slug = doc.rel.split("/", 1)[0]
    iso = doc.published.isoformat()
    modified = doc.meta.get("modified_time")
    modified_meta = (
        f'\n<meta property="article:modified_time" '
        f'content="{datetime.fromisoformat(modified).isoformat()}">'
        if modified
        else ""
    )
    source_url = doc.meta.get("source_url") or doc.meta.get("permalink", "")
    return f"""<!DOCTYPE html>
<!-- Offline demo page for monitor. Generated by scripts/make_demo_pages.py from
     ../shared/corpus/{WH_DIR}/{doc.rel}
     = {UPSTREAM_REPO}:{doc.rel} (last changed in {doc.commit}; snapshot {UPSTREAM_HEAD[:12]}), CC0.
     Text: U.S. Government work (public domain). Original: {source_url} -->
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(doc.title)} | The White House</title>
<meta name="description" content="{_attr(doc.description)}">
<meta name="date" content="{doc.published.date().isoformat()}">
<meta property="og:site_name" content="The White House">
<meta property="og:type" content="article">
<meta property="og:title" content="{_attr(doc.title)}">
<meta property="og:description" content="{_attr(doc.description)}">
<meta property="article:section" content="{_attr(doc.category)}">
<meta property="article:published_time" content="{iso}">{modified_meta}
<link rel="alternate" type="application/rss+xml" title="The White House: Korea (demo feed)"
 href="{FEED_PATH}">
<style>
body {{ font-family: Georgia, serif; margin: 0; color: #1b1b1b; }}
.site-header, .site-footer {{ background: #0a1f44; color: #fff; padding: 1rem 2rem; }}
.site-header a, .site-footer a {{ color: #fff; }}
.site-nav ul, .site-footer ul {{ list-style: none; display: flex; gap: 1.5rem; padding: 0; }}
.layout {{ display: flex; gap: 3rem; max-width: 72rem; margin: 2rem auto; padding: 0 2rem; }}
main {{ flex: 3; }} aside {{ flex: 1; font-size: .9rem; }}
.skip-link {{ position: absolute; left: -999px; }}
</style>
</head>
<body class="single-post {section_slug}">
<a class="skip-link" href="#content">Skip to content</a>
<header class="site-header" role="banner">
  <div class="site-branding">
    <a class="site-logo" href="/" rel="home">The White House</a>
  </div>
  <nav class="site-nav" aria-label="Main menu">
    <ul>
{nav}
    </ul>
  </nav>
  <form class="site-search" role="search" action="/search/" method="get">
    <label for="s">Search</label> <input id="s" type="search" name="s" placeholder="Search">
    <button type="submit">Search</button>
  </form>
</header>
<nav class="breadcrumbs" aria-label="Breadcrumbs">
  <a href="/">Home</a> / <a href="/briefing-room/">Briefing Room</a> /
  <a href="/briefing-room/{section_slug}/">{html.escape(doc.category)}</a>
</nav>
<div class="layout">
<main id="content">
<article class="post">
<header class="post-header">
<h1 class="page-title">{html.escape(doc.title)}</h1>
<p class="post-meta"><a class="post-category"
 href="/briefing-room/{section_slug}/">{html.escape(doc.category)}</a>
 <time datetime="{iso}">{_long_date(doc.published)}</time></p>
</header>
<section class="post-content">
{doc.article_html}
</section>
</article>
</main>
<aside class="sidebar" aria-label="Related">
  <section class="related-posts">
    <h2>Related</h2>
    <ul>
{rel_items}
    </ul>
  </section>
  <section class="newsletter-signup">
    <h2>Stay Connected</h2>
    <p>Sign up to receive updates from the White House and get involved.</p>
    <form action="/subscribe/" method="post">
      <label for="email">Email</label> <input id="email" type="email" name="email">
      <label for="zip">ZIP</label> <input id="zip" type="text" name="zip">
      <button type="submit">Sign Up</button>
    </form>
  </section>
</aside>
</div>
<footer class="site-footer" role="contentinfo">
  <nav aria-label="Footer menu">
    <ul>
{foot}
    </ul>
  </nav>
  <address>The White House, 1600 Pennsylvania Ave NW, Washington, DC 20500</address>
  <ul class="social">
    <li><a href="/social/x/">X</a></li>
    <li><a href="/social/instagram/">Instagram</a></li>
    <li><a href="/social/facebook/">Facebook</a></li>
    <li><a href="/social/youtube/">YouTube</a></li>
  </ul>
  <p class="demo-note">Offline demo copy of a public-domain U.S. Government text,
  served by monitor's demo server. Original:
  <a href="{_attr(source_url)}">{html.escape(source_url)}</a></p>
</footer>
</body>
</html>
"""


# --------------------------------------------------------------------------- feed


def _xml(s: str) -> str:
    return html.escape(s, quote=False)


def render_feed(docs: list[Doc]) -> str:
    newest = sorted(docs, key=lambda d: d.published, reverse=True)
    items = []
    for d in newest:
        items.append(
            f"""    <item>
      <title>{_xml(d.title)}</title>
      <link>{d.href}</link>
      <description>{_xml(d.description)}</description>
      <category>{_xml(d.category)}</category>
      <pubDate>{format_datetime(d.published)}</pubDate>
      <guid isPermaLink="false">{_xml(d.meta.get("source_url", d.href))}</guid>
    </item>"""
        )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Offline demo feed for monitor, generated by scripts/make_demo_pages.py.
     Item links are relative to the demo server and are resolved by the feed
     parser against the feed's own URL (Content-Location). -->
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>The White House: Korea (offline demo)</title>
    <link>{PAGE_PREFIX}</link>
    <atom:link href="{FEED_PATH}" rel="self" type="application/rss+xml"/>
    <description>{CHANNEL_DESCRIPTION}</description>
    <language>en-us</language>
    <lastBuildDate>{format_datetime(newest[0].published)}</lastBuildDate>
    <generator>monitor scripts/make_demo_pages.py</generator>
{body}
  </channel>
</rss>
"""


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    docs = [load(args.corpus, rel, commit) for rel, commit in DOCUMENTS]
    pages = args.out / "pages" / "whitehouse"
    feeds = args.out / "feeds"
    pages.mkdir(parents=True, exist_ok=True)
    feeds.mkdir(parents=True, exist_ok=True)
    by_date = sorted(docs, key=lambda d: d.published)
    for i, doc in enumerate(by_date):
        # the three nearest other documents, newest first
        others = sorted(
            (d for d in by_date if d is not doc),
            key=lambda d: (abs(by_date.index(d) - i), -d.published.timestamp()),
        )[:3]
        (pages / f"{doc.slug}.html").write_text(render_page(doc, others), encoding="utf-8")
        print(f"wrote {pages / (doc.slug + '.html')}")
    (feeds / "whitehouse-korea.xml").write_text(render_feed(docs), encoding="utf-8")
    print(f"wrote {feeds / 'whitehouse-korea.xml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
