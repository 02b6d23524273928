"""Trees from a relation model's -log P(related) against the plain NJ tree, model-disjoint (issue 16, item 5).

    python benchmarks/bench_relate_tree.py rand.probes ../shared/data/lineage --halves 2

The models are split into halves by components of the documented lineage graph (no model and none of its
documented relatives in both). For each half H: a relation model is trained on the pairs of the other half only,
predicts every pair, and an NJ tree is built from ``-log P(related)``; the documented pairs inside H are scored in
that tree and in the NJ tree of the Euclidean distance (same models, same pairs): tree-distance AUC of documented
pairs against all other pairs, parent rank by tree distance among all models, the share of models whose nearest
leaf (tree distance) is a documented relative, and the raw nearest model's share as the reference. Cherries: the
share of the tree's cherries (two leaves joined directly) that are documented pairs, with the mean P(related) the
model gives them.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import phylo_llm as pl
from phylo_llm.distance import DistanceMatrix, probe_distances
from phylo_llm.relate import (
    RelationModel,
    lineage_components,
    model_folds,
    pair_features,
    pair_index,
    pair_labels,
    relation_distances,
)
from phylo_llm.relate._labels import DERIVED
from phylo_llm.score import PairRanker, documented_pairs, parent_ranks
from phylo_llm.tree import build_tree, patristic_matrix


def nearest_share(values: np.ndarray, models: np.ndarray, relatives: dict[int, set[int]]) -> float:
    """Share of ``models`` whose nearest other model (by ``values``) is a documented relative."""
    masked = values.copy()
    np.fill_diagonal(masked, np.inf)
    hits = [int(np.argmin(masked[m])) in relatives[m] for m in models]
    return float(np.mean(hits)) if hits else float("nan")


def cherries(tree, ids) -> list[tuple[int, int]]:
    """Pairs of leaves that are the only two children of one node."""
    row = {m: k for k, m in enumerate(ids)}
    out = []
    for clade in tree.find_clades(order="level"):
        kids = clade.clades
        leaves = [c for c in kids if c.is_terminal()]
        if len(leaves) >= 2 and len(kids) == 2:
            out.append((row[leaves[0].name], row[leaves[1].name]))
    return out


def score_tree(name: str, dist: DistanceMatrix, edges, half: np.ndarray, relatives, related_p: np.ndarray, n: int) -> dict:
    tree = build_tree(dist, "nj")
    path = patristic_matrix(tree).subset(dist.ids)
    i, j = edges["i"].to_numpy(), edges["j"].to_numpy()
    ranks = parent_ranks(path.values, i, j)
    models = np.array(sorted(relatives))
    documented = {(min(a, b), max(a, b)) for a, b in zip(i, j)}
    pairs = [(min(a, b), max(a, b)) for a, b in cherries(tree, dist.ids)]
    inside = [p for p in pairs if half[p[0]] and half[p[1]]]
    a_idx = np.array([p[0] for p in inside], dtype=int)
    b_idx = np.array([p[1] for p in inside], dtype=int)
    cond = n * a_idx - a_idx * (a_idx + 1) // 2 + (b_idx - a_idx - 1)
    return {
        "tree": name, "auc_tree": PairRanker(path).auc(i, j), "median_parent_rank_tree": float(np.median(ranks)),
        "top1_parent_tree": float(np.mean(ranks <= 1)), "nearest_leaf_is_relative": nearest_share(path.values, models, relatives),
        "cherries_in_half": len(inside), "cherries_documented": float(np.mean([p in documented for p in inside])) if inside else None,
        "cherries_mean_p_related": float(np.mean(related_p[cond])) if inside else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probes")
    parser.add_argument("lineage")
    parser.add_argument("--halves", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    probes = pl.load_probes(args.probes)
    lineage = pl.load_lineage(args.lineage)
    n = probes.n_models
    x = pair_features(probes)
    i, j = pair_index(n)
    y = pair_labels(lineage, probes.ids, i, j)
    folds = model_folds(lineage_components(lineage, probes.ids), args.halves, args.seed)
    euclid = probe_distances(probes, "euclidean")
    all_edges = documented_pairs(lineage, list(probes.ids))
    all_edges = all_edges[all_edges["relation"].isin((*DERIVED, "same_weights"))]
    results = []
    for h in range(args.halves):
        start = time.perf_counter()
        train = (folds[i] != h) & (folds[j] != h) & (y >= 0)
        model = RelationModel.fit(x[train], y[train], i[train], probes, args.seed)
        proba = model.predict_proba(x)
        related_p = 1.0 - proba[:, 0]
        half = folds == h
        edges = all_edges[half[all_edges["i"].to_numpy()] & half[all_edges["j"].to_numpy()]]
        relatives: dict[int, set[int]] = {}
        for a, b in zip(edges["i"], edges["j"]):
            relatives.setdefault(int(a), set()).add(int(b))
            relatives.setdefault(int(b), set()).add(int(a))
        models = np.array(sorted(relatives))
        row = {"half": h, "models_in_half": int(half.sum()), "edges": len(edges),
               "raw_nearest_is_relative": nearest_share(euclid.values, models, relatives),
               "model_nearest_is_relative": nearest_share(relation_distances(model, probes, proba).values, models, relatives)}
        for name, dist in (("nj_euclidean", euclid), ("nj_relation_model", relation_distances(model, probes, proba))):
            row[name] = score_tree(name, dist, edges, half, relatives, related_p, n)
        row["seconds"] = time.perf_counter() - start
        results.append(row)
        print(json.dumps(row, indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
