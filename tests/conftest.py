"""Shared fixtures: the shared data folder, a CLI runner, and independent tree references."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def shared_data() -> Path | None:
    value = os.environ.get("PHYLO_LLM_SHARED_DATA")
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        path = (ROOT / path).resolve()
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_data()
    if path is None:
        pytest.skip("PHYLO_LLM_SHARED_DATA is not set or not a folder: real-data tests need ../shared/data")
    return path


def run_cli(*args: str, cwd: Path | None = None, input_text: str | None = None) -> subprocess.CompletedProcess:
    """Run ``phylo-llm`` as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "phylo_llm", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=input_text,
        timeout=600,
    )


def ete_tree(newick: str):
    """An ete3 tree from Newick text (ete3 is the independent reference for Robinson-Foulds)."""
    from ete3 import Tree

    return Tree(newick, format=1, quoted_node_names=True)


def unrooted_rf(newick_a: str, newick_b: str) -> int:
    """Unrooted Robinson-Foulds distance computed by ete3."""
    a, b = ete_tree(newick_a), ete_tree(newick_b)
    return a.robinson_foulds(b, unrooted_trees=True)[0]


def split_lengths(tree) -> dict[frozenset, float]:
    """Branch length of every split of a Bio.Phylo tree, keyed by the side without the first leaf (by name).

    Written here, not taken from the package, so it can check the package.
    """
    leaves = sorted(c.name for c in tree.get_terminals())
    everything = frozenset(leaves)
    out: dict[frozenset, float] = {}
    for clade in tree.find_clades():
        side = frozenset(c.name for c in clade.get_terminals())
        if 0 < len(side) < len(leaves):
            key = everything - side if leaves[0] in side else side
            out[key] = out.get(key, 0.0) + (clade.branch_length or 0.0)
    return out


def random_dna_matrix(n: int, d: int = 16, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    return [f"org/model-{i:03d}" for i in range(n)], rng.normal(size=(n, d))
