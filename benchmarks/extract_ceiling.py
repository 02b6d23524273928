"""Where the same-weights ceiling lies: how alike are the answers of documented copies? (benchmark script)

    python benchmarks/extract_ceiling.py RESPONSES_DIR DNA.parquet LINEAGE_DIR [--metric euclidean]

For each documented same_weights pair present in DNA.parquet: how many of the prompts the two copies answer with
the same first 100 characters (sampling makes copies diverge), whether the note says the copy is quantized, and the
parent's rank among all models by DNA distance. Prints AUC and median rank by group.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import phylo_llm as pl
from phylo_llm.extract import iter_answers
from phylo_llm.score import PairRanker, documented_pairs, parent_ranks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("responses")
    parser.add_argument("dna")
    parser.add_argument("lineage")
    parser.add_argument("--metric", default="euclidean")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    dna = pl.load_dna(args.dna)
    lineage = pl.load_lineage(args.lineage)
    dist = pl.distance_matrix(dna, args.metric)
    pairs = documented_pairs(lineage, dist.ids)
    pairs = pairs[pairs.relation == "same_weights"].reset_index(drop=True)
    wanted = set(pairs.child) | set(pairs.parent)
    prefixes = {r.model: {p: (a or "")[:100] for p, a in r.answers.items()} for r in iter_answers(args.responses) if r.model in wanted}
    notes = {(c.lower(), p.lower()): str(n) for c, p, n in lineage.relations[["child", "parent", "note"]].itertuples(index=False)}
    shared = []
    for c, p in zip(pairs.child, pairs.parent):
        a, b = prefixes[c], prefixes[p]
        shared.append(sum(1 for k in a if k in b and a[k] and a[k] == b[k]))
    pairs["shared_prefixes"] = shared
    pairs["quantized"] = ["quantiz" in notes.get((c.lower(), p.lower()), "").lower() for c, p in zip(pairs.child, pairs.parent)]
    pairs["rank"] = parent_ranks(dist.values, pairs.i.to_numpy(), pairs.j.to_numpy())
    ranker = PairRanker(dist)
    print(f"{len(pairs)} same_weights pairs; shared first-100-character answers: median {np.median(shared):.0f}, "
          f"10th percentile {np.percentile(shared, 10):.0f}")
    groups = {
        "all": pairs,
        "quantized": pairs[pairs.quantized],
        "not quantized": pairs[~pairs.quantized],
        ">= 10 shared prefixes": pairs[pairs.shared_prefixes >= 10],
        "< 10 shared prefixes": pairs[pairs.shared_prefixes < 10],
    }
    for name, g in groups.items():
        if len(g):
            print(f"{name:24s} n={len(g):3d}  AUC {ranker.auc(g.i.to_numpy(), g.j.to_numpy()):.3f}  median rank {g['rank'].median():.1f}  top-1 {np.mean(g['rank'] <= 1):.2f}")


if __name__ == "__main__":
    main()
