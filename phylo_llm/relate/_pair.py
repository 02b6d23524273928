"""One pair of models: the relation model's probabilities and the evidence behind them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..distance import probe_distances
from ..errors import PhyloLLMError
from ..ids import require_model
from ..lineage import Lineage
from ..probes import ProbeEmbeddings
from ._direction import direction_features, only_base, released_first
from ._features import FEATURES, neighbour_ranks, pair_features
from ._labels import CLASSES
from ._model import RelationModel

#: P(A is the parent) closer to 0.5 than this names no parent.
UNDECIDED = 0.05


def _row(model: str, probes: ProbeEmbeddings) -> int:
    return require_model(model, probes.ids, str(probes.source))


def contributions(model: RelationModel, features: np.ndarray, against: int = 0) -> np.ndarray:
    """Per feature, its share of the log-odds of each class against class ``against``, averaged over members.

    ``(classes, features)``: standardised feature value times the difference of
    the two classes' coefficients (multinomial logistic members); positive
    values push the pair towards the class.

    Examples
    --------
    >>> import numpy as np
    >>> from phylo_llm.relate import FEATURES, load_relation_model, pair_features
    >>> from phylo_llm.simulate import simulate
    >>> probes = simulate(seed=0).probes(8)
    >>> features = pair_features(probes, np.array([0]), np.array([1]))
    >>> contributions(load_relation_model("default"), features).shape == (3, len(FEATURES))
    True
    """
    x = np.asarray(features, dtype=np.float64).reshape(-1)
    total = np.zeros((len(CLASSES), len(x)))
    for member in model.members:
        z = (x - np.asarray(member["mean"])) / np.asarray(member["scale"])
        coef = np.asarray(member["coef"])
        classes = member["classes"]
        if len(classes) == 2:  # binary: one row, the second class against the first
            rows = {classes[1]: coef[0], classes[0]: np.zeros_like(coef[0])}
        else:
            rows = dict(zip(classes, coef))
        base = rows.get(against, np.zeros(len(x)))
        for c, w in rows.items():
            total[c] += (w - base) * z
    return total / len(model.members)


def relate_pair(model: RelationModel, probes: ProbeEmbeddings, a: str, b: str) -> dict:
    """Probabilities that ``a`` and ``b`` are unrelated, copies, or one derived from the other, with evidence.

    Evidence: the distance and its percentile among all pairs of ``probes``,
    each model's rank in the other's neighbour list, the median per-probe
    distance and share of near-identical answers, and the three features that
    pushed most towards (or away from) the likelier relation. ``direction``
    (when the model has a direction model): P(a is the parent of b) and the
    likelier parent, with the model's cross-validated direction accuracy.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import train_relation_model
    >>> probes = simulate(seed=0).probes(8)
    >>> model = train_relation_model(probes, pl.load_lineage("data/demo"), n_folds=0)
    >>> out = relate_pair(model, probes, probes.ids[0], probes.ids[1])
    >>> sorted(out["probabilities"]) == sorted(("unrelated", "same_weights", "derived"))
    True
    """
    ra, rb = _row(a, probes), _row(b, probes)
    if ra == rb:
        raise PhyloLLMError(f"{probes.source}: {a!r} and {b!r} are one model; give two")
    model.check_settings(probes)
    total = probe_distances(probes, "euclidean")  # once, for the features, the evidence and the direction
    x = pair_features(probes, np.array([ra]), np.array([rb]), total=total)[0]
    proba = model.predict_proba(x[None, :])[0]
    dist = total.values
    upper = dist[np.triu_indices(len(dist), 1)]
    ranks = neighbour_ranks(dist)
    likelier = 1 + int(np.argmax(proba[1:]))
    push = contributions(model, x)[likelier]
    order = np.argsort(-np.abs(push), kind="stable")[:3]
    direction = None
    if model.direction is not None:  # which one is the parent, if they are related (the model's own estimate)
        a_parent = float(model.parent_probability(direction_features(probes, np.array([ra]), np.array([rb]), total=total))[0])
        # Within 0.05 of even (identical models give exactly 0.5) no parent is named.
        parent = None if abs(a_parent - 0.5) < UNDECIDED else probes.ids[ra] if a_parent > 0.5 else probes.ids[rb]
        direction = {"p_a_is_parent": a_parent, "parent": parent,
                     "accuracy_cv": model.card.get("direction", {}).get("accuracy_model")}
    return {
        "a": probes.ids[ra], "b": probes.ids[rb],
        "probabilities": {name: float(p) for name, p in zip(CLASSES, proba)},
        "evidence": {
            "distance": float(dist[ra, rb]),
            "distance_percentile": float(100.0 * np.mean(upper <= dist[ra, rb])),
            "rank_of_b_from_a": int(ranks[ra, rb]), "rank_of_a_from_b": int(ranks[rb, ra]),
            "median_probe_distance": float(x[FEATURES.index("probe_q50")]),
            "same_answer_share": float(x[FEATURES.index("same_answer_share")]),
            "models": probes.n_models,
        },
        "direction": direction,
        "drivers": {"relation": CLASSES[likelier], "against": CLASSES[0],
                    "features": [{"feature": FEATURES[k], "value": float(x[k]), "log_odds": float(push[k])} for k in order]},
    }


def lineage_facts(lineage: Lineage, a: str, b: str, ids: Sequence[str] | None = None) -> dict:
    """What a lineage documents about the pair: direct edges, shared ancestry, and which one is the parent.

    ``edges``: the documented relations between the two (``"b finetune of
    a"``); ``kin``: a shared documented ancestor or family; ``parent`` and
    ``parent_from``: the parent by a directed edge, else by the documented
    base model (``is_base``: only one of the two pretrained from scratch), else
    the earlier ``release`` (``None`` where the lineage cannot say); ``models``:
    family, is_base and release of each, where documented. ``ids``: all
    models of the input (an id differing from another only by case is then
    its own model, as everywhere else; default: the two).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> facts = lineage_facts(pl.load_lineage("data/demo"), "meta-llama/Llama-1-7B", "meta-llama/Llama-1-7B-Instruct")
    >>> facts["parent"], facts["parent_from"]
    ('meta-llama/Llama-1-7B', 'documented edge')
    """
    view = lineage.among(list(ids) if ids is not None else [a, b])
    found = {m: view.resolve(m) for m in (a, b)}
    edges, parent, source = [], None, None
    for child, other in ((a, b), (b, a)):
        rows = view.parents(child) if found[child] else None
        if rows is None or not found[other]:
            continue
        for relation in rows.loc[rows["parent"] == found[other], "relation"]:
            edges.append(f"{child} {relation} of {other}")
            if relation != "same_weights":
                parent, source = other, "documented edge"
    info = {m: view.info(m) for m in (a, b)}
    models = {m: {k: str(info[m][k]).strip() for k in ("family", "is_base", "release") if k in info[m]} for m in (a, b)}
    if parent is None and not edges:  # the direction baselines' rules (relate._direction), on this one pair
        for rule, name in ((only_base, "documented base model"), (released_first, "earlier release")):
            says = rule(info[a], info[b])
            if not np.isnan(says):
                parent, source = (a if says else b), name
                break
    ancestors: dict[str, set[str]] = {m: set(view.ancestors(m)) | {str(found[m])} if found[m] else set() for m in (a, b)}
    families = {view.family(m) for m in (a, b)}  # pseudo-families ("(unknown)") are none, as in pair_labels
    kin = bool(ancestors[a] & ancestors[b]) or (len(families) == 1 and None not in families)
    return {"edges": edges, "kin": kin, "parent": parent, "parent_from": source, "models": models}
