"""Leave-one-out placement on real data: remove each model from the tree, place it back, look where it lands.

    python benchmarks/placement_loo.py rand.probes --lineage ../shared/data/lineage [--limit N]

For every model with a documented parent or same-weights copy among the
others (``documented_pairs``), reports the share whose nearest leaf after
placement (by tree distance from the placed leaf) is such a relative, beside
the same share in the full tree (the model's nearest leaf when the tree was
built with it), by raw distance (its nearest model), and by chance (a random
other model). Also: how often the model returns to exactly the edge it was
removed from. Timings of the placements alone are printed.

``--relation-model halves`` (issue 16, item 5): the tree and the placements use
a relation model's ``-log P(related)`` instead of the distance, model-disjoint:
the models are split into two halves by lineage components; for each half, a
relation model trained only on the other half's pairs scores every pair, and
only that half's models are left out and placed back. The raw-distance and
chance columns are reported for the same models.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections import Counter

import numpy as np

from phylo_llm import load_lineage, load_probes, read_tree
from phylo_llm.distance import probe_distances
from phylo_llm.score import documented_pairs
from phylo_llm.tree import (
    build_tree,
    distances_from_point,
    flatten,
    insert_placements,
    parent_map,
    place_distances,
    tree_split_masks,
)

FAMILY_LIKE = {"same_weights"}


def neighbour_support(tree, ids) -> dict[str, float]:
    """Per leaf: the smallest support of the splits around it (its sibling clades and its parent's clade)."""
    parent = parent_map(tree)
    out = {}
    for leaf in tree.get_terminals():
        up = parent[id(leaf)]
        around = [c for c in up.clades if c is not leaf] + ([up] if id(up) in parent else [])
        out[leaf.name] = min((c.confidence for c in around if c.confidence is not None), default=1.0)
    return out


def leave_one_out(tree_dist, dist, ids, eligible, relatives, args, supported) -> dict:
    """Counts of the leave-one-out placements of ``eligible`` into the NJ tree of ``tree_dist`` (raw nearest by ``dist``)."""
    tree = build_tree(tree_dist)
    full = flatten(tree)
    column = {name: i for i, name in enumerate(full.names)}
    order = np.array([column[name] for name in ids])  # ids index -> flat leaf column
    reference = {m.tobytes() for m in tree_split_masks(tree, ids)[1]}
    hits = {"placed": 0, "full tree": 0, "raw distance": 0, "chance": 0.0}
    returned, seconds = 0, 0.0
    strong = {"n": 0, "placed": 0, "full tree": 0, "returned": 0}
    for done, i in enumerate(eligible, start=1):
        others = np.array([j for j in range(len(ids)) if j != i])
        # Full tree: nearest leaf of the model's own leaf.
        to_leaves = distances_from_point(full, int(full.leaf_nodes[order[i]]))[order]
        to_leaves[i] = np.inf
        hits["full tree"] += int(np.argmin(to_leaves)) in relatives[i]
        raw = dist.values[i].copy()
        raw[i] = np.inf
        hits["raw distance"] += int(np.argmin(raw)) in relatives[i]
        hits["chance"] += len(relatives[i]) / (len(ids) - 1)
        pruned = copy.deepcopy(tree)
        pruned.prune(ids[i])
        flat = flatten(pruned)
        start = time.perf_counter()
        found = place_distances(flat, [ids[i]], tree_dist.values[i, others][None], [ids[j] for j in others],
                                args.criterion, args.nearest)
        seconds += time.perf_counter() - start
        # Distance from the attachment point to each remaining leaf, then the nearest one.
        point = distances_from_point(flat, int(found.edge[0]), float(found.distal[0]))
        nearest = ids.index(flat.names[int(np.argmin(point))])
        hits["placed"] += nearest in relatives[i]
        back = insert_placements(pruned, found)
        same = {m.tobytes() for m in tree_split_masks(back, ids)[1]} == reference
        returned += same
        if supported is not None and supported[ids[i]] >= 0.7:
            strong["n"] += 1
            strong["placed"] += nearest in relatives[i]
            strong["full tree"] += int(np.argmin(to_leaves)) in relatives[i]
            strong["returned"] += same
        if done % 100 == 0:
            print(f"... {done}/{len(eligible)}", flush=True)
    return {"hits": Counter(hits), "returned": returned, "seconds": seconds, "strong": Counter(strong)}


def lineage_halves(lineage, ids) -> np.ndarray:
    """0 or 1 per model: two halves of the models, each a union of lineage components (model-disjoint)."""
    from phylo_llm.relate import lineage_components, model_folds

    return model_folds(lineage_components(lineage, ids), 2, seed=0)


def model_distances(probes, lineage, ids, half: int, dist):
    """-log P(related) of every pair by a relation model trained on the pairs inside the other half only."""
    from phylo_llm.relate import RelationModel, pair_features, pair_index, pair_labels, relation_distances

    halves = lineage_halves(lineage, ids)
    i, j = pair_index(len(ids))
    x = pair_features(probes)
    y = pair_labels(lineage, ids, i, j)
    train = (halves[i] != half) & (halves[j] != half)
    model = RelationModel.fit(x[train], y[train], i[train], None, seed=0)
    proba = model.predict_proba(x)
    return relation_distances(model, probes, proba).subset(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache")
    parser.add_argument("--lineage", required=True)
    parser.add_argument("--metric", default="euclidean")
    parser.add_argument("--limit", type=int, default=0, help="only the first N eligible models")
    parser.add_argument("--nearest", type=int, default=None, help="fit only the N nearest leaves (default: all)")
    parser.add_argument("--criterion", default="fm")
    parser.add_argument("--relation-model", choices=("halves",),
                        help="halves: tree and placement by -log P(related) of a relation model trained on the other half")
    parser.add_argument("--support-tree", help="the same tree with bootstrap supports (phylo-llm tree --bootstrap): "
                        "also report models whose neighbouring splits have support >= 0.7")
    args = parser.parse_args()

    probes = load_probes(args.cache)
    probes = probes.subset(sorted(probes.ids))  # rows in the order of `ids` below
    dist = probe_distances(probes, args.metric)
    ids = tuple(sorted(dist.ids))
    dist = dist.subset(ids)
    lineage = load_lineage(args.lineage)
    pairs = documented_pairs(lineage, ids)
    relatives: dict[int, set[int]] = {}
    for child, parent, relation in zip(pairs["i"], pairs["j"], pairs["relation"]):
        relatives.setdefault(int(child), set()).add(int(parent))
        if relation in FAMILY_LIKE:
            relatives.setdefault(int(parent), set()).add(int(child))
    eligible = sorted(relatives)[: args.limit or None]
    supported = neighbour_support(read_tree(args.support_tree), ids) if args.support_tree else None
    if args.relation_model == "halves":
        runs = [(model_distances(probes, lineage, ids, half, dist), [i for i in eligible if halves[i] == half])
                for halves in [lineage_halves(lineage, ids)] for half in (0, 1)]
    else:
        runs = [(dist, eligible)]
    totals: dict = {}
    for tree_dist, chosen in runs:
        counts = leave_one_out(tree_dist, dist, ids, chosen, relatives, args, supported)
        for key, value in counts.items():
            if isinstance(value, Counter):
                totals.setdefault(key, Counter()).update(value)
            else:
                totals[key] = totals.get(key, 0) + value
    hits, returned, seconds, strong = totals["hits"], totals["returned"], totals["seconds"], totals["strong"]
    eligible = [i for _, chosen in runs for i in chosen]
    n = len(eligible)
    print(f"{probes.source}: {len(ids)} models, {n} with a documented parent or same-weights copy present ({args.metric}, NJ)")
    for name, value in hits.items():
        print(f"  nearest leaf is a documented relative, {name:>12}: {value / n:.3f}")
    print(f"  returned to the edge it was removed from: {returned / n:.3f}")
    if supported is not None:
        k = max(strong["n"], 1)
        print(f"  {strong['n']} of them with neighbouring splits >= 0.7 support: nearest leaf a documented relative "
              f"{strong['placed'] / k:.3f} placed, {strong['full tree'] / k:.3f} full tree; returned {strong['returned'] / k:.3f}")
    print(f"  placement time: {seconds:.2f} s for {n} placements into {len(ids) - 1}-leaf trees ({1000 * seconds / n:.2f} ms each)")


if __name__ == "__main__":
    main()
