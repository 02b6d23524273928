"""The command line end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from Bio import Phylo

import phylo_llm as pl
from tests.helpers import DEMO, run_cli, unrooted_rf

IDS = ["org/a", "org/b", "org/c", "org/d", "org/e"]


def write_csv(path, values, ids=IDS, **extra):
    frame = pd.DataFrame(np.asarray(values, dtype=object), columns=[f"dna_{i}" for i in range(len(values[0]))])
    frame.insert(0, "model", ids)
    for key, column in extra.items():
        frame[key] = column
    frame.to_csv(path, index=False)
    return path


GOOD = np.random.default_rng(0).normal(size=(5, 3)).tolist()


def test_tree_on_the_demo_data(tmp_path):
    out = tmp_path / "tree.nwk"
    result = run_cli("tree", DEMO / "dna.parquet", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "70 models x 128 dimensions, euclidean, nj tree" in result.stderr
    tree = Phylo.read(out, "newick")
    assert tree.count_terminals() == 70
    assert result.stdout == ""


def test_same_input_same_bytes(tmp_path):
    for k in range(2):
        assert run_cli("tree", DEMO / "dna.parquet", "-o", tmp_path / f"{k}.nwk", "-q").returncode == 0
    assert (tmp_path / "0.nwk").read_bytes() == (tmp_path / "1.nwk").read_bytes()


def test_stdout_and_quiet(tmp_path):
    result = run_cli("tree", DEMO / "dna.parquet", "-o", "-", "--quiet", "--method", "upgma")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("(") and result.stdout.rstrip().endswith(";")


@pytest.mark.parametrize("method", ["nj", "upgma", "wpgma"])
@pytest.mark.parametrize("fmt", ["newick", "nexus", "phyloxml"])
def test_methods_and_formats(tmp_path, method, fmt):
    out = tmp_path / "t"
    result = run_cli("tree", DEMO / "dna.parquet", "-o", out, "--method", method, "--format", fmt, "--metric", "cosine")
    assert result.returncode == 0, result.stderr
    assert Phylo.read(out, fmt).count_terminals() == 70


def test_distances_then_tree_from_the_matrix(tmp_path):
    assert run_cli("distances", DEMO / "dna.parquet", "-o", tmp_path / "d.phy").returncode == 0
    assert run_cli("tree", tmp_path / "d.phy", "-o", tmp_path / "from_matrix.nwk").returncode == 0
    assert run_cli("tree", DEMO / "dna.parquet", "-o", tmp_path / "from_dna.nwk").returncode == 0
    a, b = (tmp_path / "from_matrix.nwk").read_text(), (tmp_path / "from_dna.nwk").read_text()
    assert unrooted_rf(a, b) == 0


def test_import_to_canonical_parquet(tmp_path):
    source = write_csv(tmp_path / "in.csv", GOOD, family=list("LLQQM"))
    result = run_cli("import", source, "-o", tmp_path / "out.parquet")
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["model", "dna", "family"]
    np.testing.assert_array_equal(np.array(table.column("dna").to_pylist()), np.array(GOOD))


def test_simulate_reproduces_the_committed_demo(tmp_path):
    """Same tables, same tree and DNA to floating-point tolerance (the last bit may differ between CPUs and BLAS)."""
    assert run_cli("simulate", "-o", tmp_path, "--seed", "0").returncode == 0
    for name in ("lineage.csv", "models.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name), pd.read_csv(DEMO / name), check_exact=False, rtol=1e-12)
    ours_tree, committed_tree = (path.read_text().strip() for path in (tmp_path / "true_tree.nwk", DEMO / "true_tree.nwk"))
    assert unrooted_rf(ours_tree, committed_tree) == 0
    lengths = [sorted(c.branch_length or 0.0 for c in Phylo.read(path, "newick").find_clades())
               for path in (tmp_path / "true_tree.nwk", DEMO / "true_tree.nwk")]
    np.testing.assert_allclose(*lengths, rtol=1e-9)
    ours, committed = pl.load_dna(tmp_path / "dna.parquet"), pl.load_dna(DEMO / "dna.parquet")
    assert ours.ids == committed.ids
    np.testing.assert_allclose(ours.vectors, committed.vectors, rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(ours.metadata, committed.metadata)


def test_version_and_help():
    assert run_cli("--version").stdout.startswith("phylo-llm ")
    helptext = run_cli("tree", "--help").stdout
    assert "examples:" in helptext and "--method" in helptext


def bad_inputs(tmp_path):
    """(name, input path, extra args, what the message must contain) for every kind of bad input."""
    cases = []

    def case(name, path, expected, *extra):
        cases.append((name, path, list(extra), expected))

    nan = [row[:] for row in GOOD]
    nan[2][1] = float("nan")
    case("nan", write_csv(tmp_path / "nan.csv", nan), ["nan.csv", "'org/c'", "dimension 1"])
    inf = [row[:] for row in GOOD]
    inf[4][0] = float("inf")
    case("inf", write_csv(tmp_path / "inf.csv", inf), ["inf.csv", "'org/e'", "inf"])
    text = [row[:] for row in GOOD]
    text[1][2] = "abc"
    case("non-numeric", write_csv(tmp_path / "text.csv", text), ["text.csv", "'org/b'", "'abc'", "dna_2"])
    case("duplicate", write_csv(tmp_path / "dup.csv", GOOD, ids=["x", "y", "x", "z", "w"]), ["dup.csv", "duplicate model id 'x'", "rows 1 and 3"])
    (tmp_path / "empty.csv").write_text("")
    case("empty", tmp_path / "empty.csv", ["empty.csv", "empty"])
    (tmp_path / "header.csv").write_text("model,dna_0,dna_1\n")
    case("header only", tmp_path / "header.csv", ["header.csv", "no models"])
    case("two models", write_csv(tmp_path / "two.csv", GOOD[:2], ids=IDS[:2]), ["two.csv", "at least 3 models, found 2"])
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    case("corrupt parquet", tmp_path / "corrupt.parquet", ["corrupt.parquet", "not a readable parquet"])
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip")
    case("corrupt npz", tmp_path / "corrupt.npz", ["corrupt.npz", "not a readable .npz"])
    (tmp_path / "dna.xlsx").write_bytes(b"x")
    case("unknown extension", tmp_path / "dna.xlsx", ["dna.xlsx", "unknown file type '.xlsx'"])
    case("missing file", tmp_path / "nothing.parquet", ["nothing.parquet", "no such file"])
    zero = [row[:] for row in GOOD]
    zero[3] = [0.0, 0.0, 0.0]
    case("zero vector under cosine", write_csv(tmp_path / "zero.csv", zero), ["zero.csv", "'org/d'", "zero vector"], "--metric", "cosine")
    ragged = pa.table({"model": IDS, "dna": pa.array([[1.0, 2.0]] * 3 + [[1.0]] + [[3.0, 1.0]], pa.list_(pa.float64()))})
    pq.write_table(ragged, tmp_path / "ragged.parquet")
    case("ragged", tmp_path / "ragged.parquet", ["ragged.parquet", "ragged", "'org/d'", "1 dimensions"])
    (tmp_path / "ragged.csv").write_text('model,dna\na,"[1,2]"\nb,"[1,2,3]"\nc,"[1,2]"\n')
    case("ragged csv", tmp_path / "ragged.csv", ["ragged.csv", "ragged", "'b'", "3 dimensions"])
    case("mixed settings", write_csv(tmp_path / "mixed.csv", GOOD, encoder=list("aabbb")), ["mixed.csv", "2 different extraction settings", "--allow-mixed"])
    (tmp_path / "bad.phy").write_text("3\na 0 1 2\nb 1 0 x\nc 2 3 0\n")
    case("bad phylip", tmp_path / "bad.phy", ["bad.phy", "'b'", "'x'"])
    (tmp_path / "asym.phy").write_text("3\na 0 1 2\nb 1 0 3\nc 2 4 0\n")
    case("asymmetric phylip", tmp_path / "asym.phy", ["asym.phy", "not symmetric"])
    return cases


def test_every_bad_input_gives_one_line_exit_2_and_no_output(tmp_path):
    failures = []
    for name, path, extra, expected in bad_inputs(tmp_path):
        out = tmp_path / f"out-{name.replace(' ', '_')}.nwk"
        result = run_cli("tree", path, "-o", out, *extra)
        message = result.stderr.strip()
        problems = []
        if result.returncode != 2:
            problems.append(f"exit {result.returncode}")
        if "\n" in message or "Traceback" in message or not message.startswith("phylo-llm: error: "):
            problems.append("not one error line")
        problems += [f"missing {e!r}" for e in expected if e not in message]
        if out.exists():
            problems.append("output written")
        if problems:
            failures.append(f"{name}: {problems}: {message[:300]}")
    assert not failures, "\n".join(failures)
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_failure_keeps_the_existing_output(tmp_path):
    out = tmp_path / "tree.nwk"
    out.write_text("precious")
    write_csv(tmp_path / "two.csv", GOOD[:2], ids=IDS[:2])
    assert run_cli("tree", tmp_path / "two.csv", "-o", out).returncode == 2
    assert out.read_text() == "precious"


def test_identical_vectors_are_allowed_with_one_warning(tmp_path):
    values = [row[:] for row in GOOD]
    values[4] = values[0]
    result = run_cli("tree", write_csv(tmp_path / "copies.csv", values), "-o", tmp_path / "t.nwk")
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "org/a = org/e" in warnings[0]


def test_output_folder_that_does_not_exist(tmp_path):
    result = run_cli("tree", DEMO / "dna.parquet", "-o", tmp_path / "no" / "such" / "t.nwk")
    assert result.returncode == 2 and "cannot write" in result.stderr and "Traceback" not in result.stderr
