"""Rooting: midpoint, outgroup (by ids or by a lineage attribute), and minimal ancestor deviation.

Neighbour-joining trees are unrooted; reading ancestry needs a root. All
functions take and return Biopython trees and leave the input untouched; the
rerooting itself is done by ete3's ``set_outgroup``, with the root then placed
at the exact position on its branch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ete3 import Tree as EteTree

    from ..lineage import LineageLike

import numpy as np
from Bio.Phylo.BaseTree import Tree

from ..errors import PhyloLLMError
from ..ids import did_you_mean, find_model
from . import ROOT_METHODS
from ._ete import from_ete, to_ete
from ._walk import iter_leaves, require_lengths


def root_tree(tree: Tree, method: str = "midpoint", outgroup: str | Iterable[str] | None = None) -> Tree:
    """Root ``tree`` by ``method``.

    Parameters
    ----------
    tree : Bio.Phylo.BaseTree.Tree
    method : {"midpoint", "mad", "outgroup", "none"}
        ``"outgroup"`` needs ``outgroup``: leaf names (see :func:`outgroup_root`).
        ``"midpoint"`` and ``"mad"`` need branch lengths.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> root_tree(Phylo.read(StringIO("((a:1,b:5):1,c:2);"), "newick"), "midpoint").rooted
    True
    """
    if method == "midpoint":
        return midpoint_root(tree)
    if method == "mad":
        return mad_root(tree)[0]
    if method == "outgroup":
        if not outgroup:
            raise PhyloLLMError("outgroup rooting needs at least one outgroup model")
        return outgroup_root(tree, outgroup)
    if method == "none":
        return tree
    raise PhyloLLMError(f"unknown rooting {method!r}; choose one of {', '.join(ROOT_METHODS)}")


#: Rooting by lengths refused: the advice.
_BY_OUTGROUP = "root it by an outgroup instead"


def midpoint_root(tree: Tree) -> Tree:
    """Root at the middle of the longest leaf-to-leaf path (ties: the first leaves by name).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> rooted = midpoint_root(Phylo.read(StringIO("((a:1,b:5):1,c:2);"), "newick"))
    >>> [round(c.branch_length, 6) for c in rooted.root.clades]
    [4.0, 1.0]
    """
    require_lengths(tree, "midpoint rooting", _BY_OUTGROUP)
    ete = to_ete(tree)
    leaves = sorted(ete.get_leaves(), key=lambda leaf: leaf.name)
    if len(leaves) < 2:
        return tree
    a = _farthest(ete, leaves[0], leaves)
    b = _farthest(ete, a, leaves)
    half = ete.get_distance(a, b) / 2.0
    ancestor = ete.get_common_ancestor(a, b)
    # The midpoint lies on the side of the leaf farther from the pair's common ancestor.
    leaf = a if ete.get_distance(a, ancestor) >= ete.get_distance(b, ancestor) else b
    node, walked = leaf, 0.0
    while walked + node.dist < half and node.up is not ancestor:
        walked += node.dist
        node = node.up
    return _rooted_on_branch(ete, node, half - walked)


def outgroup_root(tree: Tree, outgroup: str | Iterable[str]) -> Tree:
    """Root on the branch that best separates the ``outgroup`` leaves from the rest.

    ``outgroup`` is leaf names, or one leaf name as a string, each matched as every look-up matches ids
    (exactly, else the one leaf with its :func:`~phylo_llm.ids.model_key`). One leaf: the middle of its own branch. Several: the branch whose two
    sides differ least from {outgroup, others}; if the outgroup is not a clade
    of the tree the best such branch is used (see :func:`best_split`).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> rooted = outgroup_root(Phylo.read(StringIO("((a:1,b:1):1,c:1,d:1);"), "newick"), ["c"])
    >>> sorted(len(side.get_terminals()) for side in rooted.root.clades)
    [1, 3]
    >>> outgroup_root(Phylo.read(StringIO("((a:1,b:1):1,org/model-c:1,d:1);"), "newick"), ["org/model-x"])
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: outgroup model 'org/model-x' is not a leaf of the tree (did you mean 'org/model-c'?)
    """
    ete = to_ete(tree)
    names = sorted(leaf.name for leaf in ete.get_leaves())
    # One id as a string is that model, not its characters.
    wanted = [outgroup] if isinstance(outgroup, str) else list(dict.fromkeys(outgroup))
    chosen = set()
    for model in wanted:  # the id rule of every look-up: exact, else the one leaf with its model_key
        row = find_model(model, names, "the tree")
        if row is None:
            raise PhyloLLMError(f"outgroup model {model!r} is not a leaf of the tree{did_you_mean(model, names)}")
        chosen.add(names[row])
    node, _ = best_split(ete, chosen)
    return _rooted_on_branch(ete, node, node.dist / 2.0)


def attribute_root(tree: Tree, lineage: LineageLike, key: str, value: str) -> tuple[Tree, list[str]]:
    """Root on the leaves whose lineage attribute ``key`` equals ``value`` (e.g. ``family``, ``T5``).

    Parameters
    ----------
    tree : Bio.Phylo.BaseTree.Tree
    lineage : Lineage, str, os.PathLike or None
        A :class:`~phylo_llm.lineage.Lineage`, a lineage folder or CSV file, or None (the built-in one).
    key, value : str
        A column of the lineage's models table and the value the outgroup has there (case-insensitive).

    Returns
    -------
    rooted : Bio.Phylo.BaseTree.Tree
    chosen : list of str
        The leaves used as outgroup; see :func:`outgroup_root`.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> tree = pl.build_tree(pl.distance_matrix(pl.load_dna("data/demo/dna.parquet")))
    >>> rooted, chosen = attribute_root(tree, pl.load_lineage("data/demo"), "family", "T5")
    >>> rooted.rooted, len(chosen)
    (True, 14)
    """
    from ..lineage import as_lineage  # pandas: loaded only when a lineage is used, not for every rooting

    chosen = as_lineage(lineage).select([leaf.name for leaf in iter_leaves(tree)], key, value)
    if not chosen:
        raise PhyloLLMError(f"no leaf of the tree has {key}={value} in the lineage")
    return outgroup_root(tree, chosen), chosen


def best_split(ete: EteTree, targets: set[str]):
    """The node whose branch best separates ``targets`` from the other leaves, and its error count.

    Error of a branch: the leaves on the wrong side when the outgroup is
    taken as the side below the node or as the side above it, whichever is
    better. Ties go to the first node in preorder.

    Examples
    --------
    >>> from ete3 import Tree as EteTree
    >>> node, errors = best_split(EteTree("((a,b),(c,d),e);"), {"c", "d"})
    >>> sorted(node.get_leaf_names()), errors
    (['c', 'd'], 0)
    """
    leaves = ete.get_leaves()
    n, k = len(leaves), len(targets)
    if k == 0:
        raise PhyloLLMError("no leaf of the tree is in the outgroup")
    if k >= n:
        raise PhyloLLMError("every leaf is in the outgroup: nothing to root against")
    below_all, below_target = {}, {}
    for node in ete.traverse("postorder"):
        if node.is_leaf():
            below_all[node], below_target[node] = 1, int(node.name in targets)
        else:
            below_all[node] = sum(below_all[c] for c in node.children)
            below_target[node] = sum(below_target[c] for c in node.children)
    best, best_error = None, None
    for node in ete.traverse("preorder"):
        if node.is_root():
            continue
        size, hit = below_all[node], below_target[node]
        error = min((size - hit) + (k - hit), (n - size) - (k - hit) + hit)
        if best_error is None or error < best_error:
            best, best_error = node, error
    return best, best_error


def mad_root(tree: Tree) -> tuple[Tree, float]:
    """Minimal ancestor deviation rooting (Tria, Landan & Dagan 2017).

    For a root ``R``, the ancestor of leaves ``a, c`` is their median with
    ``R``, so its relative deviation is ``r = (d(a,R) - d(c,R)) / d(a,c)``.
    The root is the point of the tree minimising the root-mean-square ``r``
    over all pairs of distinct leaves. On each branch that mean is a
    quadratic in the root position, solved exactly; all branches are
    evaluated with two matrix products. Memory O(n^2), time O(n^3) by BLAS.

    Returns
    -------
    (tree, mad) : the rooted tree and its MAD value.

    Raises
    ------
    PhyloLLMError
        A negative branch length (the deviation of an ancestor is then undefined),
        or a branch without a length.

    Notes
    -----
    Leaves at distance 0 from each other (copies of the same weights) are
    one leaf for MAD, as in the reference implementation ``mad.py`` ("squeezing
    tip polytomies"): each group counts once, so adding copies of a model never
    moves the root. Lengths are taken as given, as ``mad.py -t`` does (without
    ``-t`` it first sets lengths below 1e-6 to 0, a threshold in the tree's
    units). Ties between root positions go to the first branch in preorder.

    References
    ----------
    Tria, F. D. K., Landan, G. & Dagan, T. Phylogenetic rooting using minimal
    ancestor deviation. Nat Ecol Evol 1, 0193 (2017).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:1,b:1):3,(c:1,d:1):1);"), "newick")
    >>> rooted, mad = mad_root(tree)
    >>> sorted(sorted(c.name for c in side.get_terminals()) for side in rooted.root.clades)
    [['a', 'b'], ['c', 'd']]
    >>> # A copy of c (at distance 0) changes nothing.
    >>> copies = Phylo.read(StringIO("((a:1,b:1):3,((c:0,c2:0):1,d:1):1);"), "newick")
    >>> mad_root(copies)[1] == mad
    True
    """
    require_lengths(tree, "MAD rooting", _BY_OUTGROUP)
    ete = to_ete(tree)
    nodes = list(ete.traverse("preorder"))
    negative = next((node for node in nodes[1:] if node.dist < 0), None)
    if negative is not None:
        where = f"leaf {negative.name!r}" if negative.is_leaf() else "an internal branch"
        raise PhyloLLMError(f"MAD rooting needs non-negative branch lengths: {where} has {negative.dist!r}")
    index = {node: i for i, node in enumerate(nodes)}
    leaves = [node for node in nodes if node.is_leaf()]
    leaf_index = {node: i for i, node in enumerate(leaves)}
    n, m = len(leaves), len(nodes)
    if n < 3:
        return tree, 0.0
    below = np.zeros((n, m))
    for node in reversed(nodes):  # children before parents
        j = index[node]
        if node.is_leaf():
            below[leaf_index[node], j] = 1.0
        else:
            below[:, j] = below[:, [index[c] for c in node.children]].sum(axis=1)
    # to_node[a, v]: path length from leaf a to node v, filled top-down.
    # MAD does not depend on the unit of length: lengths are scaled by a power of two (exactly) so the longest
    # branch is about 1, else squares and inverse squares of path lengths overflow (a wrong root above ~1e154).
    lengths = np.array([node.dist for node in nodes], dtype=np.float64)
    shift = -math.frexp(float(lengths.max()))[1] if lengths.max() > 0 else 0
    lengths = np.ldexp(lengths, shift)
    to_node = np.zeros((n, m))
    depth = np.zeros(m)
    for node in nodes[1:]:
        depth[index[node]] = depth[index[node.up]] + lengths[index[node]]
    to_node[:, 0] = depth[[index[leaf] for leaf in leaves]]
    for node in nodes[1:]:
        j, p = index[node], index[node.up]
        to_node[:, j] = to_node[:, p] + lengths[j] * (1.0 - 2.0 * below[:, j])
    pair = to_node[:, [index[leaf] for leaf in leaves]]
    # One leaf per group of identical leaves (joined by zero-length branches only), as mad.py does.
    kept = _one_per_identical_group(nodes, leaves, index)
    counted = kept[:, None] & kept[None, :]
    np.fill_diagonal(counted, False)
    with np.errstate(divide="ignore", over="ignore"):
        weight = np.where(counted, 1.0 / np.where(counted, pair, 1.0) ** 2, 0.0)
    n_kept = int(kept.sum())
    n_pairs = n_kept * (n_kept - 1) // 2
    if n_pairs == 0:
        return tree, 0.0
    if not np.isfinite(weight).all():
        raise PhyloLLMError("MAD rooting: two leaves are too close to tell apart (a path length below 1e-150 of the longest branch)")
    row = weight.sum(axis=1)
    sign = 2.0 * below - 1.0
    w_u, w_s = weight @ to_node, weight @ sign
    const = (to_node**2 * row[:, None]).sum(axis=0) - (to_node * w_u).sum(axis=0)
    linear = (to_node * sign * row[:, None]).sum(axis=0) - (to_node * w_s).sum(axis=0)
    quad = row.sum() - (sign * w_s).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        position = np.where(quad > 0, -linear / quad, 0.0)
    position = np.clip(position, 0.0, lengths)
    value = const + 2.0 * linear * position + quad * position**2
    value[0] = np.inf  # the current root node has no branch of its own
    best = int(np.argmin(value))
    mad = float(np.sqrt(max(value[best], 0.0) / n_pairs))
    return _rooted_on_branch(ete, nodes[best], float(np.ldexp(position[best], -shift))), mad


def _one_per_identical_group(nodes, leaves, index) -> np.ndarray:
    """Mask of the leaves MAD counts: the first of each group joined only by zero-length branches."""
    group = list(range(len(nodes)))  # union-find over nodes, merged across zero-length branches

    def find(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for node in nodes[1:]:
        if node.dist == 0:
            group[find(index[node])] = find(index[node.up])
    seen: set[int] = set()
    kept = np.zeros(len(leaves), dtype=bool)
    for i, leaf in enumerate(leaves):
        root = find(index[leaf])
        kept[i] = root not in seen
        seen.add(root)
    return kept


def _farthest(ete, start, leaves):
    distances = [(ete.get_distance(start, leaf), leaf.name, leaf) for leaf in leaves]
    best = max(d for d, _, _ in distances)
    return min((name, leaf) for d, name, leaf in distances if d == best)[1]


def _rooted_on_branch(ete, node, from_node: float) -> Tree:
    """Root on the branch above ``node``, ``from_node`` away from it; back to Biopython."""
    parent = node.up
    if parent.is_root() and len(parent.children) == 2:
        # Already beside a bifurcating root: the two root branches are one edge; only the root moves.
        total = node.dist + next(c for c in parent.children if c is not node).dist
    else:
        total = node.dist
        ete.set_outgroup(node)
    other = next(c for c in node.up.children if c is not node)
    node.dist = min(max(from_node, 0.0), total)
    other.dist = total - node.dist
    return from_ete(ete.get_tree_root(), rooted=True)
