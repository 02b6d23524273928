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
import numpy as np

from .distance import METRIC_CHOICES, DistanceMatrix, distance_matrix, probe_distances
from .dna import DNA
from .errors import PhyloLLMError
from .io import TREE_FORMATS, load_dna, load_input, save_distances, save_dna, write_tree
from .io.atomic import atomic_output
from .placement import CRITERIA
from .probes import ProbeEmbeddings
from .support import SUPPORT_KINDS
from .tree import TREE_METHODS, build_tree_with_stats
from .root import ROOT_METHODS

PROG = "phylo-llm"
EXAMPLES = """examples:
  phylo-llm tree data/demo/dna.parquet -o tree.nwk
  phylo-llm tree dna.parquet -o tree.nwk --method upgma --metric cosine
  phylo-llm import dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu -o paper.parquet
  phylo-llm import dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu --encoder bge -o paper-bge.parquet
  phylo-llm tree paper.parquet -o paper.nhx --root mad --annotate
  phylo-llm annotate paper.nwk -o paper.nhx --root-by architecture=encoder_decoder --csv leaves.csv
  phylo-llm distances paper.parquet -o paper.phy
  phylo-llm extract dna-web/dna-out/rand -o rand-dna.parquet --cache rand.probes
  phylo-llm tree rand.probes -o rand-support.nwk --bootstrap 100 --support tbe
  phylo-llm place new-model.probes --tree rand-support.nwk --dna rand.probes --csv placed.csv -o placed.nwk
  phylo-llm simulate -o data/demo --seed 0
"""
TREE_SUFFIXES = {".nex": "nexus", ".nexus": "nexus", ".nxs": "nexus", ".xml": "phyloxml", ".phyloxml": "phyloxml", ".nhx": "nhx"}


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
    tree.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="distance between DNA vectors (default: euclidean)")
    tree.add_argument("--format", choices=TREE_FORMATS, help="tree format (default: from the extension, else newick; nhx with --annotate)")
    _lineage_options(tree, root_default=None)
    tree.add_argument("--annotate", action="store_true", help="attach lineage features to leaves and clades (NHX)")
    tree.add_argument("--bootstrap", type=int, default=0, metavar="N",
                      help="N probe-bootstrap replicates; INPUT must be a probe cache (extract --cache) or model answers")
    tree.add_argument("--support", choices=SUPPORT_KINDS, default="fbp",
                      help="fbp: share of replicates with the split; tbe: transfer bootstrap expectation (default: fbp)")
    tree.add_argument("--seed", type=int, default=0, help="seed of the bootstrap draws (default: 0)")
    tree.add_argument("--probe-dim", type=int, default=128, help="answers input: per-probe embedding size (default: 128)")

    ann = _command(commands, "annotate", "root a tree and attach documented lineage to its leaves (NHX, CSV)", _run_annotate)
    ann.add_argument("input", metavar="TREE", help="Newick, NHX, NEXUS or PhyloXML tree")
    ann.add_argument("-o", "--output", required=True, help="annotated tree (NHX unless --format says otherwise)")
    ann.add_argument("--format", choices=TREE_FORMATS, default=None, help="(default: nhx, or from the extension)")
    _lineage_options(ann, root_default="midpoint")
    ann.add_argument("-q", "--quiet", action="store_true", help="no summary on standard error")

    ext = _command(commands, "extract", "compute DNA from models' raw answers (RepTrace: embed, concatenate, project)", _run_extract)
    ext.add_argument("input", metavar="RESPONSES", help="folder of model folders with responses.json(.gz), or a JSONL of {model, prompt, response}")
    ext.add_argument("-o", "--output", required=True, help="DNA file (.parquet canonical; .csv, .tsv, .npz)")
    ext.add_argument("--encoder", default="hashing", help="'hashing' (built in, default) or 'st:<local sentence-transformers model>'")
    ext.add_argument("--dim", type=int, default=2048, help="DNA dimension (default: 2048; 128 is the paper's, and loses ranking detail)")
    ext.add_argument("--answer-dim", type=int, default=1024, help="per-answer embedding size, hashing encoder (default: 1024)")
    ext.add_argument("--max-chars", type=int, default=300, help="embed only the first N characters of each answer; 0 = all (default: 300)")
    ext.add_argument("--seed", type=int, default=0, help="seed of the shared random projection (default: 0)")
    ext.add_argument("--allow-missing", action="store_true", help="keep models lacking some prompts (missing answers count as empty)")
    ext.add_argument("--cache", metavar="FILE", help="also write the per-probe embeddings (for --bootstrap, place, re-extraction)")
    ext.add_argument("--cache-dim", type=int, default=128, help="per-probe embedding size in the cache (default: 128)")
    ext.add_argument("--cache-dtype", choices=("float16", "float32"), default="float16", help="(default: float16)")
    ext.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on standard error")

    pla = _command(commands, "place", "place new models into an existing tree (least squares, as APPLES) without rebuilding it", _run_place)
    pla.add_argument("input", metavar="NEW", help="DNA or probe cache of the new models (or their answers, with a cache as --dna)")
    pla.add_argument("--tree", required=True, help="the backbone tree, with branch lengths")
    pla.add_argument("--dna", required=True, metavar="REF", help="DNA or probe cache holding the tree's models (same settings as NEW)")
    pla.add_argument("-o", "--output", help="the tree with the new models inserted")
    pla.add_argument("--format", choices=TREE_FORMATS, help="output tree format (default: from the extension, else newick)")
    pla.add_argument("--csv", metavar="FILE", help="one row per new model: edge, lengths, nearest leaves, documented relatives")
    pla.add_argument("--metric", choices=("euclidean", "sqeuclidean", "cosine", "manhattan", "correlation"), default="euclidean",
                     help="the metric the tree was built with (default: euclidean)")
    pla.add_argument("--criterion", choices=CRITERIA, default="fm", help="fm: weights 1/d^2 (APPLES' default); ols: equal weights")
    pla.add_argument("--local", type=int, default=25, metavar="K",
                     help="fit each model's distances to its K nearest leaves only, as APPLES does (default: 25; 0 = all)")
    pla.add_argument("--bootstrap", type=int, default=0, metavar="N", help="probe caches: share of N replicates placing on the same edge")
    pla.add_argument("--seed", type=int, default=0, help="seed of the bootstrap draws (default: 0)")
    pla.add_argument("--allow-mixed", action="store_true", help="accept reference DNA made with different settings")
    _lineage_option(pla)
    pla.add_argument("-q", "--quiet", action="store_true", help="no summary or progress on standard error")

    sco = _command(commands, "score", "score DNA, distances or a tree against documented lineage, with chance baselines", _run_score)
    _input_options(sco, distances_too=True, trees_too=True)
    _lineage_option(sco)
    sco.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")
    sco.add_argument("--method", choices=TREE_METHODS, default="nj", help="tree built from DNA or distances (default: nj)")
    sco.add_argument("--permutations", type=int, default=100, help="chance baseline permutations (default: 100)")
    sco.add_argument("--seed", type=int, default=0, help="seed of the permutations (default: 0)")
    sco.add_argument("--json", action="store_true", help="print the full report as JSON instead of tables")

    rel = _command(commands, "relatives", "the nearest models to one model, against documented distances", _run_relatives)
    rel.add_argument("model", metavar="MODEL")
    _input_options(rel, distances_too=True)
    rel.add_argument("-k", type=int, default=10, help="how many (default: 10)")
    _lineage_option(rel)
    rel.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean")
    rel.add_argument("--csv", metavar="FILE", help="write the table as CSV")

    can = _command(commands, "candidates", "close pairs without any documented relation, for review", _run_candidates)
    _input_options(can, distances_too=True)
    can.add_argument("-o", "--output", required=True, help="CSV of candidate pairs, closest first")
    _lineage_option(can)
    can.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean")
    can.add_argument("--threshold", type=float, help="distance cut-off (default: median distance of documented fine-tunes)")
    can.add_argument("--limit", type=int, default=1000, help="keep the closest N pairs (default: 1000; 0 = all)")

    fig = _command(commands, "figures", "regenerate the paper's figures (PNG and PDF) from a probe-set folder or DNA file", _run_figures)
    _input_options(fig)
    fig.add_argument("-o", "--output", required=True, help="folder for the figures and figures.json")
    _lineage_option(fig)
    fig.add_argument("--seed", type=int, default=0, help="seed of t-SNE and the Mantel permutations (default: 0)")

    dist = _command(commands, "distances", "write the pairwise distance matrix of DNA", _run_distances)
    _input_options(dist)
    dist.add_argument("-o", "--output", required=True, help="matrix file: .phy (PHYLIP), .csv, .tsv or .parquet")
    dist.add_argument("--metric", choices=METRIC_CHOICES, default="euclidean", help="(default: euclidean)")

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


