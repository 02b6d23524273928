"""Careless and hostile use, by class: nothing the user had is lost, nothing is silently wrong, every refusal is one line.

Each class of failure has its tests here (issue 15); add a case whenever a new one is found.
Every refusal must be: exit code 2, exactly one line ``phylo-llm: error: ...`` on standard error, no traceback,
no output written, the inputs untouched.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics.pairwise import cosine_distances

import phylo_llm as pl
from phylo_llm.cli import main
from tests.helpers import DEMO, run_cli, toy_models, write_folder

ROOT = Path(__file__).resolve().parents[1]


def refused(result: subprocess.CompletedProcess, *expected: str) -> None:
    """Assert the one-line refusal promise."""
    message = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, message)
    assert message.startswith("phylo-llm: error: ") and "\n" not in message and "Traceback" not in message, message
    for text in expected:
        assert text in message, (text, message)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def work(tmp_path):
    """A folder with the demo DNA, its lineage, a tree and a probe cache."""
    for name in ("dna.parquet", "lineage.csv", "models.csv"):
        (tmp_path / name).write_bytes((DEMO / name).read_bytes())
    assert run_cli("tree", tmp_path / "dna.parquet", "-o", tmp_path / "tree.nwk", "-q").returncode == 0
    pl.save_probes(pl.simulate(seed=0).probes(32), tmp_path / "demo.probes")
    return tmp_path


# Class 1: data loss ---------------------------------------------------------------------------------------------


def test_no_output_may_be_an_input_or_another_output(work):
    """Every command, every way of naming the same file twice: refused before any work, inputs byte-identical."""
    dna, tree, probes, lineage = work / "dna.parquet", work / "tree.nwk", work / "demo.probes", work / "lineage.csv"
    os.link(dna, work / "hardlink.parquet")
    os.symlink(dna, work / "symlink.parquet")
    write_folder(work / "answers", toy_models())
    model = work / "relations.json"
    model.write_text('{"format": "phylo-llm relation model"}\n')
    cases = [
        ("tree", dna, "-o", dna),
        ("tree", dna, "-o", work / "hardlink.parquet"),
        ("tree", dna, "-o", work / "symlink.parquet"),
        ("tree", dna, "-o", work / "t.nwk", "--csv", work / "t.nwk"),
        ("tree", dna, "-o", work / "t.nwk", "--csv", dna),
        ("annotate", tree, "-o", tree),
        ("annotate", tree, "-o", work / "a.nhx", "--csv", tree),
        ("distances", dna, "-o", dna),
        ("import", dna, "-o", work / "symlink.parquet"),
        ("extract", work / "answers", "-o", work / "x.parquet", "--cache", work / "x.parquet"),
        ("extract", probes, "-o", probes),
        ("place", probes, "--tree", tree, "--dna", probes, "-o", tree),
        ("place", dna, "--tree", tree, "--dna", dna, "--csv", dna),
        ("place", dna, "--tree", tree, "--dna", dna, "-o", work / "p.nwk", "--csv", work / "p.nwk"),
        ("candidates", dna, "-o", dna, "--lineage", lineage),
        ("relatives", "x", dna, "--csv", lineage, "--lineage", lineage),
        ("figures", dna, "-o", dna),
        ("tree", dna, "-o", work / "t.nwk", "--annotate", "--lineage", work, "--csv", work / "models.csv"),
        # a relation model file is an input too (it once was overwritten by a placement table)
        ("place", probes, "--tree", tree, "--dna", probes, "--relation-model", model, "--csv", model),
        ("tree", probes, "-o", work / "t.nwk", "--relation-model", model, "--cherries", model),
        ("relatives", "x", probes, "--relation-model", model, "--csv", model),
        ("candidates", probes, "--relation-model", model, "-o", model),
        ("relate", "a", "b", probes, "--model", model, "--json", model),
    ]
    before = snapshot(work)
    for case in cases:
        result = run_cli(*case)
        refused(result)
        assert any(word in result.stderr for word in ("also an input", "named twice", "folder")), result.stderr
        assert snapshot(work) == before, case


def test_outputs_appear_together_or_not_at_all(work, monkeypatch, capsys):
    """A command with two outputs that fails on the second leaves neither, and an old first output untouched."""
    first, second = work / "out.nwk", work / "leaves.csv"
    first.write_text("previous tree, must survive\n")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(second))

    monkeypatch.setattr(pl.io, "write_table", full_disk)
    code = main(["tree", str(work / "dna.parquet"), "-o", str(first), "--csv", str(second), "--annotate",
                 "--lineage", str(DEMO), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "No space left" in err
    assert first.read_text() == "previous tree, must survive\n" and not second.exists()
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_leave_nothing_behind(tmp_path, signum):
    """Killed at any moment, a command leaves either its complete output or nothing, and no temporary file."""
    rng = np.random.default_rng(0)
    dna = pl.DNA([f"org/m{i:05d}" for i in range(3000)], rng.normal(size=(3000, 64)))
    pl.save_dna(dna, tmp_path / "big.parquet")
    (tmp_path / "out").mkdir()
    for delay in (0.3, 0.9, 1.2, 1.6):  # reading, distances, the threaded NJ kernel, writing (timings vary by machine)
        before = snapshot(tmp_path)
        process = subprocess.Popen([sys.executable, "-m", "phylo_llm", "tree", str(tmp_path / "big.parquet"),
                                    "-o", str(tmp_path / "out" / "t.nwk"), "--csv", str(tmp_path / "out" / "t.csv"),
                                    "--root", "midpoint", "--lineage", str(DEMO)],
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
        files = sorted(p.name for p in (tmp_path / "out").iterdir())
        if process.returncode == 0:  # finished before the signal: both outputs, nothing else
            assert files == ["t.csv", "t.nwk"]
        else:
            # exit 128 + n / 130 from our handler, or killed by the signal itself (-n: it arrived before the handler
            # was installed, or Python re-raises SIGINT at exit): either way the files must be untouched
            assert process.returncode in (128 + signum, 130, -signum), (process.returncode, err)
            assert files == [] and snapshot(tmp_path) == before, files
            assert "Traceback" not in err
        for name in files:
            (tmp_path / "out" / name).unlink()


def test_interrupt_while_options_are_read_is_one_line(monkeypatch, capsys):
    """Ctrl-C before the command runs (the parser being built or reading options) is a line, not a traceback."""
    from phylo_llm.cli import _app

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(_app, "build_parser", interrupted)
    code = main(["tree", "x.parquet", "-o", "t.nwk"])
    err = capsys.readouterr().err
    assert code == 130 and err == "phylo-llm: interrupted\n", err


def test_interrupt_while_the_installed_script_loads_is_one_line():
    """Ctrl-C while the installed ``phylo-llm`` script imports the command line: a line and 130, not a traceback.

    The script's entry point is resolved from the installed metadata (as the generated script does); an import hook
    raises KeyboardInterrupt where the command line loads.
    """
    program = textwrap.dedent("""
        import sys
        from importlib.metadata import entry_points

        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "phylo_llm.cli._app":
                    raise KeyboardInterrupt
                return None

        (script,) = entry_points(group="console_scripts", name="phylo-llm")
        run = script.load()
        sys.meta_path.insert(0, Interrupt())
        sys.exit(run())
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130 and done.stderr == "phylo-llm: interrupted\n", (done.returncode, done.stderr)


