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
rule (smallest leaf indices). ``prune=False`` scans every row (the textbook
algorithm, same arithmetic): the tests check both give identical joins.

Layout: one n x n matrix, in the caller's precision (float32 halves memory and
memory traffic; sums and Q are float64), compacted as clusters join (the last
slot moves into the freed one), so scans run over contiguous entries; each
pair is searched once, in the row of its smaller slot (columns after it). The
row with the smallest bound is scanned first, then the rows that can still win
are split over the threads, each with its own running best; the smallest of
those is the exact minimum, so the result does not depend on the thread count.
Numba, because the step loop cannot be vectorised.
"""

from __future__ import annotations

import numba
import numpy as np

from ..progress import Progress
from .merges import Merges
from .working import report, reporting, working_matrix


# Relative slack on the bounds: rounding must never let a bound exceed a true minimum.
_SLACK = 1e-9


@numba.njit(cache=True, inline="always")
def _precedes(ka, kb, ba, bb):  # pragma: no cover - compiled
    # The tie rule: pairs compare by (smaller key, larger key); keys are the clusters' smallest leaf indices.
    a0, a1 = min(ka, kb), max(ka, kb)
    b0, b1 = min(ba, bb), max(ba, bb)
    return a0 < b0 or (a0 == b0 and a1 < b1)


@numba.njit(cache=True)
def _scan_row(d, r, key, i, m, factor, best, bi, bj):  # pragma: no cover - compiled
    """Row ``i``'s minimum of Q over the columns after it; updates the running best pair."""
    ri = r[i]
    row_min = np.inf
    for j in range(i + 1, m):
        q = factor * d[i, j] - (ri + r[j])  # (ri + rj) is symmetric, so Q(i, j) == Q(j, i) bit for bit
        if q < row_min:
            row_min = q
        if q <= best:
            if q < best or _precedes(key[i], key[j], key[bi], key[bj]):
                best = q
                bi = i
                bj = j
    return best, bi, bj, row_min


