"""Rooting on hand-made trees with known answers, and MAD against its definition."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.io import parse_tree, to_newick
from phylo_llm.tree import mad_root, midpoint_root, outgroup_root, root_tree, to_ete
from tests.helpers import random_dna_matrix, unrooted_rf


def root_distances(tree) -> dict[str, float]:
    """Distance of every leaf from the root, by Biopython."""
    return {leaf.name: tree.distance(tree.root, leaf) for leaf in tree.get_terminals()}


def patristic(tree) -> dict[tuple[str, str], float]:
    leaves = sorted(tree.get_terminals(), key=lambda c: c.name)
    return {(a.name, b.name): tree.distance(a, b) for a, b in itertools.combinations(leaves, 2)}


def test_midpoint_by_hand():
    # Longest path d..b = 10 + 1 + 3 + 2 = 16: the root sits 8 from d, on d's branch.
    tree = midpoint_root(parse_tree("((a:1,b:2):3,(c:1,d:10):1);"))
    assert tree.rooted
    assert root_distances(tree) == pytest.approx({"a": 7.0, "b": 8.0, "c": 3.0, "d": 8.0})
    assert sorted(len(c.get_terminals()) for c in tree.root.clades) == [1, 3]


def test_midpoint_of_an_unrooted_trifurcation():
    tree = midpoint_root(parse_tree("(a:1,b:2,(c:1,d:10):1);"))  # d..b = 13
    distances = root_distances(tree)
    assert distances["d"] == pytest.approx(6.5) and distances["b"] == pytest.approx(6.5)


@pytest.mark.parametrize("method", ["midpoint", "mad"])
def test_rooting_keeps_the_unrooted_tree(method):
    ids, x = random_dna_matrix(30, seed=4)
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
    rooted = root_tree(tree, method)
    assert unrooted_rf(to_newick(tree), to_newick(rooted)) == 0
    before, after = patristic(tree), patristic(rooted)
    assert all(after[k] == pytest.approx(v, abs=1e-9) for k, v in before.items())
    assert len(rooted.root.clades) == 2


def test_outgroup_by_ids():
    tree = outgroup_root(parse_tree("(a:1,b:2,(c:1,(d:1,e:2):3):1);"), ["d", "e"])
    sides = sorted(sorted(leaf.name for leaf in side.get_terminals()) for side in tree.root.clades)
    assert sides == [["a", "b", "c"], ["d", "e"]]
    assert root_distances(tree)["d"] == pytest.approx(1.0 + 1.5)


def test_outgroup_that_is_not_a_clade_uses_the_best_split():
    # {a, b, d}: the best branch puts a and b together (one misplaced leaf).
    tree = outgroup_root(parse_tree("((a:1,b:1):1,(c:1,(d:1,e:1):1):1);"), ["a", "b", "d"])
    sides = sorted(sorted(leaf.name for leaf in side.get_terminals()) for side in tree.root.clades)
    assert sides in ([["a", "b"], ["c", "d", "e"]], [["a", "b", "c"], ["d", "e"]])


def test_outgroup_errors():
    tree = parse_tree("(a:1,b:2,c:3);")
    with pytest.raises(pl.PhyloLLMError, match="outgroup model 'z' is not a leaf"):
        outgroup_root(tree, ["z"])
    with pytest.raises(pl.PhyloLLMError, match="every leaf"):
        outgroup_root(tree, ["a", "b", "c"])


def mad_by_definition(tree) -> float:
    """Root-mean-square relative deviation of the pairwise ancestors, from ete3 path lengths."""
    ete = to_ete(tree)
    values = []
    for a, c in itertools.combinations(ete.get_leaves(), 2):
        d_ac = ete.get_distance(a, c)
        ancestor = ete.get_common_ancestor(a, c)
        values.append((2 * ete.get_distance(a, ancestor) / d_ac - 1) ** 2)
    return float(np.sqrt(np.mean(values)))


def test_mad_value_and_optimum_against_the_definition():
    ids, x = random_dna_matrix(10, d=4, seed=8)
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
    rooted, mad = mad_root(tree)
    assert mad == pytest.approx(mad_by_definition(rooted), rel=1e-9)
    # No other root position on a fine grid over every branch does better.
    from phylo_llm.tree._root import _rooted_on_branch

    n_nodes = len(list(to_ete(tree).traverse()))
    for k in range(1, n_nodes):
        for f in np.linspace(0, 1, 9):
            ete = to_ete(tree)
            node = list(ete.traverse("preorder"))[k]
            assert mad_by_definition(_rooted_on_branch(ete, node, f * node.dist)) >= mad - 1e-12


def unroot(tree):
    """The same tree drawn from a trifurcation, the root's two branches merged into one.

    (ete3's ``unroot`` drops the length of the removed branch, so it is done by hand.)
    """
    from Bio.Phylo.BaseTree import Clade, Tree

    inner, other = sorted(tree.root.clades, key=lambda c: c.is_terminal())
    merged = Clade(branch_length=other.branch_length + inner.branch_length, name=other.name, clades=other.clades)
    return Tree(root=Clade(clades=[*inner.clades, merged]), rooted=False)


@pytest.mark.parametrize("seed", range(5))
def test_mad_recovers_the_root_of_a_clock_like_tree(seed):
    # UPGMA trees are ultrametric: every ancestor is exactly midway, so MAD is 0 at the true root.
    ids, x = random_dna_matrix(25, seed=seed)
    truth = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)), "upgma")
    rooted, mad = mad_root(unroot(truth))
    # The quadratic's cancellation leaves ~1e-15 before the square root.
    assert mad == pytest.approx(0.0, abs=1e-6)
    true_sides = sorted(sorted(c.name for c in side.get_terminals()) for side in truth.root.clades)
    sides = sorted(sorted(c.name for c in side.get_terminals()) for side in rooted.root.clades)
    assert sides == true_sides
