"""Relation detection: pair features against a direct computation, labels and folds against the lineage's rules,
calibration error against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

import phylo_llm as pl
from phylo_llm.relate import (
    FEATURES,
    cross_validate,
    lineage_components,
    model_folds,
    neighbour_ranks,
    pair_features,
    pair_index,
    pair_labels,
)
from phylo_llm.relate._calibration import expected_calibration_error
from phylo_llm.relate._features import QUANTILES, SAME_ANSWER, probe_quantiles
from phylo_llm.relate._labels import AMBIGUOUS
from phylo_llm.relate._labels import DERIVED as DERIVED_RELATIONS
from phylo_llm.simulate import simulate
from tests.helpers import DEMO


@pytest.fixture(scope="module")
def demo():
    probes = simulate(seed=0).probes(8)  # the demo data's models
    return probes, pl.load_lineage(DEMO)


def test_features_match_a_direct_computation_pair_by_pair(demo):
    probes, _ = demo
    values = np.asarray(probes.values, dtype=np.float64)
    x = pair_features(probes)
    i, j = pair_index(probes.n_models)
    total = np.sqrt(((values[:, None] - values[None]) ** 2).sum(axis=(2, 3)))
    for k in np.random.default_rng(1).choice(len(i), 60, replace=False):
        a, b = i[k], j[k]
        per_probe = np.linalg.norm(values[a] - values[b], axis=1)
        np.testing.assert_allclose(x[k, :len(QUANTILES)], np.quantile(per_probe, QUANTILES), rtol=1e-4, atol=1e-5)
        assert x[k, FEATURES.index("same_answer_share")] == pytest.approx(np.mean(per_probe < SAME_ANSWER))
        assert x[k, FEATURES.index("distance")] == pytest.approx(total[a, b], rel=1e-6)
        closer_to_a = np.sum(np.delete(total[a], a) < total[a, b]) + 1
        closer_to_b = np.sum(np.delete(total[b], b) < total[b, a]) + 1
        assert np.exp(x[k, FEATURES.index("log_rank_min")]) == pytest.approx(min(closer_to_a, closer_to_b))
        assert np.exp(x[k, FEATURES.index("log_rank_max")]) == pytest.approx(max(closer_to_a, closer_to_b))


@pytest.mark.parametrize("n_reference", [1, 2, 3, 9, 10, 11, 40])
def test_features_of_an_added_model_equal_the_population_path(demo, n_reference):
    """Each added model's features with the reference distances computed once equal pair_features of the
    population (reference + that model alone); around the CSLS k (10) and for tiny references."""
    from phylo_llm.distance import probe_distances
    from phylo_llm.relate import added_model_features

    probes, _ = demo
    ids = list(probes.ids)
    reference = probes.subset(ids[5:5 + n_reference])
    added = probes.values[:5]
    partners = np.arange(5) % n_reference
    fast = added_model_features(reference, probe_distances(reference), added, partners)
    for m in range(5):
        population = probes.subset([*reference.ids, ids[m]])
        slow = pair_features(population, np.array([partners[m]]), np.array([n_reference]))[0]
        np.testing.assert_allclose(fast[m], slow, rtol=1e-9, atol=1e-9)


def test_an_added_copy_of_a_reference_model_ties_with_it(demo):
    """A copy is 0 from its original and each rank counts only the strictly closer (the copy's original is
    not closer than the copy), checked against counts on the population's distances."""
    from phylo_llm.distance import probe_distances
    from phylo_llm.relate import added_model_features

    probes, _ = demo
    reference = probes.subset(probes.ids[:30])
    values = np.asarray(reference.values, dtype=np.float64)
    x = added_model_features(reference, probe_distances(reference), reference.values[[3, 3]], np.array([3, 7]))
    assert x[0, FEATURES.index("distance")] == 0.0 and x[0, FEATURES.index("log_rank_max")] == 0.0
    total = np.sqrt(((values[:, None] - values[None]) ** 2).sum(axis=(2, 3)))
    d = total[3, 7]  # the copy is as far from 7 as its original
    assert x[1, FEATURES.index("distance")] == pytest.approx(d, rel=1e-9)
    forward = 1 + np.sum(total[3] < d - 1e-9)  # 7's rank among the copy's neighbours (the original at 0 counts)
    backward = 1 + np.sum(np.delete(total[7], 7) < d - 1e-9)  # the copy's among 7's: its original ties, not closer
    assert np.exp(x[1, FEATURES.index("log_rank_min")]) == pytest.approx(min(forward, backward))
    assert np.exp(x[1, FEATURES.index("log_rank_max")]) == pytest.approx(max(forward, backward))


@pytest.mark.parametrize("probes", [1, 2, 7, 100, 600])
def test_probe_quantiles_equal_numpy_quantile(probes):
    x = np.random.default_rng(probes).random((3, 50, probes)).astype(np.float32)
    x[0, :, :] = np.round(x[0], 1)  # ties
    expected = np.moveaxis(np.quantile(x, QUANTILES, axis=-1), 0, -1)
    np.testing.assert_allclose(probe_quantiles(x), expected, rtol=1e-12, atol=0)


def test_neighbour_ranks_against_argsort():
    values = np.random.default_rng(2).random((30, 30))
    values = values + values.T
    np.fill_diagonal(values, 0)
    ranks = neighbour_ranks(values)
    for row in range(30):
        others = [c for c in np.argsort(values[row], kind="stable") if c != row]
        assert [ranks[row, c] for c in others] == list(range(1, 30))


