"""Audit 22 (hostile / careless use of place --relation-model, relate A B lineage facts, family-aware labels,
out-of-fold calibration): cases that fail on main at eabc4b9. Each test states the promise it checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import phylo_llm as pl
from phylo_llm.cli import main
from phylo_llm.errors import PhyloLLMError
from phylo_llm.probes import ProbeEmbeddings
from phylo_llm.relate import lineage_facts, pair_labels, train_relation_model
from phylo_llm.simulate import simulate
from tests.helpers import DEMO, run_cli


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Simulated per-probe caches (70 demo models, 8 probes), a 60-model reference, its tree, a relation model."""
    work = tmp_path_factory.mktemp("audit22")
    probes = simulate(seed=0).probes(8)
    pl.save_probes(probes, work / "all.probes")
    pl.save_probes(probes.subset(probes.ids[:60]), work / "ref.probes")
    pl.save_probes(probes.subset(probes.ids[60:]), work / "new.probes")
    pl.save_probes(probes.subset(probes.ids[65:66]), work / "new1.probes")
    assert run_cli("tree", work / "ref.probes", "-o", work / "ref.nwk", "-q").returncode == 0
    assert run_cli("relate", "train", work / "all.probes", "--lineage", DEMO, "-o", work / "m.json",
                   "--folds", "0", "-q").returncode == 0
    return work, probes


def _one_line_refusal(result) -> None:
    message = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, message)
    assert message.startswith("phylo-llm: error: ") and "\n" not in message, message


def _lineage(folder: Path, models: str, relations: str = "child,parent,relation\n") -> pl.lineage.Lineage:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.csv").write_text(models)
    (folder / "lineage.csv").write_text(relations)
    return pl.load_lineage(folder)


# --- relate A B: lineage facts -------------------------------------------------------------------------------

def test_lineage_facts_case_variant_id_does_not_take_the_exact_models_edges(sim, tmp_path):
    """ids.py: when the data holds the exact id, an id differing only by case is another model and does not take
    the lineage's facts. `relate meta-llama/llama-1-7b <Instruct>` must not report the Instruct model as a finetune
    of the lowercase one (training, via resolve_all over all ids, already keeps them apart)."""
    work, probes = sim
    values = np.asarray(probes.values)
    ids = [*probes.ids, "meta-llama/llama-1-7b"]
    other = values[list(probes.ids).index("google-t5/T5-1-7B")][None]
    pl.save_probes(ProbeEmbeddings(ids, np.concatenate([values, other]), dict(probes.settings)), tmp_path / "case.probes")
    out = tmp_path / "pair.json"
    result = run_cli("relate", "meta-llama/llama-1-7b", "meta-llama/Llama-1-7B-Instruct", tmp_path / "case.probes",
                     "--model", work / "m.json", "--lineage", DEMO, "--json", out)
    assert result.returncode == 0, result.stderr
    facts = json.loads(out.read_text())["lineage"]
    assert facts["edges"] == [], facts
    assert facts["parent"] is None or facts["parent_from"] != "documented edge", facts


def test_lineage_facts_pseudo_family_is_not_kin(tmp_path):
    """'(unknown)' is a pseudo-family (lineage.real_family): pair_labels counts such a pair as unrelated, so
    lineage_facts must not call it kin."""
    lineage = _lineage(tmp_path / "L", "model,family\na/x,(unknown)\nb/y,(unknown)\n")
    assert pair_labels(lineage, ["a/x", "b/y"], np.array([0]), np.array([1])).tolist() == [0]
    assert lineage_facts(lineage, "a/x", "b/y")["kin"] is False


def test_lineage_facts_family_with_surrounding_space_agrees_with_pair_labels(tmp_path):
    """'Llama ' and 'Llama' are one family for pair_labels (kin, left out of training): lineage_facts must say kin too."""
    lineage = _lineage(tmp_path / "L", "model,family\na/x,Llama \nb/y,Llama\n")
    assert pair_labels(lineage, ["a/x", "b/y"], np.array([0]), np.array([1])).tolist() == [-1]
    assert lineage_facts(lineage, "a/x", "b/y")["kin"] is True


def test_lineage_facts_is_base_one_zero_like_the_direction_baseline(tmp_path):
    """The direction baseline (only_base) reads is_base '1'/'0' as true/false; relate A B must too."""
    lineage = _lineage(tmp_path / "L", "model,family,is_base\na/x,A,1\nb/y,B,0\n")
    facts = lineage_facts(lineage, "a/x", "b/y")
    assert (facts["parent"], facts["parent_from"]) == ("a/x", "documented base model"), facts


