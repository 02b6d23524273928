"""Writing and reading big trees: the package's iterative readers and writers beside Biopython, DendroPy and ete3.

    python benchmarks/bench_tree_io.py [--sizes 1000 20000] [--repeats 3]

A random binary tree over ``n`` published-style ids (with ``_``, so labels are quoted), random lengths and
supports, and NHX/FigTree features on every leaf. Each cell is the median wall time of ``--repeats`` runs in
this process, every reference measured in the same run; ``-`` marks a library without that format. Biopython's
readers and writers recurse per tree level: a random tree is shallow enough for them (deep trees are where
they fail, see ``tests/test_interop.py::test_deep_trees_in_every_format``).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from Bio import Phylo
from Bio.Phylo.BaseTree import Clade, Tree

import phylo_llm as pl

SUFFIX = {"newick": "nwk", "nhx": "nhx", "nexus": "nex", "phyloxml": "xml"}


def random_tree(n: int, seed: int = 0) -> Tree:
    rng = np.random.default_rng(seed)
    nodes = []
    for i in range(n):
        leaf = Clade(name=f"org_{i % 97}/model_{i}-7B", branch_length=float(rng.exponential()))
        leaf.features = {"family": f"fam {i % 13}", "organization": "Org (x)"}
        nodes.append(leaf)
    while len(nodes) > 2:
        i, j = sorted(rng.choice(len(nodes), size=2, replace=False), reverse=True)
        a, b = nodes.pop(i), nodes.pop(j)
        nodes.append(Clade(clades=[a, b], branch_length=float(rng.exponential()), confidence=float(rng.uniform())))
    return Tree(root=Clade(clades=nodes), rooted=True)


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.setrecursionlimit(100_000)  # Biopython's writers and readers recurse per level
    import dendropy
    import ete3

    folder = Path(tempfile.mkdtemp())
    print(f"{'n':>6} {'format':>9} {'write ours':>11} {'write Bio':>10} {'ratio':>6} {'read ours':>10} {'read Bio':>9} {'ratio':>6} "
          f"{'read DendroPy':>14} {'read ete3':>10}")
    for n in args.sizes:
        tree = random_tree(n)
        for fmt in ("newick", "nhx", "nexus", "phyloxml"):
            path = folder / f"t{n}.{SUFFIX[fmt]}"
            ours_write = timed(lambda fmt=fmt, path=path, tree=tree: pl.write_tree(tree, path, fmt), args.repeats)
            bio_fmt = "newick" if fmt == "nhx" else fmt
            bio_write = timed(lambda bio_fmt=bio_fmt, tree=tree: Phylo.write(tree, io.StringIO(), bio_fmt), args.repeats)
            text = path.read_text()
            ours_read = timed(lambda path=path: pl.read_tree(path), args.repeats)
            bio_read = timed(lambda text=text, bio_fmt=bio_fmt: Phylo.read(io.StringIO(text), bio_fmt), args.repeats)
            if fmt == "phyloxml":
                dp_read = None
            else:
                schema = "nexus" if fmt == "nexus" else "newick"
                dp_read = timed(lambda path=path, schema=schema: dendropy.Tree.get(path=str(path), schema=schema,
                                                                                 case_sensitive_taxon_labels=True), args.repeats)
            ete_read = (timed(lambda path=path: ete3.Tree(str(path), format=1, quoted_node_names=True), args.repeats)
                        if fmt in ("newick", "nhx") else None)
            cells = [f"{ours_write:11.3f}", f"{bio_write:10.3f}", f"{ours_write / bio_write:6.2f}",
                     f"{ours_read:10.3f}", f"{bio_read:9.3f}", f"{ours_read / bio_read:6.2f}",
                     f"{dp_read:14.3f}" if dp_read is not None else f"{'-':>14}",
                     f"{ete_read:10.3f}" if ete_read is not None else f"{'-':>10}"]
            print(f"{n:>6} {fmt:>9} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
