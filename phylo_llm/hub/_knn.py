"""Exact k nearest neighbours, block by block: never more than ``block x reference`` distances in memory.

Candidates come from BLAS matrix products (:func:`phylo_llm.distance.cross_distances`);
the ``2k`` best of each block are re-measured directly (difference by
difference), and the ``k`` nearest kept by (distance, index). The direct
re-measurement makes every reported distance independent of how rows were
grouped into blocks or partitions (a matrix product's rounding depends on the
shape of the product), so the neighbours, their order and their distances
are the same whatever the number of workers or partitions.
"""

from __future__ import annotations

import numpy as np

from ..distance import GRAM_METRICS, cross_distances, parse_metric
from ..errors import PhyloLLMError

#: Query rows per matrix product: bounds the float64 temporary to ``8 * BLOCK * reference`` bytes.
BLOCK = 1024


def nearest(
    queries: np.ndarray,
    reference: np.ndarray,
    k: int,
    metric: str = "euclidean",
    *,
    query_index: np.ndarray | None = None,
    reference_index: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest reference rows of every query row, exactly.

    Parameters
    ----------
    queries, reference : numpy.ndarray
        ``(q, d)`` and ``(r, d)`` vectors.
    k : int
        Neighbours per query (at most ``r``; fewer columns when ``r`` is smaller).
    metric : str
        Any metric of :func:`phylo_llm.distance.parse_metric` without ``+csls``.
    query_index, reference_index : numpy.ndarray, optional
        Global numbers of the rows: a query is never its own neighbour
        (same number), ties go to the smaller number, and the returned
        indices are these numbers (default: positions in ``reference``).

    Returns
    -------
    (index, distance) : ``(q, k)`` int64 and float64 arrays, nearest first.

    Examples
    --------
    >>> import numpy as np
    >>> points = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> index, distance = nearest(points, points, 2, query_index=np.arange(4), reference_index=np.arange(4))
    >>> index.tolist(), distance.tolist()
    ([[1, 2], [0, 2], [1, 0], [2, 1]], [[1.0, 3.0], [1.0, 2.0], [2.0, 3.0], [4.0, 6.0]])
    """
    base = parse_metric(metric, csls=False).base
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    reference = np.ascontiguousarray(reference, dtype=np.float64)
    ref_index = np.arange(len(reference)) if reference_index is None else np.asarray(reference_index, dtype=np.int64)
    self_match = query_index is not None
    own = np.asarray(query_index, dtype=np.int64) if query_index is not None else np.empty(0, dtype=np.int64)
    k = min(k, len(reference) - (1 if self_match else 0))
    if k < 1:
        raise PhyloLLMError("no neighbour to find: the reference holds no other model")
    index = np.empty((len(queries), k), dtype=np.int64)
    distance = np.empty((len(queries), k))
    wide = min(len(reference), 2 * k + (1 if self_match else 0))
    for start in range(0, len(queries), BLOCK):
        stop = min(start + BLOCK, len(queries))
        block = cross_distances(queries[start:stop], reference, base)
        if self_match:
            block[own[start:stop, None] == ref_index[None, :]] = np.inf
        candidates = np.argpartition(block, wide - 1, axis=1)[:, :wide] if wide < len(reference) else \
            np.broadcast_to(np.arange(len(reference)), block.shape).copy()
        exact = direct_distances(queries[start:stop], reference, candidates, base)
        if self_match:
            exact[ref_index[candidates] == own[start:stop, None]] = np.inf
        order = np.lexsort((ref_index[candidates], exact), axis=1)[:, :k]
        index[start:stop] = np.take_along_axis(ref_index[candidates], order, axis=1)
        distance[start:stop] = np.take_along_axis(exact, order, axis=1)
    bad = ~np.isfinite(distance)
    if bad.any():
        raise PhyloLLMError(f"a distance between DNA vectors is not finite (query row {int(np.argwhere(bad)[0][0]) + 1})")
    return index, distance


def direct_distances(queries: np.ndarray, reference: np.ndarray, columns: np.ndarray, metric: str) -> np.ndarray:
    """``(q, c)`` distances from each query to the reference rows ``columns[q]``, difference by difference."""
    if metric not in GRAM_METRICS:
        return np.stack([cross_distances(queries[i:i + 1], reference[columns[i]], metric)[0] for i in range(len(queries))])
    out = np.empty(columns.shape)
    rows = max(1, 2**24 // max(1, columns.shape[1] * queries.shape[1]))  # (rows, c, d) float64 temporaries of <= 128 MB
    for start in range(0, len(queries), rows):
        q = queries[start:start + rows]
        picked = reference[columns[start:start + rows]]  # (rows, c, d)
        if metric == "cosine":
            q = q / np.linalg.norm(q, axis=1, keepdims=True)
            picked = picked / np.linalg.norm(picked, axis=2, keepdims=True)
            out[start:start + rows] = np.maximum(1.0 - np.einsum("qcd,qd->qc", picked, q), 0.0)
            continue
        diff = picked - q[:, None, :]
        squared = np.einsum("qcd,qcd->qc", diff, diff)
        out[start:start + rows] = squared if metric == "sqeuclidean" else np.sqrt(squared)
    return out


def merge_nearest(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest of two neighbour lists of the same queries, by (distance, index)."""
    index = np.concatenate([first[0], second[0]], axis=1)
    distance = np.concatenate([first[1], second[1]], axis=1)
    order = np.lexsort((index, distance), axis=1)[:, :k]
    return np.take_along_axis(index, order, axis=1), np.take_along_axis(distance, order, axis=1)
