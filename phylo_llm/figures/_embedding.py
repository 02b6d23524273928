"""The DNA map's 2-D embedding (figure 2 and the explorer): one t-SNE call, one perplexity rule.

No matplotlib here: the explorer uses it without drawing anything.
"""

from __future__ import annotations

import numpy as np


def tsne_perplexity(n_models: int) -> float:
    """The map's perplexity: 30, or a third of the other models when there are fewer than 91.

    Examples
    --------
    >>> tsne_perplexity(313), tsne_perplexity(70)
    (30.0, 23.0)
    """
    return float(min(30, max(2, (n_models - 1) / 3)))


def tsne_coordinates(values: np.ndarray, seed: int = 0, precomputed: bool = False) -> np.ndarray:
    """``(n, 2)`` seeded t-SNE of vectors (PCA start), or of a distance matrix (``precomputed``, random start).

    References
    ----------
    van der Maaten L, Hinton G (2008). Visualizing data using t-SNE. JMLR 9:2579-2605.

    Examples
    --------
    >>> xy = tsne_coordinates(np.random.default_rng(0).normal(size=(20, 5)))
    >>> xy.shape
    (20, 2)
    """
    from sklearn.manifold import TSNE  # scikit-learn: loaded when a map is made, not when the CLI starts
    from threadpoolctl import threadpool_limits

    perplexity = tsne_perplexity(len(values))
    if precomputed:
        model = TSNE(n_components=2, perplexity=perplexity, metric="precomputed", init="random", random_state=seed)
    else:
        model = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    # One thread: Barnes-Hut t-SNE is 30 times slower with OpenMP threads on a busy 2-core machine (0.3 s against
    # 10 s for 70 models, measured), and its sums then add up in the same order on every run.
    with threadpool_limits(1):
        xy = model.fit_transform(np.asarray(values, dtype=np.float64) if precomputed else values)
    return np.asarray(xy, dtype=np.float64)