def test_release_not_yyyy_mm_is_refused_or_ordered_by_date(tmp_path):
    """release '2023-9' is September, before '2023-10': the earlier release must not be 2023-10 (string order);
    a release that is not YYYY-MM ('unknown') must not be called earlier or later than a date."""
    try:
        lineage = _lineage(tmp_path / "L", "model,family,release\na/x,A,2023-9\nb/y,B,2023-10\nc/z,C,unknown\n")
    except PhyloLLMError:
        return  # refusing the malformed dates is fine
    facts = lineage_facts(lineage, "a/x", "b/y")
    assert facts["parent"] in (None, "a/x"), facts
    assert lineage_facts(lineage, "b/y", "c/z")["parent"] is None


# --- training: classes and calibration folds ---------------------------------------------------------------

def _star(probes, hub_last: bool):
    """22 models: a hub without family, 10 same_weights and 10 finetune children and 1 outsider of family F:
    exactly one unrelated pair (hub, outsider)."""
    ids = list(probes.ids)[:22]
    if hub_last:
        ids = ids[1:] + ids[:1]
    hub = ids[-1] if hub_last else ids[0]
    others = [m for m in ids if m != hub]
    models = "model,family\n" + f"{hub},\n" + "".join(f"{m},F\n" for m in others)
    relations = ("child,parent,relation\n" + "".join(f"{m},{hub},same_weights\n" for m in others[:10])
                 + "".join(f"{m},{hub},finetune\n" for m in others[10:20]))
    return probes.subset(ids), models, relations


def test_one_unrelated_pair_is_refused_not_a_model_that_never_says_unrelated(sim, tmp_path):
    """fit_calibrated drops classes with one pair; when that class is 'unrelated' the model gives P(unrelated) = 0
    to every pair (silently wrong). Training needs unrelated pairs: refuse, as with none."""
    _, probes = sim
    subset, models, relations = _star(probes, hub_last=True)
    lineage = _lineage(tmp_path / "L", models, relations)
    try:
        model = train_relation_model(subset, lineage, n_folds=0)
    except PhyloLLMError:
        return  # refused: fine
    p = model.predict_proba(pl.relate.pair_features(subset))
    assert (p[:, 0] > 0.01).any(), "P(unrelated) is 0 for every pair"


def test_star_lineage_on_the_first_model_is_one_line_not_internal_error(sim, tmp_path):
    """All labelled pairs share the first model (groups = first row): StratifiedGroupKFold raised ValueError
    ('n_splits=3 greater than the number of groups: 1'), an internal error with exit 1."""
    _, probes = sim
    subset, models, relations = _star(probes, hub_last=False)
    _lineage(tmp_path / "L", models, relations)
    pl.save_probes(subset, tmp_path / "p22.probes")
    result = run_cli("relate", "train", tmp_path / "p22.probes", "--lineage", tmp_path / "L", "-o", tmp_path / "m.json",
                     "--folds", "0")
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        _one_line_refusal(result)
        assert not (tmp_path / "m.json").exists()


# --- hostile relation model files --------------------------------------------------------------------------

@pytest.mark.parametrize("edit", ["card_direction_str", "card_accuracy_str", "card_accuracy_nan", "scale_tiny"])
def test_hostile_model_file_is_one_line(sim, tmp_path, edit):
    """A hand-edited model file: an internal error (exit 1) or a silent +inf/0.5 answer is not allowed."""
    work, _ = sim
    data = json.loads((work / "m.json").read_text())
    if edit == "card_direction_str":
        data["card"]["direction"] = "x"
    elif edit == "card_accuracy_str":
        data["card"].setdefault("direction", {})["accuracy_model"] = "abc"
    elif edit == "card_accuracy_nan":
        data["card"].setdefault("direction", {})["accuracy_model"] = float("nan")
    else:
        for member in data["members"]:
            member["scale"] = [1e-308] * len(member["scale"])
    (tmp_path / "h.json").write_text(json.dumps(data))
    result = run_cli("relate", "meta-llama/Llama-1-7B", "meta-llama/Llama-1-7B-Instruct", work / "all.probes",
                     "--model", tmp_path / "h.json", "--json", tmp_path / "out.json")
    _one_line_refusal(result)
    assert not (tmp_path / "out.json").exists()


# --- place --relation-model --------------------------------------------------------------------------------

