"""Hub-scale tree: time, peak memory of all processes, and accuracy against the true tree and exact NJ.

For each size: ``phylo-llm simulate --models N`` (a partitioned dataset with
its true tree), then ``phylo-llm tree DNA -o hub.nwk --backbone B --workers W``
as a user runs it, sampling the resident memory of the command and every
process it starts (the LocalCluster's workers) every 0.2 s. With
``--compare``, exact NJ (``phylo-llm tree`` on the same data, dense) and
anjl's ``dynamic_nj`` run in the same session; every tree is scored against
the true tree: normalised Robinson-Foulds distance (unrooted, DendroPy) and
the share of the true tree's splits recovered.

    nice -n 10 python benchmarks/bench_hub.py --models 20000 --compare
    nice -n 10 python benchmarks/bench_hub.py --models 200000
    nice -n 10 python benchmarks/bench_hub.py --models 1000000 --skip-accuracy
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """Run ``command``; wall seconds, peak summed RSS (GB) of it and all its descendants, standard error."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except psutil.Error:
                total = 0
            peak = max(peak, total)
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, stderr = process.communicate()
    done.set()
    watcher.join()
    if process.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr}")
    return time.perf_counter() - start, peak / 1e9, stderr


#: Above this many leaves, splits are compared by hash (DendroPy's bitmasks need n^2 / 8 bytes per tree).
HASHED_ABOVE = 30_000


def hashed_splits(path: Path, names: list[str]) -> set[tuple[int, int]]:
    """Non-trivial splits of a tree read unrooted, each as two 64-bit sums of random leaf keys (the smaller side's
    complement taken canonically): O(n) memory; two splits collide with probability ~2^-128."""
    import numpy as np

    import phylo_llm as pl

    clades, parent, _ = pl.tree.preorder_arrays(pl.read_tree(path))
    rng = np.random.default_rng(12345)
    keys = {name: rng.integers(0, 2**63, size=2, dtype=np.uint64) for name in names}
    value = np.zeros((len(clades), 2), dtype=np.uint64)
    size = np.zeros(len(clades), dtype=np.int64)
    for node, clade in enumerate(clades):
        if not clade.clades:
            value[node] = keys[clade.name]
            size[node] = 1
    with np.errstate(over="ignore"):  # sums modulo 2^64 on purpose
        for node in range(len(clades) - 1, 0, -1):  # children after parents in preorder: fold upwards
            value[parent[node]] += value[node]
            size[parent[node]] += size[node]
        total = value[0].copy()
        n = int(size[0])
        out = set()
        for node in range(1, len(clades)):
            if 2 <= size[node] <= n - 2:
                side, other = tuple(int(v) for v in value[node]), tuple(int(v) for v in total - value[node])
                out.add(min(side, other))
    return out


def splits_score(tree_path: Path, truth_path: Path) -> tuple[float, float]:
    """(normalised RF, share of true splits recovered), unrooted: DendroPy's bipartitions, or hashed splits above
    :data:`HASHED_ABOVE` leaves (checked equal to DendroPy's wherever both run)."""
    import phylo_llm as pl

    names = sorted(leaf.name for leaf in pl.tree.iter_leaves(pl.read_tree(truth_path)))
    truth_h, ours_h = hashed_splits(truth_path, names), hashed_splits(tree_path, names)
    hashed = (len(truth_h ^ ours_h) / (2 * (len(names) - 3)), len(truth_h & ours_h) / max(len(truth_h), 1))
    if len(names) > HASHED_ABOVE:
        return hashed
    import dendropy
    from dendropy.calculate import treecompare

    taxa = dendropy.TaxonNamespace()
    truth = dendropy.Tree.get(path=str(truth_path), schema="newick", taxon_namespace=taxa, preserve_underscores=True, rooting="force-unrooted")
    tree = dendropy.Tree.get(path=str(tree_path), schema="newick", taxon_namespace=taxa, preserve_underscores=True, rooting="force-unrooted")
    truth.encode_bipartitions()
    tree.encode_bipartitions()
    true_splits = {b.split_bitmask for b in truth.bipartition_encoding if not b.is_trivial()}
    ours = {b.split_bitmask for b in tree.bipartition_encoding if not b.is_trivial()}
    rf = treecompare.symmetric_difference(truth, tree) / (2 * (len(taxa) - 3))
    result = rf, len(true_splits & ours) / max(len(true_splits), 1)
    assert abs(result[0] - hashed[0]) < 1e-12 and abs(result[1] - hashed[1]) < 1e-12, (result, hashed)
    return result


def _leaf_levels(path: Path):
    """Leaf names, and for every node its parent, number of edges from the root and binary-lifting table."""
    import numpy as np

    import phylo_llm as pl

    clades, parent, _ = pl.tree.preorder_arrays(pl.read_tree(path))
    level = np.zeros(len(parent), dtype=np.int64)
    for i in range(1, len(parent)):
        level[i] = level[parent[i]] + 1
    up = [np.where(parent >= 0, parent, 0)]
    for _ in range(int(level.max()).bit_length()):
        up.append(up[-1][up[-1]])
    leaves = {c.name: i for i, c in enumerate(clades) if not c.clades}
    return leaves, level, np.array(up)


def _edge_distance(a, b, level, up):
    """Edges between nodes ``a`` and ``b`` (arrays), by vectorised binary lifting."""
    import numpy as np

    a, b = a.copy(), b.copy()
    swap = level[a] < level[b]
    a[swap], b[swap] = b[swap], a[swap]
    depth_a, depth_b = level[a].copy(), level[b].copy()
    diff = level[a] - level[b]
    for j in range(len(up)):
        move = (diff >> j) & 1 == 1
        a[move] = up[j][a[move]]
    for j in range(len(up) - 1, -1, -1):
        differ = up[j][a] != up[j][b]
        a[differ], b[differ] = up[j][a[differ]], up[j][b[differ]]
    top = np.where(a == b, a, up[0][a])
    return depth_a + depth_b - 2 * level[top]


