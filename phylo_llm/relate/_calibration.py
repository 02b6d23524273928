"""Calibration of predicted probabilities: reliability-diagram bins and the expected calibration error."""

from __future__ import annotations

import numpy as np


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Per non-empty equal-width bin of ``p``: ``low``, ``high``, ``pairs``, ``mean_predicted``, ``observed``.

    The numbers of a reliability diagram (the bins of :func:`expected_calibration_error`).

    Examples
    --------
    >>> reliability_bins(np.array([0, 1, 1]), np.array([0.05, 0.95, 0.9]), bins=2)[1]["observed"]
    1.0
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            out.append({"low": b / bins, "high": (b + 1) / bins, "pairs": int(inside.sum()),
                        "mean_predicted": float(p[inside].mean()), "observed": float(y[inside].mean())})
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: sum over equal-width probability bins of ``|mean(y) - mean(p)|`` times the bin's share.

    References
    ----------
    Guo C et al. (2017). On calibration of modern neural networks. ICML.

    Examples
    --------
    >>> expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]))
    0.175
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return round(float(total), 12)
