"""A tree against a family taxonomy: monophyly, Robinson-Foulds, clustering agreement."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ..tree import FlatTree


def family_counts(flat: FlatTree, codes: np.ndarray, n_families: int) -> np.ndarray:
    """``(nodes, families)``: how many leaves of each family descend from each node (``codes`` -1 = none)."""
    counts = np.zeros((len(flat.parent), n_families), dtype=np.int64)
    labelled = codes >= 0
    counts[flat.leaf_nodes[labelled], codes[labelled]] = 1
    for node in range(len(flat.parent) - 1, 0, -1):
        counts[flat.parent[node]] += counts[node]
    return counts


def monophyly(flat: FlatTree, codes: np.ndarray, n_families: int, rooted: bool) -> dict[str, np.ndarray]:
    """Per family: size, size of the smallest clade (rooted) or split side (unrooted) holding it, purity.

    Only leaves with a family count; the others are pruned away, so a family
    with an unlabelled model inside its clade can still be monophyletic.
    """
    counts = family_counts(flat, codes, n_families)
    labelled_below = counts.sum(axis=1)
    total = labelled_below[0]
    size = counts[0]
    contains = counts == size[None, :]
    clade = np.where(contains, labelled_below[:, None], np.iinfo(np.int64).max).min(axis=0)
    if not rooted:
        # The other side of each branch: everything not below the node.
        outside = counts[1:] == 0
        other = np.where(outside, (total - labelled_below[1:])[:, None], np.iinfo(np.int64).max).min(axis=0)
        clade = np.minimum(clade, other)
    return {"size": size, "clade": clade, "purity": size / clade, "monophyletic": clade == size}


def _mask_key(mask: np.ndarray, rooted: bool) -> bytes:
    return np.packbits(mask if rooted or not mask[0] else ~mask).tobytes()


def tree_splits(flat: FlatTree, keep: np.ndarray, rooted: bool) -> set[bytes]:
    """Non-trivial splits (or rooted clades) of the tree restricted to the leaves in ``keep``."""
    n = int(keep.sum())
    masks = flat.below[1:][:, keep]
    sizes = masks.sum(axis=1)
    usable = (sizes >= 2) & (sizes < n) if rooted else (sizes >= 2) & (sizes <= n - 2)
    return {_mask_key(m, rooted) for m in masks[usable]}


def taxonomy_splits(codes: np.ndarray, rooted: bool) -> set[bytes]:
    """Splits of the star-of-families taxonomy over the labelled leaves (``codes`` restricted to them)."""
    n = len(codes)
    out = set()
    for family in np.unique(codes):
        mask = codes == family
        size = int(mask.sum())
        if (2 <= size < n) if rooted else (2 <= size <= n - 2):
            out.add(_mask_key(mask, rooted))
    return out


def robinson_foulds(tree_keys: set[bytes], taxonomy_keys: set[bytes]) -> dict[str, float]:
    """RF distance, its normalised form (by the total number of splits) and recovery of the taxonomy."""
    rf = len(tree_keys ^ taxonomy_keys)
    total = len(tree_keys) + len(taxonomy_keys)
    return {
        "rf": int(rf),
        "max_rf": int(total),
        "normalized": rf / total if total else float("nan"),
        "recovery": len(tree_keys & taxonomy_keys) / len(taxonomy_keys) if taxonomy_keys else float("nan"),
    }


def cut_clusters(flat: FlatTree, k: int) -> np.ndarray:
    """Cut a rooted tree into ``k`` clusters from the top: split the shallowest cluster node first.

    Returns a cluster number per leaf. Ties in depth go to the lower node number (preorder).
    """
    children = flat.children()
    clusters = [0]
    while len(clusters) < k:
        splittable = [c for c in clusters if c in children]
        if not splittable:
            break
        top = min(splittable, key=lambda c: (flat.depth[c], c))
        clusters.remove(top)
        clusters.extend(children[top])
    labels = np.full(flat.n_leaves, -1)
    for number, node in enumerate(sorted(clusters)):
        labels[flat.below[node]] = number
    return labels


def clustering_agreement(clusters: np.ndarray, codes: np.ndarray) -> dict[str, float]:
    """ARI and NMI between tree clusters and families, over the labelled leaves."""
    return {
        "ari": float(adjusted_rand_score(codes, clusters)),
        "nmi": float(normalized_mutual_info_score(codes, clusters)),
    }
