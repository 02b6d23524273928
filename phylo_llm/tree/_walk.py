"""Walking a Biopython tree without recursion: preorder, leaves, depth, parents.

Biopython's own traversals recurse once per level and fail beyond about a
thousand levels; neighbour joining on thousands of models builds deeper
trees (a caterpillar of 20,000 leaves is 20,000 levels), so every walk in the
package goes through these.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

from Bio.Phylo.BaseTree import Clade, Tree

from ..errors import PhyloLLMError


def _root(tree: Tree | Clade) -> Clade:
    return tree.root if isinstance(tree, Tree) else tree


def iter_preorder(tree: Tree | Clade) -> Iterator[Clade]:
    """Every clade, parents before children, left to right.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a,b)x,c)r;"), "newick")
    >>> [c.name for c in iter_preorder(tree)]
    ['r', 'x', 'a', 'b', 'c']
    """
    stack = [_root(tree)]
    while stack:
        clade = stack.pop()
        yield clade
        stack.extend(reversed(clade.clades))


def iter_leaves(tree: Tree | Clade) -> Iterator[Clade]:
    """Leaves in left-to-right order.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> [c.name for c in iter_leaves(Phylo.read(StringIO("((a,b),c);"), "newick"))]
    ['a', 'b', 'c']
    """
    return (clade for clade in iter_preorder(tree) if not clade.clades)


def cherries(tree: Tree | Clade) -> list[tuple[str, str]]:
    """Pairs of leaves joined by one node of degree three (or the only two leaves): the tree's closest pairs.

    Read as an unrooted tree: a root with two leaves among its three children
    joins a cherry, a root of two children is no node; a polytomy's leaves
    are not cherries.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> cherries(Phylo.read(StringIO("((a,b),(c,(d,e)),f);"), "newick"))
    [('a', 'b'), ('d', 'e')]
    >>> cherries(Phylo.read(StringIO("(a,(b,(c,d)));"), "newick"))
    [('c', 'd'), ('a', 'b')]
    """
    root = _root(tree)
    out: list[tuple[str, str]] = []
    for clade in iter_preorder(root):
        leaves = [child.name for child in clade.clades if not child.clades]
        degree = len(clade.clades) + (0 if clade is root else 1)
        if len(leaves) >= 2 and (degree == 3 or len(clade.clades) == 2 and clade is root):
            out.extend((a, b) for k, a in enumerate(leaves) for b in leaves[k + 1:])
    if len(root.clades) == 2:  # a rooted tree read unrooted: the root vanishes, its two children become neighbours
        leaf, other = sorted(root.clades, key=lambda child: bool(child.clades))
        if not leaf.clades and other.clades and len(other.clades) == 2:
            out.extend((leaf.name, child.name) for child in other.clades if not child.clades)
    return out


def tree_depth(tree: Tree | Clade) -> int:
    """Number of edges on the longest root-to-leaf path.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree_depth(Phylo.read(StringIO("(((a,b),c),d);"), "newick"))
    3
    """
    deepest = 0
    stack = [(_root(tree), 0)]
    while stack:
        clade, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in clade.clades)
    return deepest


def parent_map(tree: Tree | Clade) -> dict[int, Clade]:
    """The parent of every clade but the root, keyed by ``id(clade)`` (clades are not hashable by value).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a,b)x,c)r;"), "newick")
    >>> parents = parent_map(tree)
    >>> a = next(c for c in iter_leaves(tree) if c.name == "a")
    >>> parents[id(a)].name
    'x'
    """
    return {id(child): clade for clade in iter_preorder(tree) for child in clade.clades}


def copy_tree(tree: Tree) -> Tree:
    """A deep copy of a Biopython tree (names, lengths, supports, comments, features), without recursion.

    ``copy.deepcopy`` recurses once per level and fails on trees deeper than
    about a thousand levels.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:1,b:2)x:1,c:3);"), "newick")
    >>> twin = copy_tree(tree)
    >>> twin.root.clades[0].name, twin.root.clades[0] is tree.root.clades[0]
    ('x', False)
    """
    def clone(clade: Clade) -> Clade:
        fresh = copy.copy(clade)  # shallow: same class and attributes, no recursion
        fresh.clades = []
        for key, value in vars(fresh).items():
            if isinstance(value, (dict, list)) and key != "clades":
                fresh.__dict__[key] = copy.copy(value)  # features and the like are not shared with the original
        return fresh

    top = clone(tree.root)
    stack = [(tree.root, top)]
    while stack:
        original, copied = stack.pop()
        for child in original.clades:
            twin = clone(child)
            copied.clades.append(twin)
            stack.append((child, twin))
    return Tree(root=top, rooted=tree.rooted, name=tree.name)


def count_leaves(tree: Tree | Clade) -> int:
    """Number of leaves (Biopython's ``count_terminals`` recurses per level).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> count_leaves(Phylo.read(StringIO("((a,b),c);"), "newick"))
    3
    """
    return sum(1 for _ in iter_leaves(tree))


def require_lengths(tree: Tree, purpose: str, remedy: str = "") -> None:
    """Refuse a tree with branches of no length for work that reads lengths (they would count as 0: a silent wrong
    answer).

    Parameters
    ----------
    tree : Bio.Phylo.BaseTree.Tree
    purpose : str
        The work that needs the lengths, for the message.
    remedy : str, optional
        Advice appended to the message in parentheses.

    Raises
    ------
    PhyloLLMError
        Some branch has no length. The root's own length is not a branch and may be missing.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> require_lengths(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"), "placement")
    >>> require_lengths(Phylo.read(StringIO("((a,b),c);"), "newick"), "placement")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: placement needs branch lengths: 4 of the tree's 4 branches have none
    """
    branches = [clade for clade in iter_preorder(tree) if clade is not tree.root]
    missing = sum(clade.branch_length is None for clade in branches)
    if missing:
        advice = f" ({remedy})" if remedy else ""
        raise PhyloLLMError(f"{purpose} needs branch lengths: {missing} of the tree's {len(branches)} branches "
                            f"have none{advice}")
