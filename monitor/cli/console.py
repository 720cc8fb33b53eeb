"""What the command line shows on a terminal: whether to colour, and the progress bar.

Colour is decided in one place (`colour`), so $NO_COLOR (https://no-color.org) is honoured
everywhere; the bar is drawn on one line of stderr, and ended before anything else is printed
(see `monitor once`, which holds its log lines back while the bar is up).
"""

from __future__ import annotations

from typing import TextIO

import click

from monitor import config_file

BAR_WIDTH = 30


def colour(stream: TextIO, asked: bool | None = None) -> bool:
    """Whether to colour what goes to `stream`: as asked (--color/--no-color win), else when
    it is a terminal and $NO_COLOR is not set."""
    if asked is not None:
        return asked
    return stream.isatty() and not config_file.no_color()


class Bar:
    """A progress bar on one line of stderr ("[####....] 3/8 fetches and extractions"),
    redrawn in place; drawn only when stderr is a terminal and `shown`."""

    def __init__(self, stream: TextIO, shown: bool = True) -> None:
        self.stream = stream
        self.shown = shown and stream.isatty()
        self.drawn = False

    def draw(self, done: int, known: int) -> None:
        if not self.shown or not known:
            return
        filled = round(BAR_WIDTH * done / known)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = f"\r[{bar}] {done}/{known} fetches and extractions"
        click.echo(line, file=self.stream, nl=False)
        self.drawn = True

    def end(self) -> None:
        """End the bar's line, so that what follows starts on a line of its own."""
        if self.drawn:
            click.echo("", file=self.stream)
            self.drawn = False
