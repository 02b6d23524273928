"""Audit 23 (hostile / careless use of the relation-model features: candidates/relatives on tiny caches, hand-made
model files, relate train options, score --json): cases that fail on main at c493d58. Each test states the promise
it checks (docs/BRIEF standards: one-line refusal with exit 2, no output on failure, never a silent wrong result)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.relate import train_relation_model
from phylo_llm.simulate import simulate
from tests.helpers import DEMO, run_cli

PAIR = ("meta-llama/Llama-1-7B", "meta-llama/Llama-2-7B")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Simulated per-probe caches (70 demo models, 8 probes; and the first 1 and 3 models) and a relation model."""
    work = tmp_path_factory.mktemp("audit23")
    probes = simulate(seed=0).probes(8)
    pl.save_probes(probes, work / "all.probes")
    pl.save_probes(probes.subset(probes.ids[:1]), work / "one.probes")
    pl.save_probes(probes.subset(probes.ids[:3]), work / "three.probes")
    train_relation_model(probes, pl.load_lineage(DEMO), n_folds=0).save(work / "m.json")
    return work, probes


def _one_line_refusal(result) -> str:
    message = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, message)
    assert message.startswith("phylo-llm: error: ") and "\n" not in message, message
    return message


def _edited_model(work: Path, tmp_path: Path, edit) -> Path:
    data = json.loads((work / "m.json").read_text())
    edit(data)
    path = tmp_path / "hand-made.json"
    path.write_text(json.dumps(data))
    return path


# --- relation-model tables on a cache with a single model ----------------------------------------------------

def test_candidates_relation_model_on_a_one_model_cache_is_one_line_and_writes_nothing(sim, tmp_path):
    """`candidates one.probes --relation-model m.json -o c.csv`: expected_fdr of zero pairs raised IndexError
    (internal error, exit 1) after c.csv had already been written: a failed command left an output behind."""
    work, _ = sim
    out = tmp_path / "c.csv"
    result = run_cli("candidates", work / "one.probes", "--relation-model", work / "m.json", "-o", out,
                     "--lineage", DEMO)
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        _one_line_refusal(result)
        assert not out.exists()
    else:
        assert out.exists()


def test_relatives_relation_model_on_a_one_model_cache_is_not_an_internal_error(sim, tmp_path):
    """`relatives A one.probes --relation-model m.json`: with_probabilities on the empty table raised
    KeyError: 'model' (internal error, exit 1). Without --relation-model the same command exits 0."""
    work, probes = sim
    result = run_cli("relatives", probes.ids[0], work / "one.probes", "--relation-model", work / "m.json",
                     "--lineage", DEMO, "--csv", tmp_path / "r.csv")
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        _one_line_refusal(result)
        assert not (tmp_path / "r.csv").exists()


# --- hand-made relation model files ----------------------------------------------------------------------------

def _huge_platt(data: dict) -> None:
    for member in data["members"]:
        member["a"] = [1e308] * len(member["a"])
        member["b"] = [1e308] * len(member["b"])


def _no_unrelated_class(data: dict) -> None:
    for member in data["members"]:  # a 3-class member cut to classes [same_weights, derived]: one decision function
        member["classes"] = [1, 2]
        for key in ("coef", "intercept", "a", "b"):
            member[key] = member[key][1:2]


@pytest.mark.parametrize("command", ["relate", "candidates"])
def test_platt_numbers_that_overflow_are_refused_not_saturated(sim, tmp_path, command):
    """Platt a = b = 1e308 (finite, so the loader accepts them): decision * a + b overflows, every sigmoid is 0 or 1,
    and the model answers P = 1/3 for each class (relate A B) or P(unrelated) = 0 exactly (candidates lists every
    pair with expected FDR 0), exit 0. _member_proba promises 'no silent 0, 1 or 1/3' but checks only the
    decision values, not the calibrated ones."""
    work, _ = sim
    model = _edited_model(work, tmp_path, _huge_platt)
    out = tmp_path / "out.json" if command == "relate" else tmp_path / "out.csv"
    if command == "relate":
        argv = ["relate", *PAIR, work / "all.probes", "--model", model, "--json", out]
    else:
        argv = ["candidates", work / "all.probes", "--relation-model", model, "-o", out, "--lineage", DEMO]
    _one_line_refusal(run_cli(*argv))
    assert not out.exists()


def test_model_file_without_the_unrelated_class_is_refused(sim, tmp_path):
    """A file whose members know only same_weights and derived (classes [1, 2]) loads, and then says P(unrelated) = 0
    for every pair: `candidates` calls all 1,960 undocumented pairs related with expected FDR 0.000, `score` gives
    every relation AUC 0.5. Training refuses to make such a model (no unrelated pairs); loading must refuse it too."""
    work, _ = sim
    model = _edited_model(work, tmp_path, _no_unrelated_class)
    out = tmp_path / "c.csv"
    message = _one_line_refusal(run_cli("candidates", work / "all.probes", "--relation-model", model, "-o", out,
                                        "--lineage", DEMO))
    assert str(model) in message, message
    assert not out.exists()


def test_direction_coefficients_that_overflow_are_refused_like_the_members(sim, tmp_path):
    """direction.coef = [0, 1.7e308, 1.7e308, 0, 0] (finite: accepted): relate A B printed a second stderr line
    'phylo-llm: warning: overflow encountered in matmul' even with -q and named a parent with P(A is the parent)
    1.00 or 0.00, exit 0. The members' overflowing numbers are refused in one line; the direction model's must be."""
    work, _ = sim

    def edit(data: dict) -> None:
        data["direction"]["coef"] = [0.0, 1.7e308, 1.7e308, 0.0, 0.0]

    model = _edited_model(work, tmp_path, edit)
    result = run_cli("relate", "OpenAssistant/Llama-2-7B-tune-1", "google-t5/T5-1-7B", work / "all.probes",
                     "--model", model, "--json", tmp_path / "p.json", "-q")
    _one_line_refusal(result)
    assert not (tmp_path / "p.json").exists()


