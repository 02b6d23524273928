"""``phylo-llm relate``: is X a copy of Y, derived from it, or unrelated? Train, evaluate, ask about one pair.

``relate train INPUT --lineage L -o FILE``, ``relate evaluate INPUT --lineage L``, ``relate A B INPUT``.
"""

from __future__ import annotations

import argparse
import json
import os

from .. import io
from ..errors import PhyloLLMError
from ._options import (
    add_lineage,
    add_quiet,
    add_seed,
    integer,
    lineage_of,
    model_file,
    relation_model_path,
    say,
    show_progress,
)

NAME = "relate"
HELP = ("relations between models from a per-probe cache: 'relate A B INPUT' (probabilities and evidence), "
        "'relate train INPUT -o FILE', 'relate evaluate INPUT' (model-disjoint cross-validation)")
ACTIONS = ("train", "evaluate")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("words", nargs="+", metavar="ACTION|A B",
                        help="'train INPUT', 'evaluate INPUT', or two model ids and INPUT; INPUT is a per-probe cache "
                        "(phylo-llm extract --cache) or model answers")
    add_lineage(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="train: where to write the model (JSON)")
    parser.add_argument("--relation-model", "--model", dest="model", metavar="FILE|default", default="default",
                        type=model_file, help="A B: the relation model (default: the shipped one, trained on the rand "
                        "set); --relation-model as in the other commands")
    parser.add_argument("--folds", type=integer(0, 50), default=5,
                        help="evaluate (2-50) and train (0 = no cross-validated numbers on the card): folds (default: 5)")
    parser.add_argument("--estimator", choices=("logistic", "boosting"), default="logistic",
                        help="evaluate: the estimator (default: logistic; train always fits the logistic model)")
    parser.add_argument("--json", metavar="FILE", help="evaluate, A B: also write the report as JSON")
    parser.add_argument("--figure", metavar="FILE", help="evaluate: reliability diagram of P(related) (.png, .pdf or .svg)")
    add_seed(parser, "negative sampling, fold assignment and the chance baseline")
    add_quiet(parser)


