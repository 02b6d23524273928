"""Pair features from per-probe embeddings: what a relation model sees of two models.

The summed distance between two models hides how it is made: a fine-tune
answers most probes as its base does and a few very differently, an unrelated
model differs a little everywhere. The features keep that shape (quantiles of
the per-probe distances, the share of near-identical answers) beside the
total distance, its hubness-corrected form and the two models' mutual ranks.
"""

from __future__ import annotations

import numpy as np

from ..distance import DistanceMatrix, cross_distances, csls, probe_distances
from ..probes import ProbeEmbeddings
from ..progress import Progress

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


def probe_quantiles(dist: np.ndarray) -> np.ndarray:
    """``(..., len(QUANTILES))`` :data:`QUANTILES` of the last axis, as ``np.quantile`` (linear) gives them.

    One sort instead of ``np.quantile``'s selection per quantile: ten times
    faster on the per-probe distances of every pair, same numbers (NumPy's
    interpolation, written out).

    Examples
    --------
    >>> x = np.random.default_rng(0).random((4, 100)).astype(np.float32)
    >>> bool(np.allclose(probe_quantiles(x), np.quantile(x, QUANTILES, axis=-1).T))
    True
    """
    ordered = np.sort(dist, axis=-1)
    count = ordered.shape[-1]
    position = (count - 1) * np.asarray(QUANTILES)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, count - 1)
    fraction = position - low
    below, above = ordered[..., low], ordered[..., high]
    step = above - below
    return np.where(fraction >= 0.5, above - step * (1 - fraction), below + step * fraction)


def _probe_quantiles_all(values: np.ndarray, out: np.ndarray, progress: bool = False) -> None:
    """Quantiles and near-identical share of every pair ``i < j``, blockwise by rows (Gram matrices per probe)."""
    n = len(values)
    squares = np.einsum("npd,npd->np", values, values)  # (n, P)
    per_probe = values.transpose(1, 0, 2)  # (P, n, d)
    start = 0
    with Progress(max(n - 1, 1), "pair features", enabled=progress) as bar:
        for first in range(0, n - 1, BLOCK_ROWS):
            start = _quantiles_of_block(n, squares, per_probe, first, start, out)
            bar.update_to(min(first + BLOCK_ROWS, n - 1))


def _quantiles_of_block(n: int, squares: np.ndarray, per_probe: np.ndarray, first: int, start: int,
                        out: np.ndarray) -> int:
    """Rows ``first`` to ``first + BLOCK_ROWS`` (of ``n`` models) of :func:`_probe_quantiles_all`; the next pair's position."""
    rows = np.arange(first, min(first + BLOCK_ROWS, n - 1))
    gram = np.matmul(per_probe[:, rows, :], per_probe.transpose(0, 2, 1))  # (P, rows, n)
    d2 = squares[rows].T[:, :, None] + squares.T[:, None, :] - 2.0 * gram
    dist = np.sqrt(np.maximum(d2, 0.0)).transpose(1, 2, 0)  # (rows, n, P)
    for k, row in enumerate(rows):
        others = dist[k, row + 1:]  # pairs (row, j > row)
        stop = start + len(others)
        out[start:stop, :len(QUANTILES)] = probe_quantiles(others)
        out[start:stop, len(QUANTILES)] = (others < SAME_ANSWER).mean(axis=1)
        start = stop
    return start


def _probe_quantiles_of(values: np.ndarray, i: np.ndarray, j: np.ndarray, out: np.ndarray) -> None:
    """The same for chosen pairs, :data:`BLOCK_ROWS` x 32 pairs at a time (direct differences)."""
    step = BLOCK_ROWS * 32
    for start in range(0, len(i), step):
        a, b = i[start:start + step], j[start:start + step]
        dist = np.linalg.norm(values[a] - values[b], axis=2)  # (pairs, P)
        out[start:start + len(a), :len(QUANTILES)] = probe_quantiles(dist)
        out[start:start + len(a), len(QUANTILES)] = (dist < SAME_ANSWER).mean(axis=1)


