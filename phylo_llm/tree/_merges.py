"""A tree as a list of joins, and its conversion into a Biopython tree.

Both builders (neighbour joining and the linkage methods) produce the same
plain record: which two nodes were joined and the branch length to each.
Leaves are ``0..n-1``; the ``k``-th join creates node ``n + k``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from Bio.Phylo.BaseTree import Clade, Tree


@dataclass
class Merges:
    """Joins in order: ``children[k]`` (two node ids) hang from node ``n + k`` with ``lengths[k]``.

    ``root_children`` and ``root_lengths``, when set, are the nodes joined at
    the root after the last merge (the final trifurcation of an unrooted
    neighbour-joining tree); otherwise the last merge is the root.

    Examples
    --------
    >>> merges = Merges(3, children=[(0, 1)], lengths=[(1.0, 2.0)], root_children=(3, 2), root_lengths=(0.5, 3.0))
    >>> merges.n_leaves, merges.children
    (3, [(0, 1)])
    """

    n_leaves: int
    children: list[tuple[int, int]] = field(default_factory=list)
    lengths: list[tuple[float, float]] = field(default_factory=list)
    root_children: tuple[int, ...] = ()
    root_lengths: tuple[float, ...] = ()
    negative_clamped: int = 0


def tree_from_merges(ids: list[str] | tuple[str, ...], merges: Merges, rooted: bool) -> Tree:
    """Assemble a :class:`Bio.Phylo.BaseTree.Tree`.

    Children are ordered by the smallest leaf index they contain, so a given
    set of joins always gives the same Newick text.

    Examples
    --------
    >>> from phylo_llm.io import to_newick
    >>> merges = Merges(3, children=[(0, 1), (3, 2)], lengths=[(1.0, 2.0), (0.5, 3.0)])
    >>> print(to_newick(tree_from_merges(["a", "b", "c"], merges, rooted=True)))
    ((a:1.0,b:2.0):0.5,c:3.0);
    """
    n = merges.n_leaves
    clades: list[Clade] = [Clade(name=name) for name in ids]
    first_leaf: list[int] = list(range(n))
    for (a, b), (la, lb) in zip(merges.children, merges.lengths):
        clades[a].branch_length = float(la)
        clades[b].branch_length = float(lb)
        pair = sorted((a, b), key=first_leaf.__getitem__)
        clades.append(Clade(clades=[clades[c] for c in pair]))
        first_leaf.append(min(first_leaf[a], first_leaf[b]))
    if merges.root_children:
        for node, length in zip(merges.root_children, merges.root_lengths):
            clades[node].branch_length = float(length)
        order = sorted(merges.root_children, key=first_leaf.__getitem__)
        root = Clade(clades=[clades[c] for c in order])
    else:
        root = clades[-1]
    return Tree(root=root, rooted=rooted)