# Class 2: silent wrong results ------------------------------------------------------------------------------------


def test_huge_and_tiny_dna_gives_finite_exact_distances():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 5))
    ids = [f"m{i}" for i in range(6)]
    reference = pl.distance_matrix(pl.DNA(ids, x)).values
    huge = pl.distance_matrix(pl.DNA(ids, x * 2.0**700)).values  # squares would overflow float64
    np.testing.assert_allclose(huge / 2.0**700, reference, rtol=1e-12)
    subnormal = x * 2.0**-1070  # norms would underflow to 0; the values themselves keep a few bits
    tiny = pl.distance_matrix(pl.DNA(ids, subnormal), "cosine").values
    np.testing.assert_allclose(tiny, cosine_distances(np.ldexp(subnormal, 1070)), atol=1e-12)
    tree = pl.build_tree(pl.distance_matrix(pl.DNA(ids, x * 1e200)))
    assert sorted(c.name for c in pl.tree.iter_leaves(tree)) == ids
    assert all(np.isfinite(c.branch_length) for c in pl.tree.iter_preorder(tree) if c.branch_length is not None)


def test_distances_that_cannot_be_represented_are_refused(tmp_path):
    frame = pd.DataFrame({"model": ["a", "b", "c"], "dna_0": [1e308, -1e308, 0.0], "dna_1": [1e308, -1e308, 1.0]})
    frame.to_csv(tmp_path / "overflow.csv", index=False)
    refused(run_cli("tree", tmp_path / "overflow.csv", "-o", tmp_path / "t.nwk", "--metric", "sqeuclidean"), "not finite")
    assert not (tmp_path / "t.nwk").exists()


