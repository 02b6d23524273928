"""The relation model: calibrated probabilities that a pair is a copy, derived, or unrelated; saved as plain JSON.

A model is a small ensemble of standardised multinomial logistic regressions,
each with one Platt sigmoid per class (scikit-learn's
``CalibratedClassifierCV(method="sigmoid")`` over grouped folds). Everything it
needs to predict is a few arrays of numbers, so the file is plain JSON: loading
it runs no code from the file (no pickle), and its format is versioned.
"""

from __future__ import annotations

import json
import lzma
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._version import __version__
from ..errors import PhyloLLMError
from ..io import atomic_output, existing, open_text
from ..probes import ProbeEmbeddings
from ..settings import PROBE_SETTINGS, remedy, settings_of
from ._direction import DIRECTION_FEATURES
from ._features import FEATURES
from ._labels import CLASSES

#: What a relation model file says it is (its ``format`` key).
FORMAT = "phylo-llm relation model"
#: Version of the file layout; a file of another version is refused, saying which.
FORMAT_VERSION = 1
#: Unrelated training pairs kept per documented pair (the rest are represented by weights).
NEGATIVES_PER_POSITIVE = 200
#: Folds of the Platt calibration, grouped so that the pairs of one model stay together.
CALIBRATION_FOLDS = 3
#: One classifier fitted on all pairs, its scores calibrated out of fold (scikit-learn ``ensemble=False``): with few
#: documented pairs, per-fold calibrators fitted on two or three positives turned over (P(related) 1/3 for all pairs).
ENSEMBLE = False
#: Pairs a class needs to be calibrated out of fold (fewer: the class is left out of the model).
MIN_CLASS_PAIRS = 2
#: A model file larger than this is not one (checked before reading).
MAX_FILE_BYTES = 64 * 2**20


#: Inverse L2 strength of the logistic model. Measured model-disjoint (benchmarks/README.md): on the rand set (384
#: documented pairs) C from 0.001 to 1 changes no AUC by more than 0.003; on the paper set (39) C = 0.01 lifts the
#: derived AUC from 0.63 (C = 1) to 0.74: few documented pairs want the stronger prior. Choosing C by an inner
#: grouped CV was measured too and was noisier (0.62 on the paper set).
REGULARISATION = 0.01


def calibration_splits(y: np.ndarray, groups: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """:data:`CALIBRATION_FOLDS` folds for calibrating on out-of-fold scores: one model's pairs in one fold
    (stratified by class, so each class is spread over the folds), or, where a class cannot then reach every
    training part (its pairs share a model), stratified without groups. Every class needs at least 2 pairs.
    """
    classes, counts = np.unique(y, return_counts=True)
    folds = min(CALIBRATION_FOLDS, int(counts.min()))
    x = np.zeros((len(y), 1))
    if len(np.unique(groups)) >= folds:  # e.g. every documented pair shares one model: no grouping possible
        splits = list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y, groups))
        if all(len(np.unique(y[train])) == len(classes) for train, _ in splits):
            return splits
    return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y))


