"""Careless and hostile use of the hub-scale paths (partitioned datasets, Dask extraction) and of the explorer.

The promises are those of ``tests/test_hostile.py``: nothing the user had is lost, nothing is silently wrong,
every refusal is one line ``phylo-llm: error: ...`` with exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.errors import PhyloLLMWarning
from phylo_llm.hub import _extract as hub_extract
from tests.helpers import run_cli, toy_models, write_folder
from tests.test_hostile import refused, snapshot


@pytest.fixture(scope="module")
def client():
    """One in-process Dask client for the library-level cases (no worker processes to start)."""
    from distributed import Client

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None, set_as_default=False) as c:
        yield c


# Class 1: data loss ---------------------------------------------------------------------------------------------


def test_extract_never_writes_into_nor_removes_a_folder_it_did_not_make(tmp_path):
    """`extract A -o X` works in X.partial/: when that is the answers themselves, or a folder of the user's, it is refused."""
    answers = tmp_path / "x.partial"
    write_folder(answers, toy_models())
    mine = tmp_path / "y.partial"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    refused(run_cli("extract", answers, "-o", tmp_path / "x", "--dim", "8", "--workers", "1"), "x.partial", "not the work folder")
    refused(run_cli("extract", answers, "-o", tmp_path / "y", "--dim", "8", "--workers", "1"), "y.partial", "not the work folder")
    assert snapshot(tmp_path) == before and not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def _dataset(folder: Path, ids, vectors, part_rows: int) -> Path:
    with pl.hub.DatasetWriter(folder, dim=vectors.shape[1], part_rows=part_rows) as out:
        out.write(ids, vectors)
    return folder


def test_no_output_is_written_inside_an_input_folder(tmp_path):
    """A new file inside an input folder joins that input: a tree named .parquet in a dataset breaks it, a CSV in a
    lineage folder is read as lineage next time. Refused, also through a symlinked folder and for output folders."""
    rng = np.random.default_rng(0)
    data = _dataset(tmp_path / "ds", [f"org/m{i}" for i in range(12)], rng.normal(size=(12, 4)), 5)
    os.symlink(data, tmp_path / "link")
    write_folder(tmp_path / "answers", toy_models())
    lineage = tmp_path / "lineage"
    lineage.mkdir()
    (lineage / "models.csv").write_text("model,family\norg/m0,F\n")
    cases = [
        ("tree", data, "-o", data / "tree.parquet"),
        ("tree", data, "-o", tmp_path / "link" / "tree.parquet"),
        ("distances", data, "-o", tmp_path / "link" / ".." / "ds" / "d.parquet"),
        ("tree", data, "-o", tmp_path / "t.nwk", "--annotate", "--lineage", lineage, "--csv", lineage / "leaves.csv"),
        ("extract", tmp_path / "answers", "-o", tmp_path / "answers" / "dna.parquet"),
        ("extract", tmp_path / "answers", "-o", tmp_path / "answers" / "dna"),
        ("extract", tmp_path / "answers", "-o", tmp_path / "x.parquet", "--cache", tmp_path / "answers" / "x.probes"),
        ("figures", data, "-o", data / "figures"),
    ]
    before = snapshot(tmp_path)
    for case in cases:
        refused(run_cli(*case), "inside the input folder")
        assert snapshot(tmp_path) == before, case
    assert pl.hub.open_dataset(data).n_models == 12


@pytest.mark.parametrize("hard", [300, None])
def test_a_plan_of_more_files_than_open_descriptors_is_written_whole(tmp_path, hard):
    """Each staged output held a descriptor until the plan ended: a dataset of more partitions than the descriptor
    limit (1,024 by default: 2,000 partitions is 260,000 extracted models) failed at the very end, after all the work."""
    import resource
    import subprocess
    import sys

    def limited():
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, hard or resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    out = tmp_path / "sim"
    result = subprocess.run([sys.executable, "-m", "phylo_llm", "simulate", "--models", "400", "--part-rows", "1", "--dim", "2",
                             "-o", str(out), "-q"], capture_output=True, text=True, preexec_fn=limited, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["dna", "lineage.csv", "models.csv", "true_tree.nwk"]
    assert len(list((out / "dna").iterdir())) == 400 and pl.hub.open_dataset(out / "dna").n_models == 400


# Class 3: tracebacks ------------------------------------------------------------------------------------------------


def test_a_bad_partition_found_by_a_dask_worker_is_one_line(tmp_path):
    """The workers must not print the task's traceback beside the command's one-line refusal."""
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 4))
    vectors[25, 2] = np.nan
    data = _dataset(tmp_path / "ds", [f"org/m{i}" for i in range(30)], vectors, 10)
    result = run_cli("tree", data, "-o", tmp_path / "t.nwk", "--backbone", "5", "--workers", "1")
    refused(result, "part-00002.parquet", "'org/m25'", "non-finite")
    assert not (tmp_path / "t.nwk").exists()


