"""Exact, iterative conversion between Biopython and ete3 trees.

Names, branch lengths, support values and ``features`` (the dict that
annotation sets on Biopython clades; ete3 node features) carry over; no
text round trip, so nothing is rounded and deep trees are fine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ete3 import Tree as EteTree

import math

from Bio.Phylo.BaseTree import Clade, Tree

from ._features import features_of, set_features

ETE_STANDARD = {"name", "dist", "support"}


def to_ete(tree: Tree) -> EteTree:
    """An ete3 ``Tree`` with the same topology, names, lengths, supports and features.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> ete = to_ete(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"))
    >>> sorted(ete.get_leaf_names()), ete.get_distance("a", "c")
    (['a', 'b', 'c'], 5.0)
    """
    from ete3 import Tree as EteTree

    root = EteTree()
    stack = [(tree.root, root)]
    while stack:
        clade, node = stack.pop()
        node.name = clade.name or ""
        node.dist = clade.branch_length if clade.branch_length is not None else 0.0
        # NaN marks "no support" (ete3's default, 1.0, would be read back as full support);
        # set_outgroup moves supports with their branches, so rerooting keeps them on the right split.
        node.support = float(clade.confidence) if clade.confidence is not None else math.nan
        for key, value in features_of(clade).items():
            node.add_feature(key, value)
        for child in clade.clades:
            stack.append((child, node.add_child()))
    return root


def from_ete(root: EteTree, rooted: bool) -> Tree:
    """A Biopython ``Tree`` from an ete3 tree (children in ete3's order).

    Examples
    --------
    >>> from ete3 import Tree as EteTree
    >>> from phylo_llm.io import to_newick
    >>> tree = from_ete(EteTree("((a:1,b:2):1,c:3);"), rooted=True)
    >>> tree.rooted, to_newick(tree)  # ete3 gives every node support 1
    (True, '((a:1.0,b:2.0)1:1.0,c:3.0);')
    """
    top = Clade()
    stack = [(root, top)]
    while stack:
        node, clade = stack.pop()
        clade.name = node.name or None
        clade.branch_length = float(node.dist) if node is not root else None
        extra = {k: getattr(node, k) for k in sorted(node.features - ETE_STANDARD)}
        set_features(clade, extra)
        if not node.is_leaf() and node is not root and node.support is not None and not math.isnan(node.support):
            clade.confidence = float(node.support)
            set_features(clade, {**features_of(clade), "support": clade.confidence})
        for child in node.children:
            sub = Clade()
            clade.clades.append(sub)
            stack.append((child, sub))
    return Tree(root=top, rooted=rooted)
