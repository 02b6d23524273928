"""The hub tree on a real engine: a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1.

Each test starts its own scheduler and workers (each in its own process
group) and stops them all at the end, also when the test fails. The
reference result is the hub tree computed in this process without Dask.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.hub import DatasetWriter, hub_tree_memory
from phylo_llm.hub._cluster import MEMORY_SHARE
from phylo_llm.hub._hubtree import largest_backbone
from phylo_llm.simulate import simulate_hub
from tests.helpers import run_cli

pytest.importorskip("distributed")
DASK = Path(sys.executable).with_name("dask")


class Engine:
    """A scheduler and workers started as a user would start them; :meth:`stop` ends them all."""

    def __init__(self, folder: Path, workers: int = 2, memory_limit: str = "1GB") -> None:
        self.processes: list[subprocess.Popen] = []
        info = folder / "scheduler.json"
        self._start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)])
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start")
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        for _ in range(workers):
            self._start([str(DASK), "worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                         "--memory-limit", memory_limit, "--no-dashboard"])
        from distributed import Client

        self.client = Client(self.address, timeout="30s", set_as_default=False)
        self.client.wait_for_workers(workers, timeout=60)

    def _start(self, command: list[str]) -> None:
        self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))

    def kill_worker(self, address: str) -> None:
        """SIGKILL the worker process at ``address`` and its nanny (their whole process group)."""
        pid = self.client.run(os.getpid, workers=[address])[address]
        os.killpg(os.getpgid(pid), signal.SIGKILL)

    def stop(self) -> None:
        try:
            self.client.close()
        finally:
            for process in self.processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture
def engine(tmp_path):
    started = Engine(tmp_path)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def dataset(tmp_path) -> tuple[Path, pl.DNA]:
    hub = simulate_hub(3000, dim=16, seed=5)
    dna = pl.DNA(hub.ids, hub.observed(0, hub.n_models))
    with DatasetWriter(tmp_path / "dna", dna.dim, {"probe_set": "simulated"}, part_rows=150) as out:
        out.write(dna.ids, dna.vectors)
    return tmp_path / "dna", pl.DNA(dna.ids, dna.vectors.astype(np.float32))


def test_hub_tree_on_a_real_scheduler_and_two_workers(engine, dataset, tmp_path):
    folder, dna = dataset
    out = tmp_path / "tree.nwk"
    result = run_cli("tree", folder, "-o", out, "--backbone", "300", "--seed", "3", "--scheduler", engine.address)
    assert result.returncode == 0, result.stderr
    want = pl.io.to_newick(hub_tree_memory(dna, backbone=300, seed=3).tree) + "\n"
    assert out.read_text() == want
    assert len(engine.client.scheduler_info(n_workers=-1)["workers"]) == 2


def test_a_worker_killed_mid_run_loses_nothing(engine, dataset, tmp_path):
    folder, dna = dataset
    out = tmp_path / "tree.nwk"
    run = subprocess.Popen([sys.executable, "-m", "phylo_llm", "tree", str(folder), "-o", str(out), "--backbone", "300",
                            "--scheduler", engine.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = None
        while run.poll() is None and victim is None:
            held = {worker: keys for worker, keys in engine.client.has_what().items() if keys}
            if held:  # a worker holds finished results: kill it now, results and all
                victim = sorted(held)[0]
                engine.kill_worker(victim)
            time.sleep(0.02)
        _, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert victim is not None, "the run ended before any worker held a result"
    assert run.returncode == 0, stderr
    assert out.read_text() == pl.io.to_newick(hub_tree_memory(dna, backbone=300).tree) + "\n"


def test_a_backbone_too_large_for_the_workers_is_refused_before_starting(tmp_path, dataset):
    folder, _ = dataset
    engine = Engine(tmp_path, workers=1, memory_limit="300MB")
    try:
        fits = largest_backbone(int(MEMORY_SHARE * 300e6), 16, 150)
        result = run_cli("tree", folder, "-o", tmp_path / "t.nwk", "--backbone", str(fits + 500), "--scheduler", engine.address)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert f"use --backbone {fits} or less" in result.stderr
        assert not (tmp_path / "t.nwk").exists()
        assert not engine.client.has_what() or not any(engine.client.has_what().values())  # nothing ran
    finally:
        engine.stop()


def _answers(root: Path, models: int, shards: int) -> Path:
    """Model folders and JSON-lines shards of toy answers (each model its own style of answer)."""
    from tests.helpers import write_folder

    prompts = [f"prompt number {k}?" for k in range(12)]
    rng = np.random.default_rng(0)
    styles = {f"org{i % 7}/model-{i:04d}": f"s{int(rng.integers(40))} m{i}" for i in range(models)}
    names = sorted(styles)
    write_folder(root, {m: {p: f"{styles[m]} says {k} " * (1 + k % 3) for k, p in enumerate(prompts)} for m in names[shards:]})
    for s, model in enumerate(names[:shards]):
        rows = [json.dumps({"model": model, "prompt": p, "response": f"{styles[model]} says {k} " * (1 + k % 3)}) for k, p in enumerate(prompts)]
        (root / f"shard-{s}.jsonl").write_text("\n".join(rows) + "\n")
    return root


def units_done(partial: Path) -> list[Path]:
    """The finished units' records in a work folder (not the manifest that marks the folder as ours)."""
    from phylo_llm.hub._extract import MANIFEST

    return [p for p in partial.glob("*.json") if p.name != MANIFEST]


