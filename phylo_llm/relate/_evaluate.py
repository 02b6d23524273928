"""Model-disjoint cross-validation of a relation model, beside the plain distance and chance.

Folds are unions of components of the documented lineage graph
(:func:`phylo_llm.relate.model_folds`): no model, and none of its documented
relatives, is on both sides. A pair is evaluated in the fold holding both its
models; pairs across folds are neither trained on nor scored.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from ..errors import PhyloLLMError
from ..lineage import LineageLike, as_lineage
from ..probes import ProbeEmbeddings
from ..progress import Progress
from ..score import documented_pairs
from ._calibration import expected_calibration_error, reliability_bins
from ._features import FEATURES, pair_features, pair_index
from ._labels import AMBIGUOUS, CLASSES, DERIVED, lineage_components, model_folds, pair_labels
from ._model import RelationModel, fit_calibrated

#: Estimators compared by :func:`cross_validate` (``estimator=``): the shipped logistic model, gradient boosting.
ESTIMATORS = ("logistic", "boosting")


def _columns(fitted, x: np.ndarray) -> np.ndarray:
    """``predict_proba`` of a scikit-learn classifier spread to all :data:`CLASSES` columns (absent classes: 0)."""
    out = np.zeros((len(x), len(CLASSES)))
    out[:, fitted.classes_.astype(int)] = fitted.predict_proba(x)
    return out


def _ranks_of_parents(score: np.ndarray, i: np.ndarray, j: np.ndarray, children: np.ndarray, parents: np.ndarray,
                      members: np.ndarray) -> np.ndarray:
    """Rank (1 = best, higher score better) of each parent among ``members`` as seen from its child."""
    n = int(max(i.max(), j.max())) + 1
    matrix = np.full((n, n), -np.inf)
    matrix[i, j] = score
    matrix[j, i] = score
    ranks = []
    for child, parent in zip(children, parents):
        others = members[members != child]
        ranks.append(1 + int(np.sum(matrix[child, others] > matrix[child, parent])))
    return np.asarray(ranks)


def cross_validate(features: np.ndarray, labels: np.ndarray, i: np.ndarray, j: np.ndarray, folds: np.ndarray,
                   distance: np.ndarray, edges: np.ndarray, seed: int = 0, estimator: str = "logistic",
                   progress: bool = False) -> dict:
    """Model-disjoint cross-validated numbers of the relation model, the plain distance and chance.

    Parameters
    ----------
    features, labels, i, j : per pair (from :func:`pair_features`, :func:`pair_labels`, :func:`pair_index`).
    folds : fold number per model (:func:`model_folds`).
    distance : the unsupervised distance per pair (lower = closer).
    edges : ``(k, 2)`` row numbers ``(child, parent)`` of documented derived/same-weights edges, for parent retrieval.

    Returns
    -------
    dict with, per class, ``auc``/``ap`` of the model, of the distance and of a permuted score (chance), ``ece``,
    precision at recall 0.5 and 0.8, and parent retrieval (top-1 share, median rank) by probability and by distance.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(16)  # the demo data's models
    >>> lineage = pl.load_lineage("data/demo")
    >>> i, j = pair_index(probes.n_models)
    >>> x = pair_features(probes)
    >>> y = pair_labels(lineage, probes.ids, i, j)
    >>> folds = model_folds(lineage_components(lineage, probes.ids), 3)
    >>> report = cross_validate(x, y, i, j, folds, x[:, 6], np.empty((0, 2), int))
    >>> {"derived", "ece", "folds"} <= set(report)
    True
    """
    rng = np.random.default_rng(seed)
    same_fold = folds[i] == folds[j]
    proba = np.full((len(labels), len(CLASSES)), np.nan)
    with Progress(len(np.unique(folds)), "cross-validation folds", enabled=progress) as bar:
        for fold in np.unique(folds):
            train = (folds[i] != fold) & (folds[j] != fold) & (labels != AMBIGUOUS)
            test = same_fold & (folds[i] == fold)
            groups = np.minimum(i, j)  # pairs of one model stay together in the calibration folds
            if estimator == "logistic":  # the model as saved and shipped, not only its scikit-learn form
                proba[test] = RelationModel.fit(features[train], labels[train], groups[train], None, seed).predict_proba(features[test])
            else:
                proba[test] = _columns(fit_calibrated(features[train], labels[train], groups[train], seed, estimator),
                                       features[test])
            bar.update()
    scored = same_fold & (labels != AMBIGUOUS)
    y, p, d = labels[scored], proba[scored], distance[scored]
    report: dict = {"folds": int(len(np.unique(folds))), "pairs_scored": int(scored.sum())}
    for k, name in enumerate(CLASSES[1:], start=1):
        among = (y == k) | (y == 0)
        truth = (y[among] == k).astype(int)
        if truth.sum() == 0 or truth.sum() == len(truth):
            continue
        model_score, dist_score = p[among, k], -d[among]
        chance = rng.permutation(model_score)
        precision, recall, _ = precision_recall_curve(truth, model_score)
        report[name] = {
            "pairs": int(truth.sum()),
            "auc_model": float(roc_auc_score(truth, model_score)), "auc_distance": float(roc_auc_score(truth, dist_score)),
            "auc_chance": float(roc_auc_score(truth, chance)),
            "ap_model": float(average_precision_score(truth, model_score)),
            "ap_distance": float(average_precision_score(truth, dist_score)),
            "ap_chance": float(average_precision_score(truth, chance)),
            "precision_at_recall_0.5": float(precision[recall >= 0.5].max()),
            "precision_at_recall_0.8": float(precision[recall >= 0.8].max()),
        }
    related = 1.0 - p[:, 0]
    report["ece"] = expected_calibration_error((y > 0).astype(int), related)
    report["reliability"] = reliability_bins((y > 0).astype(int), related)
    # Almost every pair is confidently unrelated, which makes the ECE small; this is the error where it matters.
    likely = related >= 0.1
    report["ece_p_at_least_0.1"] = (expected_calibration_error((y[likely] > 0).astype(int), related[likely])
                                    if likely.any() else None)
    report["pairs_p_at_least_0.1"] = int(likely.sum())
    # Parent retrieval among the models of the child's fold.
    keep = np.array([folds[c] == folds[q] for c, q in edges], dtype=bool) if len(edges) else np.zeros(0, bool)
    if keep.any():
        children, parents = edges[keep, 0], edges[keep, 1]
        by_model, by_distance = [], []
        for fold in np.unique(folds[children]):
            members = np.flatnonzero(folds == fold)
            inside = same_fold & (folds[i] == fold)
            mine = folds[children] == fold
            by_model.append(_ranks_of_parents(1.0 - proba[inside, 0], i[inside], j[inside], children[mine], parents[mine], members))
            by_distance.append(_ranks_of_parents(-distance[inside], i[inside], j[inside], children[mine], parents[mine], members))
        model_ranks, distance_ranks = np.concatenate(by_model), np.concatenate(by_distance)
        report["retrieval"] = {
            "edges": int(keep.sum()),
            "top1_model": float(np.mean(model_ranks == 1)), "median_rank_model": float(np.median(model_ranks)),
            "top1_distance": float(np.mean(distance_ranks == 1)), "median_rank_distance": float(np.median(distance_ranks)),
            "median_candidates": float(np.median([np.sum(folds == folds[c]) - 1 for c in children])),
        }
    return report


#: Documented pairs (same weights or derived, both models present) needed to train and evaluate.
MIN_DOCUMENTED = 20


class TooFewDocumented(PhyloLLMError):
    """The lineage documents too few pairs among the models to train or evaluate a relation model."""


def check_documented(labels: np.ndarray, source: str) -> None:
    """Refuse a lineage documenting fewer than :data:`MIN_DOCUMENTED` pairs, saying how many it needs."""
    documented = int(np.sum(labels > 0))
    if documented < MIN_DOCUMENTED:
        raise TooFewDocumented(f"{source}: the lineage documents {documented} same-weights or derived pairs among "
                            f"these models; training and evaluating needs at least {MIN_DOCUMENTED}")


def evaluate_relations(probes: ProbeEmbeddings, lineage: LineageLike, n_folds: int = 5, seed: int = 0,
                       estimator: str = "logistic", reference: str = "distance",
                       features: np.ndarray | None = None, progress: bool = False) -> dict:
    """Features, labels, model-disjoint folds and :func:`cross_validate`, in one call.

    ``reference`` names the feature the model is compared with (``distance`` or ``distance_csls``).

    Raises :class:`~phylo_llm.errors.PhyloLLMError` when the lineage documents
    fewer than :data:`MIN_DOCUMENTED` pairs among the models, or fewer lineage
    components than folds. ``features``: :func:`pair_features` of ``probes``
    when already computed.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> report = evaluate_relations(simulate(seed=0).probes(8), pl.load_lineage("data/demo"), n_folds=3)
    >>> report["folds"], report["models"]
    (3, 70)
    """
    lineage = as_lineage(lineage)
    if n_folds < 2:  # one fold has nothing to train on
        raise PhyloLLMError(f"model-disjoint cross-validation needs at least 2 folds, not {n_folds}")
    i, j = pair_index(probes.n_models)
    labels = pair_labels(lineage, probes.ids, i, j)
    check_documented(labels, probes.source)
    components = lineage_components(lineage, probes.ids)
    if len(np.unique(components)) < n_folds:
        raise PhyloLLMError(f"{probes.source}: {len(np.unique(components))} lineage components cannot fill {n_folds} folds")
    folds = model_folds(components, n_folds, seed)
    features = pair_features(probes, progress=progress) if features is None else features
    edges = documented_pairs(lineage, list(probes.ids))
    edges = edges[edges["relation"].isin((*DERIVED, "same_weights"))][["i", "j"]].to_numpy()
    report = cross_validate(features, labels, i, j, folds, features[:, FEATURES.index(reference)], edges, seed, estimator,
                            progress)
    if not any(name in report for name in CLASSES[1:]):  # every fold one family: nothing to tell apart
        raise PhyloLLMError(f"{probes.source}: no fold holds both documented and unrelated pairs with {n_folds} folds "
                            "(each fold is a union of lineage components): use fewer folds")
    report["models"] = probes.n_models
    report["estimator"] = estimator
    report["labelled"] = {**{name: int(np.sum(labels == k)) for k, name in enumerate(CLASSES)}, "kin": int(np.sum(labels == AMBIGUOUS))}
    return report
