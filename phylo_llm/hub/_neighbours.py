"""Nearest relatives and undocumented near-copies among a partitioned dataset's models, on Dask.

The k nearest neighbours of every model are exact: each task takes one
partition's models as queries and scans every partition block by block
(:func:`nearest`), so memory per task is one partition pair, never n x n.
What a dense matrix gave for free is measured on purpose here: documented
pairs' distances exactly (their models are gathered), the distribution of
all pairs' distances on the pairs of a uniform sample of models (hashed ids,
as the backbone), labelled as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

from pathlib import Path

import numpy as np
import pandas as pd

from ..distance import DistanceMatrix, distance_matrix, parse_metric
from ..dna import DNA
from ..errors import PhyloLLMError
from ..ids import require_model
from ..lineage import Lineage
from ..score import candidates_from_pairs, documented_pairs, documented_threshold, relatives
from ._backbone import choose_backbone
from ._dataset import DNADataset, check_cosine_vectors, read_part
from ._knn import direct_distances, merge_nearest, nearest

#: Cells of the IVF index searched per query. Measured on 200,000 simulated models (k = 10, 1,788 cells): recall@10
#: 1.0000 / 0.99985 / 0.99925 / 0.9914 at 64 / 16 / 8 / 4 cells, search time proportional: 16 is the default.
IVF_PROBES = 16

#: Models whose pairs stand for "all pairs" (2,000 models: about 2 million pairs).
SAMPLE = 2_000


def _offsets(data: DNADataset) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(p) for p in data.ids])])


def _task_knn(part: int, parts: list[str], dim: int, offsets: np.ndarray, k: int, metric: str, queries=None):
    """The k nearest models of partition ``part``'s models (or of ``queries``: (global rows, vectors)) over every partition."""
    if queries is None:
        _, vectors = read_part(Path(parts[part]), dim)
        rows = np.arange(offsets[part], offsets[part + 1])
    else:
        rows, vectors = queries
    best = None
    for j, path in enumerate(parts):
        _, reference = read_part(Path(path), dim)
        found = nearest(vectors, reference, k, metric, query_index=rows, reference_index=np.arange(offsets[j], offsets[j + 1]))
        if found[0].shape[1] < k:  # a partition smaller than k: pad, so every block has k columns to merge
            pad = k - found[0].shape[1]
            found = (np.pad(found[0], ((0, 0), (0, pad)), constant_values=-1), np.pad(found[1], ((0, 0), (0, pad)), constant_values=np.inf))
        best = found if best is None else merge_nearest(best, found, k)
    return best


