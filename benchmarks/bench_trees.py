"""Tree building: ours against the references, timed in the same run (a benchmark, not a test).

    python benchmarks/bench_trees.py [--sizes 1000 4000 8000] [--skip-slow] [--cases "ours nj" "anjl dynamic_nj" ...]

Random 128-d Gaussian DNA, Euclidean distances. Each measurement runs in a fresh subprocess so its peak
resident memory (which includes the distance matrix) can be read. References (the ``[bench]`` extra):
anjl 1.5 ``dynamic_nj`` / ``canonical_nj`` / ``rapid_nj`` (float32, condensed input), scikit-bio ``nj``,
SciPy ``linkage`` (``average``/``weighted``) for UPGMA/WPGMA, SciPy ``pdist`` for distances. Ours runs as
``phylo-llm tree`` does: distances in float32 from 4,096 models on, the tree built in place. Prints one line per measurement and the
ratio ours / reference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

SETUP = """
import numpy as np, time, resource, json, warnings
warnings.simplefilter("ignore")
n = {n}
x = np.random.default_rng(0).normal(size=(n, 128))
from scipy.spatial.distance import pdist, squareform
"""

CASES = {
    "ours nj": "import phylo_llm as pl\nfrom phylo_llm.tree._nj import warm_up\nd = pl.distance_matrix(pl.DNA([f'm{{i:06d}}' for i in range(n)], x))\nwarm_up(n, d.values.dtype)\nt = time.perf_counter(); pl.build_tree(d, 'nj', overwrite=True)",
    "anjl dynamic_nj": "import anjl\nc = pdist(x).astype(np.float32)\nanjl.dynamic_nj(squareform(pdist(x[:5])).astype(np.float32))\nt = time.perf_counter(); anjl.dynamic_nj(c, copy=False)",
    "anjl canonical_nj": "import anjl\nc = pdist(x).astype(np.float32)\nanjl.canonical_nj(squareform(pdist(x[:5])).astype(np.float32))\nt = time.perf_counter(); anjl.canonical_nj(c, copy=False)",
    "anjl rapid_nj": "import anjl\nc = pdist(x).astype(np.float32)\nanjl.rapid_nj(squareform(pdist(x[:5])).astype(np.float32))\nt = time.perf_counter(); anjl.rapid_nj(c, copy=False)",
    "scikit-bio nj": "from skbio import DistanceMatrix\nfrom skbio.tree import nj\nd = DistanceMatrix(squareform(pdist(x)))\nt = time.perf_counter(); nj(d)",
    "ours upgma": "import phylo_llm as pl\nd = pl.distance_matrix(pl.DNA([f'm{{i:06d}}' for i in range(n)], x))\npl.build_tree(pl.DistanceMatrix(d.ids[:4], d.values[:4,:4]), 'upgma')\nt = time.perf_counter(); pl.build_tree(d, 'upgma', overwrite=True)",
    "scipy average": "from scipy.cluster.hierarchy import linkage\nc = pdist(x)\nt = time.perf_counter(); linkage(c, 'average')",
    "ours wpgma": "import phylo_llm as pl\nd = pl.distance_matrix(pl.DNA([f'm{{i:06d}}' for i in range(n)], x))\npl.build_tree(pl.DistanceMatrix(d.ids[:4], d.values[:4,:4]), 'wpgma')\nt = time.perf_counter(); pl.build_tree(d, 'wpgma', overwrite=True)",
    "scipy weighted": "from scipy.cluster.hierarchy import linkage\nc = pdist(x)\nt = time.perf_counter(); linkage(c, 'weighted')",
    "ours distances": "import phylo_llm as pl\ndna = pl.DNA([f'm{{i:06d}}' for i in range(n)], x)\npl.distance_matrix(pl.DNA(dna.ids[:5], x[:5]), dtype=np.float32)\nt = time.perf_counter(); pl.distance_matrix(dna)",
    "scipy pdist": "t = time.perf_counter(); pdist(x)",
}
REFERENCE = {"ours nj": "anjl dynamic_nj", "ours upgma": "scipy average", "ours wpgma": "scipy weighted", "ours distances": "scipy pdist"}
SLOW = {"anjl canonical_nj": 4000, "anjl rapid_nj": 8000, "scikit-bio nj": 4000}


def measure(case: str, n: int) -> dict:
    code = SETUP.format(n=n) + CASES[case].format() + "\nseconds = time.perf_counter() - t\nprint(json.dumps({'seconds': seconds, 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 8000])
    parser.add_argument("--skip-slow", action="store_true", help="skip references that take minutes at large n")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES), help="measure only these")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each case, interleaved across cases (machine load hits all alike); the median is "
                        "reported with the range (default: 3)")
    args = parser.parse_args()
    for n in args.sizes:
        cases = [c for c in args.cases if not (c in SLOW and n > SLOW[c] and args.skip_slow)]
        runs: dict[str, list[dict]] = {case: [] for case in cases}
        for _ in range(max(args.repeats, 1)):
            for case in cases:
                runs[case].append(measure(case, n))
        results = {}
        for case in cases:
            good = [r for r in runs[case] if "seconds" in r]
            if not good:
                print(f"n={n:6d} {case:18s} {runs[case][0]['error']}", flush=True)
                continue
            seconds = sorted(r["seconds"] for r in good)
            results[case] = {"seconds": float(statistics.median(seconds)), "peak_mb": max(r["peak_mb"] for r in good)}
            print(f"n={n:6d} {case:18s} {results[case]['seconds']:8.2f} s (median of {len(good)}: {seconds[0]:.2f}-"
                  f"{seconds[-1]:.2f})  peak {results[case]['peak_mb']:7.0f} MB", flush=True)
        for ours, ref in REFERENCE.items():
            if ours in results and ref in results:
                print(f"n={n:6d} ratio {ours} / {ref}: {results[ours]['seconds'] / results[ref]['seconds']:.2f} (medians)",
                      flush=True)


if __name__ == "__main__":
    main()
