"""Pairwise distances between DNA vectors, as a labelled square matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist, squareform

from .dna import DNA, identical_groups
from .errors import PhyloLLMError
from .ids import check_unique, positions
from .memory import require_memory
from .probes import ProbeEmbeddings

#: Metric names accepted by :func:`distance_matrix`, mapped to SciPy's names.
METRICS: dict[str, str] = {
    "euclidean": "euclidean",
    "cosine": "cosine",
    "sqeuclidean": "sqeuclidean",
    "manhattan": "cityblock",
    "correlation": "correlation",
}

#: What ``--metric`` accepts: each metric, also with the ``+csls`` hubness correction.
METRIC_CHOICES: tuple[str, ...] = (*METRICS, *(f"{m}+csls" for m in METRICS))

#: Metrics computable from dot products alone, hence from weighted per-probe embeddings.
GRAM_METRICS: tuple[str, ...] = ("euclidean", "sqeuclidean", "cosine")


@dataclass(frozen=True)
class DistanceMatrix:
    """A symmetric matrix of non-negative distances with a zero diagonal.

    Attributes
    ----------
    ids : tuple of str
        Row and column labels.
    values : numpy.ndarray
        ``(n, n)`` float64; float32 for large sets computed here (see :data:`FLOAT32_FROM`).
    metric : str
        How the distances were computed (``""`` when unknown, e.g. read from a file).
    source : str
        Where the data came from, for messages.
    """

    ids: tuple[str, ...]
    values: np.ndarray
    metric: str = ""
    source: str = "<memory>"

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.ids)
        values = np.asarray(self.values, dtype=np.float64)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "values", values)
        validate_distances(ids, values, self.source)

    @classmethod
    def computed(cls, ids, values: np.ndarray, metric: str = "", source: str = "<memory>") -> "DistanceMatrix":
        """A matrix this package computed itself (symmetric by construction): skips the O(n^2) validation."""
        matrix = object.__new__(cls)
        for name, value in (("ids", tuple(ids)), ("values", values), ("metric", metric), ("source", source)):
            object.__setattr__(matrix, name, value)
        return matrix

    @property
    def n_models(self) -> int:
        return len(self.ids)

    def condensed(self) -> np.ndarray:
        """The upper triangle as SciPy's condensed vector."""
        return squareform(self.values, checks=False)

    def subset(self, ids) -> "DistanceMatrix":
        rows = positions(self.ids, ids, self.source, "distance matrix")
        return DistanceMatrix.computed(ids, self.values[np.ix_(rows, rows)], self.metric, self.source)


def validate_distances(ids: tuple[str, ...], values: np.ndarray, source: str) -> None:
    """Raise :class:`PhyloLLMError` unless ``values`` is a valid labelled distance matrix."""
    n = len(ids)
    if n == 0:
        raise PhyloLLMError(f"{source}: no models found")
    if values.shape != (n, n):
        raise PhyloLLMError(f"{source}: expected a {n} x {n} matrix, got shape {values.shape}")
    check_unique(ids, source)
    checks = (
        (~np.isfinite(values), "is not finite"),
        (values < 0, "is negative"),
        (np.abs(values - values.T) > 1e-9 * np.maximum(1.0, np.abs(values)), "is not symmetric"),
    )
    for bad, what in checks:
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise PhyloLLMError(f"{source}: distance between {ids[i]!r} and {ids[j]!r} ({float(values[i, j])!r}) {what}")
    diagonal = np.diagonal(values)
    if (diagonal != 0).any():
        i = int(np.argmax(diagonal != 0))
        raise PhyloLLMError(f"{source}: distance of {ids[i]!r} to itself is {float(diagonal[i])!r}, not 0")


