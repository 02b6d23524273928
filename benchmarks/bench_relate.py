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

import phylo_llm as pl
from phylo_llm.relate import evaluate_relations


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
    # Each estimator against the Euclidean distance, then the first one against the CSLS distance (the second
    # unsupervised reference; its model columns repeat the first run's).
    runs = [(estimator, estimator, "distance") for estimator in args.estimators]
    runs.append(("csls_reference", args.estimators[0], "distance_csls"))
    results = {}
    for name, estimator, reference in runs:
        start = time.perf_counter()
        report = evaluate_relations(probes, lineage, n_folds=args.folds, seed=args.seed, estimator=estimator,
                                    reference=reference)
        report["seconds"] = time.perf_counter() - start
        results[name] = report
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