# Class 2: silent wrong results ------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_dataset_refuses_an_empty_id_as_a_single_file_does(tmp_path, blank):
    rng = np.random.default_rng(2)
    data = _dataset(tmp_path / "ds", ["org/a", "org/b", blank, "org/c"], rng.normal(size=(4, 3)), 2)
    with pytest.raises(pl.PhyloLLMError, match="part-00001.parquet: row 1 has no model id"):
        pl.hub.open_dataset(data)
    with pytest.raises(pl.PhyloLLMError, match="row 1 has no model id"):
        pl.load_dna(data / "part-00001.parquet")  # the single-file reader, the reference


def test_the_explorer_refuses_placed_models_given_twice_or_shown_nowhere(tmp_path):
    """A placed model twice in the table (which row is shown?) or in neither INPUT nor the tree (listed, never drawn)."""
    dna = tmp_path / "dna.parquet"
    rng = np.random.default_rng(3)
    pl.save_dna(pl.DNA([f"org/m{i}" for i in range(6)], rng.normal(size=(6, 4))), dna)
    (tmp_path / "t.nwk").write_text("((org/m0,org/m1),(org/m2,org/m3),((org/m4,org/m5),org/new));\n")
    (tmp_path / "twice.csv").write_text("model,error\norg/new,0.1\norg/new,0.2\n")
    (tmp_path / "nowhere.csv").write_text("model,error\norg/new,0.1\norg/ghost,0.3\n")
    (tmp_path / "ok.csv").write_text("model,error\norg/new,0.1\n")
    out = tmp_path / "v.html"
    refused(run_cli("view", dna, "--tree", tmp_path / "t.nwk", "--placed", tmp_path / "twice.csv", "-o", out), "twice.csv", "'org/new'")
    refused(run_cli("view", dna, "--tree", tmp_path / "t.nwk", "--placed", tmp_path / "nowhere.csv", "-o", out), "t.nwk", "'org/ghost'")
    refused(run_cli("view", dna, "--placed", tmp_path / "ok.csv", "-o", out), "'org/new'", "--tree")
    with pytest.raises(pl.PhyloLLMError, match="given twice|duplicate"):
        pl.view(tmp_path / "t.nwk", pl.load_dna(dna), placed=["org/new", "org/new"])
    assert not out.exists()
    assert run_cli("view", dna, "--tree", tmp_path / "t.nwk", "--placed", tmp_path / "ok.csv", "-o", out, "-q").returncode == 0


def test_partitions_made_differently_keep_their_own_settings_when_allowed(tmp_path):
    """--allow-mixed used to label every model with the first partition's settings: a mixed dataset imported as one
    file was then uniform, and accepted without --allow-mixed (the mix laundered)."""
    rng = np.random.default_rng(4)
    folder = tmp_path / "ds"
    folder.mkdir()
    pl.hub._dataset.write_part(folder / "part-00000.parquet", ["org/a", "org/b"], rng.normal(size=(2, 3)), {"encoder": "hashing"})
    pl.hub._dataset.write_part(folder / "part-00001.parquet", ["org/c", "org/d", "org/e"], rng.normal(size=(3, 3)), {"encoder": "st:x"})
    with pytest.warns(PhyloLLMWarning):
        dna = pl.load_dna(folder, allow_mixed=True)
    assert dict(zip(dna.ids, dna.metadata["encoder"])) == {"org/a": "hashing", "org/b": "hashing", "org/c": "st:x",
                                                           "org/d": "st:x", "org/e": "st:x"}
    assert run_cli("import", folder, "-o", tmp_path / "one.parquet", "--allow-mixed", "-q").returncode == 0
    refused(run_cli("tree", tmp_path / "one.parquet", "-o", tmp_path / "t.nwk"), "different extraction settings")


