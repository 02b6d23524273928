"""Bootstrap intervals for what the figures fit on few points: ROC curves and AUCs, least-squares slopes.

Documented pairs are few (2 to 30 per relation) against tens of thousands of
other pairs, so the uncertainty of an AUC is that of its positives: the
documented pairs are resampled with replacement, the other pairs are held
fixed (their count makes their own sampling error negligible). Slopes are
bootstrapped over models. Percentile intervals (Efron & Tibshirani 1993,
ch. 13), seeded: the same numbers every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Resamples behind every interval.
REPLICATES = 2000
#: Coverage of every interval.
LEVEL = 0.95
#: Fewest points an interval is drawn for: below, a percentile bootstrap has too few distinct resamples to mean anything.
MIN_POINTS = 5


@dataclass(frozen=True)
class Detection:
    """How documented pairs rank among all other pairs by distance.

    Attributes
    ----------
    fpr_at : numpy.ndarray
        For each documented pair, the share of other pairs closer than it
        (ties count half): the false-positive rate at which it is detected.
    negatives : int
        Number of other pairs.
    """

    fpr_at: np.ndarray
    negatives: int

    @property
    def n(self) -> int:
        return len(self.fpr_at)

    @property
    def auc(self) -> float:
        """ROC AUC: the chance that a documented pair is closer than another pair (ties half)."""
        return float(1.0 - self.fpr_at.mean()) if self.n else float("nan")

    def roc(self, grid: np.ndarray) -> np.ndarray:
        """True-positive rate at each false-positive rate of ``grid``."""
        return _tpr(self.fpr_at[None, :], grid)[0]

    def bootstrap(self, grid: np.ndarray, replicates: int = REPLICATES, seed: int = 0):
        """(AUC interval, lower and upper ROC band on ``grid``), from ``replicates`` resamples of the documented pairs."""
        rng = np.random.default_rng(seed)
        draws = self.fpr_at[rng.integers(0, self.n, size=(replicates, self.n))]
        aucs = 1.0 - draws.mean(axis=1)
        tail = (1 - LEVEL) / 2 * 100
        band = np.percentile(_tpr(draws, grid), [tail, 100 - tail], axis=0)
        return tuple(np.percentile(aucs, [tail, 100 - tail])), band[0], band[1]


def detection(condensed: np.ndarray, positives: np.ndarray) -> Detection:
    """:class:`Detection` of the pairs at ``positives`` (condensed indices) among all pairs of ``condensed``.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0.1, 0.5, 0.2, 0.9, 0.3])
    >>> found = detection(d, np.array([0, 4]))
    >>> found.fpr_at.tolist(), found.auc
    ([0.0, 0.3333333333333333], 0.8333333333333334)
    """
    positives = np.unique(np.asarray(positives, dtype=np.intp))
    mask = np.ones(len(condensed), dtype=bool)
    mask[positives] = False
    negatives = np.sort(condensed[mask])
    d = condensed[positives]
    below = np.searchsorted(negatives, d, side="left")
    tied = np.searchsorted(negatives, d, side="right") - below
    fpr = (below + 0.5 * tied) / max(len(negatives), 1)
    return Detection(fpr, int(len(negatives)))


def _tpr(fpr_at: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Share of each row's pairs detected at or below each false-positive rate of ``grid``."""
    ordered = np.sort(fpr_at, axis=1)
    return np.stack([np.searchsorted(row, grid, side="right") for row in ordered]) / fpr_at.shape[1]


@dataclass(frozen=True)
class SlopeFit:
    """A least-squares line with a bootstrap interval for its slope and a band for the line."""

    slope: float
    intercept: float
    slope_interval: tuple[float, float]
    grid: np.ndarray
    band: tuple[np.ndarray, np.ndarray]
    n: int


def fit_slope(x: np.ndarray, y: np.ndarray, replicates: int = REPLICATES, seed: int = 0, points: int = 50) -> SlopeFit:
    """Least-squares line of ``y`` on ``x`` with percentile intervals from resampling the points.

    Resamples whose ``x`` values are all equal (no slope) are drawn again.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> fit = fit_slope(x, 2 * x + 1)
    >>> round(fit.slope, 6), [round(v, 6) for v in fit.slope_interval]
    (2.0, [2.0, 2.0])
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    rng = np.random.default_rng(seed)
    slopes = np.empty(0)
    intercepts = np.empty(0)
    while len(slopes) < replicates:  # closed-form least squares for a block of resamples at once
        take = rng.integers(0, len(x), size=(replicates, len(x)))
        xb, yb = x[take], y[take]
        dx = xb - xb.mean(axis=1, keepdims=True)
        var = (dx**2).sum(axis=1)
        ok = var > 1e-12 * max(1.0, float(np.ptp(x))) ** 2
        s = (dx * (yb - yb.mean(axis=1, keepdims=True))).sum(axis=1)[ok] / var[ok]
        slopes = np.r_[slopes, s]
        intercepts = np.r_[intercepts, yb.mean(axis=1)[ok] - s * xb.mean(axis=1)[ok]]
    slopes, intercepts = slopes[:replicates], intercepts[:replicates]
    grid = np.linspace(x.min(), x.max(), points)
    lines = intercepts[:, None] + slopes[:, None] * grid[None, :]
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(slopes, [tail, 100 - tail])
    band = np.percentile(lines, [tail, 100 - tail], axis=0)
    return SlopeFit(float(slope), float(intercept), (float(lo), float(hi)), grid, (band[0], band[1]), len(x))
