"""``phylo-llm distances``: the pairwise distance matrix of DNA (or of a probe cache)."""

from __future__ import annotations

import argparse

from .. import io
from ..distance import METRIC_CHOICES
from ._options import add_input, read_paths, say

NAME = "distances"
HELP = "write the pairwise distance matrix of DNA or a probe cache"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser)
    parser.add_argument("-o", "--output", required=True, help="matrix file: .phy (PHYLIP), .csv, .tsv or .parquet")
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")


def run(args: argparse.Namespace) -> None:
    from .. import inputs  # loaded when the command runs, not at start-up

    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    io.format_for(args.output, "distances")  # refuse an unknown suffix before computing anything
    data = inputs.read_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    dist = inputs.to_distances(data, args.metric)
    with plan:
        io.save_distances(dist, args.output)
    say(args, f"{inputs.describe(data, args.metric)} distances -> {args.output}")
