"""Documented pairs against distances: pair detection (ROC AUC) and parent retrieval (ranks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..distance import DistanceMatrix
from ..lineage import LineageLike, as_lineage


def documented_pairs(lineage: LineageLike, ids: Sequence[str]) -> pd.DataFrame:
    """Documented parent edges whose two ends are both among ``ids``.

    Returns one row per (edge, present child id, present parent id):
    ``child, parent, relation, i, j`` with ``i``/``j`` the row numbers of child
    and parent in ``ids``. Ids are matched by :meth:`Lineage.resolve_all`:
    when two present ids match one lineage model (an API id and a hub id
    differing only by case), only the exact one takes part.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> pairs = documented_pairs("data/demo", pl.load_dna("data/demo/dna.parquet").ids)
    >>> list(pairs.columns), len(pairs) > 0
    (['child', 'parent', 'relation', 'i', 'j'], True)
    """
    lineage = as_lineage(lineage)
    present: dict[str, int] = {}
    for row, found in enumerate(lineage.resolve_all(ids).values()):
        if found is not None:
            present[found] = row  # resolve_all gives each lineage model to at most one id
    rows = []
    for child, parent, relation in lineage.relations[["child", "parent", "relation"]].itertuples(index=False):
        i, j = present.get(child), present.get(parent)
        if i is not None and j is not None and i != j:
            rows.append((ids[i], ids[j], relation, i, j))
    pairs = pd.DataFrame(rows, columns=["child", "parent", "relation", "i", "j"])
    return pairs.astype({"i": np.int64, "j": np.int64})  # integer row numbers even when no pair is documented


def condensed_index(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """Position of pair (i, j), i != j, in SciPy's condensed distance vector.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.spatial.distance import squareform
    >>> square = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]])
    >>> squareform(square)[condensed_index(np.array([2]), np.array([1]), 3)].tolist()
    [3]
    """
    a, b = np.minimum(i, j), np.maximum(i, j)
    return n * a - a * (a + 1) // 2 + (b - a - 1)


class PairRanker:
    """Ranks of all pairs by closeness, computed once; AUC of any pair set is then O(pairs).

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> dist = pl.DistanceMatrix(("a", "b", "c"), np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]))
    >>> type(PairRanker(dist)).__name__
    'PairRanker'
    """

    def __init__(self, dist: DistanceMatrix) -> None:
        self.n = dist.n_models
        condensed = dist.condensed()
        self.n_pairs = len(condensed)
        # Rank 1 = the most distant pair; closeness is the score, ties share their average rank.
        self.closeness_rank = rankdata(-condensed, method="average")

    def auc(self, i: np.ndarray, j: np.ndarray) -> float:
        """ROC AUC of the pairs (i, j) against all other pairs, closer meaning more likely related."""
        index = np.unique(condensed_index(np.asarray(i), np.asarray(j), self.n))
        positives = len(index)
        negatives = self.n_pairs - positives
        if positives == 0 or negatives == 0:
            return float("nan")
        u = self.closeness_rank[index].sum() - positives * (positives + 1) / 2.0
        return float(u / (positives * negatives))


def parent_ranks(values: np.ndarray, child: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Rank of each parent among all other models by distance from its child (1 = nearest; ties count half).

    Examples
    --------
    >>> import numpy as np
    >>> values = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    >>> parent_ranks(values, child=np.array([2, 1]), parent=np.array([0, 2])).tolist()
    [1.0, 2.0]
    """
    child, parent = np.asarray(child, dtype=np.intp), np.asarray(parent, dtype=np.intp)
    rows = values[child]
    target = rows[np.arange(len(child)), parent][:, None]
    self_distance = rows[np.arange(len(child)), child][:, None]
    closer = np.count_nonzero(rows < target, axis=1) - (self_distance < target)[:, 0]
    tied = np.count_nonzero(rows == target, axis=1) - 1 - (self_distance == target)[:, 0]
    return 1.0 + closer + 0.5 * tied


def retrieval_summary(ranks: np.ndarray) -> dict[str, float]:
    """Top-1 and top-5 shares, median rank and mean reciprocal rank.

    Examples
    --------
    >>> import numpy as np
    >>> summary = retrieval_summary(np.array([1.0, 1.0, 3.0, 10.0]))
    >>> summary["top1"], summary["median_rank"]
    (0.5, 2.0)
    """
    if len(ranks) == 0:
        return {"n": 0, "top1": float("nan"), "top5": float("nan"), "median_rank": float("nan"), "mrr": float("nan")}
    return {
        "n": int(len(ranks)),
        "top1": float(np.mean(ranks <= 1)),
        "top5": float(np.mean(ranks <= 5)),
        "median_rank": float(np.median(ranks)),
        "mrr": float(np.mean(1.0 / ranks)),
    }


def quantiles(values: np.ndarray, qs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> dict[str, float]:
    """The ``qs`` quantiles of ``values`` as ``{"q05": ..., "q25": ...}`` (the noise-floor table); ``{}`` when empty.

    Examples
    --------
    >>> quantiles(np.arange(101.0), (0.05, 0.5))
    {'q05': 5.0, 'q50': 50.0}
    """
    if len(values) == 0:
        return {}
    return {f"q{int(q * 100):02d}": float(np.quantile(values, q)) for q in qs}
