"""Distances between models: from DNA vectors, from per-probe embeddings, between two sets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from .._memory import require_memory
from .._signals import deferred_signals
from ..dna import DNA, identical_groups
from ..errors import PhyloLLMError
from ..probes import ProbeEmbeddings
from ._matrix import DistanceMatrix
from ._metrics import GRAM_METRICS, Metric, parse_metric


def csls(dist: DistanceMatrix, k: int = 10) -> DistanceMatrix:
    """Hubness-corrected distances: cross-domain similarity local scaling (Conneau, Lample et al. 2018).

    ``d'(a, b) = d(a, b) - (r_a + r_b) / 2``, with ``r_x`` the mean distance of
    ``x`` to its ``k`` nearest neighbours, shifted so the smallest
    off-diagonal value is 0. Models that sit close to everything (near-empty
    or boilerplate answers) lose their pull; who is whose nearest neighbour
    changes, so this depends on the whole set of models, unlike the metric itself.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> corrected = csls(dist)
    >>> corrected.metric, corrected.n_models
    ('euclidean+csls', 70)
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
    return DistanceMatrix(dist.ids, adjusted, f"{dist.metric}+csls", dist.source, symmetric=True)


#: From this many models on, :func:`distance_matrix` holds distances in float32 (7 significant digits):
#: half the memory (1.6 GB instead of 3.2 GB at 20,000 models) and half the memory traffic for tree building.
FLOAT32_FROM = 4096


