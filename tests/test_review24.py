"""Review 24: regressions found in this session's change to main (c6a9476..main). One test per finding, each against an
independent reference (pandas' own reader, the ids as written, the one-line refusal promise). See REVIEW24.md.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import phylo_llm as pl
from phylo_llm import _memory
from phylo_llm.errors import PhyloLLMError
from tests.test_hostile import refused

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "phylo_llm", *map(str, argv), "-q"], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture()
def gz_table(tmp_path) -> tuple[Path, int]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 4)), columns=[f"dim_{i}" for i in range(4)])
    frame.insert(0, "model", [f"org/m{i}" for i in range(len(frame))])
    text = frame.to_csv(index=False).encode()
    path = tmp_path / "dna.csv.gz"
    path.write_bytes(gzip.compress(text))
    return path, len(text)


def test_compressed_table_whose_text_fits_once_is_read(gz_table, monkeypatch):
    # Reading streams the expanded text into pandas (as pandas reads a .csv.gz itself): a table whose text fits in the
    # memory available is read; holding the whole text (twice while joined, then a StringIO copy) was refused here.
    path, text_size = gz_table
    monkeypatch.setattr(_memory, "available_memory", lambda: int(1.5 * text_size))
    dna = pl.load_dna(path)
    reference = pd.read_csv(path)  # pandas' own decompression
    assert list(dna.ids) == reference["model"].tolist()
    np.testing.assert_allclose(dna.vectors, reference.iloc[:, 1:].to_numpy())


def test_compressed_table_expanding_past_memory_is_refused(gz_table, monkeypatch):
    path, text_size = gz_table
    monkeypatch.setattr(_memory, "available_memory", lambda: text_size // 4)
    monkeypatch.setattr("phylo_llm.io._files._CHUNK", 1 << 12)  # check often on this small file
    with pytest.raises(PhyloLLMError) as info:
        pl.load_dna(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "memory" in message and message.count(str(path)) == 1, message


def test_relaxed_phylip_beside_a_stale_names_map_keeps_its_ids(tmp_path):
    # d.phy was once written strict (its names map d.names.tsv stays), then rewritten relaxed with the real ids:
    # the relaxed file's names are the models' ids, the old map is not about them.
    ids = ("org/a", "org/b", "org/c")
    values = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    path = tmp_path / "d.phy"
    pl.save_distances(pl.distance.DistanceMatrix(("x/1", "x/2"), np.array([[0.0, 1.0], [1.0, 0.0]])), path, "strict")
    path.write_text("3\n" + "".join(f"{m} {' '.join(map(str, row))}\n" for m, row in zip(ids, values)))
    back = pl.load_distances(path)
    assert back.ids == ids
    np.testing.assert_allclose(back.values, values)


@pytest.fixture()
def tree_without_lengths(tmp_path) -> Path:
    path = tmp_path / "topology.nwk"
    dna = pl.load_dna(DEMO / "dna.parquet")
    ids = list(dna.ids)
    path.write_text("(" + ",".join(f"'{m}'" for m in ids[:-2]) + f",('{ids[-2]}','{ids[-1]}'));\n")
    return path


@pytest.mark.parametrize("command", ["score", "view"])
def test_rooting_a_tree_without_lengths_names_the_tree_file(command, tree_without_lengths, tmp_path):
    # score midpoint-roots a given unrooted tree; view --root mad roots it: either refusal names the tree file.
    if command == "score":
        result = cli("score", tree_without_lengths, "--lineage", DEMO, "--permutations", 2)
    else:
        result = cli("view", DEMO / "dna.parquet", "--tree", tree_without_lengths, "--root", "mad",
                     "-o", tmp_path / "page.html")
        assert not (tmp_path / "page.html").exists()
    refused(result, f"phylo-llm: error: {tree_without_lengths}: ", "branch lengths")
