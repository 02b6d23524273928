"""The published LLM DNA (skipped with a reason when ../shared/data is absent)."""

from __future__ import annotations

import io
import warnings

import pytest
from Bio import Phylo
from Bio.Phylo.TreeConstruction import DistanceMatrix as BioDistanceMatrix
from Bio.Phylo.TreeConstruction import DistanceTreeConstructor

import phylo_llm as pl
from phylo_llm.io import to_newick
from tests.helpers import split_lengths, unrooted_rf

PAPER = "llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu"
RAND = "llm-dna-web/dna-out/rand"


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.PhyloLLMWarning)
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def paper(shared):
    return quietly(pl.load_dna, shared / PAPER)


@pytest.fixture(scope="module")
def rand(shared):
    return quietly(pl.load_dna, shared / RAND, allow_mixed=True)


def test_paper_set_loads_313_models(paper):
    assert (paper.n_models, paper.dim) == (313, 128)
    assert set(paper.metadata["encoder"]) == {"Qwen/Qwen3-Embedding-8B"}
    # Local checkpoints are named by the last component of their path.
    assert "fine-tuned-meta-llama-meta-llama-3-8b-instruct__nvidia-openmathinstruct-2-n100" in paper.ids
    assert not any(m.startswith("/") for m in paper.ids)


def test_rand_set_is_mixed_and_loads_1576_models_when_allowed(shared, rand):
    with pytest.raises(pl.PhyloLLMError, match="3 different extraction settings") as error:
        quietly(pl.load_dna, shared / RAND)
    assert "contextual_hidden_states" in str(error.value) and "probe_count=5" in str(error.value)
    assert (rand.n_models, rand.dim) == (1576, 128)


@pytest.mark.parametrize("encoder,variant,dim", [("bge", "dna", 128), ("mpnet", "dna", 128), (None, "dna_dim1024", 1024), (None, "dna_dim4", 4)])
def test_paper_ablation_files(shared, encoder, variant, dim):
    dna = quietly(pl.load_dna, shared / PAPER, variant=variant, encoder=encoder, allow_mixed=True)
    assert dna.dim == dim and dna.n_models > 250


@pytest.mark.parametrize("dataset", ["paper", "rand"])
@pytest.mark.parametrize("method", ["nj", "upgma"])
def test_trees_over_every_model_round_trip_through_newick(request, dataset, method):
    dna = request.getfixturevalue(dataset)
    tree = pl.build_tree(pl.distance_matrix(dna), method)
    back = Phylo.read(io.StringIO(to_newick(tree)), "newick")
    assert sorted(c.name for c in back.get_terminals()) == sorted(dna.ids)
    assert split_lengths(back) == split_lengths(tree)


def test_nj_matches_biopython_on_real_distances(paper):
    subset = pl.distance_matrix(paper.subset(sorted(paper.ids)[::3]))  # 105 models: Biopython is pure Python
    lower = [list(subset.values[i, : i + 1]) for i in range(subset.n_models)]
    reference = DistanceTreeConstructor().nj(BioDistanceMatrix(list(subset.ids), lower))
    ours = pl.build_tree(subset, clamp_negative=False)
    assert unrooted_rf(to_newick(ours), reference.format("newick")) == 0
    a, b = split_lengths(ours), split_lengths(reference)
    assert max(abs(a[s] - b[s]) for s in a) < 1e-9


def test_pruned_nj_equals_exhaustive_on_the_rand_set(rand):
    # 1,576 models with 19 groups of identical DNA: many exact ties.
    from phylo_llm.tree._nj import nj_merges

    values = pl.distance_matrix(rand).values
    pruned, exhaustive = nj_merges(values, engine="compiled"), nj_merges(values, prune=False, engine="compiled")
    assert pruned.children == exhaustive.children and pruned.lengths == exhaustive.lengths
