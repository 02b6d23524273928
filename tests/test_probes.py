"""Per-probe embeddings: the cache file, extraction into it, weighted distances, re-extraction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist, squareform

import phylo_llm as pl
from phylo_llm.cli import main
from phylo_llm.distance import probe_distances
from phylo_llm.extract import extract, extract_dna
from phylo_llm.simulate import simulate
from tests.helpers import toy_models, write_folder


def test_cache_round_trip_is_memory_mapped_and_exact_in_float32(tmp_path):
    probes = simulate(seed=0).probes(16)
    pl.save_probes(probes, tmp_path / "a.probes", dtype="float32")
    back = pl.load_probes(tmp_path / "a.probes")
    assert isinstance(back.values, np.memmap) and back.ids == probes.ids and back.settings == probes.settings
    assert np.array_equal(np.asarray(back.values), probes.values)
    pl.save_probes(probes, tmp_path / "b.probes")  # float16: half the bytes, 3 significant digits
    half = pl.load_probes(tmp_path / "b.probes")
    assert half.values.dtype == np.float16
    assert np.allclose(np.asarray(half.values, dtype=np.float32), probes.values, rtol=1e-3, atol=1e-3)
    assert (tmp_path / "b.probes").stat().st_size < 0.6 * (tmp_path / "a.probes").stat().st_size


def test_damaged_or_foreign_cache_files_are_refused_with_their_name(tmp_path):
    probes = simulate(seed=0).probes(16)
    pl.save_probes(probes, tmp_path / "a.probes")
    data = (tmp_path / "a.probes").read_bytes()
    (tmp_path / "short.probes").write_bytes(data[:-10])
    with pytest.raises(pl.PhyloLLMError, match=r"short\.probes: damaged probe cache"):
        pl.load_probes(tmp_path / "short.probes")
    (tmp_path / "other.probes").write_bytes(b"hello")
    with pytest.raises(pl.PhyloLLMError, match=r"other\.probes: not a phylo-llm probe cache"):
        pl.load_probes(tmp_path / "other.probes")


def test_weighted_probe_distances_equal_per_probe_sums():
    probes = simulate(seed=1, finetunes_per_base=1, n_families=2).probes(8)
    weights = np.array([0, 1, 3, 0, 2, 1, 0, 1])
    values = probes.values.astype(np.float64)
    # Independent reference: SciPy per probe, summed with the weights.
    squared = sum(w * squareform(pdist(values[:, p, :], "sqeuclidean")) for p, w in enumerate(weights))
    ours = probe_distances(probes, "euclidean", weights)
    assert np.allclose(ours.values, np.sqrt(squared), rtol=1e-9, atol=1e-9)
    assert np.allclose(probe_distances(probes, "sqeuclidean", weights).values, squared, rtol=1e-9, atol=1e-9)
    flat = (values * np.sqrt(weights)[None, :, None]).reshape(len(probes.ids), -1)
    assert np.allclose(probe_distances(probes, "cosine", weights).values, cdist(flat, flat, "cosine"), atol=1e-12)
    assert np.allclose(probe_distances(probes).values, squareform(pdist(values.reshape(len(probes.ids), -1))), atol=1e-9)


def test_extraction_with_a_cache_keeps_the_dna_and_records_the_settings(tmp_path):
    write_folder(tmp_path / "in", toy_models())
    plain, _ = extract_dna(tmp_path / "in")
    result = extract(tmp_path / "in", probe_dim=16)
    assert np.array_equal(result.dna.vectors, plain.vectors)
    probes = result.probes
    assert probes.values.shape == (5, 12, 16) and probes.ids == plain.ids
    for key in ("probe_set", "probe_count", "prompt_fingerprint", "encoder", "answer_dim", "extraction_seed"):
        assert probes.settings[key] == plain.metadata[key].iat[0]
    assert probes.settings["probe_dim"] == 16 and len(probes.settings["prompt_keys"]) == 12
    # Copies that answered identically are exactly 0 apart, the others are not.
    dist = probe_distances(probes)
    assert dist.values[dist.ids.index("org/alpha"), dist.ids.index("org/alpha-copy")] == 0.0
    assert dist.values[dist.ids.index("org/alpha"), dist.ids.index("org/beta")] > 0.5


def test_per_probe_distances_approximate_the_unprojected_answer_distances(tmp_path):
    write_folder(tmp_path / "in", toy_models())
    exact = extract(tmp_path / "in", probe_dim=1024).probes  # answer_dim 1024: a rotation-like projection, same size
    small = extract(tmp_path / "in", probe_dim=128).probes
    a, b = probe_distances(exact).values, probe_distances(small).values
    off = ~np.eye(5, dtype=bool) & (a > 0)
    assert np.median(np.abs(b[off] / a[off] - 1)) < 0.1


def test_extract_cli_writes_a_cache_and_re_extracts_from_it(tmp_path, capsys):
    write_folder(tmp_path / "in", toy_models())
    assert main(["extract", str(tmp_path / "in"), "-o", str(tmp_path / "dna.parquet"), "--cache", str(tmp_path / "x.probes"),
                 "--cache-dim", "32", "-q"]) == 0
    cache = pl.load_probes(tmp_path / "x.probes")
    assert cache.values.shape == (5, 12, 32)
    assert main(["extract", str(tmp_path / "x.probes"), "-o", str(tmp_path / "again.parquet"), "--dim", "64", "-q"]) == 0
    again = pl.load_dna(tmp_path / "again.parquet")
    assert again.dim == 64 and "|probe32|" in again.metadata["encoder"].iat[0]
    # A tree straight from the cache, and one from answers with bootstrap support.
    assert main(["tree", str(tmp_path / "x.probes"), "-o", str(tmp_path / "t.nwk"), "-q"]) == 0
    assert main(["tree", str(tmp_path / "in"), "-o", str(tmp_path / "b.nwk"), "--bootstrap", "4", "--probe-dim", "16", "-q"]) == 0
    assert sorted(t.name for t in pl.read_tree(tmp_path / "b.nwk").get_terminals()) == sorted(cache.ids)
    # The other commands that read distances take a cache too.
    for argv in (["score", str(tmp_path / "x.probes"), "--permutations", "2", "--json"],
                 ["relatives", "org/alpha", str(tmp_path / "x.probes"), "-k", "2"]):
        assert main(argv + ["-q"] if argv[0] == "relatives" else argv) == 0
    out = capsys.readouterr().out
    assert "org/alpha-copy" in out


def test_real_answers_cache_bootstrap_and_placement(shared, tmp_path):
    """Published rand answers: the per-probe cache agrees with the DNA, copies are well supported and placed together."""
    import warnings

    from scipy.stats import pearsonr

    rand = shared / "llm-dna-web/dna-out/rand"
    pairs = [("Qwen_Qwen2.5-0.5B-Instruct", "Gensyn_Qwen2.5-0.5B-Instruct"), ("google_gemma-2-2b-it", "unsloth_gemma-2-2b-it")]
    others = sorted(p.name for p in rand.iterdir() if p.is_dir())[::80]
    subset = tmp_path / "rand"
    subset.mkdir()
    for name in sorted({*sum(pairs, ()), *others}):
        (subset / name).symlink_to(rand / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.PhyloLLMWarning)
        result = extract(subset, probe_dim=128)
    # Two independent random reductions of the same answer embeddings: 2,048-d DNA and 100 x 128 per-probe blocks.
    a = pl.distance_matrix(result.dna).condensed()
    b = probe_distances(result.probes).condensed()
    assert pearsonr(a, b)[0] > 0.95
    ids = {m.replace("/", "_", 1): m for m in result.probes.ids}
    support = pl.bootstrap_support(result.probes, replicates=20, seed=0)
    for left, right in pairs:
        clade = support.tree.common_ancestor(ids[left], ids[right])
        assert clade.count_terminals() == 2 and clade.confidence >= 0.9  # a cherry in (nearly) every replicate
    # Take one copy out and place it back: it joins its twin.
    left, right = (ids[x] for x in pairs[0])
    backbone = result.probes.subset([m for m in result.probes.ids if m != left])
    placed = pl.place(result.probes.subset([left]), pl.build_tree(probe_distances(backbone)), backbone, replicates=10)
    assert placed.table["nearest"][0].startswith(right) and placed.table["bootstrap_share"][0] >= 0.8


def test_place_new_answers_into_a_cache_backbone(tmp_path, capsys):
    models = toy_models()
    newcomer = {"org/alpha-copy": models.pop("org/alpha-copy")}  # answers exactly like org/alpha
    write_folder(tmp_path / "known", models)
    write_folder(tmp_path / "new", newcomer)
    assert main(["extract", str(tmp_path / "known"), "-o", str(tmp_path / "k.parquet"), "--cache", str(tmp_path / "k.probes"),
                 "--cache-dim", "32", "-q"]) == 0
    assert main(["tree", str(tmp_path / "k.probes"), "-o", str(tmp_path / "k.nwk"), "-q"]) == 0
    # The new answers are embedded with the cache's own settings and prompts, then placed.
    assert main(["place", str(tmp_path / "new"), "--tree", str(tmp_path / "k.nwk"), "--dna", str(tmp_path / "k.probes"),
                 "--csv", str(tmp_path / "p.csv"), "-o", str(tmp_path / "p.nwk"), "--bootstrap", "5", "-q"]) == 0
    import pandas as pd

    row = pd.read_csv(tmp_path / "p.csv").iloc[0]
    assert row["model"] == "org/alpha-copy" and row["joins"] == "org/alpha" and row["bootstrap_share"] == 1.0
    # A cache made with other settings is refused, naming the setting; nothing is written.
    assert main(["extract", str(tmp_path / "new"), "-o", str(tmp_path / "n.parquet"), "--cache", str(tmp_path / "n.probes"),
                 "--cache-dim", "16", "-q"]) == 0
    capsys.readouterr()
    assert main(["place", str(tmp_path / "n.probes"), "--tree", str(tmp_path / "k.nwk"), "--dna", str(tmp_path / "k.probes"),
                 "-o", str(tmp_path / "bad.nwk")]) == 2
    err = capsys.readouterr().err.strip()
    assert "n.probes" in err and "probe_dim" in err and len(err.splitlines()) == 1 and not (tmp_path / "bad.nwk").exists()
