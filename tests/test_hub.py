"""Hub scale: partitioned datasets, blockwise kNN, local placement, the hub tree in memory and on Dask.

References are independent of the code under test: scikit-learn's brute-force
neighbours, the whole-tree placement kernel (itself tested against APPLES),
Biopython's NJ through ``build_tree`` on the full matrix, DendroPy's splits.
The engine tests start a LocalCluster and a real ``dask scheduler`` with two
``dask worker`` processes on 127.0.0.1 (all stopped at the end, also on failure).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import phylo_llm as pl
from phylo_llm.errors import PhyloLLMError
from phylo_llm.hub import (
    DatasetWriter,
    backbone_of,
    build_hub_tree,
    choose_backbone,
    hub_tree_memory,
    nearest,
    open_dataset,
    place_block,
)
from phylo_llm.hub._dataset import write_part
from phylo_llm.simulate import simulate_hub
from tests.helpers import DEMO, run_cli


def _splits(newick: str, taxa) -> set[frozenset]:
    """Non-trivial unrooted splits, by DendroPy (independent of our tree code)."""
    dendropy = pytest.importorskip("dendropy")
    tree = dendropy.Tree.get(data=newick, schema="newick", taxon_namespace=taxa, preserve_underscores=True, rooting="force-unrooted")
    tree.encode_bipartitions()
    labels = [t.label for t in taxa]
    out = set()
    for bip in tree.bipartition_encoding:
        if bip.is_trivial():
            continue
        side = frozenset(labels[i] for i in range(len(labels)) if bip.split_bitmask >> i & 1)
        out.add(min(side, frozenset(labels) - side, key=sorted))
    return out


def _hub_dna(n: int, dim: int = 32, seed: int = 0) -> pl.DNA:
    hub = simulate_hub(n, dim=dim, seed=seed)
    return pl.DNA(hub.ids, hub.observed(0, n))


def _write_dataset(folder, dna: pl.DNA, part_rows: int, order=None) -> None:
    rows = np.arange(dna.n_models) if order is None else order
    with DatasetWriter(folder, dna.dim, {"probe_set": "simulated"}, part_rows) as out:
        out.write([dna.ids[i] for i in rows], dna.vectors[rows])


# --- storage ---------------------------------------------------------------------------------------------------------

def test_dataset_round_trip_and_load_dna(tmp_path):
    dna = _hub_dna(500)
    _write_dataset(tmp_path / "dna", dna, part_rows=120)
    data = open_dataset(tmp_path / "dna")
    assert (data.n_models, data.n_parts, data.dim) == (500, 5, 32)
    loaded = pl.load_dna(tmp_path / "dna")
    assert loaded.ids == dna.ids
    np.testing.assert_allclose(loaded.vectors, dna.vectors.astype(np.float32), rtol=0, atol=0)
    assert data.to_dask_array().shape == (500, 32)
    np.testing.assert_array_equal(data.to_dask_array()[130:140].compute(), dna.vectors[130:140].astype(np.float32))
    # a partition alone is a canonical DNA file
    assert pl.load_dna(data.parts[1]).n_models == 120


def test_dataset_refuses_duplicates_other_settings_and_dimensions(tmp_path):
    dna = _hub_dna(60, dim=8)
    folder = tmp_path / "dup"
    folder.mkdir()
    write_part(folder / "part-00000.parquet", dna.ids[:30], dna.vectors[:30])
    write_part(folder / "part-00001.parquet", dna.ids[25:], dna.vectors[25:])
    with pytest.raises(PhyloLLMError, match=r"part-00001.parquet: model .* is also in part-00000.parquet"):
        open_dataset(folder)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_part(mixed / "part-00000.parquet", dna.ids[:30], dna.vectors[:30], {"encoder": "a"})
    write_part(mixed / "part-00001.parquet", dna.ids[30:], dna.vectors[30:], {"encoder": "b"})
    with pytest.raises(PhyloLLMError, match=r"part-00001.parquet: made with encoder=b, but part-00000.parquet has encoder=a"):
        open_dataset(mixed)
    assert open_dataset(mixed, allow_mixed=True).n_models == 60
    dims = tmp_path / "dims"
    dims.mkdir()
    write_part(dims / "part-00000.parquet", dna.ids[:30], dna.vectors[:30])
    write_part(dims / "part-00001.parquet", dna.ids[30:], dna.vectors[30:, :4])
    with pytest.raises(PhyloLLMError, match="part-00001.parquet: DNA of 4 dimensions"):
        open_dataset(dims)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "part-00000.parquet").write_bytes(b"PAR1 not really")
    result = run_cli("tree", broken, "-o", tmp_path / "t.nwk", "--backbone", "10")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "part-00000.parquet" in result.stderr
    assert not (tmp_path / "t.nwk").exists()


def test_simulate_models_streams_a_dataset_with_its_true_tree(tmp_path):
    result = run_cli("simulate", "--models", "900", "--part-rows", "250", "--dim", "16", "-o", tmp_path / "hub")
    assert result.returncode == 0, result.stderr
    data = open_dataset(tmp_path / "hub" / "dna")
    assert (data.n_models, data.n_parts) == (900, 4)
    true = pl.read_tree(tmp_path / "hub" / "true_tree.nwk")
    assert sorted(leaf.name for leaf in true.get_terminals()) == sorted(data.all_ids())
    lineage = pd.read_csv(tmp_path / "hub" / "lineage.csv")
    assert len(lineage) == 900 - int(pd.read_csv(tmp_path / "hub" / "models.csv")["is_base"].sum())
    # chunked drawing agrees with drawing all at once (partitioning never changes the data)
    hub = simulate_hub(900, dim=16, seed=0)
    np.testing.assert_array_equal(np.vstack([hub.observed(0, 400), hub.observed(400, 900)]), hub.observed(0, 900))


# --- nearest neighbours, backbone, placement --------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_nearest_is_exact_against_scikit_learn(metric):
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    reference, queries = rng.normal(size=(700, 12)), rng.normal(size=(300, 12))
    index, distance = nearest(queries, reference, 7, metric)
    brute = NearestNeighbors(n_neighbors=7, algorithm="brute", metric=metric).fit(reference)
    want_d, want_i = brute.kneighbors(queries)
    np.testing.assert_array_equal(index, want_i)
    np.testing.assert_allclose(distance, want_d, rtol=1e-9, atol=1e-12)


def test_nearest_excludes_self_and_breaks_ties_by_index():
    points = np.array([[0.0], [1.0], [-1.0], [5.0]])
    index, distance = nearest(points, points, 2, query_index=np.arange(4), reference_index=np.arange(4))
    assert index[0].tolist() == [1, 2]  # 1 and 2 tie at distance 1: the smaller number first
    assert (index != np.arange(4)[:, None]).all()


def test_backbone_is_a_uniform_sample_independent_of_order():
    ids = [f"org/m{i}" for i in range(20_000)]
    chosen = choose_backbone(ids, 2_000, seed=3)
    assert chosen == choose_backbone(ids[::-1], 2_000, seed=3)
    # uniform: each tenth of the ids (by number) holds about a tenth of the sample (binomial sd ~ 13)
    counts = np.bincount([int(m[5:]) // 2_000 for m in chosen], minlength=10)
    assert np.abs(counts - 200).max() < 60


def test_local_placement_equals_the_whole_tree_kernel():
    sim = pl.simulate(seed=3, finetunes_per_base=12)
    base = sim.dna.subset(sorted(sim.dna.ids[::2]))
    new = sim.dna.subset(list(sim.dna.ids[1::2]))
    tree = pl.build_tree(pl.distance_matrix(base))
    flat = pl.tree.flatten(tree)
    full = pl.distance.distances_between(new, base.subset(flat.names))
    for criterion in ("fm", "ols"):
        want = pl.tree.place_distances(flat, new.ids, full, flat.names, criterion, local=10)
        got = place_block(backbone_of(tree, base.ids, base.vectors), new.ids, new.vectors, local=10, criterion=criterion)
        np.testing.assert_array_equal(got.edge, want.edge)
        np.testing.assert_allclose(got.distal, want.distal, atol=1e-9)
        np.testing.assert_allclose(got.pendant, want.pendant, atol=1e-9)


# --- the hub tree -----------------------------------------------------------------------------------------------------

def test_hub_tree_with_everything_in_the_backbone_is_exact_nj():
    dna = pl.simulate(seed=1).dna
    got = hub_tree_memory(dna, backbone=dna.n_models).tree
    want = pl.build_tree(pl.distance_matrix(dna))
    assert pl.io.to_newick(got) == pl.io.to_newick(want)


def test_hub_tree_is_complete_resolved_and_close_to_exact_nj():
    dendropy = pytest.importorskip("dendropy")
    hub = simulate_hub(1500, dim=64, seed=2)
    dna = pl.DNA(hub.ids, hub.observed(0, hub.n_models))
    result = hub_tree_memory(dna, backbone=500, cap=300)  # regions of 300 models: several of them
    leaves = [c.name for c in result.tree.get_terminals()]
    assert sorted(leaves) == sorted(dna.ids)
    internal = [c for c in pl.tree.iter_preorder(result.tree) if c.clades]
    assert all(len(c.clades) == 2 for c in internal if c is not result.tree.root) and len(result.tree.root.clades) == 3
    taxa = dendropy.TaxonNamespace()
    truth = _splits(pl.io.to_newick(hub.tree()), taxa)
    ours = _splits(pl.io.to_newick(result.tree), taxa)
    nj = _splits(pl.io.to_newick(pl.build_tree(pl.distance_matrix(dna))), taxa)
    recovered, recovered_nj = len(ours & truth) / len(truth), len(nj & truth) / len(truth)
    assert result.regions > 1
    assert recovered > recovered_nj - 0.05, (recovered, recovered_nj)


def test_hub_tree_is_the_same_whatever_the_partitions_and_workers(tmp_path):
    dna = _hub_dna(1200, dim=16, seed=4)
    rng = np.random.default_rng(0)
    _write_dataset(tmp_path / "a", dna, part_rows=1200)
    _write_dataset(tmp_path / "b", dna, part_rows=170, order=rng.permutation(dna.n_models))
    memory = pl.io.to_newick(hub_tree_memory(dna, backbone=150, seed=7).tree)
    one = pl.io.to_newick(build_hub_tree(open_dataset(tmp_path / "a"), 150, seed=7, workers=1).tree)
    two = pl.io.to_newick(build_hub_tree(open_dataset(tmp_path / "b"), 150, seed=7, workers=2).tree)
    assert memory == one == two


def test_hub_tree_with_regions_that_hold_no_placed_model(tmp_path):
    # A backbone of every model (or more: clamped to n) places nothing; tiny regions leave many regions without a
    # placed model. Both once failed inside the refinement; now: exact NJ, and a complete resolved tree.
    dna = _hub_dna(240, dim=16, seed=6)
    _write_dataset(tmp_path / "dna", dna, part_rows=100)
    whole = build_hub_tree(open_dataset(tmp_path / "dna"), 400, workers=1)
    assert pl.io.to_newick(whole.tree) == pl.io.to_newick(pl.build_tree(pl.distance_matrix(dna)))
    for source in (open_dataset(tmp_path / "dna"), dna):
        tiny = build_hub_tree(source, 60, cap=3, workers=1) if source is not dna else hub_tree_memory(dna, backbone=60, cap=3)
        assert sorted(c.name for c in tiny.tree.get_terminals()) == sorted(dna.ids)
        internal = [c for c in pl.tree.iter_preorder(tiny.tree) if c.clades and c is not tiny.tree.root]
        assert all(len(c.clades) == 2 for c in internal) and tiny.regions > 10


def test_cli_hub_tree_and_its_refusals(tmp_path):
    dna = _hub_dna(600, dim=16)
    _write_dataset(tmp_path / "dna", dna, part_rows=200)
    out = tmp_path / "tree.nwk"
    result = run_cli("tree", tmp_path / "dna", "-o", out, "--backbone", "100", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "backbone of 100 models" in result.stderr
    assert sorted(c.name for c in pl.read_tree(out).get_terminals()) == sorted(dna.ids)
    for args, culprit in (
        (["--backbone", "100", "--scheduler", "tcp://127.0.0.1:9"], "tcp://127.0.0.1:9: cannot reach a Dask scheduler"),
        (["--backbone", "100", "--method", "upgma"], "--method upgma needs the dense build"),
        (["--backbone", "100", "--metric", "cosine+csls"], "cosine+csls"),
    ):
        result = run_cli("tree", tmp_path / "dna", "-o", tmp_path / "bad.nwk", *args)
        assert result.returncode == 2 and culprit in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "bad.nwk").exists()


def test_relatives_and_candidates_on_a_dataset_match_the_dense_path(tmp_path):
    result = run_cli("simulate", "--models", "1200", "--part-rows", "300", "--dim", "16", "-o", tmp_path / "hub")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "hub" / "dna"
    dna = pl.load_dna(folder)
    dist = pl.distance_matrix(dna)
    lineage = pl.load_lineage(tmp_path / "hub")
    model = dna.ids[7]
    result = run_cli("relatives", model, folder, "--lineage", tmp_path / "hub", "-k", "6", "--csv", tmp_path / "r.csv", "--workers", "1")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(tmp_path / "r.csv")
    want = pl.relatives(model, dist, lineage, k=6)
    assert got["model"].tolist() == want["model"].tolist()
    np.testing.assert_allclose(got["distance"], want["distance"], rtol=1e-9)
    np.testing.assert_allclose(got["finetune_pct"], want["finetune_pct"])  # documented pairs: exact
    np.testing.assert_allclose(got["all_pairs_pct"], want["all_pairs_pct"], atol=0.01)  # all pairs: sampled
    # candidates among each model's 40 nearest, against a lineage that documents none of these models
    threshold = float(np.quantile(dist.condensed(), 0.001))
    result = run_cli("candidates", folder, "--lineage", DEMO, "-o", tmp_path / "c.csv", "--threshold", str(threshold),
                     "--limit", "0", "-k", "40", "--workers", "2")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(tmp_path / "c.csv")
    iu, ju = np.triu_indices(dna.n_models, 1)
    close = dist.values[iu, ju] <= threshold
    want_pairs = {tuple(sorted((dna.ids[i], dna.ids[j]))) for i, j in zip(iu[close], ju[close])}
    assert {tuple(sorted(p)) for p in got[["model_a", "model_b"]].itertuples(index=False)} == want_pairs
    assert list(got["distance"]) == sorted(got["distance"])


def test_approximate_index_has_high_recall_and_exact_distances(tmp_path):
    pytest.importorskip("faiss")
    from phylo_llm.hub import connect, knn, recall_at_k

    dna = _hub_dna(3000, dim=16, seed=6)
    _write_dataset(tmp_path / "dna", dna, part_rows=700)
    data = open_dataset(tmp_path / "dna")
    with connect(workers=1) as client:
        index, distance = knn(data, client, 10, index="ivf")
        exact_index, _ = knn(data, client, 10)
        recall = recall_at_k(data, client, index, 10, sample=300)
    assert recall >= 0.9
    assert recall == pytest.approx(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(index, exact_index)]), abs=0.05)
    vectors = data.load().vectors
    rows = np.arange(0, 3000, 97)
    np.testing.assert_allclose(distance[rows], np.linalg.norm(vectors[rows, None, :] - vectors[index[rows]], axis=2), rtol=1e-9)


@pytest.mark.parametrize("case", ["copies", "near_copies", "far_from_origin", "cosine_copies"])
def test_nearest_stays_exact_where_float32_cannot_tell_models_apart(case):
    # Candidates are chosen in float32 and certified by a rounding bound; rows without the margin (many identical
    # or nearly identical models) are redone in float64. Reference: SciPy's cdist in float64, ties by number.
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(4)
    base = rng.normal(size=(300, 24))
    metric = "cosine" if case == "cosine_copies" else "euclidean"
    if case in ("copies", "cosine_copies"):
        base[:60] = base[0]  # 60 identical models: k = 5 ties everywhere among them
    elif case == "near_copies":
        base[:60] = base[0] + rng.normal(scale=1e-7, size=(60, 24))
    else:
        base += 1e4
    number = np.arange(len(base))
    index, distance = nearest(base, base, 5, metric, query_index=number, reference_index=number)
    full = cdist(base, base, metric)
    np.fill_diagonal(full, np.inf)
    want = np.array([np.lexsort((number, row))[:5] for row in full])
    if case == "near_copies":  # float64 rounding decides ties below 1e-15: compare distances, not ids
        np.testing.assert_allclose(distance, np.take_along_axis(full, want, axis=1), rtol=1e-6, atol=1e-12)
    else:
        np.testing.assert_array_equal(index, want)
        np.testing.assert_allclose(distance, np.take_along_axis(full, want, axis=1), rtol=1e-9, atol=1e-9)


def test_nearest_over_small_partitions_merges_to_the_whole_answer():
    # A query against a reference partition it is not in, smaller than 2k + 2 rows: every column must be considered.
    from scipy.spatial.distance import cdist

    from phylo_llm.hub._knn import merge_nearest

    rng = np.random.default_rng(5)
    points = rng.normal(size=(40, 6))
    number = np.arange(40)
    merged = None
    for lo, hi in ((0, 9), (9, 20), (20, 40)):  # partitions of 9, 11 and 20 rows; k = 4 (2k + 2 = 10)
        found = nearest(points, points[lo:hi], 4, query_index=number, reference_index=number[lo:hi])
        merged = found if merged is None else merge_nearest(merged, found, 4)
    full = cdist(points, points)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_array_equal(merged[0], np.argsort(full, axis=1, kind="stable")[:, :4])


def test_relatives_and_candidates_never_build_the_matrix_of_the_documented_models(tmp_path, monkeypatch):
    """A hub whose lineage documents nearly every model (`simulate --models`: each model has a parent) asked for
    the distance matrix of all documented models (149 GiB at 200,000): the documented pairs are now measured pair by
    pair. Matrices stay within the sample and the query's neighbourhood; the documented shares and the threshold
    equal the dense path's."""
    from phylo_llm.hub import _neighbours, connect, hub_candidates, hub_relatives, open_dataset

    assert run_cli("simulate", "--models", "600", "--part-rows", "200", "--dim", "16", "-o", tmp_path / "hub").returncode == 0
    data = open_dataset(tmp_path / "hub" / "dna")
    lineage = pl.load_lineage(tmp_path / "hub")
    assert len(pl.score.documented_pairs(lineage, data.all_ids())) > 500  # nearly every model documented
    sizes = []
    real = _neighbours.distance_matrix
    monkeypatch.setattr(_neighbours, "distance_matrix", lambda dna, metric: sizes.append(dna.n_models) or real(dna, metric))
    monkeypatch.setattr(_neighbours, "SAMPLE", 40)
    dna = pl.load_dna(tmp_path / "hub" / "dna")
    dist = pl.distance_matrix(dna)
    model = dna.ids[11]
    with connect(workers=1) as client:
        got = hub_relatives(model, data, lineage, client, k=5)
        _, threshold, _, _ = hub_candidates(data, lineage, client, k=5)
    assert max(sizes) <= 40 + 6
    want = pl.relatives(model, dist, lineage, k=5)
    assert got["model"].tolist() == want["model"].tolist()
    np.testing.assert_allclose(got["finetune_pct"], want["finetune_pct"])
    assert threshold == pytest.approx(pl.score.documented_threshold(dist, lineage), rel=1e-9)
