"""``phylo-llm distances``: the pairwise distance matrix of DNA (or of a probe cache)."""

from __future__ import annotations

import argparse

from .. import io
from ..distance import METRIC_CHOICES
from ..errors import PhyloLLMError
from ._options import add_input, read_paths, say

NAME = "distances"
HELP = "write the pairwise distance matrix of DNA or a probe cache"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser)
    parser.add_argument("-o", "--output", required=True, help="matrix file: .phy (PHYLIP), .csv, .tsv or .parquet")
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")
    parser.add_argument(
        "--phylip",
        choices=("relaxed", "strict"),
        default="relaxed",
        help="PHYLIP dialect of a .phy output: relaxed (ids as names) or strict (10-column names m1, m2, ... as "
        "PHYLIP neighbor reads them, with the names map X.names.tsv beside X.phy) (default: relaxed)",
    )


def run(args: argparse.Namespace) -> None:
    from .. import inputs  # loaded when the command runs, not at start-up

    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    phylip = io.format_for(args.output, "distances").name == "phylip"  # an unknown suffix is refused before any work
    if phylip and args.phylip == "strict":
        if args.output == "-":
            raise PhyloLLMError("--phylip strict writes a names map beside the matrix: give -o a file name, not '-'")
        plan.add(io.phylip_names_path(args.output), "the names map of --phylip strict")
    data = inputs.read_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    dist = inputs.to_distances(data, args.metric)
    with plan:
        io.save_distances(dist, args.output, phylip=args.phylip)
    say(args, f"{inputs.describe(data, args.metric)} distances -> {args.output}")