def test_a_nan_in_a_probe_cache_is_named(tmp_path):
    probes = pl.simulate(seed=0).probes(32)
    values = np.array(probes.values)
    values[7, 3, 1] = np.nan
    path = tmp_path / "bad.probes"
    with pytest.raises(pl.PhyloLLMError, match="not finite"):
        pl.save_probes(pl.ProbeEmbeddings(probes.ids, values, probes.settings), path)  # the writer refuses
    pl.save_probes(probes, path, dtype="float32")
    data = bytearray(path.read_bytes())
    offset = len(data) - values.size * 4 + (7 * 32 * 4 + 3 * 4 + 1) * 4
    data[offset:offset + 4] = np.float32(np.nan).tobytes()
    path.write_bytes(bytes(data))
    refused(run_cli("tree", path, "-o", tmp_path / "t.nwk"), repr(probes.ids[7]), "non-finite")


def test_two_ids_that_differ_only_by_case_are_two_models(tmp_path):
    """An API id beside the hub weights of the same name: never documented as its own relative."""
    rng = np.random.default_rng(2)
    ids = ["Qwen/Qwen3-14B", "qwen/qwen3-14b", "Qwen/Qwen3-14B-Base", "org/other", "org/more"]
    pl.save_dna(pl.DNA(ids, rng.normal(size=(5, 8))), tmp_path / "dna.csv")
    (tmp_path / "models.csv").write_text("model,family,organization,architecture\nQwen/Qwen3-14B,Qwen,Qwen,decoder_only\n"
                                         "Qwen/Qwen3-14B-Base,Qwen,Qwen,decoder_only\n")
    (tmp_path / "relations.csv").write_text("child,parent,relation\nQwen/Qwen3-14B,Qwen/Qwen3-14B-Base,finetune\n")
    lineage = pl.load_lineage(tmp_path / "models.csv", tmp_path / "relations.csv")
    dist = pl.distance_matrix(pl.load_dna(tmp_path / "dna.csv"))
    table = pl.relatives("qwen/qwen3-14b", dist, lineage, k=4)
    assert set(table["documented"]) == {""}, table
    assert table.loc[table["model"] == "Qwen/Qwen3-14B", "family"].item() == "Qwen"  # facts are shared
    exact = pl.relatives("Qwen/Qwen3-14B", dist, lineage, k=4)
    assert exact.loc[exact["model"] == "Qwen/Qwen3-14B-Base", "documented"].item() == "parent (finetune)"
    pairs = pl.score.documented_pairs(lineage, dist.ids)
    assert list(zip(pairs.child, pairs.parent)) == [("Qwen/Qwen3-14B", "Qwen/Qwen3-14B-Base")]


