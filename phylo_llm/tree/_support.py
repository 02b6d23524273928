"""Branch support by bootstrapping probes (Felsenstein 1985), classic (FBP) and transfer (TBE).

Probes are this field's alignment columns: a replicate draws ``P`` probes
with replacement, so each probe counts 0, 1, 2, ... times
(:func:`probe_resampling`); its distances are the weighted per-probe
distances (:func:`phylo_llm.distance.probe_distances`), its tree is built
with the same metric and method as the reference tree. Each split of the
reference tree then gets

* FBP: the share of replicate trees that contain the split;
* TBE (Lemoine et al., Nature 2018): ``1 - mean(transfer distance) / (p - 1)``,
  where the transfer distance is the fewest leaves to move to turn the split
  into the closest split of the replicate, and ``p`` the size of the split's
  smaller side. TBE stays informative on trees of thousands of leaves, where
  one misplaced leaf already drops a deep split's FBP to 0.

Splits are unrooted bipartitions of the leaves; support is a proportion in
[0, 1], set as each internal clade's ``confidence`` (written as the node label
in Newick) and as the ``support`` feature (NHX).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from Bio.Phylo.BaseTree import Tree

from ..distance import probe_distances
from ..errors import PhyloLLMError
from ..probes import ProbeEmbeddings
from ..progress import Progress
from . import SUPPORT_KINDS
from ._build import build_tree
from ._features import features_of, set_features
from ._flat import flatten
from ._walk import copy_tree, iter_leaves, iter_preorder


def probe_resampling(n_probes: int, replicates: int, seed: int = 0) -> np.ndarray:
    """``(replicates, n_probes)`` counts: how often each probe was drawn in each replicate (rows sum to ``n_probes``).

    Examples
    --------
    >>> counts = probe_resampling(n_probes=4, replicates=3, seed=0)
    >>> counts.shape, counts.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    """
    if replicates < 1 or n_probes < 1:
        raise PhyloLLMError(f"bootstrap needs at least 1 replicate and 1 probe, got {replicates} and {n_probes}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_probes, size=(replicates, n_probes))
    return np.stack([np.bincount(row, minlength=n_probes) for row in draws])


def tree_split_masks(tree: Tree, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Non-trivial unrooted splits of ``tree`` over the leaves ``names``.

    Returns the preorder indices of the clades defining them and a boolean
    ``(splits, leaves)`` matrix, each row the side without ``names[0]``.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a,b),(c,d),e);"), "newick")
    >>> clades, masks = tree_split_masks(tree, ("a", "b", "c", "d", "e"))
    >>> masks.astype(int).tolist()
    [[0, 0, 1, 1, 1], [0, 0, 1, 1, 0]]
    """
    flat = flatten(tree)
    if sorted(flat.names) != sorted(names):
        extra = sorted(set(flat.names) ^ set(names))
        raise PhyloLLMError(f"the trees do not have the same leaves (e.g. {extra[0]!r})")
    column = {name: i for i, name in enumerate(flat.names)}
    masks = flat.below[:, [column[name] for name in names]]
    masks = np.where(masks[:, :1], ~masks, masks)
    sizes = masks.sum(axis=1)
    nodes = np.flatnonzero((sizes >= 2) & (sizes <= len(names) - 2))
    nodes = nodes[nodes > 0]
    return nodes, masks[nodes]


