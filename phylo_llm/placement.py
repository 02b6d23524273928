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

import copy
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from Bio.Phylo.BaseTree import Clade, Tree

from .errors import PhyloLLMError
from .io.trees import iter_preorder
from .tree.topology import FlatTree, distances_from_point, flatten

CRITERIA: tuple[str, ...] = ("fm", "ols")


@dataclass(frozen=True)
class Placements:
    """Where each query attaches: arrays aligned with ``ids``.

    ``edge[i]`` is the preorder index (in :func:`phylo_llm.tree.topology.flatten`
    numbering) of the node below the chosen edge; ``distal[i]`` the attachment
    height above that node; ``pendant[i]`` the new leaf's branch length;
    ``error[i]`` the weighted squared error of the best edge.
    """

    ids: tuple[str, ...]
    edge: np.ndarray
    distal: np.ndarray
    pendant: np.ndarray
    error: np.ndarray


@numba.njit(cache=True)
def _place_kernel(parent, length, leaf_of, delta, used, fm):  # pragma: no cover - compiled
    n_nodes = parent.shape[0]
    k = delta.shape[0]
    edge = np.zeros(k, np.int64)
    distal = np.zeros(k)
    pendant = np.zeros(k)
    error = np.zeros(k)
    # below[v] / above[v]: sums over the leaves below v (distances from v) and outside v (distances from v's parent).
    below = np.zeros((n_nodes, 6))
    above = np.zeros((n_nodes, 6))
    for q in range(k):
        # FM weights are infinite at distance 0: a model that coincides with a leaf goes onto that leaf
        # (x = l = 0), and its error is measured over the other leaves.
        zero = 1e-9 * np.max(delta[q])
        at_leaf = -1
        below[:] = 0.0
        above[:] = 0.0
        for v in range(n_nodes):
            leaf = leaf_of[v]
            if leaf >= 0:
                d = delta[q, leaf]
                w = 1.0
                if not used[q, leaf]:
                    w = 0.0
                elif fm:
                    if d <= zero:
                        w = 0.0
                        if at_leaf < 0:
                            at_leaf = v
                    else:
                        w = 1.0 / (d * d)
                below[v, 0] = w
                below[v, 1] = w * d
                below[v, 2] = w * d * d
        for v in range(n_nodes - 1, 0, -1):  # children come after their parent in preorder
            _add_shifted(below[parent[v]], below[v], length[v], 1.0)
        for v in range(1, n_nodes):
            u = parent[v]
            row = above[v]
            if u > 0:
                _add_shifted(row, above[u], length[u], 1.0)
            for c in range(6):
                row[c] += below[u, c]
            _add_shifted(row, below[v], length[v], -1.0)  # v's own subtree is not "above" v
        best = np.inf
        for v in range(1, n_nodes):
            if at_leaf >= 0 and v != at_leaf:
                continue
            big_l = length[v]
            b = below[v]
            a = above[v]
            wb = b[0]
            yb1 = b[1] - b[3]
            yb2 = b[2] - 2.0 * b[5] + b[4]
            wa = a[0]
            za1 = a[1] - a[3] - big_l * wa
            za2 = (a[2] - 2.0 * a[5] + a[4]) - 2.0 * big_l * (a[1] - a[3]) + big_l * big_l * wa
            if (wb <= 0.0 or wa <= 0.0) and at_leaf < 0:
                continue
            s0 = yb1 / wb if wb > 0.0 else 0.0
            t0 = za1 / wa if wa > 0.0 else 0.0
            # Candidates: the free optimum, then each boundary (x = 0, x = L, l = 0) with the other variable optimal.
            x_best = 0.0
            l_best = 0.0
            f_best = np.inf
            for case in range(4):
                if at_leaf >= 0 and case != 1:
                    continue
                if case == 0:
                    x = 0.5 * (s0 - t0)
                    ell = 0.5 * (s0 + t0)
                    if x < 0.0 or x > big_l or ell < 0.0:
                        continue
                elif case == 3:
                    x = min(max((wb * s0 - wa * t0) / (wb + wa), 0.0), big_l)
                    ell = 0.0
                elif at_leaf >= 0:
                    x = 0.0
                    ell = 0.0
                else:
                    x = 0.0 if case == 1 else big_l
                    ell = max((wb * (s0 - x) + wa * (t0 + x)) / (wb + wa), 0.0)
                s = ell + x
                t = ell - x
                f = (yb2 - 2.0 * s * yb1 + s * s * wb) + (za2 - 2.0 * t * za1 + t * t * wa)
                if f < f_best:
                    f_best = f
                    x_best = x
                    l_best = ell
            if f_best < best:
                best = f_best
                edge[q] = v
                distal[q] = x_best
                pendant[q] = l_best
        error[q] = max(best, 0.0)
    return edge, distal, pendant, error


