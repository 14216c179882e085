"""The steps of a training run as they happen: each is announced to a ``progress`` callback (the command line
draws it with rich) and timed; the timings go into the lineage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, str], None]


def no_progress(step: str, message: str) -> None:
    """The progress callback used when none is given."""


class Steps:
    """Announces and times the named steps of one run."""

    def __init__(self, progress: Progress = no_progress) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def step(self, name: str, message: str) -> Iterator[None]:
        self.progress(name, message)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
