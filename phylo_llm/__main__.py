import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the package loads: a line, as at any other moment
    print("phylo-llm: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
