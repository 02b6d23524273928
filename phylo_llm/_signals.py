"""Signals while compiled code runs: handled when it returns.

A Python signal handler that raises while a numba kernel with a parallel
region is running can crash the process (seen: SIGTERM during the threaded
neighbour-joining kernel; numba's runtime gives Python a chance to run the
handler, and the exception it raises is not expected there). Nothing can
interrupt compiled code anyway, so :func:`deferred_signals` records what
arrives and calls the original handler the moment the kernel returns: a stop
is as prompt as it can be, and never a crash.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

#: The signals whose Python handlers are deferred.
DEFERRED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Run a block (a compiled kernel) with Python signal handlers deferred until it ends.

    Yields the list of the signals received so far (a block may check it, to undo work a stop makes moot).

    Examples
    --------
    >>> with deferred_signals() as received:
    ...     received
    []
    """
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    originals = {}
    for signum in DEFERRED:
        handler = signal.getsignal(signum)
        if callable(handler):
            originals[signum] = handler
            signal.signal(signum, lambda received, frame: pending.append(received))
    try:
        yield pending
    finally:
        for signum, handler in originals.items():
            signal.signal(signum, handler)
        if pending:
            originals[pending[0]](pending[0], None)  # now it may raise: the kernel has returned
