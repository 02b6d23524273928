"""Refinement: the backbone cut into regions of at most ``cap`` models, each region re-joined by exact NJ.

Placing models one by one by least squares leaves every model where its own
25 nearest backbone leaves put it: many models on one edge hang from it one
after the other (a caterpillar, "a backbone with bushes"), and two sister
fine-tunes that landed on neighbouring edges are never joined. Refinement
fixes both with exact neighbour joining over neighbourhoods:

1. **Regions.** Each backbone node weighs its leaf (if it is one) plus the
   models placed on the edge above it. Going up from the leaves, a node whose
   open weight exceeds ``cap`` closes its heaviest children as regions (always
   keeping one open, so every region holds a backbone leaf); the root closes
   the last region. Every region is a connected piece of the backbone with at
   most ``cap`` models (or one edge that received more).
2. **Region trees.** A region's models (its backbone leaves and the models
   placed on its edges) are joined by exact NJ together with one *anchor* per
   cut edge: above, the backbone leaf nearest to the region from outside
   (the tree is rooted on it, then it is dropped); below, for each region cut
   off under it, that region's leaf nearest to the cut, standing in for it.
   A region too large for one dense NJ is itself built as a hub tree.
3. **Merge.** Each stand-in leaf is replaced by the tree of the region it
   stands for; the connecting branch keeps the stand-in's distance to its
   neighbours (its pendant length less its depth inside that region's tree).

The result is fully resolved: every region tree is binary and a stand-in is
replaced by a rooted binary tree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Clade, Tree

from ..distance import distance_matrix
from ..dna import DNA
from ..tree import build_tree, preorder_arrays
from ._placement import Backbone

#: Largest region joined by one dense NJ (float64: 32 MB at 2,000 models).
CAP = 2_000


@dataclass(frozen=True)
class Region:
    """A connected piece of the backbone: its top node, its backbone leaves (numbers), the anchor leaf above
    it (``-1`` for the top region), its representative leaf (the stand-in it has in the region above), and
    the regions cut off below it as (top node, stand-in leaf number)."""

    root: int
    leaves: tuple[int, ...]
    above: int
    representative: int
    below: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class RegionTree:
    """A region's tree as preorder arrays (``names[i] == ""`` for internal nodes), its stand-in leaves
    (name -> top node of the region each stands for), and the depth of its representative leaf."""

    root: int
    parent: np.ndarray
    length: np.ndarray
    names: tuple[str, ...]
    stand_ins: dict
    representative_depth: float


def anchors(backbone: Backbone, cut: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For every node ``v``: the backbone leaf nearest to ``v`` below it (not crossing ``cut`` nodes' edges),
    and the one nearest to ``v``'s parent outside ``v``'s subtree (leaf numbers; ties to the smaller number)."""
    n = backbone.n_nodes
    parent, length = backbone.parent, backbone.length
    cut = np.zeros(n, dtype=bool) if cut is None else cut
    below_d = np.full(n, np.inf)
    below_j = np.full(n, -1, dtype=np.int64)
    below_d[backbone.leaf_node] = 0.0
    below_j[backbone.leaf_node] = np.arange(len(backbone.leaf_node))
    free_d, free_j = below_d.copy(), below_j.copy()  # without cuts: for the anchors above
    for v in range(n - 1, 0, -1):  # children after parents in preorder
        u = parent[v]
        for dist, leaf, best_d, best_j, blocked in ((below_d, below_j, below_d, below_j, cut[v]), (free_d, free_j, free_d, free_j, False)):
            d = dist[v] + length[v]
            if not blocked and leaf[v] >= 0 and (best_j[u] < 0 or (d, leaf[v]) < (best_d[u], best_j[u])):
                best_d[u], best_j[u] = d, leaf[v]
    children: list[list[int]] = [[] for _ in range(n)]
    for v in range(1, n):
        children[parent[v]].append(v)
    out_d = np.full(n, np.inf)
    out_j = np.full(n, -1, dtype=np.int64)
    for u in range(n):  # preorder: a parent's value is known before its children's
        kids = children[u]
        if not kids:
            continue
        reach = sorted((free_d[c] + length[c], free_j[c], c) for c in kids)
        options = [(out_d[u] + length[u], out_j[u])] if u > 0 and out_j[u] >= 0 else []
        for c in kids:
            sibling = [next(((d, j) for d, j, other in reach if other != c))] if len(kids) > 1 else []
            out_d[c], out_j[c] = min(options + sibling)
    return below_j, out_j


