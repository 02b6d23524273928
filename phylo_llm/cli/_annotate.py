"""``phylo-llm annotate``: root a tree and attach documented lineage to its leaves."""

from __future__ import annotations

import argparse

from .. import io, tree
from ..io._formats import TREE_FORMATS, format_for
from ._options import add_quiet, add_rooting, read_paths, say
from ._shared import root_and_annotate, write_tree_and_table

NAME = "annotate"
HELP = "root a tree and attach documented lineage to its leaves (NHX, CSV)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="TREE", help="Newick, NHX, NEXUS or PhyloXML tree")
    parser.add_argument("-o", "--output", required=True, help="annotated tree (NHX unless --format says otherwise)")
    parser.add_argument("--format", choices=TREE_FORMATS, default=None, help="(default: nhx, or from the extension)")
    add_rooting(parser, root_default="midpoint")
    add_quiet(parser)


def run(args: argparse.Namespace) -> None:
    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    plan.add(args.csv, "--csv")
    fmt = format_for(args.output, "tree", args.format, default="nhx").name
    result, notes = root_and_annotate(args, io.read_tree(args.input), annotate=True)
    write_tree_and_table(args, plan, result, fmt)
    say(args, f"{tree.count_leaves(result)} leaves{notes} -> {args.output}")
