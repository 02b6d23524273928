"""Extraction from raw answers: formats, malformed input, determinism, the projection's JL guarantee, real data."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist

import phylo_llm as pl
from phylo_llm.extract import extract_dna, project
from tests.helpers import PROMPTS, run_cli, toy_models, write_folder


def test_folder_and_jsonl_give_the_same_dna(tmp_path):
    models = toy_models()
    write_folder(tmp_path / "folder", models, gz=True)
    with open(tmp_path / "answers.jsonl", "w") as handle:
        for model, answers in models.items():
            for prompt, response in reversed(list(answers.items())):  # order must not matter
                handle.write(json.dumps({"model": model, "prompt": prompt, "response": response}) + "\n")
    a, _ = extract_dna(tmp_path / "folder")
    b, _ = extract_dna(tmp_path / "answers.jsonl")
    assert a.ids == b.ids
    np.testing.assert_array_equal(a.vectors, b.vectors)
    # Copies with the same answers coincide; different styles do not.
    d = pl.distance_matrix(a).values
    assert d[0, 1] == 0 and d[0, 2] > 0.5


def test_same_input_same_bytes(tmp_path):
    write_folder(tmp_path / "in", toy_models())
    for k in range(2):
        assert run_cli("extract", tmp_path / "in", "-o", tmp_path / f"{k}.parquet", "-q").returncode == 0
    assert (tmp_path / "0.parquet").read_bytes() == (tmp_path / "1.parquet").read_bytes()


def test_projection_keeps_distances_within_the_johnson_lindenstrauss_bound():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(40, 3000)).astype(np.float32)
    dim, eps = 1024, 0.25
    # JL: all 780 distances within 1 +- eps fail with probability <= 2 n^2 exp(-(eps^2/2 - eps^3/3) dim / 2) < 0.01.
    projected = project(points.reshape(40, 3, 1000), dim, seed=7)  # 3 probes x 1000-d answers
    ratio = pdist(projected) / pdist(points)
    assert ratio.min() > 1 - eps and ratio.max() < 1 + eps
    # The projection is a function of the seed alone: the same for any batch of models.
    np.testing.assert_allclose(project(points[:5].reshape(5, 3, 1000), dim, seed=7), projected[:5], rtol=1e-5, atol=1e-5)
    assert not np.allclose(project(points[:5].reshape(5, 3, 1000), dim, seed=8), projected[:5])


def test_settings_are_recorded_and_never_mixed(tmp_path):
    write_folder(tmp_path / "in", toy_models())
    a, _ = extract_dna(tmp_path / "in", seed=0)
    b, _ = extract_dna(tmp_path / "in", seed=1)
    row = a.metadata.iloc[0]
    assert (row["probe_set"], row["probe_count"], row["dna_dim"], row["extraction_seed"]) == ("toy", 12, 2048, 0)
    assert len(row["prompt_fingerprint"]) == 16 and row["encoder"].startswith("hashing")
    merged = pl.DNA(a.ids + tuple(m + "-seed1" for m in b.ids), np.vstack([a.vectors, b.vectors]),
                    __import__("pandas").concat([a.metadata, b.metadata], ignore_index=True))
    pl.save_dna(merged, tmp_path / "merged.parquet")
    with pytest.raises(pl.PhyloLLMError, match="2 different extraction settings"):
        pl.load_dna(tmp_path / "merged.parquet")


def test_missing_prompts_drop_the_model_with_a_warning(tmp_path):
    models = toy_models()
    del models["org/gamma"][PROMPTS[3]]
    write_folder(tmp_path / "in", models)
    with pytest.warns(pl.PhyloLLMWarning, match=r"dropped 1 model.*org/gamma \(1 missing\)"):
        dna, _ = extract_dna(tmp_path / "in")
    assert "org/gamma" not in dna.ids and dna.n_models == 4
    kept, stats = extract_dna(tmp_path / "in", allow_missing=True)
    assert "org/gamma" in kept.ids and stats.null == 1


def test_empty_null_and_error_answers_are_counted_and_silent_models_are_not_hubs(tmp_path):
    models = toy_models()
    models["org/silent"] = {p: "" for p in PROMPTS}
    models["org/silent-2"] = {p: None for p in PROMPTS}
    models["org/broken"] = {p: "Error: rate limit exceeded" for p in PROMPTS}
    write_folder(tmp_path / "in", models)
    dna, stats = extract_dna(tmp_path / "in")
    assert (stats.empty, stats.null, stats.errors) == (12, 12, 12)
    d = pl.distance_matrix(dna)
    pos = {m: i for i, m in enumerate(d.ids)}
    # Two models that never answer are identical to each other ...
    assert d.values[pos["org/silent"], pos["org/silent-2"]] == 0
    # ... and no closer to a real model than unrelated real models are to each other.
    real = [pos[m] for m in ("org/alpha", "org/beta", "org/gamma", "org/delta")]
    between_real = min(d.values[a, b] for a in real for b in real if a < b)
    assert min(d.values[pos["org/silent"], r] for r in real) > 0.8 * between_real


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda t: write(t / "a.jsonl", "{not json}\n"), ["a.jsonl", "line 1 is not valid JSON"]),
        (lambda t: write(t / "b.jsonl", ""), ["b.jsonl", "no answers found"]),
        (lambda t: write(t / "c.jsonl", '{"model": "m", "response": "x"}\n'), ["c.jsonl", "line 1 needs 'model' and 'prompt'"]),
        (lambda t: write(t / "d.txt", "x"), ["d.txt", "expected a folder"]),
        (lambda t: (t / "empty").mkdir() or t / "empty", ["empty", "no model folder holds a responses.json"]),
    ],
)
def test_malformed_input_through_the_cli(tmp_path, make, expected):
    source = make(tmp_path)
    out = tmp_path / "dna.parquet"
    result = run_cli("extract", source, "-o", out)
    assert result.returncode == 2 and not out.exists(), result.stderr
    message = result.stderr.strip()
    assert "\n" not in message and all(e in message for e in expected), message


def test_corrupt_file_in_a_folder(tmp_path):
    write_folder(tmp_path / "in", toy_models())
    (tmp_path / "in" / "org_beta" / "responses.json").write_text("{broken")
    result = run_cli("extract", tmp_path / "in", "-o", tmp_path / "o.parquet")
    assert result.returncode == 2 and "org_beta/responses.json: not valid JSON" in result.stderr


def test_mismatched_prompt_sets(tmp_path):
    models = {f"org/m{i}": {f"prompt {i}-{k}": "x" for k in range(3)} for i in range(3)}
    write_folder(tmp_path / "in", models)
    result = run_cli("extract", tmp_path / "in", "-o", tmp_path / "o.parquet")
    assert result.returncode == 2 and "no prompt is shared by most of them" in result.stderr


def test_unavailable_sentence_transformer_is_a_clear_error(tmp_path):
    write_folder(tmp_path / "in", toy_models())
    result = run_cli("extract", tmp_path / "in", "-o", tmp_path / "o.parquet", "--encoder", "st:/no/such/model")
    assert result.returncode == 2 and "st:" in result.stderr and "Traceback" not in result.stderr


def test_real_answers_subset(shared, tmp_path):
    # Documented copies of the same weights among the published rand answers, with unrelated models around them.
    rand = shared / "llm-dna-web/dna-out/rand"
    pairs = [("Qwen_Qwen2.5-0.5B-Instruct", "Gensyn_Qwen2.5-0.5B-Instruct"), ("google_gemma-2-2b-it", "unsloth_gemma-2-2b-it")]
    others = sorted(p.name for p in rand.iterdir() if p.is_dir())[:: 80]
    chosen = sorted({*sum(pairs, ()), *others})
    subset = tmp_path / "rand"
    subset.mkdir()
    for name in chosen:
        (subset / name).symlink_to(rand / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.PhyloLLMWarning)
        dna, stats = extract_dna(subset)
    assert stats.answers == 100 * dna.n_models and dna.metadata["probe_count"].iat[0] == 100
    d = pl.distance_matrix(dna)
    pos = {m.replace("/", "_", 1): i for i, m in enumerate(d.ids)}
    median = np.median(d.condensed())
    for a, b in pairs:
        assert d.values[pos[a], pos[b]] < 0.5 * median
