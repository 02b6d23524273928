"""Placing new models into an existing tree by distance least squares (APPLES; Balaban et al., Syst. Biol. 2020).

For a new model q with distances delta_i to the tree's leaves, attaching q to
edge (u above, v below, length L) at height x above v with a pendant branch
of length l gives tree distances ``a_i + x + l`` to the leaves below v
(``a_i`` their distance to v) and ``b_i + L - x + l`` to the others (``b_i``
their distance to u). With ``s = l + x`` and ``t = l - x`` the weighted error

    sum_below w_i (delta_i - a_i - s)^2 + sum_above w_i (delta_i - L - b_i - t)^2

separates into two weighted means, so every edge's optimum, under the
constraints ``0 <= x <= L`` and ``l >= 0``, comes from six sums per side
(of w, w delta, w delta^2, w a, w a^2, w delta a). One pass up the tree and one
pass down give those sums for every edge: placing k models into an n-leaf
tree costs O(k n). The edge with the smallest error wins. Weights are
``w = delta^-2`` (Fitch-Margoliash, APPLES' default) or ``w = 1`` (ordinary
least squares). Under FM a model at distance 0 from a leaf (a copy) is placed
on that leaf, where any other point would have infinite error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from Bio.Phylo.BaseTree import Clade, Tree

from .._deprecation import renamed_keyword
from .._signals import deferred_signals
from ..distance import Metric, distances_between, parse_metric
from ..dna import DNA
from ..errors import PhyloLLMError
from ..ids import model_key
from ..lineage import Lineage, LineageView, as_lineage
from ..probes import ProbeEmbeddings
from ..progress import Progress
from ..settings import check_comparable
from . import PLACEMENT_CRITERIA
from ._flat import FlatTree, distances_from_point, flatten
from ._support import probe_resampling
from ._walk import copy_tree, iter_preorder, parent_map, require_lengths


@dataclass(frozen=True)
class Placements:
    """Where each query attaches: arrays aligned with ``ids``.

    ``edge[i]`` is the preorder index (in :func:`phylo_llm.tree.flatten`
    numbering) of the node below the chosen edge; ``distal[i]`` the attachment
    height above that node; ``pendant[i]`` the new leaf's branch length;
    ``error[i]`` the weighted squared error of the best edge.

    Examples
    --------
    >>> import numpy as np
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:1,b:1):1,c:2);"), "newick")
    >>> found = place_distances(tree, ["q"], np.array([[1.0, 2.0, 4.0]]), ["a", "b", "c"])
    >>> found.ids, int(found.edge[0]), float(found.pendant[0])
    (('q',), 2, 0.5)
    """

    ids: tuple[str, ...]
    edge: np.ndarray
    distal: np.ndarray
    pendant: np.ndarray
    error: np.ndarray


def place_distances(
    tree: Tree | FlatTree,
    ids: Sequence[str],
    distances: np.ndarray,
    leaf_names: Sequence[str],
    criterion: str = "fm",
    local: int | None = None,
    *,
    nearest: int | None = None,
) -> Placements:
    """Least-squares placement of queries from their distances to the tree's leaves.

    Parameters
    ----------
    tree : Bio.Phylo.BaseTree.Tree or FlatTree
        The backbone, with branch lengths (rooted or not; the root is ignored).
    ids : sequence of str
        Query names.
    distances : numpy.ndarray
        ``(queries, leaves)`` distances, columns in the order of ``leaf_names``.
    leaf_names : sequence of str
        The tree's leaves, in the column order of ``distances``.
    criterion : {"fm", "ols"}
        Weights ``delta^-2`` (Fitch-Margoliash) or 1.
    local : int, optional
        Fit only the distances to each query's ``local`` closest leaves
        (APPLES' local placement); edges with none of them on one side are
        not candidates. ``None``: all leaves. (``nearest`` is its deprecated name.)

    Returns
    -------
    Placements

    References
    ----------
    Balaban M, Sarmashghi S, Mirarab S (2020). APPLES: scalable distance-based phylogenetic placement
    with or without alignments. Syst Biol 69:566-578.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:1,b:1):1,c:2);"), "newick")
    >>> # q hangs 0.5 below a point 0.5 above a: distances to a, b, c are 1, 2 and 4
    >>> found = place_distances(tree, ["q"], np.array([[1.0, 2.0, 4.0]]), ["a", "b", "c"])
    >>> float(found.distal[0]), float(found.pendant[0]), round(float(found.error[0]), 12)
    (0.5, 0.5, 0.0)
    """
    local = renamed_keyword("place_distances", "nearest", "local", nearest, local, None)
    if criterion not in PLACEMENT_CRITERIA:
        raise PhyloLLMError(f"unknown placement criterion {criterion!r}; choose one of {', '.join(PLACEMENT_CRITERIA)}")
    if not isinstance(tree, FlatTree):
        require_lengths(tree, "placement")
    flat = tree if isinstance(tree, FlatTree) else flatten(tree)
    column = {name: i for i, name in enumerate(leaf_names)}
    missing = [name for name in flat.names if name not in column]
    if missing:
        raise PhyloLLMError(f"tree leaf {missing[0]!r} has no distance to the new models")
    leaf_of = np.full(len(flat.parent), -1, dtype=np.int64)
    leaf_of[flat.leaf_nodes] = [column[name] for name in flat.names]
    delta = np.ascontiguousarray(distances, dtype=np.float64).reshape(len(ids), -1)
    if not np.isfinite(delta).all() or (delta < 0).any():
        row = int(np.argmax(~(np.isfinite(delta) & (delta >= 0)).all(axis=1)))
        raise PhyloLLMError(f"distances of new model {ids[row]!r} are not finite and non-negative")
    if not np.isfinite(flat.length).all():
        raise PhyloLLMError("the tree has branch lengths that are not finite numbers")
    used = np.ones(delta.shape, dtype=np.bool_)
    if local is not None and local < delta.shape[1]:
        if local < 2:
            raise PhyloLLMError(f"placement needs at least 2 nearest leaves, got {local}")
        # Ties at the cut-off are all kept, so the choice does not depend on the column order.
        cut = np.partition(delta, local - 1, axis=1)[:, local - 1]
        used = delta <= cut[:, None]
    from ._place_kernel import _place_kernel  # compiled: loaded when first needed

    with deferred_signals():
        edge, distal, pendant, error = _place_kernel(flat.parent.astype(np.int64), flat.length, leaf_of, delta, used, criterion == "fm")
    # Lengths or distances near the largest float overflow the least-squares sums: no edge is chosen (node 0, the
    # root, has none above it), which would be inserted nowhere.
    lost = (edge <= 0) | ~np.isfinite(error)
    if lost.any():
        row = int(np.argmax(lost))
        raise PhyloLLMError(f"no edge of the tree fits new model {ids[row]!r}: its least-squares error overflows (branch "
                            "lengths or distances near the largest float): rescale them")
    return Placements(tuple(ids), edge, distal, pendant, error)


def insert_placements(tree: Tree, placements: Placements) -> Tree:
    """A copy of ``tree`` with each placed model added as a leaf at its attachment point.

    Several models on one edge are inserted from the lowest attachment point
    up, each at its own height.

    Examples
    --------
    >>> import numpy as np
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> from phylo_llm.io import to_newick
    >>> tree = Phylo.read(StringIO("((a:1,b:1):1,c:2);"), "newick")
    >>> found = place_distances(tree, ["q"], np.array([[1.0, 2.0, 4.0]]), ["a", "b", "c"])
    >>> print(to_newick(insert_placements(tree, found)))
    (((a:0.5,q:0.5):0.5,b:1.0):1.0,c:2.0);
    """
    tree = copy_tree(tree)
    clades = list(iter_preorder(tree))
    parent_of = parent_map(tree)
    order = sorted(range(len(placements.ids)), key=lambda i: (int(placements.edge[i]), float(placements.distal[i]), placements.ids[i]))
    lower: dict[int, tuple[Clade, float]] = {}
    for i in order:
        node = int(placements.edge[i])
        current, offset = lower.get(node, (clades[node], 0.0))
        up = parent_of[id(current)]
        full = current.branch_length or 0.0
        height = min(max(float(placements.distal[i]) - offset, 0.0), full)
        leaf = Clade(name=placements.ids[i], branch_length=float(placements.pendant[i]))
        joint = Clade(branch_length=full - height, clades=[current, leaf])
        current.branch_length = height
        up.clades[up.clades.index(current)] = joint
        parent_of[id(current)] = joint
        parent_of[id(joint)] = up
        lower[node] = (joint, float(placements.distal[i]))
    return tree


@dataclass(frozen=True)
class PlacementResult:
    """The backbone with the new models inserted, and one table row per new model.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> dna = simulate(seed=0).dna
    >>> backbone = dna.subset(dna.ids[1:])
    >>> result = place(dna.subset(dna.ids[:1]), pl.build_tree(pl.distance_matrix(backbone)), backbone)
    >>> len(result.table), result.placements.ids == dna.ids[:1]
    (1, True)
    """

    tree: Tree
    table: pd.DataFrame
    placements: Placements

    def __repr__(self) -> str:  # one line in a notebook; ``table`` shows itself
        return f"PlacementResult({len(self.table):,} placed into a tree of {self.tree.count_terminals():,} leaves)"


def place(
    new: DNA | ProbeEmbeddings,
    tree: Tree,
    reference: DNA | ProbeEmbeddings,
    *,
    metric: str = "euclidean",
    criterion: str = "fm",
    replicates: int = 0,
    seed: int = 0,
    lineage: Lineage | str | os.PathLike | None = None,
    local: int | None = 25,
    listed: int = 5,
    progress: bool = False,
    nearest: int | None = None,
) -> PlacementResult:
    """Place new models into an existing tree without rebuilding it.

    Parameters
    ----------
    new, reference : DNA or ProbeEmbeddings
        The new models, and (at least) the tree's models, made with the same
        extraction settings (both DNA, or both per-probe caches).
    tree : Bio.Phylo.BaseTree.Tree
        The backbone, with branch lengths; its leaves must be in ``reference``.
    metric : str
        Distance between vectors, as used to build the backbone (no ``+csls``:
        it rescales by neighbourhoods the backbone was not built with).
    criterion : {"fm", "ols"}
        Least-squares weights (see the module).
    replicates : int
        Per-probe caches only: also place each model with this many probe-bootstrap
        replicate distances and report the share that choose the same edge.
    seed : int
        Seed of the bootstrap draws.
    lineage : Lineage or path, optional
        Documented relations of the new models, reported with their tree distance rank.
    local : int or None
        Fit each model's distances to its ``local`` nearest leaves only (APPLES
        keeps 25 by default when, as here, no distance is below its filter);
        ``None`` fits all leaves. Far distances are where a tree fits the data
        worst: on the published rand set, models taken out and placed back
        returned to the edge they came from in 82% of cases (25 leaves) vs 74%
        (all leaves) where the splits around them have >= 70% bootstrap support.
    listed : int
        How many nearest tree leaves to list in the ``nearest`` column
        (``nearest=`` is its deprecated name).

    Returns
    -------
    PlacementResult
        ``table`` columns: model, joins (the leaves below the chosen edge, up to
        five), joins_size, pendant_length, distal_length, error, nearest_leaf
        (the leaf nearest the placed model along the tree), nearest (the
        ``listed`` nearest with their tree distances),
        documented (with ``lineage``), bootstrap_share (with ``replicates``).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> dna = simulate(seed=0).dna
    >>> backbone = dna.subset(dna.ids[1:])
    >>> result = place(dna.subset(dna.ids[:1]), pl.build_tree(pl.distance_matrix(backbone)), backbone)
    >>> result.tree.count_terminals()
    70
    """
    listed = renamed_keyword("place", "nearest", "listed", nearest, listed, 5)
    check_placement_options(replicates, local, listed)
    known = None if lineage is None else as_lineage(lineage)  # read before the work, so a bad path fails first
    if new.n_models == 0:
        raise PhyloLLMError(f"{new.source}: no new model to place")
    check_comparable(reference, new)
    parsed = parse_metric(metric, dot_products_only=isinstance(new, ProbeEmbeddings), csls=False, what="placement metric")
    if replicates and not isinstance(new, ProbeEmbeddings):
        raise PhyloLLMError("bootstrap placement needs per-probe caches (phylo-llm extract --cache) for the new and reference models")
    require_lengths(tree, "placement")
    flat = flatten(tree)
    if len(flat.names) < 2:  # one leaf has no edge to place on
        raise PhyloLLMError(f"the backbone tree has {len(flat.names)} leaf; placement needs at least 2")
    backbone = backbone_of(reference, flat, new)
    found = place_distances(flat, new.ids, distances_between(new, backbone, parsed), flat.names, criterion, local)
    share = None
    if replicates:
        assert isinstance(new, ProbeEmbeddings) and isinstance(backbone, ProbeEmbeddings)  # checked above
        share = bootstrap_share(new, backbone, flat, found, parsed, criterion, local, replicates, seed, progress)
    table = placement_table(new.ids, flat, found, share, known, listed)
    return PlacementResult(insert_placements(tree, found), table, found)


def check_placement_options(replicates: int, local: int | None, listed: int) -> None:
    """Refuse option values :func:`place` cannot use (before anything is loaded or computed).

    Examples
    --------
    >>> check_placement_options(replicates=100, local=None, listed=5)  # fine: nothing happens
    >>> check_placement_options(replicates=100, local=1, listed=5)
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: local placement needs at least 2 nearest leaves (or all: 0 / None), got 1
    """
    if replicates < 0:
        raise PhyloLLMError(f"the number of bootstrap replicates must be >= 0, got {replicates}")
    if local is not None and local < 2:
        raise PhyloLLMError(f"local placement needs at least 2 nearest leaves (or all: 0 / None), got {local}")
    if listed < 0:
        raise PhyloLLMError(f"the number of nearest leaves to list must be >= 0, got {listed}")


def backbone_of(reference: DNA | ProbeEmbeddings, flat: FlatTree, new: DNA | ProbeEmbeddings) -> DNA | ProbeEmbeddings:
    """The reference rows of the tree's leaves (in leaf order), refusing leaves it lacks and new models already placed."""
    known = set(reference.ids)
    absent = [name for name in flat.names if name not in known]
    if absent:
        raise PhyloLLMError(f"{reference.source}: has no row for the tree's leaf {absent[0]!r}")
    # A new id the tree holds up to case, white space or folder form is the leaf's model (phylo_llm.ids): placing it
    # would put one model beside itself as two leaves.
    leaves = {model_key(name): name for name in flat.names}
    leaves.update({name: name for name in flat.names})
    for model in new.ids:
        leaf = leaves.get(model, leaves.get(model_key(model)))
        if leaf is not None:
            same = "" if leaf == model else f" as {leaf!r} (ids differing only by case, white space or folder form are one model)"
            raise PhyloLLMError(f"{new.source}: model {model!r} is already in the tree{same}; nothing placed")
    return reference.subset(flat.names)


