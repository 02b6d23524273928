"""Scores against scikit-learn, ete3 and hand-worked cases; a perfect tree scores 1, a shuffled one at chance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ete3 import Tree as EteTree
from sklearn.metrics import roc_auc_score

import phylo_llm as pl
from phylo_llm.io import parse_tree, to_newick
from phylo_llm.lineage import load_lineage
from phylo_llm.score import PairRanker, candidates, parent_ranks, relatives, score
from phylo_llm.score._taxonomy import cut_clusters, monophyly, robinson_foulds, taxonomy_splits, tree_splits
from phylo_llm.simulate import simulate
from phylo_llm.tree import flatten, patristic_matrix
from tests.helpers import DEMO, random_dna_matrix, run_cli


@pytest.mark.parametrize("seed", range(3))
def test_pair_auc_matches_scikit_learn(seed):
    ids, x = random_dna_matrix(30, d=3, seed=seed)
    x = np.round(x, 1)  # coarse values make tied distances
    dm = pl.distance_matrix(pl.DNA(ids, x))
    rng = np.random.default_rng(seed)
    i, j = rng.choice(30, 12), rng.choice(30, 12)
    keep = i != j
    i, j = i[keep], j[keep]
    iu, ju = np.triu_indices(30, 1)
    positive = {(min(a, b), max(a, b)) for a, b in zip(i, j)}
    labels = np.array([(a, b) in positive for a, b in zip(iu, ju)])
    expected = roc_auc_score(labels, -dm.values[iu, ju])
    assert PairRanker(dm).auc(i, j) == pytest.approx(expected, abs=1e-12)


def test_parent_ranks_by_hand():
    values = np.array(
        [[0, 1, 2, 2, 5], [1, 0, 3, 4, 5], [2, 3, 0, 1, 1], [2, 4, 1, 0, 9], [5, 5, 1, 9, 0]], dtype=float
    )
    # Row 0: parent 1 is nearest (rank 1); parent 2 ties with 3 (rank 2.5); parent 4 is last (rank 4).
    assert parent_ranks(values, [0, 0, 0], [1, 2, 4]).tolist() == [1.0, 2.5, 4.0]
    # Row 2: 3 and 4 tie at distance 1 -> 1.5 each.
    assert parent_ranks(values, [2], [4]).tolist() == [1.5]


FAMILY_TREE = "(((a:1,b:1):1,(c:1,(d:1,e:1):1):1):1,f:1);"


@pytest.mark.parametrize("tree_text,rooted", [(FAMILY_TREE, True), ("((a,b),(c,(d,e)),f);", False)])
def test_robinson_foulds_matches_ete3(tree_text, rooted):
    families = {"a": "X", "b": "X", "c": "X", "d": "Y", "e": "Y", "f": "Y"}
    tree = parse_tree(tree_text)
    tree.rooted = rooted
    flat = flatten(tree)
    codes = np.array([0 if families[n] == "X" else 1 for n in flat.names])
    ours = robinson_foulds(tree_splits(flat, np.ones(6, bool), rooted), taxonomy_splits(codes, rooted))
    taxonomy = EteTree("((a,b,c),(d,e,f));")
    reference = EteTree(tree_text).robinson_foulds(taxonomy, unrooted_trees=not rooted)
    assert (ours["rf"], ours["max_rf"]) == (reference[0], reference[1])


def test_robinson_foulds_on_random_trees_against_ete3():
    rng = np.random.default_rng(1)
    for seed in range(5):
        ids, x = random_dna_matrix(20, seed=seed)
        tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
        flat = flatten(tree)
        codes = rng.integers(0, 4, len(flat.names))
        groups = {}
        for name, c in zip(flat.names, codes):
            groups.setdefault(c, []).append(name)
        taxonomy = EteTree("(" + ",".join("(" + ",".join(g) + ")" if len(g) > 1 else g[0] for g in groups.values()) + ");", format=9)
        ours = robinson_foulds(tree_splits(flat, np.ones(20, bool), False), taxonomy_splits(codes, False))
        reference = EteTree(to_newick(tree), format=1, quoted_node_names=True).robinson_foulds(taxonomy, unrooted_trees=True)
        assert (ours["rf"], ours["max_rf"]) == (reference[0], reference[1])


def test_monophyly_by_hand():
    tree = parse_tree(FAMILY_TREE)
    flat = flatten(tree)
    families = {"a": 0, "b": 0, "c": 1, "d": 1, "e": 2, "f": 2}
    codes = np.array([families[n] for n in flat.names])
    rooted = monophyly(flat, codes, 3, rooted=True)
    assert rooted["monophyletic"].tolist() == [True, False, False]
    # {c, d}: smallest clade (c,(d,e)) has 3 leaves; {e, f}: only the whole tree (6).
    assert rooted["clade"].tolist() == [2, 3, 6]
    unrooted = monophyly(flat, codes, 3, rooted=False)
    # Unrooted, the split sides are {a,b}, {d,e}, {c,d,e} and their complements; the smallest side holding
    # e and f is {c,d,e,f}, the complement of {a,b}: 4 leaves.
    assert unrooted["clade"].tolist() == [2, 3, 4]


def test_cut_into_clusters_by_hand():
    tree = parse_tree("((a:1,b:1):3,(c:2,(d:1,e:1):1):2);")
    flat = flatten(tree)
    clusters = dict(zip(flat.names, cut_clusters(flat, 3)))
    # The shallower of the two root children, (c,(d,e)) at depth 2, is split before (a,b) at depth 3.
    assert clusters["a"] == clusters["b"] and clusters["d"] == clusters["e"] and len(set(clusters.values())) == 3
    assert clusters["c"] != clusters["d"]


def test_patristic_matrix_matches_biopython():
    ids, x = random_dna_matrix(15, seed=2)
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
    path = patristic_matrix(tree)
    leaves = {c.name: c for c in tree.get_terminals()}
    for a in range(15):
        for b in range(15):
            assert path.values[a, b] == pytest.approx(tree.distance(leaves[path.ids[a]], leaves[path.ids[b]]), abs=1e-12)


def test_distances_from_a_point_on_a_branch_match_biopython():
    from phylo_llm.tree import distances_from_point, iter_preorder

    ids, x = random_dna_matrix(15, seed=3)
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x)))
    flat, clades = flatten(tree), list(iter_preorder(tree))
    parent = {id(c): up for up in clades for c in up.clades}
    leaves = {c.name: c for c in tree.get_terminals()}
    for node in range(1, len(clades)):
        clade, length = clades[node], clades[node].branch_length
        below = {t.name for t in clade.get_terminals()}
        for height in (0.0, 0.3 * length, length):
            ours = distances_from_point(flat, node, height)
            for j, name in enumerate(flat.names):
                # Biopython: from the node plus the height (leaves below), or from its parent plus the rest of the branch.
                expected = (tree.distance(clade, leaves[name]) + height if name in below
                            else tree.distance(parent[id(clade)], leaves[name]) + length - height)
                assert ours[j] == pytest.approx(expected, abs=1e-12)


@pytest.fixture(scope="module")
def simulated():
    sim = simulate(seed=2)
    lineage = pl.Lineage(sim.models.set_index("model"), sim.relations)
    return sim, lineage


def test_the_true_tree_scores_one(simulated):
    sim, lineage = simulated
    report = score(sim.tree, lineage, permutations=20)
    families = report["families"]
    assert families["monophyletic_share"] == 1.0 and families["mean_purity"] == 1.0
    assert families["rf_rooted"]["recovery"] == 1.0 and families["rf_unrooted"]["recovery"] == 1.0
    assert families["ari"] == pytest.approx(1.0) and families["nmi"] == pytest.approx(1.0)
    # The chance baseline of the same run is far below.
    assert families["baseline"]["ari"]["mean"] < 0.1


def test_a_shuffled_tree_scores_at_its_baseline(simulated):
    sim, lineage = simulated
    tree = pl.build_tree(pl.distance_matrix(sim.dna))
    order = np.random.default_rng(0).permutation(sim.dna.n_models)
    for leaf, k in zip(tree.get_terminals(), order):
        leaf.name = sim.dna.ids[k]
    report = score(tree, lineage, permutations=200, seed=1)
    for key in ("monophyletic_share", "mean_purity", "ari", "nmi"):
        value, chance = report["families"][key], report["families"]["baseline"][key]
        assert abs(value - chance["mean"]) <= 4 * chance["sd"] + 1e-9, key
    entry = report["relations"]["any"]
    assert abs(entry["auc_tree"] - entry["auc_tree_baseline"]["mean"]) <= 4 * entry["auc_tree_baseline"]["sd"]


def test_dna_scores_beat_chance_on_simulated_data(simulated):
    sim, lineage = simulated
    report = score(sim.dna, lineage, permutations=50)
    for relation in ("same_weights", "finetune"):
        entry = report["relations"][relation]
        assert entry["auc_dna"] > entry["auc_dna_baseline"]["mean"] + 5 * entry["auc_dna_baseline"]["sd"]
    assert report["noise_floor"]["same_weights_pairs"] == 10
    assert report["tree_fit"]["cophenetic_r"] > 0.9


def test_relatives_and_candidates(tmp_path):
    (tmp_path / "models.csv").write_text("model,family,organization,architecture\na,F,o,decoder_only\nb,F,o,decoder_only\nc,F,o,decoder_only\nd,G,o,decoder_only\ne,G,o,decoder_only\n")
    (tmp_path / "relations.csv").write_text("child,parent,relation\nb,a,finetune\nc,a,finetune\nd,z,finetune\n")
    lineage = load_lineage(tmp_path)
    x = np.array([[0.0], [1.0], [1.5], [10.0], [10.2]])
    dm = pl.distance_matrix(pl.DNA(list("abcde"), x))
    table = relatives("a", dm, lineage, k=3)
    assert table["model"].tolist() == ["b", "c", "d"]
    assert table["documented"].tolist() == ["child (finetune)", "child (finetune)", ""]
    assert table["finetune_pct"].tolist() == [0.5, 1.0, 1.0]
    found, threshold, count = candidates(dm, lineage)
    # Documented fine-tune distances 1 and 1.5: median 1.25. b-c are siblings (shared parent a): not candidates.
    assert threshold == 1.25
    assert found[["model_a", "model_b"]].values.tolist() == [["d", "e"]] and count == 1


def test_score_cli_on_the_demo(tmp_path):
    result = run_cli("score", DEMO / "dna.parquet", "--lineage", DEMO, "--permutations", "10", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["relations"]["same_weights"]["pairs"] == 10
    text = run_cli("score", DEMO / "dna.parquet", "--lineage", DEMO, "--permutations", "10").stdout
    assert "Documented pairs by DNA distance" in text and "Noise floor" in text
    assert run_cli("tree", DEMO / "dna.parquet", "-o", tmp_path / "t.nwk").returncode == 0
    tree_only = json.loads(run_cli("score", tmp_path / "t.nwk", "--lineage", DEMO, "--permutations", "5", "--json").stdout)
    assert "auc_tree" in tree_only["relations"]["finetune"] and "auc_dna" not in tree_only["relations"]["finetune"]


def test_relatives_cli_unknown_model():
    result = run_cli("relatives", "nobody/model", DEMO / "dna.parquet", "--lineage", DEMO)
    assert result.returncode == 2 and "'nobody/model' is not in the data" in result.stderr


def test_relatives_cli_says_when_k_exceeds_the_models():
    n = pl.load_dna(DEMO / "dna.parquet").n_models
    result = run_cli("relatives", pl.load_dna(DEMO / "dna.parquet").ids[0], DEMO / "dna.parquet", "--lineage", DEMO,
                     "-k", str(n + 5))
    assert result.returncode == 0, result.stderr
    assert f"-k {n + 5} but" in result.stderr and f"only {n - 1} other models" in result.stderr
    assert len(result.stdout.strip().splitlines()) == 1 + (n - 1)  # header and every other model


def test_candidates_cli_writes_csv(tmp_path):
    # With family metadata but no documented edges, every close pair is a candidate.
    (tmp_path / "lineage").mkdir()
    (tmp_path / "lineage" / "models.csv").write_bytes((DEMO / "models.csv").read_bytes())
    out = tmp_path / "c.csv"
    result = run_cli("candidates", DEMO / "dna.parquet", "--lineage", tmp_path / "lineage", "-o", out, "--threshold", "9", "--limit", "0")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    dna = pl.load_dna(DEMO / "dna.parquet")
    from scipy.spatial.distance import pdist

    assert len(table) == int((pdist(dna.vectors) <= 9).sum()) > 0
    assert list(table.columns[:3]) == ["model_a", "model_b", "distance"]
    assert (table["distance"] <= 9).all() and table["distance"].is_monotonic_increasing
