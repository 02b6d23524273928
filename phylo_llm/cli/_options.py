"""Options shared by the commands, and the bounds every numeric option is checked against by the parser.

Nothing heavy is imported here: the parser is built on every start, and
``phylo-llm --version`` must not wait for NumPy.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from ..tree import ROOT_METHODS

PROG = "phylo-llm"

#: Largest accepted seed: NumPy's generators take any non-negative integer, files record it as one.
MAX_SEED = 2**32 - 1


def integer(low: int, high: int | None = None, *, zero_means: str | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]`` (``high`` None: no upper bound).

    Every size option has an upper bound, so a typo cannot ask for more
    memory than a machine has before anything checks it.
    """

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high:,}" if high is not None else f"{low} or more"
            hint = f" ({zero_means})" if zero_means else ""
            raise argparse.ArgumentTypeError(f"expected a whole number {span}{hint}, got {text}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(low: float = 0.0) -> Callable[[str], float]:
    """An argparse type: a finite number ``>= low``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(f"expected a finite number >= {low:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


SEED = integer(0, MAX_SEED)


def probability(text: str) -> float:
    """An argparse type: a probability in (0, 1]."""
    value = number(0.0)(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1], got {text}")
    return value


def add_seed(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--seed", type=SEED, default=0, help=f"seed of {what} (0 to 2^32-1; default: 0)")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary or progress on standard error")


def add_input(parser: argparse.ArgumentParser, distances_too: bool = False, trees_too: bool = False) -> None:
    """INPUT and the options that say how to read DNA from it."""
    what = "DNA file (.parquet, .csv, .tsv, .npz), published probe-set folder, or probe cache"
    if distances_too:
        what += ", or a distance matrix (.phy, square .csv/.parquet)"
    if trees_too:
        what += ", or a tree (.nwk, .nhx, .tree, .nex, .xml)"
    parser.add_argument("input", metavar="INPUT", help=what)
    parser.add_argument("--variant", default="dna", help="published layout: DNA file variant, e.g. dna_dim1024, preagg_dim64 (default: dna)")
    parser.add_argument("--encoder", help="published layout: encoder-ablation subfolder, e.g. bge, mpnet")
    parser.add_argument("--allow-mixed", action="store_true", help="accept DNA made with different extraction settings")
    add_quiet(parser)


def add_lineage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lineage", action="append", metavar="PATH",
        help="lineage folder (models.csv, relations*.csv) or CSV; repeat to combine; 'builtin' is the shipped "
        "knowledge base (default: builtin)",
    )


def add_rooting(parser: argparse.ArgumentParser, root_default: str | None) -> None:
    """--lineage, --root, --outgroup, --root-by, --csv: rooting and the per-leaf table."""
    add_lineage(parser)
    parser.add_argument("--root", choices=ROOT_METHODS, default=root_default,
                        help=f"rooting (default: {root_default or 'none, as built'}); mad = minimal ancestor deviation")
    parser.add_argument("--outgroup", action="append", metavar="MODEL", help="root on these models (repeatable)")
    parser.add_argument("--root-by", metavar="KEY=VALUE", help="root on the models whose lineage KEY is VALUE, e.g. family=T5")
    parser.add_argument("--csv", metavar="FILE", help="also write one row per leaf with its lineage features")


def read_paths(args: argparse.Namespace) -> list[str]:
    """Every file or folder the command reads (INPUT, --tree, --dna, --lineage, --relation-model, --placed): no
    output may be one of them."""
    paths = [getattr(args, name, None) for name in ("input", "tree", "dna", "placed")]
    paths += [p for p in (getattr(args, "lineage", None) or []) if p != "builtin"]
    paths += [relation_model_path(getattr(args, "relation_model", None))]
    return [str(p) for p in paths if p]


def relation_model_path(name: str | None) -> str | None:
    """The file a ``--relation-model`` / ``--model`` value reads: the shipped model's file for ``default``."""
    if name != "default":
        return name
    from ..relate import _model  # the shipped file's place (read when the command runs, not at start-up)

    return str(_model.DEFAULT_MODEL)


def model_file(text: str) -> str:
    """An argparse type: a relation model file or ``default``, never an empty string (it would be ignored)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a relation model file or 'default', not an empty string")
    return text


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars: on a terminal, unless ``--quiet``."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def say(args: argparse.Namespace, text: str) -> None:
    """A summary line on standard error, unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(f"{PROG} {args.command}: {text}", file=sys.stderr)


def lineage_of(args: argparse.Namespace):
    """The lineage named by ``--lineage`` (the built-in knowledge base by default)."""
    from ..lineage import load_lineage  # pandas: loaded by the commands that need it, not at start-up

    return load_lineage(*(args.lineage or ["builtin"]))


def add_cluster(parser: argparse.ArgumentParser) -> None:
    """--scheduler and --workers: where the Dask tasks of a partitioned dataset run."""
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="partitioned dataset: run on the Dask scheduler at ADDRESS (e.g. tcp://host:8786; default: a LocalCluster)")
    # 4,096 bounds the parse only; the real bound is this machine's (hub._cluster.local_worker_limit: 4 per core, 256 MB
    # free memory each), checked when the command runs, before any process starts.
    parser.add_argument("--workers", type=integer(1, 4096), metavar="N",
                        help="partitioned dataset, LocalCluster: N worker processes (default: one per core; at most 4 per core "
                        "with 256 MB of free memory each)")


def cluster_options(args: argparse.Namespace) -> dict:
    """The engine options of :func:`add_cluster`, as keyword arguments of the hub functions, checked against this
    machine (``--workers``) and the address syntax (``--scheduler``) before anything is read or started."""
    from ..hub import _cluster  # distributed itself is loaded only by the address check

    if args.scheduler is not None:
        _cluster.check_scheduler_address(args.scheduler)
    elif args.workers is not None:
        _cluster.check_local_workers(args.workers)
    return {"scheduler": args.scheduler, "workers": args.workers}


def dataset_of(args: argparse.Namespace):
    """INPUT as a partitioned DNA dataset (read lazily, on Dask) when it is one, else ``None`` (and then
    ``--scheduler``/``--workers``, which only datasets use, are refused rather than ignored)."""
    from pathlib import Path

    from .. import hub, io  # loaded by the commands that read DNA, not at start-up
    from ..errors import PhyloLLMError

    path = Path(args.input)
    if path.is_dir() and hub.is_dataset(path) and not io.is_published_layout(path):
        cluster_options(args)  # a bad --scheduler or --workers is refused before the partitions are read
        return hub.open_dataset(path, allow_mixed=args.allow_mixed)
    if getattr(args, "scheduler", None) or getattr(args, "workers", None):
        raise PhyloLLMError(f"{args.input}: --scheduler and --workers run a partitioned dataset (a folder of parquet files) on Dask; "
                            "this input is computed in this process")
    return None
