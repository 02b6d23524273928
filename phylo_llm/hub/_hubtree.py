"""The hub tree: exact NJ on a backbone, least-squares placement of every other model, refinement per edge.

Three stages, none of which holds an n x n (or n x backbone) matrix:

1. **Backbone.** ``B`` models drawn uniformly at random by hashed id
   (:func:`choose_backbone`), joined by exact neighbour joining
   (:func:`phylo_llm.tree.build_tree`, the numba kernel): ``4 B^2`` bytes.
2. **Placement.** Every other model is placed by APPLES least squares on its
   25 nearest backbone leaves (:func:`place_block`), partition by partition
   (Dask tasks); ``8 x 1024 x B`` bytes per block of models.
3. **Refinement.** The backbone is cut into connected regions of at most
   ``cap`` models (its leaves and the models placed on its edges); each region
   is re-joined by exact NJ with anchor leaves standing for the regions around
   it, and the region trees are merged (:mod:`phylo_llm.hub._refine`).

Every model's placement depends only on its own DNA and the backbone, and
every group's subtree only on its sorted members, so the tree is the same
for a given seed whatever the number of workers or partitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

import time
from dataclasses import dataclass, field

import numpy as np
from Bio.Phylo.BaseTree import Clade, Tree

from ..distance import distance_matrix
from ..dna import DNA
from ..errors import PhyloLLMError
from ..progress import Progress
from ..tree import Placements, build_tree
from ._backbone import DEFAULT_BACKBONE, choose_backbone
from ._dataset import UNDEFINED_FOR, DNADataset, check_cosine_vectors, first_zero_row, read_part
from ._placement import LOCAL, Backbone, backbone_of, place_block
from ._refine import CAP, Region, RegionTree, decompose, merge, region_tree


@dataclass(frozen=True)
class HubTree:
    """A hub tree and how it was made.

    Attributes
    ----------
    tree : Bio.Phylo.BaseTree.Tree
        Unrooted (drawn from the backbone NJ's root trifurcation), every model a leaf.
    n_models, backbone : int
        Models in the tree; of them, in the backbone.
    regions, largest_region : int
        Regions re-joined by exact NJ, and the most models one of them held.
    seconds : dict
        Wall time of each stage.

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> result = hub_tree_memory(simulate(seed=0).dna, backbone=20)
    >>> result.backbone, result.regions
    (20, 1)
    """

    tree: Tree
    n_models: int
    backbone: int
    regions: int
    largest_region: int
    seconds: dict = field(default_factory=dict)

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return (f"hub tree: backbone of {self.backbone} models (exact NJ), {self.n_models - self.backbone} placed, "
                f"{self.regions} regions re-joined by exact NJ (largest {self.largest_region} models); {stages}")


def backbone_size(n_models: int, backbone: int | None) -> int:
    """The backbone size used for ``n_models`` models: ``backbone``, else :data:`DEFAULT_BACKBONE`, at most n."""
    size = DEFAULT_BACKBONE if backbone is None else backbone
    if size < 3:
        raise PhyloLLMError(f"a backbone needs at least 3 models, got {size}")
    return min(size, n_models)


def backbone_memory(size: int, dim: int, part_rows: int = 0, cap: int = CAP) -> int:
    """Bytes one worker needs for a backbone of ``size`` models: its NJ matrix (float32 from 4,096 models),
    its DNA, one block of placement distances, one partition, and the refinement of one region of ``cap``
    models (:func:`region_memory`)."""
    itemsize = 4 if size >= 4096 else 8
    return itemsize * size * size + 8 * size * dim + 3 * 8 * 1024 * size + 16 * part_rows * dim + region_memory(cap)


def region_memory(cap: int) -> int:
    """Bytes the exact NJ of one region of ``cap`` models takes (float64 matrix and its working copies)."""
    return 3 * 8 * cap * cap


def largest_backbone(memory: int, dim: int, part_rows: int = 0, cap: int = CAP) -> int:
    """The largest backbone whose :func:`backbone_memory` fits in ``memory`` bytes."""
    low, high = 3, 10_000_000
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if backbone_memory(mid, dim, part_rows, cap) <= memory else (low, mid - 1)
    return low


def check_region(cap: int, memory: int | None, where: str) -> None:
    """Refuse, before anything runs, regions whose exact NJ does not fit in ``memory`` bytes (``None``: unknown)."""
    if memory is None or region_memory(cap) <= memory:
        return
    fits = max(3, int((memory / 24) ** 0.5))
    raise PhyloLLMError(f"--region {cap}: one region's exact NJ needs about {region_memory(cap) / 2**30:.1f} GiB and {where} "
                        f"{memory / 2**30:.1f} GiB: use --region {fits} or less")


def hub_tree_memory(
    dna: DNA, backbone: int | None = None, *, metric: str = "euclidean", seed: int = 0, local: int = LOCAL, cap: int = CAP,
) -> HubTree:
    """The hub tree of DNA held in memory, in this process (no Dask).

    Parameters
    ----------
    dna : DNA
        At least 3 models.
    backbone : int, optional
        Backbone size (default :data:`DEFAULT_BACKBONE`).
    metric : str
        Distance between DNA vectors (no ``+csls``).
    seed : int
        Seed of the backbone draw.
    local : int
        Nearest backbone leaves each model is placed by.
    cap : int
        Largest group refined by one dense NJ.

    Returns
    -------
    HubTree

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> dna = simulate(seed=0, finetunes_per_base=6).dna
    >>> result = hub_tree_memory(dna, backbone=30)
    >>> result.tree.count_terminals(), result.backbone
    (100, 30)
    """
    from .._memory import available_memory, require_memory
    from ..distance import parse_metric

    kind = parse_metric(metric, csls=False).base
    zero = first_zero_row(dna.ids, dna.vectors, kind) if kind in UNDEFINED_FOR else None
    if zero is not None:
        raise PhyloLLMError(f"{dna.source}: model {zero!r} has {UNDEFINED_FOR[kind]}: its {kind} distance is undefined")
    timer = _Stages()
    size = backbone_size(dna.n_models, backbone)
    cap = min(cap, dna.n_models)  # a region holds at most every model
    available = available_memory()
    check_region(cap, None if available is None else int(0.9 * available), "this machine has")
    require_memory(backbone_memory(size, dna.dim, 0, cap), f"a hub tree with a backbone of {size} models", "use a smaller --backbone")
    chosen = choose_backbone(dna.ids, size, seed)
    base = dna.subset(chosen)
    tree = build_tree(distance_matrix(base, metric), "nj", overwrite=True)
    arrays = backbone_of(tree, base.ids, base.vectors)
    timer.lap("backbone")
    taken = set(chosen)
    rest = [i for i, m in enumerate(dna.ids) if m not in taken]
    if not rest:
        return HubTree(tree, dna.n_models, size, 0, 0, timer.seconds)
    ids = tuple(dna.ids[i] for i in rest)
    found = place_block(arrays, ids, dna.vectors[rest], metric, local)
    timer.lap("placement")
    region_of, regions = decompose(arrays, np.bincount(found.edge, minlength=arrays.n_nodes), cap)
    member = region_of[found.edge]
    vectors = dna.vectors[rest]
    trees = []
    for region in regions:
        at = np.flatnonzero(member == region.root)
        trees.append(region_tree(region, arrays, [ids[i] for i in at], vectors[at], metric, cap, seed))
    timer.lap("refinement")
    result = merge(trees)
    timer.lap("assembly")
    sizes = _region_sizes(regions, member)
    return HubTree(result, dna.n_models, size, len(regions), int(sizes.max()), timer.seconds)


def _region_sizes(regions: list[Region], member: np.ndarray) -> np.ndarray:
    """Models per region: its backbone leaves and the models placed in it."""
    counts = dict(zip(*np.unique(member, return_counts=True)))
    return np.array([len(r.leaves) + int(counts.get(r.root, 0)) for r in regions])


def _split_sorted(keys: np.ndarray, values: np.ndarray) -> tuple[list[int], list[np.ndarray]]:
    cuts = np.flatnonzero(np.diff(keys)) + 1
    return [int(k[0]) for k in np.split(keys, cuts)] if len(keys) else [], np.split(values, cuts) if len(keys) else []


class _Stages:
    """Wall time per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now


# --- On Dask: each function below runs as a task on a worker; inputs are partition files or earlier results.

def _task_take(part: str, dim: int, wanted: frozenset) -> tuple[tuple[str, ...], np.ndarray]:
    """The rows of one partition whose ids are in ``wanted``."""
    from pathlib import Path

    ids, vectors = read_part(Path(part), dim)
    keep = [i for i, m in enumerate(ids) if m in wanted]
    return tuple(ids[i] for i in keep), vectors[keep]


def _task_backbone(metric: str, *pieces) -> Backbone:
    """The backbone tree (exact NJ on its models, sorted by id) as arrays."""
    ids = tuple(m for p in pieces for m in p[0])
    vectors = np.vstack([p[1] for p in pieces])
    dna = DNA(ids, vectors, source="backbone")
    dna = dna.subset(sorted(ids))
    tree = build_tree(distance_matrix(dna, metric), "nj", overwrite=True)
    return backbone_of(tree, dna.ids, dna.vectors)


#: Models per placement task: a partition is placed in slices of this many rows, so that even a dataset of
#: one or two partitions keeps every worker busy.
PLACE_ROWS = 10_000


def _slices(data: DNADataset) -> list[tuple[str, int, int]]:
    """(partition, first row, end row) of every placement task."""
    return [(str(path), start, min(start + PLACE_ROWS, len(ids))) for path, ids in zip(data.parts, data.ids)
            for start in range(0, len(ids), PLACE_ROWS)]


def _read_slice(piece: tuple[str, int, int], dim: int) -> tuple[tuple[str, ...], np.ndarray]:
    from pathlib import Path

    ids, vectors = read_part(Path(piece[0]), dim)
    return ids[piece[1]:piece[2]], vectors[piece[1]:piece[2]]


def _task_place(piece: tuple[str, int, int], dim: int, backbone: Backbone, metric: str, local: int) -> Placements:
    """Placements of one slice of a partition: its models that are not in the backbone."""
    ids, vectors = _read_slice(piece, dim)
    taken = set(backbone.ids)
    keep = [i for i, m in enumerate(ids) if m not in taken]
    return place_block(backbone, tuple(ids[i] for i in keep), vectors[keep], metric, local)


def _task_edges(found: Placements) -> np.ndarray:
    return found.edge


def _task_split(piece: tuple[str, int, int], dim: int, found: Placements, batch_of_region: dict, region_of: np.ndarray) -> dict:
    """One slice's placed models by refinement batch: batch -> (ids, vectors, regions)."""
    ids, vectors = _read_slice(piece, dim)
    row = {m: i for i, m in enumerate(ids)}
    member = region_of[found.edge]
    batches = np.array([batch_of_region[int(r)] for r in member], dtype=np.int64)
    out: dict[int, tuple] = {}
    for batch in np.unique(batches):
        at = np.flatnonzero(batches == batch)
        picked = vectors[[row[found.ids[i]] for i in at]]
        compact = picked.astype(np.float32)  # as partitions store them: half the memory while pieces wait
        out[int(batch)] = ([found.ids[i] for i in at], compact if np.array_equal(compact, picked) else picked, member[at])
    return out


def _task_piece(split: dict, batch: int):
    return split.get(batch)


def _task_refine(backbone: Backbone, regions: list[Region], metric: str, cap: int, seed: int, *pieces) -> list[RegionTree]:
    """The trees of one batch of regions (their placed models come from every partition)."""
    pieces = tuple(p for p in pieces if p is not None)
    ids = [m for p in pieces for m in p[0]]
    vectors = np.vstack([p[1] for p in pieces]) if pieces else np.empty((0, backbone.vectors.shape[1]))
    member = np.concatenate([p[2] for p in pieces]) if pieces else np.empty(0, dtype=np.int64)
    out = []
    for region in regions:
        at = np.flatnonzero(member == region.root)
        out.append(region_tree(region, backbone, [ids[i] for i in at], vectors[at], metric, cap, seed))
    return out


def hub_tree(
    data: DNADataset,
    client: Client,
    backbone: int | None = None,
    *,
    metric: str = "euclidean",
    seed: int = 0,
    local: int = LOCAL,
    cap: int = CAP,
    progress: bool = False,
) -> HubTree:
    """The hub tree of a partitioned dataset, computed on a Dask cluster.

    Parameters
    ----------
    data : DNADataset
        The models (:func:`open_dataset`); partitions are read by the workers.
    client : distributed.Client
        The cluster (:func:`connect`). Its workers must reach the partition files.
    backbone, metric, seed, local, cap
        As :func:`hub_tree_memory` (same result for the same options).
    progress : bool
        A progress bar per stage on standard error.

    Raises
    ------
    PhyloLLMError
        A backbone too large for the workers' memory limit (before anything
        runs, saying which size fits).

    Examples
    --------
    >>> from phylo_llm.hub import connect, open_dataset
    >>> with connect(workers=2) as client:  # doctest: +SKIP
    ...     result = hub_tree(open_dataset("hub/dna"), client, backbone=2000)
    """
    check_cosine_vectors(data, client, metric)
    timer = _Stages()
    size = backbone_size(data.n_models, backbone)
    part_rows = max(len(p) for p in data.ids)
    cap = min(cap, data.n_models)  # a region holds at most every model
    check_worker_memory(client, size, data.dim, part_rows, cap)
    chosen = frozenset(choose_backbone(data.all_ids(), size, seed))
    parts = [str(p) for p in data.parts]
    taken = [client.submit(_task_take, p, data.dim, chosen, pure=True) for p in parts]
    built = client.submit(_task_backbone, metric, *taken, pure=True)
    arrays = built.result()
    timer.lap("backbone")
    pieces = _slices(data)
    placed = [client.submit(_task_place, p, data.dim, built, metric, local, pure=True) for p in pieces]
    _follow(client, placed, "placing models", progress)
    edges = np.concatenate(client.gather([client.submit(_task_edges, f, pure=True) for f in placed]))
    timer.lap("placement")
    region_of, regions = decompose(arrays, np.bincount(edges, minlength=arrays.n_nodes), cap)
    sizes = _region_sizes(regions, region_of[edges])
    batch_of_region = _batches(np.array([r.root for r in regions]), sizes, max(1, 4 * _workers(client)))
    split = [client.submit(_task_split, p, data.dim, f, batch_of_region, region_of, pure=True) for p, f in zip(pieces, placed)]
    refined = []
    for batch in sorted(set(batch_of_region.values())):
        inputs = [client.submit(_task_piece, s, batch, pure=True) for s in split]
        mine = [r for r in regions if batch_of_region[r.root] == batch]
        refined.append(client.submit(_task_refine, built, mine, metric, cap, seed, *inputs, pure=True))
    _follow(client, refined, "refining regions", progress)
    trees = [t for batch in client.gather(refined) for t in batch]
    timer.lap("refinement")
    tree = merge(trees)
    timer.lap("assembly")
    return HubTree(tree, data.n_models, size, len(regions), int(sizes.max()), timer.seconds)


def tree_of(backbone: Backbone) -> Tree:
    """The backbone as a Biopython tree (same preorder numbering as its arrays)."""
    names = {int(node): backbone.ids[j] for j, node in enumerate(backbone.leaf_node)}
    clades = [Clade(name=names.get(i), branch_length=float(backbone.length[i]) if i else None) for i in range(backbone.n_nodes)]
    for i in range(1, backbone.n_nodes):
        clades[backbone.parent[i]].clades.append(clades[i])
    return Tree(root=clades[0], rooted=False)


def check_worker_memory(client, size: int, dim: int, part_rows: int, cap: int = CAP) -> None:
    """Refuse, before anything runs, a backbone (or a region size) the workers' memory limit cannot hold; say what
    size fits."""
    from ._cluster import MEMORY_SHARE, worker_memory

    limit = worker_memory(client)
    if limit is None:
        return
    usable = int(MEMORY_SHARE * limit)
    check_region(cap, usable, "a worker may use")
    if backbone_memory(size, dim, part_rows, cap) > usable:
        fits = largest_backbone(usable, dim, part_rows, cap)
        raise PhyloLLMError(
            f"a backbone of {size} models needs about {backbone_memory(size, dim, part_rows, cap) / 2**30:.1f} GiB per worker and the "
            f"workers have a memory limit of {limit / 2**30:.1f} GiB: use --backbone {fits} or less"
            + (" (or smaller partitions)" if fits < 3 else "") + ", or workers with more memory")


def _batches(keys: np.ndarray, counts: np.ndarray, n_batches: int) -> dict:
    """Regions shared out into batches of about equal work (largest first, each to the lightest batch)."""
    load = np.zeros(min(n_batches, max(len(keys), 1)))
    out = {}
    cost = counts.astype(np.float64) ** 2  # NJ work grows faster than the region
    for i in np.lexsort((keys, -cost)):
        b = int(np.argmin(load))
        out[int(keys[i])] = b
        load[b] += cost[i]
    return out


def _workers(client) -> int:
    from ._cluster import worker_count

    return max(1, worker_count(client))


def _follow(client, futures: list, label: str, progress: bool) -> None:
    """Wait for tasks, with a progress bar; the first task error is raised as it is."""
    from distributed import as_completed

    with Progress(len(futures), label, enabled=progress) as bar:
        for future in as_completed(futures, loop=client.loop):
            if future.status == "error":
                future.result()
            bar.update()


def dense_fits(n_models: int, method: str = "nj") -> bool:
    """True when the dense build of ``n_models`` (its n x n distances, float32 from 4,096 models) fits in the
    memory available now; the hub tree is used when it does not.

    Examples
    --------
    >>> dense_fits(1000), dense_fits(10_000_000)
    (True, False)
    """
    from .._memory import available_memory
    from ..distance import FLOAT32_FROM
    from ..tree import memory_needed

    available = available_memory()
    itemsize = 4 if n_models >= FLOAT32_FROM else 8
    return available is None or memory_needed(n_models, itemsize) <= 0.9 * available


def build_hub_tree(
    source: DNA | DNADataset, backbone: int | None = None, *, metric: str = "euclidean", seed: int = 0, cap: int = CAP, scheduler: str | None = None,
    workers: int | None = None, progress: bool = False,
) -> HubTree:
    """The hub tree of a dataset folder (on Dask: ``scheduler``, else a LocalCluster of ``workers``) or of
    in-memory DNA (in this process).

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> build_hub_tree(simulate(seed=0).dna, backbone=20).tree.count_terminals()
    70
    """
    from ..distance import parse_metric

    parsed = parse_metric(metric, csls=False, what="hub tree metric")
    if isinstance(source, DNA):
        return hub_tree_memory(source, backbone, metric=parsed.name, seed=seed, cap=cap)
    from ._cluster import connect

    with connect(scheduler, workers) as client:
        return hub_tree(source, client, backbone, metric=parsed.name, seed=seed, cap=cap, progress=progress)
