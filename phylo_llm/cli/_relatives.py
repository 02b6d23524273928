"""``phylo-llm relatives``: the nearest models to one model, against documented distances."""

from __future__ import annotations

import argparse
import os
import sys

from .. import io
from ..distance import METRIC_CHOICES
from ..errors import PhyloLLMError
from ._options import (
    add_cluster,
    add_input,
    add_lineage,
    cluster_options,
    dataset_of,
    integer,
    lineage_of,
    model_file,
    read_paths,
    say,
    show_progress,
)

NAME = "relatives"
HELP = "the nearest models to one model, against documented distances"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model id (any case; the published folder form works too)")
    add_input(parser, distances_too=True)
    parser.add_argument("-k", type=integer(1, 10_000_000), default=10, help="how many (default: 10)")
    add_lineage(parser)
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")
    parser.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    parser.add_argument("--relation-model", metavar="FILE|default", type=model_file,
                        help="rank by a relation model's P(related) with p_same_weights, p_derived, p_related and "
                        "expected_fdr columns; INPUT must be a per-probe cache made with the model's settings")
    add_cluster(parser)


def model_id_of(model: str, ids, source: str) -> str:
    """The exact id of ``model`` among ``ids`` (its only case-insensitive match)."""
    from ..ids import require_model  # loads NumPy: not at start-up

    row = require_model(model, ids, source)
    return ids[row]


def run(args: argparse.Namespace) -> None:
    from .. import inputs, score  # loaded when the command runs, not at start-up

    if not os.path.exists(args.input) and os.path.exists(args.model):  # the newcomer's swap: INPUT MODEL
        raise PhyloLLMError(f"{args.input}: no such file or directory; the model comes first: "
                            f"phylo-llm relatives {args.input} {args.model}")
    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.csv, "--csv")
    lineage = lineage_of(args)
    data = dataset_of(args)
    if data is not None and args.relation_model:
        raise PhyloLLMError(f"{args.input}: --relation-model needs a per-probe cache, not a partitioned DNA dataset")
    if data is not None:  # a partitioned dataset: exact neighbours on Dask, all pairs sampled
        from .. import hub

        say(args, lineage.coverage(data.all_ids()).summary())
        with hub.connect(**cluster_options(args)) as client:
            table = hub.hub_relatives(args.model, data, lineage, client, k=args.k, metric=args.metric)
    elif args.relation_model:
        from .. import relate

        probes, model = relate.probes_for_model(args.input, args.relation_model)
        exact = model_id_of(args.model, probes.ids, args.input)  # before every pair's features are computed
        say(args, lineage.coverage(probes.ids).summary())
        proba = relate.pair_probabilities(model, probes, show_progress(args))
        table = score.relatives(exact, relate.relation_distances(model, probes, proba), lineage, k=args.k)
        table = relate.with_probabilities(table, probes, proba, exact)
    else:
        dist = inputs.input_distances(args.input, args.metric, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
        say(args, lineage.coverage(dist.ids).summary())
        table = score.relatives(args.model, dist, lineage, k=args.k)
    if len(table) < args.k:
        say(args, f"note: -k {args.k} but {args.model} has only {len(table)} other models to list")
    if args.csv:
        with plan:
            io.write_table(table, args.csv)
    sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.4g}", max_colwidth=120) + "\n")  # long ids kept whole
