"""Neighbour joining against Biopython and the textbook example."""

from __future__ import annotations

import numpy as np
import pytest
from Bio.Phylo.TreeConstruction import DistanceMatrix as BioDistanceMatrix
from Bio.Phylo.TreeConstruction import DistanceTreeConstructor

import phylo_llm as pl
from phylo_llm.io import to_newick
from tests.helpers import random_dna_matrix, split_lengths, unrooted_rf


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
    from phylo_llm.tree._nj import nj_merges

    pruned = nj_merges(values, clamp=False, engine="compiled")
    exhaustive = nj_merges(values, clamp=False, prune=False, engine="compiled")
    assert pruned.children == exhaustive.children
    assert pruned.lengths == exhaustive.lengths  # bit for bit: the same arithmetic, fewer rows scanned
    assert pruned.root_children == exhaustive.root_children and pruned.root_lengths == exhaustive.root_lengths


def test_pruning_scans_few_rows():
    from phylo_llm.tree._nj import rows_scanned

    ids, x = random_dna_matrix(300, d=16, seed=1)
    values = pl.distance_matrix(pl.DNA(ids, x)).values
    assert rows_scanned(values, prune=True) < 0.5 * rows_scanned(values, prune=False)


def test_a_build_too_big_for_the_machine_is_refused_before_it_starts(monkeypatch):
    import phylo_llm.tree._build as tree_module

    dm = pl.DistanceMatrix(["a", "b", "c"], np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=float))
    assert tree_module.memory_needed(20_000) == 8 * 20_000**2  # a float64 working copy: 3.2 GB for 20,000 models
    assert tree_module.memory_needed(20_000, itemsize=4, copies=0) == 0  # float32, joined in place
    import phylo_llm._memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda: 10)  # bytes
    with pytest.raises(pl.PhyloLLMError, match=r"a nj tree of 3 models needs about .* GiB .* available"):
        pl.build_tree(dm)
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: no refusal
    assert pl.build_tree(dm).count_terminals() == 3


@pytest.mark.parametrize("name,values", list(tie_heavy_matrices())[:8], ids=lambda v: v if isinstance(v, str) else "")
def test_float32_pruned_search_never_changes_the_result(name, values, monkeypatch):
    import phylo_llm.tree._nj_kernel as kernel
    from phylo_llm.tree._nj import nj_merges

    monkeypatch.setattr(kernel, "THREADS_FROM", 0)  # the threaded kernel
    single = values.astype(np.float32)
    pruned = nj_merges(single, clamp=False, engine="compiled")
    exhaustive = nj_merges(single, clamp=False, prune=False, engine="compiled")
    assert pruned.children == exhaustive.children and pruned.lengths == exhaustive.lengths


def test_the_thread_count_does_not_change_the_result(monkeypatch):
    import numba

    import phylo_llm.tree._nj as nj

    ids, x = random_dna_matrix(700, d=8, seed=4)
    values = pl.distance_matrix(pl.DNA(ids, np.round(x, 1))).values  # rounded: many ties
    import phylo_llm.tree._nj_kernel as kernel

    serial = nj.nj_merges(values)  # below THREADS_FROM: the loop compiled without threads
    monkeypatch.setattr(kernel, "THREADS_FROM", 0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = nj.nj_merges(values, engine="compiled")
        numba.set_num_threads(max(before, 2))
        many = nj.nj_merges(values, engine="compiled")
    finally:
        numba.set_num_threads(before)
    for other in (one, many):
        assert other.children == serial.children and other.lengths == serial.lengths


def test_float32_matrix_gives_the_float64_tree_on_random_data():
    ids, x = random_dna_matrix(400, d=32, seed=5)
    dist = pl.distance_matrix(pl.DNA(ids, x), dtype=np.float64)
    single = pl.distance_matrix(pl.DNA(ids, x), dtype=np.float32)
    assert single.values.dtype == np.float32
    a, b = pl.build_tree(dist), pl.build_tree(single)
    assert unrooted_rf(to_newick(a), to_newick(b)) == 0
    la, lb = split_lengths(a), split_lengths(b)
    assert la.keys() == lb.keys()
    assert np.allclose([la[k] for k in la], [lb[k] for k in la], rtol=1e-4, atol=1e-5)


def test_overwrite_joins_in_the_callers_matrix_with_the_same_result():
    ids, x = random_dna_matrix(200, d=16, seed=6)
    dist = pl.distance_matrix(pl.DNA(ids, x))
    kept = dist.values.copy()
    expected = pl.io.to_newick(pl.build_tree(dist))
    assert np.array_equal(dist.values, kept)  # default: the input is untouched
    assert pl.io.to_newick(pl.build_tree(dist, overwrite=True)) == expected
    assert not np.array_equal(dist.values, kept)  # it was the working matrix


def test_same_splits_as_anjl_canonical_nj_on_larger_float32_cases():
    anjl = pytest.importorskip("anjl")
    from scipy.spatial.distance import pdist, squareform

    from phylo_llm.tree._nj import nj_merges

    for seed, n in ((0, 600), (1, 900)):
        x = np.random.default_rng(seed).normal(size=(n, 64))
        condensed = pdist(x).astype(np.float32)
        ours = nj_merges(squareform(condensed))
        theirs = anjl.canonical_nj(condensed.copy(), disallow_negative_distances=False)

        def clusters(pairs):
            members = {i: frozenset([i]) for i in range(n)}
            out = set()
            for k, (a, b) in enumerate(pairs):
                members[n + k] = members[int(a)] | members[int(b)]
                out.add(min(members[n + k], frozenset(range(n)) - members[n + k], key=lambda s: 0 in s))
            return {s for s in out if 1 < len(s) < n - 1}

        assert clusters(ours.children) == clusters(theirs[:, :2])


def test_too_many_models_for_the_distance_matrix_is_one_line_and_writes_nothing(monkeypatch, tmp_path, capsys):
    import phylo_llm._memory as memory
    from phylo_llm.cli import main
    from tests.helpers import DEMO

    monkeypatch.setattr(memory, "available_memory", lambda: 1000)  # bytes
    assert main(["tree", str(DEMO / "dna.parquet"), "-o", str(tmp_path / "t.nwk")]) == 2
    err = capsys.readouterr().err.strip()
    assert "distance matrix of 70 models needs about" in err and "phylo-llm place" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "t.nwk").exists()


@pytest.mark.parametrize("name,values", list(tie_heavy_matrices()), ids=lambda v: v if isinstance(v, str) else "")
def test_numpy_loop_equals_the_compiled_kernel(name, values):
    """Small trees skip numba: the NumPy loop must give the kernel's joins and lengths bit for bit (ties included)."""
    from phylo_llm.tree._nj import nj_merges

    fast_start = nj_merges(values, engine="numpy")
    compiled = nj_merges(values, engine="compiled")
    assert fast_start.children == compiled.children
    assert fast_start.lengths == compiled.lengths
    assert fast_start.root_children == compiled.root_children and fast_start.root_lengths == compiled.root_lengths
    # float32 input: both keep the matrix in float32 and round each update the same way
    single = values.astype(np.float32)
    assert nj_merges(single, engine="numpy").children == nj_merges(single, engine="compiled").children
