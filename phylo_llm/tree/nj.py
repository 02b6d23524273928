"""Neighbour joining (Saitou & Nei 1987; Studier & Keppler 1988): exact, with provable row bounds.

The canonical algorithm evaluates every Q(i, j) = (m - 2) d(i, j) - r(i) - r(j)
at every step. After joining a and b, every surviving entry changes by exactly

    Q'(k, j) - Q(k, j) = d(a, b) + s(k) + s(j) - d(k, j),   s(x) = (d(x, a) + d(x, b)) / 2,

so a lower bound B(k) of row k's minimum stays a lower bound after the join as
B(k) + d(a, b) + s(k) + min s - max_j d(k, j) (with the one new entry, Q(k, u),
computed exactly). No triangle inequality is assumed: the bound holds for any
matrix. Each step scans fully only the rows whose bound does not exceed the
best Q found so far; a scanned row's bound becomes its exact minimum. The
chosen pair is therefore the same as the exhaustive scan's, with the same tie
rule (smallest leaf indices); measured on the published rand set, about 65 of
788 rows are scanned per step on average. ``prune=False`` scans every row (the
textbook algorithm, same arithmetic): the tests check both give identical joins.

The matrix is copied once (float64) and compacted as clusters are joined (the
last slot moves into the freed one), so scans run over contiguous entries. Numba because the step loop cannot be vectorised: 0.3 s instead of 11 s
(NumPy, whole-matrix Q per step) on the 1,576-model rand set.
"""

from __future__ import annotations

import numba
import numpy as np

from ..progress import Progress
from .merges import Merges

# The progress bar the kernel reports to (set by nj_merges; the compiled loop calls back every 64 joins).
_PROGRESS: dict = {"bar": None}


def _report(done: int) -> None:
    bar = _PROGRESS["bar"]
    if bar is not None:
        bar.update_to(done)


# Relative slack on the bounds: rounding must never let a bound exceed a true minimum.
_SLACK = 1e-9


@numba.njit(cache=True)
def _nj_kernel(values, prune, report=False):  # pragma: no cover - compiled
    n = values.shape[0]
    d = values.copy()
    # Slots 0..m-1 hold the active clusters; a joined pair's slot is reused and the last slot moves into the
    # freed one, so every scan is over m contiguous entries.
    node = np.arange(n)
    key = np.arange(n)  # smallest leaf index in each cluster: the tie-break key
    r = np.zeros(n)
    row_max = np.zeros(n)
    scale = 0.0
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += d[i, j]
            if d[i, j] > row_max[i]:
                row_max[i] = d[i, j]
        r[i] = total
        if row_max[i] > scale:
            scale = row_max[i]
    bound = np.full(n, -np.inf)  # lower bound of each row's minimum Q; -inf: scan it
    half_sum = np.zeros(n)
    children = np.zeros((n - 3, 2), np.int64)
    lengths = np.zeros((n - 3, 2))
    m = n
    scanned = 0
    for step in range(n - 3):
        if report and step % 64 == 0:
            with numba.objmode():
                _report(step)
        slack = _SLACK * (scale * m + 1.0)
        # Start from the row with the smallest bound, then every row whose bound can still win.
        first = 0
        for i in range(1, m):
            if bound[i] < bound[first]:
                first = i
        best = np.inf
        bi = -1
        bj = -1
        for t in range(-1, m):
            i = first if t < 0 else t
            if (t >= 0 and i == first) or (prune and bound[i] - slack > best):
                continue
            scanned += 1
            ri = r[i]
            row_min = np.inf
            exact_max = 0.0
            factor = m - 2
            for j in range(m):
                if j == i:
                    continue
                dij = d[i, j]
                if dij > exact_max:
                    exact_max = dij
                q = factor * dij - ri - r[j]
                if q < row_min:
                    row_min = q
                if q <= best:
                    if q < best:
                        best = q
                        bi = i
                        bj = j
                    else:
                        a0 = min(key[i], key[j])
                        a1 = max(key[i], key[j])
                        b0 = min(key[bi], key[bj])
                        b1 = max(key[bi], key[bj])
                        if a0 < b0 or (a0 == b0 and a1 < b1):
                            bi = i
                            bj = j
            bound[i] = row_min
            row_max[i] = exact_max  # the stale maximum only grows; a scan tightens it
        i, j = bi, bj
        dij = d[i, j]
        li = 0.5 * dij + (r[i] - r[j]) / (2.0 * (m - 2))
        children[step, 0] = node[i]
        children[step, 1] = node[j]
        lengths[step, 0] = li
        lengths[step, 1] = dij - li
        lo, hi = (i, j) if i < j else (j, i)
        min_half = np.inf
        for k in range(m):
            if k != i and k != j:
                half_sum[k] = 0.5 * (d[k, i] + d[k, j])
                if half_sum[k] < min_half:
                    min_half = half_sum[k]
        new_r = 0.0
        new_max = 0.0
        for k in range(m):
            if k != i and k != j:
                dk = 0.5 * (d[i, k] + d[j, k] - dij)
                r[k] = r[k] - d[i, k] - d[j, k] + dk
                d[lo, k] = dk
                d[k, lo] = dk
                new_r += dk
                if dk > row_max[k]:
                    row_max[k] = dk
                if dk > new_max:
                    new_max = dk
        d[lo, lo] = 0.0
        r[lo] = new_r
        row_max[lo] = new_max
        node[lo] = n + step
        key[lo] = min(key[i], key[j])
        last = m - 1
        if hi != last:  # move the last slot into the freed one
            for k in range(m):
                d[hi, k] = d[last, k]
            for k in range(m):
                d[k, hi] = d[k, last]
            d[hi, hi] = 0.0
            r[hi] = r[last]
            row_max[hi] = row_max[last]
            bound[hi] = bound[last]
            half_sum[hi] = half_sum[last]
            node[hi] = node[last]
            key[hi] = key[last]
        m -= 1
        for k in range(m):
            if k != lo:
                carried = bound[k] + dij + half_sum[k] + min_half - row_max[k]
                fresh = (m - 2) * d[k, lo] - r[k] - r[lo]
                bound[k] = min(carried, fresh)
        bound[lo] = -np.inf
    return children, lengths, node[:3].copy(), d[:3, :3].copy(), scanned