def test_extraction_on_dask_matches_one_process_and_resumes_after_a_stop(tmp_path):
    source = _answers(tmp_path / "answers", models=60, shards=3)
    whole = run_cli("extract", source, "-o", tmp_path / "one.parquet", "--dim", "64")
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "dna"
    # stopped (SIGTERM) as soon as the first unit is written: the finished units stay in dna.partial/
    run = subprocess.Popen([sys.executable, "-m", "phylo_llm", "extract", str(source), "-o", str(out), "--dim", "64", "--batch", "4",
                            "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "dna.partial"
    try:
        while run.poll() is None and not units_done(partial):
            time.sleep(0.02)
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    finished = len(units_done(partial))
    if run.returncode == 0:
        pytest.skip("the extraction finished before it could be stopped")
    assert finished >= 1 and not out.exists(), stderr
    again = run_cli("extract", source, "-o", out, "--dim", "64", "--batch", "4", "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert f"{finished} reused" in again.stderr
    assert not partial.exists()
    got, want = pl.load_dna(out), pl.load_dna(tmp_path / "one.parquet")
    assert sorted(got.ids) == sorted(want.ids)
    np.testing.assert_allclose(got.subset(want.ids).vectors, want.vectors, atol=1e-6)
    refused = run_cli("extract", source, "-o", out, "--dim", "64")
    assert refused.returncode == 2 and "not empty" in refused.stderr


def test_extraction_on_dask_says_its_warnings_in_one_line_each(tmp_path):
    """A worker printed the 'dropped N model(s)' warning raw (file:line, the class name, a list of PosixPaths) and the
    summary ended '-> dna//'; now the warning comes back with the unit and is said as every other warning is."""
    from tests.helpers import write_folder

    source = _answers(tmp_path / "answers", models=12, shards=0)
    write_folder(source, {"late/model": {"prompt number 0?": "only one answer"}})  # lacks 11 of the shared prompts
    result = run_cli("extract", source, "-o", str(tmp_path / "dna") + "/", "--dim", "16", "--workers", "1")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "dropped 1 model" in line]
    assert len(lines) == 1 and lines[0].startswith("phylo-llm: warning: ") and "late/model" in lines[0], result.stderr
    assert "PosixPath" not in result.stderr and "PhyloLLMWarning" not in result.stderr, result.stderr
    assert "dna//" not in result.stderr and "-> " + str(tmp_path / "dna") + "/" in result.stderr, result.stderr