def bootstrap_share(
    new: ProbeEmbeddings, backbone: ProbeEmbeddings, flat: FlatTree, found: Placements, metric: Metric, criterion: str,
    local: int | None, replicates: int, seed: int, progress: bool = False,
) -> np.ndarray:
    """Share of probe-bootstrap replicates whose distances place each model on the edge ``found`` chose."""
    same = np.zeros(len(new.ids))
    with Progress(replicates, "placement replicates", enabled=progress) as bar:
        for draw in probe_resampling(new.n_probes, replicates, seed):
            again = place_distances(flat, new.ids, distances_between(new, backbone, metric, draw), flat.names, criterion, local)
            same += again.edge == found.edge
            bar.update()
    return same / replicates


def placement_table(
    ids: Sequence[str], flat: FlatTree, found: Placements, share: np.ndarray | None, lineage: Lineage | None, listed: int = 5
) -> pd.DataFrame:
    """One row per placed model: edge, lengths, error, nearest leaves by tree distance, documented relatives, support."""
    known = lineage.among([*flat.names, *ids]) if lineage is not None else None
    resolved = [known.resolve(name) or name for name in flat.names] if known is not None else []
    rows = []
    for i, model in enumerate(ids):
        below = [flat.names[j] for j in np.flatnonzero(flat.below[found.edge[i]])]
        # From the new leaf: its pendant branch, then the backbone from its attachment point.
        to_leaves = found.pendant[i] + distances_from_point(flat, int(found.edge[i]), float(found.distal[i]))
        order = np.lexsort((np.array(flat.names), to_leaves))
        row = {
            "model": model,
            "joins": ", ".join(sorted(below)[:5]) + (", ..." if len(below) > 5 else ""),
            "joins_size": len(below),
            "pendant_length": float(found.pendant[i]),
            "distal_length": float(found.distal[i]),
            "error": float(found.error[i]),
            "nearest_leaf": flat.names[order[0]],  # the leaf the model is placed beside
            "nearest": "; ".join(f"{flat.names[j]} ({to_leaves[j]:.4g})" for j in order[:listed]),
        }
        if known is not None:
            row["documented"] = _documented(known, model, [(resolved[j], flat.names[j]) for j in order])
        if share is not None:
            row["bootstrap_share"] = float(share[i])
        rows.append(row)
    return pd.DataFrame(rows)


def _documented(lineage: LineageView, model: str, by_distance: list[tuple[str, str]]) -> str:
    """The model's documented parents and children among the tree leaves, with their rank by tree distance.

    ``by_distance``: (lineage id, leaf name) of the tree leaves, nearest first.
    """
    me = lineage.resolve(model)
    if me is None:
        return ""
    rank: dict[str, tuple[int, str]] = {}
    for position, (found, name) in enumerate(by_distance, start=1):
        rank.setdefault(found, (position, name))
    parents = lineage.parents(model)
    children = lineage.children(model)
    relatives = [*(("parent", p, r) for p, r in zip(parents["parent"], parents["relation"])),
                 *(("child", c, r) for c, r in zip(children["child"], children["relation"]))]
    listed = sorted((rank[other][0], f"{role} {rank[other][1]} ({relation}, tree rank {rank[other][0]})")
                    for role, other, relation in relatives if other in rank)
    return "; ".join(text for _, text in listed)
