"""A relation model applied to every pair of a per-probe cache: probabilities, a dissimilarity, expected FDR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from Bio.Phylo.BaseTree import Tree

from ..distance import DistanceMatrix, probe_distances
from ..probes import ProbeEmbeddings
from ._features import added_model_features, pair_features, pair_index
from ._model import RelationModel, load_relation_model

#: Floor of P(related) before its logarithm (exp(-690): the dissimilarity stays finite).
LOG_FLOOR = 1e-300


def pair_probabilities(model: RelationModel, probes: ProbeEmbeddings, progress: bool = False) -> np.ndarray:
    """``(n (n - 1) / 2, 3)`` probabilities of every pair (:func:`pair_index` order); other settings refused.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import train_relation_model
    >>> probes = simulate(seed=0).probes(8)
    >>> model = train_relation_model(probes, pl.load_lineage("data/demo"), n_folds=0)
    >>> pair_probabilities(model, probes).shape
    (2415, 3)
    """
    model.check_settings(probes)
    return model.predict_proba(pair_features(probes, progress=progress))


def relation_distances(model: RelationModel, probes: ProbeEmbeddings, proba: np.ndarray | None = None,
                       progress: bool = False) -> DistanceMatrix:
    """``-log P(related)`` of every pair as a :class:`DistanceMatrix` (zero diagonal): closer = likelier related.

    A logarithm rather than ``1 - P``: far pairs keep their order instead of
    all rounding to 1. ``proba``: :func:`pair_probabilities` when computed.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import train_relation_model
    >>> probes = simulate(seed=0).probes(8)
    >>> model = train_relation_model(probes, pl.load_lineage("data/demo"), n_folds=0)
    >>> relation_distances(model, probes).metric
    'relation-model'
    """
    proba = pair_probabilities(model, probes, progress) if proba is None else proba
    related = np.clip(1.0 - proba[:, 0], LOG_FLOOR, 1.0)
    i, j = pair_index(probes.n_models)
    values = np.zeros((probes.n_models, probes.n_models))
    values[i, j] = values[j, i] = -np.log(related)
    return DistanceMatrix(probes.ids, values, metric="relation-model", source=str(probes.source), symmetric=True)


def expected_fdr(related: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """Expected false-discovery rate of calling related every pair with ``P(related) >= threshold``.

    With calibrated probabilities the expected number of false calls among the
    called pairs is ``sum(1 - p)``; divided by their number it is the FDR
    (the Bayesian FDR of Efron 2001 / Storey's q-value read from posteriors).

    References
    ----------
    Efron B et al. (2001). Empirical Bayes analysis of a microarray experiment. JASA 96:1151-1160.

    Examples
    --------
    >>> expected_fdr(np.array([0.9, 0.8, 0.1]), np.array([0.9, 0.8, 0.1])).round(3).tolist()
    [0.1, 0.15, 0.4]
    """
    related = np.asarray(related, dtype=np.float64)
    if related.size == 0:  # no pair: nothing called, nothing false
        return np.zeros(np.shape(threshold))
    order = np.sort(related)[::-1]
    false_calls = np.cumsum(1.0 - order)
    called = np.searchsorted(-order, -np.asarray(threshold, dtype=np.float64), side="right")
    return np.where(called > 0, false_calls[np.maximum(called - 1, 0)] / np.maximum(called, 1), 0.0)


def with_probabilities(table: pd.DataFrame, probes: ProbeEmbeddings, proba: np.ndarray, a: str, b: str = "model",
                       a_is_column: bool = False) -> pd.DataFrame:
    """``table`` of pairs (model ``a``, or column ``a`` when ``a_is_column``; column ``b``) with the model's columns.

    Adds ``p_same_weights``, ``p_derived``, ``p_related`` and ``expected_fdr``
    (of calling related every pair of ``probes`` at least as probable,
    :func:`expected_fdr`), and the Euclidean ``distance`` of the pair; the
    ``distance`` the table was ranked by (``-log P(related)``) becomes
    ``neg_log_p_related``. ``proba``: :func:`pair_probabilities` of ``probes``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(8)
    >>> n = len(probes.ids)
    >>> proba = np.tile([0.2, 0.3, 0.5], (n * (n - 1) // 2, 1))  # as pair_probabilities gives: one row per pair
    >>> table = pd.DataFrame({"model": list(probes.ids[1:3]), "distance": [0.1, 0.2]})
    >>> out = with_probabilities(table, probes, proba, probes.ids[0])
    >>> out["p_related"].tolist()
    [0.8, 0.8]
    """
    from ..score._pairs import condensed_index  # one home for the condensed pair order

    row = {m: k for k, m in enumerate(probes.ids)}
    ia = np.array([row[m] for m in (table[a] if a_is_column else [a] * len(table))], dtype=np.intp)
    ib = np.array([row[m] for m in table[b]], dtype=np.intp)
    at = condensed_index(ia, ib, probes.n_models)
    related_all = 1.0 - proba[:, 0]
    out = table.rename(columns={"distance": "neg_log_p_related"})
    dist = probe_distances(probes, "euclidean").values
    position = list(out.columns).index("neg_log_p_related")
    out.insert(position, "distance", dist[ia, ib])
    out.insert(position, "expected_fdr", expected_fdr(related_all, related_all[at]))
    out.insert(position, "p_related", related_all[at])
    out.insert(position, "p_derived", proba[at, 2])
    out.insert(position, "p_same_weights", proba[at, 1])
    return out


def cherry_probabilities(tree: Tree, probes: ProbeEmbeddings, proba: np.ndarray) -> pd.DataFrame:
    """The tree's cherries (:func:`phylo_llm.tree.cherries`) with the relation model's probabilities for each pair.

    Columns ``a, b, distance`` (Euclidean, of the per-probe embeddings),
    ``p_same_weights, p_derived, p_related``; most probable first.
    ``proba``: :func:`pair_probabilities` of ``probes``.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import train_relation_model
    >>> probes = simulate(seed=0).probes(8)
    >>> model = train_relation_model(probes, pl.load_lineage("data/demo"), n_folds=0)
    >>> proba = pair_probabilities(model, probes)
    >>> tree = pl.tree.build_tree(relation_distances(model, probes, proba))
    >>> list(cherry_probabilities(tree, probes, proba).columns)
    ['a', 'b', 'distance', 'p_same_weights', 'p_derived', 'p_related']
    """
    from ..score._pairs import condensed_index  # one home for the condensed pair order
    from ..tree import cherries

    row = {m: k for k, m in enumerate(probes.ids)}
    pairs = cherries(tree)
    ia = np.array([row[a] for a, _ in pairs], dtype=np.intp)
    ib = np.array([row[b] for _, b in pairs], dtype=np.intp)
    at = condensed_index(ia, ib, probes.n_models)
    dist = probe_distances(probes, "euclidean").values
    table = pd.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs], "distance": dist[ia, ib],
                          "p_same_weights": proba[at, 1], "p_derived": proba[at, 2], "p_related": 1.0 - proba[at, 0]})
    return table.sort_values(["p_related", "a", "b"], ascending=[False, True, True], kind="stable").reset_index(drop=True)


def placement_probabilities(table: pd.DataFrame, new: ProbeEmbeddings, reference: ProbeEmbeddings,
                            model: RelationModel) -> pd.DataFrame:
    """A placement table (:func:`phylo_llm.tree.place`) with the relation model's probabilities for each placed
    model and the leaf it was placed beside (``nearest_leaf``): ``p_same_weights``, ``p_derived``, ``p_related``.

    Each placed model's features (ranks, CSLS term) are computed among the
    reference models and that model alone, as each is placed alone: its
    probabilities do not depend on the other models placed with it. Give as
    ``reference`` the tree's models (the population the placement sees); a
    reference row with a placed model's id is left out for it. The reference's
    distances are computed once (:func:`~phylo_llm.relate.added_model_features`),
    so the cost is linear in the number of placed models.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import train_relation_model
    >>> probes = simulate(seed=0).probes(8)
    >>> model = train_relation_model(probes, pl.load_lineage("data/demo"), n_folds=0)
    >>> new, reference = probes.subset(probes.ids[:2]), probes.subset(probes.ids[2:])
    >>> tree = pl.build_tree(pl.distance.probe_distances(reference))
    >>> placed = pl.tree.place(new, tree, reference)
    >>> table = placement_probabilities(placed.table, new, reference, model)
    >>> bool(table["p_related"].between(0, 1).all())
    True
    """
    model.check_settings(reference)
    model.check_settings(new)
    total = probe_distances(reference, "euclidean")  # once; each placed model adds its own row
    new_row = {m: k for k, m in enumerate(new.ids)}
    reference_row = {m: k for k, m in enumerate(reference.ids)}
    placed, leaves = list(table["model"]), list(table["nearest_leaf"])
    proba = np.empty((len(table), len(model.classes)))
    outside = [k for k, m in enumerate(placed) if m not in reference_row]
    if outside:
        partners = np.array([reference_row[leaves[k]] for k in outside], dtype=np.int64)
        added = new.values[[new_row[placed[k]] for k in outside]]
        proba[outside] = model.predict_proba(added_model_features(reference, total, added, partners))
    for k in sorted(set(range(len(placed))) - set(outside)):  # a placed model with a reference row: that row left out
        kept = [m for m in reference.ids if m != placed[k]]
        population = reference.subset(kept)
        features = added_model_features(population, total.subset(kept), new.values[[new_row[placed[k]]]],
                                        np.array([kept.index(leaves[k])]))
        proba[k] = model.predict_proba(features)[0]
    out = table.copy()
    position = list(out.columns).index("nearest_leaf") + 1
    out.insert(position, "p_related", 1.0 - proba[:, 0])
    out.insert(position, "p_derived", proba[:, 2])
    out.insert(position, "p_same_weights", proba[:, 1])
    return out


def probes_for_model(path: str | Path, model: str | Path = "default") -> tuple[ProbeEmbeddings, RelationModel]:
    """The per-probe cache at ``path`` and the relation model (file or ``"default"``), their settings checked.

    Examples
    --------
    >>> import tempfile
    >>> from phylo_llm.io import save_probes
    >>> from phylo_llm.simulate import simulate
    >>> path = tempfile.mkdtemp() + "/sim.probes"
    >>> save_probes(simulate(seed=0).probes(8), path)
    >>> probes_for_model(path, "default")  # the shipped model was trained on another probe set
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: ...made with probe_set=simulated, but the relation model was trained on probe_set=rand_chinese...
    """
    from ..inputs import input_probes  # the one path from an input file to per-probe embeddings

    loaded = load_relation_model(model)
    probes, _ = input_probes(path)
    loaded.check_settings(probes)
    return probes, loaded
