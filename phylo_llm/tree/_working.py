"""What the tree kernels share: their working matrix, and the progress bar their compiled loops report to."""

from __future__ import annotations

import numpy as np

# The bar a running kernel reports to (compiled loops call ``report`` through numba.objmode every 64 joins).
_PROGRESS: dict = {"bar": None}


def report(done: int) -> None:
    bar = _PROGRESS["bar"]
    if bar is not None:
        bar.update_to(done)


class reporting:
    """Context: route kernel reports to ``bar`` (or nowhere) while the block runs."""

    def __init__(self, bar, enabled: bool):
        self.bar = bar if enabled else None

    def __enter__(self):
        _PROGRESS["bar"] = self.bar
        return self

    def __exit__(self, *exc):
        _PROGRESS["bar"] = None
        return False


def working_matrix(values: np.ndarray, overwrite: bool) -> np.ndarray:
    """The matrix to join in, in the precision it came in (float32 stays float32: half the memory and traffic).

    With ``overwrite`` the caller's array itself, when it is a writable C-contiguous float32/float64 array;
    otherwise a copy.
    """
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    if overwrite and values.dtype == dtype and values.flags.c_contiguous and values.flags.writeable:
        return values
    return np.array(values, dtype=dtype, order="C")
