"""The ``phylo-llm`` command: one parser, one module per command, every failure one line.

Each command module (``_tree``, ``_place``, ...) has ``NAME``, ``HELP``,
``arguments(parser)`` and ``run(args)``; ``arguments`` imports nothing heavy
(the parser is built on every start), ``run`` loads what it calls. Errors in
the input (:class:`~phylo_llm.errors.PhyloLLMError`), in files (``OSError``:
a full disk, a folder for a file) and memory exhaustion become one line on
standard error and exit code 2; ``SIGINT``, ``SIGTERM`` and ``SIGHUP`` stop the
command with nothing half-written (exit 128 + signal). Anything else is a bug of
ours: one line and exit code 1 (``PHYLO_LLM_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import warnings
from typing import NoReturn

from .._version import __version__
from ..errors import PhyloLLMError
from ._options import PROG

#: The commands, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "tree", "annotate", "extract", "place", "score", "relatives", "candidates", "relate", "figures", "view", "distances", "import",
    "simulate",
)

EXAMPLES = """examples:
  phylo-llm tree data/demo/dna.parquet -o tree.nwk
  phylo-llm tree dna.parquet -o tree.nwk --method upgma --metric cosine
  phylo-llm import dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu -o paper.parquet
  phylo-llm tree paper.parquet -o paper.nhx --root mad --annotate
  phylo-llm annotate paper.nwk -o paper.nhx --root-by architecture=encoder_decoder --csv leaves.csv
  phylo-llm distances paper.parquet -o paper.phy
  phylo-llm extract dna-web/dna-out/rand -o rand-dna.parquet --cache rand.probes
  phylo-llm tree rand.probes -o rand-support.nwk --bootstrap 100 --support tbe
  phylo-llm place new-model.probes --tree rand-support.nwk --dna rand.probes --csv placed.csv -o placed.nwk
  phylo-llm simulate -o data/demo --seed 0
"""


def command_module(name: str):
    """The module implementing command ``name``."""
    return importlib.import_module(f"phylo_llm.cli._{name.replace('-', '_')}")


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line refusal of every other error (argparse prints its usage block first)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        text = text[len("argument "):] if text.startswith("argument ") else text
        self.exit(2, f"{PROG}: error: {text} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``phylo-llm`` parser: one subcommand per module of :data:`COMMANDS` (each imports nothing heavy).

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.prog, parser.parse_args(["tree", "dna.parquet", "-o", "tree.nwk"]).command
    ('phylo-llm', 'tree')
    """
    parser = _Parser(
        prog=PROG, description="Phylogenetics of large language models from their DNA.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = command_module(name if name != "import" else "import_")
        sub = commands.add_parser(
            name, help=module.HELP, description=module.HELP, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


class _Stopped(BaseException):
    """Raised by the signal handlers: unwinds like KeyboardInterrupt, so every ``finally`` runs."""

    def __init__(self, signum: int) -> None:
        self.signum = signum


def _stop(signum, frame) -> None:
    raise _Stopped(signum)


#: Signals that stop a command cleanly (SIGINT as KeyboardInterrupt, the others as _Stopped).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


@contextlib.contextmanager
def _stop_signals_handled():
    """SIGTERM, SIGHUP and SIGQUIT unwind the command like Ctrl-C does, so its output plan leaves nothing behind.

    While a compiled kernel runs, the library defers them until it returns
    (:func:`phylo_llm._signals.deferred_signals`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _stop) for s in STOP_SIGNALS if s != signal.SIGINT}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code. Called as the program (``argv`` None), a stop signal arriving after the
    command ended no longer changes its outcome (it would end the interpreter with a signal instead of the code).

    Examples
    --------
    >>> main(["tree", "no-such-file.parquet", "-o", "tree.nwk"])  # one-line error on stderr, exit code 2
    2
    """
    code = _main(argv)
    if argv is None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    return code


def _main(argv: list[str] | None) -> int:
    try:  # Ctrl-C while the parser is built or reads the options: one line, like any other moment
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    warnings.showwarning = _one_line_warning
    try:
        with _stop_signals_handled():
            args.run(args)
    except PhyloLLMError as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # Files the command writes or reads (full disk, permission, a folder for a file, a vanished input).
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except MemoryError:
        return _fail("out of memory; use a subset, or place the other models into a backbone tree (phylo-llm place)")
    except RecursionError:
        return _fail("the input is nested too deeply to process")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _Stopped as stopped:
        print(f"{PROG}: stopped by signal {signal.Signals(stopped.signum).name}", file=sys.stderr)
        return 128 + stopped.signum
    except Exception as exc:  # a bug of ours: one line (exit 1), the traceback on request
        stop = _stop_in_chain(exc)  # a signal during an import surfaces as the importer's own error
        if isinstance(stop, _Stopped):
            print(f"{PROG}: stopped by signal {signal.Signals(stop.signum).name}", file=sys.stderr)
            return 128 + stop.signum
        if stop is not None:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        if os.environ.get("PHYLO_LLM_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
              "(this is a bug: please report it with the command; PHYLO_LLM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return 0


def _stop_in_chain(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or stop signal behind an exception (through ``__cause__``/``__context__``), if any."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (KeyboardInterrupt, _Stopped)):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {' '.join(str(message).split())}", file=sys.stderr)
