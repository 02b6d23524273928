"""Trees from distance matrices: neighbour joining, UPGMA and WPGMA."""

from __future__ import annotations

import time
from dataclasses import dataclass

from Bio.Phylo.BaseTree import Tree

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from ..memory import require_memory
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


def build_tree_with_stats(
    dist: DistanceMatrix, method: str = "nj", *, clamp_negative: bool = True, progress: bool = False,
    overwrite: bool = False,
) -> TreeBuild:
    """Like :func:`build_tree`, also returning the count of clamped branches and the time taken."""
    if method not in TREE_METHODS:
        raise PhyloLLMError(f"unknown tree method {method!r}; choose one of {', '.join(TREE_METHODS)}")
    if dist.n_models < 3:
        raise PhyloLLMError(f"{dist.source}: a tree needs at least 3 models, found {dist.n_models}")
    # Sorting by id makes the result independent of the input order and breaks ties by id.
    ids = sorted(dist.ids)
    in_order = list(dist.ids) == ids
    check_memory(dist.n_models, method, dist.values.dtype.itemsize, copies=0 if overwrite and in_order else 1)
    start = time.perf_counter()
    ordered = dist if in_order else dist.subset(ids)
    # A sorted copy is ours to overwrite; the caller's matrix only when allowed.
    mine = overwrite or not in_order
    if method == "nj":
        merges = nj_merges(ordered.values, clamp=clamp_negative, progress=progress, overwrite=mine)
    else:
        merges = linkage_merges(ordered.values, method, overwrite=mine, progress=progress)
    tree = tree_from_merges(ids, merges, rooted=method in LINKAGE_METHODS)
    return TreeBuild(tree, method, dist.n_models, merges.negative_clamped, time.perf_counter() - start)


def memory_needed(n_models: int, itemsize: int = 8, copies: int = 1) -> int:
    """Bytes a build needs beyond its input: ``copies`` n x n matrices of ``itemsize`` bytes (a sorted or
    working copy; none when the build may overwrite its input). The kernels' other arrays are O(n)."""
    return copies * itemsize * n_models * n_models


def check_memory(n_models: int, method: str, itemsize: int = 8, copies: int = 1) -> None:
    """Refuse, before starting, a build that this machine cannot hold (instead of swapping or being killed)."""
    require_memory(
        memory_needed(n_models, itemsize, copies), f"a {method} tree of {n_models} models",
        "build it on a subset, place the other models into a backbone tree (phylo-llm place), or use a machine with more memory",
    )


def build_tree(
    dist: DistanceMatrix, method: str = "nj", *, clamp_negative: bool = True, progress: bool = False, overwrite: bool = False
) -> Tree:
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
    progress : bool
        A progress bar on standard error for builds over a second.
    overwrite : bool
        Use ``dist.values`` as the working matrix (destroying it) instead of
        copying it: one n x n matrix instead of two.

    Returns
    -------
    Bio.Phylo.BaseTree.Tree
        Leaves named by model id. The same matrix always gives the same tree
        (ids are sorted first; ties go to the smallest ids).
    """
    return build_tree_with_stats(dist, method, clamp_negative=clamp_negative, progress=progress, overwrite=overwrite).tree
