"""Compiled loops for :mod:`phylo_llm.distance` (numba): fused element-wise passes over big matrices."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, parallel=True)
def finish_distance_block(x, norms, gram, start, metric, out):  # pragma: no cover - compiled
    """Rows ``start..`` of the upper triangle from their dot products (metric: 0 euclidean, 1 sqeuclidean, 2 cosine)."""
    rows = gram.shape[0]
    n = x.shape[0]
    dim = x.shape[1]
    for a in numba.prange(rows):
        i = start + a
        out[i, i] = 0.0
        for j in range(i + 1, n):
            g = gram[a, j - start]
            if metric == 2:
                value = 1.0 - g
                close = value < 1e-6
            else:
                value = norms[i] + norms[j] - 2.0 * g
                close = value < 1e-6 * (norms[i] + norms[j])
            if close:  # cancellation may have eaten the digits: recompute from the difference
                total = 0.0
                for k in range(dim):
                    diff = x[i, k] - x[j, k]
                    total += diff * diff
                value = 0.5 * total if metric == 2 else total
            if value < 0.0:
                value = 0.0
            if metric == 0:
                value = np.sqrt(value)
            out[i, j] = value


@numba.njit(cache=True, parallel=True)
def mirror_upper(out):  # pragma: no cover - compiled
    """Copy the upper triangle onto the lower one, tile by tile (cache-friendly transposition)."""
    n = out.shape[0]
    tile = 64
    tiles = (n + tile - 1) // tile
    for ti in numba.prange(tiles):
        i0 = ti * tile
        for j0 in range(0, i0 + tile, tile):
            for i in range(i0, min(i0 + tile, n)):
                for j in range(j0, min(j0 + tile, i)):
                    out[i, j] = out[j, i]
