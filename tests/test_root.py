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


# MAD with identical leaves. The reference implementation (mad.py, Tria, Landan & Dagan 2017) is not
# installable from a package registry, so its published behaviour is reproduced here independently:
# leaves at distance 0 from each other ("tip polytomies") count once, and the root minimises the RMS
# relative deviation over pairs of the remaining leaves. The optimum on each branch is found by a
# bounded scalar search (SciPy) over ete3 path lengths, not by the package's closed form.


def brute_force_mad(tree) -> tuple[float, list[list[str]]]:
    """Minimal ancestor deviation by search over every branch, copies (leaves at distance 0) counted once."""
    from scipy.optimize import minimize_scalar

    ete = to_ete(tree)
    leaves = sorted(ete.get_leaves(), key=lambda leaf: leaf.name)
    kept = []
    for leaf in leaves:
        if all(ete.get_distance(leaf, other) > 0 for other in kept):
            kept.append(leaf)
    pairs = list(itertools.combinations(kept, 2))
    best = (np.inf, None)
    for node in ete.traverse("preorder"):
        if node.is_root() or node.dist == 0:
            continue
        below = {leaf.name for leaf in node.get_leaves()}
        to_node = {leaf.name: ete.get_distance(leaf, node) for leaf in kept}

        def deviation(x, node=node, below=below, to_node=to_node):
            # Root x above `node` on its branch: leaves below are x farther, the others node.dist - x nearer.
            root = {name: d + x if name in below else d - x for name, d in to_node.items()}
            return np.mean([((root[a.name] - root[c.name]) / ete.get_distance(a, c)) ** 2 for a, c in pairs])

        found = minimize_scalar(deviation, bounds=(0.0, node.dist), method="bounded", options={"xatol": 1e-12})
        for x in (0.0, node.dist, found.x):
            value = deviation(x)
            if value < best[0] - 1e-15:
                best = (value, sorted([sorted(below), sorted({leaf.name for leaf in leaves} - below)]))
    return float(np.sqrt(best[0])), best[1]


def with_copies(tree, names, copies: int = 2):
    """The tree with `copies` extra leaves at distance 0 beside each named leaf (copies of the same weights)."""
    from phylo_llm.tree import copy_tree, iter_leaves

    tree = copy_tree(tree)
    for leaf in list(iter_leaves(tree)):
        if leaf.name in names:
            from Bio.Phylo.BaseTree import Clade

            leaf.clades = [Clade(name=leaf.name, branch_length=0.0)]
            leaf.clades += [Clade(name=f"{leaf.name}-copy{k}", branch_length=0.0) for k in range(copies)]
            leaf.name = None
    return tree


def sides_without_copies(tree) -> list[list[str]]:
    return sorted(sorted(c.name for c in side.get_terminals() if "-copy" not in c.name) for side in tree.root.clades)


@pytest.mark.parametrize("seed", range(4))
def test_mad_equals_a_brute_force_search_with_and_without_copies(seed):
    ids, x = random_dna_matrix(9, d=3, seed=seed)
    x *= np.random.default_rng(seed).uniform(0.3, 3.0, size=(9, 1))  # unequal rates: the root is not the midpoint
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
    for copied in ([], ids[:1], [ids[2], ids[5]]):
        test_tree = with_copies(tree, copied)
        rooted, mad = mad_root(test_tree)
        value, sides = brute_force_mad(test_tree)
        assert mad == pytest.approx(value, rel=1e-6)
        assert sorted(sorted(c.name for c in side.get_terminals()) for side in rooted.root.clades) == sides


def test_copies_of_a_model_never_move_the_mad_root():
    ids, x = random_dna_matrix(30, seed=11)
    x *= np.random.default_rng(11).uniform(0.3, 3.0, size=(30, 1))
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
    rooted, mad = mad_root(tree)
    before = sides_without_copies(rooted)
    lengths = sorted(c.branch_length for c in rooted.root.clades)
    for copied in (ids[:1], ids[3:9], ids[::2]):
        again, again_mad = mad_root(with_copies(tree, copied, copies=3))
        assert again_mad == pytest.approx(mad, rel=1e-9)
        assert sides_without_copies(again) == before
        assert sorted(c.branch_length for c in again.root.clades) == pytest.approx(lengths, rel=1e-9)


def test_published_copies_do_not_move_the_mad_root(shared):
    # The published paper set holds bit-identical DNA under two ids: its NJ tree rooted by MAD has the
    # root of the same tree with the extra copies pruned (Biopython's prune).
    import warnings

    from phylo_llm.dna import identical_groups
    from phylo_llm.tree import copy_tree

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dna = pl.load_dna(shared / "llm-dna-web" / "dna-out" / "squad_cqa_hs_wg_arc_mmlu")
    groups = identical_groups(dna.ids, dna.vectors)
    extra = [model for group in groups for model in sorted(group)[1:]]
    assert extra
    tree = pl.build_tree(pl.distance_matrix(dna))
    pruned = copy_tree(tree)
    for model in extra:
        pruned.prune(model)
    full, full_mad = mad_root(tree)
    alone, alone_mad = mad_root(pruned)
    assert full_mad == pytest.approx(alone_mad, rel=1e-9)
    sides = sorted(sorted(c.name for c in side.get_terminals() if c.name not in extra) for side in full.root.clades)
    assert sides == sorted(sorted(c.name for c in side.get_terminals()) for side in alone.root.clades)


def test_mad_refuses_negative_branch_lengths():
    with pytest.raises(pl.PhyloLLMError, match="non-negative branch lengths: leaf 'b' has -0.5"):
        mad_root(parse_tree("((a:1,b:-0.5):1,c:2,d:1);"))