@numba.njit(cache=True, inline="always")
def _add_shifted(target, sums, shift, sign):  # pragma: no cover - compiled
    # Adds (sign 1) or removes (sign -1) sums over leaves at distance a, re-measured from a node
    # ``shift`` higher (a -> a + shift): [w, w d, w d^2, w a, w a^2, w d a].
    target[0] += sign * sums[0]
    target[1] += sign * sums[1]
    target[2] += sign * sums[2]
    target[3] += sign * (sums[3] + shift * sums[0])
    target[4] += sign * (sums[4] + 2.0 * shift * sums[3] + shift * shift * sums[0])
    target[5] += sign * (sums[5] + shift * sums[1])


def place_distances(
    tree: Tree | FlatTree, ids, distances: np.ndarray, leaf_names, criterion: str = "fm", nearest: int | None = None
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
    nearest : int, optional
        Fit only the distances to each query's ``nearest`` closest leaves
        (APPLES' local placement); edges with none of them on one side are
        not candidates. ``None``: all leaves.
    """
    if criterion not in CRITERIA:
        raise PhyloLLMError(f"unknown placement criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
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
    used = np.ones(delta.shape, dtype=np.bool_)
    if nearest is not None and nearest < delta.shape[1]:
        if nearest < 2:
            raise PhyloLLMError(f"placement needs at least 2 nearest leaves, got {nearest}")
        used[:] = False
        # Ties at the cut-off are all kept, so the choice does not depend on the column order.
        cut = np.partition(delta, nearest - 1, axis=1)[:, nearest - 1]
        used = delta <= cut[:, None]
    edge, distal, pendant, error = _place_kernel(flat.parent.astype(np.int64), flat.length, leaf_of, delta, used, criterion == "fm")
    return Placements(tuple(ids), edge, distal, pendant, error)


def insert_placements(tree: Tree, placements: Placements) -> Tree:
    """A copy of ``tree`` with each placed model added as a leaf at its attachment point.

    Several models on one edge are inserted from the lowest attachment point
    up, each at its own height.
    """
    tree = copy.deepcopy(tree)
    clades = list(iter_preorder(tree))
    parent_of = {id(child): clade for clade in clades for child in clade.clades}
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
    """The backbone with the new models inserted, and one table row per new model."""

    tree: Tree
    table: pd.DataFrame
    placements: Placements


def place(
    new,
    tree: Tree,
    reference,
    *,
    metric: str = "euclidean",
    criterion: str = "fm",
    replicates: int = 0,
    seed: int = 0,
    lineage=None,
    local: int | None = 25,
    nearest: int = 5,
    progress: bool = False,
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
    lineage : Lineage, optional
        Documented relations of the new models, reported with their tree distance rank.
    local : int or None
        Fit each model's distances to its ``local`` nearest leaves only (APPLES
        keeps 25 by default when, as here, no distance is below its filter);
        ``None`` fits all leaves. Far distances are where a tree fits the data
        worst: on the published rand set, models taken out and placed back
        returned to the edge they came from in 82% of cases (25 leaves) vs 74%
        (all leaves) where the splits around them have >= 70% bootstrap support.
    nearest : int
        How many nearest tree leaves to list.

    Returns
    -------
    PlacementResult
        ``table`` columns: model, joins (the leaves below the chosen edge, up to
        five), joins_size, pendant_length, distal_length, error, nearest,
        documented (with ``lineage``), bootstrap_share (with ``replicates``).
    """
    from .distance import GRAM_METRICS, METRICS, cross_distances
    from .dna import DNA, SETTINGS_COLUMNS
    from .probes import ProbeEmbeddings, check_comparable
    from .progress import Progress
    from .support import probe_resampling

    if type(new) is not type(reference) or not isinstance(new, (DNA, ProbeEmbeddings)):
        raise PhyloLLMError("new and reference models must both be DNA or both be per-probe caches")
    if isinstance(new, ProbeEmbeddings):
        check_comparable(reference, new)
    else:
        for column in SETTINGS_COLUMNS:
            theirs = set(reference.metadata[column].astype(str)) if column in reference.metadata else set()
            ours = set(new.metadata[column].astype(str)) if column in new.metadata else set()
            if theirs != ours:
                raise PhyloLLMError(f"{new.source}: made with {column}={', '.join(sorted(ours)) or '(unknown)'}, but "
                                    f"{reference.source} has {column}={', '.join(sorted(theirs)) or '(unknown)'}: extract both the same way")
    base, plus, _ = metric.partition("+")
    if plus or base not in METRICS or (isinstance(new, ProbeEmbeddings) and base not in GRAM_METRICS):
        allowed = GRAM_METRICS if isinstance(new, ProbeEmbeddings) else tuple(METRICS)
        raise PhyloLLMError(f"placement metric {metric!r} not supported; choose one of {', '.join(allowed)}")
    if replicates and not isinstance(new, ProbeEmbeddings):
        raise PhyloLLMError("bootstrap placement needs per-probe caches (phylo-llm extract --cache) for the new and reference models")
    flat = flatten(tree)
    known = set(reference.ids)
    absent = [name for name in flat.names if name not in known]
    if absent:
        raise PhyloLLMError(f"tree leaf {absent[0]!r} is not in {reference.source}")
    leaves = set(flat.names)
    already = [m for m in new.ids if m in leaves]
    if already:
        raise PhyloLLMError(f"{new.source}: model {already[0]!r} is already in the tree; nothing placed")
    backbone = reference.subset(flat.names)

    def distances(weights=None) -> np.ndarray:
        if isinstance(new, DNA):
            from scipy.spatial.distance import cdist

            return cdist(new.vectors, backbone.vectors, METRICS[base])
        return cross_distances(new.concatenated(weights), backbone.concatenated(weights), base, new.ids, new.source)

    found = place_distances(flat, new.ids, distances(), flat.names, criterion, local)
    share = None
    if replicates:
        same = np.zeros(len(new.ids))
        with Progress(replicates, "placement replicates", enabled=progress) as bar:
            for draw in probe_resampling(new.n_probes, replicates, seed):
                same += place_distances(flat, new.ids, distances(draw), flat.names, criterion, local).edge == found.edge
                bar.update()
        share = same / replicates
    placed = insert_placements(tree, found)
    resolved = [lineage.resolve(name) or name for name in flat.names] if lineage is not None else []
    rows = []
    for i, model in enumerate(new.ids):
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
            "nearest": "; ".join(f"{flat.names[j]} ({to_leaves[j]:.4g})" for j in order[:nearest]),
        }
        if lineage is not None:
            row["documented"] = _documented(lineage, model, [(resolved[j], flat.names[j]) for j in order])
        if share is not None:
            row["bootstrap_share"] = float(share[i])
        rows.append(row)
    return PlacementResult(placed, pd.DataFrame(rows), found)


def _documented(lineage, model: str, by_distance: list[tuple[str, str]]) -> str:
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
    children = lineage.relations[lineage.relations["parent"] == me]
    relatives = [*(("parent", p, r) for p, r in zip(parents["parent"], parents["relation"])),
                 *(("child", c, r) for c, r in zip(children["child"], children["relation"]))]
    found = sorted((rank[other][0], f"{role} {rank[other][1]} ({relation}, tree rank {rank[other][0]})")
                   for role, other, relation in relatives if other in rank)
    return "; ".join(text for _, text in found)