def fit_calibrated(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int = 0,
                   estimator: str = "logistic") -> CalibratedClassifierCV:
    """A scikit-learn classifier on pair features, negatives subsampled and re-weighted, calibrated (Platt).

    ``y`` holds class numbers (:data:`CLASSES`); ``groups`` keeps pairs of one
    model in one calibration fold. ``estimator`` is ``"logistic"`` (the shipped
    kind) or ``"boosting"`` (compared in the benchmark).
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or counts[classes == 0].sum() < 2:
        raise PhyloLLMError("relation model: training needs at least 2 unrelated pairs and documented ones")
    # A class with a single pair cannot be calibrated out of fold: it is left out (its probability is 0).
    usable = np.isin(y, classes[counts >= MIN_CLASS_PAIRS])
    x, y, groups = x[usable], y[usable], groups[usable]
    if len(np.unique(y)) < 2:
        raise PhyloLLMError("relation model: no documented class has the 2 pairs calibration needs")
    positive = np.flatnonzero(y > 0)
    negative = np.flatnonzero(y == 0)
    keep = min(len(negative), NEGATIVES_PER_POSITIVE * max(len(positive), 1))
    chosen = np.sort(np.concatenate([positive, rng.choice(negative, keep, replace=False)]))
    weight = np.where(y[chosen] == 0, len(negative) / max(keep, 1), 1.0)
    splits = calibration_splits(y[chosen], groups[chosen], seed)
    if estimator == "boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier  # only the benchmark's comparison uses it

        base = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
        model = CalibratedClassifierCV(base, method="sigmoid", cv=splits, ensemble=ENSEMBLE)
        return model.fit(x[chosen], y[chosen], sample_weight=weight)
    # Logistic: monotone in each feature, so far pairs keep their order (trees flatten them into ties);
    # sigmoid calibration is monotone too (isotonic ties the ranking).
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=REGULARISATION, max_iter=2000))
    model = CalibratedClassifierCV(pipeline, method="sigmoid", cv=splits, ensemble=ENSEMBLE)
    return model.fit(x[chosen], y[chosen], logisticregression__sample_weight=weight)


@dataclass
class RelationModel:
    """Calibrated P(unrelated), P(same_weights), P(derived) of a pair from its :data:`FEATURES`.

    Attributes
    ----------
    members : list of dict
        One per calibrated classifier: ``classes`` (class numbers it knows),
        ``mean``/``scale`` (standardisation), ``coef`` (rows: decision
        functions), ``intercept``, and Platt ``a``/``b`` per decision function.
    settings : dict
        Extraction settings of the per-probe cache it was trained on
        (:data:`phylo_llm.settings.PROBE_SETTINGS`); other settings are refused.
    card : dict
        Training data, counts and cross-validated numbers.
    direction : list of float, optional
        Coefficients of the direction model (:func:`phylo_llm.relate.fit_direction`) on
        :data:`~phylo_llm.relate.DIRECTION_FEATURES`: P(a is the parent of b) = sigmoid(coef . features(a, b)).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.simulate import simulate
    >>> from phylo_llm.relate import pair_features, pair_index, pair_labels
    >>> probes = simulate(seed=0).probes(8)
    >>> lineage = pl.load_lineage("data/demo")
    >>> i, j = pair_index(probes.n_models)
    >>> model = RelationModel.fit(pair_features(probes), pair_labels(lineage, probes.ids, i, j), i, probes)
    >>> p = model.predict_proba(pair_features(probes)[:3])
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
    ((3, 3), True)
    """

    members: list[dict]
    settings: dict[str, list[str]]
    card: dict = field(default_factory=dict)
    direction: list[float] | None = None
    features: tuple[str, ...] = FEATURES
    classes: tuple[str, ...] = CLASSES
    #: Where the model came from (its file), for messages.
    source: str = field(default="relation model", compare=False)

    def __repr__(self) -> str:  # one line in a notebook, not every coefficient and the whole card
        trained = self.card.get("training", {}).get("models")
        return (f"RelationModel(classes={', '.join(self.classes)}; {len(self.features)} features"
                + (f"; trained on {trained:,} models" if trained else "")
                + f"; direction: {'yes' if self.direction else 'no'}; source={self.source!r})")

    def parent_probability(self, direction_features: np.ndarray) -> np.ndarray:
        """P(a is the parent of b) per row of ``direction_features(probes, a, b)``; antisymmetric: P(b, a) = 1 - P(a, b)."""
        if self.direction is None:
            raise PhyloLLMError(f"{self.source}: the relation model has no direction model (trained without directed edges)")
        with np.errstate(over="ignore", invalid="ignore"):
            score = np.asarray(direction_features, dtype=np.float64) @ np.asarray(self.direction)
        if not np.isfinite(score).all():  # a hand-made file's numbers overflow: no silent 0 or 1
            raise PhyloLLMError(f"{self.source}: the direction model's numbers give non-finite scores for these models")
        return expit(score)

    @classmethod
    def from_sklearn(cls, fitted: CalibratedClassifierCV, settings: dict, card: dict | None = None) -> RelationModel:
        """The numbers of a fitted logistic ``CalibratedClassifierCV`` (from :func:`fit_calibrated`)."""
        members = []
        for calibrated in fitted.calibrated_classifiers_:
            scaler, logistic = calibrated.estimator.named_steps.values()
            coef, intercept = np.atleast_2d(logistic.coef_), np.atleast_1d(logistic.intercept_)
            members.append({
                "classes": [int(c) for c in logistic.classes_],
                "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(),
                "coef": coef.tolist(), "intercept": intercept.tolist(),
                "a": [float(c.a_) for c in calibrated.calibrators], "b": [float(c.b_) for c in calibrated.calibrators],
            })
        return cls(members, {k: list(v) for k, v in settings.items()}, dict(card or {}))

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, groups: np.ndarray, probes: ProbeEmbeddings | None,
            seed: int = 0, card: dict | None = None) -> RelationModel:
        """Fit on the pairs whose label is a class (kin pairs, label < 0, are left out).

        ``groups`` (e.g. the first model's row of each pair) keeps the pairs of
        one model in one calibration fold; ``probes`` gives the settings (none
        recorded when ``None``: inside cross-validation).
        """
        known = labels >= 0
        fitted = fit_calibrated(features[known], labels[known], groups[known], seed)
        return cls.from_sklearn(fitted, settings_of(probes) if probes is not None else {}, card)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``(n, 3)`` probabilities, columns in :data:`CLASSES` order, rows summing to 1."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise PhyloLLMError(f"{self.source}: features of shape {x.shape}, expected (n, {len(self.features)})")
        total = np.zeros((len(x), len(self.classes)))
        with np.errstate(over="ignore", invalid="ignore"):  # overflow saturates the sigmoid; NaN is refused below
            for member in self.members:
                total += self._member_proba(member, x)
        total /= len(self.members)
        if not np.isfinite(total).all():  # extreme coefficients in a hand-made file: never a silent NaN
            raise PhyloLLMError(f"{self.source}: the relation model's numbers give non-finite probabilities for these features")
        return total

    def _member_proba(self, member: dict, x: np.ndarray) -> np.ndarray:
        """One calibrated classifier: one-vs-rest Platt sigmoids of the decision functions, normalised."""
        z = (x - np.asarray(member["mean"])) / np.asarray(member["scale"])
        decision = z @ np.asarray(member["coef"]).T + np.asarray(member["intercept"])
        platt = decision * np.asarray(member["a"]) + np.asarray(member["b"])
        if not np.isfinite(platt).all():  # a hand-made file's numbers overflow: no silent 0, 1 or 1/3
            raise PhyloLLMError(f"{self.source}: the relation model's numbers give non-finite decision values for these features")
        calibrated = expit(-platt)
        proba = np.zeros((len(x), len(self.classes)))
        classes = member["classes"]
        if len(classes) == 2:  # one decision function, for the second class
            proba[:, classes[1]] = calibrated[:, 0]
            proba[:, classes[0]] = 1.0 - calibrated[:, 0]
            return proba
        proba[:, classes] = calibrated
        sums = proba.sum(axis=1, keepdims=True)
        return np.divide(proba, sums, out=np.full_like(proba, 1.0 / len(classes)), where=sums != 0)

    def check_settings(self, probes: ProbeEmbeddings) -> None:
        """Refuse per-probe embeddings made otherwise than the training data, naming the setting."""
        theirs = settings_of(probes)
        trained = {key: tuple(self.settings.get(key, ())) for key in PROBE_SETTINGS}
        for key in PROBE_SETTINGS:
            want, got = trained[key], theirs.get(key, ())
            if want != got:
                how = remedy(key, theirs, trained, "extract with the model's settings or train one")
                raise PhyloLLMError(
                    f"{probes.source}: made with {key}={', '.join(got) or '(unknown)'}, but the relation model was "
                    f"trained on {key}={', '.join(want) or '(unknown)'}: {how}")

    def to_dict(self) -> dict:
        """The file's content (see :meth:`save`)."""
        content = {"format": FORMAT, "format_version": FORMAT_VERSION, "phylo_llm_version": __version__,
                   "features": list(self.features), "classes": list(self.classes), "settings": self.settings,
                   "members": self.members, "card": self.card}
        if self.direction is not None:
            content["direction"] = {"features": list(DIRECTION_FEATURES), "coef": self.direction}
        return content

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (atomically: the file appears whole or not at all)."""
        with atomic_output(path) as handle:
            handle.write(json.dumps(self.to_dict(), indent=1, sort_keys=True, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> RelationModel:
        """Read a model written by :meth:`save`; anything else is refused with one line naming the file.

        Refused: a file that is not JSON or not a relation model, another
        format version, features or classes this version does not compute.
        """
        path = existing(path)
        if path.is_dir():
            raise PhyloLLMError(f"{path}: is a folder, not a relation model file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PhyloLLMError(f"{path}: {path.stat().st_size:,} bytes is too large for a relation model")
        try:  # a .gz/.bz2/.xz name is read decompressed (what `save` writes for it), at most MAX_FILE_BYTES of it
            with open_text(path) as handle:
                text = handle.read(MAX_FILE_BYTES + 1)
        except (UnicodeDecodeError, OSError, EOFError, lzma.LZMAError):
            raise PhyloLLMError(f"{path}: not a relation model (not JSON text)") from None
        if len(text) > MAX_FILE_BYTES:
            raise PhyloLLMError(f"{path}: more than {MAX_FILE_BYTES:,} characters is too large for a relation model")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise PhyloLLMError(f"{path}: not a relation model (not JSON text)") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: object, source: str = "relation model") -> RelationModel:
        """Validate and build from the content of a model file."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise PhyloLLMError(f"{source}: not a relation model (no 'format': '{FORMAT}')")
        if type(data.get("format_version")) is not type(FORMAT_VERSION) or data.get("format_version") != FORMAT_VERSION:
            raise PhyloLLMError(f"{source}: relation model format version {data.get('format_version')!r}; this "
                                f"phylo-llm ({__version__}) reads version {FORMAT_VERSION}: retrain it with `phylo-llm relate train`")
        if tuple(data.get("features", ())) != FEATURES or tuple(data.get("classes", ())) != CLASSES:
            raise PhyloLLMError(f"{source}: the model's features or classes differ from this phylo-llm's "
                                f"({', '.join(FEATURES)}): retrain it with `phylo-llm relate train`")
        settings, card, members = data.get("settings"), data.get("card", {}), data.get("members")
        if not isinstance(settings, dict) or not all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in settings.values()):
            raise PhyloLLMError(f"{source}: relation model without valid 'settings'")
        if not isinstance(members, list) or not members or len(members) > 100 or not isinstance(card, dict):
            raise PhyloLLMError(f"{source}: relation model without valid 'members'")
        for member in members:
            _check_member(member, source)
        _check_card(card, source)
        return cls(members, settings, card, _direction_of(data.get("direction"), source), source=source)


