"""Where every node of a tree goes in a drawing: pure geometry over arrays, no plotting.

A node has a *radius* (distance from the root along the drawing's depth axis,
0 at the root and 1 at the farthest leaf) and a *slot* (position along the
leaves' axis: leaf ``k`` in drawing order sits at slot ``k``, an internal node
midway between its first and last child). Circular and rectangular drawings
map (radius, slot) to the plane in their own way.

Branch lengths (``lengths``):

* ``"given"``: as estimated. Neighbour-joining trees of LLM DNA have terminal
  edges about 20 times longer than internal ones, so the topology sits in a
  small disc at the centre.
* ``"sqrt"``: every edge drawn with the square root of its length, which
  keeps the order of lengths but shrinks the ratio of long to short edges
  (a 20 : 1 ratio becomes 4.5 : 1).
* ``"cladogram"``: only the topology: leaves aligned at the rim, every
  internal node one step inside its highest child (its distance from the
  rim is the most edges from it down to a leaf), as FigTree's cladogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Tree

from ..errors import PhyloLLMError
from ..tree import flatten, iter_preorder

#: The ways edges can be drawn (see the module docstring).
LENGTHS = ("given", "sqrt", "cladogram")


@dataclass(frozen=True)
class TreeLayout:
    """Drawing coordinates of every node (preorder numbering of :func:`phylo_llm.tree.flatten`).

    Attributes
    ----------
    names : tuple of str
        Leaf names in drawing order (slot 0, 1, ...).
    parent : numpy.ndarray
        Parent node of each node (-1 for the root).
    leaf_node : numpy.ndarray
        Node of the leaf in each slot.
    radius : numpy.ndarray
        Distance of each node from the root in drawing units, the farthest leaf at 1.
    slot : numpy.ndarray
        Position of each node along the leaves' axis.
    first, last : numpy.ndarray
        Slots of the first and last leaf below each node.
    support : numpy.ndarray
        Branch support of each node in [0, 1] (``nan`` where the tree has none).
    lengths : str
        How edges were drawn (:data:`LENGTHS`).
    unit : float
        Branch length (``"given"``) or square root of branch length (``"sqrt"``)
        that one drawing unit stands for; for ``"cladogram"``, the edges from
        the root to the rim.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> layout = tree_layout(Phylo.read(StringIO("((a:1,b:2):1,c:1);"), "newick"))
    >>> layout.names, float(layout.radius.max())
    (('c', 'a', 'b'), 1.0)
    """

    names: tuple[str, ...]
    parent: np.ndarray
    leaf_node: np.ndarray
    radius: np.ndarray
    slot: np.ndarray
    first: np.ndarray
    last: np.ndarray
    support: np.ndarray
    lengths: str
    unit: float

    @property
    def n_leaves(self) -> int:
        return len(self.names)

    @property
    def is_leaf(self) -> np.ndarray:
        out = np.zeros(len(self.parent), dtype=bool)
        out[self.leaf_node] = True
        return out

    def children(self) -> dict[int, list[int]]:
        """Children of every internal node, in drawing order."""
        out: dict[int, list[int]] = {}
        for node in np.argsort(self.slot, kind="stable"):
            up = int(self.parent[node])
            if up >= 0:
                out.setdefault(up, []).append(int(node))
        return out

    def edge_length(self) -> np.ndarray:
        """Drawn length of the edge above each node (0 for the root)."""
        out = np.zeros(len(self.parent))
        out[1:] = self.radius[1:] - self.radius[self.parent[1:]]
        return out


def tree_layout(tree: Tree, lengths: str = "given", ladderize: bool = True) -> TreeLayout:
    """Drawing coordinates of ``tree`` (see :class:`TreeLayout` and the module docstring).

    Parameters
    ----------
    tree : Bio.Phylo tree
    lengths : {"given", "sqrt", "cladogram"}
        How edges are drawn. Negative lengths count as 0.
    ladderize : bool
        Order each node's children by size, smallest first (as ape's
        ``ladderize``), so the drawing reads from small clades to large ones.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> layout = tree_layout(Phylo.read(StringIO("((a:1,b:3):1,c:1);"), "newick"))
    >>> layout.names, layout.radius.round(2).tolist()
    (('c', 'a', 'b'), [0.0, 0.25, 0.5, 1.0, 0.25])
    >>> tree_layout(Phylo.read(StringIO("((a:1,b:3):1,c:1);"), "newick"), "cladogram").radius.tolist()
    [0.0, 0.5, 1.0, 1.0, 1.0]
    """
    if lengths not in LENGTHS:
        raise PhyloLLMError(f"unknown branch lengths {lengths!r}; choose one of {', '.join(LENGTHS)}")
    flat = flatten(tree)
    clades = list(iter_preorder(tree))  # the same numbering as flatten
    n_nodes = len(flat.parent)
    size = flat.below.sum(axis=1)
    kids: dict[int, list[int]] = {}
    for node in range(1, n_nodes):
        kids.setdefault(int(flat.parent[node]), []).append(node)
    if ladderize:  # smallest clade first; ties keep the tree's order (stable)
        kids = {node: sorted(children, key=lambda c: size[c]) for node, children in kids.items()}
    order: list[int] = []  # leaves in drawing order: depth-first, no recursion
    stack = [0]
    while stack:
        node = stack.pop()
        if node in kids:
            stack.extend(reversed(kids[node]))
        else:
            order.append(node)
    leaf_node = np.array(order, dtype=int)
    slot = np.zeros(n_nodes)
    first = np.zeros(n_nodes)
    last = np.zeros(n_nodes)
    slot[leaf_node] = first[leaf_node] = last[leaf_node] = np.arange(len(order))
    for node in range(n_nodes - 1, -1, -1):  # preorder reversed: children before parents
        if node in kids:
            c = kids[node]
            slot[node] = (slot[c[0]] + slot[c[-1]]) / 2.0
            first[node] = min(first[k] for k in c)
            last[node] = max(last[k] for k in c)
    edge = np.clip(flat.length, 0.0, None)
    if lengths == "sqrt":
        edge = np.sqrt(edge)
    edge[0] = 0.0
    radius = np.zeros(n_nodes)
    if lengths == "cladogram":  # height above the leaves, in edges; the rim minus it
        height = np.zeros(n_nodes)
        for node in range(n_nodes - 1, 0, -1):
            up = flat.parent[node]
            height[up] = max(height[up], height[node] + 1)
        radius = height[0] - height
    else:
        for node in range(1, n_nodes):
            radius[node] = radius[flat.parent[node]] + edge[node]
    unit = float(radius.max()) if radius.max() > 0 else 1.0
    support = np.array([_support(c.confidence) if c.clades else np.nan for c in clades], dtype=float)
    if np.nanmax(support, initial=0.0) > 1.0:  # written as percentages
        support = support / 100.0
    names = tuple(str(clades[i].name) for i in leaf_node)
    return TreeLayout(names, flat.parent.copy(), leaf_node, radius / unit, slot, first, last, support, lengths, unit)


def _support(value) -> float:
    try:
        return float(value) if value is not None else np.nan
    except (TypeError, ValueError):
        return np.nan


def internal_share(layout: TreeLayout) -> float:
    """Share of the drawn edge length that lies on internal edges (the part that shows the topology).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:4,b:4):1,(c:4,d:4):1);"), "newick")
    >>> round(internal_share(tree_layout(tree)), 3), round(internal_share(tree_layout(tree, "cladogram")), 3)
    (0.111, 0.333)
    >>> caterpillar = Phylo.read(StringIO("(((a:4,b:4):1,c:4):1,d:4);"), "newick")
    >>> round(internal_share(tree_layout(caterpillar)), 3), round(internal_share(tree_layout(caterpillar, "cladogram")), 3)
    (0.111, 0.222)
    """
    edge = layout.edge_length()
    internal = ~layout.is_leaf
    internal[0] = False
    total = edge.sum()
    return float(edge[internal].sum() / total) if total > 0 else 0.0


def pure_clades(layout: TreeLayout, value_of_leaf: list, min_leaves: int = 1) -> list[tuple[int, object]]:
    """Maximal clades whose leaves all share one value (``None`` never counts), as (node, value), in slot order.

    ``value_of_leaf[k]`` is the value of the leaf in slot ``k``. A clade is
    maximal when its parent's leaves do not all share the value.
    """
    n_nodes = len(layout.parent)
    value: list = [None] * n_nodes
    pure = np.zeros(n_nodes, dtype=bool)
    for k, node in enumerate(layout.leaf_node):
        value[node] = value_of_leaf[k]
        pure[node] = value_of_leaf[k] is not None
    children = layout.children()
    for node in range(n_nodes - 1, -1, -1):
        if node in children:
            vals = {value[c] for c in children[node]}
            if all(pure[c] for c in children[node]) and len(vals) == 1:
                pure[node] = True
                value[node] = vals.pop()
    size = layout.last - layout.first + 1
    out = [(node, value[node]) for node in range(n_nodes)
           if pure[node] and (node == 0 or not pure[layout.parent[node]]) and size[node] >= min_leaves]
    return sorted(out, key=lambda nv: layout.first[nv[0]])
