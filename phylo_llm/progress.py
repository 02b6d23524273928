"""Progress bars for long work: tqdm in a terminal, a widget in Jupyter (``tqdm.auto``), nothing for quick work.

:class:`Progress` keeps the package's small interface (``update``,
``update_to``, a context manager) because compiled kernels report to it
through :mod:`phylo_llm.tree._working` (every 64 joins, from ``numba.objmode``).
A bar is drawn only once the work has taken ``delay`` seconds (1 by default):
quick work prints nothing. The command line passes ``enabled=False`` under
``--quiet`` or when standard error is not a terminal.
"""

from __future__ import annotations

import sys
import warnings


class Progress:
    """Progress of ``total`` steps, redrawn at most every ``interval`` seconds, shown after ``delay`` seconds.

    Disabled bars cost one comparison per update. Use as a context manager so
    the bar is completed (or left as it stopped, on errors) and closed.

    Examples
    --------
    >>> with Progress(3, "joining", delay=60.0) as bar:
    ...     bar.update(2)
    ...     bar.update_to(3)
    >>> bar.done
    3
    """

    def __init__(self, total: int, label: str, enabled: bool = True, interval: float = 0.2, delay: float = 1.0) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self.done = 0
        self._bar = None
        if enabled:
            self._bar = _tqdm()(total=self.total, desc=label, delay=delay, mininterval=interval, file=sys.stderr,
                             leave=True, dynamic_ncols=True, unit="step")

    def update(self, steps: int = 1) -> None:
        self.update_to(self.done + steps)

    def update_to(self, done: int) -> None:
        self.done = done
        if self._bar is not None:
            self._bar.update(min(done, self.total) - self._bar.n)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            if exc[0] is None:
                self.update_to(self.total)
            self._bar.close()


def _tqdm():
    """``tqdm.auto``'s class: a widget in Jupyter when ipywidgets is installed, else the text bar.

    Imported when a bar is first wanted; without ipywidgets, tqdm.auto warns
    once on import and falls back to text, which is what we want anyway.
    """
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm
