"""Documents of the test corpus (tests/data/docs, see its PROVENANCE.md) and the shipped config's
matcher and ladders, shared by the comparison, message, report, digest and relevance tests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from monitor import config
from monitor.analysis.compare import compare
from monitor.analysis.prepare import matcher
from monitor.models import Comparison
from tests.conftest import DEMO

SHIPPED = Path(__file__).parent.parent / "config" / "monitor.toml"
DOCS = Path(__file__).parent / "data" / "docs"
WH = DOCS / "whitehouse-briefings"
US_ROK_2021 = WH / "statements-releases/2021-05/2021-05-21-u-s-rok-leaders-joint-statement.md"
US_ROK_2022 = (
    WH / "statements-releases/2022-05/"
    "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.md"
)
CARBIS_BAY = WH / "statements-releases/2021-06/2021-06-13-carbis-bay-g7-summit-communique.md"
HIROSHIMA = WH / "statements-releases/2023-05/2023-05-20-g7-hiroshima-leaders-communique.md"
_NOTICE = "notice-on-the-continuation-of-the-national-emergency-with-respect-to-north-korea"
EMERGENCY_2021 = WH / f"presidential-actions/2021-06/2021-06-21-{_NOTICE}.md"
EMERGENCY_2022 = WH / f"presidential-actions/2022-06/2022-06-13-{_NOTICE}-2.md"
SINGAPORE = DOCS / "singapore-2018/singapore_joint_statement_2018-06-12_en-ko_jinyiabc.md"

SETTINGS = config.parse(config.loads(SHIPPED.read_text(encoding="utf-8")))
MATCHER = matcher(SETTINGS.lexicon())
LADDERS = SETTINGS.ladders

CVID_SENTENCE = (
    "The leaders reaffirmed their commitment to the complete, verifiable, and irreversible "
    "denuclearization of North Korea."
)

# The top-level keys of a comparison as JSON (compare.as_json, `monitor compare --json`), in order.
COMPARISON_KEYS = (
    "summary",
    "old",
    "new",
    "concepts",
    "qualifiers",
    "stance",
    "sentences",
    "significance",
    "languages",
)

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
# CommonMark backslash escapes of ASCII punctuation (\###, \[, \], \*, "41\." ...)
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def load(path: Path) -> str:
    """A corpus document as text: YAML front matter dropped, Markdown escapes undone."""
    text = _FRONT_MATTER.sub("", path.read_text(encoding="utf-8"), count=1)
    return _MD_ESCAPE.sub(r"\1", text)


def english_half(path: Path) -> str:
    """The English paragraphs of the Singapore statement (the Korean ones left out)."""
    return "\n\n".join(p for p in load(path).split("\n\n") if not re.search("[가-힣]", p))


def korean_half(path: Path) -> str:
    """The Korean paragraphs of the Singapore statement, without their parentheses."""
    paragraphs = load(path).split("\n\n")
    korean = [p.strip() for p in paragraphs if re.search("[가-힣]", p) and p.startswith("(")]
    return "\n\n".join(p.removeprefix("(").removesuffix(")") for p in korean)


def compare_texts(
    old: str,
    new: str,
    *,
    old_title: str | None = None,
    new_title: str | None = None,
    ignore: Sequence[re.Pattern[str]] = (),
) -> Comparison:
    """compare() with the shipped matcher and ladders."""
    return compare(
        old,
        new,
        matcher=MATCHER,
        ladders=LADDERS,
        old_title=old_title,
        new_title=new_title,
        ignore=ignore,
    )


# Real White House statements served by the demo site.
PAGES = DEMO / "pages" / "whitehouse"
ROK_2021 = PAGES / "2021-05-21-u-s-rok-leaders-joint-statement.html"
ROK_2022 = PAGES / "2022-05-21-united-states-republic-of-korea-leaders-joint-statement.html"
CVID = (
    "<p>The two leaders reaffirmed their commitment to the complete, verifiable, and "
    "irreversible denuclearization of North Korea.</p>"
)


def cvid_page(page: Path) -> bytes:
    """A real statement with one CVID sentence inserted after its first paragraph."""
    html = page.read_text(encoding="utf-8")
    at = html.index("</p>", html.index("<article")) + len("</p>")
    return (html[:at] + CVID + html[at:]).encode()
