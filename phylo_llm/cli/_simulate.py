"""``phylo-llm simulate``: DNA evolving along a known lineage (the demo data, and ground truth for tests)."""

from __future__ import annotations

import argparse

from .. import io
from ._options import add_quiet, add_seed, integer, say

NAME = "simulate"
HELP = "simulate DNA along a known lineage (the demo data)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, help="folder for dna.parquet, lineage.csv, models.csv, true_tree.nwk")
    add_seed(parser, "the simulation")
    parser.add_argument("--families", type=integer(1, 5), default=5, help="1 to 5 (default: 5)")
    parser.add_argument("--dim", type=integer(1, 65_536), default=128, help="DNA dimension (default: 128)")
    add_quiet(parser)


def run(args: argparse.Namespace) -> None:
    from ..simulate import simulate, write_simulation  # loaded when the command runs, not at start-up

    plan = io.OutputPlan()
    folder = plan.add_folder(args.output)
    sim = simulate(n_families=args.families, dim=args.dim, seed=args.seed)
    with plan:
        write_simulation(sim, folder)
    say(args, f"{sim.dna.n_models} models, {len(sim.relations)} documented edges -> {args.output}/")
