"""Wall time and peak memory of `monitor once` on a 1.4 KB PDF page-tree bomb (issue 9).

Serves `tests/data/pdf/page-tree-bomb.pdf` as a watched page on loopback, runs `monitor once`
in a child process with one extraction worker, and prints the wall time, the peak resident
memory of monitor and its (reaped) worker processes, and the error recorded.

    python bench/bench_pdf_bomb.py --deadline 60    # this code: the worker is ended at 60 s
    python bench/bench_pdf_bomb.py                  # no [extract].deadline key (older code)

Without `--deadline` the config has no deadline key, so the same script measures code from
before the deadline existed (run it from such a checkout, which rejects the key).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOMB = ROOT / "tests" / "data" / "pdf" / "page-tree-bomb.pdf"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--deadline", type=float, help="[extract].deadline in seconds")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.servers import LocalServer, respond

    deadline = "" if args.deadline is None else f"deadline = {args.deadline}\n"
    with tempfile.TemporaryDirectory() as tmp, LocalServer() as server:
        server.route(
            "/bomb.pdf", respond(200, BOMB.read_bytes(), {"Content-Type": "application/pdf"})
        )
        config = Path(tmp) / "monitor.toml"
        config.write_text(
            f'[storage]\ndatabase = "{Path(tmp) / "m.db"}"\n[fetch]\ndelay = 0\nretries = 0\n'
            f"[extract]\nworkers = 1\n{deadline}"
            f'[[sources]]\nname = "bomb"\nkind = "page"\nurl = "{server.url("/bomb.pdf")}"\n',
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "monitor", "once", "--config", str(config), "--json"]
        started = time.monotonic()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
    errors = json.loads(output)["errors"] if output.strip() else output
    print(f"page-tree bomb ({BOMB.stat().st_size} bytes), deadline {args.deadline or 'none'}")
    print(f"  wall time   {wall:.1f} s (exit {child.returncode})")
    # ru_maxrss of a reaped child covers it and the children it reaped (the workers), in KiB
    print(f"  peak memory {usage.ru_maxrss / 1024:.0f} MiB")
    print(f"  errors      {errors}")


if __name__ == "__main__":
    main()
