"""UPGMA and WPGMA through SciPy's hierarchical clustering.

UPGMA is average linkage weighted by cluster size (Sokal & Michener 1958);
WPGMA weights the two joined clusters equally (SciPy's ``"weighted"``). Both
give rooted ultrametric trees: a join at distance ``h`` puts the new node at
height ``h / 2``.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from .merges import Merges

LINKAGE_METHODS = {"upgma": "average", "wpgma": "weighted"}


def linkage_merges(values: np.ndarray, method: str) -> Merges:
    """Joins of UPGMA (``method="upgma"``) or WPGMA (``"wpgma"``) for a square distance matrix."""
    n = values.shape[0]
    table = linkage(squareform(values, checks=False), method=LINKAGE_METHODS[method])
    height = np.zeros(2 * n - 1)
    merges = Merges(n_leaves=n)
    for k, (a, b, distance, _) in enumerate(table):
        a, b = int(a), int(b)
        top = distance / 2.0
        height[n + k] = top
        # Rounding can put a parent a hair below its child; a length is never negative.
        merges.children.append((a, b))
        merges.lengths.append((max(top - height[a], 0.0), max(top - height[b], 0.0)))
    return merges