def test_place_shipped_default_model_is_an_input(sim, tmp_path, monkeypatch, capsys):
    """`--relation-model default --csv <the shipped default_model.json>` overwrote the shipped model (every later
    'default' then fails). The shipped file is read, so it is an input. (A copy stands in for it here.)"""
    from phylo_llm.relate import _model

    shipped = tmp_path / "default_model.json"
    shutil.copy(_model.DEFAULT_MODEL, shipped)
    monkeypatch.setattr(_model, "DEFAULT_MODEL", shipped)
    work, probes = sim
    model = _model.load_relation_model("default")
    settings = {k: ",".join(v) for k, v in model.settings.items()}
    rand = ProbeEmbeddings(list(probes.ids), np.asarray(probes.values), settings)
    pl.save_probes(rand.subset(rand.ids[:60]), tmp_path / "ref.probes")
    pl.save_probes(rand.subset(rand.ids[60:]), tmp_path / "new.probes")
    before = shipped.read_bytes()
    code = main(["place", str(tmp_path / "new.probes"), "--tree", str(work / "ref.nwk"), "--dna", str(tmp_path / "ref.probes"),
                 "--relation-model", "default", "--csv", str(shipped), "-q"])
    assert shipped.read_bytes() == before
    assert code == 2


def test_place_empty_relation_model_is_refused_not_ignored(sim, tmp_path):
    """`--relation-model ""` silently placed without probabilities (exit 0, no p_* columns)."""
    work, _ = sim
    result = run_cli("place", work / "new.probes", "--tree", work / "ref.nwk", "--dna", work / "ref.probes",
                     "--relation-model", "", "--csv", tmp_path / "p.csv", "-q")
    _one_line_refusal(result)


def test_place_probability_of_a_model_does_not_depend_on_the_other_new_models(sim, tmp_path):
    """Each model is placed on its own (APPLES), but its P(related) to nearest_leaf changed with the batch:
    TheBloke/T5-2-7B-Instruct-GPTQ 0.9983 alone vs 0.9965 with the other 9; a duplicate in NEW moves others by
    up to 0.2. Same model, tree and reference: the same probability."""
    work, _ = sim
    tables = []
    for new in ("new.probes", "new1.probes"):
        out = tmp_path / f"{new}.csv"
        result = run_cli("place", work / new, "--tree", work / "ref.nwk", "--dna", work / "ref.probes",
                         "--relation-model", work / "m.json", "--csv", out, "-q")
        assert result.returncode == 0, result.stderr
        tables.append(pd.read_csv(out).set_index("model"))
    alone = tables[1]
    together = tables[0].loc[alone.index]
    assert (together["nearest_leaf"] == alone["nearest_leaf"]).all()
    np.testing.assert_allclose(together["p_related"], alone["p_related"], atol=1e-9)


def test_place_into_a_one_leaf_tree_is_one_line(sim, tmp_path):
    """`place --tree '(A:1);'` raised KeyError in insert_placements (internal error, exit 1)."""
    work, probes = sim
    pl.save_probes(probes.subset(probes.ids[:1]), tmp_path / "ref1.probes")
    (tmp_path / "one.nwk").write_text(f"({probes.ids[0]}:1);\n")
    result = run_cli("place", work / "new1.probes", "--tree", tmp_path / "one.nwk", "--dna", tmp_path / "ref1.probes",
                     "-o", tmp_path / "out.nwk")
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        _one_line_refusal(result)
        assert not (tmp_path / "out.nwk").exists()


def test_place_bad_relation_model_refused_before_answers_are_extracted(tmp_path):
    """A malformed --relation-model was read only after NEW's answers were embedded (minutes on real answer sets),
    and stderr then had two lines (the extraction note and the error)."""
    rows = [{"model": f"org/m{k}", "prompt": f"p{q}?", "response": f"answer {k % 3} {q} " + "x" * (k % 5)}
            for k in range(8) for q in range(6)]
    (tmp_path / "ref.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r["model"] < "org/m6"))
    (tmp_path / "new.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r["model"] >= "org/m6"))
    assert run_cli("extract", tmp_path / "ref.jsonl", "-o", tmp_path / "ref.parquet", "--cache", tmp_path / "ref.probes",
                   "-q").returncode == 0
    assert run_cli("tree", tmp_path / "ref.probes", "-o", tmp_path / "ref.nwk", "-q").returncode == 0
    (tmp_path / "bad.json").write_text("{}\n")
    result = run_cli("place", tmp_path / "new.jsonl", "--tree", tmp_path / "ref.nwk", "--dna", tmp_path / "ref.probes",
                     "--relation-model", tmp_path / "bad.json", "--csv", tmp_path / "p.csv")
    _one_line_refusal(result)
