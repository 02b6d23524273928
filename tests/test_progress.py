"""The progress bar (tqdm): quiet for quick work, drawn on standard error for slow work, never changing results."""

from __future__ import annotations

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.progress import Progress
from phylo_llm.tree._nj import nj_merges
from tests.helpers import random_dna_matrix


def test_quick_work_draws_nothing(capsys):
    with Progress(10, "quick") as bar:
        for _ in range(10):
            bar.update()
    assert capsys.readouterr().err == ""


def test_slow_work_draws_a_bar_that_ends_complete(capsys):
    with Progress(4, "slow", delay=0.0, interval=0.0) as bar:
        for _ in range(3):
            bar.update()
    err = capsys.readouterr().err
    last = err.rstrip("\n").split("\r")[-1]  # the bar as finally drawn
    assert last.startswith("slow: 100%") and " 4/4 " in last and err.endswith("\n")
    assert capsys.readouterr().out == ""


def test_a_failed_block_leaves_the_bar_where_it_stopped(capsys):
    with pytest.raises(RuntimeError), Progress(10, "failing", delay=0.0, interval=0.0) as bar:
        bar.update_to(4)
        raise RuntimeError("stop")
    last = capsys.readouterr().err.rstrip("\n").split("\r")[-1]
    assert last.startswith("failing:  40%") and " 4/10 " in last


def test_reports_past_the_total_are_capped(capsys):
    with Progress(5, "capped", delay=0.0, interval=0.0) as bar:
        bar.update_to(9)  # a kernel may report its last block past the end
    assert " 5/5 " in capsys.readouterr().err


def test_disabled_bar_is_silent(capsys):
    with Progress(3, "off", enabled=False, delay=0.0, interval=0.0) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_nj_with_progress_gives_the_same_tree():
    ids, x = random_dna_matrix(200, seed=9)
    values = pl.distance_matrix(pl.DNA(ids, x)).values
    a, b = nj_merges(values, progress=True, engine="compiled"), nj_merges(values, engine="compiled")
    assert a.children == b.children and a.lengths == b.lengths
    assert np.isfinite(np.array(a.lengths)).all()


def test_upgma_with_progress_reports_and_gives_the_same_tree(monkeypatch, capsys):
    from phylo_llm import progress as progress_module
    from phylo_llm.tree._linkage import linkage_table

    ids, x = random_dna_matrix(300, seed=10)
    values = pl.distance_matrix(pl.DNA(ids, x)).values
    seen = []
    original = progress_module.Progress.update_to
    monkeypatch.setattr(progress_module.Progress, "update_to", lambda self, done: (seen.append(done), original(self, done))[1])
    a, b = linkage_table(values, "upgma", progress=True, engine="compiled"), linkage_table(values, "upgma", engine="compiled")
    assert np.array_equal(a, b)
    assert seen[:3] == [0, 64, 128] and max(seen) <= 299


def test_relation_features_and_folds_report_progress_and_give_the_same_numbers(monkeypatch):
    from phylo_llm import progress as progress_module
    from phylo_llm.relate import evaluate_relations, pair_features
    from phylo_llm.simulate import simulate
    from tests.helpers import DEMO

    probes = simulate(seed=0).probes(8)
    seen = []
    original = progress_module.Progress.update_to
    monkeypatch.setattr(progress_module.Progress, "update_to",
                        lambda self, done: (seen.append((self.label, done)), original(self, done))[1])
    assert np.array_equal(pair_features(probes, progress=True), pair_features(probes))
    assert ("pair features", probes.n_models - 1) in seen and ("pair features", 32) in seen
    seen.clear()
    lineage = pl.load_lineage(DEMO)
    with_bar = evaluate_relations(probes, lineage, n_folds=3, progress=True)
    assert [done for label, done in seen if label == "cross-validation folds"][:3] == [1, 2, 3]
    assert with_bar["derived"] == evaluate_relations(probes, lineage, n_folds=3)["derived"]
