"""``phylo-llm candidates``: close pairs that nothing documents, for review."""

from __future__ import annotations

import argparse

from .. import io
from ..distance import METRIC_CHOICES
from ._options import add_input, add_lineage, integer, lineage_of, number, read_paths, say

NAME = "candidates"
HELP = "close pairs without any documented relation, for review"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser, distances_too=True)
    parser.add_argument("-o", "--output", required=True, help="CSV of candidate pairs, closest first")
    add_lineage(parser)
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean")
    parser.add_argument("--threshold", type=number(0.0), help="distance cut-off (default: median distance of documented fine-tunes)")
    parser.add_argument("--limit", type=integer(0, 10**9, zero_means="0 = all"), default=1000, help="keep the closest N pairs (default: 1000; 0 = all)")


def run(args: argparse.Namespace) -> None:
    from .. import inputs, score  # loaded when the command runs, not at start-up

    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    dist = inputs.input_distances(args.input, args.metric, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    lineage = lineage_of(args)
    say(args, lineage.coverage(dist.ids).summary())
    table, threshold, qualifying = score.candidates(dist, lineage, threshold=args.threshold, limit=args.limit or None)
    with plan:
        io.write_table(table, args.output)
    say(args, f"{qualifying} undocumented pairs at distance <= {threshold:.4g}; {len(table)} written -> {args.output}")
