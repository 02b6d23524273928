"""UPGMA and WPGMA: SciPy's nearest-neighbour-chain algorithm, on the square matrix, in place.

UPGMA is average linkage weighted by cluster size (Sokal & Michener 1958);
WPGMA weights the two joined clusters equally. Both give rooted ultrametric
trees: a join at distance ``h`` puts the new node at height ``h / 2``.

The kernel follows ``scipy.cluster.hierarchy.linkage`` (method ``"average"`` /
``"weighted"``) step for step: the same nearest-neighbour chain (ties keep the
previous chain element, then the smallest index), the same Lance-Williams
updates, the joins then sorted by height (stably) and labelled with a
union-find, so a float64 matrix gives SciPy's linkage exactly (tested). It
reads rows of the square matrix, contiguous, where SciPy indexes a condensed
float64 copy; a float32 matrix stays float32 (half the memory) and may be
joined in place.
"""

from __future__ import annotations

import numpy as np

from .._signals import deferred_signals
from ..progress import Progress
from ._merges import Merges
from ._working import reporting, working_matrix

LINKAGE_METHODS = {"upgma": "average", "wpgma": "weighted"}

#: Below this many models SciPy's ``linkage`` is used: the same table, no compiled kernel to load, and faster
#: end to end up to at least 3,000 models (benchmarks/bench_small_trees.py). From here on distance matrices are
#: float32 (``FLOAT32_FROM``) and the kernel joins in place: half the memory, and faster (bench_trees.py).
SCIPY_BELOW = 4096


def linkage_table(
    values: np.ndarray, method: str, overwrite: bool = False, progress: bool = False, engine: str = "auto"
) -> np.ndarray:
    """SciPy's linkage matrix ``(n - 1, 4)`` for UPGMA (``"upgma"``) or WPGMA (``"wpgma"``) of a square matrix.

    ``engine``: ``"scipy"`` (SciPy's own ``linkage`` on the condensed float64
    matrix), ``"compiled"`` (the kernel, in place) or ``"auto"``: SciPy below
    :data:`SCIPY_BELOW` models, where loading numba would cost more than the
    whole build.
    """
    n = values.shape[0]
    if engine == "scipy" or (engine == "auto" and n < SCIPY_BELOW):
        from scipy.cluster.hierarchy import linkage
        from scipy.spatial.distance import squareform

        return linkage(squareform(np.asarray(values, dtype=np.float64), checks=False), LINKAGE_METHODS[method])
    from ._linkage_kernel import _label, _nn_chain

    with Progress(n - 1, method.upper(), enabled=progress) as bar, reporting(bar, progress), deferred_signals():
        table = _nn_chain(working_matrix(values, overwrite), method == "wpgma", progress)
    table = table[np.argsort(table[:, 2], kind="mergesort")]
    return _label(table, n)


def linkage_merges(values: np.ndarray, method: str, overwrite: bool = False, progress: bool = False) -> Merges:
    """Joins of UPGMA (``method="upgma"``) or WPGMA (``"wpgma"``) for a square distance matrix."""
    n = values.shape[0]
    table = linkage_table(values, method, overwrite, progress)
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
