"""``phylo-llm candidates``: close pairs that nothing documents, for review."""

from __future__ import annotations

import argparse

from .. import io
from ..distance import METRIC_CHOICES
from ._options import (
    add_cluster,
    add_input,
    add_lineage,
    cluster_options,
    dataset_of,
    integer,
    lineage_of,
    number,
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
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean")
    parser.add_argument("--threshold", type=number(0.0), help="distance cut-off (default: median distance of documented fine-tunes)")
    parser.add_argument("--limit", type=integer(0, 10**9, zero_means="0 = all"), default=1000, help="keep the closest N pairs (default: 1000; 0 = all)")
    parser.add_argument("-k", type=integer(1, 10_000), default=10,
                        help="partitioned dataset: pairs are searched among each model's k exact nearest neighbours (default: 10)")
    parser.add_argument("--index", choices=("exact", "ivf"), default="exact",
                        help="partitioned dataset: exact blockwise search, or faiss's IVF index (approximate; pip install 'phylo-llm[hub]')")
    add_cluster(parser)


def run(args: argparse.Namespace) -> None:
    from .. import inputs, score  # loaded when the command runs, not at start-up

    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    lineage = lineage_of(args)
    data = dataset_of(args)
    if data is not None:  # a partitioned dataset: among every model's k exact nearest neighbours, on Dask
        from .. import hub

        say(args, lineage.coverage(data.all_ids()).summary())
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
