"""Reading and writing DNA and distance matrices in every supported layout."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import phylo_llm as pl
from phylo_llm.io._published import read_published

IDS = ["meta-llama/Llama-2-7b", "Qwen/Qwen2.5-7B", "mistralai/Mistral-7B-v0.1", "google/gemma-2b"]
X = np.arange(16, dtype=float).reshape(4, 4) / 7.0 - 1.0


def frame_with_dimension_columns(prefix: str = "") -> pd.DataFrame:
    frame = pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(4)])
    frame.insert(0, "model", IDS)
    frame["family"] = ["Llama", "Qwen", "Mistral", "Gemma"]
    return frame


@pytest.mark.parametrize("name,prefix", [("dna.csv", ""), ("dna.tsv", "dna_"), ("dna.parquet", "dna_"), ("dna.csv.gz", "d")])
def test_dimension_columns(tmp_path, name, prefix):
    path = tmp_path / name
    frame = frame_with_dimension_columns(prefix)
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if ".tsv" in name else ",", index=False)
    dna = pl.load_dna(path)
    assert dna.ids == tuple(IDS)
    np.testing.assert_array_equal(dna.vectors, X)
    assert dna.vectors.dtype == np.float64
    assert dna.metadata["family"].tolist() == ["Llama", "Qwen", "Mistral", "Gemma"]


def test_dimension_columns_are_ordered_by_number(tmp_path):
    frame = pd.DataFrame({"model": ["a", "b", "c"], "dna_10": [1, 2, 3], "dna_2": [4, 5, 6], "dna_1": [7, 8, 9]})
    frame.to_csv(tmp_path / "x.csv", index=False)
    assert pl.load_dna(tmp_path / "x.csv").vectors[0].tolist() == [7, 4, 1]


def test_parquet_list_column(tmp_path):
    table = pa.table({"model": IDS, "dna": pa.array([list(r) for r in X], pa.list_(pa.float32())), "org": list("abcd")})
    pq.write_table(table, tmp_path / "l.parquet")
    dna = pl.load_dna(tmp_path / "l.parquet")
    np.testing.assert_allclose(dna.vectors, X.astype(np.float32))
    assert list(dna.metadata.columns) == ["org"]


def test_csv_json_list_column(tmp_path):
    pd.DataFrame({"model": IDS, "dna": [json.dumps(list(r)) for r in X]}).to_csv(tmp_path / "l.csv", index=False)
    np.testing.assert_array_equal(pl.load_dna(tmp_path / "l.csv").vectors, X)


def test_npz(tmp_path):
    np.savez(tmp_path / "d.npz", ids=np.array(IDS), dna=X, family=np.array(list("LQMG")))
    dna = pl.load_dna(tmp_path / "d.npz")
    assert dna.ids == tuple(IDS) and dna.metadata["family"].tolist() == list("LQMG")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv", ".npz"])
def test_round_trip_is_exact(tmp_path, suffix):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 7)) * 10.0 ** rng.integers(-8, 8, size=(5, 7))
    meta = pd.DataFrame({"family": list("abcde"), "probe_count": [100] * 5})
    dna = pl.DNA([f"m/{i}" for i in range(5)], values, meta)
    pl.save_dna(dna, tmp_path / f"out{suffix}")
    back = pl.load_dna(tmp_path / f"out{suffix}")
    assert back.ids == dna.ids
    np.testing.assert_array_equal(back.vectors, values)
    assert back.metadata["family"].tolist() == list("abcde")


def test_canonical_parquet_schema(tmp_path):
    dna = pl.DNA(["a", "b", "c"], np.eye(3), pd.DataFrame({"encoder": ["e"] * 3}))
    pl.save_dna(dna, tmp_path / "c.parquet")
    schema = pq.read_schema(tmp_path / "c.parquet")
    assert schema.names == ["model", "dna", "encoder"]
    assert schema.field("dna").type == pa.list_(pa.float64(), 3)
    assert json.loads(schema.metadata[b"phylo_llm"]) == {"format": "1", "kind": "dna"}


def test_same_input_same_bytes(tmp_path):
    dna = pl.DNA(IDS, X)
    for k in range(2):
        pl.save_dna(dna, tmp_path / f"{k}.parquet")
    assert (tmp_path / "0.parquet").read_bytes() == (tmp_path / "1.parquet").read_bytes()


def test_mixed_settings_are_refused_unless_allowed(tmp_path):
    frame = frame_with_dimension_columns()
    frame["encoder"] = ["qwen3", "qwen3", "mpnet", "qwen3"]
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(pl.PhyloLLMError, match=r"2 different extraction settings: encoder=qwen3 \(3 models.*encoder=mpnet \(1 models, e\.g\. mistralai"):
        pl.load_dna(tmp_path / "m.csv")
    with pytest.warns(pl.PhyloLLMWarning, match="different extraction settings"):
        assert pl.load_dna(tmp_path / "m.csv", allow_mixed=True).n_models == 4


def test_identical_vectors_warn_once_listing_them(tmp_path):
    values = X.copy()
    values[3] = values[1]
    pl.save_dna(pl.DNA(IDS, values), tmp_path / "dup.parquet")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pl.load_dna(tmp_path / "dup.parquet")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "Qwen/Qwen2.5-7B = google/gemma-2b" in messages[0]


def test_distance_formats_round_trip(tmp_path):
    dm = pl.distance_matrix(pl.DNA(IDS, X))
    for name in ("d.phy", "d.csv", "d.parquet", "d.tsv"):
        pl.save_distances(dm, tmp_path / name)
        back = pl.load_distances(tmp_path / name)
        assert back.ids == dm.ids
        np.testing.assert_array_equal(back.values, dm.values)
        assert isinstance(pl.load_input(tmp_path / name), pl.DistanceMatrix)


def test_phylip_lower_triangular(tmp_path):
    (tmp_path / "low.phy").write_text("3\nalpha\nbeta 1.5\ngamma 2 3\n")
    dm = pl.load_distances(tmp_path / "low.phy")
    assert dm.ids == ("alpha", "beta", "gamma")
    assert dm.values.tolist() == [[0, 1.5, 2], [1.5, 0, 3], [2, 3, 0]]


def test_phylip_written_is_readable_by_scikit_bio_layout(tmp_path):
    # Square relaxed PHYLIP: a count line, then "name value value ..." per model.
    dm = pl.DistanceMatrix(["a", "bb", "c"], np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=float))
    pl.save_distances(dm, tmp_path / "s.phy")
    lines = (tmp_path / "s.phy").read_text().splitlines()
    assert lines[0] == "3"
    assert [line.split() for line in lines[1:]] == [["a", "0.0", "1.0", "2.0"], ["bb", "1.0", "0.0", "3.0"], ["c", "2.0", "3.0", "0.0"]]


def make_published(root, models, variants=("dna",), encoders=()):
    """A miniature probe-set folder in the published llm-dna layout."""
    for k, (model_name, folder) in enumerate(models):
        home = root / folder
        home.mkdir(parents=True)
        for where in [home, *(home / e for e in encoders)]:
            where.mkdir(exist_ok=True)
            encoder = where.name if where != home else "Qwen/Qwen3-Embedding-8B"
            for variant in variants:
                dim = int(variant.split("dim")[1]) if "dim" in variant else 4
                record = {
                    "signature": [float(k + i / 10) for i in range(dim)],
                    "metadata": {"model_name": "precomputed", "probe_set_id": "squad_600", "probe_count": 600,
                                 "dna_dimension": dim, "embedding_dimension": 64,
                                 "extractor_config": {"encoder": encoder}},
                }
                (where / f"{folder}_{variant}.json").write_text(json.dumps(record))
            if model_name is not None:
                (where / f"{folder}_summary.json").write_text(json.dumps({"model_name": model_name, "dataset": "squad"}))


def test_published_layout(tmp_path):
    models = [("org/a", "org_a"), ("/home/u/ckpt/local-model", "local-model"), (None, "Org_name_with_underscore"), ("x/y", "x_y")]
    make_published(tmp_path, models, variants=("dna", "dna_dim8"), encoders=("bge",))
    dna = pl.load_dna(tmp_path)
    assert sorted(dna.ids) == sorted(["org/a", "local-model", "Org/name_with_underscore", "x/y"])
    row = dna.metadata.loc["org/a"]
    assert (row["probe_set"], row["probe_count"], row["encoder"], row["dna_dim"], row["answer_dim"]) == (
        "squad", 600, "Qwen/Qwen3-Embedding-8B", 4, 64)
    assert pl.load_dna(tmp_path, variant="dna_dim8").dim == 8
    assert set(pl.load_dna(tmp_path, encoder="bge").metadata["encoder"]) == {"bge"}


def test_published_layout_skips_folders_without_the_file(tmp_path):
    make_published(tmp_path, [("o/a", "o_a"), ("o/b", "o_b"), ("o/c", "o_c")])
    (tmp_path / "o_empty").mkdir()
    with pytest.warns(pl.PhyloLLMWarning, match="skipped 1 folder.*o_empty"):
        dna = read_published(tmp_path)
    assert dna.n_models == 3


def test_many_mixed_settings_are_named_briefly(tmp_path):
    """The published dim-1024 files hold 49 settings groups: the refusal was one 8,111-character line."""
    frame = frame_with_dimension_columns()
    frame["encoder"] = ["a", "b", "c", "d"]
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(pl.PhyloLLMError, match=r"4 different extraction settings: .*\(and 1 more groups\); pass --allow-mixed") as error:
        pl.load_dna(tmp_path / "m.csv")
    assert str(error.value).count("encoder=") == 3
