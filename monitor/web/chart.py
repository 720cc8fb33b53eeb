"""A concept's timeline as inline SVG drawn on the server: no script, so the page's
Content-Security-Policy forbids every script and the chart still renders (and prints)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from monitor.analysis.timeline import Period
from monitor.render.untrusted import NAME_CHARS, html_text

WIDTH = 720
HEIGHT = 160
AXIS = 18  # room under the bars for the first and last labels


def bars_svg(periods: Sequence[Period], link: Callable[[Period], str], label: str) -> str:
    """One bar per period (empty periods included, so time reads evenly), each bar a link to
    the mentions behind it, with its period and count as its title (a tooltip, and what a
    screen reader says).

    A bar's title and link are monitor's own text (a period label, a count, an address built
    with urlencode from config names), so they are only escaped; `label`, which names a
    source, goes through the untrusted-text rule. (A weekly chart split by source has ~1,800
    bars: the rule's regular expressions on each took a quarter of the page's time at 1M.)"""
    if not periods:
        return ""
    top = max(p.count for p in periods) or 1
    step = WIDTH / len(periods)
    width = max(step - 2, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + AXIS}" role="img" '
        f'aria-label="{html_text(label, NAME_CHARS)}" preserveAspectRatio="none">'
    ]
    for n, p in enumerate(periods):
        high = round(HEIGHT * p.count / top, 1) if p.count else 0
        title = html.escape(f"{p.period}: {p.count} mention(s)")
        x = round(n * step, 1)
        rect = (
            f'<rect class="bar" x="{x}" y="{HEIGHT - high}" width="{round(width, 1)}" '
            f'height="{high}"><title>{title}</title></rect>'
        )
        parts.append(f'<a href="{html.escape(link(p))}">{rect}</a>' if p.count else rect)
    parts.append(
        f'<line class="axis" x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"></line>'
        f'<text class="tick" x="0" y="{HEIGHT + AXIS - 4}">{html_text(periods[0].period)}</text>'
        f'<text class="tick" x="{WIDTH}" y="{HEIGHT + AXIS - 4}" text-anchor="end">'
        f"{html_text(periods[-1].period)}</text></svg>"
    )
    return "".join(parts)