def csls(dist: DistanceMatrix, k: int = 10) -> DistanceMatrix:
    """Hubness-corrected distances: cross-domain similarity local scaling (Conneau, Lample et al. 2018).

    ``d'(a, b) = d(a, b) - (r_a + r_b) / 2``, with ``r_x`` the mean distance of
    ``x`` to its ``k`` nearest neighbours, shifted so the smallest
    off-diagonal value is 0. Models that sit close to everything (near-empty
    or boilerplate answers) lose their pull; who is whose nearest neighbour
    changes, so this depends on the whole set of models, unlike the metric itself.
    """
    values = dist.values.copy()
    n = dist.n_models
    if n < 3:
        return dist
    k = min(k, n - 1)
    np.fill_diagonal(values, np.inf)
    radius = np.partition(values, k - 1, axis=1)[:, :k].mean(axis=1)
    np.fill_diagonal(values, 0.0)
    adjusted = values - (radius[:, None] + radius[None, :]) / 2.0
    off = ~np.eye(n, dtype=bool)
    adjusted -= adjusted[off].min()
    np.fill_diagonal(adjusted, 0.0)  # symmetric already: d and r_a + r_b both are
    return DistanceMatrix.computed(dist.ids, adjusted, f"{dist.metric}+csls", dist.source)


#: From this many models on, :func:`distance_matrix` holds distances in float32 (7 significant digits):
#: half the memory (1.6 GB instead of 3.2 GB at 20,000 models) and half the memory traffic for tree building.
FLOAT32_FROM = 4096


def distance_matrix(dna: DNA, metric: str = "euclidean", dtype=None) -> DistanceMatrix:
    """Pairwise distances between all DNA vectors.

    Parameters
    ----------
    dna : DNA
        The vectors.
    metric : {"euclidean", "cosine", "sqeuclidean", "manhattan", "correlation"}
        Euclidean is the LLM DNA paper's metric. Cosine and correlation are
        ``1 - similarity`` and are undefined for zero (resp. constant) vectors,
        which raise :class:`PhyloLLMError` naming the model.

        Append ``+csls`` (e.g. ``"cosine+csls"``) for hubness-corrected
        distances (:func:`csls`).
    dtype : numpy dtype, optional
        ``float64`` or ``float32``; by default float32 from :data:`FLOAT32_FROM`
        models on. Float32 Euclidean and cosine distances come from float64
        matrix products over blocks of rows (:func:`blas_distances`), agreeing
        with SciPy to float32 precision.

    Returns
    -------
    DistanceMatrix
    """
    base, plus, modifier = metric.partition("+")
    if plus:
        if modifier != "csls" or base not in METRICS:
            raise PhyloLLMError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_CHOICES)}")
        return csls(distance_matrix(dna, base))
    if metric not in METRICS:
        raise PhyloLLMError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_CHOICES)}")
    vectors = dna.vectors
    if metric in ("cosine", "correlation"):
        centred = vectors - vectors.mean(axis=1, keepdims=True) if metric == "correlation" else vectors
        flat = ~np.any(centred != 0, axis=1)
        if flat.any():
            row = int(np.argmax(flat))
            what = "a zero vector" if metric == "cosine" else "a constant vector"
            raise PhyloLLMError(f"{dna.source}: model {dna.ids[row]!r} has {what}: its {metric} distance is undefined")
    single = np.dtype(dtype or (np.float32 if dna.n_models >= FLOAT32_FROM else np.float64)) == np.float32
    require_memory((4 if single else 16) * dna.n_models**2, f"the distance matrix of {dna.n_models} models",
                   "compute distances for a subset, and place the other models into its tree (phylo-llm place)")
    if single and metric in GRAM_METRICS:
        values = blas_distances(vectors, metric)
    else:
        values = squareform(pdist(vectors, METRICS[metric]))
        if single:
            values = values.astype(np.float32)
    if metric in ("cosine", "correlation"):
        # 1 - cos rounds to tiny non-zero numbers for parallel vectors: clip,
        # and make identical vectors (copies of the same weights) exactly 0 apart.
        np.maximum(values, 0.0, out=values)
        zero_identical(values, dna.ids, vectors)
    return DistanceMatrix.computed(dna.ids, values, metric, dna.source)


