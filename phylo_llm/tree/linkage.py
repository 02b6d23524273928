"""UPGMA and WPGMA: SciPy's nearest-neighbour-chain algorithm, on the square matrix, in place.

UPGMA is average linkage weighted by cluster size (Sokal & Michener 1958);
WPGMA weights the two joined clusters equally. Both give rooted ultrametric
trees: a join at distance ``h`` puts the new node at height ``h / 2``.

The kernel follows ``scipy.cluster.hierarchy.linkage`` (method ``"average"`` /
``"weighted"``) step for step: the same nearest-neighbour chain (ties keep the
previous chain element, then the smallest index), the same Lance-Williams
updates, the joins then sorted by height (stably) and labelled with a
union-find, so a float64 matrix gives SciPy's linkage exactly (tested). It
reads rows of the square matrix, contiguous, where SciPy indexes a condensed
float64 copy; a float32 matrix stays float32 (half the memory) and may be
joined in place.
"""

from __future__ import annotations

import numba
import numpy as np

from ..progress import Progress
from .merges import Merges
from .working import report, reporting, working_matrix

LINKAGE_METHODS = {"upgma": "average", "wpgma": "weighted"}


@numba.njit(cache=True)
def _nn_chain(d, weighted, progress=False):  # pragma: no cover - compiled
    n = d.shape[0]
    size = np.ones(n, np.int64)  # 0: merged into another cluster
    table = np.empty((n - 1, 4))
    chain = np.empty(n, np.int64)
    length = 0
    for k in range(n - 1):
        if progress and k % 64 == 0:
            with numba.objmode():
                report(k)
        if length == 0:
            for i in range(n):
                if size[i] > 0:
                    chain[0] = i
                    length = 1
                    break
        while True:
            x = chain[length - 1]
            if length > 1:
                y = chain[length - 2]
                current = float(d[x, y])
            else:
                y = -1
                current = np.inf
            for i in range(n):
                if size[i] == 0 or i == x:
                    continue
                value = float(d[x, i])
                if value < current:
                    current = value
                    y = i
            if length > 1 and y == chain[length - 2]:
                break
            chain[length] = y
            length += 1
        length -= 2
        if x > y:
            x, y = y, x
        nx = size[x]
        ny = size[y]
        table[k, 0] = x
        table[k, 1] = y
        table[k, 2] = current
        table[k, 3] = nx + ny
        size[x] = 0
        size[y] = nx + ny
        for i in range(n):
            if size[i] == 0 or i == y:
                continue
            if weighted:
                value = 0.5 * (float(d[i, x]) + float(d[i, y]))
            else:
                value = (nx * float(d[i, x]) + ny * float(d[i, y])) / (nx + ny)
            d[i, y] = value
            d[y, i] = value
    return table


@numba.njit(cache=True)
def _label(table, n):  # pragma: no cover - compiled
    # SciPy's union-find relabelling of the height-sorted joins: cluster ids become n, n+1, ...
    parent = np.arange(2 * n - 1)
    for k in range(n - 1):
        roots = np.empty(2, np.int64)
        for side in range(2):
            x = int(table[k, side])
            root = x
            while parent[root] != root:
                root = parent[root]
            while parent[x] != root:  # path compression
                parent[x], x = root, parent[x]
            roots[side] = root
        a, b = min(roots[0], roots[1]), max(roots[0], roots[1])
        table[k, 0] = a
        table[k, 1] = b
        parent[a] = n + k
        parent[b] = n + k
    return table


def linkage_table(values: np.ndarray, method: str, overwrite: bool = False, progress: bool = False) -> np.ndarray:
    """SciPy's linkage matrix ``(n - 1, 4)`` for UPGMA (``"upgma"``) or WPGMA (``"wpgma"``) of a square matrix."""
    with Progress(values.shape[0] - 1, method.upper(), enabled=progress) as bar, reporting(bar, progress):
        table = _nn_chain(working_matrix(values, overwrite), method == "wpgma", progress)
    table = table[np.argsort(table[:, 2], kind="mergesort")]
    return _label(table, values.shape[0])


def linkage_merges(values: np.ndarray, method: str, overwrite: bool = False, progress: bool = False) -> Merges:
    """Joins of UPGMA (``method="upgma"``) or WPGMA (``"wpgma"``) for a square distance matrix."""
    n = values.shape[0]
    table = linkage_table(values, method, overwrite, progress)
    height = np.zeros(2 * n - 1)
    merges = Merges(n_leaves=n)
    for k, (a, b, distance, _) in enumerate(table):
        a, b = int(a), int(b)
        top = distance / 2.0
        height[n + k] = top
        # Rounding can put a parent a hair below its child; a length is never negative.
        merges.children.append((a, b))
        merges.lengths.append((max(top - height[a], 0.0), max(top - height[b], 0.0)))
    return merges
