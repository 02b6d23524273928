"""Which pairs of models the lineage documents as copies, as derived, or as unrelated; and model-disjoint folds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..lineage import Lineage
from ..score import documented_pairs

#: Pair classes, in column order of a relation model's probabilities.
CLASSES = ("unrelated", "same_weights", "derived")
#: Documented relations counted as "derived" (weights descend from the parent's, or learned from its outputs).
DERIVED = ("finetune", "continued_pretraining", "distillation", "merge", "pruning")
#: A pair with documented kinship that is not a direct edge (siblings, grandparents): neither class.
AMBIGUOUS = -1


def lineage_components(lineage: Lineage, ids: Sequence[str]) -> np.ndarray:
    """A component number per model: models joined by documented edges (through models outside ``ids`` too).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> lineage = pl.load_lineage("data/demo")
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> len(set(lineage_components(lineage, dna.ids))) < dna.n_models
    True
    """
    names = list(ids)
    resolved = lineage.resolve_all(names)
    node = {found: row for row, found in enumerate(resolved.values()) if found is not None}
    extra: dict[str, int] = {}
    a, b = [], []
    for child, parent in lineage.relations[["child", "parent"]].itertuples(index=False):
        ends = []
        for model in (child, parent):
            if model in node:
                ends.append(node[model])
            else:
                ends.append(extra.setdefault(model, len(names) + len(extra)))
        a.append(ends[0])
        b.append(ends[1])
    size = len(names) + len(extra)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return labels[:len(names)]


def model_families(lineage: Lineage, ids: Sequence[str]) -> np.ndarray:
    """A family number per model (the lineage's ``family``), ``-1`` where the lineage names none.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> families = model_families(pl.load_lineage("data/demo"), pl.load_dna("data/demo/dna.parquet").ids)
    >>> bool((families >= 0).all())
    True
    """
    view = lineage.among(list(ids))
    names = [view.family(m) or "" for m in ids]
    number = {name: k for k, name in enumerate(sorted(set(names) - {""}))}
    return np.array([number.get(name, -1) for name in names], dtype=np.int64)


def pair_labels(lineage: Lineage, ids: Sequence[str], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Class of each pair ``(i[k], j[k])``: index in :data:`CLASSES`, or :data:`AMBIGUOUS`.

    ``same_weights`` and ``derived`` are documented direct edges (either
    direction; a pair with both counts as ``same_weights``); ``unrelated`` are
    pairs in different components of the documented graph (no edge, no shared
    documented ancestor or descendant) whose documented families differ (or
    are unknown); the rest are :data:`AMBIGUOUS` (kin that is not a direct
    edge: siblings, grandparents, and two models of one documented family,
    whose weights descend from the same pretraining lineage) and take part in
    neither training nor evaluation.

    Notes
    -----
    The family is kinship documented at a coarser grain than edges: two
    fine-tunes of Llama-2 by different authors share an ancestor even when
    neither names it. Counting such pairs as unrelated taught and scored a
    relation model against relatives it could not be blamed for finding (on
    the rand set, 113,597 of the 1,252,439 edge-unrelated pairs share a
    documented family).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> lineage = pl.load_lineage("data/demo")
    >>> ids = pl.load_dna("data/demo/dna.parquet").ids
    >>> i, j = np.triu_indices(len(ids), 1)
    >>> sorted(set(pair_labels(lineage, ids, i, j).tolist()))
    [-1, 0, 1, 2]
    """
    n = len(ids)
    components = lineage_components(lineage, ids)
    families = model_families(lineage, ids)
    kin = (components[i] == components[j]) | ((families[i] >= 0) & (families[i] == families[j]))
    labels = np.where(kin, AMBIGUOUS, 0)
    edges = documented_pairs(lineage, list(ids))
    code = np.full((n, n), -2, dtype=np.int8)
    for relation, target in (("derived", 2), ("same_weights", 1)):  # same_weights last: it wins
        chosen = edges[edges["relation"].isin(DERIVED if relation == "derived" else ("same_weights",))]
        a, b = chosen["i"].to_numpy(dtype=np.intp), chosen["j"].to_numpy(dtype=np.intp)  # typed even when empty
        code[a, b] = target
        code[b, a] = target
    direct = code[i, j]
    return np.where(direct >= 0, direct, labels)


def model_folds(components: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per model such that every lineage component lies in one fold (model-disjoint CV).

    Components are dealt to folds largest first, each to the fold with fewest
    models so far (ties broken by a seeded shuffle), so folds have similar sizes.

    Examples
    --------
    >>> model_folds(np.array([0, 0, 1, 2, 2, 2]), 2).tolist()
    [1, 1, 1, 0, 0, 0]
    """
    rng = np.random.default_rng(seed)
    names, sizes = np.unique(components, return_counts=True)
    order = rng.permutation(len(names))
    order = order[np.argsort(-sizes[order], kind="stable")]
    load = np.zeros(n_folds, dtype=np.int64)
    fold_of = {}
    for k in order:
        target = int(np.argmin(load))
        fold_of[names[k]] = target
        load[target] += sizes[k]
    return np.array([fold_of[c] for c in components], dtype=np.int64)