def _parse(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The action and its words; options that do not belong to it are refused (they would be ignored)."""
    words = args.words
    if words[0] in ACTIONS:
        if len(words) != 2:
            raise PhyloLLMError(f"relate {words[0]}: give one INPUT (got {len(words) - 1})")
        action = words[0]
    elif len(words) == 3:
        action = "pair"
        if not os.path.exists(words[2]) and os.path.exists(words[0]):  # the newcomer's swap: INPUT A B
            raise PhyloLLMError(f"{words[2]}: no such file or directory; the models come first: "
                                f"phylo-llm relate {words[1]} {words[2]} {words[0]}")
    else:
        raise PhyloLLMError(f"relate: give 'train INPUT', 'evaluate INPUT' or 'A B INPUT' (got {len(words)} words)")
    unused = {
        "train": [("--json", args.json), ("--figure", args.figure), ("--relation-model", args.model != "default"), ("--estimator", args.estimator != "logistic")],
        "evaluate": [("-o", args.output), ("--relation-model", args.model != "default")],
        "pair": [("-o", args.output), ("--figure", args.figure), ("--folds", args.folds != 5),
                 ("--estimator", args.estimator != "logistic")],
    }[action]
    for option, given in unused:
        if given:
            raise PhyloLLMError(f"relate: {option} does not apply to {'A B' if action == 'pair' else action}")
    if action == "train" and not args.output:
        raise PhyloLLMError("relate train: -o FILE is required (where to write the model)")
    if action == "evaluate" and args.folds < 2:
        raise PhyloLLMError("relate evaluate: --folds must be at least 2")
    if action == "train" and args.folds == 1:  # one fold has no training part: 0 (no numbers) or 2 and more
        raise PhyloLLMError("relate train: --folds must be 0 (no cross-validated numbers on the card) or at least 2")
    return action, words[1:] if action != "pair" else words


def run(args: argparse.Namespace) -> None:
    action, words = _parse(args)
    args.input = words[-1]
    plan = io.OutputPlan(inputs=[args.input] + [p for p in (args.lineage or []) if p != "builtin"]
                         + ([relation_model_path(args.model)] if action == "pair" else []))
    if args.json:
        plan.add(args.json, "--json")
    if args.output:
        plan.add(args.output, "-o")
    if args.figure:
        if not args.figure.lower().endswith((".png", ".pdf", ".svg")):
            raise PhyloLLMError(f"{args.figure}: --figure must end in .png, .pdf or .svg")
        plan.add(args.figure, "--figure")
    from .. import relate  # loaded when the command runs, not at start-up

    try:
        {"train": _train, "evaluate": _evaluate, "pair": _pair}[action](args, plan, words)
    except relate.TooFewDocumented as exc:  # and no --lineage: the newcomer forgot theirs
        if args.lineage:
            raise
        raise PhyloLLMError(f"{exc} (the built-in lineage was used: give yours with --lineage PATH)") from None


def _probes(args: argparse.Namespace):
    from .. import inputs  # loaded when the command runs, not at start-up

    probes, note = inputs.input_probes(args.input)
    if note:
        say(args, note)
    return probes


def _write_json(plan: io.OutputPlan, path: str, report: dict) -> None:
    with plan, io.atomic_output(path) as handle:
        handle.write(json.dumps(report, indent=1, sort_keys=True, allow_nan=False) + "\n")


def _train(args: argparse.Namespace, plan: io.OutputPlan, words: list[str]) -> None:
    from .. import relate

    lineage = lineage_of(args)
    probes = _probes(args)
    name = ";".join(args.lineage or ["builtin"])
    model = relate.train_relation_model(probes, lineage, name, n_folds=args.folds, seed=args.seed,
                                        progress=show_progress(args))
    with plan:
        model.save(args.output)
    pairs = model.card["training"]["pairs"]
    say(args, f"{probes.n_models} models; trained on {pairs['same_weights']} same-weights, {pairs['derived']} derived, "
        f"{pairs['unrelated']:,} unrelated pairs ({pairs['kin_not_used']:,} kin pairs left out); model written to {args.output}")
    for name in model.card["training"].get("classes_left_out", []):
        say(args, f"note: {name} is documented by a single pair, too few to calibrate: the model gives it probability 0")
    if model.card.get("cross_validation"):
        _print_report(model.card["cross_validation"])
    if model.card.get("direction"):
        d = model.card["direction"]

        def share(key: str) -> str:
            return "not measurable" if d.get(key) is None else f"{d[key]:.3f}"

        print(f"direction ({d['edges']} directed edges): model {share('accuracy_model')}, closer to its family's centre "
              f"{share('accuracy_family_centre')}, earlier release {share('accuracy_earlier_release')} (known for "
              f"{100 * d['coverage_earlier_release']:.0f}%), release where known else model {share('accuracy_release_else_model')}, "
              f"else family centre {share('accuracy_release_else_centre')} ({100 * d['coverage_release_else_centre']:.0f}%)")
        if "accuracy_lineage_else_model" in d:  # cards written before these baselines lack them
            print(f"direction from the lineage: documented base model {share('accuracy_documented_base')} (known for "
                  f"{100 * d['coverage_documented_base']:.0f}%); base model, else release, else the model "
                  f"{share('accuracy_lineage_else_model')}")


def _evaluate(args: argparse.Namespace, plan: io.OutputPlan, words: list[str]) -> None:
    from .. import relate

    lineage = lineage_of(args)
    probes = _probes(args)
    report = relate.evaluate_relations(probes, lineage, n_folds=args.folds, seed=args.seed, estimator=args.estimator,
                                       progress=show_progress(args))
    figure = None
    if args.figure:
        from ..figures import reliability_figure

        figure = reliability_figure(report)
    with plan:
        if args.json:
            with io.atomic_output(args.json) as handle:
                handle.write(json.dumps(report, indent=1, sort_keys=True, allow_nan=False) + "\n")
        if figure is not None:
            with io.atomic_path(args.figure) as tmp:
                figure.savefig(tmp, format=args.figure.lower().rsplit(".", 1)[1], dpi=300,
                               metadata={"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None},
                                         "svg": {"Date": None}}[args.figure.lower().rsplit(".", 1)[1]])
    _print_report(report)
    say(args, f"{report['models']} models, {report['pairs_scored']:,} pairs scored in {report['folds']} model-disjoint folds")


def _print_report(report: dict) -> None:
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
    print(f"expected calibration error of P(related): {report['ece']:.4f} (all scored pairs); "
          f"{report['ece_p_at_least_0.1'] or 0:.4f} among the {report['pairs_p_at_least_0.1']:,} pairs with P >= 0.1")


def _print_lineage(facts: dict, name: str) -> None:
    """One line: what the lineage documents of the pair (nothing printed when it knows neither model)."""
    described = {m: ", ".join(f"{k} {v}" for k, v in info.items()) for m, info in facts["models"].items() if info}
    if not described and not facts["edges"]:
        return
    said = "; ".join(facts["edges"]) if facts["edges"] else ("kin (a shared documented ancestor or family), no direct edge"
                                                             if facts["kin"] else "no documented relation")
    if not facts["parent"]:
        parent = ""
    elif facts["parent_from"] == "documented edge":
        parent = f"; the parent: {facts['parent']}"
    else:  # no edge: what base-model flags or release dates would imply if one came from the other
        parent = f"; if one derives from the other, the parent is {facts['parent']} ({facts['parent_from']})"
    about = "".join(f" [{m}: {text}]" for m, text in described.items())
    print(f"lineage ({name}): {said}{parent}{about}")


def _pair(args: argparse.Namespace, plan: io.OutputPlan, words: list[str]) -> None:
    from .. import relate

    model = relate.load_relation_model(args.model)
    probes = _probes(args)
    out = relate.relate_pair(model, probes, words[0], words[1])
    out["lineage"] = relate.lineage_facts(lineage_of(args), out["a"], out["b"], probes.ids)
    if args.json:
        _write_json(plan, args.json, out)
    p, e = out["probabilities"], out["evidence"]
    print(f"{out['a']}  ~  {out['b']}")
    print("P(same weights) {:.3f}   P(derived) {:.3f}   P(unrelated) {:.3f}".format(
        p["same_weights"], p["derived"], p["unrelated"]))
    print(f"distance {e['distance']:.4g}: closer than {100 - e['distance_percentile']:.2f}% of the {e['models']} models' "
          f"pairs; rank of B from A {e['rank_of_b_from_a']}, of A from B {e['rank_of_a_from_b']}")
    print(f"per-probe distance median {e['median_probe_distance']:.4g}; near-identical answers on "
          f"{100 * e['same_answer_share']:.0f}% of probes")
    if out["direction"] is not None:
        d = out["direction"]
        accuracy = f"; right on {100 * d['accuracy_cv']:.0f}% of documented directed edges in cross-validation" if d["accuracy_cv"] else ""
        if d["parent"] is None:
            print(f"if related, which one is the parent cannot be told (P(A is the parent) {d['p_a_is_parent']:.2f}{accuracy})")
        else:
            print(f"if related, the parent is more likely {d['parent']} (P(A is the parent) {d['p_a_is_parent']:.2f}{accuracy})")
    _print_lineage(out["lineage"], ";".join(args.lineage or ["builtin"]))
    drivers = ", ".join(f"{d['feature']} {d['log_odds']:+.2f}" for d in out["drivers"]["features"])
    print(f"features that drove P({out['drivers']['relation']}) against unrelated (log-odds): {drivers}")
