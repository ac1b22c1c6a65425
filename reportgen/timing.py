"""Seconds a stage: for summary.json `timings`, and progress lines when someone watches."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StageTimer:
    """Seconds per stage, for summary.json; reports progress when someone is watching."""

    def __init__(self, progress: Callable[[str], None] | None = None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.progress:
            self.progress(f"{stage} ...")
        with self.more(stage):
            yield

    @contextmanager
    def more(self, stage: str) -> Iterator[None]:
        """Time spent on a stage again (the PDF, waited for at the end), added to it."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start
