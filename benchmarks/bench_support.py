"""Time probe-bootstrap support from a per-probe cache.

    python benchmarks/bench_support.py rand.probes [--replicates 100] [--metric euclidean] [--method nj]

Prints the whole bootstrap's wall time (reference tree + replicates + FBP and
TBE counting), and, measured in the same run, one replicate's distance matrix
and one tree build, so the overhead of resampling and support counting is
visible. Target (issue 9): 100 replicates over the 1,576-model rand set in
<= 5 minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from phylo_llm import bootstrap_support, load_probes
from phylo_llm.distance import probe_distances
from phylo_llm.tree import build_tree, probe_resampling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache")
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--metric", default="euclidean")
    parser.add_argument("--method", default="nj")
    args = parser.parse_args()
    probes = load_probes(args.cache)
    draw = probe_resampling(probes.n_probes, 1, seed=123)[0]
    build_tree(probe_distances(probes, args.metric, draw), args.method)  # compile and warm the caches

    start = time.perf_counter()
    dist = probe_distances(probes, args.metric, draw)
    one_distance = time.perf_counter() - start
    start = time.perf_counter()
    build_tree(dist, args.method)
    one_tree = time.perf_counter() - start

    start = time.perf_counter()
    result = bootstrap_support(probes, metric=args.metric, method=args.method, replicates=args.replicates, seed=0)
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per = total / (args.replicates + 1)
    print(f"{probes.source}: {probes.n_models} models x {probes.n_probes} probes x {probes.values.shape[2]}, "
          f"{args.metric}, {args.method}")
    print(f"  bootstrap, {args.replicates} replicates: {total:.1f} s ({per:.2f} s per tree; target <= 300 s)")
    print(f"  one replicate's distances {one_distance:.2f} s + one tree {one_tree:.2f} s = {one_distance + one_tree:.2f} s "
          f"-> resampling and support counting add {per / (one_distance + one_tree):.2f}x")
    print(f"  peak RSS {peak:.0f} MB; median FBP {np.median(result.fbp):.2f}, median TBE {np.median(result.tbe):.2f}, "
          f"splits with FBP >= 0.7: {(result.fbp >= 0.7).mean():.2f}, TBE >= 0.7: {(result.tbe >= 0.7).mean():.2f}")


if __name__ == "__main__":
    main()
