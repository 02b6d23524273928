"""``phylo-llm view``: INPUT (and optionally its tree) -> one self-contained, interactive HTML explorer."""

from __future__ import annotations

import argparse
import time

from .. import io
from ..distance import METRIC_CHOICES
from ..tree import TREE_METHODS
from ._options import add_input, add_lineage, add_seed, integer, lineage_of, read_paths, say, show_progress

NAME = "view"
HELP = "an interactive explorer of the tree and the DNA map, as one self-contained HTML file"


def arguments(parser: argparse.ArgumentParser) -> None:
    add_input(parser, distances_too=True)
    parser.add_argument("-o", "--output", required=True, help="the HTML file to write")
    parser.add_argument("--tree", metavar="T", help="show this tree (its leaves: INPUT's models, and --placed ones) "
                        "instead of building one")
    add_lineage(parser)
    parser.add_argument("--colour-by", default="family", metavar="ATTRIBUTE",
                        help="lineage attribute colouring the leaves: family, organization, architecture, subfamily, "
                        "release, ... (default: family; the page can switch)")
    parser.add_argument("--layout", choices=("rectangular", "circular"), default="rectangular", help="first tree layout (default: rectangular)")
    parser.add_argument("--method", choices=TREE_METHODS, default="nj", help="how the tree is built without --tree (default: nj)")
    parser.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="distance between DNA vectors (default: euclidean)")
    parser.add_argument("--root", choices=("none", "midpoint", "mad"), default="none",
                        help="root the tree (default: none: as given, or as built)")
    parser.add_argument("--placed", metavar="CSV", help="mark the models of this table (phylo-llm place --csv) as placed; "
                        "their rows show on their cards, and those not in INPUT show in the tree only")
    parser.add_argument("--only", metavar="KEY=VALUE", help="view the models whose lineage KEY is VALUE, e.g. family=Llama")
    parser.add_argument("-k", type=integer(1, 100), default=10, help="nearest models on each card (default: 10)")
    add_seed(parser, "the t-SNE map")


def run(args: argparse.Namespace) -> None:
    import pandas as pd

    from .. import inputs, viewer  # loaded when the command runs, not at start-up
    from ..errors import PhyloLLMError
    from ..ids import check_unique

    start = time.perf_counter()
    plan = io.OutputPlan(inputs=read_paths(args))
    plan.add(args.output)
    if args.only and args.tree:
        raise PhyloLLMError(f"{args.tree}: --only builds the tree of the chosen models; give --tree or --only, not both")
    data = inputs.read_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)
    lineage = lineage_of(args)
    if args.only:
        key, sep, value = args.only.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise PhyloLLMError(f"--only {args.only!r}: expected KEY=VALUE, e.g. family=Llama")
        chosen = set(lineage.select(data.ids, key.strip(), value.strip()))
        if len(chosen) < 2:
            raise PhyloLLMError(f"{args.input}: {len(chosen)} models with {key.strip()}={value.strip()}; the explorer needs 2 or more")
        data = data.subset([m for m in data.ids if m in chosen])
    placed, extra = [], {}
    if args.placed:
        try:
            table = pd.read_csv(args.placed, dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PhyloLLMError(f"{args.placed}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
        if "model" not in table.columns:
            raise PhyloLLMError(f"{args.placed}: no 'model' column (expected the table of phylo-llm place --csv)")
        placed = [str(m) for m in table["model"]]
        check_unique(placed, args.placed)
        extra = {str(row["model"]): {c: row[c] for c in table.columns if c != "model" and str(row[c]) != ""}
                 for _, row in table.iterrows()}
    viewer.check_size(data.n_models + len(set(placed) - set(data.ids)), args.input)
    tree = args.tree  # read by the library, which names the file in what it refuses
    if tree is None and data.n_models > 500:
        say(args, f"building the {args.method} tree of {data.n_models:,} models")
    explorer = viewer.view(tree, data, lineage, metric=args.metric, method=args.method, root=args.root,
                           colour_by=args.colour_by, k=args.k, seed=args.seed, placed=placed, extra=extra,
                           layout=args.layout, progress=show_progress(args))
    page = explorer.html
    with plan, io.atomic_output(args.output) as handle:
        handle.write(page)
    say(args, f"{explorer.data['subtitle']}; {len(page.encode('utf-8')) / 1e6:.1f} MB, "
              f"{time.perf_counter() - start:.2f} s -> {args.output}")