def test_a_stopped_extraction_is_continued_only_with_the_same_answers_and_options(tmp_path, client, monkeypatch):
    """Finished units of a stopped run are reused by the same command, never mixed into a run with other options."""
    source = tmp_path / "answers"
    models = toy_models()
    write_folder(source, models)
    out = tmp_path / "dna"
    real = hub_extract._task_extract

    def stopped_after_the_first_unit(index, *args):
        if index:
            raise RuntimeError("stopped")  # the run stops once unit 0 is written
        return real(index, *args)

    monkeypatch.setattr(hub_extract, "_task_extract", stopped_after_the_first_unit)
    with pytest.raises(RuntimeError, match="stopped"):
        pl.hub.extract_dataset(source, out, client, batch=2, dim=16)
    monkeypatch.undo()
    work = pl.hub.work_folder(out)
    assert (work / "part-00000.json").is_file() and not out.exists()
    for options in ({"batch": 2, "dim": 32}, {"batch": 2, "dim": 16, "seed": 1}, {"batch": 3, "dim": 16}):
        with pytest.raises(pl.PhyloLLMError, match="other options"):
            pl.hub.extract_dataset(source, out, client, **options)
    edited = sorted(source.iterdir())[0] / "responses.json"
    edited.write_text(edited.read_text().replace("answer", "ANSWER"))
    with pytest.raises(pl.PhyloLLMError, match="other answers"):
        pl.hub.extract_dataset(source, out, client, batch=2, dim=16)
    assert not out.exists() and (work / "part-00000.json").is_file()
    os.rename(work, tmp_path / "kept")  # the user starts over: a new run extracts everything, the same way
    done = pl.hub.extract_dataset(source, out, client, batch=2, dim=16)
    assert (done.models, done.reused) == (len(models), 0) and not work.exists()
    whole = pl.extract.extract(source, dim=16).dna
    got = pl.load_dna(out)
    np.testing.assert_allclose(got.subset(whole.ids).vectors, whole.vectors, atol=1e-6)


# Options that start processes, make files or only apply to datasets -----------------------------------------------


def test_hub_options_out_of_reach_are_refused_before_anything_starts(tmp_path):
    from phylo_llm.hub._cluster import local_worker_limit

    rng = np.random.default_rng(3)
    data = _dataset(tmp_path / "ds", [f"org/m{i}" for i in range(40)], rng.normal(size=(40, 4)), 20)
    before = snapshot(tmp_path)
    cases = [
        (["tree", data, "-o", tmp_path / "t.nwk", "--backbone", "5", "--workers", str(local_worker_limit() + 1)],
         ("--workers", f"at most {local_worker_limit()} local worker processes")),
        (["simulate", "--models", "20001", "--part-rows", "2", "-o", tmp_path / "sim"], ("--part-rows 2", "at most 10,000")),
        (["candidates", pl.io.existing(Path(__file__).parents[1] / "data" / "demo" / "dna.parquet"), "-o",
          tmp_path / "c.csv", "--index", "ivf"], ("--index applies only to a partitioned DNA dataset",)),
        (["candidates", pl.io.existing(Path(__file__).parents[1] / "data" / "demo" / "dna.parquet"), "-o",
          tmp_path / "c.csv", "-k", "3"], ("-k applies only to a partitioned DNA dataset",)),
    ]
    for argv, expected in cases:
        refused(run_cli(*argv), *expected)
    assert snapshot(tmp_path) == before and not (tmp_path / "sim").exists()


def test_a_zero_vector_with_cosine_names_its_partition_and_model(tmp_path):
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(30, 4))
    vectors[17] = 0.0
    data = _dataset(tmp_path / "ds", [f"org/m{i}" for i in range(30)], vectors, 10)
    for argv in (["tree", data, "-o", tmp_path / "t.nwk", "--backbone", "5", "--workers", "1", "--metric", "cosine"],
                 ["relatives", "org/m1", data, "--workers", "1", "--metric", "cosine", "-q"]):
        refused(run_cli(*argv), "part-00001.parquet", "'org/m17'", "zero vector")
    # correlation is undefined for a constant vector: the hub tree once said only "not finite (query row 3)"
    vectors[17] = 3.0
    constant = _dataset(tmp_path / "constant", [f"org/m{i}" for i in range(30)], vectors, 10)
    for argv in (["tree", constant, "-o", tmp_path / "t.nwk", "--backbone", "5", "--workers", "1", "--metric", "correlation"],
                 ["candidates", constant, "-o", tmp_path / "c.csv", "--workers", "1", "--metric", "correlation", "-q"]):
        refused(run_cli(*argv), "part-00001.parquet", "'org/m17'", "constant vector")
    assert not (tmp_path / "t.nwk").exists()


