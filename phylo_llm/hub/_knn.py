"""Exact k nearest neighbours, block by block: never more than ``block x reference`` scores in memory.

For the dot-product metrics, candidates come from float32 BLAS products of
centred (cosine: unit) vectors, scored ``|r|^2 - 2 q.r`` (the squared
distance less ``|q|^2``, which does not change a row's order), and the
``2k + 1`` lowest of each row are kept by a compiled one-pass selection
(:mod:`phylo_llm.hub._knn_kernel`). A row's candidates are certified to hold
its exact ``k`` nearest when the gap between its ``k``-th and last candidate
scores exceeds twice the float32 rounding bound of a score (Higham 2002,
dot products: ``|error| <= (d + 2) u |q| |r|``); the rare rows without that
margin (many near-identical models) are redone in float64. Other metrics
take SciPy's ``cdist`` in float64. The candidates are then re-measured
directly (difference by difference) and the ``k`` nearest kept by
(distance, index): every reported distance is independent of how rows were
grouped into blocks or partitions, so the neighbours, their order and their
distances are the same whatever the number of workers or partitions.

References
----------
Higham NJ (2002). Accuracy and Stability of Numerical Algorithms, 2nd ed., SIAM, section 3.1.
"""

from __future__ import annotations

import numpy as np

from ..distance import GRAM_METRICS, cross_distances, parse_metric
from ..errors import PhyloLLMError
from ._knn_kernel import smallest_scores

#: Query rows per matrix product: bounds the temporary to ``4 * BLOCK * reference`` bytes (float32 path).
BLOCK = 1024
#: Unit roundoff of float32.
_U32 = 2.0**-24


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
    wide = min(len(reference), 2 * k + (1 if self_match else 0))  # float64 path: self among them, masked
    # float32 path: 2k + 1 columns other than the query itself, so a certified row always has non-candidates beyond
    fast = _Float32Reference(reference, base) if base in GRAM_METRICS and len(reference) - 1 >= 2 * k + 1 else None
    # Each query's own column, once per call (not per block): -1 where the query is not in the reference
    skip_all = _self_columns(own, ref_index) if self_match else np.full(len(queries), -1, dtype=np.int64)
    for start in range(0, len(queries), BLOCK):
        stop = min(start + BLOCK, len(queries))
        skip = skip_all[start:stop]
        if fast is not None:
            candidates, uncertain = fast.candidates(queries[start:stop], 2 * k + 1, k, skip)
            if uncertain.any():  # no float32 margin: these rows in float64
                candidates[uncertain] = _float64_candidates(queries[start:stop][uncertain], reference, base, 2 * k + 1,
                                                            skip[uncertain])
        else:
            candidates = _float64_candidates(queries[start:stop], reference, base, wide, skip)
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


def _self_columns(own: np.ndarray, ref_index: np.ndarray) -> np.ndarray:
    """Per query (its number in ``own``), the reference column holding the query itself; -1: none."""
    if not len(own) or not len(ref_index):
        return np.full(len(own), -1, dtype=np.int64)
    order = np.argsort(ref_index, kind="stable")
    at = np.minimum(np.searchsorted(ref_index, own, sorter=order), len(ref_index) - 1)
    column = order[at]
    return np.where(ref_index[column] == own, column, -1).astype(np.int64)


def _float64_candidates(queries: np.ndarray, reference: np.ndarray, base: str, wide: int, skip: np.ndarray) -> np.ndarray:
    """``(q, wide)`` reference columns with the smallest float64 distances; ``skip[q]`` (the query itself) last."""
    block = cross_distances(queries, reference, base)
    mine = np.flatnonzero(skip >= 0)
    block[mine, skip[mine]] = np.inf
    if wide < len(reference):
        return np.argpartition(block, wide - 1, axis=1)[:, :wide]
    return np.broadcast_to(np.arange(len(reference)), block.shape).copy()


class _Float32Reference:
    """The reference as float32 rows (centred; cosine: unit) with what a certified candidate search needs."""

    def __init__(self, reference: np.ndarray, base: str) -> None:
        self.cosine = base == "cosine"
        if self.cosine:
            norms = np.linalg.norm(reference, axis=1, keepdims=True)
            if (norms == 0).any():
                raise PhyloLLMError(f"reference row {int(np.argmax(norms == 0)) + 1} is a zero vector: its cosine distance is undefined")
            rows = reference / norms
            self.centre = np.zeros(reference.shape[1])
            self.offset = np.zeros(len(reference))
        else:  # distances do not change under translation; centred vectors have smaller products to round
            self.centre = reference.mean(axis=0)
            rows = reference - self.centre
            self.offset = np.einsum("ij,ij->i", rows, rows)
        self.rows32 = np.ascontiguousarray(rows, dtype=np.float32)
        self.largest = float(np.sqrt(np.max(np.einsum("ij,ij->i", rows, rows))))
        self.dim = reference.shape[1]

    def candidates(self, queries: np.ndarray, wide: int, k: int, skip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(q, wide)`` candidate columns and, per query, whether they may miss one of its ``k`` nearest."""
        if self.cosine:
            norms = np.linalg.norm(queries, axis=1, keepdims=True)
            if (norms == 0).any():
                raise PhyloLLMError(f"query row {int(np.argmax(norms == 0)) + 1} is a zero vector: its cosine distance is undefined")
            q = queries / norms
        else:
            q = queries - self.centre
        gram = np.ascontiguousarray(q, dtype=np.float32) @ self.rows32.T
        factor = -1.0 if self.cosine else -2.0
        columns, scores = smallest_scores(gram, self.offset, factor, skip, wide)
        order = np.lexsort((columns, scores), axis=1)
        columns, scores = np.take_along_axis(columns, order, axis=1), np.take_along_axis(scores, order, axis=1)
        # Rounding of a score: the float32 casts and products, |error| <= (d + 2) u |q| |r| per product (doubled for
        # 2 q.r), plus the float64 rest; a non-candidate cannot beat the k-th when the gap is over twice that.
        bound = abs(factor) * (self.dim + 2) * _U32 * 1.01 * np.linalg.norm(q, axis=1) * self.largest
        bound += 1e-12 * (np.abs(scores[:, -1]) + self.largest**2)
        uncertain = scores[:, -1] - scores[:, k - 1] <= 2.0 * bound
        return columns, uncertain


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
