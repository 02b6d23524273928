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

Small matrices (below :data:`NUMPY_BELOW` models) are joined by the same
loop written in NumPy (:func:`numpy_joins`: every Q of a step at once, the
same float64 arithmetic, slots and tie rule, without bounds), so a small tree
does not pay the ~0.5 s of loading numba; both give identical joins (tested).
"""

from __future__ import annotations

import numpy as np

from .._signals import deferred_signals
from ..progress import Progress
from ._merges import Merges
from ._working import reporting, working_matrix

#: Below this many models the NumPy loop is used: it needs no compiled kernel (numba costs ~0.3 s to load),
#: and up to here its O(n^3) work takes less than that (benchmarks/bench_small_trees.py: whole process 0.61 s
#: vs 0.84 s at 400 models, even at 600).
NUMPY_BELOW = 500

ENGINES = ("auto", "numpy", "compiled")


def nj_merges(
    values: np.ndarray, *, clamp: bool = True, prune: bool = True, progress: bool = False, overwrite: bool = False,
    engine: str = "auto",
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
        Compiled kernel: skip rows whose bound shows they cannot hold the minimum (same result, faster).
    progress : bool
        A progress bar on standard error (drawn only if the build takes over a second).
    overwrite : bool
        Join in ``values`` itself (destroying it) instead of a copy, when it is
        C-contiguous float32/float64: no second n x n matrix.
    engine : {"auto", "numpy", "compiled"}
        ``"auto"``: NumPy below :data:`NUMPY_BELOW` models, the compiled kernel from there on.

    Returns
    -------
    Merges
        ``n - 3`` pairwise joins, then the three remaining nodes at the root.
        Exact ties in Q go to the pair with the smallest leaf indices.
    """
    n = values.shape[0]
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    matrix = working_matrix(values, overwrite)
    with Progress(n - 3, "neighbour joining", enabled=progress) as bar, reporting(bar, progress):
        if engine == "numpy" or (engine == "auto" and n < NUMPY_BELOW):
            children, lengths, last_nodes, d = numpy_joins(matrix, bar)
        else:
            import numba

            from ._nj_kernel import kernel_for

            with deferred_signals():
                children, lengths, last_nodes, d, _ = kernel_for(n)(matrix, prune, numba.get_num_threads(), progress)
    return _merges(n, children, lengths, last_nodes, d, clamp)


def numpy_joins(d: np.ndarray, bar: Progress | None = None):
    """The compiled kernel's loop in NumPy, step for step, in ``d`` (overwritten): O(n^3) time, no compilation.

    Same slots (the last moves into the freed one), same float64 arithmetic in
    the same order (row sums are sequential, as ``cumsum`` makes them), same
    tie rule; every Q of a step is computed, so no bounds are needed.
    Returns what the kernel returns but the scan count.
    """
    n = d.shape[0]
    node = np.arange(n)
    key = np.arange(n)  # smallest leaf index in each cluster: the tie-break key
    r = np.cumsum(d, axis=1, dtype=np.float64)[:, -1].copy()
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    children = np.zeros((n - 3, 2), np.int64)
    lengths = np.zeros((n - 3, 2))
    m = n
    for step in range(n - 3):
        if bar is not None and step % 64 == 0:
            bar.update_to(step)
        active = d[:m, :m].astype(np.float64)
        q = (m - 2.0) * active - (r[:m, None] + r[None, :m])
        q[~upper[:m, :m]] = np.inf
        rows, cols = np.nonzero(q == q.min())
        low, high = np.minimum(key[rows], key[cols]), np.maximum(key[rows], key[cols])
        pick = np.lexsort((high, low))[0]  # ties: the smallest (smaller key, larger key)
        bi, bj = int(rows[pick]), int(cols[pick])
        i, j = (bi, bj) if key[bi] < key[bj] else (bj, bi)  # children in key order
        dij = float(d[i, j])
        li = 0.5 * dij + (r[i] - r[j]) / (2.0 * (m - 2))
        children[step] = node[i], node[j]
        lengths[step] = li, dij - li
        lo, hi = (i, j) if i < j else (j, i)
        others = np.ones(m, dtype=bool)
        others[[i, j]] = False
        di, dj = active[i, others], active[j, others]
        dk = 0.5 * (di + dj - dij)
        # r uses the unrounded dk, as in the kernel.
        r[:m][others] = r[:m][others] - di - dj + dk
        d[lo, :m][others] = dk
        d[:m, lo][others] = dk
        d[lo, lo] = 0.0
        r[lo] = np.cumsum(dk)[-1]
        node[lo] = n + step
        key[lo] = min(key[i], key[j])
        last = m - 1
        if hi != last:  # move the last slot into the freed one
            d[hi, :m] = d[last, :m]
            d[:m, hi] = d[:m, last]
            d[hi, hi] = 0.0
            r[hi], node[hi], key[hi] = r[last], node[last], key[last]
        m -= 1
    return children, lengths, node[:3].copy(), d[:3, :3].astype(np.float64)


def _merges(n: int, children, lengths, last_nodes, d, clamp: bool) -> Merges:
    """Joins, the three nodes left at the root, and their lengths from the final 3 x 3 matrix."""
    root_lengths = np.array([
        0.5 * (d[0, 1] + d[0, 2] - d[1, 2]),
        0.5 * (d[0, 1] + d[1, 2] - d[0, 2]),
        0.5 * (d[0, 2] + d[1, 2] - d[0, 1]),
    ])
    flat = np.concatenate([np.asarray(lengths).ravel(), root_lengths])
    merges = Merges(n_leaves=n)
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
    """How many full row scans the compiled kernel makes (for benchmarks and tests)."""
    import numba

    from ._nj_kernel import kernel_for

    return int(kernel_for(values.shape[0])(working_matrix(values, False), prune, numba.get_num_threads(), False)[4])


def warm_up(n_models: int, dtype=np.float64) -> None:
    """Load (or compile) the kernel a build of ``n_models`` will use, so that timing a build times only the build."""
    if n_models < NUMPY_BELOW:
        return
    from ._nj_kernel import kernel_for

    kernel_for(n_models)(np.ones((4, 4), dtype=dtype) - np.eye(4, dtype=dtype), True, 1, False)