class SupportCounter:
    """Accumulates FBP and TBE of a reference tree's splits over replicate trees, one at a time.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> read = lambda text: Phylo.read(StringIO(text), "newick")
    >>> counter = SupportCounter(read("((a,b),(c,d),e);"))
    >>> counter.add(read("((a,b),c,(d,e));"))
    >>> counter.add(read("((a,b),(c,d),e);"))
    >>> counter.fbp().tolist()
    [1.0, 0.5]
    """

    def __init__(self, reference: Tree):
        self.reference = reference
        self.names = tuple(sorted(leaf.name for leaf in iter_leaves(reference)))
        self.nodes, masks = tree_split_masks(reference, self.names)
        self._keys = [np.packbits(m).tobytes() for m in masks]
        self._masks = masks.astype(np.float32)
        self._sizes = masks.sum(axis=1)
        self._smaller = np.minimum(self._sizes, len(self.names) - self._sizes)
        self._found = np.zeros(len(self.nodes), dtype=np.int64)
        self._transfer = np.zeros(len(self.nodes))
        self.replicates = 0

    def add(self, tree: Tree) -> None:
        """Count one replicate tree (same leaves as the reference)."""
        _, masks = tree_split_masks(tree, self.names)
        keys = {np.packbits(m).tobytes() for m in masks}
        self._found += np.fromiter((k in keys for k in self._keys), dtype=bool, count=len(self._keys))
        n = len(self.names)
        # Transfer distance to a trivial split is p - 1; to a split B it is min(|A xor B|, n - |A xor B|),
        # with |A xor B| = |A| + |B| - 2 |A and B| from one float32 matrix product (exact for integer counts).
        best = self._smaller - 1.0
        if len(masks):
            shared = self._masks @ masks.astype(np.float32).T
            differ = self._sizes[:, None] + masks.sum(axis=1)[None, :] - 2.0 * shared
            best = np.minimum(best, np.minimum(differ, n - differ).min(axis=1))
        self._transfer += best
        self.replicates += 1

    def fbp(self) -> np.ndarray:
        """Share of replicates containing each split."""
        return self._found / max(self.replicates, 1)

    def tbe(self) -> np.ndarray:
        """Transfer bootstrap expectation of each split."""
        return 1.0 - self._transfer / max(self.replicates, 1) / (self._smaller - 1.0)

    def annotated(self, kind: str = "fbp") -> Tree:
        """A copy of the reference tree with ``kind`` support as clade ``confidence`` and ``support`` feature."""
        if kind not in SUPPORT_KINDS:
            raise PhyloLLMError(f"unknown support {kind!r}; choose one of {', '.join(SUPPORT_KINDS)}")
        values = self.fbp() if kind == "fbp" else self.tbe()
        tree = copy_tree(self.reference)
        clades = list(iter_preorder(tree))
        for node, value in zip(self.nodes, values):
            clade = clades[node]
            clade.confidence = round(float(value), 6)
            set_features(clade, {**features_of(clade), "support": clade.confidence})
        return tree


def split_support(reference: Tree, replicates: Iterable[Tree], kind: str = "fbp") -> Tree:
    """The reference tree with each split's support over ``replicates`` (FBP or TBE; see the module).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> read = lambda text: Phylo.read(StringIO(text), "newick")
    >>> supported = split_support(read("((a,b),(c,d),e);"), [read("((a,b),c,(d,e));"), read("((a,b),(c,d),e);")])
    >>> sorted(c.confidence for c in supported.get_nonterminals() if c.confidence is not None)
    [0.5, 1.0]
    """
    counter = SupportCounter(reference)
    for tree in replicates:
        counter.add(tree)
    if not counter.replicates:
        raise PhyloLLMError("no replicate trees to compute support from")
    return counter.annotated(kind)


@dataclass(frozen=True)
class Bootstrap:
    """A probe bootstrap: the reference tree with support, both supports per split, and the draws.

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> result = bootstrap_support(simulate(seed=0).probes(16), replicates=5, seed=0)
    >>> type(result).__name__, result.weights.shape
    ('Bootstrap', (5, 16))
    """

    tree: Tree
    fbp: np.ndarray
    tbe: np.ndarray
    weights: np.ndarray

    def __repr__(self) -> str:  # one line in a notebook, not every split's support and every draw
        return (f"Bootstrap({self.tree.count_terminals():,} leaves, {len(self.fbp):,} splits, "
                f"{len(self.weights):,} replicates)")


def bootstrap_support(
    probes: ProbeEmbeddings,
    *,
    metric: str = "euclidean",
    method: str = "nj",
    replicates: int = 100,
    kind: str = "fbp",
    seed: int = 0,
    progress: bool = False,
) -> Bootstrap:
    """Build the tree of all probes and its probe-bootstrap support.

    Parameters
    ----------
    probes : ProbeEmbeddings
        Per-probe answer embeddings (``phylo-llm extract --cache``).
    metric : str
        One of :data:`phylo_llm.distance.GRAM_METRICS`, optionally ``+csls``.
    method : {"nj", "upgma", "wpgma"}
        Tree method, for the reference and every replicate.
    replicates : int
        Number of bootstrap replicates.
    kind : {"fbp", "tbe"}
        Which support goes into the tree (both are returned).
    seed : int
        Seed of the probe draws: same seed, same replicates, same bytes.

    Returns
    -------
    Bootstrap

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> result = bootstrap_support(simulate(seed=0).probes(32), replicates=10, seed=0)
    >>> result.tree.count_terminals(), len(result.fbp) == len(result.tbe) == 67
    (70, True)
    """
    if kind not in SUPPORT_KINDS:
        raise PhyloLLMError(f"unknown support {kind!r}; choose one of {', '.join(SUPPORT_KINDS)}")
    # Each distance matrix serves one tree: join in it rather than in a copy.
    reference = build_tree(probe_distances(probes, metric), method, overwrite=True)
    weights = probe_resampling(probes.n_probes, replicates, seed)
    counter = SupportCounter(reference)
    with Progress(replicates, "bootstrap replicates", enabled=progress) as bar:
        for draw in weights:
            counter.add(build_tree(probe_distances(probes, metric, draw), method, overwrite=True))
            bar.update()
    return Bootstrap(counter.annotated(kind), counter.fbp(), counter.tbe(), weights)
