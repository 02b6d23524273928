"""The compiled least-squares placement pass (numba); the method is described in :mod:`phylo_llm.tree._place`."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _place_kernel(parent, length, leaf_of, delta, used, fm):  # pragma: no cover - compiled
    n_nodes = parent.shape[0]
    k = delta.shape[0]
    edge = np.zeros(k, np.int64)
    distal = np.zeros(k)
    pendant = np.zeros(k)
    error = np.zeros(k)
    # below[v] / above[v]: sums over the leaves below v (distances from v) and outside v (distances from v's parent).
    below = np.zeros((n_nodes, 6))
    above = np.zeros((n_nodes, 6))
    for q in range(k):
        edge[q], distal[q], pendant[q], error[q] = _place_one(parent, length, leaf_of, delta[q], used[q], fm, below, above)
    return edge, distal, pendant, error


@numba.njit(cache=True)
def _place_one(parent, length, leaf_of, delta, used, fm, below, above):  # pragma: no cover - compiled
    # One query: ``delta``/``used`` are its row; ``below``/``above`` are (>= nodes, 6) work arrays.
    # Returns (edge, distal, pendant, error).
    n_nodes = parent.shape[0]
    edge = 0
    distal = 0.0
    pendant = 0.0
    # FM weights are infinite at distance 0: a model that coincides with a leaf goes onto that leaf
    # (x = l = 0), and its error is measured over the other leaves.
    zero = 1e-9 * np.max(delta)
    at_leaf = -1
    below[:n_nodes] = 0.0
    above[:n_nodes] = 0.0
    for v in range(n_nodes):
        leaf = leaf_of[v]
        if leaf >= 0:
            d = delta[leaf]
            w = 1.0
            if not used[leaf]:
                w = 0.0
            elif fm:
                if d <= zero:
                    w = 0.0
                    if at_leaf < 0:
                        at_leaf = v
                else:
                    w = 1.0 / (d * d)
            below[v, 0] = w
            below[v, 1] = w * d
            below[v, 2] = w * d * d
    for v in range(n_nodes - 1, 0, -1):  # children come after their parent in preorder
        _add_shifted(below[parent[v]], below[v], length[v], 1.0)
    for v in range(1, n_nodes):
        u = parent[v]
        row = above[v]
        if u > 0:
            _add_shifted(row, above[u], length[u], 1.0)
        for c in range(6):
            row[c] += below[u, c]
        _add_shifted(row, below[v], length[v], -1.0)  # v's own subtree is not "above" v
    best = np.inf
    for v in range(1, n_nodes):
        if at_leaf >= 0 and v != at_leaf:
            continue
        big_l = length[v]
        b = below[v]
        a = above[v]
        wb = b[0]
        yb1 = b[1] - b[3]
        yb2 = b[2] - 2.0 * b[5] + b[4]
        wa = a[0]
        za1 = a[1] - a[3] - big_l * wa
        za2 = (a[2] - 2.0 * a[5] + a[4]) - 2.0 * big_l * (a[1] - a[3]) + big_l * big_l * wa
        if (wb <= 0.0 or wa <= 0.0) and at_leaf < 0:
            continue
        s0 = yb1 / wb if wb > 0.0 else 0.0
        t0 = za1 / wa if wa > 0.0 else 0.0
        # Candidates: the free optimum, then each boundary (x = 0, x = L, l = 0) with the other variable optimal.
        x_best = 0.0
        l_best = 0.0
        f_best = np.inf
        for case in range(4):
            if at_leaf >= 0 and case != 1:
                continue
            if case == 0:
                x = 0.5 * (s0 - t0)
                ell = 0.5 * (s0 + t0)
                if x < 0.0 or x > big_l or ell < 0.0:
                    continue
            elif case == 3:
                x = min(max((wb * s0 - wa * t0) / (wb + wa), 0.0), big_l)
                ell = 0.0
            elif at_leaf >= 0:
                x = 0.0
                ell = 0.0
            else:
                x = 0.0 if case == 1 else big_l
                ell = max((wb * (s0 - x) + wa * (t0 + x)) / (wb + wa), 0.0)
            s = ell + x
            t = ell - x
            f = (yb2 - 2.0 * s * yb1 + s * s * wb) + (za2 - 2.0 * t * za1 + t * t * wa)
            if f < f_best:
                f_best = f
                x_best = x
                l_best = ell
        if f_best < best:
            best = f_best
            edge = v
            distal = x_best
            pendant = l_best
    return edge, distal, pendant, max(best, 0.0)


@numba.njit(cache=True, inline="always")
def _add_shifted(target, sums, shift, sign):  # pragma: no cover - compiled
    # Adds (sign 1) or removes (sign -1) sums over leaves at distance a, re-measured from a node
    # ``shift`` higher (a -> a + shift): [w, w d, w d^2, w a, w a^2, w d a].
    target[0] += sign * sums[0]
    target[1] += sign * sums[1]
    target[2] += sign * sums[2]
    target[3] += sign * (sums[3] + shift * sums[0])
    target[4] += sign * (sums[4] + 2.0 * shift * sums[3] + shift * shift * sums[0])
    target[5] += sign * (sums[5] + shift * sums[1])
