"""Trees from distance matrices: neighbour joining, UPGMA and WPGMA, and the memory they need."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Tree

from .._memory import require_memory
from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from . import TREE_METHODS
from ._linkage import LINKAGE_METHODS, SCIPY_BELOW, linkage_merges
from ._merges import tree_from_merges
from ._nj import NUMPY_BELOW, nj_merges


@dataclass(frozen=True)
class TreeBuild:
    """A built tree and what happened while building it.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> built = build_tree_with_stats(pl.distance_matrix(pl.load_dna("data/demo/dna.parquet")), "upgma")
    >>> built.method, built.n_models, built.tree.rooted
    ('upgma', 70, True)
    """

    tree: Tree
    method: str
    n_models: int
    negative_clamped: int
    seconds: float


def check_method(method: str) -> None:
    """Refuse an unknown tree method (one line naming the choices)."""
    if method not in TREE_METHODS:
        raise PhyloLLMError(f"unknown tree method {method!r}; choose one of {', '.join(TREE_METHODS)}")


def build_tree_with_stats(
    dist: DistanceMatrix, method: str = "nj", *, clamp_negative: bool = True, progress: bool = False,
    overwrite: bool = False,
) -> TreeBuild:
    """Like :func:`build_tree`, also returning the count of clamped branches and the time taken.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> built = build_tree_with_stats(pl.distance_matrix(pl.load_dna("data/demo/dna.parquet")))
    >>> built.tree.count_terminals(), built.negative_clamped >= 0, built.seconds >= 0
    (70, True, True)
    """
    check_method(method)
    if not isinstance(dist, DistanceMatrix):  # DNA or probes have rows, not distances: NJ would fail deep inside
        raise PhyloLLMError(f"{getattr(dist, 'source', '<memory>')}: a tree is built from a DistanceMatrix "
                            f"(pl.distance_matrix(dna) or pl.probe_distances(probes)), got {type(dist).__name__}")
    if dist.n_models < 3:
        raise PhyloLLMError(f"{dist.source}: a tree needs at least 3 models, found {dist.n_models}")
    check_summable(dist)
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


def check_summable(dist: DistanceMatrix) -> None:
    """Refuse distances so large that the sums a tree is built from overflow (row sums of n of them, then the
    path lengths of rooting): NJ then gave infinite lengths or failed, UPGMA a tree with leaves twice.

    Examples
    --------
    >>> import numpy as np
    >>> check_summable(DistanceMatrix(("a", "b", "c"), np.full((3, 3), 1e308) * (1 - np.eye(3)), source="d.phy"))
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: d.phy: distances up to 1e+308 are too large to build a tree of 3 models (their sums overflow); scale them down
    """
    top = float(np.max(dist.values)) if dist.n_models else 0.0
    if top * 4.0 * dist.n_models > float(np.finfo(dist.values.dtype).max):
        raise PhyloLLMError(f"{dist.source}: distances up to {top:.3g} are too large to build a tree of {dist.n_models} models "
                            "(their sums overflow); scale them down")


def needs_compiling(n_models: int, method: str = "nj") -> bool:
    """True when a build of ``n_models`` will first compile its numba kernel (once per machine and install).

    Small builds use NumPy or SciPy and compile nothing. Unknown (another
    numba version's cache layout): ``False``, so nothing is announced wrongly.

    Examples
    --------
    >>> needs_compiling(70)  # small builds use NumPy: nothing to compile
    False
    """
    if method == "nj":
        if n_models < NUMPY_BELOW:
            return False
        from ._nj_kernel import kernel_for  # numba: imported only for builds that use it

        kernels = [kernel_for(n_models)]
    else:
        if n_models < SCIPY_BELOW:
            return False
        from ._linkage_kernel import _label, _nn_chain  # numba: imported only for builds that use it

        kernels = [_nn_chain, _label]
    try:
        return not all(os.path.exists(k._cache._cache_file._index_path) for k in kernels)
    except AttributeError:
        return False


def memory_needed(n_models: int, itemsize: int = 8, copies: int = 1) -> int:
    """Bytes a build needs beyond its input: ``copies`` n x n matrices of ``itemsize`` bytes (a sorted or
    working copy; none when the build may overwrite its input). The kernels' other arrays are O(n).

    Examples
    --------
    >>> memory_needed(10_000)  # one float64 working copy of a 10,000-model matrix
    800000000
    >>> memory_needed(10_000, copies=0)
    0
    """
    return copies * itemsize * n_models * n_models


def check_memory(n_models: int, method: str, itemsize: int = 8, copies: int = 1) -> None:
    """Refuse, before starting, a build that this machine cannot hold (instead of swapping or being killed).

    Examples
    --------
    >>> check_memory(1_000, "nj")  # 8 MB: fine, nothing happens
    >>> check_memory(10_000_000, "nj")  # 800 TB
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: ...
    """
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

    References
    ----------
    Saitou N, Nei M (1987). The neighbor-joining method. Mol Biol Evol 4:406-425.
    Studier JA, Keppler KJ (1988). A note on the neighbor-joining algorithm. Mol Biol Evol 5:729-731.

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> d = pl.DistanceMatrix(("a", "b", "c", "d"), np.array(
    ...     [[0, 3, 7, 8], [3, 0, 6, 7], [7, 6, 0, 5], [8, 7, 5, 0]], dtype=float))
    >>> tree = build_tree(d, "nj")
    >>> print(pl.io.to_newick(tree))
    ((a:2.0,b:1.0):3.0,c:2.0,d:3.0);
    """
    return build_tree_with_stats(dist, method, clamp_negative=clamp_negative, progress=progress, overwrite=overwrite).tree
