"""Neighbour joining (Saitou & Nei 1987; Studier & Keppler 1988), exact and canonical.

Every step scans the full Q matrix, as the textbook algorithm does, with NumPy
array operations over a working matrix that shrinks by swapping the last
active row into the removed one. Time O(n^3), memory one n x n float64
matrix plus one Q buffer.

Ties in Q are broken by the smallest model index (the ids are sorted before
building), so the same matrix always gives the same tree.
"""

from __future__ import annotations

import numpy as np

from ..progress import Progress
from .merges import Merges


def nj_merges(values: np.ndarray, *, clamp: bool = True, progress: bool = False) -> Merges:
    """Neighbour-joining joins of a symmetric distance matrix.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n, n)`` distances, ``n >= 3``; leaves are its row indices.
    clamp : bool
        Set negative branch lengths to 0 (they are counted in
        ``Merges.negative_clamped``); distance updates use the unclamped values,
        as in the textbook algorithm.
    progress : bool
        Draw a progress bar on standard error.

    Returns
    -------
    Merges
        ``n - 3`` pairwise joins, then the three remaining nodes at the root.
    """
    n = values.shape[0]
    work = np.array(values, dtype=np.float64, copy=True)
    q_buffer = np.empty_like(work)
    node = np.arange(n)  # node id held by each slot
    key = np.arange(n)  # smallest leaf index in each slot's subtree (the tie-break key)
    merges = Merges(n_leaves=n)
    raw_lengths: list[tuple[float, float]] = []
    active = n
    with Progress(n - 3, "neighbour joining", enabled=progress) as bar:
        while active > 3:
            d = work[:active, :active]
            r = d.sum(axis=1)
            q = q_buffer[:active, :active]
            np.multiply(d, active - 2, out=q)
            q -= r[:, None]
            q -= r[None, :]
            diagonal = np.arange(active)
            q[diagonal, diagonal] = np.inf
            i, j = _pick_pair(q, key[:active])
            dij = d[i, j]
            li = 0.5 * dij + (r[i] - r[j]) / (2.0 * (active - 2))
            lj = dij - li
            merges.children.append((int(node[i]), int(node[j])))
            raw_lengths.append((li, lj))
            joined = 0.5 * (d[i] + d[j] - dij)
            lo, hi = (i, j) if i < j else (j, i)
            new_key = min(key[i], key[j])
            last = active - 1
            if hi != last:  # move the last slot into the freed one
                work[hi, :active] = work[last, :active]
                work[:active, hi] = work[:active, last]
                joined[hi] = joined[last]
                node[hi], key[hi] = node[last], key[last]
            active -= 1
            joined = joined[:active]
            joined[lo] = 0.0
            work[lo, :active] = joined
            work[:active, lo] = joined
            node[lo] = n + len(merges.children) - 1
            key[lo] = new_key
            bar.update()
    d = work[:3, :3]
    root_lengths = (
        0.5 * (d[0, 1] + d[0, 2] - d[1, 2]),
        0.5 * (d[0, 1] + d[1, 2] - d[0, 2]),
        0.5 * (d[0, 2] + d[1, 2] - d[0, 1]),
    )
    lengths = np.array([x for pair in raw_lengths for x in pair] + list(root_lengths), dtype=np.float64)
    if clamp:
        clamped = lengths < 0
        merges.negative_clamped = int(clamped.sum())
        lengths[clamped] = 0.0
    merges.lengths = [(lengths[2 * k], lengths[2 * k + 1]) for k in range(len(raw_lengths))]
    merges.root_children = tuple(int(x) for x in node[:3])
    merges.root_lengths = tuple(float(x) for x in lengths[-3:])
    return merges


def _pick_pair(q: np.ndarray, key: np.ndarray) -> tuple[int, int]:
    """Slots of the minimal Q entry; among exact ties, the pair with the smallest (key, key)."""
    flat = int(np.argmin(q))
    i, j = divmod(flat, q.shape[1])
    ties = np.argwhere(q == q[i, j])
    if len(ties) > 2:  # (i, j) and (j, i) are the same pair
        pair_keys = np.sort(key[ties], axis=1)
        best = np.lexsort((pair_keys[:, 1], pair_keys[:, 0]))[0]
        i, j = map(int, ties[best])
    return i, j