def quartet_score(tree_path: Path, truth_path: Path, samples: int = 200_000, seed: int = 0) -> float:
    """Share of resolved quartets of the true tree (random sample) that ``tree`` resolves the same way (topology only)."""
    import numpy as np

    truth, t_level, t_up = _leaf_levels(truth_path)
    ours, o_level, o_up = _leaf_levels(tree_path)
    names = sorted(truth)
    rng = np.random.default_rng(seed)
    pick = np.array([rng.choice(len(names), 4, replace=False) for _ in range(samples)])

    def topology(leaves, level, up):
        nodes = np.array([[leaves[names[i]] for i in row] for row in pick])
        d = {(i, j): _edge_distance(nodes[:, i], nodes[:, j], level, up) for i in range(4) for j in range(i + 1, 4)}
        sums = np.stack([d[0, 1] + d[2, 3], d[0, 2] + d[1, 3], d[0, 3] + d[1, 2]], axis=1)
        best = sums.argmin(axis=1)
        resolved = (np.sort(sums, axis=1)[:, 0] < np.sort(sums, axis=1)[:, 1])
        return best, resolved

    true_best, true_resolved = topology(truth, t_level, t_up)
    our_best, our_resolved = topology(ours, o_level, o_up)
    return float(np.mean((true_best == our_best)[true_resolved] & our_resolved[true_resolved]))


def anjl_tree(dna_folder: Path, out: Path) -> float:
    """anjl ``dynamic_nj`` on the same distances (float32 square matrix); seconds of the tree build alone."""
    import anjl
    import numpy as np

    import phylo_llm as pl

    dna = pl.load_dna(dna_folder)
    values = np.asarray(pl.distance_matrix(dna).values, dtype=np.float32)  # float32 from 4,096 models: no copy
    start = time.perf_counter()
    z = anjl.dynamic_nj(values, disallow_negative_distances=True, copy=False)  # one n x n matrix, as our NJ holds
    seconds = time.perf_counter() - start
    del values
    from phylo_llm.tree import Merges, tree_from_merges

    merges = Merges(dna.n_models, [(int(r[0]), int(r[1])) for r in z], [(float(r[2]), float(r[3])) for r in z])
    pl.write_tree(tree_from_merges(dna.ids, merges, rooted=False), out)
    return seconds


def compare_anjl(n: int, folder: Path) -> None:
    """anjl's tree of the folder's DNA, timed and scored against the truth."""
    try:
        seconds = anjl_tree(folder / "dna", folder / "anjl.nwk")
    except ImportError:
        print("anjl is not installed (pip install -e '.[bench]')")
        return
    rf, recovered = splits_score(folder / "anjl.nwk", folder / "true_tree.nwk")
    quartets = quartet_score(folder / "anjl.nwk", folder / "true_tree.nwk")
    print(f"n={n}: anjl dynamic_nj {seconds:.1f} s (build only), RF {rf:.4f}, recovered {recovered:.4f}, quartets {quartets:.4f}",
          flush=True)


@contextlib.contextmanager
def _kept(folder: str):
    """A work folder that is kept (its trees can be scored again)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    yield folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, nargs="+", required=True)
    parser.add_argument("--backbone", type=int, default=10_000, help="backbone size (default: 10,000, the command's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--compare", action="store_true", help="also exact NJ and anjl dynamic_nj, scored against the truth")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--anjl-only", action="store_true", help="with --folder: score anjl on a kept folder (its data and truth) only")
    parser.add_argument("--folder", help="work folder, kept (default: a temporary one, removed)")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "phylo_llm"]
    with (tempfile.TemporaryDirectory() if args.folder is None else _kept(args.folder)) as work:
        for n in args.models:
            folder = Path(work) / f"hub{n}"
            if args.anjl_only:
                compare_anjl(n, folder)
                continue
            seconds, peak, _ = run_measured([*cli, "simulate", "--models", str(n), "--dim", str(args.dim), "-o", str(folder), "-q"])
            print(f"n={n}: simulate {seconds:.1f} s, peak {peak:.2f} GB", flush=True)
            hub = [*cli, "tree", str(folder / "dna"), "-o", str(folder / "hub.nwk"), "--workers", str(args.workers),
                   "--backbone", str(args.backbone)]
            seconds, peak, stderr = run_measured(hub)
            print(f"n={n}: hub tree {seconds:.1f} s, peak {peak:.2f} GB (all processes)\n  {stderr.strip()}", flush=True)
            if not args.skip_accuracy:
                rf, recovered = splits_score(folder / "hub.nwk", folder / "true_tree.nwk")
                quartets = quartet_score(folder / "hub.nwk", folder / "true_tree.nwk")
                print(f"n={n}: hub tree RF {rf:.4f}, true splits recovered {recovered:.4f}, quartets {quartets:.4f}", flush=True)
            if args.compare:
                nj_seconds, nj_peak, _ = run_measured([*cli, "tree", str(folder / "dna"), "-o", str(folder / "nj.nwk"), "-q"])
                rf, recovered = splits_score(folder / "nj.nwk", folder / "true_tree.nwk")
                quartets = quartet_score(folder / "nj.nwk", folder / "true_tree.nwk")
                print(f"n={n}: exact NJ {nj_seconds:.1f} s, peak {nj_peak:.2f} GB, RF {rf:.4f}, recovered {recovered:.4f}, quartets {quartets:.4f}; "
                      f"hub/NJ time ratio {seconds / nj_seconds:.2f}", flush=True)
                compare_anjl(n, folder)


if __name__ == "__main__":
    main()
