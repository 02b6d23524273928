"""Compiled APPLES placement on each query's nearest leaves only (numba); the method is in :mod:`phylo_llm.hub._placement`."""

from __future__ import annotations

import numba
import numpy as np

from ..tree._place_kernel import _place_one


@numba.njit(cache=True)
def _lca(a, b, level, up):  # pragma: no cover - compiled
    if level[a] < level[b]:
        a, b = b, a
    diff = level[a] - level[b]
    j = 0
    while diff:
        if diff & 1:
            a = up[j, a]
        diff >>= 1
        j += 1
    if a == b:
        return a
    for j in range(up.shape[0] - 1, -1, -1):
        if up[j, a] != up[j, b]:
            a = up[j, a]
            b = up[j, b]
    return up[0, a]


@numba.njit(cache=True)
def _local_place_kernel(parent, depth, level, up, leaf_node, candidates, delta, fm):  # pragma: no cover - compiled
    # For each query: the virtual tree of its candidate leaves (those leaves and their pairwise
    # common ancestors, edges = the paths between them), least-squares placement on it with the
    # whole-tree kernel, then the point found mapped back onto the edge of the full tree it lies on.
    k, width = candidates.shape
    edge = np.zeros(k, np.int64)
    distal = np.zeros(k)
    pendant = np.zeros(k)
    error = np.zeros(k)
    below = np.zeros((2 * width, 6))
    above = np.zeros((2 * width, 6))
    used = np.ones(width, np.bool_)
    for q in range(k):
        nodes = np.empty(2 * width - 1, np.int64)
        for i in range(width):
            nodes[i] = leaf_node[candidates[q, i]]
        leaves = np.sort(nodes[:width])
        for i in range(width - 1):
            nodes[width + i] = _lca(leaves[i], leaves[i + 1], level, up)
        virtual = np.unique(nodes)  # sorted by node number = preorder: the virtual tree's preorder
        m = virtual.shape[0]
        vparent = np.full(m, -1, np.int64)
        vlength = np.zeros(m)
        leaf_of = np.full(m, -1, np.int64)
        for i in range(1, m):
            top = _lca(virtual[i - 1], virtual[i], level, up)
            vparent[i] = np.searchsorted(virtual, top)
            vlength[i] = depth[virtual[i]] - depth[top]
        for i in range(width):
            leaf_of[np.searchsorted(virtual, leaf_node[candidates[q, i]])] = i
        vedge, x, ell, err = _place_one(vparent, vlength, leaf_of, delta[q], used, fm, below, above)
        # Back on the full tree: the highest node w on the path from the virtual edge's lower end up to
        # its upper end (excluded) that is at least as deep as the attachment point.
        low = virtual[vedge]
        stop = virtual[vparent[vedge]]
        height = depth[low] - x
        w = low
        for j in range(up.shape[0] - 1, -1, -1):
            a = up[j, w]
            if a >= 0 and level[a] > level[stop] and depth[a] >= height:
                w = a
        edge[q] = w
        distal[q] = min(max(depth[w] - height, 0.0), depth[w] - depth[parent[w]])
        pendant[q] = ell
        error[q] = err
    return edge, distal, pendant, error
