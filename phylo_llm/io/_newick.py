"""Newick and NHX: written without recursion (deep trees), read with Biopython's iterative parser.

Biopython's Newick writer recurses once per tree level and fails beyond about
a thousand levels; neighbour joining on thousands of models can build deeper
trees, so Newick is written here with an explicit stack. NHX is Newick with
each clade's ``features`` dict (set by annotation) in ``[&&NHX:...]`` comments.
"""

from __future__ import annotations

import io
import re

from Bio import Phylo
from Bio.Phylo.BaseTree import Clade, Tree

from ..tree import iter_preorder

_NEEDS_QUOTES = re.compile(r"[\s()\[\]':;,]")
_NHX_UNSAFE = re.compile(r"[\s:;,=&]")
_NHX_DROP = re.compile(r"[()\[\]']")


def format_length(value: float) -> str:
    """Shortest text that reads back to exactly the same float.

    Examples
    --------
    >>> format_length(0.1)
    '0.1'
    """
    return repr(float(value))


def newick_label(name: str) -> str:
    """Quote a label when Newick requires it (single quotes, inner quotes doubled).

    Examples
    --------
    >>> newick_label("it's mine")
    "'it''s mine'"
    """
    if name and not _NEEDS_QUOTES.search(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def to_newick(tree: Tree | Clade, features: bool = False) -> str:
    """Newick text of a tree, one line ending in ``;``.

    Leaf labels are the clade names; an internal node carries its name, or
    else its ``confidence`` (branch support); branch lengths are written when
    set, with full float precision. With ``features``, each clade's
    ``features`` dict (set by annotation) is written as an NHX comment.

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade, Tree
    >>> tree = Tree(Clade(clades=[Clade(name="a", branch_length=1.0), Clade(name="b c", branch_length=0.5)]))
    >>> to_newick(tree)
    "(a:1.0,'b c':0.5);"
    """
    root = tree.root if isinstance(tree, Tree) else tree
    out: list[str] = []
    # Each stack entry: (clade, index of the next child to emit).
    stack: list[tuple[Clade, int]] = [(root, 0)]
    while stack:
        clade, child = stack.pop()
        if clade.clades and child == 0:
            out.append("(")
        if child < len(clade.clades):
            if child > 0:
                out.append(",")
            stack.append((clade, child + 1))
            stack.append((clade.clades[child], 0))
            continue
        if clade.clades:
            out.append(")")
        out.append(_node_suffix(clade, not clade.clades, features))
    out.append(";")
    return "".join(out)


def _node_suffix(clade: Clade, is_leaf: bool, with_features: bool) -> str:
    text = ""
    if clade.name:
        text = newick_label(str(clade.name))
    elif not is_leaf and clade.confidence is not None:
        text = _format_support(clade.confidence)
    if clade.branch_length is not None:
        text += ":" + format_length(clade.branch_length)
    features = getattr(clade, "features", None) if with_features else None
    if features:
        text += "[&&NHX:" + ":".join(f"{nhx_value(k)}={nhx_value(v)}" for k, v in features.items()) + "]"
    return text


def nhx_value(value) -> str:
    """A feature key or value that NHX readers (ete3) take: no spaces or Newick/NHX punctuation."""
    text = _NHX_UNSAFE.sub("_", _NHX_DROP.sub("", str(value)).strip())
    return re.sub("_+", "_", text)


def _format_support(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format_length(value)


def dumps(tree: Tree, features: bool = False) -> str:
    """The file's text: one Newick line (``features``: NHX comments)."""
    return to_newick(tree, features=features) + "\n"


def parse(text: str) -> list[Tree]:
    """Every tree in Newick/NHX text (Biopython's parser; NHX comments become ``features``)."""
    trees = list(Phylo.parse(io.StringIO(text), "newick"))
    for tree in trees:
        read_features(tree)
    return trees


def read_features(tree: Tree) -> None:
    """Turn ``[&&NHX:k=v:...]`` comments into each clade's ``features`` dict, in place."""
    for clade in iter_preorder(tree):
        comment = getattr(clade, "comment", None)  # PhyloXML clades have none
        if comment and comment.startswith("&&NHX:"):
            clade.features = dict(f.split("=", 1) for f in comment[6:].split(":") if "=" in f)
            clade.comment = None
