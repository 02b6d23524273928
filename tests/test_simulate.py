"""The simulator: reproducible, calibrated, and its truth is recoverable."""

from __future__ import annotations

import numpy as np

import phylo_llm as pl
from phylo_llm.io import to_newick
from phylo_llm.simulate import simulate
from tests.helpers import ete_tree


def test_same_seed_same_data():
    a, b = simulate(seed=4), simulate(seed=4)
    np.testing.assert_array_equal(a.dna.vectors, b.dna.vectors)
    assert to_newick(a.tree) == to_newick(b.tree)
    assert not np.array_equal(a.dna.vectors, simulate(seed=5).dna.vectors)


def test_lineage_is_consistent():
    sim = simulate()
    ids = set(sim.dna.ids)
    assert set(sim.relations.child) <= ids and set(sim.relations.parent) <= ids
    assert set(sim.relations.relation) == {"finetune", "continued_pretraining", "same_weights", "merge"}
    assert sorted(c.name for c in sim.tree.get_terminals()) == sorted(ids)
    assert sim.models["is_base"].sum() == 5


def test_copies_sit_where_the_published_data_puts_them():
    # Published paper set: same-weights copies at a median 0.39 of the median all-pairs distance.
    ratios = []
    for seed in range(3):
        sim = simulate(seed=seed)
        d = pl.distance_matrix(sim.dna).values
        pos = {m: i for i, m in enumerate(sim.dna.ids)}
        copies = sim.relations[sim.relations.relation == "same_weights"]
        pairs = [d[pos[c], pos[p]] for c, p in zip(copies.child, copies.parent)]
        ratios.append(np.median(pairs) / np.median(d[np.triu_indices(len(d), 1)]))
    assert 0.3 < np.mean(ratios) < 0.5


def test_nj_recovers_every_family_as_a_clade():
    sim = simulate(seed=1)
    tree = ete_tree(to_newick(pl.build_tree(pl.distance_matrix(sim.dna))))
    family = dict(zip(sim.models.model, sim.models.family))
    for leaf in tree:
        leaf.add_feature("family", family[leaf.name])
    for name in set(family.values()):
        assert tree.check_monophyly([name], "family", unrooted=True)[0], name
