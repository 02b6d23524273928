"""Neighbour joining against Biopython and the textbook example."""

from __future__ import annotations

import numpy as np
import pytest
from Bio.Phylo.TreeConstruction import DistanceMatrix as BioDistanceMatrix
from Bio.Phylo.TreeConstruction import DistanceTreeConstructor

import phylo_llm as pl
from phylo_llm.io.trees import to_newick
from tests.conftest import random_dna_matrix, split_lengths, unrooted_rf


def biopython_nj(dm: pl.DistanceMatrix):
    lower = [list(dm.values[i, : i + 1]) for i in range(dm.n_models)]
    return DistanceTreeConstructor().nj(BioDistanceMatrix(list(dm.ids), lower))


def test_textbook_five_taxa():
    # Saitou & Nei style example (Wikipedia, "Neighbor joining"): additive, so NJ recovers it exactly.
    ids = ["a", "b", "c", "d", "e"]
    values = np.array(
        [[0, 5, 9, 9, 8], [5, 0, 10, 10, 9], [9, 10, 0, 8, 7], [9, 10, 8, 0, 3], [8, 9, 7, 3, 0]], dtype=float
    )
    tree = pl.build_tree(pl.DistanceMatrix(ids, values))
    lengths = split_lengths(tree)
    expected = {
        frozenset("b"): 3, frozenset("c"): 4, frozenset("d"): 2, frozenset("e"): 1,
        frozenset("cde"): 3, frozenset("de"): 2,
    }
    # The leaf 'a' is the key-less side of every split; its own pendant branch is keyed by the rest.
    expected[frozenset("bcde")] = 2
    assert set(lengths) == set(expected)
    for split, value in expected.items():
        assert lengths[split] == pytest.approx(value, abs=1e-12)
    assert not tree.rooted


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [4, 7, 25, 60])
def test_matches_biopython_on_random_matrices(n, seed):
    ids, x = random_dna_matrix(n, d=6, seed=seed)
    dm = pl.distance_matrix(pl.DNA(ids, x))
    ours = pl.build_tree(dm, clamp_negative=False)
    reference = biopython_nj(dm)
    assert unrooted_rf(to_newick(ours), reference.format("newick")) == 0
    a, b = split_lengths(ours), split_lengths(reference)
    assert set(a) == set(b)
    for split in a:
        assert a[split] == pytest.approx(b[split], abs=1e-9)


def test_input_order_does_not_change_the_output():
    ids, x = random_dna_matrix(40, seed=3)
    x[5] = x[9]  # duplicate vectors make exact ties
    x[17] = x[9]
    dna = pl.DNA(ids, x)
    first = to_newick(pl.build_tree(pl.distance_matrix(dna)))
    order = np.random.default_rng(0).permutation(len(ids))
    shuffled = pl.DNA([ids[i] for i in order], x[order])
    assert to_newick(pl.build_tree(pl.distance_matrix(shuffled))) == first


def test_all_distances_equal_is_deterministic_and_valid():
    ids = [f"m{i}" for i in range(8)]
    values = np.ones((8, 8)) - np.eye(8)
    newick = to_newick(pl.build_tree(pl.DistanceMatrix(ids, values)))
    assert newick == to_newick(pl.build_tree(pl.DistanceMatrix(ids[::-1], values)))
    # Under total ties the first pair joined is the one with the smallest ids.
    assert "(m0:0.5,m1:0.5)" in newick


def test_negative_branch_lengths_are_clamped_and_counted():
    # A non-additive matrix whose NJ solution has a negative branch (checked against Biopython, which keeps it).
    ids = ["a", "b", "c", "d"]
    values = np.array([[0, 1, 10, 10], [1, 0, 10, 2], [10, 10, 0, 1], [10, 2, 1, 0]], dtype=float)
    dm = pl.DistanceMatrix(ids, values)
    raw = [c.branch_length for c in biopython_nj(dm).find_clades() if c.branch_length is not None]
    n_negative = sum(1 for v in raw if v < 0)
    assert n_negative > 0
    build = pl.tree.build_tree_with_stats(dm)
    assert build.negative_clamped == n_negative
    assert all(c.branch_length >= 0 for c in build.tree.find_clades() if c.branch_length is not None)


def test_three_models_make_a_star():
    dm = pl.DistanceMatrix(["x", "y", "z"], np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]], dtype=float))
    tree = pl.build_tree(dm)
    assert len(tree.root.clades) == 3
    assert {c.name: c.branch_length for c in tree.root.clades} == {"x": 1.0, "y": 2.0, "z": 3.0}


def test_fewer_than_three_models_is_an_error():
    dm = pl.DistanceMatrix(["x", "y"], np.array([[0, 1], [1, 0]], dtype=float), source="two.phy")
    with pytest.raises(pl.PhyloLLMError, match="two.phy.*at least 3"):
        pl.build_tree(dm)


def tie_heavy_matrices():
    """Random, rounded (many equal distances), duplicated vectors (zero distances), and all-equal matrices."""
    for seed in range(12):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(4, 160))
        x = rng.normal(size=(n, 4))
        if seed % 3 == 1:
            x = np.round(x, 1)
        if seed % 3 == 2:
            x[1::5] = x[0]
        yield f"seed{seed}", pl.distance_matrix(pl.DNA([f"m{i:03d}" for i in range(n)], x)).values
    yield "all equal", np.ones((30, 30)) - np.eye(30)
    yield "integer ties", np.abs(np.subtract.outer(np.arange(40) % 7, np.arange(40) % 7)).astype(float) + (1 - np.eye(40))


@pytest.mark.parametrize("name,values", list(tie_heavy_matrices()), ids=lambda v: v if isinstance(v, str) else "")
def test_pruned_search_never_changes_the_result(name, values):
    from phylo_llm.tree.nj import nj_merges

    pruned = nj_merges(values, clamp=False)
    exhaustive = nj_merges(values, clamp=False, prune=False)
    assert pruned.children == exhaustive.children
    assert pruned.lengths == exhaustive.lengths  # bit for bit: the same arithmetic, fewer rows scanned
    assert pruned.root_children == exhaustive.root_children and pruned.root_lengths == exhaustive.root_lengths


def test_pruning_scans_few_rows():
    from phylo_llm.tree.nj import rows_scanned

    ids, x = random_dna_matrix(300, d=16, seed=1)
    values = pl.distance_matrix(pl.DNA(ids, x)).values
    assert rows_scanned(values, prune=True) < 0.5 * rows_scanned(values, prune=False)


def test_a_build_too_big_for_the_machine_is_refused_before_it_starts(monkeypatch):
    import phylo_llm.tree as tree_module

    dm = pl.DistanceMatrix(["a", "b", "c"], np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=float))
    assert tree_module.memory_needed(20_000) == 2 * 8 * 20_000**2  # 6.4 GB for 20,000 models
    monkeypatch.setattr(tree_module, "available_memory", lambda: 100)  # bytes
    with pytest.raises(pl.PhyloLLMError, match=r"a nj tree of 3 models needs about .* GiB .* available"):
        pl.build_tree(dm)
    monkeypatch.setattr(tree_module, "available_memory", lambda: None)  # unknown: no refusal
    assert pl.build_tree(dm).count_terminals() == 3
