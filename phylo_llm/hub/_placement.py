"""Placing many models into a backbone tree by least squares on their nearest backbone leaves (local APPLES).

APPLES' local placement (Balaban et al. 2020) fits each query's distances to
its ``local`` nearest leaves only; edges with none of them on one side cannot
win. The whole-tree pass of :func:`phylo_llm.tree.place_distances` still costs
O(tree) per query; here each query's pass runs on the *virtual tree* of its
nearest leaves (those leaves and their pairwise common ancestors, O(local)
nodes): along a path of the full tree whose side branches hold none of those
leaves the least-squares error is the same function of the position as along
the virtual edge, so the optimum is the same, found in O(local log local).
The point is then mapped back onto the edge of the full tree it lies on.
Placing a million models into a 10,000-leaf backbone is then dominated by
finding the nearest leaves (one matrix product per block of models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Tree

from .._signals import deferred_signals
from ..errors import PhyloLLMError
from ..tree import PLACEMENT_CRITERIA, Placements, preorder_arrays
from ._knn import nearest

#: Nearest backbone leaves each model is fitted to (APPLES' default for local placement).
LOCAL = 25


@dataclass(frozen=True)
class Backbone:
    """A backbone tree as arrays (preorder numbering, as :func:`phylo_llm.tree.flatten`), with its leaves' DNA.

    ``leaf_node[j]`` is the node of leaf ``ids[j]``; ``depth`` the distance from
    the root, ``level`` the number of edges from it; ``up[j, v]`` the ``2^j``-th
    ancestor of ``v`` (the root's is itself).

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> ids, vectors = ("a", "b", "c"), np.array([[0.0], [1.0], [5.0]])
    >>> backbone = backbone_of(pl.build_tree(pl.distance_matrix(pl.DNA(ids, vectors))), ids, vectors)
    >>> backbone.n_nodes, backbone.leaf_node.tolist()
    (4, [1, 2, 3])
    """

    ids: tuple[str, ...]
    vectors: np.ndarray
    parent: np.ndarray
    length: np.ndarray
    depth: np.ndarray
    level: np.ndarray
    up: np.ndarray
    leaf_node: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def backbone_of(tree: Tree, ids: Sequence[str], vectors: np.ndarray) -> Backbone:
    """Arrays of ``tree`` whose leaves are ``ids`` (rows of ``vectors``), negative lengths counted as given.

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> ids, vectors = ("a", "b", "c"), np.array([[0.0], [1.0], [5.0]])
    >>> backbone_of(pl.build_tree(pl.distance_matrix(pl.DNA(ids, vectors))), ids, vectors).depth.tolist()
    [0.0, 1.0, 0.0, 4.0]
    """
    clades, parent, length = preorder_arrays(tree)
    n = len(clades)
    if not np.isfinite(length).all():
        raise PhyloLLMError("the backbone tree has branch lengths that are not finite numbers")
    depth = np.zeros(n)
    level = np.zeros(n, dtype=np.int64)
    for i in range(1, n):
        depth[i] = depth[parent[i]] + length[i]
        level[i] = level[parent[i]] + 1
    steps = max(1, int(level.max()).bit_length())
    up = np.empty((steps, n), dtype=np.int64)
    up[0] = np.where(parent >= 0, parent, 0)
    for j in range(1, steps):
        up[j] = up[j - 1][up[j - 1]]
    row = {m: j for j, m in enumerate(ids)}
    leaf_node = np.full(len(ids), -1, dtype=np.int64)
    for i, clade in enumerate(clades):
        if not clade.clades:
            if clade.name not in row:
                raise PhyloLLMError(f"backbone leaf {clade.name!r} has no DNA")
            leaf_node[row[clade.name]] = i
    if (leaf_node < 0).any():
        raise PhyloLLMError(f"backbone model {ids[int(np.argmax(leaf_node < 0))]!r} is not a leaf of the backbone tree")
    return Backbone(tuple(ids), np.ascontiguousarray(vectors, dtype=np.float64), parent, length, depth, level, up, leaf_node)


def place_block(
    backbone: Backbone, ids: Sequence[str], vectors: np.ndarray, metric: str = "euclidean", local: int = LOCAL, criterion: str = "fm"
) -> Placements:
    """Place models (rows of ``vectors``) into the backbone, each by its ``local`` nearest backbone leaves.

    Parameters
    ----------
    backbone : Backbone
        The tree and its leaves' DNA (:func:`backbone_of`).
    ids : sequence of str
        The models' ids.
    vectors : numpy.ndarray
        ``(models, d)`` DNA, in the backbone's space.
    metric : str
        As the backbone was built with.
    local : int
        Nearest backbone leaves fitted (at least 2).
    criterion : {"fm", "ols"}
        Least-squares weights, as :func:`phylo_llm.tree.place_distances`.

    Returns
    -------
    Placements
        Edges numbered as :func:`phylo_llm.tree.flatten` numbers the backbone's
        nodes. Each model's placement depends on its own vector only: the same
        whatever block or partition it is placed with.

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> ids, vectors = ("a", "b", "c", "d"), np.array([[0.0, 0], [1, 0], [5, 5], [6, 5]])
    >>> tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, vectors)))
    >>> found = place_block(backbone_of(tree, ids, vectors), ["q"], np.array([[0.5, 0.2]]), local=4)
    >>> sorted(pl.tree.flatten(tree).names[j] for j in np.flatnonzero(pl.tree.flatten(tree).below[found.edge[0]]))
    ['a']
    """
    if criterion not in PLACEMENT_CRITERIA:
        raise PhyloLLMError(f"unknown placement criterion {criterion!r}; choose one of {', '.join(PLACEMENT_CRITERIA)}")
    if local < 2:
        raise PhyloLLMError(f"placement needs at least 2 nearest leaves, got {local}")
    local = min(local, len(backbone.ids))
    candidates, delta = nearest(vectors, backbone.vectors, local, metric)
    from ._place_kernel import _local_place_kernel  # compiled: loaded when first needed

    with deferred_signals():
        edge, distal, pendant, error = _local_place_kernel(
            backbone.parent, backbone.depth, backbone.level, backbone.up, backbone.leaf_node, candidates, delta, criterion == "fm")
    return Placements(tuple(ids), edge, distal, pendant, error)
