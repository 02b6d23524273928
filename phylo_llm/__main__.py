"""``python -m phylo_llm`` and the installed ``phylo-llm`` script (its entry point is :func:`run`)."""

import sys


def run() -> int:
    """Load the command line and run it; Ctrl-C while it loads is one line and exit 130, as at any other moment."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("phylo-llm: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
