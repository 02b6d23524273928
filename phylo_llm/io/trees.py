"""Trees on disk: Newick (iterative, safe for deep trees), NEXUS and PhyloXML.

Biopython's Newick writer recurses once per tree level and fails beyond about
a thousand levels; neighbour joining on thousands of models can build deeper
trees, so Newick is written here without recursion. Reading uses Biopython's
parser, which is already iterative.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from Bio import Phylo
from Bio.Phylo.BaseTree import Clade, Tree

from ..errors import PhyloLLMError
from .atomic import atomic_output

TREE_FORMATS = ("newick", "nhx", "nexus", "phyloxml")
_NEEDS_QUOTES = re.compile(r"[\s()\[\]':;,]")
_NHX_UNSAFE = re.compile(r"[\s:;,=&]")
_NHX_DROP = re.compile(r"[()\[\]']")


def format_length(value: float) -> str:
    """Shortest text that reads back to exactly the same float."""
    return repr(float(value))


def newick_label(name: str) -> str:
    """Quote a label when Newick requires it (single quotes, inner quotes doubled)."""
    if name and not _NEEDS_QUOTES.search(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def to_newick(tree: Tree | Clade, features: bool = False) -> str:
    """Newick text of a tree, one line ending in ``;``.

    Leaf labels are the clade names; an internal node carries its name, or
    else its ``confidence`` (branch support); branch lengths are written when
    set, with full float precision. With ``features``, each clade's
    ``features`` dict (set by annotation) is written as an NHX comment.
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


def to_nexus(tree: Tree) -> str:
    """A NEXUS file with a TAXA block and one tree (``[&U]`` or ``[&R]`` by ``tree.rooted``)."""
    names = [newick_label(str(c.name)) for c in iter_leaves(tree)]
    flag = "[&R]" if tree.rooted else "[&U]"
    return (
        "#NEXUS\nBegin Taxa;\n"
        f" Dimensions NTax={len(names)};\n TaxLabels {' '.join(names)};\nEnd;\n"
        f"Begin Trees;\n Tree tree1 = {flag} {to_newick(tree)}\nEnd;\n"
    )


def iter_preorder(tree: Tree | Clade):
    """Every clade, parents before children, left to right, without recursion."""
    stack = [tree.root if isinstance(tree, Tree) else tree]
    while stack:
        clade = stack.pop()
        yield clade
        stack.extend(reversed(clade.clades))


def iter_leaves(tree: Tree | Clade):
    """Leaves in left-to-right order, without recursion."""
    return (clade for clade in iter_preorder(tree) if not clade.clades)


def tree_depth(tree: Tree | Clade) -> int:
    """Number of edges on the longest root-to-leaf path."""
    deepest = 0
    stack = [(tree.root if isinstance(tree, Tree) else tree, 0)]
    while stack:
        clade, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in clade.clades)
    return deepest


def write_tree(tree: Tree, path: str | Path, fmt: str = "newick") -> None:
    """Write ``tree`` atomically (``path == "-"``: standard output)."""
    if fmt in ("newick", "nhx"):
        # NHX is Newick with each clade's features (set by annotation) in [&&NHX:...] comments.
        text = to_newick(tree, features=fmt == "nhx") + "\n"
    elif fmt == "nexus":
        text = to_nexus(tree)
    elif fmt == "phyloxml":
        buffer = io.StringIO()
        # Biopython's PhyloXML writer recurses per level; give it room for deep trees.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * tree_depth(tree) + 1000))
        try:
            Phylo.write(tree, buffer, "phyloxml")
        finally:
            sys.setrecursionlimit(limit)
        text = buffer.getvalue()
    else:
        raise PhyloLLMError(f"unknown tree format {fmt!r}; choose one of {', '.join(TREE_FORMATS)}")
    with atomic_output(path) as handle:
        handle.write(text)


def read_tree(path: str | Path) -> Tree:
    """Read one Newick, NEXUS or PhyloXML tree (by content), with one-line errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PhyloLLMError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_tree(text, str(path))


def parse_tree(text: str, source: str = "<string>") -> Tree:
    """Parse tree text; the format is recognised from its first characters."""
    stripped = text.lstrip()
    if stripped.upper().startswith("#NEXUS"):
        fmt = "nexus"
    elif stripped.startswith("<"):
        fmt = "phyloxml"
    elif stripped.startswith("("):
        fmt = "newick"
    else:
        raise PhyloLLMError(f"{source}: not a tree file (Newick must start with '(', found {stripped[:20]!r})")
    try:
        trees = list(Phylo.parse(io.StringIO(text), fmt))
    except Exception as exc:  # Biopython raises many types for malformed text
        raise PhyloLLMError(f"{source}: not a valid {fmt} tree ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if len(trees) != 1:
        raise PhyloLLMError(f"{source}: expected one tree, found {len(trees)}")
    tree = trees[0]
    for clade in iter_preorder(tree):
        comment = getattr(clade, "comment", None)  # PhyloXML clades have none
        if comment and comment.startswith("&&NHX:"):
            clade.features = dict(f.split("=", 1) for f in comment[6:].split(":") if "=" in f)
            clade.comment = None
    leaves = list(iter_leaves(tree))
    unnamed = sum(1 for leaf in leaves if not leaf.name)
    if unnamed:
        raise PhyloLLMError(f"{source}: {unnamed} leaves have no name")
    return tree
