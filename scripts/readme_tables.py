"""Rewrite the table list in README.md's "## The database" from monitor/store/catalog.py.

Run after editing a table or column description there: `python scripts/readme_tables.py`.
tests/test_datasette.py fails until the README and the catalog agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from monitor.store.catalog import readme_text

START = "<!-- tables: generated from monitor/store/catalog.py by scripts/readme_tables.py -->"
END = "<!-- tables end -->"


def main() -> int:
    readme = Path(__file__).parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n\n{readme_text()}\n\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
