"""The ``phylo-llm`` command line: it parses arguments, calls the library, and maps errors to one line."""

from ._app import build_parser, main

__all__ = ["build_parser", "main"]