def _lineage_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--lineage", action="append", metavar="PATH",
        help="lineage folder (models.csv, relations*.csv) or CSV; repeat to combine; 'builtin' is the shipped "
        "knowledge base (default: builtin)",
    )


def _lineage_options(sub: argparse.ArgumentParser, root_default: str | None) -> None:
    _lineage_option(sub)
    sub.add_argument("--root", choices=ROOT_METHODS, default=root_default,
                     help=f"rooting (default: {root_default or 'none, as built'}); mad = minimal ancestor deviation")
    sub.add_argument("--outgroup", action="append", metavar="MODEL", help="root on these models (repeatable)")
    sub.add_argument("--root-by", metavar="KEY=VALUE", help="root on the models whose lineage KEY is VALUE, e.g. family=T5")
    sub.add_argument("--csv", metavar="FILE", help="also write one row per leaf with its lineage features")


def _command(commands, name: str, help_text: str, run) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        name, help=help_text, description=help_text, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub.set_defaults(run=run)
    return sub


def _input_options(sub: argparse.ArgumentParser, distances_too: bool = False, trees_too: bool = False) -> None:
    what = "DNA file (.parquet, .csv, .tsv, .npz) or published probe-set folder"
    if distances_too:
        what += ", or a distance matrix (.phy, square .csv/.parquet)"
    if trees_too:
        what += ", or a tree (.nwk, .nhx, .tree, .nex, .xml)"
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
    progress = not args.quiet and sys.stderr.isatty()
    if args.bootstrap < 0:
        raise PhyloLLMError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.bootstrap:
        from .support import bootstrap_support

        probes = _probes_of(args)
        result = bootstrap_support(probes, metric=args.metric, method=args.method, replicates=args.bootstrap,
                                   kind=args.support, seed=args.seed, progress=progress)
        built = result.tree
        values = result.fbp if args.support == "fbp" else result.tbe
        what = f"{probes.n_models} models x {probes.n_probes} probes, {args.metric}"
        clamped = (f", {args.bootstrap} probe-bootstrap replicates, {args.support} median {np.median(values):.2f}, "
                   f"{int((values >= 0.7).sum())} of {len(values)} splits >= 0.70")
    else:
        data = _load_any(args)
        if isinstance(data, DistanceMatrix):
            dist, what = data, f"{data.n_models} models (distance matrix)"
        elif isinstance(data, ProbeEmbeddings):
            dist, what = probe_distances(data, args.metric), f"{data.n_models} models x {data.n_probes} probes, {args.metric}"
        else:
            dist, what = distance_matrix(data, args.metric), f"{data.n_models} models x {data.dim} dimensions, {args.metric}"
        build = build_tree_with_stats(dist, args.method, progress=progress, overwrite=True)  # dist is not used again
        built = build.tree
        clamped = f", {build.negative_clamped} negative branch lengths set to 0" if args.method == "nj" else ""
    tree, notes = _root_and_annotate(args, built, annotate=args.annotate)
    fmt = args.format or TREE_SUFFIXES.get(Path(args.output).suffix.lower(), "nhx" if args.annotate else "newick")
    _write_tree_outputs(args, tree, fmt)
    _say(args, f"{what}, {args.method} tree{clamped}{notes}, {time.perf_counter() - start:.2f} s -> {args.output}")