def nj_merges(values: np.ndarray, *, clamp: bool = True, prune: bool = True, progress: bool = False) -> Merges:
    """Neighbour-joining joins of a symmetric distance matrix.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n, n)`` distances, ``n >= 3``; leaves are its row indices.
    clamp : bool
        Set negative branch lengths to 0 (counted in ``Merges.negative_clamped``);
        distance updates use the unclamped values, as in the textbook algorithm.
    prune : bool
        Skip rows whose bound shows they cannot hold the minimum (same result, faster).
    progress : bool
        A progress bar on standard error (drawn only if the build takes over a second).

    Returns
    -------
    Merges
        ``n - 3`` pairwise joins, then the three remaining nodes at the root.
        Exact ties in Q go to the pair with the smallest leaf indices.
    """
    with Progress(values.shape[0] - 3, "neighbour joining", enabled=progress) as bar:
        _PROGRESS["bar"] = bar if progress else None
        try:
            children, lengths, last_nodes, d, _ = _nj_kernel(np.ascontiguousarray(values, dtype=np.float64), prune, progress)
        finally:
            _PROGRESS["bar"] = None
    root_lengths = np.array([
        0.5 * (d[0, 1] + d[0, 2] - d[1, 2]),
        0.5 * (d[0, 1] + d[1, 2] - d[0, 2]),
        0.5 * (d[0, 2] + d[1, 2] - d[0, 1]),
    ])
    flat = np.concatenate([lengths.ravel(), root_lengths])
    merges = Merges(n_leaves=values.shape[0])
    if clamp:
        negative = flat < 0
        merges.negative_clamped = int(negative.sum())
        flat[negative] = 0.0
    merges.children = [(int(x), int(y)) for x, y in children]
    merges.lengths = [(float(flat[2 * k]), float(flat[2 * k + 1])) for k in range(len(children))]
    merges.root_children = tuple(int(x) for x in last_nodes)
    merges.root_lengths = tuple(float(x) for x in flat[-3:])
    return merges


def rows_scanned(values: np.ndarray, prune: bool = True) -> int:
    """How many full row scans the kernel makes (for benchmarks and tests)."""
    return int(_nj_kernel(np.ascontiguousarray(values, dtype=np.float64), prune)[4])