def test_labels_follow_the_documented_edges(demo):
    probes, lineage = demo
    ids = list(probes.ids)
    i, j = pair_index(len(ids))
    labels = pair_labels(lineage, ids, i, j)
    edges = pl.score.documented_pairs(lineage, ids)
    want = {}
    for row in edges.itertuples():
        key = (min(row.i, row.j), max(row.i, row.j))
        kind = 1 if row.relation == "same_weights" else 2
        want[key] = 1 if want.get(key) == 1 else kind
    got = {(int(a), int(b)): int(c) for a, b, c in zip(i, j, labels) if c > 0}
    assert got == want
    # unrelated pairs share no documented ancestry: no path between them in the lineage graph
    parents = {}
    for child, parent in lineage.relations[["child", "parent"]].itertuples(index=False):
        parents.setdefault(child, set()).add(parent)
        parents.setdefault(parent, set()).add(child)

    def reach(model):
        seen, todo = {model}, [model]
        while todo:
            for nxt in parents.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    family = lineage.models["family"].fillna("").to_dict()  # models.csv as read, independent of the code under test
    for a, b, c in list(zip(i, j, labels))[::7]:
        same_family = family.get(ids[a], "") != "" and family.get(ids[a]) == family.get(ids[b])
        assert (c == 0) == (ids[b] not in reach(ids[a]) and not same_family), (ids[a], ids[b], c)


def test_one_documented_family_is_kin_not_unrelated(tmp_path):
    """Two fine-tunes of one family that name no common parent share ancestry: neither trained on nor scored."""
    (tmp_path / "models.csv").write_text("model,family\na,Llama\nb,Llama\nc,Qwen\nd,\ne,\n")
    (tmp_path / "relations.csv").write_text("child,parent,relation\nc,q,finetune\n")
    lineage = pl.load_lineage(tmp_path)
    ids = ["a", "b", "c", "d", "e"]
    i, j = pair_index(5)
    got = {(ids[a], ids[b]): int(c) for a, b, c in zip(i, j, pair_labels(lineage, ids, i, j))}
    assert got[("a", "b")] == AMBIGUOUS  # same family, no edge
    assert got[("a", "c")] == got[("b", "c")] == 0  # documented different families
    assert got[("a", "d")] == got[("d", "e")] == 0  # an unknown family is no kinship


def test_folds_keep_every_documented_relative_on_one_side(demo):
    probes, lineage = demo
    ids = list(probes.ids)
    folds = model_folds(lineage_components(lineage, ids), 4, seed=3)
    assert len(set(folds.tolist())) == 4
    index = {m: k for k, m in enumerate(ids)}
    groups = {}
    for child, parent in lineage.relations[["child", "parent"]].itertuples(index=False):
        groups.setdefault(child, set()).add(parent)
        groups.setdefault(parent, set()).add(child)
    # shared parents outside the data join their children too
    for members in groups.values():
        present = [index[m] for m in members if m in index]
        assert len({int(folds[p]) for p in present}) <= 1
    for child, parent in lineage.relations[["child", "parent"]].itertuples(index=False):
        if child in index and parent in index:
            assert folds[index[child]] == folds[index[parent]]


