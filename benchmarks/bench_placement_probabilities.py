"""Placement probabilities (``place --relation-model``): the reference's distances once vs each population anew.

    python benchmarks/bench_placement_probabilities.py rand.probes [--models 20] [--relation-model default]

Takes ``--models`` models out of the cache, pairs each with a random remaining
model (as the leaf it was placed beside) and times
:func:`phylo_llm.relate.placement_probabilities` (the reference's Euclidean
distances computed once, each placed model adding one row:
``added_model_features``) against the definition it implements, timed in the
same run: :func:`phylo_llm.relate.pair_features` of the population "reference
+ that model", one population per placed model. Prints both times, their
ratio and the largest difference of the probabilities.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from phylo_llm import load_probes
from phylo_llm.probes import ProbeEmbeddings
from phylo_llm.relate import load_relation_model, pair_features
from phylo_llm.relate._apply import placement_probabilities


def by_population(table: pd.DataFrame, new, reference, model) -> np.ndarray:
    """The definition: features of (placed model, leaf) among the reference and that model alone."""
    proba = np.empty((len(table), 3))
    for k, (placed, leaf) in enumerate(zip(table["model"], table["nearest_leaf"])):
        ids = [*reference.ids, placed]
        values = np.concatenate([reference.values, new.values[[list(new.ids).index(placed)]]])
        population = ProbeEmbeddings(tuple(ids), values, dict(reference.settings), str(reference.source))
        features = pair_features(population, np.array([len(ids) - 1]), np.array([ids.index(leaf)]))
        proba[k] = model.predict_proba(features)[0]
    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache")
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--relation-model", default="default")
    args = parser.parse_args()
    probes = load_probes(args.cache)
    model = load_relation_model(args.relation_model)
    rng = np.random.default_rng(0)
    ids = list(probes.ids)
    picked = set(rng.choice(len(ids), args.models, replace=False).tolist())
    new = probes.subset([m for k, m in enumerate(ids) if k in picked])
    reference = probes.subset([m for k, m in enumerate(ids) if k not in picked])
    leaves = [reference.ids[k] for k in rng.choice(reference.n_models, args.models)]
    table = pd.DataFrame({"model": list(new.ids), "nearest_leaf": leaves})
    start = time.perf_counter()
    fast = placement_probabilities(table, new, reference, model)
    once = time.perf_counter() - start
    start = time.perf_counter()
    slow = by_population(table, new, reference, model)
    anew = time.perf_counter() - start
    diff = np.abs(fast[["p_same_weights", "p_derived"]].to_numpy() - slow[:, 1:]).max()
    print(f"{args.models} models placed beside leaves of {reference.n_models}: reference distances once {once:.2f} s, "
          f"each population anew {anew:.2f} s (ratio {anew / once:.1f}x); largest probability difference {diff:.1e}")


if __name__ == "__main__":
    main()
