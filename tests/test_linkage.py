"""UPGMA and WPGMA against SciPy, Biopython and the textbook example."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from Bio.Phylo.TreeConstruction import DistanceMatrix as BioDistanceMatrix
from Bio.Phylo.TreeConstruction import DistanceTreeConstructor
from scipy.cluster.hierarchy import cophenet, linkage
from scipy.spatial.distance import squareform

import phylo_llm as pl
from phylo_llm.io import to_newick
from tests.helpers import random_dna_matrix, unrooted_rf


def patristic(tree, ids):
    """Leaf-to-leaf path lengths, by Biopython's own Tree.distance."""
    leaves = {c.name: c for c in tree.get_terminals()}
    out = np.zeros((len(ids), len(ids)))
    for i, j in itertools.combinations(range(len(ids)), 2):
        out[i, j] = out[j, i] = tree.distance(leaves[ids[i]], leaves[ids[j]])
    return out


def test_textbook_upgma():
    # Wikipedia "UPGMA" worked example (5S ribosomal RNA of five bacteria).
    ids = ["a", "b", "c", "d", "e"]
    values = np.array(
        [[0, 17, 21, 31, 23], [17, 0, 30, 34, 21], [21, 30, 0, 28, 39], [31, 34, 28, 0, 43], [23, 21, 39, 43, 0]],
        dtype=float,
    )
    tree = pl.build_tree(pl.DistanceMatrix(ids, values), "upgma")
    assert tree.rooted
    assert unrooted_rf(to_newick(tree), "(((a:8.5,b:8.5):2.5,e:11):5.5,(c:14,d:14):2.5);") == 0
    depths = {c.name: d for c, d in tree.depths().items() if c.name}
    assert all(v == pytest.approx(16.5) for v in depths.values())
    lengths = {c.name: c.branch_length for c in tree.get_terminals()}
    assert lengths == {"a": 8.5, "b": 8.5, "e": 11.0, "c": 14.0, "d": 14.0}


@pytest.mark.parametrize("method,scipy_method", [("upgma", "average"), ("wpgma", "weighted")])
@pytest.mark.parametrize("seed", range(4))
def test_cophenetic_distances_match_scipy(method, scipy_method, seed):
    ids, x = random_dna_matrix(30, seed=seed)
    dm = pl.distance_matrix(pl.DNA(ids, x))
    tree = pl.build_tree(dm, method)
    reference = squareform(cophenet(linkage(dm.condensed(), scipy_method)))
    np.testing.assert_allclose(patristic(tree, list(dm.ids)), reference, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["upgma", "wpgma"])
def test_trees_are_ultrametric(method):
    ids, x = random_dna_matrix(50, seed=11)
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)), method)
    depths = [d for c, d in tree.depths().items() if c.is_terminal()]
    assert max(depths) - min(depths) < 1e-9


def test_upgma_differs_from_wpgma_where_cluster_sizes_differ():
    # Size weighting matters: the distance from {a,b,c} to d is the mean over 3 leaves under UPGMA,
    # but ((a,b) + c)/2 under WPGMA. Hand-worked: d(ab,d)=10, d(c,d)=4 -> UPGMA 8, WPGMA 7.
    ids = ["a", "b", "c", "d", "e"]
    values = np.array(
        [[0, 1, 3, 10, 20], [1, 0, 3, 10, 20], [3, 3, 0, 4, 20], [10, 10, 4, 0, 20], [20, 20, 20, 20, 0]], dtype=float
    )
    heights = {}
    for method in ("upgma", "wpgma"):
        tree = pl.build_tree(pl.DistanceMatrix(ids, values), method)
        leaves = {c.name: c for c in tree.get_terminals()}
        heights[method] = tree.distance(leaves["a"], leaves["d"]) / 2
    assert heights == {"upgma": pytest.approx(4.0), "wpgma": pytest.approx(3.5)}


def test_wpgma_topology_matches_biopython_upgma():
    # Biopython's DistanceTreeConstructor().upgma() is WPGMA (biopython issue #4648).
    ids, x = random_dna_matrix(25, seed=5)
    dm = pl.distance_matrix(pl.DNA(ids, x))
    lower = [list(dm.values[i, : i + 1]) for i in range(dm.n_models)]
    reference = DistanceTreeConstructor().upgma(BioDistanceMatrix(list(dm.ids), lower))
    assert unrooted_rf(to_newick(pl.build_tree(dm, "wpgma")), reference.format("newick")) == 0


@pytest.mark.parametrize("method", ["upgma", "wpgma"])
@pytest.mark.parametrize("seed", range(6))
def test_linkage_table_is_scipys_exactly(method, seed):
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist, squareform

    from phylo_llm.tree._linkage import LINKAGE_METHODS, linkage_table

    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    x = rng.normal(size=(n, 5))
    if seed % 2:
        x = np.round(x, 1)  # ties
        x[1::7] = x[0]  # zero distances
    condensed = pdist(x)
    ours = linkage_table(squareform(condensed), method, engine="compiled")
    assert np.array_equal(ours, linkage(condensed, LINKAGE_METHODS[method]))


def test_float32_linkage_keeps_scipys_tree_on_random_data():
    from scipy.cluster.hierarchy import cophenet, linkage
    from scipy.spatial.distance import pdist, squareform

    from phylo_llm.tree._linkage import linkage_table

    x = np.random.default_rng(9).normal(size=(1500, 32))
    condensed = pdist(x)
    ours = linkage_table(squareform(condensed).astype(np.float32), "upgma", engine="compiled")
    theirs = linkage(condensed, "average")
    assert np.array_equal(ours[:, [0, 1, 3]], theirs[:, [0, 1, 3]])
    assert np.allclose(cophenet(ours), cophenet(theirs), rtol=1e-6)