def decompose(backbone: Backbone, placed: np.ndarray, cap: int = CAP) -> tuple[np.ndarray, list[Region]]:
    """Cut the backbone into regions of at most ``cap`` models (see the module); ``placed[v]``: models placed
    on the edge above node ``v``. Returns the region (its top node) of every node, and the regions."""
    n = backbone.n_nodes
    weight = np.asarray(placed, dtype=np.int64).copy()
    weight[backbone.leaf_node] += 1
    children: list[list[int]] = [[] for _ in range(n)]
    for v in range(1, n):
        children[backbone.parent[v]].append(v)
    open_weight = weight.copy()
    cut = np.zeros(n, dtype=bool)
    for v in range(n - 1, -1, -1):
        total = weight[v] + sum(int(open_weight[c]) for c in children[v])
        left = len(children[v])
        for c in sorted(children[v], key=lambda c: (-open_weight[c], c)):
            if total <= cap or left <= 1:
                break
            cut[c] = True
            total -= int(open_weight[c])
            left -= 1
        open_weight[v] = total
    region_of = np.zeros(n, dtype=np.int64)
    for v in range(1, n):
        region_of[v] = v if cut[v] else region_of[backbone.parent[v]]
    below, above = anchors(backbone, cut)
    leaves: dict[int, list[int]] = {}
    for j, node in enumerate(backbone.leaf_node):
        leaves.setdefault(int(region_of[node]), []).append(j)
    cuts_under: dict[int, list[tuple[int, int]]] = {}
    for c in np.flatnonzero(cut).tolist():
        cuts_under.setdefault(int(region_of[backbone.parent[c]]), []).append((int(c), int(below[c])))
    roots = [0, *np.flatnonzero(cut).tolist()]
    regions = [Region(r, tuple(leaves.get(r, ())), int(above[r]) if r else -1, int(below[r]), tuple(cuts_under.get(r, ())))
               for r in roots]
    return region_of, regions


def local_tree(ids, vectors: np.ndarray, metric: str = "euclidean", cap: int = CAP, seed: int = 0) -> Tree:
    """An unrooted tree of a group of models: exact NJ up to ``cap`` models, a hub tree above."""
    dna = DNA(tuple(ids), vectors, source="refinement region")
    if len(ids) <= cap:
        return build_tree(distance_matrix(dna, metric, dtype=np.float64), "nj", overwrite=True)
    from ._hubtree import hub_tree_memory  # the recursion: a region too large for one dense NJ

    return hub_tree_memory(dna, backbone=cap, metric=metric, seed=seed, cap=cap).tree


def region_tree(
    region: Region, backbone: Backbone, ids, vectors: np.ndarray, metric: str = "euclidean", cap: int = CAP, seed: int = 0,
) -> RegionTree:
    """The tree of one region: its backbone leaves, the placed models ``ids`` (rows of ``vectors``) and the anchors.

    The same inputs in any order give the same tree (models are sorted by id).
    """
    names = [backbone.ids[j] for j in region.leaves] + [str(m) for m in ids]
    rows = np.vstack([backbone.vectors[list(region.leaves)],
                      np.asarray(vectors, dtype=np.float64).reshape(len(ids), backbone.vectors.shape[1])])  # none placed: (0, d)
    order = np.argsort(np.array(names, dtype=object).astype(str), kind="stable")
    names, rows = [names[i] for i in order], rows[order]
    stand_ins = {backbone.ids[leaf]: top for top, leaf in region.below}
    names += list(stand_ins)
    rows = np.vstack([rows, backbone.vectors[[leaf for _, leaf in region.below]]]) if stand_ins else rows
    if region.above >= 0:
        names.append(backbone.ids[region.above])
        rows = np.vstack([rows, backbone.vectors[region.above]])
    if len(names) - (region.above >= 0) == 1:
        root = Clade(name=names[0], branch_length=0.0)
    elif len(names) == 2:
        half = float(np.linalg.norm(rows[0] - rows[1])) / 2
        root = Clade(clades=[Clade(name=names[0], branch_length=half), Clade(name=names[1], branch_length=half)])
    else:
        tree = local_tree(names, rows, metric, cap, seed)
        if region.above >= 0:
            tree.root_with_outgroup(names[-1])
            root = next(c for c in tree.root.clades if c.name != names[-1])
        else:
            root = tree.root
    depth = 0.0
    if region.above >= 0:
        representative = backbone.ids[region.representative]
        depth = next(d for d, clade in _depths(root) if clade.name == representative)
    parent, length, labels = _arrays(root)
    return RegionTree(region.root, parent, length, labels, stand_ins, depth)


def _depths(root: Clade):
    """(distance from ``root``, clade) for every clade below ``root`` (no recursion)."""
    stack = [(0.0, root)]
    while stack:
        depth, clade = stack.pop()
        yield depth, clade
        stack.extend((depth + max(c.branch_length or 0.0, 0.0), c) for c in clade.clades)


def _arrays(root: Clade) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    clades, parent, length = preorder_arrays(root)
    return parent, np.maximum(length, 0.0), tuple("" if c.clades else str(c.name) for c in clades)


def merge(trees: list[RegionTree]) -> Tree:
    """The hub tree: the top region's tree, each stand-in leaf replaced by its region's tree (see the module)."""
    by_root = {t.root: t for t in trees}
    top, stand_ins = _clades(by_root[0])
    while stand_ins:
        leaf, up, region = stand_ins.pop()
        sub, more = _clades(by_root[region])
        sub.branch_length = max((leaf.branch_length or 0.0) - by_root[region].representative_depth, 0.0)
        up.clades[up.clades.index(leaf)] = sub
        stand_ins.extend(more)
    return Tree(root=top, rooted=False)


def _clades(tree: RegionTree) -> tuple[Clade, list[tuple[Clade, Clade, int]]]:
    """Biopython clades of a region tree, and its stand-in leaves as (leaf, parent, region they stand for)."""
    clades = [Clade(name=name or None, branch_length=float(b)) for name, b in zip(tree.names, tree.length)]
    stand_ins = []
    for i in range(1, len(clades)):
        up = clades[tree.parent[i]]
        up.clades.append(clades[i])
        if tree.names[i] in tree.stand_ins:
            stand_ins.append((clades[i], up, tree.stand_ins[tree.names[i]]))
    clades[0].branch_length = None
    return clades[0], stand_ins
