"""Helpers the tests share: paths, a CLI runner, toy answers, and independent references (not the package's code)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

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


PROMPTS = [f"Continue the text number {k}: the river runs" for k in range(12)]


def answers_of(style: str, k: int) -> str:
    return f"{style} answer to prompt {k}: " + " ".join(f"{style}{(k * j) % 7}" for j in range(20))


def write_folder(root, models: dict[str, dict[str, str | None]], gz: bool = False):
    for model, answers in models.items():
        folder = root / model.replace("/", "_", 1)
        folder.mkdir(parents=True)
        record = {"model": model, "dataset": "toy", "items": [{"prompt": p, "response": r} for p, r in answers.items()]}
        data = json.dumps(record).encode()
        if gz:
            (folder / "responses.json.gz").write_bytes(gzip.compress(data))
        else:
            (folder / "responses.json").write_bytes(data)
    return root


def toy_models():
    styles = {"org/alpha": "alpha", "org/alpha-copy": "alpha", "org/beta": "beta", "org/gamma": "gamma", "org/delta": "delta"}
    return {m: {p: answers_of(s, k) for k, p in enumerate(PROMPTS)} for m, s in styles.items()}


def parent_map(tree) -> dict[int, object]:
    """Parent of every clade of a Bio.Phylo tree, by ``id``: written here, not taken from the package."""
    return {id(child): clade for clade in tree.find_clades() for child in clade.clades}