def distance_matrix(dna: DNA, metric: str | Metric = "euclidean", dtype: DTypeLike | None = None) -> DistanceMatrix:
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
        Checked finite: DNA too large for its distances to be represented is
        refused naming the pair, never turned into a tree that lost models.

    Notes
    -----
    Vectors are rescaled by powers of two before the arithmetic (exact, so
    the result is bit for bit what it would be without): for cosine and
    correlation each row by its own magnitude, which keeps subnormal vectors'
    norms from underflowing to 0; for the other metrics all rows by the
    largest magnitude when it is outside [2^-400, 2^400], which keeps squares
    from overflowing.

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> dna = pl.DNA(["a", "b", "c"], np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    >>> distance_matrix(dna).values
    array([[ 0.,  5., 10.],
           [ 5.,  0.,  5.],
           [10.,  5.,  0.]])
    """
    parsed = parse_metric(metric)
    if parsed.csls:
        return csls(distance_matrix(dna, parsed.base, dtype))
    base = parsed.base
    vectors = dna.vectors
    if base in ("cosine", "correlation"):
        centred = vectors - vectors.mean(axis=1, keepdims=True) if base == "correlation" else vectors
        flat = ~np.any(centred != 0, axis=1)
        if flat.any():
            row = int(np.argmax(flat))
            what = "a zero vector" if base == "cosine" else "a constant vector"
            raise PhyloLLMError(f"{dna.source}: model {dna.ids[row]!r} has {what}: its {base} distance is undefined")
        vectors = _scaled_rows(vectors)
        scale = 1.0
    else:
        vectors, scale = _scaled_all(vectors)
    single = np.dtype(dtype or (np.float32 if dna.n_models >= FLOAT32_FROM else np.float64)) == np.float32
    require_memory((4 if single else 16) * dna.n_models**2, f"the distance matrix of {dna.n_models} models",
                   "compute distances for a subset, and place the other models into its tree (phylo-llm place)")
    if single and base in GRAM_METRICS:
        values = blas_distances(vectors, base)
    else:
        values = _pairwise(vectors, parsed.scipy_name)
        if single:
            values = values.astype(np.float32)
    if scale != 1.0:
        with np.errstate(over="ignore"):  # what overflows is refused below, naming the pair
            values *= scale
            if base == "sqeuclidean":
                values *= scale
    if base in ("cosine", "correlation"):
        # 1 - cos rounds to tiny non-zero numbers for parallel vectors: clip,
        # and make identical vectors (copies of the same weights) exactly 0 apart.
        np.maximum(values, 0.0, out=values)
        zero_identical(values, dna.ids, dna.vectors)
    with np.errstate(over="ignore"):
        return DistanceMatrix(dna.ids, values, base, dna.source, symmetric=True)


def _pairwise(vectors: np.ndarray, scipy_metric: str) -> np.ndarray:
    """Square float64 distances by SciPy's ``pdist`` (imported here: small sets need nothing else of SciPy)."""
    from scipy.spatial.distance import pdist, squareform

    return squareform(pdist(vectors, scipy_metric))


def _power_of_two(magnitude: np.ndarray) -> np.ndarray:
    """The power of two at or below each (positive) magnitude; dividing by it is exact."""
    return np.ldexp(1.0, np.frexp(magnitude)[1] - 1)


def _scaled_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row divided by a power of two near its largest magnitude (exact; cosine and correlation ignore it)."""
    largest = np.abs(vectors).max(axis=1, keepdims=True)
    return vectors / _power_of_two(np.where(largest > 0, largest, 1.0))


#: Magnitudes outside [2^-400, 2^400] get rescaled before distances (their squares would under- or overflow).
_SAFE = (2.0**-400, 2.0**400)


def _scaled_all(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """Vectors and the power of two they were divided by (1.0 when their magnitude is safe)."""
    largest = float(np.abs(vectors).max()) if vectors.size else 0.0
    if largest == 0.0 or _SAFE[0] <= largest <= _SAFE[1]:
        return vectors, 1.0
    scale = float(_power_of_two(np.array(largest)))
    return vectors / scale, scale


def zero_identical(values: np.ndarray, ids: tuple[str, ...], vectors: np.ndarray) -> None:
    """Set the distances between bit-for-bit identical vectors (copies of the same weights) to exactly 0, in place.

    Examples
    --------
    >>> import numpy as np
    >>> vectors = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]])
    >>> values = np.array([[0.0, 1e-9, 2.2], [1e-9, 0.0, 2.2], [2.2, 2.2, 0.0]])
    >>> zero_identical(values, ("a", "b", "c"), vectors)
    >>> values.tolist()
    [[0.0, 0.0, 2.2], [0.0, 0.0, 2.2], [2.2, 2.2, 0.0]]
    """
    position = {m: i for i, m in enumerate(ids)}
    for group in identical_groups(ids, vectors):
        rows = [position[m] for m in group]
        values[np.ix_(rows, rows)] = 0.0


def probe_distances(probes: ProbeEmbeddings, metric: str | Metric = "euclidean", weights: np.ndarray | None = None) -> DistanceMatrix:
    """Distances between models' concatenated per-probe embeddings, each probe counted ``weights`` times.

    With ``weights`` from a bootstrap draw this is the distance matrix of a
    replicate; without, of the full probe set. Euclidean, squared Euclidean and
    cosine (each also ``+csls``): they need only dot products, computed with
    one float64 matrix product. Identical embeddings are exactly 0 apart.

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(32)
    >>> probe_distances(probes, "cosine").n_models
    70
    """
    if not isinstance(probes, ProbeEmbeddings):
        raise PhyloLLMError(f"{getattr(probes, 'source', '<memory>')}: per-probe embeddings needed (a probe cache, "
                            f"phylo-llm extract --cache), got {type(probes).__name__}")
    parsed = parse_metric(metric, dot_products_only=True)
    vectors = probes.concatenated(weights)
    check_finite_rows(vectors, probes.ids, probes.source, "per-probe embeddings")
    values = cross_distances(vectors, vectors, parsed.base, probes.ids, probes.source)
    np.fill_diagonal(values, 0.0)
    zero_identical(values, probes.ids, np.asarray(probes.values).reshape(probes.n_models, -1))
    dist = DistanceMatrix(probes.ids, values, parsed.base, probes.source, symmetric=True)
    return csls(dist) if parsed.csls else dist


def check_finite_rows(vectors: np.ndarray, ids: Sequence[str], source: str, what: str) -> None:
    """Refuse non-finite values, naming the first model that has one.

    Examples
    --------
    >>> import numpy as np
    >>> check_finite_rows(np.ones((2, 3)), ("a", "b"), "dna.csv", "DNA")  # fine: nothing happens
    >>> check_finite_rows(np.array([[1.0, 2.0], [np.nan, 0.0]]), ("a", "b"), "dna.csv", "DNA")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: dna.csv: ...'b'...
    """
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        row = int(np.argmax(~finite))
        name = repr(ids[row]) if row < len(ids) else f"row {row + 1}"
        raise PhyloLLMError(f"{source}: model {name} has non-finite {what}")


def distances_between(
    new: DNA | ProbeEmbeddings, reference: DNA | ProbeEmbeddings, metric: str | Metric = "euclidean", weights: np.ndarray | None = None
) -> np.ndarray:
    """``(new, reference)`` distances from each new model to each reference model.

    Both DNA (any metric but ``+csls``) or both per-probe embeddings (dot-product
    metrics, each probe counted ``weights`` times: a bootstrap replicate).
    Checked finite, like every matrix the package computes.

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> a = pl.DNA(["a"], np.array([[0.0, 0.0]]))
    >>> b = pl.DNA(["b", "c"], np.array([[3.0, 4.0], [0.0, 1.0]]))
    >>> distances_between(a, b)
    array([[5., 1.]])
    """
    probes = isinstance(new, ProbeEmbeddings)
    parsed = parse_metric(metric, dot_products_only=probes, csls=False)
    shapes = [" x ".join(map(str, data.values.shape[1:])) if isinstance(data, ProbeEmbeddings)
              else str(data.vectors.shape[1]) for data in (new, reference)]
    if type(new) is type(reference) and shapes[0] != shapes[1]:  # settings unrecorded (or recorded wrong) cannot hide it
        what = "per-probe embeddings of (probes x dimension)" if probes else "DNA of dimension"
        raise PhyloLLMError(f"{new.source}: {what} {shapes[0]}, but {reference.source} has {shapes[1]}: extract both the same way")
    if isinstance(new, ProbeEmbeddings) and isinstance(reference, ProbeEmbeddings):
        queries, targets = new.concatenated(weights), reference.concatenated(weights)
    elif isinstance(new, DNA) and isinstance(reference, DNA):
        queries, targets = new.vectors, reference.vectors
    else:
        raise PhyloLLMError(f"{new.source} and {reference.source}: one is DNA and the other per-probe embeddings; give two of a kind")
    check_finite_rows(queries, new.ids, new.source, "embeddings" if probes else "DNA")
    check_finite_rows(targets, reference.ids, reference.source, "embeddings" if probes else "DNA")
    values = cross_distances(queries, targets, parsed.base, new.ids, new.source)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise PhyloLLMError(f"{new.source}: distance between {new.ids[i]!r} and {reference.ids[j]!r} is not finite")
    return values


def cross_distances(queries: np.ndarray, reference: np.ndarray, metric: str, ids: Sequence[str] = (), source: str = "<memory>") -> np.ndarray:
    """``(k, n)`` float64 distances from each query vector to each reference vector.

    Dot-product metrics (:data:`GRAM_METRICS`) with one BLAS product, squared
    norms and dot products in float64 and negative rounding clipped to 0; the
    others with SciPy's ``cdist``.

    Examples
    --------
    >>> import numpy as np
    >>> queries = np.array([[0.0, 0.0]])
    >>> reference = np.array([[3.0, 4.0], [0.0, 1.0]])
    >>> cross_distances(queries, reference, "euclidean").tolist()
    [[5.0, 1.0]]
    """
    if metric not in GRAM_METRICS:
        from scipy.spatial.distance import cdist

        return cdist(queries, reference, parse_metric(metric, csls=False).scipy_name)
    same = reference is queries
    if metric == "cosine":
        queries = _scaled_rows(np.asarray(queries, dtype=np.float64))
        reference = queries if same else _scaled_rows(np.asarray(reference, dtype=np.float64))
    gram = queries @ reference.T
    q_norm = np.einsum("ij,ij->i", queries, queries)
    r_norm = q_norm if same else np.einsum("ij,ij->i", reference, reference)
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

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.spatial.distance import pdist, squareform
    >>> vectors = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    >>> blas_distances(vectors).tolist()
    [[0.0, 5.0, 10.0], [5.0, 0.0, 5.0], [10.0, 5.0, 0.0]]
    >>> bool(np.allclose(blas_distances(vectors), squareform(pdist(vectors))))
    True
    """
    from ._kernels import finish_distance_block, mirror_upper

    x = np.asarray(vectors, dtype=np.float64)
    x = _unit_rows(x) if metric == "cosine" else x - x.mean(axis=0)
    x = np.ascontiguousarray(x)
    n = x.shape[0]
    norms = np.einsum("ij,ij->i", x, x)
    out = np.empty((n, n), dtype=np.float32)
    code = GRAM_METRICS.index(metric)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        gram = x[start:stop] @ x[start:].T
        with deferred_signals():
            finish_distance_block(x, norms, gram, start, code, out)
    with deferred_signals():
        mirror_upper(out)
    return out


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (after an exact power-of-two rescaling, so subnormal rows keep their norm)."""
    x = _scaled_rows(x)
    return x / np.linalg.norm(x, axis=1, keepdims=True)
