"""Small statistics the figures need and SciPy does not provide."""

from __future__ import annotations

import numpy as np


def mantel(a: np.ndarray, b: np.ndarray, permutations: int = 999, seed: int = 0) -> tuple[float, float]:
    """Mantel test: Pearson r between two distance matrices' upper triangles, and its permutation p-value.

    The p-value is one-sided (r at least as large), ``(1 + hits) / (1 + permutations)``, rows and
    columns of ``b`` permuted together with ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 0.0, 1.0, 2.0], [2.0, 1.0, 0.0, 1.0], [3.0, 2.0, 1.0, 0.0]])
    >>> r, p = mantel(a, 2.0 * a, permutations=99, seed=0)
    >>> round(r, 6), 0 < p <= 1
    (1.0, True)
    """
    n = len(a)
    iu = np.triu_indices(n, 1)
    x = a[iu]
    r = float(np.corrcoef(x, b[iu])[0, 1])
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(permutations):
        order = rng.permutation(n)
        if np.corrcoef(x, b[np.ix_(order, order)][iu])[0, 1] >= r:
            hits += 1
    return r, (1 + hits) / (1 + permutations)
