"""Plain-array views of a tree: leaves, node depths, descendants, patristic distances.

All functions walk the tree without recursion and return NumPy arrays, so
the scoring code can treat trees of thousands of leaves as matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Clade, Tree

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from ._walk import iter_preorder, require_lengths


@dataclass(frozen=True)
class FlatTree:
    """A tree as arrays: node ``0`` is the root; ``parent[0] == -1``.

    ``leaf_nodes[i]`` is the node of leaf ``names[i]``; ``below`` is the
    ``(nodes, leaves)`` boolean matrix of which leaves descend from each node.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> flat = flatten(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"))
    >>> flat.names, flat.parent.tolist(), flat.length.tolist()
    (('a', 'b', 'c'), [-1, 0, 1, 1, 0], [0.0, 1.0, 1.0, 2.0, 3.0])
    """

    names: tuple[str, ...]
    parent: np.ndarray
    length: np.ndarray
    depth: np.ndarray
    leaf_nodes: np.ndarray
    below: np.ndarray

    @property
    def n_leaves(self) -> int:
        return len(self.names)

    def children(self) -> dict[int, list[int]]:
        """The children of every internal node, in preorder."""
        out: dict[int, list[int]] = {}
        for node, up in enumerate(self.parent):
            if up >= 0:
                out.setdefault(int(up), []).append(node)
        return out


def preorder_arrays(tree: Tree | Clade) -> tuple[list[Clade], np.ndarray, np.ndarray]:
    """The clades of ``tree`` in preorder, each one's parent number (``-1`` for the root) and branch length
    (missing lengths, and the root's, count as 0). O(nodes) memory, unlike :func:`flatten`'s leaf matrix.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> clades, parent, length = preorder_arrays(Phylo.read(StringIO("((a:1,b:2):3,c:4);"), "newick"))
    >>> parent.tolist(), length.tolist()
    ([-1, 0, 1, 1, 0], [0.0, 3.0, 1.0, 2.0, 4.0])
    """
    clades = list(iter_preorder(tree))
    index = {id(c): i for i, c in enumerate(clades)}
    parent = np.full(len(clades), -1, dtype=np.int64)
    length = np.zeros(len(clades))
    for i, clade in enumerate(clades):
        for child in clade.clades:
            parent[index[id(child)]] = i
        if i:
            length[i] = clade.branch_length or 0.0
    return clades, parent, length


def flatten(tree: Tree) -> FlatTree:
    """Arrays of ``tree`` (preorder numbering; missing branch lengths count as 0).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> flat = flatten(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"))
    >>> flat.leaf_nodes.tolist(), flat.depth.tolist()
    ([2, 3, 4], [0.0, 1.0, 2.0, 3.0, 3.0])
    """
    clades, parent, length = preorder_arrays(tree)
    depth = np.zeros(len(clades))
    for i in range(1, len(clades)):
        depth[i] = depth[parent[i]] + length[i]
    leaf_nodes = np.array([i for i, c in enumerate(clades) if not c.clades])
    names = tuple(str(clades[i].name) for i in leaf_nodes)
    below = np.zeros((len(clades), len(leaf_nodes)), dtype=bool)
    below[leaf_nodes, np.arange(len(leaf_nodes))] = True
    for i in range(len(clades) - 1, 0, -1):
        below[parent[i]] |= below[i]
    return FlatTree(names, parent, length, depth, leaf_nodes, below)


def distances_from_point(flat: FlatTree, node: int, height: float = 0.0) -> np.ndarray:
    """Tree distance from the point ``height`` above ``node`` on its branch to every leaf (``flat.names`` order).

    Walks up from the node: the leaves first reached below each ancestor have
    that ancestor as their common ancestor with the point. O(depth x leaves)
    time, O(leaves) memory (no n x n matrix).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> flat = flatten(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"))
    >>> distances_from_point(flat, node=2, height=0.5).tolist()  # halfway up a's branch
    [0.5, 2.5, 4.5]
    """
    out = np.empty(flat.n_leaves)
    leaf_depth = flat.depth[flat.leaf_nodes]
    seen = np.zeros(flat.n_leaves, dtype=bool)
    up = node
    while up >= 0:
        new = flat.below[up] & ~seen
        out[new] = flat.depth[node] + leaf_depth[new] - 2.0 * flat.depth[up]
        seen |= flat.below[up]
        up = flat.parent[up]
    # The point sits ``height`` above the node: nearer to the leaves outside it, farther from those below.
    out += np.where(flat.below[node], height, -height)
    return out


def patristic_matrix(tree: Tree) -> DistanceMatrix:
    """Path lengths between all leaves, as a :class:`DistanceMatrix` (O(n^2) memory and time).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> dist = patristic_matrix(Phylo.read(StringIO("((a:1,b:2):1,c:3);"), "newick"))
    >>> dist.ids, dist.values.tolist()
    (('a', 'b', 'c'), [[0.0, 3.0, 5.0], [3.0, 0.0, 6.0], [5.0, 6.0, 0.0]])
    """
    require_lengths(tree, "the path-length matrix")
    with np.errstate(over="ignore", invalid="ignore"):  # lengths whose sums overflow: refused below, in one line
        flat = flatten(tree)
        n = flat.n_leaves
        values = np.zeros((n, n))
        leaf_depth = flat.depth[flat.leaf_nodes]
        for node, kids in flat.children().items():
            groups = [np.flatnonzero(flat.below[k]) for k in kids]
            for a in range(len(groups)):
                for b in range(a + 1, len(groups)):
                    left, right = groups[a], groups[b]
                    block = leaf_depth[left][:, None] + leaf_depth[right][None, :] - 2.0 * flat.depth[node]
                    values[np.ix_(left, right)] = block
                    values[np.ix_(right, left)] = block.T
    if not (np.isfinite(flat.depth).all() and np.isfinite(values).all()):
        raise PhyloLLMError("the tree's path lengths are not finite (branch lengths summing past the largest float, "
                            f"{np.finfo(float).max:.3g}): rescale its branch lengths")
    np.maximum(values, 0.0, out=values)
    return DistanceMatrix(flat.names, values, "patristic", symmetric=True)