def _run_annotate(args) -> None:
    from .io import read_tree

    tree, notes = _root_and_annotate(args, read_tree(args.input), annotate=True)
    fmt = args.format or TREE_SUFFIXES.get(Path(args.output).suffix.lower(), "nhx")
    _write_tree_outputs(args, tree, fmt)
    _say(args, f"{tree.count_terminals()} leaves{notes} -> {args.output}")


def _root_and_annotate(args, tree, annotate: bool):
    """Root (when asked) and annotate (when asked); returns the tree and a note for the summary."""
    from .annotate import annotate_tree
    from .root import attribute_root, outgroup_root, root_tree

    lineage = _lineage(args) if annotate or args.root_by or args.csv else None
    notes = ""
    if args.root_by:
        key, sep, value = args.root_by.partition("=")
        if not sep or not key or not value:
            raise PhyloLLMError(f"--root-by {args.root_by!r}: expected KEY=VALUE, e.g. family=T5")
        tree, chosen = attribute_root(tree, lineage, key.strip(), value.strip())
        notes += f", rooted on {len(chosen)} models with {key.strip()}={value.strip()}"
    elif args.outgroup:
        tree = outgroup_root(tree, args.outgroup)
        notes += f", rooted on outgroup {', '.join(args.outgroup)}"
    elif args.root and args.root != "none":
        tree = root_tree(tree, args.root)
        notes += f", {args.root} root"
    if annotate or args.csv:
        tree, coverage = annotate_tree(tree, lineage)
        if not args.quiet:
            print(f"{PROG} {args.command}: {coverage.summary()}", file=sys.stderr)
    return tree, notes


