"""Reading and writing trees in any registered format (:mod:`phylo_llm.io._formats`)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from Bio.Phylo.BaseTree import Tree

from ..errors import PhyloLLMError
from ..ids import check_unique
from ..tree import iter_leaves, iter_preorder
from ._files import read_text
from ._formats import Format, format_for
from ._newick import describe_clade
from ._output import atomic_output
from ._probes import MAGIC as PROBES_MAGIC


def write_tree(tree: Tree, path: str | Path, fmt: str | None = None) -> None:
    """Write ``tree`` atomically (``path == "-"``: standard output).

    ``fmt`` is a name of :data:`TREE_FORMATS`; by default it follows the
    suffix of ``path`` (Newick when the suffix names no tree format).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.nex"
    >>> write_tree(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"), path)
    >>> path.read_text().splitlines()[0]
    '#NEXUS'
    """
    chosen = format_for(path, "tree", explicit=fmt, default="newick")
    check_finite_tree(tree, str(path))
    try:
        text = chosen.handler().dumps(tree, **chosen.options)
    except PhyloLLMError as exc:  # a label the format cannot hold: name the file
        raise PhyloLLMError(f"{path}: {exc}") from None
    with atomic_output(path) as handle:
        handle.write(text)


def check_finite_tree(tree: Tree, source: str) -> None:
    """Refuse a tree with a branch length or support that is not a finite number (an overflow upstream): no
    reader, ours included, takes it back.

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade, Tree
    >>> check_finite_tree(Tree(Clade(clades=[Clade(name="a", branch_length=float("inf")), Clade(name="b")])), "t.nwk")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: t.nwk: branch length inf of leaf 'a' is not a finite number
    >>> check_finite_tree(Tree(Clade(clades=[Clade(name="a", branch_length=1e308), Clade(name="b", branch_length=1e308)])), "t.nwk")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: t.nwk: its branch lengths sum past the largest number a float holds (1.8e+308), ...
    """
    total = 0.0  # bounds every path length: one that overflows is inf distances (or a crash) downstream
    for clade in iter_preorder(tree):
        for what, value in (("branch length", clade.branch_length), ("support", clade.confidence)):
            if value is not None and not math.isfinite(value):
                raise PhyloLLMError(f"{source}: {what} {value!r} of {describe_clade(clade)} is not a finite number")
        total += abs(clade.branch_length or 0.0)
    if not math.isfinite(total):
        raise PhyloLLMError(f"{source}: its branch lengths sum past the largest number a float holds "
                            f"({sys.float_info.max:.3g}), so path lengths overflow: rescale them")


def read_tree(path: str | Path) -> Tree:
    """Read one Newick, NHX, NEXUS or PhyloXML tree (recognised by content), with one-line errors.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.nwk"
    >>> _ = path.write_text("((a:1,b:2):1,c:3);")
    >>> sorted(leaf.name for leaf in read_tree(path).get_terminals())
    ['a', 'b', 'c']
    >>> read_tree("data/demo/dna.parquet")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: data/demo/dna.parquet: not a tree file: a parquet table (DNA or distances?); a tree is Newick, NHX, NEXUS or PhyloXML text
    """
    binary = _binary_kind(path)
    if binary is not None:  # a DNA file or cache given where a tree goes: say so, not "not UTF-8 text (byte 7)"
        raise PhyloLLMError(f"{path}: not a tree file: {binary}; a tree is Newick, NHX, NEXUS or PhyloXML text")
    return parse_tree(read_text(path), str(path))


#: Opening bytes of the binary files users give where a tree goes, and what to call them.
_BINARY_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "a parquet table (DNA or distances?)"),
    (b"PK\x03\x04", "a zip archive (.npz DNA?)"),
    (PROBES_MAGIC, "a per-probe cache"),
)


def _binary_kind(path: str | Path) -> str | None:
    """What a binary file given as a tree is (from its first bytes), or ``None`` (text, or not a file)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(max(len(magic) for magic, _ in _BINARY_KINDS))
    except OSError:  # missing, a folder, unreadable: read_text says which
        return None
    return next((kind for magic, kind in _BINARY_KINDS if head.startswith(magic)), None)


def detect_tree_format(text: str) -> Format | None:
    """The tree format of ``text`` from its first characters; ``None`` when it is not a tree.

    A byte-order mark and white space are skipped; Newick may open with
    comments such as ``[&R]``.

    Examples
    --------
    >>> detect_tree_format("\\ufeff[&R] (a,b);").name, detect_tree_format("#nexus begin trees;").name
    ('newick', 'nexus')
    """
    stripped = text.removeprefix("\ufeff").lstrip()
    if stripped.upper().startswith("#NEXUS"):
        return format_for("", "tree", explicit="nexus")
    if stripped.startswith("<"):
        return format_for("", "tree", explicit="phyloxml")
    if stripped.startswith(("(", "[")):
        return format_for("", "tree", explicit="newick")
    return None


def parse_tree(text: str, source: str = "<string>") -> Tree:
    """Parse tree text (the format recognised from its first characters); one tree, named and distinct leaves.

    Raises
    ------
    PhyloLLMError
        Malformed text, naming the culprit (branch lengths that are not finite
        numbers name their leaf); not exactly one tree; unnamed leaves; a leaf
        name given twice.

    Examples
    --------
    >>> parse_tree("(a:1,b:nan);")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: <string>: branch length 'nan' of leaf 'b' is not a finite number
    >>> parse_tree("(a:1,(b:1,a:2):1);")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: <string>: duplicate model id 'a' (leaves 1 and 3)
    """
    fmt = detect_tree_format(text)
    if fmt is None:
        raise PhyloLLMError(f"{source}: not a tree file (Newick must start with '(', found {text.lstrip()[:20]!r})")
    trees = fmt.handler().parse(text, source)
    if len(trees) != 1:
        raise PhyloLLMError(f"{source}: expected one tree, found {len(trees)}")
    tree = trees[0]
    check_finite_tree(tree, source)
    names = [leaf.name for leaf in iter_leaves(tree)]
    unnamed = sum(1 for name in names if not name)
    if unnamed:
        raise PhyloLLMError(f"{source}: {unnamed} leaves have no name")
    check_unique(names, source, "leaves")
    return tree
