"""Where the NumPy neighbour-joining loop beats loading the compiled kernel (sets ``NUMPY_BELOW``).

    python benchmarks/bench_small_trees.py [--sizes 50 100 200 300 400 600 800]

Each measurement is a fresh process, as ``phylo-llm tree`` is: the time from before ``import phylo_llm`` to the
joins, so the compiled engine pays for importing numba and loading its cached kernel (compile once beforehand:
the first measurement of each engine is discarded), the NumPy engine for its O(n^3) arithmetic. Random 128-d
DNA, Euclidean distances; also SciPy ``linkage`` against the compiled UPGMA kernel (sets ``SCIPY_BELOW``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CODE = """
import time, json
start = time.perf_counter()
import numpy as np
import phylo_llm as pl
from phylo_llm.tree._nj import nj_merges
from phylo_llm.tree._linkage import linkage_table
x = np.random.default_rng(0).normal(size=({n}, 128))
d = pl.distance_matrix(pl.DNA([f"m{{i:05d}}" for i in range({n})], x)).values
if "{kind}" == "nj":
    nj_merges(d, engine="{engine}")
else:
    linkage_table(d, "upgma", engine="{engine}")
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""


def measure(n: int, kind: str, engine: str, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):
        result = subprocess.run([sys.executable, "-c", CODE.format(n=n, kind=kind, engine=engine)], capture_output=True, text=True,
                                check=True)
        times.append(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])
    return statistics.median(times[1:])  # the first run may compile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 300, 400, 600, 800])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'n':>6} {'NJ numpy':>10} {'NJ compiled':>12} {'ratio':>6} {'UPGMA scipy':>12} {'UPGMA compiled':>15} {'ratio':>6}")
    for n in args.sizes:
        a, b = measure(n, "nj", "numpy", args.repeats), measure(n, "nj", "compiled", args.repeats)
        c, d = measure(n, "upgma", "scipy", args.repeats), measure(n, "upgma", "compiled", args.repeats)
        print(f"{n:6d} {a:9.3f}s {b:11.3f}s {a / b:6.2f} {c:11.3f}s {d:14.3f}s {c / d:6.2f}", flush=True)


if __name__ == "__main__":
    main()
