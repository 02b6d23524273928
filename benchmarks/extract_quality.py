"""Compare extraction settings on the development relations (a benchmark script, not a test).

    python benchmarks/extract_quality.py RESPONSES_DIR LINEAGE_DIR [--max-chars 300 1000 0] [--answer-dim 1024]

For each setting, every answer is embedded once; then the DNA distance is
evaluated (a) without the final random projection (its L -> infinity limit)
and (b) projected to several DNA dimensions, each under Euclidean and cosine
distance. Prints pair-detection AUC and median parent rank for same-weights
copies and fine-tunes. Defaults are chosen on principle; this script shows
what each choice costs, it does not pick the winner.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import phylo_llm as pl
from phylo_llm.extract import EMPTY_ANSWER, iter_answers, make_encoder
from phylo_llm.extract._pipeline import _unit, project, prompt_set
from phylo_llm.score import PairRanker, documented_pairs, parent_ranks


def embed_all(source, encoder, prompts, missing):
    ids, blocks = [], []
    sentinel = _unit(encoder.encode([EMPTY_ANSWER]))[0]
    for record in iter_answers(source):
        if record.model in missing:
            continue
        answers = [record.answers.get(p) for p in prompts]
        texts = [a if a and a.strip() else EMPTY_ANSWER for a in answers]
        e = _unit(encoder.encode(texts))
        e[[not (a and a.strip()) for a in answers]] = sentinel
        ids.append(record.model)
        blocks.append(e.astype(np.float32))
    return ids, np.stack(blocks)


def csls(dm, k=10):
    """Hubness-corrected distances (cross-domain similarity local scaling, Lample et al. 2018):
    d(a, b) - (r_a + r_b) / 2, r = mean distance to the k nearest neighbours."""
    values = dm.values.copy()
    np.fill_diagonal(values, np.inf)
    r = np.sort(values, axis=1)[:, :k].mean(axis=1)
    np.fill_diagonal(values, 0)
    adjusted = values - (r[:, None] + r[None, :]) / 2
    adjusted -= adjusted.min()
    np.fill_diagonal(adjusted, 0)
    return pl.DistanceMatrix(dm.ids, adjusted, "csls")


def evaluate(name, dm, lineage, with_csls=True):
    if with_csls:
        evaluate(name + " +csls", csls(dm), lineage, with_csls=False)
    pairs = documented_pairs(lineage, dm.ids)
    ranker = PairRanker(dm)
    out = [name]
    for relation in ("same_weights", "finetune"):
        g = pairs[pairs.relation == relation]
        i, j = g.i.to_numpy(), g.j.to_numpy()
        out.append(f"{relation} AUC {ranker.auc(i, j):.3f} med.rank {np.median(parent_ranks(dm.values, i, j)):.1f}")
    print("  ".join(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("responses")
    parser.add_argument("lineage")
    parser.add_argument("--max-chars", type=int, nargs="+", default=[300, 1000, 0])
    parser.add_argument("--answer-dim", type=int, default=1024)
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--encoder", default="hashing")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    lineage = pl.load_lineage(args.lineage)
    prompts, missing, _, _ = prompt_set(args.responses)
    for max_chars in args.max_chars:
        start = time.perf_counter()
        encoder = make_encoder(args.encoder, dim=args.answer_dim, max_chars=max_chars or None)
        ids, e = embed_all(args.responses, encoder, prompts, missing)
        n, p, k = e.shape
        print(f"# {encoder.name} answer_dim={k}: {n} models embedded in {time.perf_counter() - start:.0f} s", flush=True)
        flat = e.reshape(n, p * k)
        gram = flat @ flat.T
        sq = np.diag(gram)
        exact = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0))
        np.fill_diagonal(exact, 0)
        evaluate("  no projection, euclidean", pl.DistanceMatrix(ids, (exact + exact.T) / 2), lineage)
        for dim in args.dims:
            dna = pl.DNA(ids, project(e, dim, 0))
            for metric in ("euclidean", "cosine"):
                evaluate(f"  dim={dim} {metric}", pl.distance_matrix(dna, metric), lineage)


if __name__ == "__main__":
    main()
