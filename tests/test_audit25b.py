"""Audit 25b: a hostile and careless user of extract, view, figures, simulate and the hub commands.

Cases not covered by ``test_hostile.py``, ``test_audit24.py``, ``test_hostile_hub.py`` and ``test_relate_*``; each
test failed before the fix it comes with. The promises: one line ``phylo-llm: error: <file>: <culprit>``, exit 2, no
partial output, no temporary file, sizes checked before allocation, never a silent wrong result.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.cli._app import main
from phylo_llm.extract import extract

PROMPTS = [f"prompt {k}" for k in range(4)]


def jsonl(path, models, extra: str = ""):
    """A JSON-lines answers file: every model answers every prompt, then ``extra`` (raw text) is appended."""
    rows = [{"model": m, "prompt": p, "response": f"{m} says {p}"} for m in models for p in PROMPTS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra)
    return path


def refused_by_main(capsys, argv, *expected):
    """``main(argv)`` refuses in one line naming ``expected``, exit code 2."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("phylo-llm: error: ") and "\n" not in err, (code, err)
    for text in expected:
        assert text in err, (text, err)


# extract: answers files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case,expected", [
    # a lone surrogate is valid JSON but not Unicode: it reached the UTF-8 writer / the prompt hash (internal error)
    ('{"model": "a\\ud800", "prompt": "p", "response": "x"}\n', ["line 9: 'model'", "surrogate"]),
    ('{"model": "a", "prompt": "p\\udc00", "response": "x"}\n', ["line 9: 'prompt'", "surrogate"]),
    ('{"model": "a", "prompt": "p", "response": "x\\ud800"}\n', ["line 9: 'response'", "surrogate"]),
    # json's own limit on integer digits was a ValueError the reader did not expect (internal error)
    ('{"model": "a", "prompt": "p", "response": ' + "9" * 5000 + "}\n", ["line 9 is not valid JSON", "digits"]),
    # nesting past the stack: "nested too deeply" without the file
    ('{"model": "a", "prompt": "p", "response": ' + "[" * 100_000 + "]" * 100_000 + "}\n", ["line 9 is not valid JSON", "nested"]),
    # a model answering one prompt twice: the last answer silently won
    ('{"model": "x/a", "prompt": "prompt 0", "response": "another answer"}\n', ["line 9: model 'x/a' answers prompt 'prompt 0' a second time"]),
])
def test_hostile_rows_of_an_answers_file_are_one_line_naming_file_and_line(tmp_path, capsys, case, expected):
    source = jsonl(tmp_path / "answers.jsonl", ["x/a", "x/b"], case)
    out = tmp_path / "dna.parquet"
    refused_by_main(capsys, ["extract", source, "-o", out, "--dim", "8", "-q"], "answers.jsonl", *expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.jsonl"]


@pytest.mark.parametrize("record,expected", [
    ({"model": 5}, "'model' is not text or null (int"),  # was taken as the model '5'
    ({"dataset": [1]}, "'dataset' is not text or null (list"),  # was an internal error (unhashable list)
    ({"model": "org/\udfff"}, "'model' holds"),
    ({"items": [{"prompt": "prompt 0", "response": "a"}, {"prompt": "prompt 0", "response": "b"}]}, "item 2 answers prompt"),
])
def test_hostile_fields_of_a_responses_file_are_refused(tmp_path, record, expected):
    folder = tmp_path / "answers" / "org_m"
    folder.mkdir(parents=True)
    base = {"model": "org/m", "dataset": "toy", "items": [{"prompt": p, "response": "x"} for p in PROMPTS]}
    (folder / "responses.json").write_text(json.dumps({**base, **record}))
    with pytest.raises(pl.PhyloLLMError, match="org_m/responses.json: ") as error:
        extract(tmp_path / "answers", dim=8)
    assert expected in str(error.value)


def test_a_deeply_nested_responses_file_names_itself(tmp_path, capsys):
    folder = tmp_path / "answers" / "org_m"
    folder.mkdir(parents=True)
    (folder / "responses.json.gz").write_bytes(gzip.compress(b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    refused_by_main(capsys, ["extract", tmp_path / "answers", "-o", tmp_path / "o.parquet", "-q"],
                    "org_m/responses.json.gz: not valid JSON (nested too deeply)")


@pytest.mark.parametrize("name", ["answers/org_m/responses.json.gz", "answers.jsonl.gz"])
def test_an_answers_file_that_expands_beyond_memory_is_refused_while_reading(tmp_path, monkeypatch, name):
    """A .json.gz of 40 KB holding 40 MiB of one answer: json.load read it whole whatever the memory (a bomb of a
    few MB filled the machine, then MemoryError without a file name); now refused once the text no longer fits."""
    from phylo_llm import _memory

    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    head = b'{"model": "org/m", "prompt": "p", "response": "' if "jsonl" in name else b'{"items": [{"prompt": "p", "response": "'
    with gzip.open(path, "wb") as handle:
        handle.write(head + b"a" * (40 << 20) + (b'"}\n' if "jsonl" in name else b'"}]}'))
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(_memory, "available_memory", lambda: 24 << 20)  # as if 24 MiB were left
    tracemalloc.start()
    try:
        with pytest.raises(pl.PhyloLLMError, match=f"{path.name}.*memory"):
            extract(tmp_path / name.split("/")[0], dim=8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 << 20, peak


def test_a_long_answer_embedded_whole_is_counted_in_pieces_exactly(monkeypatch):
    """--max-chars 0 embeds answers whole: scikit-learn's analyzer held every n-gram of a text as a Python string
    (~220 bytes a character: a 500 MB answer needed ~100 GB). Now counted in pieces, with exactly scikit-learn's
    counts of the whole text (runs of white space across a piece boundary included)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    from phylo_llm.extract import _encoders

    monkeypatch.setattr(_encoders, "PIECE", 5_000, raising=False)
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("ab c\t\n  xé"), size=200_000))
    encoder = _encoders.HashingEncoder(dim=64, max_chars=None)
    tracemalloc.start()
    try:
        got = encoder.encode([text, "short"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reference = HashingVectorizer(analyzer="char", ngram_range=(1, 4), n_features=64, alternate_sign=True, norm=None,
                                  lowercase=False).transform([text, "short"]).toarray()
    np.testing.assert_allclose(got, np.sign(reference) * np.log1p(np.abs(reference)), rtol=1e-6)
    assert peak < 12 << 20, peak  # whole: ~45 MB of n-gram strings


# hub: partitioned datasets --------------------------------------------------------------------------------------


def _partition(path, ids, vectors, model_type=None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = np.ascontiguousarray(vectors, dtype=np.float32)
    dna = pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), values.shape[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"model": pa.array(ids, type=model_type), "dna": dna}), path)


def test_a_partition_storing_ids_as_bytes_gives_the_ids_not_their_python_repr(tmp_path):
    """A partition whose 'model' column is binary (UTF-8 bytes, as some writers store text): its ids were
    str(b'org/b0') = "b'org/b0'", silently, in every tree and table; the single-file reader decodes them."""
    import pyarrow as pa

    rng = np.random.default_rng(0)
    folder = tmp_path / "ds"
    _partition(folder / "part-00000.parquet", ["org/a0", "org/a1"], rng.normal(size=(2, 3)))
    _partition(folder / "part-00001.parquet", [b"org/b0", b"org/b1"], rng.normal(size=(2, 3)), pa.binary())
    data = pl.hub.open_dataset(folder)
    assert data.all_ids() == ["org/a0", "org/a1", "org/b0", "org/b1"]
    assert data.read_part(1)[0] == pl.load_dna(folder / "part-00001.parquet").ids == ("org/b0", "org/b1")
    _partition(folder / "part-00001.parquet", [b"org/b0", b"\xff\xfe"], rng.normal(size=(2, 3)), pa.binary())
    with pytest.raises(pl.PhyloLLMError, match="part-00001.parquet: row 2: model id .* is not UTF-8"):
        pl.hub.open_dataset(folder)


# figures ---------------------------------------------------------------------------------------------------------


def test_ids_that_look_like_mathtext_are_drawn_as_written(tmp_path):
    """A model id '$\\undefined$' stopped every figure (matplotlib's math parser: internal error), and '$x^2$' was
    typeset as x squared; ids are now text as written."""
    ids = ["$\\undefinedcommand$", "$x^2$", "org/50% $$", "org/plain", "org/b"]
    dna = pl.DNA(ids, np.random.default_rng(0).normal(size=(len(ids), 6)))
    dist = pl.distance_matrix(dna)
    fig = pl.figures.draw_tree(pl.build_tree(dist))
    pl.figures.save(fig, tmp_path, "tree")  # drawing happens here
    texts = [t for t in fig.findobj(lambda artist: hasattr(artist, "get_parse_math")) if "$" in t.get_text()]
    assert {t.get_text() for t in texts} >= {"$x^2$", "$\\undefinedcommand$"}
    assert not any(t.get_parse_math() for t in texts)


@pytest.mark.parametrize("value", [np.nan, 1e300])
def test_the_dask_array_of_a_dataset_is_checked_finite_like_its_partitions(tmp_path, value):
    """DNADataset.to_dask_array read partitions unchecked: a NaN went through, and a float64 partition's 1e300
    became inf in float32, silently (read_part, the other reader, refuses both)."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "ds"
    _partition(folder / "part-00000.parquet", ["org/a0", "org/a1"], rng.normal(size=(2, 3)))
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = rng.normal(size=(2, 3))
    vectors[1, 2] = value
    pq.write_table(pa.table({"model": ["org/b0", "org/b1"],
                             "dna": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 3)}), folder / "part-00001.parquet")
    data = pl.hub.open_dataset(folder)
    with pytest.raises(pl.PhyloLLMError, match="part-00001.parquet.*'org/b1' \\(row 2\\) has a non-finite value"):
        data.to_dask_array().compute(scheduler="synchronous")


# the id rule -----------------------------------------------------------------------------------------------------


def test_an_id_holding_a_lone_surrogate_is_refused_where_it_is_read(tmp_path, capsys):
    """An .npz can hold the id 'a\\ud800' (no Unicode text): tree, view and distances failed with an internal error
    (pandas' index, the UTF-8 writers); now the id rule refuses it, naming file and row."""
    path = tmp_path / "dna.npz"
    np.savez(path, ids=np.array(["a\ud800", "b", "c", "d"]), dna=np.random.default_rng(0).normal(size=(4, 3)))
    refused_by_main(capsys, ["tree", path, "-o", tmp_path / "t.nwk", "-q"], "dna.npz: row 1: model id", "lone surrogate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dna.npz"]
    with pytest.raises(pl.PhyloLLMError, match="lone surrogate"):
        pl.DistanceMatrix(("a\udfff", "b"), np.array([[0.0, 1.0], [1.0, 0.0]]))
