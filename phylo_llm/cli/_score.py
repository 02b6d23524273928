"""``phylo-llm score``: DNA, distances or a tree against documented lineage, with chance baselines."""

from __future__ import annotations

import argparse
import json
import math
import sys

from ..distance import METRIC_CHOICES
from ..errors import PhyloLLMError
from ..tree import TREE_METHODS
from ._options import add_input, add_lineage, add_seed, integer, lineage_of, model_file, show_progress

NAME = "score"
HELP = "score DNA, distances or a tree against documented lineage, with chance baselines"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser, distances_too=True, trees_too=True)
    add_lineage(parser)
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")
    parser.add_argument("--method", choices=TREE_METHODS, default="nj", help="tree built from DNA or distances (default: nj)")
    parser.add_argument("--permutations", type=integer(0, 10_000), default=100, help="chance baseline permutations (default: 100)")
    add_seed(parser, "the permutations")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON instead of tables")
    parser.add_argument("--relation-model", metavar="FILE|default", type=model_file,
                        help="also score pairs by a relation model's P(related) (auc_model, retrieval_model beside "
                        "auc_dna, retrieval_dna); INPUT must be a per-probe cache made with the model's settings")


def run(args: argparse.Namespace) -> None:
    from Bio.Phylo.BaseTree import Tree

    from .. import inputs, score  # loaded when the command runs, not at start-up
    from ..probes import ProbeEmbeddings

    lineage = lineage_of(args)  # a bad lineage path is refused before any distance is computed
    data = inputs.read_input(args.input, trees=True, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    extra = {}
    if args.relation_model:
        from .. import relate

        if not isinstance(data, ProbeEmbeddings):
            raise PhyloLLMError(f"{args.input}: --relation-model needs a per-probe cache (phylo-llm extract --cache), "
                                "not DNA, distances or a tree")
        model = relate.load_relation_model(args.relation_model)
        extra["model"] = relate.relation_distances(model, data, progress=show_progress(args))
    if isinstance(data, ProbeEmbeddings):
        data = inputs.to_distances(data, args.metric)
    try:
        report = score.score(data, lineage, metric=args.metric, method=args.method, permutations=args.permutations,
                             seed=args.seed, progress=show_progress(args), extra_spaces=extra)
    except PhyloLLMError as error:  # a given tree it cannot score (e.g. no lengths to midpoint-root): name the file
        if not isinstance(data, Tree):
            raise
        raise PhyloLLMError(f"{args.input}: {error}") from None
    if args.json:
        # Undefined numbers (an AUC without negatives, a rank without edges) are null: strict JSON (RFC 8259).
        sys.stdout.write(json.dumps(_finite_or_null(report), indent=1, allow_nan=False) + "\n")
    else:
        sys.stdout.write(score.format_report(report))


def _finite_or_null(value):
    """``value`` with every non-finite float (NaN, infinity) replaced by ``None``, in nested dicts and lists."""
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
