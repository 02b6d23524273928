"""The DNA map: the seeded 2-D t-SNE embedding of the paper's figure 2, for the explorer."""

from __future__ import annotations

import numpy as np

from ..distance import DistanceMatrix
from ..dna import DNA
from ..figures._embedding import tsne_coordinates
from ..probes import ProbeEmbeddings


def map_coordinates(data: DNA | DistanceMatrix | ProbeEmbeddings, dist: DistanceMatrix, seed: int = 0) -> np.ndarray:
    """``(n, 2)`` map coordinates, rows in the order of ``dist.ids``.

    DNA under the Euclidean metric is embedded from its vectors exactly as
    :func:`phylo_llm.figures.dna_map` does (t-SNE, perplexity
    ``min(30, max(2, (n - 1) / 3))``, PCA start, ``random_state=seed``); any
    other input or metric from the distances themselves (precomputed, random
    start). Fewer than four models: classical multidimensional scaling.

    References
    ----------
    van der Maaten L, Hinton G (2008). Visualizing data using t-SNE. JMLR 9:2579-2605.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> map_coordinates(dna, pl.distance_matrix(dna)).shape
    (70, 2)
    """
    n = dist.n_models
    if n < 4:
        return _classical_mds(np.asarray(dist.values, dtype=np.float64))
    if isinstance(data, DNA) and dist.metric == "euclidean":
        vectors = data.subset(dist.ids).vectors if tuple(data.ids) != tuple(dist.ids) else data.vectors
        return tsne_coordinates(vectors, seed)
    return tsne_coordinates(dist.values, seed, precomputed=True)


def _classical_mds(values: np.ndarray) -> np.ndarray:
    """Torgerson's classical scaling to two dimensions (exact for up to three points)."""
    n = len(values)
    centre = np.eye(n) - 1.0 / n
    b = -0.5 * centre @ (values ** 2) @ centre
    eigenvalues, vectors = np.linalg.eigh(b)
    top = np.argsort(eigenvalues)[::-1][:2]
    xy = vectors[:, top] * np.sqrt(np.maximum(eigenvalues[top], 0.0))
    return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
