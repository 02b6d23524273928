"""NEXUS: a TAXA block and one tree, written by us; read with Biopython."""

from __future__ import annotations

import io

from Bio import Phylo
from Bio.Phylo.BaseTree import Tree

from ..tree import iter_leaves
from ._newick import newick_label, read_features, to_newick


def dumps(tree: Tree) -> str:
    """A NEXUS file with a TAXA block and one tree (``[&U]`` or ``[&R]`` by ``tree.rooted``)."""
    names = [newick_label(str(c.name)) for c in iter_leaves(tree)]
    flag = "[&R]" if tree.rooted else "[&U]"
    return (
        "#NEXUS\nBegin Taxa;\n"
        f" Dimensions NTax={len(names)};\n TaxLabels {' '.join(names)};\nEnd;\n"
        f"Begin Trees;\n Tree tree1 = {flag} {to_newick(tree)}\nEnd;\n"
    )


def parse(text: str) -> list[Tree]:
    """Every tree of a NEXUS file's TREES block."""
    trees = list(Phylo.parse(io.StringIO(text), "nexus"))
    for tree in trees:
        read_features(tree)
    return trees
