"""Refinement: models placed on the same backbone edge get a tree of their own, grafted onto that edge.

Placing a hundred models on one edge by least squares alone would hang them
from it one by one (a caterpillar: "a backbone with bushes"). Instead, the
models of each edge with two or more are joined by exact NJ together with two
*anchors*: the backbone leaf nearest (along the tree) below the edge and the
one nearest above it, which stand for the two sides of the edge. Rooted on
the upper anchor, the local tree's path from one anchor to the other is the
edge itself; each subtree branching off that path is grafted onto the edge,
at the mean attachment height its models were placed at (least squares to
their 25 nearest backbone leaves), with its own topology and branch lengths
from the local NJ. The result is fully resolved. A group too large for one
dense NJ (more than ``cap`` models) is itself built as a hub tree (a backbone
of ``cap`` of its models, placement, refinement), recursively.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Clade, Tree

from ..distance import distance_matrix
from ..dna import DNA
from ..tree import build_tree, iter_preorder
from ._placement import Backbone

#: Largest group joined by one dense NJ (32 MB of float64 distances); larger ones are built as hub trees.
CAP = 2_000


@dataclass(frozen=True)
class Graft:
    """A subtree to hang from a backbone edge: preorder arrays (``parent[0] == -1``; its root's
    branch length in ``length[0]``), leaf names (``""`` for internal nodes), and where it attaches."""

    edge: int
    height: float
    first: str
    parent: np.ndarray
    length: np.ndarray
    names: tuple[str, ...]

    def clade(self) -> Clade:
        """The subtree as Biopython clades (no recursion)."""
        clades = [Clade(name=name or None, branch_length=float(b)) for name, b in zip(self.names, self.length)]
        for i in range(1, len(clades)):
            clades[self.parent[i]].clades.append(clades[i])
        return clades[0]


def anchors(backbone: Backbone) -> tuple[np.ndarray, np.ndarray]:
    """For every node ``v``: the backbone leaf nearest to ``v`` below it, and the one nearest to ``v``'s parent
    outside ``v``'s subtree (as leaf numbers; ties to the smaller number). O(nodes)."""
    n = backbone.n_nodes
    parent, length = backbone.parent, backbone.length
    below_d = np.full(n, np.inf)
    below_j = np.full(n, -1, dtype=np.int64)
    below_d[backbone.leaf_node] = 0.0
    below_j[backbone.leaf_node] = np.arange(len(backbone.leaf_node))
    for v in range(n - 1, 0, -1):  # children after parents in preorder
        u, d = parent[v], below_d[v] + length[v]
        if (d, below_j[v]) < (below_d[u], below_j[u]) or below_j[u] < 0:
            below_d[u], below_j[u] = d, below_j[v]
    children: list[list[int]] = [[] for _ in range(n)]
    for v in range(1, n):
        children[parent[v]].append(v)
    out_d = np.full(n, np.inf)
    out_j = np.full(n, -1, dtype=np.int64)
    for u in range(n):  # preorder: a parent's value is known before its children's
        kids = children[u]
        if not kids:
            continue
        reach = sorted((below_d[c] + length[c], below_j[c], c) for c in kids)
        up_best = (out_d[u] + length[u], out_j[u]) if u > 0 else (np.inf, -1)
        for c in kids:
            sibling = next(((d, j) for d, j, other in reach if other != c), (np.inf, -1))
            best = min(up_best, sibling) if up_best[1] >= 0 and sibling[1] >= 0 else (up_best if up_best[1] >= 0 else sibling)
            out_d[c], out_j[c] = best
    return below_j, out_j


def local_tree(ids, vectors: np.ndarray, metric: str = "euclidean", cap: int = CAP, seed: int = 0) -> Tree:
    """An unrooted tree of a group of models: exact NJ up to ``cap`` models, a hub tree above."""
    dna = DNA(tuple(ids), vectors, source="refinement group")
    if len(ids) <= cap:
        return build_tree(distance_matrix(dna, metric, dtype=np.float64), "nj", overwrite=True)
    from ._hubtree import hub_tree_memory  # the recursion: a group too large for one dense NJ

    return hub_tree_memory(dna, backbone=cap, metric=metric, seed=seed, cap=cap).tree


def refine_group(
    edge: int, ids, vectors: np.ndarray, heights: np.ndarray, above: tuple[str, np.ndarray], below: tuple[str, np.ndarray],
    metric: str = "euclidean", cap: int = CAP, seed: int = 0,
) -> list[Graft]:
    """The grafts of the models placed on one edge (``heights``: their attachment heights above its lower node).

    ``above`` and ``below`` are the anchors' (id, vector). Sorted inputs give
    the same grafts whatever order the models came in.
    """
    order = np.argsort(np.array(ids, dtype=object).astype(str), kind="stable")
    ids = [str(ids[i]) for i in order]
    vectors, heights = np.asarray(vectors)[order], np.asarray(heights)[order]
    names = [above[0], below[0], *ids]
    tree = local_tree(names, np.vstack([above[1], below[1], vectors]), metric, cap, seed)
    tree.root_with_outgroup(above[0])
    height_of = dict(zip(ids, heights))
    path = tree.get_path(below[0])
    grafts: list[Graft] = []
    for node in path[:-1]:
        on_path = next(c for c in node.clades if c in path)
        for hanging in node.clades:
            if hanging is on_path:
                continue
            leaves = [leaf.name for leaf in iter_preorder(hanging) if not leaf.clades]
            grafts.append(_graft(edge, float(np.mean([height_of[m] for m in leaves])), min(leaves), hanging))
    return grafts


def _graft(edge: int, height: float, first: str, root: Clade) -> Graft:
    clades = list(iter_preorder(root))
    index = {id(c): i for i, c in enumerate(clades)}
    parent = np.full(len(clades), -1, dtype=np.int64)
    for i, clade in enumerate(clades):
        for child in clade.clades:
            parent[index[id(child)]] = i
    length = np.array([max(c.branch_length or 0.0, 0.0) for c in clades])
    names = tuple("" if c.clades else str(c.name) for c in clades)
    return Graft(edge, height, first, parent, length, names)


def single_graft(edge: int, model: str, height: float, pendant: float) -> Graft:
    """A model alone on its edge: a leaf at its least-squares attachment point."""
    return Graft(edge, float(height), model, np.array([-1]), np.array([max(pendant, 0.0)]), (model,))


def assemble(tree: Tree, grafts: list[Graft]) -> Tree:
    """``tree`` (the backbone; changed in place) with every graft hung from its edge, lowest first.

    Grafts on one edge are ordered by (height, smallest id), so the result does not depend on their order.
    """
    clades = list(iter_preorder(tree))
    parent_of = {id(child): clade for clade in clades for child in clade.clades}
    by_edge: dict[int, list[Graft]] = {}
    for graft in grafts:
        by_edge.setdefault(graft.edge, []).append(graft)
    for node, group in by_edge.items():
        group.sort(key=lambda g: (g.height, g.first))
        current, offset = clades[node], 0.0
        for graft in group:
            up = parent_of[id(current)]
            full = current.branch_length or 0.0
            height = min(max(graft.height - offset, 0.0), full)
            joint = Clade(branch_length=full - height, clades=[current, graft.clade()])
            current.branch_length = height
            up.clades[up.clades.index(current)] = joint
            parent_of[id(current)] = joint
            parent_of[id(joint)] = up
            current, offset = joint, offset + height
    return tree