# Engine addresses, and options that belong to another path --------------------------------------------------------


def _garbage_server():
    """A TCP port that answers like no Dask scheduler does (bytes Dask reads as a frame length of exabytes)."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"\xff" * 64)

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_bad_scheduler_address_is_one_line_naming_it_and_nothing_follows(tmp_path):
    """Once, a failed Client was closed when collected: 10 s later a Dask traceback followed the error line, and a
    port answering with other bytes was reported as 'out of memory'."""
    rng = np.random.default_rng(5)
    data = _dataset(tmp_path / "ds", [f"org/m{i}" for i in range(20)], rng.normal(size=(20, 4)), 10)
    server = _garbage_server()
    try:
        port = server.getsockname()[1]
        cases = [("foo", "not a scheduler address"), ("inproc://x", "not a scheduler address"),
                 ("tcp://127.0.0.1:99999", "not a scheduler address"),
                 (f"tcp://127.0.0.1:{port}", "not a Dask scheduler")]
        for address, culprit in cases:
            result = run_cli("tree", data, "-o", tmp_path / "t.nwk", "--backbone", "5", "--scheduler", address)
            refused(result, f"--scheduler {address}: ", culprit)  # `refused`: the whole stderr is that one line
        refused(run_cli("relatives", "org/m1", data, "--scheduler", "foo"), "--scheduler foo: ")
    finally:
        server.close()
    assert not (tmp_path / "t.nwk").exists()


def test_options_of_another_path_are_refused_not_ignored(tmp_path):
    demo = pl.io.existing(Path(__file__).parents[1] / "data" / "demo" / "dna.parquet")
    answers = write_folder(tmp_path / "answers", toy_models())
    before = snapshot(tmp_path)
    cases = [
        (["extract", answers, "-o", tmp_path / "d.parquet", "--workers", "1"], ("--workers 1: applies only to a folder output",)),
        (["extract", answers, "-o", tmp_path / "d.parquet", "--batch", "2"], ("--batch 2: applies only to a folder output",)),
        (["extract", answers, "-o", tmp_path / "d.parquet", "--scheduler", "tcp://127.0.0.1:9"], ("--scheduler tcp://127.0.0.1:9: applies",)),
        (["simulate", "-o", tmp_path / "sim", "--part-rows", "5"], ("--part-rows 5: applies only with --models",)),
        (["simulate", "-o", tmp_path / "sim", "--models", "30", "--families", "2"], ("--families 2: applies to the demo data",)),
        (["tree", demo, "-o", tmp_path / "t.nwk", "--region", "5"], ("--region 5: applies only to the hub tree",)),
        (["tree", demo, "-o", tmp_path / "t.nwk", "--support", "tbe"], ("--support tbe: applies only with --bootstrap",)),
        (["tree", demo, "-o", tmp_path / "t.nwk", "--backbone", "10", "--probe-dim", "7"], ("--probe-dim 7: applies only when INPUT is model answers",)),
        # argparse's own refusals are one line too (they printed the usage block first), stating the bound
        (["tree", demo, "-o", tmp_path / "t.nwk", "--backbone", "10", "--region", "2"], ("--region: expected a whole number from 3 to",)),
    ]
    for argv, expected in cases:
        refused(run_cli(*argv), *expected)
    assert snapshot(tmp_path) == before and not (tmp_path / "sim").exists()


def test_a_backbone_of_more_models_than_the_data_is_said_and_gives_the_exact_tree(tmp_path):
    from Bio.Phylo.TreeConstruction import DistanceMatrix as BioMatrix
    from Bio.Phylo.TreeConstruction import DistanceTreeConstructor

    demo = pl.load_dna(Path(__file__).parents[1] / "data" / "demo" / "dna.parquet").subset(
        pl.load_dna(Path(__file__).parents[1] / "data" / "demo" / "dna.parquet").ids[:12])
    pl.save_dna(demo, tmp_path / "small.parquet")
    result = run_cli("tree", tmp_path / "small.parquet", "-o", tmp_path / "t.nwk", "--backbone", "500")
    assert result.returncode == 0, result.stderr
    assert "--backbone 500: the data has 12 models, all of them in the backbone" in result.stderr
    # the exact NJ tree: same splits as Biopython's neighbour joining on the same distances
    full = ((demo.vectors[:, None, :] - demo.vectors[None, :, :]) ** 2).sum(-1) ** 0.5
    bio = DistanceTreeConstructor().nj(BioMatrix(list(demo.ids), [list(full[i, :i + 1]) for i in range(12)]))
    ours = pl.read_tree(tmp_path / "t.nwk")

    def splits(tree):
        leaves = sorted(c.name for c in tree.get_terminals())
        out = set()
        for clade in tree.find_clades():
            names = frozenset(c.name for c in clade.get_terminals())
            if 1 < len(names) < len(leaves) - 1:
                out.add(min(names, frozenset(leaves) - names, key=sorted))
        return out

    assert splits(ours) == splits(bio)


def test_k_and_region_beyond_memory_are_refused_with_what_fits(tmp_path, monkeypatch):
    from phylo_llm import _memory
    from phylo_llm.errors import PhyloLLMError
    from phylo_llm.hub._hubtree import check_region
    from phylo_llm.hub._neighbours import check_knn_memory

    with pytest.raises(PhyloLLMError, match=r"--region 100000: .* use --region (\d+) or less") as caught:
        check_region(100_000, 2**30, "a worker may use")
    fits = int(caught.value.args[0].rsplit("--region ", 1)[1].split()[0])
    assert 24 * fits**2 <= 2**30 < 24 * (fits + 1) ** 2  # an NJ region: three float64 copies of its matrix
    rng = np.random.default_rng(6)
    data = pl.hub.open_dataset(_dataset(tmp_path / "ds", [f"org/m{i}" for i in range(40)], rng.normal(size=(40, 4)), 20))
    monkeypatch.setattr(_memory, "available_memory", lambda: 20_000)
    with pytest.raises(PhyloLLMError, match=r"^-k 39: .* use -k 14 or less"):  # 32 bytes x 40 models x k <= 18,000
        check_knn_memory(data, 39)
    check_knn_memory(data, 14)


def test_a_signal_while_a_plan_names_its_files_leaves_none_even_with_other_threads(tmp_path, monkeypatch):
    """Blocking signals holds them for one thread only: with a Dask client's event-loop thread running, SIGTERM went
    to that thread and the handler ran in the middle of the naming (extract -o FOLDER: half the partitions). The
    handler now runs once the naming is over, and since the command ends as stopped, the naming is undone: no new
    file, the file it had replaced back (before, every file was named and the command still exited 143)."""
    import signal
    import threading
    import time

    from phylo_llm.io import _output

    class Stop(BaseException):
        pass

    def stop(signum, frame):
        raise Stop

    idle = threading.Event()
    other = threading.Thread(target=idle.wait, daemon=True)  # started before the mask: it does not block SIGTERM
    other.start()
    publish = _output._Staged.publish
    sent = []

    def publish_and_signal(self):
        previous = publish(self)
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # the other thread takes it; the main thread runs the (deferred) handler here, mid-naming
        return previous

    monkeypatch.setattr(_output._Staged, "publish", publish_and_signal)
    (tmp_path / "b.txt").write_text("the user's")
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        plan = pl.io.OutputPlan()
        with pytest.raises(Stop), plan:
            for name in ("a.txt", "b.txt", "c.txt"):
                with pl.io.atomic_output(tmp_path / name) as handle:
                    handle.write(name)
    finally:
        signal.signal(signal.SIGTERM, previous)
        idle.set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"] and not plan.published
    assert (tmp_path / "b.txt").read_text() == "the user's"


def test_datasets_too_small_for_the_command_are_one_line_naming_the_folder(tmp_path):
    """Once: a note that the backbone was clamped, then 'a backbone needs at least 3 models, got 2' (two lines, no
    file); and 'no neighbour to find: the reference holds no other model' (no file)."""
    rng = np.random.default_rng(7)
    two = _dataset(tmp_path / "two", ["org/a", "org/b"], rng.normal(size=(2, 4)), 1)
    one = _dataset(tmp_path / "one", ["org/a"], rng.normal(size=(1, 4)), 1)
    refused(run_cli("tree", two, "-o", tmp_path / "t.nwk", "--backbone", "3", "--workers", "1"),
            f"{two}: a tree needs at least 3 models, found 2")
    refused(run_cli("relatives", "org/a", one, "--workers", "1", "-q"), f"{one}: nearest neighbours need at least 2 models, found 1")
    assert not (tmp_path / "t.nwk").exists()
