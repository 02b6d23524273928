"""The Python API as a notebook user meets it: bad arguments get a PhyloLLMError naming the culprit, never a
raw traceback or a silently wrong answer; names the docs use resolve. Small demo data; independent checks."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

import numpy as np
import pytest
from Bio import Phylo

import phylo_llm as pl
from phylo_llm.errors import PhyloLLMError

DEMO = "data/demo"


@pytest.fixture(scope="module")
def demo(request):
    root = request.config.rootpath
    dna = pl.load_dna(root / DEMO / "dna.parquet")
    return dna, pl.distance_matrix(dna), pl.load_lineage(root / DEMO)


def test_relate_subpackage_is_reachable_as_an_attribute():
    """README and notebook 04 use the relation model; `pl.relate` must resolve like `pl.score` (lazy loading)."""
    code = "import phylo_llm as pl; print(callable(pl.relate.load_relation_model), 'relate' in pl.__all__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]


def test_outgroup_root_takes_one_model_id_as_a_string():
    """A single id given as a string is that model, not its characters ('outgroup model 'a' is not a leaf')."""
    tree = Phylo.read(StringIO("((alpha:1,beta:1):1,gamma:1,delta:1);"), "newick")
    rooted = pl.outgroup_root(tree, "gamma")
    sides = sorted(sorted(c.name for c in side.get_terminals()) for side in rooted.root.clades)
    assert sides == [["alpha", "beta", "delta"], ["gamma"]]
    assert pl.root_tree(tree, "outgroup", outgroup="gamma").root.clades[0].get_terminals()


@pytest.mark.parametrize("rooting", ["mad", "midpoint"])
def test_rooting_by_lengths_refuses_a_tree_without_branch_lengths(rooting):
    """MAD and midpoint read branch lengths: without them the answer is arbitrary (MAD returned the tree unrooted)."""
    tree = Phylo.read(StringIO("((a,b),(c,d),e);"), "newick")
    with pytest.raises(PhyloLLMError, match="branch length"):
        pl.root_tree(tree, rooting)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_relatives_refuses_k_that_is_not_a_positive_integer(demo, k):
    """k=-1 sliced off the last model and returned n-2 rows; a float gave a raw TypeError."""
    dna, dist, lineage = demo
    with pytest.raises(PhyloLLMError, match="k"):
        pl.relatives(dna.ids[0], dist, lineage, k=k)


def test_relatives_k_larger_than_the_models_gives_every_other_model(demo):
    dna, dist, lineage = demo
    table = pl.relatives(dna.ids[0], dist, lineage, k=10_000)
    assert sorted(table["model"]) == sorted(dna.ids[1:])


def test_candidates_limit_zero_means_all_as_on_the_command_line(demo):
    """`candidates --limit 0` keeps all pairs; the function returned an empty table for limit=0."""
    _, dist, lineage = demo
    cut = float(np.median(dist.condensed()))  # the demo documents every close pair: widen the cut-off
    everything, _, qualifying = pl.candidates(dist, lineage, threshold=cut, limit=None)
    zero, _, _ = pl.candidates(dist, lineage, threshold=cut, limit=0)
    assert len(zero) == len(everything) == qualifying > 0
    with pytest.raises(PhyloLLMError, match="limit"):
        pl.candidates(dist, lineage, limit=-1)


def test_score_refuses_negative_permutations(demo):
    dna, _, lineage = demo
    with pytest.raises(PhyloLLMError, match="permutations"):
        pl.score.score(dna, lineage, permutations=-1)


def test_bootstrap_support_of_dna_names_what_it_needs(demo):
    """DNA has no probes to resample: a clear error, not AttributeError 'DNA' object has no attribute 'concatenated'."""
    dna, _, _ = demo
    with pytest.raises(PhyloLLMError, match="per-probe"):
        pl.bootstrap_support(dna, replicates=2)


@pytest.mark.parametrize("kind", ["dna", "probes", "dist"])
def test_subset_of_no_models_is_refused(demo, kind):
    """An empty selection is refused alike for DNA, distances and probes (probes gave 0 models, and `place` then
    a raw ValueError from reshape)."""
    dna, dist, _ = demo
    data = {"dna": dna, "dist": dist, "probes": pl.simulate(seed=0, n_families=2).probes(4)}[kind]
    with pytest.raises(PhyloLLMError, match="no models"):
        data.subset([])


def test_place_with_no_new_models_is_refused():
    probes = pl.simulate(seed=0).probes(4)
    reference = probes.subset(probes.ids[1:])
    tree = pl.build_tree(pl.probe_distances(reference))
    empty = pl.ProbeEmbeddings((), np.zeros((0, probes.n_probes, probes.values.shape[2]), np.float32), dict(probes.settings))
    with pytest.raises(PhyloLLMError, match="no new model"):
        pl.place(empty, tree, reference)


def test_score_takes_per_probe_embeddings_like_the_command(demo):
    """`phylo-llm score CACHE` works; `score(probes, ...)` failed inside NJ with a raw ValueError. Checked against
    scoring the same distances given directly."""
    _, _, lineage = demo
    probes = pl.simulate(seed=0).probes(8)
    from_probes = pl.score.score(probes, lineage, permutations=2)
    from_dist = pl.score.score(pl.probe_distances(probes), lineage, permutations=2)
    assert from_probes["input"]["metric"] == "euclidean"
    assert from_probes["relations"]["any"]["auc_dna"] == pytest.approx(from_dist["relations"]["any"]["auc_dna"])


def test_build_tree_of_rows_not_distances_says_what_it_needs(demo):
    dna, _, _ = demo
    with pytest.raises(PhyloLLMError, match="DistanceMatrix"):
        pl.build_tree(dna)


def test_result_objects_print_one_line():
    """A notebook cell ending with a bootstrap, a placement or a relation model shows a summary, not every number
    (the default relation model's repr was ~9,000 characters)."""
    from phylo_llm import relate

    probes = pl.simulate(seed=0).probes(4)
    reference = probes.subset(probes.ids[1:])
    placed = pl.place(probes.subset(probes.ids[:1]), pl.build_tree(pl.probe_distances(reference)), reference)
    support = pl.bootstrap_support(probes, replicates=2)
    for obj in (relate.load_relation_model("default"), placed, support):
        text = repr(obj)
        assert "\n" not in text and len(text) < 300, text[:400]
    assert "3 replicates" not in repr(support) and "2 replicates" in repr(support)


def test_explorer_save_never_writes_over_its_input(tmp_path, request):
    """`pl.view(tree, dna).save(<the DNA file>)` replaced the user's DNA with the HTML page."""
    source = tmp_path / "dna.parquet"
    source.write_bytes((request.config.rootpath / DEMO / "dna.parquet").read_bytes())
    before = source.read_bytes()
    dna = pl.load_dna(source)
    explorer = pl.view(None, dna.subset(dna.ids[:6]), pl.load_lineage(request.config.rootpath / DEMO))
    with pytest.raises(PhyloLLMError, match="also an input"):
        explorer.save(source)
    assert source.read_bytes() == before
    page = explorer.save(tmp_path / "page.html")
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_functions_taking_a_lineage_take_its_folder_too(demo, request):
    """A lineage folder where a Lineage is asked (as `pl.view` and every command take it) gives the same answer as the
    loaded Lineage; anything else is one PhyloLLMError, not an AttributeError from deep inside."""
    from phylo_llm.relate import evaluate_relations
    from phylo_llm.simulate import simulate

    dna, dist, lineage = demo
    folder = request.config.rootpath / DEMO
    tree = pl.build_tree(dist)
    model = dist.ids[0]
    for by in (lineage, folder, str(folder)):
        assert pl.relatives(model, dist, by, k=5).equals(pl.relatives(model, dist, lineage, k=5))
        assert pl.candidates(dist, by)[0].equals(pl.candidates(dist, lineage)[0])
        assert pl.score.documented_pairs(by, dist.ids).equals(pl.score.documented_pairs(lineage, dist.ids))
        assert pl.leaf_table(pl.annotate_tree(tree, by)[0]).equals(pl.leaf_table(pl.annotate_tree(tree, lineage)[0]))
        assert (pl.score.score(dist, by, permutations=0)["relations"]["any"]["auc_dna"]
                == pl.score.score(dist, lineage, permutations=0)["relations"]["any"]["auc_dna"])
    probes = simulate(seed=0).probes(8)
    assert evaluate_relations(probes, folder, n_folds=3)["labelled"] == evaluate_relations(probes, lineage, n_folds=3)["labelled"]
    for wrong in (3, ["a"], dna):
        with pytest.raises(PhyloLLMError, match="a lineage is a Lineage"):
            pl.relatives(model, dist, wrong)
        with pytest.raises(PhyloLLMError, match="a lineage is a Lineage"):
            pl.score.score(dist, wrong, permutations=0)
    with pytest.raises(PhyloLLMError, match="no-such-folder"):
        pl.annotate_tree(tree, folder / "no-such-folder")


def test_figure_and_explorer_arguments_at_their_edges(demo, tmp_path):
    """A heatmap ordered by a tree shows the tree's leaf order (Bio.Phylo's own leaf walk); a neighbourhood of fewer
    than 2 models and a heatmap 'order' given as one string are refused; the explorer gives one minimum for one
    situation (2 models without a tree: it needs 3 to build the tree)."""
    from phylo_llm.figures import distance_heatmap, draw_neighbourhood

    dna, dist, _ = demo
    tree = pl.build_tree(dist)
    leaves = [leaf.name for leaf in tree.get_terminals()]
    fig = distance_heatmap(dist, tree, {})
    expected = dist.values[np.ix_([dist.ids.index(m) for m in leaves], [dist.ids.index(m) for m in leaves])]
    assert np.allclose(fig.axes[0].images[0].get_array(), expected)
    with pytest.raises(PhyloLLMError, match="string"):
        distance_heatmap(dist, dist.ids[0], {})
    for size in (0, 1, -3, 2.5):
        with pytest.raises(PhyloLLMError, match="at least 2 models"):
            draw_neighbourhood(tree, dist.ids[0], size=size)
    with pytest.raises(PhyloLLMError, match="at least 3 models"):
        pl.view(None, dna.subset(dna.ids[:2]))
