"""Which of two related models is the parent: per-model traits, an antisymmetric model, and simple baselines.

A base model and its derivatives differ in where they sit among all models:
a base model with many fine-tunes has many close neighbours (it is a hub of
its family), and a fine-tune's answers drift away from the crowd in its own
direction. The direction model compares per-model traits: it is a logistic
regression without intercept on the difference ``traits[a] - traits[b]``, so
swapping the two models swaps the answer exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from ..distance import DistanceMatrix, probe_distances
from ..lineage import Lineage, LineageLike, as_lineage
from ..probes import ProbeEmbeddings
from ..score import documented_pairs
from ._calibration import expected_calibration_error
from ._labels import lineage_components

#: Neighbours counted by the per-model traits.
K_NEAREST = 10
#: Per-model traits compared by the direction model, in column order.
TRAITS = ("log_k_occurrence", "mean_knn_distance", "distance_to_centroid", "modal_answer_share")
#: Direction features of a pair (a, b): trait differences, then the local-centre difference.
DIRECTION_FEATURES = (*(f"{t}_difference" for t in TRAITS), "local_centre_difference")
#: Pairs handled at once by :func:`direction_features` (each gathers 2k + 2 flattened models).
PAIR_BLOCK = 64
#: Documented relations whose direction is asked (the parent's weights or outputs made the child).
DIRECTED = ("finetune", "continued_pretraining", "distillation", "pruning")


def _euclidean(probes: ProbeEmbeddings, total: DistanceMatrix | None) -> np.ndarray:
    """The Euclidean probe distances (``total`` when given), a copy with an infinite diagonal."""
    dist = (probe_distances(probes, "euclidean") if total is None else total).values.copy()
    np.fill_diagonal(dist, np.inf)
    return dist


def model_traits(probes: ProbeEmbeddings, k: int = K_NEAREST, *, total: DistanceMatrix | None = None) -> np.ndarray:
    """``(n, len(TRAITS))`` per-model traits from the per-probe embeddings.

    ``log_k_occurrence``: log(1 + how many models have this one among their
    ``k`` nearest) (hubness, Radovanović et al. 2010); ``mean_knn_distance``:
    mean distance to its ``k`` nearest; ``distance_to_centroid``: distance to
    the mean of all models; ``modal_answer_share``: share of probes on which
    the model gives the probe's most common answer (the same embedding; base
    models give the common empty or degenerate answers more often).

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> model_traits(simulate(seed=0).probes(8)).shape
    (70, 4)
    """
    values = np.asarray(probes.values, dtype=np.float64)
    n = len(values)
    k = min(k, n - 1)
    dist = _euclidean(probes, total)
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    occurrence = np.bincount(nearest.ravel(), minlength=n)
    knn = np.take_along_axis(dist, nearest, axis=1).mean(axis=1)
    flat = values.reshape(n, -1)
    centroid = np.linalg.norm(flat - flat.mean(axis=0), axis=1)
    return np.column_stack([np.log1p(occurrence), knn, centroid, modal_answer_share(probes)])


def modal_answer_share(probes: ProbeEmbeddings) -> np.ndarray:
    """Per model, the share of probes on which it gives the probe's most common answer (the same embedding).

    An answer is "most common" when no other answer to that probe is given by
    more models and at least two models give it (tied answers all count; a
    probe where every answer differs counts for nobody), so the trait does not
    depend on the order of models or of answers.

    Examples
    --------
    >>> values = np.array([[[0.0], [1.0]], [[0.0], [2.0]], [[3.0], [4.0]]])
    >>> modal_answer_share(ProbeEmbeddings(["a", "b", "c"], values)).tolist()
    [0.5, 0.5, 0.0]
    """
    values = np.asarray(probes.values)
    n, n_probes = values.shape[:2]
    modal = np.zeros(n)
    for probe in range(n_probes):
        # Rows compared as bytes (fast); + 0.0 makes -0.0 and 0.0 one answer, as they are one number.
        rows = np.ascontiguousarray(values[:, probe] + values.dtype.type(0.0))
        keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, which, counts = np.unique(keys, return_inverse=True, return_counts=True)
        top = counts.max()
        if top >= 2:
            modal += counts[which.ravel()] == top
    return modal / n_probes


def nearest_models(probes: ProbeEmbeddings, k: int = K_NEAREST, *, total: DistanceMatrix | None = None) -> np.ndarray:
    """``(n, k)`` rows of each model's ``k`` nearest other models (Euclidean, unordered).

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(8)
    >>> nearest = nearest_models(probes, k=3)
    >>> nearest.shape, bool((nearest != np.arange(70)[:, None]).all())  # never the model itself
    ((70, 3), True)
    """
    dist = _euclidean(probes, total)
    k = min(k, len(dist) - 1)
    return np.argpartition(dist, k - 1, axis=1)[:, :k]


def direction_features(probes: ProbeEmbeddings, a: np.ndarray, b: np.ndarray, traits: np.ndarray | None = None,
                       nearest: np.ndarray | None = None, *, total: DistanceMatrix | None = None) -> np.ndarray:
    """``(pairs, len(DIRECTION_FEATURES))``: antisymmetric features of ordered pairs ``(a[k], b[k])``.

    Trait differences ``traits[a] - traits[b]`` (:func:`model_traits`), and
    ``d(a, c) - d(b, c)`` with ``c`` the mean of ``a``, ``b`` and their ``k``
    nearest models (an unsupervised stand-in for the family's centre: the
    parent tends to sit nearer the middle of its own descendants).
    Swapping ``a`` and ``b`` negates every column.

    Examples
    --------
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(8)
    >>> x = direction_features(probes, np.array([0, 1]), np.array([1, 0]))
    >>> bool(np.allclose(x[0], -x[1]))
    True
    """
    a, b = np.asarray(a, dtype=np.intp), np.asarray(b, dtype=np.intp)
    if traits is None or nearest is None:  # one distance matrix for both
        total = probe_distances(probes, "euclidean") if total is None else total
    traits = model_traits(probes, total=total) if traits is None else traits
    nearest = nearest_models(probes, total=total) if nearest is None else nearest
    flat = np.asarray(probes.values, dtype=np.float32).reshape(probes.n_models, -1)
    local = np.empty(len(a))
    for start in range(0, len(a), PAIR_BLOCK):
        pa, pb = a[start:start + PAIR_BLOCK], b[start:start + PAIR_BLOCK]
        members = np.concatenate([nearest[pa], nearest[pb], pa[:, None], pb[:, None]], axis=1)
        members = np.sort(members, axis=1)  # the same centre whichever way round the pair is given
        centre = flat[members].mean(axis=1)
        local[start:start + len(pa)] = (np.linalg.norm(flat[pa] - centre, axis=1)
                                        - np.linalg.norm(flat[pb] - centre, axis=1))
    return np.column_stack([traits[a] - traits[b], local])


def directed_edges(lineage: Lineage, ids: Sequence[str]) -> pd.DataFrame:
    """Documented :data:`DIRECTED` edges among ``ids``: ``child, parent, relation, i, j`` (one row per pair).

    A pair documented in both directions, or also as ``same_weights`` or
    ``merge``, has no single direction and is left out.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> edges = directed_edges(pl.load_lineage("data/demo"), pl.load_dna("data/demo/dna.parquet").ids)
    >>> len(edges), edges.loc[0, ["child", "parent"]].tolist()
    (45, ['meta-llama/Llama-2-7B', 'meta-llama/Llama-1-7B'])
    """
    pairs = documented_pairs(lineage, list(ids))
    key = pd.Series(np.minimum(pairs["i"], pairs["j"]) * len(ids) + np.maximum(pairs["i"], pairs["j"]))
    unique = ~key.duplicated(keep=False).to_numpy()
    return pairs[unique & pairs["relation"].isin(DIRECTED)].reset_index(drop=True)


#: Inverse regularisation of the direction fit: the relation model's prior (its ``C``). With about 160 edges per
#: training set and two traits that measure one thing (hubness and mean distance to the nearest models), C = 1 let
#: their coefficients swing in sign from fold to fold (model-disjoint accuracy 0.746 at C = 1, 0.780 at 0.01).
DIRECTION_C = 0.01
#: Inner folds whose out-of-fold scores calibrate the direction probabilities (:func:`fit_direction`).
CALIBRATION_FOLDS = 5


def fit_direction(diff: np.ndarray, groups: np.ndarray | None = None) -> LogisticRegression:
    """Antisymmetric logistic model: P(a is the parent of b) from ``direction_features(a, b)``.

    Parameters
    ----------
    diff : numpy.ndarray
        :func:`direction_features` of (parent, child) edges, one row per edge.
    groups : numpy.ndarray, optional
        A group per edge (e.g. the lineage component of its models): the
        calibration's inner folds keep a group together. None: every edge its own group.

    Returns
    -------
    sklearn.linear_model.LogisticRegression
        Without intercept; its coefficients take raw feature differences.

    Notes
    -----
    Each edge is used both ways round (label 1 parent-first, 0 child-first),
    features standardised by the edges' spread, no intercept: P(a, b) = 1 -
    P(b, a) exactly. The fit is L2-regularised with ``C =`` :data:`DIRECTION_C`,
    which shrinks every score towards 0 (every probability towards 0.5). One
    positive factor on the score, fitted to the out-of-fold scores of
    :data:`CALIBRATION_FOLDS` inner folds (groups dealt round-robin in sorted
    order), restores calibration (Platt scaling without intercept, so the
    symmetry and every answer's side are kept). With fewer groups than inner
    folds the factor is 1.

    Examples
    --------
    >>> import numpy as np
    >>> diff = np.random.default_rng(0).normal(1.0, 1.0, size=(40, 3))  # parent-minus-child features
    >>> fitted = fit_direction(diff)
    >>> p = fitted.predict_proba(diff[:1])[0, 1] + fitted.predict_proba(-diff[:1])[0, 1]
    >>> round(float(p), 9)  # antisymmetric: P(a, b) + P(b, a) = 1
    1.0
    """
    model, coef = _antisymmetric_fit(diff)
    model.coef_ = coef * _calibration_factor(diff, groups)
    return model


def _antisymmetric_fit(diff: np.ndarray) -> tuple[LogisticRegression, np.ndarray]:
    """The regularised no-intercept fit on the edges both ways round, and its coefficients on raw differences."""
    scale = np.where(diff.std(axis=0) > 0, diff.std(axis=0), 1.0)
    x = np.vstack([diff, -diff]) / scale
    y = np.concatenate([np.ones(len(diff)), np.zeros(len(diff))])
    model = LogisticRegression(fit_intercept=False, C=DIRECTION_C, max_iter=1000).fit(x, y)
    return model, model.coef_ / scale


def _calibration_factor(diff: np.ndarray, groups: np.ndarray | None) -> float:
    """The factor on the score that calibrates P(parent): a no-intercept logistic fit to out-of-fold scores, >= 0."""
    groups = np.arange(len(diff)) if groups is None else np.asarray(groups)
    unique = np.unique(groups)
    if len(unique) < CALIBRATION_FOLDS:
        return 1.0
    part = np.searchsorted(unique, groups) % CALIBRATION_FOLDS
    score = np.empty(len(diff))
    for k in range(CALIBRATION_FOLDS):
        held = part == k
        score[held] = diff[held] @ _antisymmetric_fit(diff[~held])[1][0]
    if not np.any(score):  # no signal out of fold: nothing to scale
        return 1.0
    y = np.concatenate([np.ones(len(score)), np.zeros(len(score))])
    # scikit-learn's default penalty (C = 1) on the one factor is kept on purpose: a prior towards "unsure" that
    # matters only with few edges. Unpenalised (Platt's targets) was measured: rand ECE unchanged (0.066 vs 0.070),
    # paper set (about 27 training edges) worse, 0.172 / 0.107 / 0.031 vs 0.075 / 0.012 / 0.043 on three fold seeds.
    factor = LogisticRegression(fit_intercept=False).fit(np.concatenate([score, -score])[:, None], y).coef_[0, 0]
    return max(float(factor), 0.0)  # a negative factor would turn every answer round; 0 says "no idea"




def _centre_baseline(probes: ProbeEmbeddings, lineage: Lineage, child: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """1 where the parent is closer to its family's centre, 0 where the child is, NaN without a family."""
    values = np.asarray(probes.values, dtype=np.float64).reshape(probes.n_models, -1)
    view = lineage.among(probes.ids)
    families = np.array([view.family(m) or "" for m in probes.ids], dtype=object)
    out = np.full(len(child), np.nan)
    for k, (c, p) in enumerate(zip(child, parent)):
        family = families[p] or families[c]
        members = np.flatnonzero(families == family) if family else np.array([], int)
        if len(members) >= 3:
            centre = values[members].mean(axis=0)
            dc, dp = np.linalg.norm(values[c] - centre), np.linalg.norm(values[p] - centre)
            out[k] = 0.5 if dc == dp else float(dp < dc)
    return out


def release_month(value) -> int | None:
    """A lineage ``release`` (``YYYY-MM``, month 1-12; ``YYYY-M`` accepted) as months since year 0; ``None`` otherwise.

    Examples
    --------
    >>> release_month("2023-9") < release_month("2023-10"), release_month("unknown")
    (True, None)
    """
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(value))
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return None
    return 12 * int(match.group(1)) + int(match.group(2)) - 1


