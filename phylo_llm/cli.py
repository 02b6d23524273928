"""The ``phylo-llm`` command: parses arguments, calls the library, writes files.

Errors in the input become one line on standard error and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from . import __version__
from .distance import METRICS, DistanceMatrix, distance_matrix
from .dna import DNA
from .errors import PhyloLLMError
from .io import TREE_FORMATS, load_dna, load_input, save_distances, save_dna, write_tree
from .io.atomic import atomic_output
from .tree import TREE_METHODS, build_tree_with_stats

PROG = "phylo-llm"
EXAMPLES = """examples:
  phylo-llm tree data/demo/dna.parquet -o tree.nwk
  phylo-llm tree dna.parquet -o tree.nwk --method upgma --metric cosine
  phylo-llm import dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu -o paper.parquet
  phylo-llm import dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu --encoder bge -o paper-bge.parquet
  phylo-llm distances paper.parquet -o paper.phy
  phylo-llm simulate -o data/demo --seed 0
"""
TREE_SUFFIXES = {".nex": "nexus", ".nexus": "nexus", ".nxs": "nexus", ".xml": "phyloxml", ".phyloxml": "phyloxml"}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    warnings.showwarning = _one_line_warning
    try:
        args.run(args)
    except PhyloLLMError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Phylogenetics of large language models from their DNA.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    tree = _command(commands, "tree", "build a tree (NJ, UPGMA, WPGMA) from DNA or a distance matrix", _run_tree)
    _input_options(tree, distances_too=True)
    tree.add_argument("-o", "--output", required=True, help="tree file; '-' for standard output")
    tree.add_argument("--method", choices=TREE_METHODS, default="nj", help="tree method (default: nj)")
    tree.add_argument("--metric", choices=list(METRICS), default="euclidean", help="distance between DNA vectors (default: euclidean)")
    tree.add_argument("--format", choices=TREE_FORMATS, help="tree format (default: from the extension, else newick)")

    dist = _command(commands, "distances", "write the pairwise distance matrix of DNA", _run_distances)
    _input_options(dist)
    dist.add_argument("-o", "--output", required=True, help="matrix file: .phy (PHYLIP), .csv, .tsv or .parquet")
    dist.add_argument("--metric", choices=list(METRICS), default="euclidean", help="(default: euclidean)")

    imp = _command(commands, "import", "convert DNA (any readable form) to the canonical parquet", _run_import)
    _input_options(imp)
    imp.add_argument("-o", "--output", required=True, help="output: .parquet (canonical), .csv, .tsv or .npz")

    sim = _command(commands, "simulate", "simulate DNA along a known lineage (the demo data)", _run_simulate)
    sim.add_argument("-o", "--output", required=True, help="folder for dna.parquet, lineage.csv, models.csv, true_tree.nwk")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--families", type=int, default=5, help="1 to 5 (default: 5)")
    sim.add_argument("--dim", type=int, default=128, help="DNA dimension (default: 128)")
    sim.add_argument("-q", "--quiet", action="store_true")
    return parser


def _command(commands, name: str, help_text: str, run) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        name, help=help_text, description=help_text, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub.set_defaults(run=run)
    return sub


def _input_options(sub: argparse.ArgumentParser, distances_too: bool = False) -> None:
    what = "DNA file (.parquet, .csv, .tsv, .npz) or published probe-set folder"
    if distances_too:
        what += ", or a distance matrix (.phy, square .csv/.parquet)"
    sub.add_argument("input", metavar="INPUT", help=what)
    sub.add_argument("--variant", default="dna", help="published layout: DNA file variant, e.g. dna_dim1024, preagg_dim64 (default: dna)")
    sub.add_argument("--encoder", help="published layout: encoder-ablation subfolder, e.g. bge, mpnet")
    sub.add_argument("--allow-mixed", action="store_true", help="accept DNA made with different extraction settings")
    sub.add_argument("-q", "--quiet", action="store_true", help="no summary or progress on standard error")


def _load(args) -> DNA:
    return load_dna(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)


def _say(args, text: str) -> None:
    if not args.quiet:
        print(f"{PROG} {args.command}: {text}", file=sys.stderr)


def _run_tree(args) -> None:
    start = time.perf_counter()
    data = load_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    if isinstance(data, DistanceMatrix):
        dist, what = data, f"{data.n_models} models (distance matrix)"
    else:
        dist, what = distance_matrix(data, args.metric), f"{data.n_models} models x {data.dim} dimensions, {args.metric}"
    fmt = args.format or TREE_SUFFIXES.get(Path(args.output).suffix.lower(), "newick")
    build = build_tree_with_stats(dist, args.method, progress=not args.quiet and sys.stderr.isatty())
    write_tree(build.tree, args.output, fmt)
    clamped = f", {build.negative_clamped} negative branch lengths set to 0" if args.method == "nj" else ""
    _say(args, f"{what}, {args.method} tree{clamped}, {time.perf_counter() - start:.2f} s -> {args.output}")


def _run_distances(args) -> None:
    dna = _load(args)
    dist = distance_matrix(dna, args.metric)
    save_distances(dist, args.output)
    _say(args, f"{dna.n_models} models x {dna.dim} dimensions, {args.metric} distances -> {args.output}")


def _run_import(args) -> None:
    dna = _load(args)
    save_dna(dna, args.output)
    _say(args, f"{dna.n_models} models x {dna.dim} dimensions -> {args.output}")


def _run_simulate(args) -> None:
    from .simulate import simulate

    try:
        sim = simulate(n_families=args.families, dim=args.dim, seed=args.seed)
    except ValueError as exc:
        raise PhyloLLMError(str(exc)) from None
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    save_dna(sim.dna, folder / "dna.parquet")
    for name, table in (("lineage.csv", sim.relations), ("models.csv", sim.models)):
        with atomic_output(folder / name) as handle:
            table.to_csv(handle, index=False)
    write_tree(sim.tree, folder / "true_tree.nwk")
    _say(args, f"{sim.dna.n_models} models, {len(sim.relations)} documented edges -> {folder}/")


if __name__ == "__main__":
    sys.exit(main())