def _direction_of(value: object, source: str) -> list[float] | None:
    """The direction model's coefficients from a file's ``direction`` (optional), checked."""
    if value is None:
        return None
    ok = False
    if isinstance(value, dict) and tuple(value.get("features", ())) == DIRECTION_FEATURES:
        try:
            coef = np.asarray(value.get("coef"), dtype=np.float64)
            ok = coef.shape == (len(DIRECTION_FEATURES),) and bool(np.all(np.abs(coef) <= MAX_MAGNITUDE))
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise PhyloLLMError(f"{source}: relation model with a malformed 'direction' (features {', '.join(DIRECTION_FEATURES)} "
                            f"and one coefficient each, at most {MAX_MAGNITUDE:g} in size)")
    return [float(c) for c in coef]


def _check_card(card: dict, source: str) -> None:
    """The card is read back and printed: plain JSON without NaN, and its direction numbers numbers."""
    try:
        json.dumps(card, allow_nan=False)
    except ValueError:
        raise PhyloLLMError(f"{source}: relation model whose card holds non-finite numbers") from None
    direction = card.get("direction")
    if direction is None:
        return

    def plausible(key: str, value: object) -> bool:
        if value is None:
            return True
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return 0 <= value <= 1 if key.startswith(("accuracy_", "coverage_", "auc_")) else value >= 0

    if not isinstance(direction, dict) or not all(
            plausible(key, value) for key, value in direction.items()
            if key.startswith(("accuracy_", "coverage_", "auc_", "edges"))):
        raise PhyloLLMError(f"{source}: relation model whose card has a malformed 'direction' (shares between 0 and 1, "
                            "counts expected)")


