"""``phylo-llm import``: DNA in any readable form to the canonical parquet (or CSV, TSV, npz)."""

from __future__ import annotations

import argparse

from .. import io
from ._options import add_input, read_paths, say

NAME = "import"
HELP = "convert DNA (any readable form) to the canonical parquet"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser)
    parser.add_argument("-o", "--output", required=True, help="output: .parquet (canonical), .csv, .tsv or .npz")


def run(args: argparse.Namespace) -> None:
    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    io.format_for(args.output, "dna")  # refuse an unknown suffix before reading anything
    dna = io.load_dna(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    with plan:
        io.save_dna(dna, args.output)
    say(args, f"{dna.n_models} models x {dna.dim} dimensions -> {args.output}")
