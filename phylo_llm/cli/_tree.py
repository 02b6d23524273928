"""``phylo-llm tree``: the main job, INPUT -> tree file."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .. import io, tree
from ..distance import METRIC_CHOICES
from ..errors import PhyloLLMError
from ..io._formats import TREE_FORMATS, format_for
from ..tree import SUPPORT_KINDS, TREE_METHODS
from ._options import (
    add_cluster,
    add_input,
    add_rooting,
    add_seed,
    cluster_options,
    dataset_of,
    integer,
    model_file,
    read_paths,
    say,
    show_progress,
)
from ._shared import root_and_annotate, write_tree_and_table

NAME = "tree"
HELP = "build a tree (NJ, UPGMA, WPGMA) from DNA, a probe cache, answers or a distance matrix"

#: Bootstrap replicates accepted: each costs one tree build, so this bounds the time, not memory.
MAX_REPLICATES = 10_000


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser, distances_too=True)
    parser.add_argument("-o", "--output", required=True, help="tree file; '-' for standard output")
    parser.add_argument("--method", choices=TREE_METHODS, default="nj", help="tree method (default: nj)")
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="distance between DNA vectors (default: euclidean)")
    parser.add_argument("--format", choices=TREE_FORMATS, help="tree format (default: from the extension, else newick; nhx with --annotate)")
    add_rooting(parser, root_default=None)
    parser.add_argument("--annotate", action="store_true", help="attach lineage features to leaves and clades (NHX)")
    parser.add_argument("--bootstrap", type=integer(0, MAX_REPLICATES), default=0, metavar="N",
                        help="N probe-bootstrap replicates; INPUT must be a probe cache (extract --cache) or model answers")
    parser.add_argument("--support", choices=SUPPORT_KINDS,
                        help="fbp: share of replicates with the split; tbe: transfer bootstrap expectation (default: fbp)")
    add_seed(parser, "the bootstrap draws")
    parser.add_argument("--probe-dim", type=integer(1, 4096), help="answers input: per-probe embedding size (default: 128)")
    parser.add_argument("--backbone", type=integer(3, 10_000_000), metavar="B",
                        help="hub tree: exact NJ on B models, every other model placed and refined (default when the dense "
                        "build would not fit in memory: B = 10,000)")
    parser.add_argument("--region", type=integer(3, 100_000), metavar="R",
                        help="hub tree: the backbone is cut into regions of at most R models, each re-joined by exact NJ (3 or more; "
                        "default: 2,000)")
    parser.add_argument("--relation-model", metavar="FILE|default", type=model_file,
                        help="build from a relation model's -log P(related) instead of a distance (INPUT: a per-probe cache or answers)")
    parser.add_argument("--cherries", metavar="FILE",
                        help="with --relation-model: CSV of the tree's cherries with P(same weights), P(derived), P(related)")
    add_cluster(parser)


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from .. import inputs  # loaded when the command runs, not at start-up

    start = time.perf_counter()
    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    plan.add(args.csv, "--csv")
    fmt = format_for(args.output, "tree", args.format, default="nhx" if args.annotate else "newick").name
    progress = show_progress(args)
    _refuse_unused(args)
    if args.relation_model or args.cherries:
        plan.add(args.cherries, "--cherries")
        _relation_model_tree(args, plan, fmt, start)
        return
    hub, data = _hub_tree(args, progress)
    if hub is None and args.region is not None:  # refused rather than silently ignored
        raise PhyloLLMError(f"--region {args.region}: applies only to the hub tree (--backbone, or a dataset too large for the dense "
                            f"build); this {args.method} tree is built exactly")
    if hub is not None:
        result_tree, notes = root_and_annotate(args, hub.tree, annotate=args.annotate)
        write_tree_and_table(args, plan, result_tree, fmt)
        say(args, f"{hub.summary()}{notes}, {time.perf_counter() - start:.2f} s -> {args.output}")
        return
    if data is None and (args.bootstrap or inputs.input_kind(args.input) == "answers"):
        data, note = inputs.input_probes(args.input, probe_dim=args.probe_dim or 128, progress=progress)
        if note:
            say(args, note)
    elif data is None:
        data = inputs.read_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    if args.bootstrap:
        assert isinstance(data, inputs.ProbeEmbeddings)
        result = tree.bootstrap_support(data, metric=args.metric, method=args.method, replicates=args.bootstrap,
                                        kind=args.support or "fbp", seed=args.seed, progress=progress)
        built = result.tree
        values = result.tbe if args.support == "tbe" else result.fbp
        details = (f", {args.bootstrap} probe-bootstrap replicates, {args.support or 'fbp'} median {np.median(values):.2f}, "
                   f"{int((values >= 0.7).sum())} of {len(values)} splits >= 0.70")
    else:
        dist = inputs.to_distances(data, args.metric)
        if tree.needs_compiling(dist.n_models, args.method):
            say(args, f"compiling the {args.method} kernel for this machine: a one-time wait of 5-20 s")
        build = tree.build_tree_with_stats(dist, args.method, progress=progress, overwrite=True)  # dist is not used again
        built = build.tree
        details = f", {build.negative_clamped} negative branch lengths set to 0" if args.method == "nj" else ""
    result_tree, notes = root_and_annotate(args, built, annotate=args.annotate)
    write_tree_and_table(args, plan, result_tree, fmt)
    say(args, f"{inputs.describe(data, args.metric)}, {args.method} tree{details}{notes}, "
              f"{time.perf_counter() - start:.2f} s -> {args.output}")


def _refuse_unused(args: argparse.Namespace) -> None:
    """Options that the build the input and options lead to would not use: refused rather than silently ignored."""
    from .. import inputs  # loaded when the command runs, not at start-up

    if args.support is not None and not args.bootstrap:
        raise PhyloLLMError(f"--support {args.support}: applies only with --bootstrap N (the support of each split over N replicates)")
    if args.probe_dim is not None and (args.relation_model or inputs.input_kind(args.input) != "answers"):
        raise PhyloLLMError(f"--probe-dim {args.probe_dim}: applies only when INPUT is model answers (embedded here); "
                            f"{args.input} is already {'a per-probe cache' if inputs.input_kind(args.input) == 'probes' else 'DNA or distances'}")


def _relation_model_tree(args: argparse.Namespace, plan: io.OutputPlan, fmt: str, start: float) -> None:
    """The tree of a relation model's ``-log P(related)``, and its cherries' probabilities."""
    import numpy as np

    from .. import relate  # loaded when the command runs, not at start-up

    if not args.relation_model:
        raise PhyloLLMError("--cherries lists the probabilities of a relation model: give --relation-model FILE|default")
    for option, given in (("--bootstrap", args.bootstrap), ("--backbone", args.backbone), ("--region", args.region is not None),
                          ("--metric", args.metric != "euclidean")):
        if given:
            raise PhyloLLMError(f"{option} does not apply with --relation-model (the tree is built from the model's probabilities)")
    probes, model = relate.probes_for_model(args.input, args.relation_model)
    proba = relate.pair_probabilities(model, probes, show_progress(args))
    dist = relate.relation_distances(model, probes, proba)
    build = tree.build_tree_with_stats(dist, args.method, progress=show_progress(args), overwrite=True)
    table = relate.cherry_probabilities(build.tree, probes, proba)
    result_tree, notes = root_and_annotate(args, build.tree, annotate=args.annotate)
    leaves = tree.leaf_table(result_tree) if args.csv else None
    with plan:  # the tree, its leaf table and the cherries: together or not at all
        io.write_tree(result_tree, args.output, fmt)
        if leaves is not None:
            io.write_table(leaves, args.csv)
        if args.cherries:
            io.write_table(table, args.cherries)
    likely = int(np.sum(table["p_related"] >= 0.5))
    say(args, f"{probes.n_models} models, {args.method} tree of -log P(related) ({args.relation_model}){notes}; "
              f"{len(table)} cherries, {likely} with P(related) >= 0.5, mean {table['p_related'].mean():.2f}; "
              f"{time.perf_counter() - start:.2f} s -> {args.output}")


def _hub_instead(n_models: int, method: str) -> bool:
    """Whether an NJ tree is built as a hub tree without being asked: the dense build would not fit and there are
    more models than a backbone (else the dense build's own refusal says what is needed)."""
    from .. import hub  # loaded when the command runs, not at start-up

    return method == "nj" and n_models > hub.DEFAULT_BACKBONE and not hub.dense_fits(n_models, method)


def _hub_tree(args: argparse.Namespace, progress: bool):
    """``(hub tree, None)`` when ``--backbone`` asks for it or the dense build would not fit (with a note);
    else ``(None, data)``, the input if it had to be read to decide, else ``None``."""
    from .. import hub, inputs  # loaded when the command runs, not at start-up

    if args.bootstrap or inputs.input_kind(args.input) in ("answers", "probes"):
        if args.backbone:
            raise PhyloLLMError(f"{args.input}: --backbone builds the hub tree from DNA, without bootstrap")
        return None, None
    source: Any = dataset_of(args)
    if source is not None:
        if not args.backbone and not _hub_instead(source.n_models, args.method):
            return None, None
    else:
        source = inputs.read_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
        if not isinstance(source, inputs.DNA):
            if args.backbone:
                raise PhyloLLMError(f"{args.input}: --backbone needs DNA (a file or a partitioned dataset), not a distance matrix")
            return None, source
        if not args.backbone and not _hub_instead(source.n_models, args.method):
            return None, source
    if args.method != "nj":
        raise PhyloLLMError(f"{args.input}: the hub tree (--backbone) is a neighbour-joining tree; --method {args.method} needs the dense build")
    if source.n_models < 3:  # as the dense build says it, before any engine starts
        raise PhyloLLMError(f"{args.input}: a tree needs at least 3 models, found {source.n_models}")
    if not args.backbone:
        say(args, f"{source.n_models} models: the dense build would not fit in memory; building the hub tree "
                  f"(exact NJ on a backbone of {hub.DEFAULT_BACKBONE}, the others placed and refined)")
    elif args.backbone >= source.n_models:  # clamped, as a user asking for "at least this exact" expects: said, not silent
        say(args, f"--backbone {args.backbone}: the data has {source.n_models} models, all of them in the backbone "
                  "(the exact NJ tree)")
    region = {} if args.region is None else {"cap": args.region}
    return hub.build_hub_tree(source, args.backbone, metric=args.metric, seed=args.seed, progress=progress, **region,
                              **cluster_options(args)), None
