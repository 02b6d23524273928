"""Steps several commands share at run time: rooting and annotating as the options ask, writing a tree and its table."""

from __future__ import annotations

import argparse

from .. import io, tree
from ..errors import PhyloLLMError
from ._options import lineage_of, say


def root_and_annotate(args: argparse.Namespace, built, annotate: bool):
    """Root (``--root-by``, else ``--outgroup``, else ``--root``) and annotate when asked; the tree and a summary note."""
    lineage = lineage_of(args) if annotate or args.root_by or args.csv else None
    notes = ""
    if args.root_by:
        key, sep, value = args.root_by.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise PhyloLLMError(f"--root-by {args.root_by!r}: expected KEY=VALUE, e.g. family=T5")
        try:
            built, chosen = tree.attribute_root(built, lineage, key.strip(), value.strip())
        except PhyloLLMError as error:  # name the tree and the lineage searched (the built-in one unless --lineage)
            used = "; ".join(args.lineage) if args.lineage else "the built-in lineage: give yours with --lineage PATH"
            raise PhyloLLMError(f"{args.input}: {error} ({used})") from None
        notes += f", rooted on {len(chosen)} models with {key.strip()}={value.strip()}"
    elif args.outgroup:
        try:
            built = tree.outgroup_root(built, args.outgroup)
        except PhyloLLMError as error:  # name the input whose tree lacks the model
            raise PhyloLLMError(f"{args.input}: {error}") from None
        notes += f", rooted on outgroup {', '.join(args.outgroup)}"
    elif args.root == "outgroup":
        raise PhyloLLMError("--root outgroup: name the outgroup with --outgroup MODEL (repeatable) or --root-by KEY=VALUE")
    elif args.root and args.root != "none":
        built = tree.root_tree(built, args.root)
        notes += f", {args.root} root"
    if lineage is not None and (annotate or args.csv):
        built, coverage = tree.annotate_tree(built, lineage)
        say(args, coverage.summary())
    return built, notes


def write_tree_and_table(args: argparse.Namespace, plan: io.OutputPlan, result, fmt: str) -> None:
    """The tree (in ``fmt``) and, with ``--csv``, its per-leaf table: together or not at all."""
    table = tree.leaf_table(result) if args.csv else None
    with plan:
        io.write_tree(result, args.output, fmt)
        if table is not None:
            io.write_table(table, args.csv)