def _write_tree_outputs(args, tree, fmt: str) -> None:
    from .annotate import leaf_table

    table = leaf_table(tree) if args.csv else None
    write_tree(tree, args.output, fmt)
    if table is not None:
        with atomic_output(args.csv) as handle:
            table.to_csv(handle, index=False)


TREE_INPUT_SUFFIXES = {".nwk", ".newick", ".nhx", ".tree", ".tre", ".treefile", ".nex", ".nexus", ".xml", ".phyloxml"}


def _load_any(args, trees: bool = False):
    """DNA, a distance matrix or (with ``trees``) a tree, by what the file holds."""
    if trees and Path(args.input).suffix.lower() in TREE_INPUT_SUFFIXES:
        from .io import read_tree

        return read_tree(args.input)
    return load_input(args.input, variant=args.variant, encoder=args.encoder, allow_mixed=args.allow_mixed)


def _distances_of(args) -> DistanceMatrix:
    data = _load_any(args)
    if isinstance(data, ProbeEmbeddings):
        return probe_distances(data, args.metric)
    return data if isinstance(data, DistanceMatrix) else distance_matrix(data, args.metric)


def _probes_of(args, reference: ProbeEmbeddings | None = None) -> ProbeEmbeddings:
    """A probe cache, or per-probe embeddings extracted from answers (exactly like ``reference``'s, when given)."""
    from .extract import extract, extract_like
    from .io import is_probe_cache, load_probes

    path = Path(args.input)
    if is_probe_cache(path):
        return load_probes(path)
    if path.is_file() and not path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz")):
        raise PhyloLLMError(f"{path}: per-probe embeddings are needed here: a probe cache (phylo-llm extract --cache) or model answers")
    progress = not args.quiet and sys.stderr.isatty()
    if reference is not None:
        extraction = extract_like(path, reference, progress=progress)
    else:
        extraction = extract(path, probe_dim=args.probe_dim, progress=progress)
    _say(args, f"extracted {extraction.probes.n_models} models x {extraction.probes.n_probes} probes from answers")
    return extraction.probes


def _lineage(args):
    from .lineage import load_lineage

    return load_lineage(*(args.lineage or ["builtin"]))


def _run_score(args) -> None:
    import json

    from .score import format_report, score

    data, lineage = _load_any(args, trees=True), _lineage(args)
    if isinstance(data, ProbeEmbeddings):
        data = probe_distances(data, args.metric)
    if args.permutations < 0:
        raise PhyloLLMError(f"--permutations must be >= 0, got {args.permutations}")
    report = score(data, lineage, metric=args.metric, method=args.method, permutations=args.permutations,
                   seed=args.seed, progress=not args.quiet and sys.stderr.isatty())
    if args.json:
        sys.stdout.write(json.dumps(report, indent=1, allow_nan=True) + "\n")
    else:
        sys.stdout.write(format_report(report))


def _run_relatives(args) -> None:
    from .score import relatives

    dist, lineage = _distances_of(args), _lineage(args)
    _say(args, lineage.coverage(dist.ids).summary())
    table = relatives(args.model, dist, lineage, k=args.k)
    if args.csv:
        with atomic_output(args.csv) as handle:
            table.to_csv(handle, index=False)
    sys.stdout.write(table.to_string(index=False, float_format=lambda v: f"{v:.4g}", max_colwidth=60) + "\n")


def _run_candidates(args) -> None:
    from .score import candidates

    dist, lineage = _distances_of(args), _lineage(args)
    _say(args, lineage.coverage(dist.ids).summary())
    table, threshold, qualifying = candidates(dist, lineage, threshold=args.threshold, limit=args.limit or None)
    with atomic_output(args.output) as handle:
        table.to_csv(handle, index=False)
    _say(args, f"{qualifying} undocumented pairs at distance <= {threshold:.4g}; {len(table)} written -> {args.output}")


