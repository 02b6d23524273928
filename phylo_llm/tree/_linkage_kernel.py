"""The compiled nearest-neighbour chain (numba); the algorithm is described in :mod:`phylo_llm.tree._linkage`."""

from __future__ import annotations

import numba
import numpy as np

from ._working import report


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
                current = np.float64(d[x, y])
            else:
                y = -1
                current = np.inf
            for i in range(n):
                if size[i] == 0 or i == x:
                    continue
                value = np.float64(d[x, i])
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
                value = 0.5 * (np.float64(d[i, x]) + np.float64(d[i, y]))
            else:
                value = (nx * np.float64(d[i, x]) + ny * np.float64(d[i, y])) / (nx + ny)
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
