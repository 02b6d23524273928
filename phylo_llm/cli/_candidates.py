"""``phylo-llm candidates``: close pairs that nothing documents, for review."""

from __future__ import annotations

import argparse

from .. import io
from ..distance import METRIC_CHOICES
from ..errors import PhyloLLMError
from ._options import (
    add_cluster,
    add_input,
    add_lineage,
    cluster_options,
    dataset_of,
    integer,
    lineage_of,
    model_file,
    number,
    probability,
    read_paths,
    say,
    show_progress,
)

NAME = "candidates"
HELP = "close pairs without any documented relation, for review"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser, distances_too=True)
    parser.add_argument("-o", "--output", required=True, help="CSV of candidate pairs, closest first")
    add_lineage(parser)
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")
    parser.add_argument("--threshold", type=number(0.0), help="distance cut-off (default: median distance of documented fine-tunes)")
    parser.add_argument("--limit", type=integer(0, 10**9, zero_means="0 = all"), default=1000, help="keep the closest N pairs (default: 1000; 0 = all)")
    parser.add_argument("-k", type=integer(1, 10_000), default=None,
                        help="partitioned dataset: pairs are searched among each model's k exact nearest neighbours (default: 10)")
    parser.add_argument("--index", choices=("exact", "ivf"), default=None,
                        help="partitioned dataset: exact blockwise search, or faiss's IVF index (approximate; pip install 'phylo-llm[hub]')")
    parser.add_argument("--relation-model", metavar="FILE|default", type=model_file,
                        help="pairs by a relation model's P(related) instead of distance, most probable first, with "
                        "p_same_weights, p_derived, p_related and expected_fdr columns; INPUT must be a per-probe cache")
    parser.add_argument("--min-probability", type=probability, default=None,
                        help="with --relation-model: keep pairs with P(related) >= this (default: 0.5)")
    add_cluster(parser)


def run(args: argparse.Namespace) -> None:
    from .. import inputs, score  # loaded when the command runs, not at start-up

    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    lineage = lineage_of(args)
    data = dataset_of(args)
    given = [name for name, value in (("-k", args.k), ("--index", args.index)) if value is not None]
    if data is None and given:  # options of the dataset path: refused rather than silently ignored
        raise PhyloLLMError(f"{args.input}: {' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} only to a partitioned DNA dataset (nearest-neighbour "
                            "search); here every pair is compared")
    if args.min_probability is not None and not args.relation_model:
        raise PhyloLLMError("candidates: --min-probability applies with --relation-model")
    args.k, args.index = args.k or 10, args.index or "exact"
    min_probability = 0.5 if args.min_probability is None else args.min_probability
    if data is not None and args.relation_model:
        raise PhyloLLMError(f"{args.input}: --relation-model needs a per-probe cache, not a partitioned DNA dataset")
    if args.relation_model and args.threshold is not None:
        raise PhyloLLMError("candidates: --threshold is a distance; with --relation-model give --min-probability")
    if args.relation_model:
        import math

        from .. import relate

        probes, model = relate.probes_for_model(args.input, args.relation_model)
        say(args, lineage.coverage(probes.ids).summary())
        proba = relate.pair_probabilities(model, probes, show_progress(args))
        dist = relate.relation_distances(model, probes, proba)
        table, _, qualifying = score.candidates(dist, lineage, threshold=-math.log(min_probability), limit=args.limit or None)
        table = relate.with_probabilities(table, probes, proba, "model_a", "model_b", a_is_column=True)
        fdr = relate.expected_fdr(1.0 - proba[:, 0], min_probability)  # everything computed before anything is written
        with plan:
            io.write_table(table, args.output)
        say(args, f"{qualifying} undocumented pairs with P(related) >= {min_probability:g} (expected FDR of all pairs "
            f"called at this threshold: {float(fdr):.3f}); {len(table)} written -> {args.output}")
        return
    if data is not None:  # a partitioned dataset: among every model's k exact nearest neighbours, on Dask
        from .. import hub

        say(args, lineage.coverage(data.all_ids()).summary())
        if args.k > data.n_models - 1:
            say(args, f"note: -k {args.k} but each model has only {data.n_models - 1} others; using {data.n_models - 1}")
        with hub.connect(**cluster_options(args)) as client:
            table, threshold, qualifying, saturated = hub.hub_candidates(
                data, lineage, client, k=args.k, threshold=args.threshold, limit=args.limit or None, metric=args.metric,
                index=args.index, progress=show_progress(args))
        if saturated:
            say(args, f"{saturated} models have all {args.k} nearest neighbours within the threshold: raise -k to see all their pairs")
    else:
        dist = inputs.input_distances(args.input, args.metric, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
        say(args, lineage.coverage(dist.ids).summary())
        table, threshold, qualifying = score.candidates(dist, lineage, threshold=args.threshold, limit=args.limit or None)
    with plan:
        io.write_table(table, args.output)
    say(args, f"{qualifying} undocumented pairs at distance <= {threshold:.4g}; {len(table)} written -> {args.output}")