def knn(
    data: DNADataset, client: Client, k: int = 10, metric: str = "euclidean", progress: bool = False, *, index: str = "exact",
    lists: int | None = None, probes: int = IVF_PROBES, seed: int = 0, checked: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of every model of ``data`` (rows in dataset order), on Dask.

    ``index="exact"``: blockwise exact search, one task per partition (each
    scans every partition). ``index="ivf"``: faiss's inverted-file index
    (``lists`` k-means cells, default ``4 sqrt(n)``; ``probes`` of them searched
    per query), built and searched in one task, found distances re-measured
    exactly; approximate: measure its recall with :func:`recall_at_k`.

    Returns
    -------
    (index, distance) : ``(n, k)`` arrays, nearest first; ties go to the earlier model.

    Examples
    --------
    >>> from phylo_llm.hub import connect, open_dataset
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     index, distance = knn(open_dataset("hub/dna"), client, k=10)
    """
    from ._hubtree import _follow

    if data.n_models < 2:
        raise PhyloLLMError(f"{data.path}: nearest neighbours need at least 2 models, found {data.n_models}")
    base = parse_metric(metric, csls=False, what="nearest-neighbour metric").name
    if not checked:  # ``checked``: the caller has run check_cosine_vectors already
        check_cosine_vectors(data, client, base)
    k = min(k, data.n_models - 1)
    check_knn_memory(data, k)
    offsets = _offsets(data)
    parts = [str(p) for p in data.parts]
    if index not in INDEXES:
        raise PhyloLLMError(f"unknown nearest-neighbour index {index!r}; choose one of {', '.join(INDEXES)}")
    if index == "ivf":
        if base not in ("euclidean", "sqeuclidean", "cosine"):
            raise PhyloLLMError(f"the ivf index supports euclidean, sqeuclidean and cosine distances, not {base}")
        try:
            import faiss  # noqa: F401  # optional: pip install 'phylo-llm[hub]'
        except ImportError:
            raise PhyloLLMError("the ivf index needs faiss: pip install 'phylo-llm[hub]' (or faiss-cpu)") from None
        cells = lists or max(1, min(int(4 * np.sqrt(data.n_models)), data.n_models // 39))
        return client.submit(_task_ivf, parts, data.dim, offsets, k, base, cells, min(probes, cells), seed, pure=True).result()
    futures = [client.submit(_task_knn, i, parts, data.dim, offsets, k, base, pure=True) for i in range(len(parts))]
    _follow(client, futures, "nearest neighbours", progress)
    results = client.gather(futures)
    return np.vstack([r[0] for r in results]), np.vstack([r[1] for r in results])


def knn_memory(n_models: int, k: int) -> int:
    """Bytes the ``k`` nearest neighbours of ``n_models`` models take where they are gathered: an index (int64) and
    a distance (float64) per neighbour, and as much again while the pairs are sorted out."""
    return 2 * 16 * n_models * k


def check_knn_memory(data: DNADataset, k: int) -> None:
    """Refuse, before any task runs, a ``k`` whose neighbour lists do not fit in this process's memory."""
    from .._memory import available_memory

    available = available_memory()
    if available is None or knn_memory(data.n_models, k) <= 0.9 * available:
        return
    fits = max(1, int(0.9 * available) // knn_memory(data.n_models, 1))
    raise PhyloLLMError(f"-k {k}: the {k} nearest neighbours of {data.n_models:,} models take about "
                        f"{knn_memory(data.n_models, k) / 2**30:.1f} GiB and {available / 2**30:.1f} GiB are available: "
                        f"use -k {fits} or less")


def read_rows(data: DNADataset, rows: np.ndarray) -> DNA:
    """The DNA of the models at global ``rows`` (sorted, unique), reading only the partitions that hold them.

    Examples
    --------
    >>> from phylo_llm.hub import open_dataset
    >>> read_rows(open_dataset("hub/dna"), np.array([0, 70_000])).n_models  # doctest: +SKIP
    2
    """
    offsets = _offsets(data)
    rows = np.unique(rows)
    ids: list[str] = []
    vectors = []
    for part in np.unique(np.searchsorted(offsets, rows, side="right") - 1):
        inside = rows[(rows >= offsets[part]) & (rows < offsets[part + 1])] - offsets[part]
        part_ids, values = data.read_part(int(part))
        ids += [part_ids[i] for i in inside]
        vectors.append(values[inside])
    return DNA(tuple(ids), np.vstack(vectors), source=str(data.path))


#: Documented pairs measured at once by :func:`_documented_distances` (their models' rows read per chunk).
PAIR_CHUNK = 100_000


def _documented_distances(data: DNADataset, lineage: Lineage, metric: str) -> dict[str, np.ndarray]:
    """The distances of the documented pairs present, per relation, pair by pair (never a matrix of their models).

    A hub whose lineage documents most of its models (fine-tunes of fine-tunes) has as many documented models as
    models: their distance matrix would not fit, the pairs' own distances are one number each.
    """
    pairs = documented_pairs(lineage, data.all_ids())
    first, second = pairs["i"].to_numpy(np.int64), pairs["j"].to_numpy(np.int64)
    values = np.empty(len(pairs))
    for start in range(0, len(pairs), PAIR_CHUNK):
        a, b = first[start:start + PAIR_CHUNK], second[start:start + PAIR_CHUNK]
        rows = np.unique(np.concatenate([a, b]))
        vectors = np.asarray(read_rows(data, rows).vectors, dtype=np.float64)  # in the order of `rows`
        at_a, at_b = np.searchsorted(rows, a), np.searchsorted(rows, b)
        values[start:start + len(a)] = direct_distances(vectors[at_a], vectors, at_b[:, None], metric)[:, 0]
    relation = pairs["relation"].to_numpy()
    return {str(r): values[relation == r] for r in sorted(set(relation))}


def _context(data: DNADataset, lineage: Lineage, extra: np.ndarray, metric: str,
             seed: int) -> tuple[DistanceMatrix, np.ndarray, dict[str, np.ndarray]]:
    """Distances among a uniform sample and ``extra`` rows; the sample's pair distances; the documented pairs'."""
    ids = data.all_ids()
    sample = choose_backbone(ids, min(SAMPLE, len(ids)), seed) if len(ids) >= 3 else ids
    position = {m: i for i, m in enumerate(ids)}
    sample_rows = np.array([position[m] for m in sample], dtype=np.int64)
    dist = distance_matrix(read_rows(data, np.concatenate([sample_rows, np.asarray(extra, np.int64)])), metric)
    return dist, dist.subset(sample).condensed(), _documented_distances(data, lineage, metric)


def hub_relatives(
    model: str, data: DNADataset, lineage: Lineage, client: Client, k: int = 10, metric: str = "euclidean", seed: int = 0,
) -> pd.DataFrame:
    """:func:`phylo_llm.relatives` for a partitioned dataset: exact nearest models, ``all_pairs_pct`` on sampled pairs.

    Examples
    --------
    >>> from phylo_llm.hub import connect, open_dataset
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     table = hub_relatives("org/model", open_dataset("hub/dna"), pl.load_lineage(), client)
    """
    ids = data.all_ids()
    found = require_model(model, ids, str(data.path))
    if len(ids) < 2:
        raise PhyloLLMError(f"{data.path}: nearest neighbours need at least 2 models, found {len(ids)}")
    base = parse_metric(metric, csls=False, what="nearest-neighbour metric").name
    check_cosine_vectors(data, client, base)
    query = read_rows(data, np.array([found]))
    parts = [str(p) for p in data.parts]
    k = min(k, len(ids) - 1)
    task = client.submit(_task_knn, 0, parts, data.dim, _offsets(data), k, base, (np.array([found]), query.vectors), pure=True)
    index, _ = task.result()
    dist, sampled, documented = _context(data, lineage, np.concatenate([[found], index[0]]), base, seed)
    return relatives(ids[found], dist, lineage, k=k, all_pairs=sampled, documented=documented)


def hub_candidates(
    data: DNADataset, lineage: Lineage, client: Client, *, k: int = 10, threshold: float | None = None, limit: int | None = 1000,
    metric: str = "euclidean", seed: int = 0, index: str = "exact", progress: bool = False,
) -> tuple[pd.DataFrame, float, int, int]:
    """:func:`phylo_llm.candidates` for a partitioned dataset, among every model's ``k`` exact nearest neighbours.

    Returns
    -------
    (table, threshold, qualifying, saturated) : as :func:`phylo_llm.candidates`, and the number of models
    whose ``k`` nearest neighbours are all within the threshold (they may have more such pairs: raise ``k``).

    Examples
    --------
    >>> from phylo_llm.hub import connect, open_dataset
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     table, threshold, qualifying, saturated = hub_candidates(open_dataset("hub/dna"), pl.load_lineage(), client)
    """
    base = parse_metric(metric, csls=False, what="nearest-neighbour metric").name
    # Every vector checked for the metric first (naming partition and model), then the threshold (refused when no
    # pair is documented), before the neighbour search.
    check_cosine_vectors(data, client, base)
    dist, sampled, documented = _context(data, lineage, np.array([], dtype=np.int64), base, seed)
    if threshold is None:
        threshold = documented_threshold(dist, lineage, documented)
    found, distance = knn(data, client, k, base, progress, index=index, seed=seed, checked=True)
    rows = np.repeat(np.arange(len(found)), found.shape[1])
    close = (distance.ravel() <= threshold) & (found.ravel() >= 0)
    a, b = rows[close], found.ravel()[close]
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    values = distance.ravel()[close]
    lookup = {(int(x), int(y)): v for x, y, v in zip(np.minimum(a, b), np.maximum(a, b), values)}
    pair_values = np.array([lookup[(int(x), int(y))] for x, y in pairs]) if len(pairs) else np.array([])
    empty = np.array([], dtype=np.int64)
    table, qualifying = candidates_from_pairs(data.all_ids(), pairs[:, 0] if len(pairs) else empty,
                                              pairs[:, 1] if len(pairs) else empty, pair_values, lineage, sampled, limit)
    saturated = int((distance[:, -1] <= threshold).sum())
    return table, float(threshold), qualifying, saturated


#: Index kinds of :func:`knn`: exact blockwise search, or faiss's inverted-file index (approximate).
INDEXES = ("exact", "ivf")


def _task_ivf(parts: list[str], dim: int, offsets: np.ndarray, k: int, metric: str, lists: int, probes: int, seed: int):
    """Approximate k nearest neighbours of every model with a faiss IVF-Flat index (one task: the index holds
    every vector, float32), then every found distance re-measured exactly."""
    import faiss  # optional ([hub] extra): loaded when asked for

    vectors = np.vstack([read_part(Path(p), dim)[1] for p in parts]).astype(np.float32)
    if metric == "cosine":
        faiss.normalize_L2(vectors)
    n = len(vectors)
    quantizer = faiss.IndexFlatL2(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists)
    train = np.random.default_rng(seed).choice(n, size=min(n, 64 * lists), replace=False)
    index.cp.seed = seed
    index.train(vectors[np.sort(train)])
    index.add(vectors)
    index.nprobe = probes
    _, found = index.search(vectors, k + 1)
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_d = np.full((n, k), np.inf)
    full = np.vstack([read_part(Path(p), dim)[1] for p in parts])
    for start in range(0, n, 4096):
        rows = np.arange(start, min(start + 4096, n))
        cand = found[rows]
        cand = np.where(cand == rows[:, None], -1, cand)  # a model is not its own neighbour
        valid = cand >= 0
        exact = direct_distances(full[rows], full, np.where(valid, cand, 0), metric)
        exact[~valid] = np.inf
        order = np.lexsort((np.where(valid, cand, np.iinfo(np.int64).max), exact), axis=1)[:, :k]
        out_i[rows] = np.take_along_axis(np.where(valid, cand, -1), order, axis=1)
        out_d[rows] = np.take_along_axis(exact, order, axis=1)
    return out_i, out_d


def recall_at_k(data: DNADataset, client: Client, found: np.ndarray, k: int, metric: str = "euclidean", sample: int = 1000,
                seed: int = 0) -> float:
    """Share of the exact ``k`` nearest neighbours that ``found`` lists, over a uniform sample of models.

    Examples
    --------
    >>> from phylo_llm.hub import connect, open_dataset
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     data = open_dataset("hub/dna")
    ...     index, _ = knn(data, client, 10, index="ivf")
    ...     recall_at_k(data, client, index, 10)
    """
    ids = data.all_ids()
    rows = np.array(sorted(ids.index(m) for m in choose_backbone(ids, min(sample, len(ids)), seed))) if len(ids) > sample \
        else np.arange(len(ids))
    queries = read_rows(data, rows)
    task = client.submit(_task_knn, 0, [str(p) for p in data.parts], data.dim, _offsets(data), k, metric, (rows, queries.vectors))
    exact, _ = task.result()
    hits = [len(set(exact[i]) & set(found[r, :k])) for i, r in enumerate(rows)]
    return float(np.sum(hits) / exact.size)