def zero_identical(values: np.ndarray, ids, vectors: np.ndarray) -> None:
    """Set the distances between bit-for-bit identical vectors (copies of the same weights) to exactly 0, in place."""
    position = {m: i for i, m in enumerate(ids)}
    for group in identical_groups(ids, vectors):
        rows = [position[m] for m in group]
        values[np.ix_(rows, rows)] = 0.0


def probe_distances(probes: ProbeEmbeddings, metric: str = "euclidean", weights: np.ndarray | None = None) -> DistanceMatrix:
    """Distances between models' concatenated per-probe embeddings, each probe counted ``weights`` times.

    With ``weights`` from a bootstrap draw this is the distance matrix of a
    replicate; without, of the full probe set. Euclidean, squared Euclidean and
    cosine (each also ``+csls``): they need only dot products, computed with
    one float64 matrix product. Identical embeddings are exactly 0 apart.
    """
    base, plus, modifier = metric.partition("+")
    if base not in GRAM_METRICS or (plus and modifier != "csls"):
        raise PhyloLLMError(
            f"metric {metric!r} cannot be computed from per-probe embeddings; choose one of "
            + ", ".join((*GRAM_METRICS, *(f"{m}+csls" for m in GRAM_METRICS)))
        )
    vectors = probes.concatenated(weights)
    values = cross_distances(vectors, vectors, base, probes.ids, probes.source)
    np.fill_diagonal(values, 0.0)
    zero_identical(values, probes.ids, np.asarray(probes.values).reshape(probes.n_models, -1))
    dist = DistanceMatrix.computed(probes.ids, values, base, probes.source)
    return csls(dist) if plus else dist


def cross_distances(queries: np.ndarray, reference: np.ndarray, metric: str, ids=(), source: str = "<memory>") -> np.ndarray:
    """``(k, n)`` distances from each query vector to each reference vector (one BLAS product).

    ``metric`` is one of :data:`GRAM_METRICS`; squared norms and dot products
    are taken in float64 and negative rounding is clipped to 0.
    """
    gram = queries @ reference.T
    q_norm = np.einsum("ij,ij->i", queries, queries)
    r_norm = q_norm if queries is reference else np.einsum("ij,ij->i", reference, reference)
    if metric == "cosine":
        for norms in (q_norm, r_norm):
            if (norms == 0).any():
                row = int(np.argmax(norms == 0))
                name = repr(ids[row]) if norms is q_norm and len(ids) > row else f"row {row}"
                raise PhyloLLMError(f"{source}: model {name} has a zero vector: its cosine distance is undefined")
        values = 1.0 - gram / np.sqrt(np.outer(q_norm, r_norm))
    else:
        values = q_norm[:, None] + r_norm[None, :] - 2.0 * gram
    np.maximum(values, 0.0, out=values)
    if metric == "euclidean":
        np.sqrt(values, out=values)
    return values


#: Rows per matrix product in :func:`blas_distances` (bounds the float64 temporary to 8 * BLOCK * n bytes).
BLOCK = 1024


def blas_distances(vectors: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """``(n, n)`` float32 distances (one of :data:`GRAM_METRICS`) from float64 matrix products, block by block.

    The vectors are centred first (distances do not change; the dot products
    shrink, and with them the cancellation in ``|x|^2 + |y|^2 - 2 x.y``);
    pairs whose squared distance is below 1e-6 of their squared norms, where
    cancellation could still matter, are recomputed directly. Only the upper
    triangle is multiplied; it is mirrored, so the matrix is symmetric to the
    bit. Agrees with SciPy's ``pdist`` to float32 precision.
    """
    from ._kernels import finish_distance_block, mirror_upper

    x = np.asarray(vectors, dtype=np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True) if metric == "cosine" else x - x.mean(axis=0)
    x = np.ascontiguousarray(x)
    n = x.shape[0]
    norms = np.einsum("ij,ij->i", x, x)
    out = np.empty((n, n), dtype=np.float32)
    code = GRAM_METRICS.index(metric)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        gram = x[start:stop] @ x[start:].T
        finish_distance_block(x, norms, gram, start, code, out)
    mirror_upper(out)
    return out
