"""``phylo-llm simulate``: DNA evolving along a known lineage (the demo data, ground truth for tests, hub-scale datasets)."""

from __future__ import annotations

import argparse

from .. import io
from ..errors import PhyloLLMError
from ._options import add_quiet, add_seed, integer, say, show_progress

NAME = "simulate"
HELP = "simulate DNA along a known lineage (the demo data, or --models N for a hub-scale dataset)"

#: Largest hub simulation: its latent DNA is held in memory (10 million 128-d models: 5 GB).
MAX_MODELS = 10_000_000


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True,
                        help="folder for dna.parquet (or, with --models, the partitioned dataset dna/), lineage.csv, models.csv, true_tree.nwk")
    add_seed(parser, "the simulation")
    parser.add_argument("--families", type=integer(1, 5), help="demo data: 1 to 5 (default: 5)")
    parser.add_argument("--dim", type=integer(1, 65_536), default=128, help="DNA dimension (default: 128)")
    parser.add_argument("--models", type=integer(3, MAX_MODELS), metavar="N",
                        help="simulate a hub of N models instead (written as a partitioned dataset, streamed)")
    parser.add_argument("--part-rows", type=integer(1, 10_000_000), help="with --models: models per partition (default: 50,000; "
                        "at most 10,000 partition files)")
    add_quiet(parser)


def run(args: argparse.Namespace) -> None:
    from ..simulate import (  # loaded when the command runs
        check_simulation_folder,
        simulate,
        simulate_hub,
        write_hub_simulation,
        write_simulation,
    )

    # options of the other kind of simulation: refused rather than silently ignored
    if args.models and args.families is not None:
        raise PhyloLLMError(f"--families {args.families}: applies to the demo data; a hub (--models) grows its own base models")
    if not args.models and args.part_rows is not None:
        raise PhyloLLMError(f"--part-rows {args.part_rows}: applies only with --models (a partitioned dataset)")
    plan = io.OutputPlan()
    folder = plan.add_folder(args.output)
    check_simulation_folder(folder, hub=bool(args.models))  # before anything is simulated
    if args.models:
        from .._memory import require_memory
        from ..hub._dataset import PART_ROWS, check_partitions

        args.part_rows = args.part_rows or PART_ROWS
        parts = check_partitions(args.models, args.part_rows)
        require_memory(4 * args.models * args.dim * 2, f"simulating {args.models} models x {args.dim} dimensions", "simulate fewer models")
        if (folder / "dna").is_dir() and any((folder / "dna").iterdir()):
            raise PhyloLLMError(f"{folder / 'dna'}: this folder is not empty; a partitioned dataset needs a new (or empty) folder")
        plan.add_folder(folder / "dna")
        hub = simulate_hub(args.models, dim=args.dim, seed=args.seed)
        with plan:
            write_hub_simulation(hub, folder, part_rows=args.part_rows, progress=show_progress(args))
        say(args, f"{hub.n_models} models ({int((hub.parent < 0).sum())} base models) -> {args.output}/dna/ "
                  f"({parts} partitions), true_tree.nwk, lineage.csv, models.csv")
        return
    sim = simulate(n_families=args.families or 5, dim=args.dim, seed=args.seed)
    with plan:
        write_simulation(sim, folder)
    say(args, f"{sim.dna.n_models} models, {len(sim.relations)} documented edges -> {args.output}/")
