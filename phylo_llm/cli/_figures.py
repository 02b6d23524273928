"""``phylo-llm figures``: the paper's figures, regenerated."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import io
from ._options import PROG, add_input, add_lineage, add_seed, lineage_of, read_paths, say

NAME = "figures"
HELP = "regenerate the paper's figures (PNG and PDF) from a probe-set folder or DNA file"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser)
    parser.add_argument("-o", "--output", required=True, help="folder for the figures and figures.json")
    add_lineage(parser)
    add_seed(parser, "t-SNE and the Mantel permutations")


def run(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files; the library never picks a backend
    from ..figures import make_figures  # loaded when the command runs, not at start-up

    start = time.perf_counter()
    plan = io.OutputPlan(inputs=read_paths(args))
    folder = plan.add_folder(args.output)
    plan.replaces(_earlier_figures(folder))
    lineage = lineage_of(args)
    with plan:
        numbers = make_figures(args.input, lineage, folder, seed=args.seed, allow_mixed=args.allow_mixed,
                               say=lambda text: print(f"{PROG} figures: {text}", file=sys.stderr))
    say(args, f"{numbers['models']} models, figures in {time.perf_counter() - start:.1f} s -> {args.output}/")


def _earlier_figures(folder: Path) -> list[Path]:
    """The files of an earlier ``phylo-llm figures`` run in ``folder`` (replaced as a set, so that a figure this run
    skips does not stay behind from the last); a folder holding anything else is refused."""
    from ..errors import PhyloLLMError
    from ..figures._make import FIGURE_NAMES, NUMBERS_FILE

    if not folder.is_dir():
        return []
    ours = {NUMBERS_FILE} | {f"{name}{suffix}" for name in FIGURE_NAMES for suffix in (".png", ".pdf")}
    present = sorted(folder.iterdir())
    other = [p for p in present if p.name not in ours or not p.is_file()]
    if other:
        raise PhyloLLMError(f"{folder}: holds {other[0].name}, which phylo-llm figures did not make; the figures go to a new or "
                            "empty folder, or to one of an earlier figures run (replaced as a whole)")
    return present
