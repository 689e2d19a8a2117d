"""Progress on stderr, only when it is a terminal (pipes, CI and tests get nothing); rich
honours NO_COLOR. One spinner for work of unknown length, one bar for counted work."""

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

Advance = Callable[[int], None]
"""Called with how many more units are done."""
SetTotal = Callable[[int], None]
"""Called once the number of units is known."""


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner for anything that may take a second."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


@contextlib.contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[tuple[Advance | None, SetTotal | None]]:
    """A transient bar: yields (advance, set_total), or (None, None) when stderr is not a
    terminal (library functions take None as "report no progress")."""
    if not sys.stderr.isatty():
        yield None, None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(units: int) -> None:
            bar.advance(task, units)

        def set_total(units: int) -> None:
            bar.update(task, total=units)

        yield advance, set_total


def ignore(*_: Any) -> None:
    """A progress callback that reports nothing."""