@numba.njit(cache=True, parallel=True)
def _nj_kernel(d, prune, threads, progress=False):  # pragma: no cover - compiled
    n = d.shape[0]
    # d is overwritten; float32 or float64 as given, sums and Q in float64.
    # Slots 0..m-1 hold the active clusters; a joined pair's slot is reused and the last slot moves into the
    # freed one, so every scan is over contiguous entries. Row i is searched over columns j > i only.
    node = np.arange(n)
    key = np.arange(n)  # smallest leaf index in each cluster: the tie-break key
    r = np.zeros(n)
    row_max = np.zeros(n)
    scale = 0.0
    for i in range(n):
        total = 0.0
        largest = 0.0
        for j in range(n):
            v = float(d[i, j])
            total += v
            if v > largest:
                largest = v
        r[i] = total
        row_max[i] = largest
        if largest > scale:
            scale = largest
    bound = np.full(n, -np.inf)  # lower bound of each row's minimum Q (columns after it); -inf: scan it
    half_sum = np.zeros(n)
    candidates = np.empty(n, np.int64)
    t_best = np.empty(threads)
    t_i = np.empty(threads, np.int64)
    t_j = np.empty(threads, np.int64)
    t_scanned = np.zeros(threads, np.int64)
    children = np.zeros((n - 3, 2), np.int64)
    lengths = np.zeros((n - 3, 2))
    m = n
    for step in range(n - 3):
        if progress and step % 64 == 0:
            with numba.objmode():
                report(step)
        slack = _SLACK * (scale * m + 1.0)
        factor = m - 2.0
        # The row with the smallest bound first: its minimum is a good threshold for all the others.
        first = 0
        for i in range(1, m - 1):
            if bound[i] < bound[first]:
                first = i
        best, bi, bj, row_min = _scan_row(d, r, key, first, m, factor, np.inf, -1, -1)
        bound[first] = row_min
        t_scanned[0] += 1
        count = 0
        for i in range(m - 1):
            if i != first and (not prune or bound[i] - slack <= best):
                candidates[count] = i
                count += 1
        # Each thread scans every threads-th candidate with its own running best; the exact minimum is
        # the smallest of theirs, whatever the number of threads.
        for t in numba.prange(threads):
            local, li, lj = best, bi, bj
            for c in range(t, count, threads):
                i = candidates[c]
                if prune and bound[i] - slack > local:
                    continue
                local, li, lj, row_min = _scan_row(d, r, key, i, m, factor, local, li, lj)
                bound[i] = row_min
                t_scanned[t] += 1
            t_best[t], t_i[t], t_j[t] = local, li, lj
        for t in range(threads):
            if t_best[t] < best or (t_best[t] == best and _precedes(key[t_i[t]], key[t_j[t]], key[bi], key[bj])):
                best, bi, bj = t_best[t], t_i[t], t_j[t]
        i, j = (bi, bj) if key[bi] < key[bj] else (bj, bi)  # children in key order
        dij = float(d[i, j])
        li = 0.5 * dij + (r[i] - r[j]) / (2.0 * (m - 2))
        children[step, 0] = node[i]
        children[step, 1] = node[j]
        lengths[step, 0] = li
        lengths[step, 1] = dij - li
        lo, hi = (i, j) if i < j else (j, i)
        min_half = np.inf
        for k in range(m):
            if k != i and k != j:
                half = 0.5 * (float(d[i, k]) + float(d[j, k]))
                half_sum[k] = half
                if half < min_half:
                    min_half = half
        new_r = 0.0
        new_max = 0.0
        for k in range(m):
            if k != i and k != j:
                dk = 0.5 * (float(d[i, k]) + float(d[j, k]) - dij)
                # r uses the unrounded dk: the bound identity below holds exactly for the stored values.
                r[k] = r[k] - float(d[i, k]) - float(d[j, k]) + dk
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
            half_sum[hi] = half_sum[last]
            node[hi] = node[last]
            key[hi] = key[last]
            bound[hi] = -np.inf  # its row now spans other columns
        m -= 1
        factor = m - 2.0
        for k in range(m):
            if k != lo:
                carried = bound[k] + dij + half_sum[k] + min_half - row_max[k]
                if k < lo:  # the new pair (k, lo) is in row k's columns
                    fresh = factor * float(d[lo, k]) - (r[k] + r[lo])
                    if fresh < carried:
                        carried = fresh
                bound[k] = carried
        bound[lo] = -np.inf
    return children, lengths, node[:3].copy(), d[:3, :3].astype(np.float64), t_scanned.sum()


# The same loop compiled without threads, for small matrices: the threaded version costs ~0.3 s to load
# (numba's parallel runtime) and saves nothing below a few thousand models; the result is the same (tested).
_nj_kernel_serial = numba.njit(cache=True)(_nj_kernel.py_func)

#: From this many models on, the rows are searched by all of numba's threads.
THREADS_FROM = 2500


def nj_merges(
    values: np.ndarray, *, clamp: bool = True, prune: bool = True, progress: bool = False, overwrite: bool = False
) -> Merges:
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
    overwrite : bool
        Join in ``values`` itself (destroying it) instead of a copy, when it is
        C-contiguous float32/float64: no second n x n matrix.

    Returns
    -------
    Merges
        ``n - 3`` pairwise joins, then the three remaining nodes at the root.
        Exact ties in Q go to the pair with the smallest leaf indices.
    """
    with Progress(values.shape[0] - 3, "neighbour joining", enabled=progress) as bar, reporting(bar, progress):
        children, lengths, last_nodes, d, _ = _kernel(values.shape[0])(working_matrix(values, overwrite), prune, numba.get_num_threads(), progress)
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
    return int(_kernel(values.shape[0])(working_matrix(values, False), prune, numba.get_num_threads(), False)[4])


def _kernel(n: int):
    return _nj_kernel if n >= THREADS_FROM else _nj_kernel_serial


def warm_up(n_models: int, dtype=np.float64) -> None:
    """Load (or compile) the kernel a build of ``n_models`` will use, so that timing a build times only the build."""
    _kernel(n_models)(np.ones((4, 4), dtype=dtype) - np.eye(4, dtype=dtype), True, 1, False)
