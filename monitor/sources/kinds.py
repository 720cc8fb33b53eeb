"""The source kinds: `[[sources]].kind` names one of `KINDS`.

A new kind is one module (a `SourceKind`: its handler, monitor/sources/engine.py, and its config
cross-checks) and one entry here; the config's allowed values and its error messages come from
this mapping, and the poll engine dispatches through it.
"""

from __future__ import annotations

from monitor.sources import feed_kind, page_kind
from monitor.sources.engine import SourceKind

KINDS: dict[str, SourceKind] = {kind.name: kind for kind in (feed_kind.KIND, page_kind.KIND)}


def names() -> str:
    """The registered kinds as an error message lists them: 'feed' or 'page'."""
    quoted = [repr(name) for name in KINDS]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
