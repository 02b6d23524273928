"""Relation model, cross-validated model-disjoint, against the plain distance and chance (issue 16's table).

    python benchmarks/bench_relate.py rand.probes ../shared/data/lineage --folds 5

``rand.probes``: ``phylo-llm extract .../dna-out/rand -o rand.parquet --cache rand.probes`` (default settings).
Folds are unions of components of the documented lineage graph: no model and none of its documented relatives
is in both training and test. Prints the per-class AUC / average precision of the model, of the Euclidean and
CSLS distances and of a permuted score, the calibration error, precision at recall 0.5 / 0.8 and parent retrieval
among the models of the child's fold.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import phylo_llm as pl
from phylo_llm.relate import FEATURES, cross_validate, lineage_components, model_folds, pair_features, pair_index, pair_labels
from phylo_llm.relate._labels import DERIVED
from phylo_llm.score import documented_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probes")
    parser.add_argument("lineage")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    parser.add_argument("--estimators", nargs="+", default=["logistic", "boosting"])
    args = parser.parse_args()
    probes = pl.load_probes(args.probes)
    lineage = pl.load_lineage(args.lineage)
    start = time.perf_counter()
    x = pair_features(probes)
    features_s = time.perf_counter() - start
    i, j = pair_index(probes.n_models)
    y = pair_labels(lineage, probes.ids, i, j)
    folds = model_folds(lineage_components(lineage, probes.ids), args.folds, args.seed)
    edges_table = documented_pairs(lineage, list(probes.ids))
    edges_table = edges_table[edges_table["relation"].isin((*DERIVED, "same_weights"))]
    edges = edges_table[["i", "j"]].to_numpy()
    print(f"{probes.n_models} models, {len(i):,} pairs, features in {features_s:.1f} s; labels: "
          + ", ".join(f"{name} {int(np.sum(y == k)):,}" for k, name in enumerate(("unrelated", "same_weights", "derived")))
          + f", kin (not scored) {int(np.sum(y < 0)):,}")
    results = {}
    for estimator in args.estimators:
        start = time.perf_counter()
        report = cross_validate(x, y, i, j, folds, x[:, FEATURES.index("distance")], edges, seed=args.seed, estimator=estimator)
        report["seconds"] = time.perf_counter() - start
        results[estimator] = report
    # The CSLS distance as the second unsupervised reference (the model columns repeat the first estimator's).
    results["csls_reference"] = cross_validate(x, y, i, j, folds, x[:, FEATURES.index("distance_csls")], edges,
                                               seed=args.seed, estimator=args.estimators[0])
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
