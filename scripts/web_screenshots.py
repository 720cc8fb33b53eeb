"""Photograph every page of the web view (`monitor serve`) on the demo history, at desktop and
phone widths, light, and the changes list dark too:

    python scripts/web_screenshots.py [--out docs/screenshots]

Runs the offline demo (`monitor demo`: bundled real feeds and pages served on loopback, fetched
and stored) into a temporary folder, serves its database with monitor's own server on loopback,
and drives Debian's chromium (/usr/bin/chromium; apt-get install chromium) with Playwright,
which never downloads a browser here. The change and the document photographed are the first
of the changes list (the most significant); the README shows some of the pictures and links
the rest (tests/test_docs.py checks that each one it names exists).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}
# name: path on the server ({change} and {document}: found on the changes list)
PAGES = {
    "changes": "/changes",
    "change": "{change}",
    "document": "{document}",
    "concept": "/concepts/complete-denuclearization",
    "search": "/search?q=" + quote("비핵화"),
    "sources": "/sources",
    "watching": "/watching",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    executable = shutil.which("chromium") or str(CHROMIUM)
    if not Path(executable).exists():
        sys.exit(f"no chromium at {CHROMIUM}: apt-get install chromium")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    from monitor.config import load_shipped
    from monitor.demo_run import run_demo
    from monitor.web.server import running

    folder = Path(tempfile.mkdtemp(prefix="monitor-web-screenshots-"))
    try:
        run_demo(folder, lambda _line: None)
        shipped = load_shipped()
        storage = shipped.storage.model_copy(update={"database": str(folder / "monitor.db")})
        settings = shipped.model_copy(update={"storage": storage})
        args.out.mkdir(parents=True, exist_ok=True)
        with running(settings) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
            try:
                written = shoot(browser, server.url, args.out)
            finally:
                browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for path in written:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def shoot(browser: object, base: str, out: Path) -> list[Path]:
    """Every page at every width, light, and the changes list dark at both widths."""
    first = browser.new_page()  # type: ignore[attr-defined]
    first.goto(base + "/changes")
    change = first.locator("li.change a.title").first.get_attribute("href")
    first.goto(base + change)
    document = first.locator("table.sides a").nth(1).get_attribute("href")
    first.close()
    paths = {name: path.format(change=change, document=document) for name, path in PAGES.items()}
    written = []
    for scheme in ("light", "dark"):
        for width_name, (width, height) in WIDTHS.items():
            context = browser.new_context(  # type: ignore[attr-defined]
                viewport={"width": width, "height": height},
                color_scheme=scheme,
                device_scale_factor=1,
            )
            page = context.new_page()
            for name, path in paths.items():
                if scheme == "dark" and name != "changes":
                    continue
                response = page.goto(base + path)
                if response is None or response.status != 200:
                    sys.exit(f"{path}: status {response.status if response else 'none'}")
                suffix = "-dark" if scheme == "dark" else ""
                target = out / f"{name}-{width_name}{suffix}.png"
                page.screenshot(path=str(target))
                written.append(target)
            context.close()
    return written


if __name__ == "__main__":
    main()