def test_non_finite_decision_values_name_the_model_file(sim, tmp_path):
    """The refusal of a hand-made file whose coefficients overflow read
    'phylo-llm: error: relation model: its numbers give non-finite decision values for these features':
    the standard line is 'phylo-llm: error: <file>: <culprit>', and the file here is the model file."""
    work, _ = sim

    def edit(data: dict) -> None:
        for member in data["members"]:
            member["coef"] = [[1e308 if k % 2 else -1e308 for k in range(len(row))] for row in member["coef"]]

    model = _edited_model(work, tmp_path, edit)
    message = _one_line_refusal(run_cli("relate", *PAIR, work / "all.probes", "--relation-model", model))
    assert message.startswith(f"phylo-llm: error: {model}:"), message


# --- relate train / score options ------------------------------------------------------------------------------

def test_relate_train_folds_one_is_refused_naming_the_option(sim, tmp_path):
    """`relate train --folds 1` passes the parser (0-50) and then fails with 'relation model: training needs at
    least 2 unrelated pairs and documented ones' -- the same data trains with --folds 0 or 2: the culprit is the
    option, and the message names neither it nor a file."""
    work, _ = sim
    out = tmp_path / "m1.json"
    result = run_cli("relate", "train", work / "all.probes", "--lineage", DEMO, "-o", out, "--folds", "1", "-q")
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        message = _one_line_refusal(result)
        assert "--folds" in message, message
        assert not out.exists()


def test_relate_train_compressed_output_can_be_read_back(sim, tmp_path):
    """`relate train -o model.json.gz` exits 0 and writes a gzip file (atomic_output compresses by suffix), which
    every reader then refuses: 'model.json.gz: not a relation model (not JSON text)'. Either the name is refused
    before training or the model it writes is usable."""
    work, _ = sim
    out = tmp_path / "m.json.gz"
    result = run_cli("relate", "train", work / "all.probes", "--lineage", DEMO, "-o", out, "--folds", "0", "-q")
    if result.returncode == 2:
        _one_line_refusal(result)
        assert not out.exists()
        return
    assert result.returncode == 0, result.stderr
    used = run_cli("relate", *PAIR, work / "all.probes", "--model", out, "-q")
    assert used.returncode == 0, used.stderr


def test_score_json_with_a_relation_model_is_strict_json(sim, tmp_path):
    """`score three.probes --relation-model m.json --json` with every pair documented: the 'any' relation has no
    undocumented pair, and the report holds bare NaN tokens (auc_model, auc_dna, ...): not JSON (RFC 8259; jq and
    JavaScript refuse it). The other commands write JSON with allow_nan=False."""
    work, probes = sim
    a, b, c = probes.ids[:3]
    folder = tmp_path / "L"
    folder.mkdir()
    (folder / "models.csv").write_text(f"model,family\n{a},Llama\n{b},Llama\n{c},Llama\n")
    (folder / "lineage.csv").write_text(f"child,parent,relation\n{b},{a},finetune\n{c},{a},finetune\n{c},{b},merge\n")
    result = run_cli("score", work / "three.probes", "--lineage", folder, "--relation-model", work / "m.json", "--json")
    assert result.returncode == 0, result.stderr

    def refuse(token: str) -> float:
        raise AssertionError(f"score --json wrote {token}: not JSON")

    report = json.loads(result.stdout, parse_constant=refuse)
    assert "auc_model" in report["relations"]["finetune"]
    assert np.isfinite(report["relations"]["finetune"]["auc_model"])


def test_card_shares_outside_zero_to_one_are_refused(sim, tmp_path):
    """A card with direction.accuracy_model 5 was printed as 'right on 500% of documented directed edges'."""
    work, _ = sim

    def edit(data: dict) -> None:
        data["card"]["direction"] = {"accuracy_model": 5, "edges": 12}

    model = _edited_model(work, tmp_path, edit)
    message = _one_line_refusal(run_cli("relate", *PAIR, work / "all.probes", "--model", model))
    assert str(model) in message, message


def test_an_id_differing_only_by_its_unicode_form_is_named_escaped(tmp_path):
    """`relate <NFD id> B cache` on a cache holding the NFC id said "'Org/café' is not in the data" about a name
    that prints exactly like the stored one. Ids are compared as written (two models), and the message now shows
    both escaped."""
    import unicodedata

    probes = simulate(seed=0).probes(8)
    nfc = "Org/caf\u00e9"
    ids = [nfc, *probes.ids[1:]]
    pl.save_probes(pl.ProbeEmbeddings(tuple(ids), probes.values, dict(probes.settings), "x"), tmp_path / "c.probes")
    nfd = unicodedata.normalize("NFD", nfc)
    for argv in (["relate", nfd, ids[1], tmp_path / "c.probes", "--model", "default"],
                 ["relatives", nfd, tmp_path / "c.probes", "-q"]):
        message = _one_line_refusal(run_cli(*argv))
        assert ascii(nfd) in message and ascii(nfc) in message, message
    assert run_cli("relatives", nfc, tmp_path / "c.probes", "-k", "2").returncode == 0