def _run_extract(args) -> None:
    from .extract import dna_from_probes, extract
    from .io import is_probe_cache, load_probes, save_probes

    for option in ("dim", "answer_dim", "cache_dim"):
        if getattr(args, option) < 1:
            raise PhyloLLMError(f"--{option.replace('_', '-')} must be positive, got {getattr(args, option)}")
    start = time.perf_counter()
    if is_probe_cache(args.input):  # re-extraction: no answer is embedded again
        if args.cache:
            raise PhyloLLMError(f"{args.input} is already a probe cache; --cache is for extraction from answers")
        dna = dna_from_probes(load_probes(args.input), dim=args.dim, seed=args.seed)
        save_dna(dna, args.output)
        _say(args, f"{dna.n_models} models -> {dna.dim}-d DNA from the probe cache, {time.perf_counter() - start:.1f} s -> {args.output}")
        return
    result = extract(
        args.input, encoder=args.encoder, answer_dim=args.answer_dim, dim=args.dim, seed=args.seed,
        max_chars=args.max_chars or None, allow_missing=args.allow_missing, probe_dim=args.cache_dim if args.cache else None,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    dna, stats = result.dna, result.stats
    if args.cache:
        save_probes(result.probes, args.cache, args.cache_dtype)
    save_dna(dna, args.output)
    _say(args, f"{dna.n_models} models x {dna.metadata['probe_count'].iat[0]} prompts -> {dna.dim}-d DNA "
               f"({dna.metadata['encoder'].iat[0]}), {stats.empty} empty, {stats.null} null and {stats.errors} error answers, "
               f"{time.perf_counter() - start:.1f} s -> {args.output}")
    if stats.errors and not args.quiet:
        common = ", ".join(repr(t) for t, _ in stats.examples.most_common(3))
        print(f"{PROG} extract: error-like answers were embedded as text; most common: {common}", file=sys.stderr)


def _run_place(args) -> None:
    from .io import is_probe_cache, load_probes, read_tree
    from .placement import place

    if args.local < 0 or args.local == 1 or args.bootstrap < 0:
        raise PhyloLLMError(f"--local must be 0 or >= 2 and --bootstrap >= 0, got {args.local} and {args.bootstrap}")
    start = time.perf_counter()
    reference = load_probes(args.dna) if is_probe_cache(args.dna) else load_dna(args.dna, allow_mixed=args.allow_mixed)
    if isinstance(reference, ProbeEmbeddings):
        new = _probes_of(args, reference=reference)
    else:
        new = load_input(args.input)
        if not isinstance(new, DNA):
            raise PhyloLLMError(f"{args.input}: NEW must be DNA when --dna is DNA (or give probe caches for both)")
    tree = read_tree(args.tree)
    lineage = _lineage(args) if args.lineage or args.csv else None
    result = place(new, tree, reference, metric=args.metric, criterion=args.criterion, replicates=args.bootstrap,
                   seed=args.seed, lineage=lineage, local=args.local or None, progress=not args.quiet and sys.stderr.isatty())
    if args.output:
        fmt = args.format or TREE_SUFFIXES.get(Path(args.output).suffix.lower(), "newick")
        write_tree(result.tree, args.output, fmt)
    if args.csv:
        with atomic_output(args.csv) as handle:
            result.table.to_csv(handle, index=False)
    if not args.csv and not args.quiet:
        shown = [c for c in ("model", "joins", "pendant_length", "bootstrap_share", "documented") if c in result.table]
        sys.stdout.write(result.table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}", max_colwidth=50) + "\n")
    _say(args, f"{len(result.table)} models placed into a {tree.count_terminals()}-leaf tree, {time.perf_counter() - start:.2f} s"
               + (f" -> {args.output}" if args.output else ""))


def _run_figures(args) -> None:
    from .figures import make_figures

    start = time.perf_counter()
    numbers = make_figures(args.input, _lineage(args), args.output, seed=args.seed, allow_mixed=args.allow_mixed,
                           say=lambda text: print(f"{PROG} figures: {text}", file=sys.stderr))
    _say(args, f"{numbers['models']} models, figures in {time.perf_counter() - start:.1f} s -> {args.output}/")


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
    from .simulate import simulate, write_simulation

    try:
        sim = simulate(n_families=args.families, dim=args.dim, seed=args.seed)
    except ValueError as exc:
        raise PhyloLLMError(str(exc)) from None
    write_simulation(sim, args.output)
    _say(args, f"{sim.dna.n_models} models, {len(sim.relations)} documented edges -> {args.output}/")


if __name__ == "__main__":
    sys.exit(main())