#: Smallest feature scale a model file may hold (the features' real spreads are many orders of magnitude above).
MIN_SCALE = 1e-12
#: Largest number a model file may hold (trained models' numbers are below 100): beyond, the sigmoids saturate or
#: overflow and every pair would get 0, 1 or 1/3.
MAX_MAGNITUDE = 1e6


def _check_member(member: object, source: str) -> None:
    """Shapes and finiteness of one calibrated classifier's numbers."""
    def numbers(value: object, shape: tuple[int, ...]) -> bool:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        return array.shape == shape and bool(np.all(np.abs(array) <= MAX_MAGNITUDE))  # NaN fails too

    n = len(FEATURES)
    ok = False
    if isinstance(member, dict) and isinstance(member.get("classes"), list):
        classes = member["classes"]
        k = 1 if len(classes) == 2 else len(classes)
        ok = (2 <= len(classes) <= len(CLASSES) and len(set(map(str, classes))) == len(classes)
              and all(type(c) is int and 0 <= c < len(CLASSES) for c in classes)
              and 0 in classes  # without "unrelated" every pair would be called related
              and numbers(member.get("mean"), (n,)) and numbers(member.get("scale"), (n,))
              and numbers(member.get("coef"), (k, n)) and numbers(member.get("intercept"), (k,))
              and numbers(member.get("a"), (k,)) and numbers(member.get("b"), (k,))
              # StandardScaler's scales: a feature's spread, 1 for a constant one; far below that, z overflows
              and bool(np.all(np.asarray(member["scale"], dtype=np.float64) >= MIN_SCALE)))
    if not ok:
        raise PhyloLLMError(f"{source}: relation model with a malformed member (classes including 0, unrelated; mean, "
                            f"scale, coef, intercept, a, b: numbers at most {MAX_MAGNITUDE:g} in size)")


#: The model shipped in the package (trained on the rand set with the built-in lineage; its card says how).
DEFAULT_MODEL = Path(__file__).with_name("default_model.json")


def load_relation_model(path: str | Path = "default") -> RelationModel:
    """A relation model from ``path``, or the shipped one for ``"default"``.

    Examples
    --------
    >>> model = load_relation_model("default")
    >>> model.card["training"]["lineage"]
    'builtin'
    """
    if str(path) == "default":
        return RelationModel.load(DEFAULT_MODEL)
    return RelationModel.load(path)

