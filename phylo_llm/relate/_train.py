"""Training a relation model on a per-probe cache and a lineage, with its card (what it was trained on, how well)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import PhyloLLMError
from ..lineage import LineageLike, as_lineage
from ..probes import ProbeEmbeddings
from ._direction import directed_edges, direction_features, evaluate_direction, fit_direction
from ._evaluate import check_documented, evaluate_relations
from ._features import pair_features, pair_index
from ._labels import AMBIGUOUS, CLASSES, DERIVED, lineage_components, model_folds, pair_labels
from ._model import MIN_CLASS_PAIRS, NEGATIVES_PER_POSITIVE, RelationModel


def ids_digest(ids: Iterable[str]) -> str:
    """SHA-256 of the sorted model ids, one per line: names the training models without listing them.

    Examples
    --------
    >>> ids_digest(["b", "a"]) == ids_digest(["a", "b"])
    True
    """
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def train_relation_model(probes: ProbeEmbeddings, lineage: LineageLike, lineage_name: str = "builtin", n_folds: int = 5,
                         seed: int = 0, features: np.ndarray | None = None, progress: bool = False) -> RelationModel:
    """A :class:`RelationModel` fitted on every labelled pair, its card holding model-disjoint CV numbers.

    Labels (:func:`pair_labels`): documented direct edges are ``same_weights``
    or ``derived`` (:data:`DERIVED`); pairs in different components of the
    documented graph and not of one documented family are ``unrelated``; kin
    that is not a direct edge (shared ancestors, one family) is left out. ``n_folds = 0`` skips the cross-validation (the card then has none).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> model = train_relation_model(simulate(seed=0).probes(8), pl.load_lineage("data/demo"), "data/demo", n_folds=3)
    >>> model.card["training"]["pairs"]["same_weights"] > 0, model.card["cross_validation"]["folds"]
    (True, 3)
    """
    lineage = as_lineage(lineage)
    i, j = pair_index(probes.n_models)
    labels = pair_labels(lineage, probes.ids, i, j)
    check_documented(labels, probes.source)
    unrelated = int(np.sum(labels == 0))
    if unrelated < MIN_CLASS_PAIRS:  # a model that never says "unrelated" would be silently wrong
        raise PhyloLLMError(f"{probes.source}: the lineage leaves {unrelated} unrelated pairs among these models (pairs "
                            "of different documented families, not joined by documented edges); training needs at least 2")
    features = pair_features(probes, progress=progress) if features is None else features
    report = (evaluate_relations(probes, lineage, n_folds, seed, features=features, progress=progress)
              if n_folds else None)
    card = {
        "training": {
            "input": Path(str(probes.source)).name, "models": probes.n_models, "ids_sha256": ids_digest(probes.ids),
            "lineage": lineage_name, "documented_edges": len(lineage.relations),
            "pairs": {name: int(np.sum(labels == k)) for k, name in enumerate(CLASSES)}
            | {"kin_not_used": int(np.sum(labels == AMBIGUOUS))},
            "unrelated_means": UNRELATED_MEANS, "derived_relations": list(DERIVED),
            # A class documented by too few pairs cannot be calibrated: left out by fit_calibrated, its probability 0.
            "classes_left_out": [name for k, name in enumerate(CLASSES) if k and 0 < np.sum(labels == k) < MIN_CLASS_PAIRS],
            "negatives_per_positive": NEGATIVES_PER_POSITIVE, "seed": seed,
            "phylo_llm_version": __version__,
        },
        "cross_validation": report,
        "notes": ("Ranks and the CSLS correction are computed among the models of the input the model is applied to; "
                  "far fewer or far more models than in training shift them. Cross-validation folds are unions of "
                  "lineage components: no model and none of its documented relatives on both sides."),
    }
    model = RelationModel.fit(features, labels, i, probes, seed, card)
    edges = directed_edges(lineage, probes.ids)
    if len(edges) >= MIN_DIRECTED:  # which of a related pair is the parent: fitted on every documented directed edge
        parent, child = edges["j"].to_numpy(), edges["i"].to_numpy()
        groups = lineage_components(lineage, probes.ids)[child]
        model.direction = [float(c) for c in fit_direction(direction_features(probes, parent, child), groups).coef_[0]]
        if n_folds:
            folds = model_folds(lineage_components(lineage, probes.ids), n_folds, seed)
            model.card["direction"] = evaluate_direction(probes, lineage, folds)
    return model


#: What the negative class is, written into every card (models trained before it was there counted one family's
#: undocumented pairs as unrelated).
UNRELATED_MEANS = "different components of the documented lineage graph and not one documented family"

#: Documented directed edges (finetune, continued pretraining, distillation, pruning) needed to fit the direction model.
MIN_DIRECTED = 10
