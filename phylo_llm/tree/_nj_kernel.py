"""The compiled neighbour-joining loop (numba); the algorithm is described in :mod:`phylo_llm.tree._nj`."""

from __future__ import annotations

import numba
import numpy as np

from ._working import report

# Reads go through np.float64(...): numba's float() keeps a float32 a float32, and the sums must be float64.

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
        if q <= best and (q < best or _precedes(key[i], key[j], key[bi], key[bj])):
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
            v = np.float64(d[i, j])
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
        dij = np.float64(d[i, j])
        li = 0.5 * dij + (r[i] - r[j]) / (2.0 * (m - 2))
        children[step, 0] = node[i]
        children[step, 1] = node[j]
        lengths[step, 0] = li
        lengths[step, 1] = dij - li
        lo, hi = (i, j) if i < j else (j, i)
        min_half = np.inf
        for k in range(m):
            if k != i and k != j:
                half = 0.5 * (np.float64(d[i, k]) + np.float64(d[j, k]))
                half_sum[k] = half
                if half < min_half:
                    min_half = half
        new_r = 0.0
        new_max = 0.0
        for k in range(m):
            if k != i and k != j:
                dk = 0.5 * (np.float64(d[i, k]) + np.float64(d[j, k]) - dij)
                # r uses the unrounded dk: the bound identity below holds exactly for the stored values.
                r[k] = r[k] - np.float64(d[i, k]) - np.float64(d[j, k]) + dk
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
                    fresh = factor * np.float64(d[lo, k]) - (r[k] + r[lo])
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


def kernel_for(n: int):
    """The threaded kernel from :data:`THREADS_FROM` models on, the serial one below."""
    return _nj_kernel if n >= THREADS_FROM else _nj_kernel_serial