def test_expected_calibration_error_matches_calibration_curve():
    rng = np.random.default_rng(4)
    p = rng.random(5000)
    y = (rng.random(5000) < p ** 1.5).astype(int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.histogram(p, bins=np.linspace(0, 1, 11))[0]
    want = np.sum(counts[counts > 0] / len(p) * np.abs(prob_true - prob_pred))
    assert expected_calibration_error(y, p, bins=10) == pytest.approx(want, abs=1e-9)
    from phylo_llm.relate._calibration import reliability_bins

    bins = reliability_bins(y, p, bins=10)
    np.testing.assert_allclose([b["observed"] for b in bins], prob_true, atol=1e-12)
    np.testing.assert_allclose([b["mean_predicted"] for b in bins], prob_pred, atol=1e-12)
    assert [b["pairs"] for b in bins] == counts[counts > 0].tolist()


def test_cross_validation_reports_model_distance_and_chance(demo):
    probes, lineage = demo
    x = pair_features(probes)
    i, j = pair_index(probes.n_models)
    y = pair_labels(lineage, probes.ids, i, j)
    folds = model_folds(lineage_components(lineage, probes.ids), 3)
    edges = pl.score.documented_pairs(lineage, list(probes.ids))[["i", "j"]].to_numpy()
    report = cross_validate(x, y, i, j, folds, x[:, FEATURES.index("distance")], edges)
    scored = (folds[i] == folds[j]) & (y >= 0)
    assert report["pairs_scored"] == int(scored.sum())
    for name in ("same_weights", "derived"):
        if name in report:
            assert 0.0 <= report[name]["auc_model"] <= 1.0 and 0.0 <= report[name]["auc_chance"] <= 1.0
    assert 0.0 <= report["ece"] <= 1.0


def test_cli_evaluate_and_its_refusals(demo, tmp_path):
    import json

    from tests.helpers import run_cli

    probes, lineage = demo
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    result = run_cli("relate", "evaluate", cache, "--lineage", DEMO, "--folds", "3", "--json", tmp_path / "r.json", "-q",
                     "--figure", tmp_path / "reliability.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["folds"] == 3 and written["models"] == probes.n_models
    assert "AUC model" in result.stdout
    # too few documented pairs: says how many it needs
    few = tmp_path / "few.csv"
    few.write_text("child,parent,relation\n" + f"{probes.ids[1]},{probes.ids[0]},finetune\n")
    refused = run_cli("relate", "evaluate", cache, "--lineage", few)
    assert refused.returncode == 2 and "needs at least" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    # DNA is not a per-probe cache
    refused = run_cli("relate", "evaluate", DEMO / "dna.parquet", "--lineage", DEMO)
    assert refused.returncode == 2 and "per-probe" in refused.stderr
    assert not (tmp_path / "r2.json").exists()


def _training_set(demo):
    probes, lineage = demo
    x = pair_features(probes)
    i, j = pair_index(probes.n_models)
    y = pair_labels(lineage, probes.ids, i, j)
    return probes, x, y, i


def test_saved_model_predicts_as_scikit_learn_does(demo, tmp_path):
    from phylo_llm.relate import RelationModel
    from phylo_llm.relate._model import fit_calibrated

    probes, x, y, i = _training_set(demo)
    known = y >= 0
    fitted = fit_calibrated(x[known], y[known], i[known], seed=5)
    model = RelationModel.fit(x, y, i, probes, seed=5)
    model.save(tmp_path / "m.json")
    loaded = RelationModel.load(tmp_path / "m.json")
    np.testing.assert_allclose(loaded.predict_proba(x), fitted.predict_proba(x), rtol=1e-9, atol=1e-12)
    assert loaded.settings == {k: list(v) for k, v in pl.settings.settings_of(probes).items()}


def test_few_documented_pairs_still_give_a_calibrated_model(demo):
    """Two same-weights and four derived pairs: calibration folds must still see every class (per-fold calibrators
    fitted on folds without one turned over, P(related) about 1/3 for every pair, in half of such draws)."""
    from sklearn.metrics import roc_auc_score

    from phylo_llm.relate import RelationModel
    from phylo_llm.relate._model import calibration_splits

    probes, x, y, i = _training_set(demo)
    rng = np.random.default_rng(0)
    scored = y >= 0  # every documented pair of the demo, most of them not trained on
    for seed in range(12):
        few = np.where(y > 0, AMBIGUOUS, y)
        for cls, count in ((1, 2), (2, 4)):
            few[rng.choice(np.flatnonzero(y == cls), count, replace=False)] = cls
        known = few >= 0
        for train, _ in calibration_splits(few[known], i[known], seed):
            assert set(few[known][train]) == {0, 1, 2}
        related = 1.0 - RelationModel.fit(x, few, i, probes, seed=seed).predict_proba(x)[:, 0]
        assert roc_auc_score(y[scored] > 0, related[scored]) > 0.9, seed
        assert related[y == 0].mean() < 0.05, (seed, related[y == 0].mean())


def test_model_files_that_are_not_models_are_refused(demo, tmp_path):
    import json

    from phylo_llm.relate import RelationModel

    probes, x, y, i = _training_set(demo)
    good = RelationModel.fit(x, y, i, probes).to_dict()
    cases = {
        "pickle.model": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94.",
        "other.json": json.dumps({"format": "something"}).encode(),
        "version.json": json.dumps({**good, "format_version": 99}).encode(),
        "features.json": json.dumps({**good, "features": ["a"]}).encode(),
        "member.json": json.dumps({**good, "members": [{**good["members"][0], "coef": [[1.0]]}]}).encode(),
        "nan.json": json.dumps({**good, "members": [{**good["members"][0], "a": [float("nan")] * 3}]}).encode(),
    }
    expected = {"pickle.model": "not JSON", "other.json": "not a relation model", "version.json": "version 99",
                "features.json": "features", "member.json": "malformed", "nan.json": "malformed"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(pl.PhyloLLMError, match=expected[name]):
            RelationModel.load(tmp_path / name)


def test_cli_train_then_ask_about_a_pair(demo, tmp_path):
    import json

    from phylo_llm.relate import RelationModel, evaluate_relations
    from tests.helpers import run_cli

    probes, lineage = demo
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    result = run_cli("relate", "train", cache, "--lineage", DEMO, "--folds", "3", "-o", tmp_path / "m.json", "-q")
    assert result.returncode == 0, result.stderr
    model = RelationModel.load(tmp_path / "m.json")
    # the card's numbers are those of a re-run of the evaluation with the same input, folds and seed
    again = evaluate_relations(pl.load_probes(cache), lineage, n_folds=3, seed=0)
    for name in ("same_weights", "derived"):
        assert model.card["cross_validation"][name]["auc_model"] == pytest.approx(again[name]["auc_model"], abs=1e-12)
    assert model.card["cross_validation"]["ece"] == pytest.approx(again["ece"], abs=1e-12)
    i, j = pair_index(probes.n_models)
    y = pair_labels(lineage, probes.ids, i, j)
    assert model.card["training"]["pairs"]["same_weights"] == int(np.sum(y == 1))
    assert model.card["training"]["pairs"]["kin_not_used"] == int(np.sum(y < 0))

    probes = pl.load_probes(cache)  # as the command reads it (float16)
    a, b = probes.ids[0], probes.ids[2]
    result = run_cli("relate", a, b, cache, "--model", tmp_path / "m.json", "--json", tmp_path / "p.json")
    assert result.returncode == 0, result.stderr
    out = json.loads((tmp_path / "p.json").read_text())
    k = int(np.flatnonzero((i == 0) & (j == 2))[0])
    want = model.predict_proba(pair_features(probes)[k:k + 1])[0]
    got = [out["probabilities"][c] for c in ("unrelated", "same_weights", "derived")]
    np.testing.assert_allclose(got, want, rtol=1e-5)  # per-probe distances: direct differences vs Gram form (float32)
    total = pl.probe_distances(probes, "euclidean").values
    upper = total[np.triu_indices(len(total), 1)]
    assert out["evidence"]["distance_percentile"] == pytest.approx(100 * np.mean(upper <= total[0, 2]))
    assert "P(same weights)" in result.stdout and "drove" in result.stdout
    # What the lineage documents of the pair, beside the model's answer (the demo's lineage.csv, read here).
    import pandas as pd

    relations = pd.read_csv(DEMO / "lineage.csv")
    edge = next(r for r in relations.itertuples() if r.child in probes.ids and r.parent in probes.ids)
    result = run_cli("relate", edge.parent, edge.child, cache, "--model", tmp_path / "m.json", "--lineage", DEMO,
                     "--json", tmp_path / "q.json")
    assert result.returncode == 0, result.stderr
    facts = json.loads((tmp_path / "q.json").read_text())["lineage"]
    assert facts["edges"] == [f"{edge.child} {edge.relation} of {edge.parent}"] and facts["parent"] == edge.parent
    assert f"lineage ({DEMO}): {edge.child} {edge.relation} of {edge.parent}; the parent: {edge.parent}" in result.stdout


def test_modal_answer_share_against_counting_rows():
    from collections import Counter

    from phylo_llm.probes import ProbeEmbeddings
    from phylo_llm.relate._direction import modal_answer_share

    rng = np.random.default_rng(3)
    pool = rng.normal(size=(4, 3)).astype(np.float16)  # few distinct answers: ties and shared answers occur
    values = pool[rng.integers(0, 4, size=(40, 12))]
    values[:, 5] = rng.normal(size=(40, 3))  # a probe where every answer differs: counts for nobody
    values[:20, 7] = 0.0
    values[20:, 7] = -0.0  # -0.0 and 0.0 are one answer
    got = modal_answer_share(ProbeEmbeddings([f"m{i}" for i in range(40)], values))
    want = np.zeros(40)
    for probe in range(12):
        counts = Counter(tuple(float(v) + 0.0 for v in row) for row in values[:, probe])
        top = max(counts.values())
        for m in range(40):
            want[m] += top >= 2 and counts[tuple(float(v) + 0.0 for v in values[m, probe])] == top
    np.testing.assert_allclose(got, want / 12)
    assert got.min() >= 1 / 12  # probe 7: everybody


def test_lineage_facts_of_a_pair(tmp_path):
    from phylo_llm.relate import lineage_facts

    (tmp_path / "models.csv").write_text("model,family,is_base,release\nbase,L,true,2023-01\nchat,L,false,2023-03\n"
                                         "copy,L,false,2023-04\nother,L,false,2023-06\nlone,Q,false,2024-01\n")
    (tmp_path / "relations.csv").write_text("child,parent,relation\nchat,base,finetune\ncopy,chat,same_weights\n")
    lineage = pl.load_lineage(tmp_path)
    facts = lineage_facts(lineage, "base", "chat")
    assert facts["edges"] == ["chat finetune of base"] and (facts["parent"], facts["parent_from"]) == ("base", "documented edge")
    facts = lineage_facts(lineage, "copy", "chat")
    assert facts["edges"] == ["copy same_weights of chat"] and facts["parent"] is None and facts["kin"]
    facts = lineage_facts(lineage, "other", "base")  # no edge: the documented base model
    assert facts["edges"] == [] and (facts["parent"], facts["parent_from"]) == ("base", "documented base model")
    assert facts["kin"]  # one documented family
    facts = lineage_facts(lineage, "lone", "other")  # no edge, neither a base: the earlier release
    assert (facts["parent"], facts["parent_from"]) == ("other", "earlier release") and not facts["kin"]
    facts = lineage_facts(lineage, "unknown/a", "unknown/b")
    assert facts == {"edges": [], "kin": False, "parent": None, "parent_from": None, "models": {"unknown/a": {}, "unknown/b": {}}}


@pytest.mark.parametrize("case", ["missing", "not_a_model", "settings", "one_model", "too_few", "wrong_option"])
def test_cli_relate_refusals(demo, tmp_path, case):
    from tests.helpers import run_cli

    probes, _ = demo
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    a, b = probes.ids[0], probes.ids[1]
    few = tmp_path / "few.csv"
    few.write_text(f"child,parent,relation\n{b},{a},finetune\n")
    args, expected = {
        "missing": ((a, "no/such-model", cache, "--model", "default"), "'no/such-model' is not in the data"),
        "not_a_model": ((a, b, cache, "--model", cache), "not a relation model"),
        "settings": ((a, b, cache), "but the relation model was trained on probe_set=rand_chinese"),
        "one_model": ((a, a, cache), "are one model"),
        "too_few": (("train", cache, "--lineage", few, "-o", tmp_path / "m.json"), "needs at least 20"),
        "wrong_option": (("evaluate", cache, "-o", tmp_path / "m.json"), "-o does not apply"),
    }[case]
    result = run_cli("relate", *args)
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_the_shipped_model_loads_and_its_card_matches_the_builtin_lineage():
    from phylo_llm.relate import load_relation_model

    model = load_relation_model("default")
    card = model.card
    assert card["training"]["lineage"] == "builtin" and card["training"]["models"] == 1585
    assert model.settings["encoder"] == ["hashing-char1-4-max300"] and model.settings["probe_count"] == ["100"]
    # the derived pairs counted on the card are the builtin lineage's derived edges among rand-set models
    lineage = pl.load_lineage("builtin")
    rand = lineage.models.index[lineage.models["probe_sets"].fillna("").str.contains("rand")]
    edges = pl.score.documented_pairs(lineage, list(rand))
    assert card["cross_validation"]["folds"] == 5 and 0 <= card["cross_validation"]["ece"] <= 0.05
    assert abs(card["training"]["pairs"]["derived"] - edges["relation"].isin(DERIVED_RELATIONS).sum()) <= 10


def test_score_with_a_relation_model_reports_auc_model_beside_auc_dna(demo, tmp_path):
    import json

    from sklearn.metrics import roc_auc_score

    from phylo_llm.relate import RelationModel
    from tests.helpers import run_cli

    probes, lineage = demo
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    assert run_cli("relate", "train", cache, "--lineage", DEMO, "--folds", "0", "-o", tmp_path / "m.json", "-q").returncode == 0
    result = run_cli("score", cache, "--lineage", DEMO, "--relation-model", tmp_path / "m.json", "--json",
                     "--permutations", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    entry = report["relations"]["finetune"]
    assert "auc_dna" in entry and "retrieval_model" in entry
    # AUC of documented finetune pairs against all other pairs, by P(related), from scikit-learn
    probes = pl.load_probes(cache)
    model = RelationModel.load(tmp_path / "m.json")
    related = 1.0 - model.predict_proba(pair_features(probes))[:, 0]
    i, j = pair_index(probes.n_models)
    edges = pl.score.documented_pairs(lineage, list(probes.ids))
    chosen = edges[edges.relation == "finetune"]
    positive = {(min(a, b), max(a, b)) for a, b in zip(chosen.i, chosen.j)}
    truth = np.array([(a, b) in positive for a, b in zip(i, j)])
    assert entry["auc_model"] == pytest.approx(roc_auc_score(truth, related), abs=1e-6)
    refused = run_cli("score", DEMO / "dna.parquet", "--lineage", DEMO, "--relation-model", tmp_path / "m.json")
    assert refused.returncode == 2 and "per-probe cache" in refused.stderr


def test_expected_fdr_against_brute_force():
    from phylo_llm.relate import expected_fdr

    p = np.random.default_rng(7).random(300)
    for t in (0.2, 0.5, 0.9, p[17]):
        called = p >= t
        assert expected_fdr(p, t) == pytest.approx(np.mean(1 - p[called]))


def test_relatives_and_candidates_ranked_by_probability(demo, tmp_path):
    import pandas as pd

    from phylo_llm.relate import RelationModel
    from tests.helpers import run_cli

    probes, _ = demo
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    assert run_cli("relate", "train", cache, "--lineage", DEMO, "--folds", "0", "-o", tmp_path / "m.json", "-q").returncode == 0
    probes = pl.load_probes(cache)
    model = RelationModel.load(tmp_path / "m.json")
    proba = model.predict_proba(pair_features(probes))
    related = 1.0 - proba[:, 0]
    i, j = pair_index(probes.n_models)
    lookup = {(probes.ids[a], probes.ids[b]): k for k, (a, b) in enumerate(zip(i, j))}

    def p_of(a, b):
        return related[lookup.get((a, b), lookup.get((b, a)))]

    anchor = probes.ids[0]
    result = run_cli("relatives", anchor, cache, "--lineage", DEMO, "--relation-model", tmp_path / "m.json", "-k", "8",
                     "--csv", tmp_path / "r.csv")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "r.csv")
    want = sorted((p_of(anchor, other) for other in probes.ids[1:]), reverse=True)[:8]
    np.testing.assert_allclose(table["p_related"], want, rtol=1e-6)
    for row in table.itertuples():
        assert row.expected_fdr == pytest.approx(np.mean(1 - related[related >= row.p_related]), rel=1e-6)
    result = run_cli("candidates", cache, "--lineage", DEMO, "--relation-model", tmp_path / "m.json",
                     "--min-probability", "0.01", "-o", tmp_path / "c.csv", "-q")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "c.csv")
    assert len(table) > 0 and (table["p_related"] >= 0.01).all()
    assert (np.diff(table["p_related"].to_numpy()) <= 1e-12).all()
    for row in table.head(5).itertuples():
        assert row.p_related == pytest.approx(p_of(row.model_a, row.model_b), rel=1e-6)


def test_placed_models_get_the_probability_of_the_leaf_they_join(demo, tmp_path):
    import pandas as pd
    from Bio import Phylo

    from phylo_llm.relate import RelationModel
    from tests.helpers import run_cli

    probes, _ = demo
    new_ids = [probes.ids[k] for k in (3, 17, 40)]
    pl.save_probes(probes, tmp_path / "all.probes")
    pl.save_probes(probes.subset(new_ids), tmp_path / "new.probes")
    pl.save_probes(probes.subset([m for m in probes.ids if m not in new_ids]), tmp_path / "ref.probes")
    assert run_cli("relate", "train", tmp_path / "all.probes", "--lineage", DEMO, "--folds", "0", "-o",
                   tmp_path / "m.json", "-q").returncode == 0
    assert run_cli("tree", tmp_path / "ref.probes", "-o", tmp_path / "ref.nwk", "-q").returncode == 0
    result = run_cli("place", tmp_path / "new.probes", "--tree", tmp_path / "ref.nwk", "--dna", tmp_path / "ref.probes",
                     "--relation-model", tmp_path / "m.json", "--csv", tmp_path / "p.csv", "-o", tmp_path / "p.nwk", "-q")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    placed = Phylo.read(tmp_path / "p.nwk", "newick")
    # Each placed model's features are computed among the reference and that model alone (the all-pairs path on
    # that population gives the same numbers), so its probabilities do not depend on the others placed with it.
    everything = pl.load_probes(tmp_path / "all.probes")
    model = RelationModel.load(tmp_path / "m.json")
    reference_ids = [m for m in everything.ids if m not in new_ids]
    leaf = {t.name: t for t in placed.get_terminals()}
    for row in table.itertuples():
        beside = min(sorted(reference_ids), key=lambda name: placed.distance(leaf[row.model], leaf[name]))  # Biopython
        assert row.nearest_leaf == beside
        population = everything.subset([*reference_ids, row.model])
        proba = model.predict_proba(pair_features(population))
        i, j = pair_index(population.n_models)
        k = int(np.flatnonzero((i == reference_ids.index(beside)) & (j == len(reference_ids)))[0])
        assert row.p_related == pytest.approx(1.0 - proba[k, 0], rel=1e-6)
        assert row.p_same_weights == pytest.approx(proba[k, 1], rel=1e-6)
        assert row.p_derived == pytest.approx(proba[k, 2], rel=1e-6)
    # Refused: DNA instead of caches; a model trained on other settings.
    pl.save_dna(pl.DNA(list(probes.ids), probes.concatenated()[:, :16]), tmp_path / "all.parquet")
    dna_ref = pl.load_dna(tmp_path / "all.parquet")
    pl.save_dna(dna_ref.subset([m for m in probes.ids if m not in new_ids]), tmp_path / "ref.parquet")
    pl.save_dna(dna_ref.subset(new_ids), tmp_path / "new.parquet")
    for argv, expected in (
        (["place", tmp_path / "new.parquet", "--tree", tmp_path / "ref.nwk", "--dna", tmp_path / "ref.parquet",
          "--relation-model", tmp_path / "m.json", "--csv", tmp_path / "x.csv"], "needs per-probe caches"),
        (["place", tmp_path / "new.probes", "--tree", tmp_path / "ref.nwk", "--dna", tmp_path / "ref.probes",
          "--relation-model", "default", "--csv", tmp_path / "x.csv"], "ref.probes"),
    ):
        result = run_cli(*argv)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
        assert not (tmp_path / "x.csv").exists()


def test_extreme_numbers_in_a_model_file_never_give_nan(demo, tmp_path):
    import json

    from phylo_llm.relate import RelationModel

    probes, x, y, i = _training_set(demo)
    good = RelationModel.fit(x, y, i, probes).to_dict()
    row = [1e308 if k % 2 else -1e308 for k in range(len(FEATURES))]  # +inf and -inf in one sum: NaN
    member = {**good["members"][0], "coef": [row, row, row]}
    (tmp_path / "huge.json").write_text(json.dumps({**good, "members": [member]}))
    try:  # refused when read (numbers beyond MAX_MAGNITUDE) or when used: never a NaN
        proba = RelationModel.load(tmp_path / "huge.json").predict_proba(x)
    except pl.PhyloLLMError as error:
        assert "non-finite" in str(error) or "at most" in str(error)
    else:
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)


def test_direction_model_is_antisymmetric_saved_and_refused_when_malformed(demo, tmp_path):
    import json

    from sklearn.linear_model import LogisticRegression

    from phylo_llm.relate import RelationModel, direction_features, lineage_components, train_relation_model
    from phylo_llm.relate._direction import directed_edges
    from tests.helpers import run_cli

    probes, lineage = demo
    model = train_relation_model(probes, lineage, "demo", n_folds=0)
    edges = directed_edges(lineage, probes.ids)
    assert len(edges) >= 10 and model.direction is not None
    parent, child = edges["j"].to_numpy(), edges["i"].to_numpy()
    # the stored coefficients: scikit-learn's no-intercept logistic regression (C = 0.01) on the edges taken both ways
    # round, times one factor: a no-intercept logistic fit to the scores of 5 inner folds (lineage components dealt
    # round-robin in sorted order), each scored by a fit without it
    def fit(rows):
        scale = np.where(rows.std(axis=0) > 0, rows.std(axis=0), 1.0)
        reference = LogisticRegression(fit_intercept=False, C=0.01, max_iter=1000).fit(
            np.vstack([rows, -rows]) / scale, np.r_[np.ones(len(rows)), np.zeros(len(rows))])
        return reference.coef_[0] / scale

    diff = direction_features(probes, parent, child)
    groups = lineage_components(lineage, probes.ids)[child]
    part = {g: k % 5 for k, g in enumerate(sorted(set(groups.tolist())))}
    part = np.array([part[g] for g in groups.tolist()])
    assert len(set(groups.tolist())) >= 5  # the demo has enough components for the inner folds
    inner = np.zeros(len(diff))
    for k in range(5):
        inner[part == k] = diff[part == k] @ fit(diff[part != k])
    factor = LogisticRegression(fit_intercept=False).fit(np.r_[inner, -inner][:, None],
                                                         np.r_[np.ones(len(inner)), np.zeros(len(inner))]).coef_[0, 0]
    assert factor > 0
    expected = 1.0 / (1.0 + np.exp(-factor * (diff @ fit(diff))))
    np.testing.assert_allclose(model.parent_probability(diff), expected, rtol=1e-6)
    forward = model.parent_probability(direction_features(probes, parent, child))
    backward = model.parent_probability(direction_features(probes, child, parent))
    np.testing.assert_allclose(forward + backward, 1.0, atol=1e-12)
    model.save(tmp_path / "m.json")
    assert RelationModel.load(tmp_path / "m.json").direction == pytest.approx(model.direction)
    # relate A B reports it
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    a, b = probes.ids[int(parent[0])], probes.ids[int(child[0])]
    result = run_cli("relate", a, b, cache, "--model", tmp_path / "m.json", "--json", tmp_path / "p.json")
    assert result.returncode == 0, result.stderr
    out = json.loads((tmp_path / "p.json").read_text())
    loaded = pl.load_probes(cache)
    want = model.parent_probability(direction_features(loaded, np.array([parent[0]]), np.array([child[0]])))[0]
    assert out["direction"]["p_a_is_parent"] == pytest.approx(want, rel=1e-6)
    assert "the parent is more likely" in result.stdout
    document = model.to_dict()
    for bad in ({"features": ["x"], "coef": [1.0]}, {**document["direction"], "coef": [float("nan")] * 5}, "text"):
        (tmp_path / "bad.json").write_text(json.dumps({**document, "direction": bad}))
        with pytest.raises(pl.PhyloLLMError, match="malformed 'direction'"):
            RelationModel.load(tmp_path / "bad.json")


def test_cherries_are_the_leaf_pairs_two_edges_apart():
    # Reference: Biopython's own path lengths with every branch set to 1; a rooted copy has the same cherries.
    from phylo_llm.tree import build_tree, cherries, iter_preorder, root_tree

    rng = np.random.default_rng(2)
    for n in (3, 4, 9, 40):
        points = rng.normal(size=(n, 5))
        ids = [f"m{k}" for k in range(n)]
        values = np.sqrt(((points[:, None] - points[None]) ** 2).sum(axis=2))
        built = build_tree(pl.DistanceMatrix(ids, values))
        found = {frozenset(pair) for pair in cherries(built)}
        for clade in iter_preorder(built):
            clade.branch_length = 1.0
        want = {frozenset((a, b)) for k, a in enumerate(ids) for b in ids[k + 1:] if built.distance(a, b) == 2}
        assert found == want
        rooted = root_tree(build_tree(pl.DistanceMatrix(ids, values)), "midpoint")
        assert len(rooted.root.clades) == 2
        assert {frozenset(pair) for pair in cherries(rooted)} == found


def test_cli_tree_from_a_relation_model_with_its_cherries(demo, tmp_path):
    import pandas as pd

    from phylo_llm.relate import RelationModel, train_relation_model
    from tests.helpers import run_cli

    probes, lineage = demo
    cache = tmp_path / "demo.probes"
    pl.save_probes(probes, cache)
    train_relation_model(probes, lineage, "demo", n_folds=0).save(tmp_path / "m.json")
    result = run_cli("tree", cache, "--relation-model", tmp_path / "m.json", "-o", tmp_path / "t.nwk",
                     "--cherries", tmp_path / "c.csv")
    assert result.returncode == 0, result.stderr
    model, loaded = RelationModel.load(tmp_path / "m.json"), pl.load_probes(cache)
    table = pd.read_csv(tmp_path / "c.csv")
    row = {m: k for k, m in enumerate(loaded.ids)}
    want = model.predict_proba(pair_features(loaded, np.array([row[a] for a in table["a"]]),
                                             np.array([row[b] for b in table["b"]])))
    np.testing.assert_allclose(table["p_related"], 1 - want[:, 0], rtol=1e-5)
    # the cherries are pairs of the written tree, and the tree is NJ of -log P(related) (Biopython's NJ as reference)
    from Bio.Phylo.TreeConstruction import DistanceMatrix as BioMatrix
    from Bio.Phylo.TreeConstruction import DistanceTreeConstructor

    from phylo_llm.relate import pair_probabilities, relation_distances
    from phylo_llm.tree import cherries

    written = pl.read_tree(tmp_path / "t.nwk")
    assert {frozenset(p) for p in cherries(written)} == {frozenset(p) for p in zip(table["a"], table["b"])}
    dist = relation_distances(model, loaded, pair_probabilities(model, loaded))
    lower = [[float(dist.values[a, b]) for b in range(a + 1)] for a in range(loaded.n_models)]
    bio = DistanceTreeConstructor().nj(BioMatrix(list(loaded.ids), lower))
    assert {frozenset(p) for p in cherries(bio)} == {frozenset(p) for p in cherries(written)}
    for args, message in ((("--cherries", tmp_path / "x.csv"), "give --relation-model"),
                          (("--relation-model", tmp_path / "m.json", "--metric", "cosine"), "--metric does not apply")):
        bad = run_cli("tree", cache, "-o", tmp_path / "bad.nwk", *args)
        assert bad.returncode == 2 and message in bad.stderr and not (tmp_path / "bad.nwk").exists(), bad.stderr


def test_the_shipped_model_is_what_a_re_run_of_its_recipe_gives(shared, tmp_path):
    # The recipe on the card, as the README gives it: extract the rand set with the default settings, train with the
    # built-in lineage (seed 0, 5 folds). About 2-3 minutes on 2 cores: the extraction of 158,500 answers dominates.
    from phylo_llm.relate import RelationModel, load_relation_model, pair_features
    from tests.helpers import run_cli

    answers = shared / "llm-dna-web" / "dna-out" / "rand"
    if not answers.is_dir():
        pytest.skip(f"{answers}: the rand set's answers are not in the shared data")
    cache = tmp_path / "rand.probes"
    result = run_cli("extract", answers, "-o", tmp_path / "rand.parquet", "--cache", cache, "-q")
    assert result.returncode == 0, result.stderr
    result = run_cli("relate", "train", cache, "--lineage", "builtin", "-o", tmp_path / "again.json", "-q")
    assert result.returncode == 0, result.stderr
    shipped, again = load_relation_model("default"), RelationModel.load(tmp_path / "again.json")
    assert again.settings == shipped.settings
    assert again.card["training"] == shipped.card["training"]
    for name in ("same_weights", "derived"):
        for key in ("pairs", "auc_model", "auc_distance", "ap_model"):
            assert again.card["cross_validation"][name][key] == pytest.approx(shipped.card["cross_validation"][name][key], abs=1e-6)
    assert again.card["cross_validation"]["ece"] == pytest.approx(shipped.card["cross_validation"]["ece"], abs=1e-6)
    assert again.card["direction"]["accuracy_model"] == pytest.approx(shipped.card["direction"]["accuracy_model"], abs=1e-6)
    x = pair_features(pl.load_probes(cache))[::97]
    np.testing.assert_allclose(again.predict_proba(x), shipped.predict_proba(x), atol=1e-6)
    np.testing.assert_allclose(again.direction, shipped.direction, rtol=1e-5, atol=1e-8)


def test_identical_models_name_no_parent(demo):
    # Two names for one set of answers: every direction feature is 0, P(A is the parent) is exactly 0.5.
    from phylo_llm.relate import relate_pair, train_relation_model

    probes, lineage = demo
    model = train_relation_model(probes, lineage, "demo", n_folds=0)
    values = np.concatenate([np.asarray(probes.values), np.asarray(probes.values)[:1]])
    twin = pl.ProbeEmbeddings((*probes.ids, "copy/of-first"), values, dict(probes.settings), "twin.probes")
    out = relate_pair(model, twin, probes.ids[0], "copy/of-first")
    assert out["direction"]["p_a_is_parent"] == pytest.approx(0.5) and out["direction"]["parent"] is None
    assert out["evidence"]["distance"] == 0.0


def test_direction_calibration_brings_probabilities_to_the_true_ones():
    """Edges drawn from a known antisymmetric logistic model (true P(parent) known): the calibrated direction fit's
    probabilities are closer to the true ones than the regularised fit's own (which C = 0.01 shrinks towards 0.5),
    answers keep their side, and ECE (against outcomes drawn from the true model) is small."""
    from sklearn.linear_model import LogisticRegression

    from phylo_llm.relate import fit_direction
    from phylo_llm.relate._calibration import expected_calibration_error

    rng = np.random.default_rng(11)
    weights = np.array([1.5, -1.0, 0.5])
    features = rng.normal(size=(4000, 3))
    truth = 1.0 / (1.0 + np.exp(-features @ weights))  # P(the first model is the parent)
    first_is_parent = rng.random(len(features)) < truth
    diff = np.where(first_is_parent[:, None], features, -features)[:400]  # (parent, child) order, as fitted
    groups = np.arange(len(diff)) // 4  # a component per 4 edges
    fitted = fit_direction(diff, groups)
    test = features[400:]
    calibrated = fitted.predict_proba(test)[:, 1]
    scale = diff.std(axis=0)
    shrunk = LogisticRegression(fit_intercept=False, C=0.01, max_iter=1000).fit(
        np.vstack([diff, -diff]) / scale, np.r_[np.ones(len(diff)), np.zeros(len(diff))]).predict_proba(test / scale)[:, 1]
    error_calibrated = np.mean(np.abs(calibrated - truth[400:]))
    error_shrunk = np.mean(np.abs(shrunk - truth[400:]))
    assert error_calibrated < 0.6 * error_shrunk and error_calibrated < 0.06, (error_calibrated, error_shrunk)
    assert np.array_equal(calibrated > 0.5, shrunk > 0.5)
    assert expected_calibration_error(first_is_parent[400:].astype(int), calibrated) < 0.05