def base_flag(value) -> bool | None:
    """A lineage ``is_base`` value: True (``true``/``1``), False (``false``/``0``), ``None`` when unknown."""
    text = str(value).strip().lower()
    return True if text in ("true", "1") else False if text in ("false", "0") else None


def released_first(info_a: dict, info_b: dict) -> float:
    """From two lineage ``info`` rows: 1 if ``a`` was released in an earlier month, 0 if later, NaN if unknown or equal."""
    a, b = release_month(info_a.get("release", "")), release_month(info_b.get("release", ""))
    return np.nan if a is None or b is None or a == b else float(a < b)


def only_base(info_a: dict, info_b: dict) -> float:
    """1 if only ``a`` is documented as a base model (``is_base``: pretrained from scratch), 0 if only ``b`` is,
    NaN where unknown or equal."""
    a, b = base_flag(info_a.get("is_base", "")), base_flag(info_b.get("is_base", ""))
    return 1.0 if (a, b) == (True, False) else 0.0 if (a, b) == (False, True) else np.nan


def _lineage_baseline(rule, lineage: Lineage, ids, child: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """``rule(parent's info, child's info)`` per edge (:func:`released_first`, :func:`only_base`): 1 = right."""
    view = lineage.among(ids)
    info = [view.info(m) for m in ids]
    return np.array([rule(info[p], info[c]) for c, p in zip(child, parent)], dtype=np.float64)


def _credit(score: np.ndarray, even: float) -> np.ndarray:
    """Per edge, 1 where ``score`` picks the parent (above ``even``), 0 where it picks the child, 1/2 at ``even`` (a tie)."""
    return (score > even) + 0.5 * (score == even)


def _else_model(guess: np.ndarray, proba: np.ndarray) -> float:
    """Accuracy of ``guess`` (1 right, 0 wrong, NaN unknown) where known, of the model (P > 0.5; 0.5 half) elsewhere."""
    combined = np.where(np.isnan(guess), _credit(proba, 0.5), guess)
    combined[np.isnan(guess) & np.isnan(proba)] = np.nan
    known = ~np.isnan(combined)
    return float(np.mean(combined[known])) if known.any() else float("nan")


def evaluate_direction(probes: ProbeEmbeddings, lineage: LineageLike, folds: np.ndarray) -> dict:
    """Direction accuracy on documented directed edges, model-disjoint (``folds`` per model), beside baselines.

    Edges whose two models lie in different folds are not scored (folds made by
    :func:`model_folds` keep documented relatives together, so there are none).
    Baselines: the one closer to its family's centre (lineage ``family``), the
    earlier release (lineage ``release``; scored only where both are known and
    differ, with its coverage), the documented base model (lineage
    ``is_base``: only one of the two pretrained from scratch), and each single
    trait. ``accuracy_lineage_else_model``: what the lineage says (base model,
    else release order) where it says it, the model elsewhere.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import lineage_components, model_folds
    >>> probes, lineage = simulate(seed=0).probes(8), pl.load_lineage("data/demo")
    >>> folds = model_folds(lineage_components(lineage, probes.ids), 3)
    >>> report = evaluate_direction(probes, lineage, folds)
    >>> report["edges"] > 0
    True
    """
    lineage = as_lineage(lineage)
    total = probe_distances(probes, "euclidean")
    components = lineage_components(lineage, probes.ids)  # inner calibration folds keep relatives together
    traits = model_traits(probes, total=total)
    edges = directed_edges(lineage, probes.ids)
    child, parent = edges["i"].to_numpy(), edges["j"].to_numpy()
    scored = folds[child] == folds[parent]
    child, parent = child[scored], parent[scored]
    x = direction_features(probes, parent, child, traits, total=total)
    proba = np.full(len(child), np.nan)
    for fold in np.unique(folds[child]):
        test = folds[child] == fold
        train = ~test
        if train.sum() < 2:
            continue
        proba[test] = fit_direction(x[train], components[child[train]]).predict_proba(x[test])[:, 1]
    report: dict = {"edges": int(len(child)), "relations": list(DIRECTED)}
    done = ~np.isnan(proba)
    # An undecided answer (exactly 0.5: no signal out of fold, or identical models) counts half, as ties do below.
    report["accuracy_model"] = float(np.mean(_credit(proba[done], 0.5))) if done.any() else float("nan")
    # Calibration of P(parent), each edge asked both ways round (the answers are symmetric, so is the error).
    both = np.concatenate([proba[done], 1.0 - proba[done]])
    report["ece_model"] = (expected_calibration_error(np.repeat([1, 0], done.sum()), both) if done.any()
                           else float("nan"))
    report["edges_model"] = int(done.sum())
    release = _lineage_baseline(released_first, lineage, probes.ids, child, parent)
    centre = _centre_baseline(probes, lineage, child, parent)
    for name, guess in (("family_centre", centre), ("earlier_release", release),
                        ("release_else_centre", np.where(np.isnan(release), centre, release))):
        known = ~np.isnan(guess)
        report[f"accuracy_{name}"] = float(np.mean(guess[known])) if known.any() else float("nan")
        report[f"coverage_{name}"] = float(known.mean()) if len(known) else 0.0
    # With a lineage that dates the two models: the release order where known, the model elsewhere.
    report["accuracy_release_else_model"] = _else_model(release, proba)
    # What a lineage says outright (a documented base model is nobody's child), then the release order, then the model.
    base = _lineage_baseline(only_base, lineage, probes.ids, child, parent)
    known = ~np.isnan(base)
    report["accuracy_documented_base"] = float(np.mean(base[known])) if known.any() else float("nan")
    report["coverage_documented_base"] = float(known.mean()) if len(known) else 0.0
    lineage_says = np.where(np.isnan(base), release, base)
    report["accuracy_lineage_else_model"] = _else_model(lineage_says, proba)
    report["coverage_lineage"] = float(np.mean(~np.isnan(lineage_says))) if len(lineage_says) else 0.0
    for t, name in enumerate(DIRECTION_FEATURES):  # each feature alone: the parent has the larger value (ties half)
        report[f"accuracy_larger_{name}"] = float(np.mean(_credit(x[:, t], 0.0))) if len(x) else float("nan")
    if len(child):
        y = np.concatenate([np.ones(len(child)), np.zeros(len(child))])
        both = np.concatenate([proba, 1 - proba])
        report["auc_model"] = float(roc_auc_score(y[np.isfinite(both)], both[np.isfinite(both)])) if done.any() else float("nan")
    # None, not NaN, where nothing could be measured: the report goes into JSON (model cards) as it is.
    return {key: None if isinstance(value, float) and np.isnan(value) else value for key, value in report.items()}
