"""Render a digest of real data to PNG with headless Chromium, at desktop and phone widths.

Runs the offline demo (`python -m monitor demo`: bundled real feeds and pages served on loopback,
fetched and stored) into a temporary folder, then `monitor digest --date D --out digest.html` on
its database for D, the first digest morning after the run, and photographs the page:

    python scripts/digest_screenshot.py [--out docs] [--height 2400] [--dark] [--keep]

`--dark` renders with the reader's colour scheme dark (to check the colours; it writes
digest-*-dark.png). Needs Debian's `chromium` (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": 1200, "phone": 400}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def monitor(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `python -m monitor ARGS` from the repository; its output, or exit with its error."""
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    if done.returncode:
        sys.exit(f"monitor {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def digest_date(db_path: Path) -> str:
    """The local date of the first digest whose window holds the demo's newest document."""
    from monitor import config
    from monitor.alerts.digest import window

    settings = config.parse(config.loads(config.shipped_config_text()), environment=False)
    zone, at = settings.schedule.timezone, settings.digest.time
    with sqlite3.connect(db_path) as db:
        newest = datetime.fromisoformat(
            db.execute("SELECT MAX(first_seen_at) FROM documents").fetchone()[0]
        )
    day = newest.date() - timedelta(days=1)
    while window(day, at, zone)[1] <= newest:
        day += timedelta(days=1)
    return day.isoformat()


def shoot(chromium: str, page: Path, png: Path, width: int, height: int, dark: bool) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                *(["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []),
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs")
    parser.add_argument("--height", type=int, default=2400, help="pixels shown from the top")
    parser.add_argument("--dark", action="store_true", help="dark colour scheme")
    parser.add_argument("--keep", action="store_true", help="keep the demo folder and the HTML")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="digest-screenshot-"))
    try:
        db_path, page = work / "monitor.db", work / "digest.html"
        monitor("demo", "--dir", str(work))
        day = digest_date(db_path)
        monitor("digest", "--date", day, "--out", str(page), env={"MONITOR_DB": str(db_path)})
        args.out.mkdir(parents=True, exist_ok=True)
        for name, width in WIDTHS.items():
            png = args.out / f"digest-{name}{'-dark' if args.dark else ''}.png"
            shoot(chromium, page, png, width, args.height, args.dark)
            print(f"wrote {png} ({width}x{args.height}, the digest of {day} from the demo)")
        if args.keep:
            print(f"kept {work}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
