"""Trees from distance matrices: neighbour joining, UPGMA and WPGMA."""

from __future__ import annotations

import time
from dataclasses import dataclass

from Bio.Phylo.BaseTree import Tree

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from .linkage import LINKAGE_METHODS, linkage_merges
from .merges import Merges, tree_from_merges
from .nj import nj_merges

TREE_METHODS = ("nj", "upgma", "wpgma")

__all__ = ["build_tree", "build_tree_with_stats", "TreeBuild", "TREE_METHODS", "Merges", "tree_from_merges"]


@dataclass(frozen=True)
class TreeBuild:
    """A built tree and what happened while building it."""

    tree: Tree
    method: str
    n_models: int
    negative_clamped: int
    seconds: float


def build_tree_with_stats(dist: DistanceMatrix, method: str = "nj", *, clamp_negative: bool = True) -> TreeBuild:
    """Like :func:`build_tree`, also returning the count of clamped branches and the time taken."""
    if method not in TREE_METHODS:
        raise PhyloLLMError(f"unknown tree method {method!r}; choose one of {', '.join(TREE_METHODS)}")
    if dist.n_models < 3:
        raise PhyloLLMError(f"{dist.source}: a tree needs at least 3 models, found {dist.n_models}")
    start = time.perf_counter()
    # Sorting by id makes the result independent of the input order and breaks ties by id.
    ids = sorted(dist.ids)
    ordered = dist.subset(ids) if list(dist.ids) != ids else dist
    if method == "nj":
        merges = nj_merges(ordered.values, clamp=clamp_negative)
    else:
        merges = linkage_merges(ordered.values, method)
    tree = tree_from_merges(ids, merges, rooted=method in LINKAGE_METHODS)
    return TreeBuild(tree, method, dist.n_models, merges.negative_clamped, time.perf_counter() - start)


def build_tree(dist: DistanceMatrix, method: str = "nj", *, clamp_negative: bool = True) -> Tree:
    """Build a tree with branch lengths from a distance matrix.

    Parameters
    ----------
    dist : DistanceMatrix
        At least 3 models.
    method : {"nj", "upgma", "wpgma"}
        ``"nj"``: neighbour joining (Saitou & Nei 1987), unrooted (drawn from
        a root trifurcation). ``"upgma"``: size-weighted average linkage,
        rooted and ultrametric. ``"wpgma"``: unweighted-by-size average
        linkage (what Biopython calls ``upgma``).
    clamp_negative : bool
        Neighbour joining only: set negative branch lengths to 0.

    Returns
    -------
    Bio.Phylo.BaseTree.Tree
        Leaves named by model id. The same matrix always gives the same tree
        (ids are sorted first; ties go to the smallest ids).
    """
    return build_tree_with_stats(dist, method, clamp_negative=clamp_negative).tree
