"""Compiled selection of each row's smallest scores (numba); the method is in :mod:`phylo_llm.hub._knn`."""

from __future__ import annotations

import numba
import numpy as np

# A max-heap on (score, index): the root is the worst entry kept; of equal scores the larger index is worse, so
# ties keep the smaller column.


@numba.njit(cache=True)
def _worse(score, index, a, b):  # pragma: no cover - compiled
    return score[a] > score[b] or (score[a] == score[b] and index[a] > index[b])


@numba.njit(cache=True)
def _swap(score, index, a, b):  # pragma: no cover - compiled
    score[a], score[b] = score[b], score[a]
    index[a], index[b] = index[b], index[a]


@numba.njit(cache=True)
def _sift_up(score, index, at):  # pragma: no cover - compiled
    while at > 0:
        parent = (at - 1) // 2
        if not _worse(score, index, at, parent):
            return
        _swap(score, index, at, parent)
        at = parent


@numba.njit(cache=True)
def _sift_down(score, index, size, at):  # pragma: no cover - compiled
    while True:
        child = 2 * at + 1
        if child >= size:
            return
        if child + 1 < size and _worse(score, index, child + 1, child):
            child += 1
        if not _worse(score, index, child, at):
            return
        _swap(score, index, child, at)
        at = child


@numba.njit(cache=True)
def smallest_scores(gram, offset, factor, skip, wide):  # pragma: no cover - compiled
    """Per row ``i``: the ``wide`` columns ``j != skip[i]`` with the smallest ``offset[j] + factor * gram[i, j]``.

    Returns (columns, scores) in heap order (sort them by (score, column)). One pass
    over the row with a max-heap of ``wide`` entries: a column is compared
    with the worst kept one, so the work is ``rows x columns`` comparisons
    (``np.argpartition`` does several passes and allocates the row's copy).
    """
    rows, columns = gram.shape
    out_index = np.empty((rows, wide), np.int64)
    out_score = np.empty((rows, wide), np.float64)
    for i in range(rows):
        score = out_score[i]
        index = out_index[i]
        size = 0
        for j in range(columns):
            if j == skip[i]:
                continue
            s = offset[j] + factor * gram[i, j]
            if size < wide:
                score[size] = s
                index[size] = j
                _sift_up(score, index, size)
                size += 1
            elif s < score[0]:
                score[0] = s
                index[0] = j
                _sift_down(score, index, size, 0)
    return out_index, out_score
