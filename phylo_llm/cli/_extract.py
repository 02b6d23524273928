"""``phylo-llm extract``: DNA (and the per-probe cache) from models' raw answers, or DNA re-made from a cache."""

from __future__ import annotations

import argparse
import os
import sys
import time

from .. import io
from ..errors import PhyloLLMError
from ._options import PROG, add_cluster, add_quiet, add_seed, cluster_options, integer, read_paths, say, show_progress

NAME = "extract"
HELP = "compute DNA from models' raw answers (RepTrace: embed, concatenate, project)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="RESPONSES",
                        help="folder of model folders with responses.json(.gz), a JSONL of {model, prompt, response}, or a probe cache")
    parser.add_argument("-o", "--output", required=True,
                        help="DNA file (.parquet canonical; .csv, .tsv, .npz), or a folder: a partitioned dataset, extracted on Dask")
    parser.add_argument("--encoder", default="hashing", help="'hashing' (built in, default) or 'st:<local sentence-transformers model>'")
    parser.add_argument("--dim", type=integer(1, 65_536), default=2048,
                        help="DNA dimension (default: 2048; 128 is the paper's, and loses ranking detail)")
    parser.add_argument("--answer-dim", type=integer(1, 65_536), default=1024, help="per-answer embedding size, hashing encoder (default: 1024)")
    parser.add_argument("--max-chars", type=integer(0, 10_000_000, zero_means="0 = all"), default=300,
                        help="embed only the first N characters of each answer; 0 = all (default: 300)")
    add_seed(parser, "the shared random projection")
    parser.add_argument("--allow-missing", action="store_true", help="keep models lacking some prompts (missing answers count as empty)")
    parser.add_argument("--cache", metavar="FILE", help="also write the per-probe embeddings (for --bootstrap, place, re-extraction)")
    parser.add_argument("--cache-dim", type=integer(1, 4096), default=128, help="per-probe embedding size in the cache (default: 128)")
    parser.add_argument("--cache-dtype", choices=("float16", "float32"), default="float16", help="(default: float16)")
    parser.add_argument("--batch", type=integer(1, 1_000_000), help="folder output: model folders per Dask task (default: 256)")
    add_cluster(parser)
    add_quiet(parser)


def run(args: argparse.Namespace) -> None:
    from .. import extract  # loaded when the command runs, not at start-up

    start = time.perf_counter()
    plan = io.OutputPlan(inputs=read_paths(args))
    if _is_folder(args.output):
        return _extract_dataset(args, plan, start)
    given = [f"{name} {value}" for name, value in (("--scheduler", args.scheduler), ("--workers", args.workers), ("--batch", args.batch))
             if value is not None]
    if given:  # options of the Dask path: refused rather than silently ignored
        raise PhyloLLMError(f"{given[0]}: applies only to a folder output (-o FOLDER: a partitioned dataset, extracted on Dask); "
                            f"{args.output} is one file, extracted in this process")
    plan.add(args.output)
    plan.add(args.cache, "--cache")
    if io.is_probe_cache(args.input):  # re-extraction: no answer is embedded again
        if args.cache:
            raise PhyloLLMError(f"{args.input} is already a probe cache; --cache is for extraction from answers")
        dna = extract.dna_from_probes(io.load_probes(args.input), dim=args.dim, seed=args.seed)
        with plan:
            io.save_dna(dna, args.output)
        say(args, f"{dna.n_models} models -> {dna.dim}-d DNA from the probe cache, {time.perf_counter() - start:.1f} s -> {args.output}")
        return
    if os.path.isfile(args.input) and not extract.is_answers(args.input):  # e.g. DNA given to extract
        raise PhyloLLMError(f"{args.input}: expected a folder of model folders, a .jsonl of {{model, prompt, response}} rows, "
                            "a responses.json(.gz) or a probe cache "
                            "(DNA needs no extraction: give it to tree, score, ... as it is)")
    result = extract.extract(
        args.input, encoder=args.encoder, answer_dim=args.answer_dim, dim=args.dim, seed=args.seed,
        max_chars=args.max_chars or None, allow_missing=args.allow_missing, probe_dim=args.cache_dim if args.cache else None,
        progress=show_progress(args),
    )
    dna, stats = result.dna, result.stats
    with plan:
        if args.cache and result.probes is not None:
            io.save_probes(result.probes, args.cache, args.cache_dtype)
        io.save_dna(dna, args.output)
    say(args, f"{dna.n_models} models x {dna.metadata['probe_count'].iat[0]} prompts -> {dna.dim}-d DNA "
              f"({dna.metadata['encoder'].iat[0]}), {stats.empty} empty, {stats.null} null and {stats.errors} error answers, "
              f"{time.perf_counter() - start:.1f} s -> {args.output}")
    if stats.errors and not args.quiet:
        common = ", ".join(repr(t) for t, _ in stats.examples.most_common(3))
        print(f"{PROG} extract: error-like answers were embedded as text; most common: {common}", file=sys.stderr)


def _is_folder(output: str) -> bool:
    """An output folder (existing, or a name without a suffix): the partitioned dataset."""
    from pathlib import Path

    path = Path(output)
    return output != "-" and (path.is_dir() or not path.suffix)


def _extract_dataset(args: argparse.Namespace, plan: io.OutputPlan, start: float) -> None:
    """Extraction on Dask into a partitioned dataset; finished units are kept in OUT.partial/ until all are done."""
    from .. import hub  # loaded when the command runs
    from ..hub._extract import BATCH, MANIFEST

    plan.add_folder(args.output)
    plan.add(args.cache, "--cache")
    if io.is_probe_cache(args.input):
        raise PhyloLLMError(f"{args.input}: a probe cache is re-extracted into one DNA file (-o OUT.parquet), not a folder")
    try:
        with hub.connect(**cluster_options(args)) as client:
            done = hub.extract_dataset(
                args.input, args.output, client, batch=args.batch or BATCH, encoder=args.encoder, answer_dim=args.answer_dim, dim=args.dim,
                seed=args.seed, max_chars=args.max_chars or None, allow_missing=args.allow_missing, cache=args.cache,
                cache_dim=args.cache_dim, cache_dtype=args.cache_dtype, plan=plan, progress=show_progress(args))
    except BaseException as exc:
        if plan.published and not isinstance(exc, Exception):
            # a stop signal while the Dask cluster shut down: the dataset was already published whole, which is the outcome
            say(args, f"stopped by a signal after the dataset was written whole -> {os.path.join(args.output, '')}")
            return
        if not isinstance(exc, PhyloLLMError) and (hub.work_folder(args.output) / MANIFEST).is_file():
            say(args, f"finished units are kept in {hub.work_folder(args.output)}/: run the same command again to continue")
        raise
    say(args, f"{done.models} models -> {args.dim}-d DNA in {done.parts} partitions ({done.reused} reused from an earlier run, "
              f"{done.dropped} dropped for missing prompts), {done.empty} empty, {done.null} null and {done.errors} error answers, "
              f"{time.perf_counter() - start:.1f} s -> {os.path.join(args.output, '')}")