@pytest.mark.parametrize("argv", [
    ["extract", "ANSWERS", "-o", "x.parquet", "--max-chars", "-1"],
    ["relatives", "org/a", "DNA", "-k", "-1"],
    ["relatives", "org/a", "DNA", "-k", "0"],
    ["candidates", "DNA", "-o", "c.csv", "--limit", "-1"],
    ["candidates", "DNA", "-o", "c.csv", "--threshold", "nan"],
    ["tree", "DNA", "-o", "t.nwk", "--seed", "-1"],
    ["tree", "DNA", "-o", "t.nwk", "--bootstrap", "-5"],
    ["score", "DNA", "--permutations", "-1"],
    ["place", "DNA", "--tree", "t.nwk", "--dna", "DNA", "--local", "-3"],
    ["simulate", "-o", "sim", "--dim", "0"],
])
def test_negative_and_zero_sizes_are_refused_by_the_parser(tmp_path, argv):
    argv = [str(DEMO / "dna.parquet") if a == "DNA" else str(tmp_path / "answers") if a == "ANSWERS" else a for a in argv]
    result = subprocess.run([sys.executable, "-m", "phylo_llm", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "expected" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_compressed_outputs_are_compressed_and_read_back(work):
    for command in (["import", work / "dna.parquet", "-o", work / "dna.csv.gz"],
                    ["distances", work / "dna.parquet", "-o", work / "d.tsv.gz"],
                    ["candidates", work / "dna.parquet", "-o", work / "c.csv.xz", "--lineage", DEMO]):
        assert run_cli(*command, "-q").returncode == 0, command
    with gzip.open(work / "dna.csv.gz") as handle:
        assert handle.read(5) == b"model"
    np.testing.assert_array_equal(pl.load_dna(work / "dna.csv.gz").vectors, pl.load_dna(work / "dna.parquet").vectors)
    assert pl.load_distances(work / "d.tsv.gz").n_models == 70
    assert list(pd.read_csv(work / "c.csv.xz").columns[:2]) == ["model_a", "model_b"]
    refused(run_cli("import", work / "dna.parquet", "-o", work / "dna.parquet.gz"), "cannot be compressed")


def test_a_square_table_with_columns_in_another_order_is_read_as_distances(tmp_path):
    ids = ["a", "b", "c", "d"]
    values = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
    frame = pd.DataFrame(values, columns=ids)
    frame.insert(0, "model", ids)
    frame[["model", "c", "a", "d", "b"]].to_csv(tmp_path / "d.csv", index=False)
    data = pl.load_input(tmp_path / "d.csv")
    assert isinstance(data, pl.DistanceMatrix) and data.ids == tuple(ids)
    np.testing.assert_array_equal(data.values, values)


# Class 3: tracebacks and memory blow-ups -----------------------------------------------------------------------


@pytest.mark.parametrize("argv,expected", [
    (["extract", "ANSWERS", "-o", "x.parquet", "--dim", "100000000"], "expected a whole number"),
    (["extract", "ANSWERS", "-o", "x.parquet", "--dim", "65536", "--answer-dim", "65536"], "GiB"),
    (["extract", "ANSWERS", "-o", "x.parquet", "--cache", "x.probes", "--cache-dim", "99999"], "expected a whole number"),
    (["tree", "DNA", "-o", "t.nwk", "--bootstrap", "100000000"], "expected a whole number"),
    (["tree", "DNA", "-o", "t.nwk", "--probe-dim", "100000"], "expected a whole number"),
    (["score", "DNA", "--permutations", "100000000"], "expected a whole number"),
    (["simulate", "-o", "sim", "--dim", "99999999"], "expected a whole number"),
    (["tree", "DNA", "-o", "t.nwk", "--seed", str(2**64)], "expected a whole number"),
])
def test_sizes_are_bounded_before_anything_is_allocated(tmp_path, argv, expected):
    write_folder(tmp_path / "answers", toy_models())
    argv = [str(DEMO / "dna.parquet") if a == "DNA" else str(tmp_path / "answers") if a == "ANSWERS" else a for a in argv]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "phylo_llm", *argv], capture_output=True, text=True, cwd=tmp_path,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30)))
    assert result.returncode == 2 and "Traceback" not in result.stderr and expected in result.stderr, result.stderr
    assert time.perf_counter() - start < 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers"]


