"""Compiled selection of each row's smallest scores (numba); the method is in :mod:`phylo_llm.hub._knn`."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _sift_down(score, index, size, at):  # pragma: no cover - compiled
    # Max-heap on (score, index): the root is the worst kept; ties keep the smaller index.
    while True:
        left = 2 * at + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and (score[right] > score[left] or (score[right] == score[left] and index[right] > index[left])):
            child = right
        if score[child] > score[at] or (score[child] == score[at] and index[child] > index[at]):
            score[at], score[child] = score[child], score[at]
            index[at], index[child] = index[child], index[at]
            at = child
        else:
            return


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
                at = size
                size += 1
                while at > 0:  # sift up
                    parent = (at - 1) // 2
                    if score[at] > score[parent] or (score[at] == score[parent] and index[at] > index[parent]):
                        score[at], score[parent] = score[parent], score[at]
                        index[at], index[parent] = index[parent], index[at]
                        at = parent
                    else:
                        break
            elif s < score[0]:
                score[0] = s
                index[0] = j
                _sift_down(score, index, size, 0)
    return out_index, out_score