def pair_features(probes: ProbeEmbeddings, i: np.ndarray | None = None, j: np.ndarray | None = None, *,
                  total: DistanceMatrix | None = None, progress: bool = False) -> np.ndarray:
    """``(pairs, len(FEATURES))`` features of every pair (:func:`pair_index` order), or of pairs ``(i[k], j[k])``.

    Symmetric in the two models (a relation model decides *whether* two models
    are related; which one is the parent is a separate question). Ranks and
    the CSLS correction are among all models of ``probes``. ``total``: the
    Euclidean :func:`~phylo_llm.distance.probe_distances` of ``probes``, when
    already computed. ``progress``: a bar over the blocks of rows (all pairs).

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
        _probe_quantiles_all(values, out, progress)
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


def added_model_features(reference: ProbeEmbeddings, total: DistanceMatrix, added: np.ndarray,
                         partners: np.ndarray, k: int = 10) -> np.ndarray:
    """Features of each pair (``added[m]``, ``reference`` row ``partners[m]``) in the population ``reference`` + ``added[m]``.

    Each added model is added alone: row ``m`` is what :func:`pair_features`
    gives for that pair of the population with ``added[m]`` as its last row,
    whatever else is in ``added``. ``total`` is the reference's Euclidean
    :func:`~phylo_llm.distance.probe_distances`, computed once; each added
    model then costs one row of distances and ``O(n^2)`` vectorised arithmetic
    (the CSLS shift is a minimum over every pair of the population) instead
    of every per-probe distance of the population.

    Parameters
    ----------
    reference : ProbeEmbeddings
        ``n`` models.
    total : DistanceMatrix
        Their Euclidean probe distances.
    added : ndarray
        ``(m, probes, dim)`` per-probe embeddings of the models added one at a time.
    partners : ndarray
        ``(m,)`` reference rows paired with each added model.
    k : int
        Neighbours of the CSLS radius (as :func:`~phylo_llm.distance.csls`).

    Notes
    -----
    Adding a model changes a reference model's CSLS radius (the mean distance
    to its ``k`` nearest) only when it comes closer than the ``k``-th nearest:
    the radius is then ``(sum of the k nearest - the k-th + the new distance) /
    k``. Ranks count the models strictly closer (:func:`neighbour_ranks`). A
    copy of a reference model (identical embeddings) takes that model's row of
    ``total``, so its ties with the copied model are exact ties.

    Examples
    --------
    >>> from phylo_llm.distance import probe_distances
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(8)
    >>> reference = probes.subset(probes.ids[1:])
    >>> fast = added_model_features(reference, probe_distances(reference), probes.values[:1], np.array([4]))
    >>> population = probes.subset([*probes.ids[1:], probes.ids[0]])
    >>> slow = pair_features(population, np.array([4]), np.array([population.n_models - 1]))
    >>> bool(np.allclose(fast, slow))
    True
    """
    values = np.asarray(reference.values, dtype=np.float32)
    added = np.asarray(added, dtype=np.float32)
    partners = np.asarray(partners, dtype=np.int64)
    n = len(values)
    flat = np.asarray(reference.concatenated())
    masked = np.asarray(total.values, dtype=np.float64) + np.diag(np.full(n, np.inf))
    kk = min(k, n)
    if n - 1 >= kk:
        nearest = np.partition(masked, kk - 1, axis=1)[:, :kk]
        nearest_sum, kth = nearest.sum(axis=1), nearest.max(axis=1)
    else:  # every other model is among the k nearest
        nearest_sum, kth = masked.sum(axis=1, where=np.isfinite(masked)), np.full(n, np.inf)
    out = np.empty((len(added), len(FEATURES)), dtype=np.float64)
    _probe_quantiles_of(np.concatenate([values[partners], added]), np.arange(len(added)),
                        len(added) + np.arange(len(added)), out)
    for m, (vector, partner) in enumerate(zip(added, partners)):
        query = vector.astype(np.float64).reshape(1, -1)
        copies = np.flatnonzero((flat == query).all(axis=1))
        row = masked[copies[0]].copy() if len(copies) else cross_distances(query, flat, "euclidean")[0]
        row[copies] = 0.0  # identical embeddings are exactly 0 apart, as in probe_distances
        out[m, len(QUANTILES) + 1] = row[partner]
        if n >= 2:  # CSLS of the n + 1 models (csls leaves fewer than 3 models as they are)
            radius = (nearest_sum - np.maximum(kth, row) + row) / kk if n - 1 >= kk else (nearest_sum + row) / kk
            own = np.partition(row, kk - 1)[:kk].mean()
            shift = min(float(np.min(masked - (radius[:, None] + radius[None, :]) / 2.0)),
                        float(np.min(row - (radius + own) / 2.0)))
            out[m, len(QUANTILES) + 2] = row[partner] - (radius[partner] + own) / 2.0 - shift
        else:
            out[m, len(QUANTILES) + 2] = row[partner]
        forward = 1 + np.sum(row < row[partner])  # the partner's rank among the added model's neighbours
        backward = 1 + np.sum(masked[partner] < row[partner])  # the added model's among the partner's
        out[m, len(QUANTILES) + 3] = np.log(min(forward, backward))
        out[m, len(QUANTILES) + 4] = np.log(max(forward, backward))
    return out
