"""Pair features from per-probe embeddings: what a relation model sees of two models.

The summed distance between two models hides how it is made: a fine-tune
answers most probes as its base does and a few very differently, an unrelated
model differs a little everywhere. The features keep that shape (quantiles of
the per-probe distances, the share of near-identical answers) beside the
total distance, its hubness-corrected form and the two models' mutual ranks.
"""

from __future__ import annotations

import numpy as np

from ..distance import DistanceMatrix, csls, probe_distances
from ..probes import ProbeEmbeddings

#: Quantiles of the per-probe distances kept as features.
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75)
#: Two answers whose (unit-norm, projected) embeddings are closer than this count as the same answer.
SAME_ANSWER = 0.1
#: Feature names, in column order.
FEATURES = (*(f"probe_q{int(q * 100):02d}" for q in QUANTILES), "same_answer_share", "distance", "distance_csls",
            "log_rank_min", "log_rank_max")
#: Rows of models handled at once: (rows x models x probes) float32 distances in memory.
BLOCK_ROWS = 32


def pair_index(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers ``(i, j)`` of every pair ``i < j`` of ``n`` models, in condensed (SciPy ``pdist``) order.

    Examples
    --------
    >>> pair_index(3)
    (array([0, 0, 1]), array([1, 2, 2]))
    """
    i, j = np.triu_indices(n, k=1)
    return i, j


def neighbour_ranks(values: np.ndarray) -> np.ndarray:
    """``ranks[i, j]``: 1 + the number of other models closer to ``i`` than ``j`` is (ties share the lower rank).

    Examples
    --------
    >>> neighbour_ranks(np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 0.5], [2.0, 0.5, 0.0]]))
    array([[0, 1, 2],
           [2, 0, 1],
           [2, 1, 0]])
    """
    n = len(values)
    masked = values + np.diag(np.full(n, np.inf))
    order = np.sort(masked, axis=1)
    ranks = np.empty((n, n), dtype=np.int64)
    for row in range(n):
        ranks[row] = np.searchsorted(order[row], masked[row], side="left") + 1
    np.fill_diagonal(ranks, 0)
    return ranks


def _probe_quantiles_all(values: np.ndarray, out: np.ndarray) -> None:
    """Quantiles and near-identical share of every pair ``i < j``, blockwise by rows (Gram matrices per probe)."""
    n = len(values)
    squares = np.einsum("npd,npd->np", values, values)  # (n, P)
    per_probe = values.transpose(1, 0, 2)  # (P, n, d)
    start = 0
    for first in range(0, n - 1, BLOCK_ROWS):
        rows = np.arange(first, min(first + BLOCK_ROWS, n - 1))
        gram = np.matmul(per_probe[:, rows, :], per_probe.transpose(0, 2, 1))  # (P, rows, n)
        d2 = squares[rows].T[:, :, None] + squares.T[:, None, :] - 2.0 * gram
        dist = np.sqrt(np.maximum(d2, 0.0)).transpose(1, 2, 0)  # (rows, n, P)
        for k, row in enumerate(rows):
            others = dist[k, row + 1:]  # pairs (row, j > row)
            stop = start + len(others)
            out[start:stop, :len(QUANTILES)] = np.quantile(others, QUANTILES, axis=1).T
            out[start:stop, len(QUANTILES)] = (others < SAME_ANSWER).mean(axis=1)
            start = stop


def _probe_quantiles_of(values: np.ndarray, i: np.ndarray, j: np.ndarray, out: np.ndarray) -> None:
    """The same for chosen pairs, :data:`BLOCK_ROWS` x 32 pairs at a time (direct differences)."""
    step = BLOCK_ROWS * 32
    for start in range(0, len(i), step):
        a, b = i[start:start + step], j[start:start + step]
        dist = np.linalg.norm(values[a] - values[b], axis=2)  # (pairs, P)
        out[start:start + len(a), :len(QUANTILES)] = np.quantile(dist, QUANTILES, axis=1).T
        out[start:start + len(a), len(QUANTILES)] = (dist < SAME_ANSWER).mean(axis=1)


def pair_features(probes: ProbeEmbeddings, i: np.ndarray | None = None, j: np.ndarray | None = None, *,
                  total: DistanceMatrix | None = None) -> np.ndarray:
    """``(pairs, len(FEATURES))`` features of every pair (:func:`pair_index` order), or of pairs ``(i[k], j[k])``.

    Symmetric in the two models (a relation model decides *whether* two models
    are related; which one is the parent is a separate question). Ranks and
    the CSLS correction are among all models of ``probes``. ``total``: the
    Euclidean :func:`~phylo_llm.distance.probe_distances` of ``probes``, when
    already computed.

    Notes
    -----
    Per-probe Euclidean distances are computed for :data:`BLOCK_ROWS` models
    against all at once, from per-probe Gram matrices (one matrix product per
    probe), so memory is ``BLOCK_ROWS x n x P`` floats whatever ``n``.
    ``distance`` is the Euclidean distance of the concatenated embeddings
    (:func:`phylo_llm.distance.probe_distances`), ``distance_csls`` its CSLS
    form (Conneau et al. 2018), ranks from :func:`neighbour_ranks`.

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(16)
    >>> features = pair_features(probes)
    >>> features.shape
    (2415, 10)
    >>> bool(np.allclose(pair_features(probes, np.array([0]), np.array([2])), features[1]))
    True
    """
    values = np.asarray(probes.values, dtype=np.float32)
    n = len(values)
    if i is None or j is None:
        i_all, j_all = pair_index(n)
        out = np.empty((len(i_all), len(FEATURES)), dtype=np.float64)
        _probe_quantiles_all(values, out)
    else:
        i_all, j_all = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        out = np.empty((len(i_all), len(FEATURES)), dtype=np.float64)
        _probe_quantiles_of(values, i_all, j_all, out)
    total = probe_distances(probes, "euclidean") if total is None else total
    corrected = csls(total)
    ranks = neighbour_ranks(total.values)
    out[:, len(QUANTILES) + 1] = total.values[i_all, j_all]
    out[:, len(QUANTILES) + 2] = corrected.values[i_all, j_all]
    forward, backward = ranks[i_all, j_all], ranks[j_all, i_all]
    out[:, len(QUANTILES) + 3] = np.log(np.minimum(forward, backward))
    out[:, len(QUANTILES) + 4] = np.log(np.maximum(forward, backward))
    return out
