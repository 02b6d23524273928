"""``phylo-llm place``: new models into an existing tree, by least squares, without rebuilding it."""

from __future__ import annotations

import argparse
import sys
import time

from .. import io, tree
from ..distance import METRICS
from ..errors import PhyloLLMError
from ..io._formats import TREE_FORMATS, format_for
from ..tree import PLACEMENT_CRITERIA
from ._options import add_lineage, add_quiet, add_seed, integer, lineage_of, model_file, read_paths, say, show_progress

NAME = "place"
HELP = "place new models into an existing tree (least squares, as APPLES) without rebuilding it"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="NEW", help="DNA or probe cache of the new models (or their answers, with a cache as --dna)")
    parser.add_argument("--tree", required=True, help="the backbone tree, with branch lengths")
    parser.add_argument("--dna", required=True, metavar="REF", help="DNA or probe cache holding the tree's models (same settings as NEW)")
    parser.add_argument("-o", "--output", help="the tree with the new models inserted")
    parser.add_argument("--format", choices=TREE_FORMATS, help="output tree format (default: from the extension, else newick)")
    parser.add_argument("--csv", metavar="FILE", help="one row per new model: edge, lengths, nearest leaves, documented relatives")
    parser.add_argument("--metric", choices=tuple(METRICS), default="euclidean",
                        help="the metric the tree was built with (default: euclidean; caches: euclidean, sqeuclidean, cosine)")
    parser.add_argument("--criterion", choices=PLACEMENT_CRITERIA, default="fm", help="fm: weights 1/d^2 (APPLES' default); ols: equal weights")
    parser.add_argument("--local", type=integer(0, 10_000_000, zero_means="0 = all leaves"), default=25, metavar="K",
                        help="fit each model's distances to its K nearest leaves only, as APPLES does (default: 25; 0 = all)")
    parser.add_argument("--bootstrap", type=integer(0, 10_000), default=0, metavar="N",
                        help="probe caches: share of N replicates placing on the same edge")
    add_seed(parser, "the bootstrap draws")
    parser.add_argument("--relation-model", metavar="FILE|default", type=model_file,
                        help="probe caches: add the relation model's P(same weights), P(derived), P(related) of each "
                        "placed model and the leaf it is placed beside (nearest_leaf)")
    parser.add_argument("--allow-mixed", action="store_true", help="accept reference DNA made with different settings")
    add_lineage(parser)
    add_quiet(parser)


def run(args: argparse.Namespace) -> None:
    from .. import inputs  # loaded when the command runs, not at start-up
    from ..dna import DNA
    from ..probes import ProbeEmbeddings

    tree.check_placement_options(args.bootstrap, args.local or None, 5)
    start = time.perf_counter()
    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    plan.add(args.csv, "--csv")
    fmt = format_for(args.output, "tree", args.format, default="newick").name if args.output else None
    model = None
    if args.relation_model:  # read first: a bad file is refused before any answer is embedded
        from .. import relate

        model = relate.load_relation_model(args.relation_model)
    reference = inputs.read_input(args.dna, allow_mixed=args.allow_mixed)
    if model is not None:
        if not isinstance(reference, ProbeEmbeddings):
            raise PhyloLLMError(f"{args.dna}: --relation-model needs per-probe caches (phylo-llm extract --cache), not DNA")
        model.check_settings(reference)
    new: inputs.Data
    if isinstance(reference, ProbeEmbeddings):
        new, note = inputs.input_probes(args.input, reference=reference, progress=show_progress(args))
        if note:
            say(args, note)
    else:
        new = inputs.read_input(args.input)
        if not isinstance(new, DNA) or not isinstance(reference, DNA):
            raise PhyloLLMError(f"{args.input}: NEW and --dna must both be DNA, or both probe caches")
    backbone = io.read_tree(args.tree)
    if tree.count_leaves(backbone) < 2:
        raise PhyloLLMError(f"{args.tree}: the backbone tree has {tree.count_leaves(backbone)} leaf; placement needs at least 2")
    try:
        tree.require_lengths(backbone, "placement")
    except PhyloLLMError as error:
        raise PhyloLLMError(f"{args.tree}: {error}") from None
    lineage = lineage_of(args) if args.lineage or args.csv else None
    result = tree.place(new, backbone, reference, metric=args.metric, criterion=args.criterion, replicates=args.bootstrap,
                        seed=args.seed, lineage=lineage, local=args.local or None, progress=show_progress(args))
    table = result.table
    if model is not None:  # relate was imported with the model
        assert isinstance(new, ProbeEmbeddings) and isinstance(reference, ProbeEmbeddings)  # checked above
        leaves = [leaf.name for leaf in backbone.get_terminals()]  # the population the placement saw
        table = relate.placement_probabilities(table, new, reference.subset(leaves), model)
    with plan:
        if args.output:
            io.write_tree(result.tree, args.output, fmt)
        if args.csv:
            io.write_table(table, args.csv)
    if not args.csv and not (args.quiet and args.output):  # with no -o and no --csv the table is the only result: -q keeps it
        shown = [c for c in ("model", "joins", "pendant_length", "bootstrap_share", "p_related", "documented") if c in table]
        sys.stdout.write(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}", max_colwidth=50) + "\n")
    say(args, f"{len(table)} models placed into a {tree.count_leaves(backbone)}-leaf tree, {time.perf_counter() - start:.2f} s"
              + (f" -> {', '.join(str(path) for path in (args.output, args.csv) if path)}" if args.output or args.csv else ""))