def forged_caches(folder: Path):
    """Probe caches whose header lies: (name, file)."""
    good = folder / "good.probes"
    pl.save_probes(pl.simulate(seed=0).probes(32), good)
    raw = good.read_bytes()
    magic = b"PHYLOLLM-PROBES 1\n"
    size = int.from_bytes(raw[len(magic):len(magic) + 8], "little")
    header = json.loads(raw[len(magic) + 8:len(magic) + 8 + size])
    body = raw[len(magic) + 8 + size:]

    def forge(name, **changes):
        text = json.dumps({**header, **changes}).encode()
        path = folder / f"{name}.probes"
        path.write_bytes(magic + len(text).to_bytes(8, "little") + text + body)
        return name, path

    yield forge("overflowing-shape", shape=[2**40, 2**40, 2**40])
    yield forge("negative-shape", shape=[70, -32, 4])
    yield forge("shape-not-numbers", shape=["70", 32, 4])
    yield forge("two-dimensional", shape=[70, 128])
    yield forge("bad-dtype", dtype="float128")
    yield forge("ids-too-few", ids=header["ids"][:3])
    yield forge("ids-not-text", ids=list(range(70)))
    yield forge("settings-a-list", settings=[1, 2])
    huge = folder / "huge-header.probes"
    huge.write_bytes(magic + (2**62).to_bytes(8, "little") + b"{}")
    yield "huge-header", huge
    truncated = folder / "truncated.probes"
    truncated.write_bytes(raw[: len(raw) // 2])
    yield "truncated", truncated
    not_json = folder / "not-json.probes"
    not_json.write_bytes(magic + (4).to_bytes(8, "little") + b"\xff\xfe{[")
    yield "not-json", not_json


def test_forged_probe_cache_headers_are_one_line(tmp_path):
    for name, path in forged_caches(tmp_path):
        result = run_cli("tree", path, "-o", tmp_path / f"{name}.nwk")
        refused(result, path.name, "probe")
        assert not (tmp_path / f"{name}.nwk").exists()


def test_forged_cache_settings_refused_when_placing_answers(tmp_path):
    probes = pl.simulate(seed=0).probes(32)
    settings = {**probes.settings, "prompt_keys": ["k"], "encoder": "hashing-char1-4-max300", "answer_dim": "1e9",
                "extraction_seed": 0}
    pl.save_probes(pl.ProbeEmbeddings(probes.ids, probes.values, settings), tmp_path / "ref.probes")
    write_folder(tmp_path / "new", {"org/new": {"p": "an answer"}})
    tree = tmp_path / "t.nwk"
    assert run_cli("tree", tmp_path / "ref.probes", "-o", tree, "-q").returncode == 0
    refused(run_cli("place", tmp_path / "new", "--tree", tree, "--dna", tmp_path / "ref.probes"), "answer_dim")


def test_truncated_and_malformed_files_are_one_line(tmp_path):
    pl.save_dna(pl.load_dna(DEMO / "dna.parquet"), tmp_path / "dna.csv.gz")
    data = (tmp_path / "dna.csv.gz").read_bytes()
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    refused(run_cli("tree", tmp_path / "cut.csv.gz", "-o", tmp_path / "t.nwk"), "cut.csv.gz")
    write_folder(tmp_path / "answers", toy_models(), gz=True)
    first = sorted((tmp_path / "answers").glob("*/responses.json.gz"))[0]
    first.write_bytes(first.read_bytes()[:40])
    refused(run_cli("extract", tmp_path / "answers", "-o", tmp_path / "x.parquet"), "responses.json.gz")
    # A published folder whose summary is a JSON list, and one whose metadata is a number.
    for name, summary, meta in (("list-summary", [1, 2], {}), ("number-metadata", {"model_name": "o/m"}, 5)):
        folder = tmp_path / name / "o_m"
        folder.mkdir(parents=True)
        (folder / "o_m_dna.json").write_text(json.dumps({"signature": [0.1, 0.2], "metadata": meta}))
        (folder / "o_m_summary.json").write_text(json.dumps(summary))
        refused(run_cli("import", tmp_path / name, "-o", tmp_path / f"{name}.parquet"), "o_m_")
    assert not list(tmp_path.glob("*.parquet")) and not (tmp_path / "t.nwk").exists()


def test_unwritable_outputs_are_one_line_and_leave_nothing(work):
    refused(run_cli("tree", work / "dna.parquet", "-o", work), "folder")
    refused(run_cli("tree", work / "dna.parquet", "-o", work / "missing" / "t.nwk"), "does not exist")
    (work / "t.nwk").write_text("old\n")

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit fails with EFBIG, like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    result = subprocess.run([sys.executable, "-m", "phylo_llm", "tree", str(work / "dna.parquet"), "-o", str(work / "t.nwk")],
                            capture_output=True, text=True, preexec_fn=small_files)
    refused(result, "large")
    assert (work / "t.nwk").read_text() == "old\n"
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


def caterpillar(n: int):
    """A tree n levels deep (a ladder): Biopython's own recursive walks fail on it."""
    from Bio.Phylo.BaseTree import Clade, Tree

    node = Clade(name="m00000", branch_length=1.0)
    for i in range(1, n):
        node = Clade(clades=[node, Clade(name=f"m{i:05d}", branch_length=1.0 + i % 3)], branch_length=0.5)
    return Tree(root=node, rooted=False)


def test_deep_trees_go_through_annotate_and_place(tmp_path):
    n = 2500
    tree = caterpillar(n)
    pl.write_tree(tree, tmp_path / "deep.nwk")
    assert run_cli("annotate", tmp_path / "deep.nwk", "-o", tmp_path / "deep.nhx", "--lineage", DEMO, "-q").returncode == 0
    assert pl.tree.count_leaves(pl.read_tree(tmp_path / "deep.nhx")) == n
    rng = np.random.default_rng(3)
    ids = [f"m{i:05d}" for i in range(n)]
    pl.save_dna(pl.DNA(ids, rng.normal(size=(n, 4))), tmp_path / "ref.parquet")
    pl.save_dna(pl.DNA(["new/model"], rng.normal(size=(1, 4))), tmp_path / "new.parquet")
    result = run_cli("place", tmp_path / "new.parquet", "--tree", tmp_path / "deep.nwk", "--dna", tmp_path / "ref.parquet",
                     "-o", tmp_path / "placed.nwk", "--csv", tmp_path / "placed.csv", "-q")
    assert result.returncode == 0, result.stderr
    assert pl.tree.count_leaves(pl.read_tree(tmp_path / "placed.nwk")) == n + 1


@pytest.mark.parametrize("argv", [
    ["tree", "SPECIAL", "-o", "t.nwk"],
    ["score", "DNA", "--lineage", "SPECIAL"],
    ["annotate", "SPECIAL", "--lineage", "builtin", "-o", "a.nhx"],
    ["extract", "SPECIAL", "-o", "x.parquet"],
    ["relate", "a", "b", "PROBES", "--model", "SPECIAL"],
    ["relate", "a", "b", "SPECIAL"],
    ["place", "SPECIAL", "--tree", "TREE", "--dna", "DNA", "-o", "p.csv"],
    ["tree", "FIFO", "-o", "t.nwk"],
    ["score", "DNA", "--lineage", "FIFO"],
])
def test_devices_and_pipes_are_refused_not_read(work, argv):
    # A device or a pipe has no size to check and may never end (/dev/zero, <(yes)): refused before reading.
    os.mkfifo(work / "pipe.csv")
    if not Path("/dev/zero").exists():
        pytest.skip("/dev/zero does not exist here")
    names = {"SPECIAL": "/dev/zero", "FIFO": str(work / "pipe.csv"), "DNA": str(work / "dna.parquet"), "PROBES": str(work / "demo.probes"),
             "TREE": str(work / "tree.nwk")}
    before = snapshot(work)
    result = subprocess.run([sys.executable, "-m", "phylo_llm", *[names.get(a, a) for a in argv]], capture_output=True,
                            text=True, cwd=work, timeout=60)
    refused(result, "not a regular file")
    assert snapshot(work) == before


def test_figures_replace_an_earlier_figure_set_whole_and_refuse_a_folder_of_other_files(tmp_path):
    """An earlier run's figure that this run skips (here 5_dimension_ablation: the input has no variants) once
    stayed beside the new figures, and figures.json no longer described the folder."""
    earlier = tmp_path / "figs"
    earlier.mkdir()
    for name in ("5_dimension_ablation.png", "5_dimension_ablation.pdf", "1_tree.png", "figures.json"):
        (earlier / name).write_bytes(b"an earlier run")
    result = run_cli("figures", DEMO / "dna.parquet", "-o", earlier, "--lineage", DEMO)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in earlier.iterdir())
    assert "5_dimension_ablation.png" not in names and "5_dimension_ablation.pdf" not in names
    assert (earlier / "1_tree.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((earlier / "figures.json").read_text())["models"] == 70
    assert {p.name.rsplit(".", 1)[0] for p in earlier.iterdir()} - {"figures"} == {
        "1_tree", "1b_tree_cladogram", "2_dna_map", "3_distance_heatmap", "4_relation_roc", "7_evolutionary_speed"}
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    (mine / "1_tree.png").write_bytes(b"mine too")
    before = snapshot(mine)
    refused(run_cli("figures", DEMO / "dna.parquet", "-o", mine, "--lineage", DEMO), str(mine), "notes.txt")
    assert snapshot(mine) == before


@pytest.mark.parametrize("hard_links", [True, False])
def test_a_plan_whose_last_file_cannot_be_named_puts_back_the_files_it_replaced(tmp_path, monkeypatch, hard_links):
    """Outputs appear together or not at all even when naming fails part way: the third target became a folder
    after the plan's checks (a race). The first output had replaced an existing file and the second was new: the
    old file is back, with its bytes, inode and permissions, the new one is gone, the folder untouched, no hidden
    file left. Also where the file system has no hard links (the file replaced is moved aside instead)."""
    from phylo_llm.io import _output

    first, second, third = tmp_path / "a.nwk", tmp_path / "b.csv", tmp_path / "c.txt"
    first.write_text("the user's tree\n")
    first.chmod(0o640)
    before = os.stat(first)
    if not hard_links:
        link = os.link

        def no_second_names(source, target, *args, **kwargs):
            if str(target).endswith(".old"):
                raise PermissionError(1, "Operation not permitted")
            return link(source, target, *args, **kwargs)

        monkeypatch.setattr(_output.os, "link", no_second_names)
    plan = pl.io.OutputPlan()
    for path in (first, second, third):
        plan.add(path)
    with pytest.raises(pl.PhyloLLMError, match=r"c\.txt: cannot write \(Is a directory\)"), plan:
        for path in (first, second, third):
            with pl.io.atomic_output(path) as handle:
                handle.write("new\n")
        third.mkdir()  # after the checks, before the naming
        (third / "kept").write_text("inside\n")
    after = os.stat(first)
    assert first.read_text() == "the user's tree\n" and (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert not second.exists() and (third / "kept").read_text() == "inside\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.nwk", "c.txt"] and not plan.published


def test_a_plan_replacing_files_leaves_no_second_name(tmp_path):
    """Once every file is named, the second names kept for putting files back are gone."""
    targets = [tmp_path / f"{name}.txt" for name in "abc"]
    for path in targets[:2]:
        path.write_text("old\n")
    plan = pl.io.OutputPlan()
    for path in targets:
        plan.add(path)
    with plan:
        for path in targets:
            with pl.io.atomic_output(path) as handle:
                handle.write("new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]
    assert all(path.read_text() == "new\n" for path in targets) and plan.published


def test_work_that_reads_branch_lengths_refuses_a_tree_without_them(work):
    """Lengths missing from a tree count as 0 in its arrays: placement into it fitted every new model against zero
    path lengths and printed placements (exit 0), and its path-length matrix was all zeros. Both now refuse it,
    naming the tree file; the drawing and split work that needs no lengths is not affected."""
    import re

    bare = work / "bare.nwk"
    bare.write_text(re.sub(r":[-+0-9.eE]+", "", (work / "tree.nwk").read_text()))
    dna = pl.load_dna(work / "dna.parquet")
    reference, new = dna.ids[:60], dna.ids[60:]
    pl.save_dna(dna.subset(reference), work / "ref.parquet")
    pl.save_dna(dna.subset(new), work / "new.parquet")
    backbone = pl.read_tree(bare)
    for leaf in new:
        backbone.prune(leaf)
    pl.write_tree(backbone, work / "bare60.nwk")
    before = snapshot(work)
    refused(run_cli("place", work / "new.parquet", "--tree", work / "bare60.nwk", "--dna", work / "ref.parquet",
                    "-o", work / "placed.nwk", "-q"), f"{work / 'bare60.nwk'}: placement needs branch lengths")
    refused(run_cli("score", bare, "--lineage", DEMO, "-q"), f"{bare}: ", "needs branch lengths")
    assert snapshot(work) == before
    with pytest.raises(pl.PhyloLLMError, match="needs branch lengths"):
        pl.tree.patristic_matrix(pl.read_tree(bare))
    assert pl.tree.split_support(pl.read_tree(bare), [pl.read_tree(work / "tree.nwk")]) is not None


def test_a_stop_signal_while_outputs_are_named_leaves_the_old_outputs_and_exits_as_stopped(work, monkeypatch, capsys):
    """A SIGTERM that arrives while a command names its outputs is handled once the naming is over; the command then
    ends as stopped (143), so the naming is undone: the earlier -o file is back, the new --csv never appears.
    Before, both new files were in place and the command still said it was stopped (exit 143): a script trusting
    the exit code would throw away a finished result, or one checking the files would trust a stopped run."""
    import threading

    from phylo_llm.io import _output

    first, second = work / "t.nwk", work / "t.csv"
    first.write_text("previous tree, must survive\n")
    publish, sent = _output._Staged.publish, []

    def publish_and_stop(self):
        previous = publish(self)
        if not sent:  # to the main thread itself (held there), not to the process: no other thread may take it first
            sent.append(True)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
        return previous

    monkeypatch.setattr(_output._Staged, "publish", publish_and_stop)
    code = main(["tree", str(work / "dna.parquet"), "-o", str(first), "--csv", str(second), "--annotate",
                 "--lineage", str(DEMO), "-q"])
    err = capsys.readouterr().err
    assert sent and code == 128 + signal.SIGTERM and err.count("\n") == 1, (code, err)
    assert first.read_text() == "previous tree, must survive\n" and not second.exists()
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


def test_a_text_table_larger_than_memory_is_refused_before_it_is_read(work, monkeypatch, capsys):
    """An uncompressed DNA or lineage CSV was parsed whatever its size (compressed ones are bounded as they expand):
    its size is now checked against the memory available before pandas reads it. The machine's memory is made
    small here instead of the file large."""
    from phylo_llm import _memory

    dna = pl.load_dna(work / "dna.parquet")
    pl.save_dna(dna, work / "dna.csv")
    size = (work / "dna.csv").stat().st_size
    monkeypatch.setattr(_memory, "available_memory", lambda: size // 2)
    before = snapshot(work)
    code = main(["tree", str(work / "dna.csv"), "-o", str(work / "t.nwk"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{work / 'dna.csv'}: its text" in err and "memory" in err, err
    assert snapshot(work) == before
    assert (work / "lineage.csv").stat().st_size < size // 2 and len(pl.load_lineage(work / "lineage.csv").relations) > 0
    monkeypatch.setattr(_memory, "available_memory", lambda: size * 4)
    assert pl.load_dna(work / "dna.csv").ids == dna.ids
