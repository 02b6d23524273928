"""Probe-bootstrap support: FBP against DendroPy, TBE by hand and by brute force, truth recovery on simulated data."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from Bio import Phylo

import phylo_llm as pl
from phylo_llm.cli import main
from phylo_llm.distance import probe_distances
from phylo_llm.io import parse_tree, to_newick
from phylo_llm.simulate import simulate
from phylo_llm.tree import SupportCounter, build_tree, probe_resampling, split_support, tree_split_masks


def newick(text: str):
    return Phylo.read(io.StringIO(text), "newick")


def split_key(side, leaves) -> frozenset:
    """An unrooted split as the side without the alphabetically first leaf."""
    side, leaves = frozenset(side), frozenset(leaves)
    return leaves - side if min(leaves) in side else side


def support_by_leafset(tree) -> dict[frozenset, float]:
    leaves = frozenset(t.name for t in tree.get_terminals())
    return {
        split_key((t.name for t in clade.get_terminals()), leaves): clade.confidence
        for clade in tree.get_nonterminals()
        if clade.confidence is not None
    }


def replicate_trees(probes, replicates: int, seed: int = 0, method: str = "nj"):
    return [build_tree(probe_distances(probes, "euclidean", w), method) for w in probe_resampling(probes.n_probes, replicates, seed)]


def test_resampling_draws_every_probe_count_with_replacement():
    draws = probe_resampling(50, 200, seed=3)
    assert draws.shape == (200, 50) and (draws.sum(axis=1) == 50).all()
    # A probe is left out of a replicate with probability (1 - 1/P)^P ~ 0.364.
    assert abs((draws == 0).mean() - (1 - 1 / 50) ** 50) < 0.02
    assert (probe_resampling(50, 200, seed=3) == draws).all() and not (probe_resampling(50, 200, seed=4) == draws).all()


def test_tbe_and_fbp_on_a_hand_worked_case():
    # Reference splits: AB|CDEF (p=2), EF|ABCD (p=2), DEF|ABC (p=3).
    reference = newick("((A:1,B:1):1,C:1,(D:1,(E:1,F:1):1):1);")
    same = newick("((A:1,B:1):1,C:1,(D:1,(E:1,F:1):1):1);")
    # T3 keeps AB and EF, replaces DEF by CEF: DEF's nearest split is EF or ABD..., transfer distance 1.
    t3 = newick("((A:1,B:1):1,D:1,(C:1,(E:1,F:1):1):1);")
    # T1 keeps EF and DEF, replaces AB by AC: AB's best is a trivial split, transfer distance p - 1 = 1.
    t1 = newick("((A:1,C:1):1,B:1,(D:1,(E:1,F:1):1):1);")
    fbp = support_by_leafset(split_support(reference, [same, t3, t1], "fbp"))
    tbe = support_by_leafset(split_support(reference, [same, t3, t1], "tbe"))
    ab, ef, abc = (split_key(side, "ABCDEF") for side in ("AB", "EF", "ABC"))
    assert fbp[ab] == pytest.approx(2 / 3) and fbp[ef] == 1 and fbp[abc] == pytest.approx(2 / 3)
    assert tbe[ab] == pytest.approx(1 - (1 / 3) / 1) and tbe[ef] == 1 and tbe[abc] == pytest.approx(1 - (1 / 3) / 2)


def brute_force_tbe(reference, replicates) -> dict[frozenset, float]:
    """TBE from its definition: for each split, the fewest leaves to move onto any branch (trivial ones too)."""
    leaves = sorted(t.name for t in reference.get_terminals())
    n = len(leaves)

    def splits(tree):
        out = [frozenset(t.name for t in c.get_terminals()) for c in tree.find_clades()]
        return [s for s in out if 0 < len(s) < n]

    found = {}
    for side in splits(reference):
        if not 2 <= len(side) <= n - 2:
            continue
        p = min(len(side), n - len(side))
        total = 0.0
        for tree in replicates:
            total += min(min(len(side ^ other), n - len(side ^ other)) for other in splits(tree))
        found[split_key(side, leaves)] = 1 - total / len(replicates) / (p - 1)
    return found


def test_tbe_equals_its_definition_on_random_trees():
    sim = simulate(seed=2, finetunes_per_base=1, n_families=3)
    probes = sim.probes(16)
    reference = build_tree(probe_distances(probes))
    others = replicate_trees(probes, 8, seed=1)
    ours = support_by_leafset(split_support(reference, others, "tbe"))
    expected = brute_force_tbe(reference, others)
    assert ours.keys() == expected.keys()
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, abs=1e-6)


def test_fbp_equals_dendropy_split_frequencies(tmp_path):
    dendropy = pytest.importorskip("dendropy")
    sim = simulate(seed=0, finetunes_per_base=3)
    probes = sim.probes(32)
    reference = build_tree(probe_distances(probes))
    others = replicate_trees(probes, 30, seed=5)
    ours = support_by_leafset(split_support(reference, others, "fbp"))

    taxa = dendropy.TaxonNamespace()
    ref = dendropy.Tree.get(data=to_newick(reference), schema="newick", taxon_namespace=taxa,
                            rooting="force-unrooted", preserve_underscores=True)
    distribution = dendropy.SplitDistribution(taxon_namespace=taxa)
    for tree in others:
        replicate = dendropy.Tree.get(data=to_newick(tree), schema="newick", taxon_namespace=taxa,
                                      rooting="force-unrooted", preserve_underscores=True)
        distribution.count_splits_on_tree(replicate)
    frequencies = distribution.split_frequencies
    ref.encode_bipartitions()
    leaves = frozenset(t.label for t in taxa)
    checked = 0
    for edge in ref.postorder_edge_iter():
        side = frozenset(t.label for t in edge.bipartition.leafset_taxa(taxa))
        if not 2 <= len(side) <= len(leaves) - 2:
            continue
        key = split_key(side, leaves)
        expected = frequencies.get(edge.bipartition.split_bitmask, 0.0)
        # Support labels carry 6 decimals; the counts behind them must be equal.
        assert round(ours[key] * len(others)) == round(expected * len(others)) and ours[key] == pytest.approx(expected, abs=1e-6)
        checked += 1
    assert checked == len(ours) == len(leaves) - 3


def test_true_splits_are_supported_and_random_splits_are_not():
    sim = simulate(seed=0, finetunes_per_base=4, dim=512)
    probes = sim.probes(64)
    others = replicate_trees(probes, 40, seed=0)
    truth = SupportCounter(sim.tree)
    shuffled = SupportCounter(_relabelled(sim.tree, np.random.default_rng(1)))
    for tree in others:
        truth.add(tree)
        shuffled.add(tree)
    assert truth.fbp().mean() > 0.6 and truth.tbe().mean() > 0.75
    assert shuffled.fbp().mean() < 0.05 and shuffled.tbe().mean() < truth.tbe().mean() - 0.3
    # On the built tree, splits that exist in the true lineage get much more support than those that do not.
    result = pl.bootstrap_support(probes, replicates=40, seed=0)
    names = tuple(sorted(probes.ids))
    true_keys = {m.tobytes() for m in tree_split_masks(sim.tree, names)[1]}
    _, masks = tree_split_masks(result.tree, names)
    in_truth = np.array([m.tobytes() in true_keys for m in masks])
    assert result.fbp[in_truth].mean() > result.fbp[~in_truth].mean() + 0.3


def _relabelled(tree, rng):
    import copy

    tree = copy.deepcopy(tree)
    leaves = tree.get_terminals()
    names = [leaf.name for leaf in leaves]
    for leaf, name in zip(leaves, rng.permutation(names)):
        leaf.name = str(name)
    return tree


def test_support_is_written_as_labels_and_nhx_and_read_back():
    sim = simulate(seed=0, finetunes_per_base=1, n_families=2)
    result = pl.bootstrap_support(sim.probes(16), replicates=10, seed=0, kind="tbe")
    text = to_newick(result.tree)
    back = parse_tree(text)
    assert sorted(c.confidence for c in back.get_nonterminals() if c.confidence is not None) == pytest.approx(
        sorted(c.confidence for c in result.tree.get_nonterminals() if c.confidence is not None))
    nhx = parse_tree(to_newick(result.tree, features=True))
    supports = [c.features["support"] for c in nhx.get_nonterminals() if getattr(c, "features", None)]
    assert len(supports) == len(result.tbe) and all(0 <= float(v) <= 1 for v in supports)


def test_rerooting_keeps_each_support_on_its_split():
    sim = simulate(seed=1, finetunes_per_base=2, n_families=3)
    tree = pl.bootstrap_support(sim.probes(16), replicates=10, seed=0).tree
    rooted = pl.midpoint_root(tree)
    before, after = support_by_leafset(tree), support_by_leafset(rooted)
    assert before and set(before) <= set(after) | {k for k in before if len(k) < 2}
    for key, value in before.items():
        assert after[key] == value
    assert 1.0 in before.values()  # full support must survive rerooting (ete3's default support is 1.0)


def test_bootstrap_cli_is_reproducible_and_needs_per_probe_input(tmp_path, capsys):
    sim = simulate(seed=0, finetunes_per_base=1, n_families=2)
    pl.save_probes(sim.probes(16), tmp_path / "sim.probes", dtype="float32")
    pl.save_dna(sim.dna, tmp_path / "dna.parquet")
    outputs = []
    for name in ("a.nwk", "b.nwk"):
        assert main(["tree", str(tmp_path / "sim.probes"), "-o", str(tmp_path / name), "--bootstrap", "7", "--seed", "3", "-q"]) == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert main(["tree", str(tmp_path / "dna.parquet"), "-o", str(tmp_path / "c.nwk"), "--bootstrap", "5", "-q"]) == 2
    err = capsys.readouterr().err
    assert "dna.parquet" in err and "per-probe" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.nwk").exists()
    assert main(["tree", str(tmp_path / "sim.probes"), "-o", str(tmp_path / "d.nwk"), "--bootstrap", "3", "--metric", "manhattan", "-q"]) == 2
    assert "manhattan" in capsys.readouterr().err and not (tmp_path / "d.nwk").exists()


def test_split_support_refuses_trees_with_other_leaves():
    with pytest.raises(pl.PhyloLLMError, match="same leaves"):
        split_support(newick("((A,B),C,(D,E));"), [newick("((A,B),C,(D,F));")])


def test_supports_over_identical_replicates_are_all_one():
    tree = newick("((A:1,B:1):1,C:1,(D:1,(E:1,F:1):1):1);")
    annotated = split_support(tree, itertools.repeat(tree, 4), "fbp")
    assert [c.confidence for c in annotated.get_nonterminals() if c.confidence is not None] == [1.0, 1.0, 1.0]
