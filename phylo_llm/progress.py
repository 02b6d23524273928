"""A minimal progress bar on standard error (no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress of ``total`` steps, redrawn at most every ``interval`` seconds.

    Disabled bars cost one comparison per update. Use as a context manager so
    the line is finished (or erased) even on errors.
    """

    def __init__(self, total: int, label: str, enabled: bool = True, interval: float = 0.2, delay: float = 1.0) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self.interval = interval
        self.done = 0
        self._start = time.perf_counter()
        # Nothing is drawn before ``delay`` seconds: quick work stays quiet.
        self._last = self._start + delay - interval

    def update(self, steps: int = 1) -> None:
        self.update_to(self.done + steps)

    def update_to(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(now)
            self._drawn = True

    def _draw(self, now: float) -> None:
        fraction = min(self.done / self.total, 1.0)
        bar = "#" * int(30 * fraction)
        elapsed = now - self._start
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * fraction:5.1f}% {self.done}/{self.total} {elapsed:6.1f}s")
        sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled and getattr(self, "_drawn", False):
            self.done = self.total if not exc[0] else self.done
            self._draw(time.perf_counter())
            sys.stderr.write("\n")
            sys.stderr.flush()
