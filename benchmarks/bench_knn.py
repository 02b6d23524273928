"""k nearest neighbours of every model of a partitioned dataset: exact blockwise vs faiss IVF, with recall.

For each size, a simulated hub (``phylo_llm.simulate.simulate_hub``, 128-d)
is written as a dataset; then, on a LocalCluster of ``--workers`` workers,
``phylo_llm.hub.knn`` exact and with ``index="ivf"``, its recall@k against
exact search on a uniform sample of 1,000 models, and (``--sklearn``) scikit-
learn's brute-force ``NearestNeighbors`` in this process as the reference.
Peak memory: resident memory of this process and all its children, sampled.

    nice -n 10 python benchmarks/bench_knn.py --models 200000 --sklearn
    nice -n 10 python benchmarks/bench_knn.py --models 1000000 --skip-exact
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil


class Peak:
    """Peak summed RSS of this process and its descendants (the LocalCluster's workers), sampled every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._done.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]))
            time.sleep(0.2)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, nargs="+", required=True)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sklearn", action="store_true", help="also scikit-learn brute force in this process")
    parser.add_argument("--skip-exact", action="store_true")
    parser.add_argument("--folder")
    args = parser.parse_args()
    from phylo_llm.hub import DatasetWriter, connect, knn, open_dataset, recall_at_k
    from phylo_llm.simulate import HUB_CHUNK, simulate_hub

    with tempfile.TemporaryDirectory(dir=args.folder) as work:
        for n in args.models:
            hub = simulate_hub(n, dim=128, seed=0)
            folder = Path(work) / f"knn{n}"
            with DatasetWriter(folder, 128, {"probe_set": "simulated"}, HUB_CHUNK) as out:
                for start in range(0, n, HUB_CHUNK):
                    out.write(hub.ids[start:start + HUB_CHUNK], hub.observed(start, min(start + HUB_CHUNK, n)))
            del hub
            data = open_dataset(folder)
            with connect(workers=args.workers) as client:
                if not args.skip_exact:
                    with Peak() as peak:
                        start = time.perf_counter()
                        exact, _ = knn(data, client, args.k)
                    print(f"n={n}: exact blockwise kNN {time.perf_counter() - start:.1f} s, peak {peak.peak / 1e9:.2f} GB", flush=True)
                with Peak() as peak:
                    start = time.perf_counter()
                    found, _ = knn(data, client, args.k, index="ivf")
                print(f"n={n}: faiss IVF kNN {time.perf_counter() - start:.1f} s, peak {peak.peak / 1e9:.2f} GB", flush=True)
                start = time.perf_counter()
                recall = recall_at_k(data, client, found, args.k, sample=1000)
                print(f"n={n}: IVF recall@{args.k} on 1,000 sampled models {recall:.4f} ({time.perf_counter() - start:.1f} s)", flush=True)
            if args.sklearn:
                from sklearn.neighbors import NearestNeighbors

                vectors = data.load().vectors
                with Peak() as peak:
                    start = time.perf_counter()
                    _, reference = NearestNeighbors(n_neighbors=args.k + 1, algorithm="brute").fit(vectors).kneighbors(vectors)
                print(f"n={n}: scikit-learn brute force {time.perf_counter() - start:.1f} s, peak {peak.peak / 1e9:.2f} GB", flush=True)
                if not args.skip_exact:
                    same = np.mean([len(set(a) & set(b[b != i])) / args.k for i, (a, b) in enumerate(zip(exact, reference))])
                    print(f"n={n}: exact blockwise vs scikit-learn: {same:.4f} of neighbours shared", flush=True)


if __name__ == "__main__":
    main()
