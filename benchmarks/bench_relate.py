"""Relation model, cross-validated model-disjoint, against the plain distance and chance (issue 16's table).

    python benchmarks/bench_relate.py rand.probes ../shared/data/lineage --folds 5 --json bench-rand.json
    python benchmarks/bench_relate.py paper.probes ../shared/data/lineage --folds 5 --estimators logistic
    python benchmarks/bench_relate.py rand.probes builtin --check-default   # the shipped model, re-trained

``rand.probes``: ``phylo-llm extract .../dna-out/rand -o rand.parquet --cache rand.probes`` (default settings).
Folds are unions of components of the documented lineage graph: no model and none of its documented relatives
is in both training and test. Prints the per-class AUC / average precision of the model, of the Euclidean and
CSLS distances and of a permuted score, the calibration error, precision at recall 0.5 / 0.8, parent retrieval
among the models of the child's fold, and direction accuracy on directed edges beside its baselines.
``--check-default`` re-trains the shipped default model the way it was made and compares its numbers and card.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import phylo_llm as pl
from phylo_llm.relate import (
    evaluate_direction,
    evaluate_relations,
    lineage_components,
    load_relation_model,
    model_folds,
    pair_features,
    train_relation_model,
)


def check_default(probes, lineage, features) -> dict:
    """Re-train the shipped model (``relate train INPUT --lineage builtin``, seed 0, 5 folds) and compare."""
    shipped = load_relation_model("default")
    start = time.perf_counter()
    again = train_relation_model(probes, lineage, "builtin", n_folds=5, seed=0, features=features)
    seconds = time.perf_counter() - start
    x = features[:: max(1, len(features) // 20000)]
    diff = float(np.max(np.abs(shipped.predict_proba(x) - again.predict_proba(x))))
    cv_old, cv_new = shipped.card["cross_validation"], again.card["cross_validation"]
    return {
        "seconds": seconds, "max_probability_difference": diff,
        "card_pairs_equal": shipped.card["training"]["pairs"] == again.card["training"]["pairs"],
        "card_ids_equal": shipped.card["training"]["ids_sha256"] == again.card["training"]["ids_sha256"],
        "cv_auc": {k: (cv_old[k]["auc_model"], cv_new[k]["auc_model"]) for k in ("same_weights", "derived")},
        "cv_ece": (cv_old["ece"], cv_new["ece"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probes")
    parser.add_argument("lineage")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    parser.add_argument("--estimators", nargs="+", default=["logistic", "boosting"])
    parser.add_argument("--check-default", action="store_true")
    args = parser.parse_args()
    probes = pl.load_probes(args.probes)
    lineage = pl.load_lineage(args.lineage)
    start = time.perf_counter()
    x = pair_features(probes)
    features_s = time.perf_counter() - start
    if args.check_default:
        print(json.dumps(check_default(probes, lineage, x), indent=1))
        return
    print(f"{probes.n_models} models, {len(x):,} pairs, features in {features_s:.1f} s")
    results: dict = {"features_seconds": features_s}
    # Each estimator against the Euclidean distance, then the first one against the CSLS distance (the second
    # unsupervised reference; its model columns repeat the first run's).
    runs = [(estimator, estimator, "distance") for estimator in args.estimators]
    runs.append(("csls_reference", args.estimators[0], "distance_csls"))
    for name, estimator, reference in runs:
        start = time.perf_counter()
        report = evaluate_relations(probes, lineage, n_folds=args.folds, seed=args.seed, estimator=estimator,
                                    reference=reference, features=x)
        report["seconds"] = time.perf_counter() - start
        results[name] = report
    folds = model_folds(lineage_components(lineage, probes.ids), args.folds, args.seed)
    start = time.perf_counter()
    results["direction"] = evaluate_direction(probes, lineage, folds)
    results["direction"]["seconds"] = time.perf_counter() - start
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
