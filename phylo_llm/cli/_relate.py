"""``phylo-llm relate evaluate``: how well a relation model tells copies and derivatives from unrelated pairs."""

from __future__ import annotations

import argparse
import json

from .. import io
from ._options import add_lineage, add_quiet, add_seed, integer, lineage_of, read_paths, say

NAME = "relate"
HELP = "relations between models: model-disjoint evaluation of a relation model on a per-probe cache"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("evaluate",), help="evaluate: cross-validate, folds keeping documented relatives together")
    parser.add_argument("input", metavar="INPUT", help="per-probe cache (phylo-llm extract --cache) or model answers")
    add_lineage(parser)
    parser.add_argument("--folds", type=integer(2, 50), default=5, help="cross-validation folds (default: 5)")
    parser.add_argument("--estimator", choices=("logistic", "boosting"), default="logistic")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    add_seed(parser, "negative sampling, fold assignment and the chance baseline")
    add_quiet(parser)


def run(args: argparse.Namespace) -> None:
    from .. import inputs, relate  # loaded when the command runs, not at start-up

    plan = io.OutputPlan(inputs=read_paths(args))
    if args.json:
        plan.add(args.json, "--json")
    lineage = lineage_of(args)
    probes, note = inputs.input_probes(args.input)
    if note:
        say(args, note)
    report = relate.evaluate_relations(probes, lineage, n_folds=args.folds, seed=args.seed, estimator=args.estimator)
    if args.json:
        with plan, io.atomic_output(args.json) as handle:
            handle.write(json.dumps(report, indent=1, sort_keys=True) + "\n")
    for name in ("same_weights", "derived"):
        if name in report:
            r = report[name]
            print(f"{name} ({r['pairs']} pairs): AUC model {r['auc_model']:.3f}, distance {r['auc_distance']:.3f}, "
                  f"chance {r['auc_chance']:.3f}; average precision model {r['ap_model']:.3f}, distance {r['ap_distance']:.3f}")
    if "retrieval" in report:
        r = report["retrieval"]
        print(f"parent retrieval ({r['edges']} edges, among a median {r['median_candidates']:.0f} models): top-1 model "
              f"{r['top1_model']:.3f}, distance {r['top1_distance']:.3f}; median rank model {r['median_rank_model']:g}, "
              f"distance {r['median_rank_distance']:g}")
    print(f"expected calibration error of P(related): {report['ece']:.4f}")
    say(args, f"{report['models']} models, {report['pairs_scored']:,} pairs scored in {report['folds']} model-disjoint folds")
