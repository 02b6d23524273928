"""PhyloXML, with Biopython (its writer recurses per level: given room for deep trees)."""

from __future__ import annotations

import io
import sys

from Bio import Phylo
from Bio.Phylo.BaseTree import Tree

from ..tree import tree_depth


def dumps(tree: Tree) -> str:
    """The PhyloXML document of one tree."""
    buffer = io.StringIO()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * tree_depth(tree) + 1000))
    try:
        Phylo.write(tree, buffer, "phyloxml")
    finally:
        sys.setrecursionlimit(limit)
    return buffer.getvalue()


def parse(text: str) -> list[Tree]:
    """Every tree of a PhyloXML document."""
    return list(Phylo.parse(io.StringIO(text), "phyloxml"))
