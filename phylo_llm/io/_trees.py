"""Reading and writing trees in any registered format (:mod:`phylo_llm.io._formats`)."""

from __future__ import annotations

from pathlib import Path

from Bio.Phylo.BaseTree import Tree

from ..errors import PhyloLLMError
from ..tree import iter_leaves
from ._files import read_text
from ._formats import Format, format_for
from ._output import atomic_output


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
    text = chosen.handler().dumps(tree, **chosen.options)
    with atomic_output(path) as handle:
        handle.write(text)


def read_tree(path: str | Path) -> Tree:
    """Read one Newick, NHX, NEXUS or PhyloXML tree (recognised by content), with one-line errors.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.nwk"
    >>> _ = path.write_text("((a:1,b:2):1,c:3);")
    >>> sorted(leaf.name for leaf in read_tree(path).get_terminals())
    ['a', 'b', 'c']
    """
    return parse_tree(read_text(path), str(path))


def detect_tree_format(text: str) -> Format | None:
    """The tree format of ``text`` from its first characters; ``None`` when it is not a tree."""
    stripped = text.lstrip()
    if stripped.upper().startswith("#NEXUS"):
        return format_for("", "tree", explicit="nexus")
    if stripped.startswith("<"):
        return format_for("", "tree", explicit="phyloxml")
    if stripped.startswith("("):
        return format_for("", "tree", explicit="newick")
    return None


def parse_tree(text: str, source: str = "<string>") -> Tree:
    """Parse tree text; the format is recognised from its first characters."""
    fmt = detect_tree_format(text)
    if fmt is None:
        raise PhyloLLMError(f"{source}: not a tree file (Newick must start with '(', found {text.lstrip()[:20]!r})")
    try:
        trees = fmt.handler().parse(text)
    except Exception as exc:  # Biopython raises many types for malformed text
        raise PhyloLLMError(f"{source}: not a valid {fmt.name} tree ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if len(trees) != 1:
        raise PhyloLLMError(f"{source}: expected one tree, found {len(trees)}")
    tree = trees[0]
    unnamed = sum(1 for leaf in iter_leaves(tree) if not leaf.name)
    if unnamed:
        raise PhyloLLMError(f"{source}: {unnamed} leaves have no name")
    return tree
