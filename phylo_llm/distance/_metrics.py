"""The one parser of metric names: ``euclidean``, ``cosine+csls``, ...

A metric is a base distance between vectors, optionally followed by
``+csls``, the hubness correction (:func:`phylo_llm.distance.csls`). Which
bases a caller accepts depends on what it has: any of :data:`METRICS` for
DNA vectors, only :data:`GRAM_METRICS` for per-probe embeddings (they need
dot products alone), no ``+csls`` for placement. No NumPy here: the command
line reads these names before loading anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PhyloLLMError

#: Metric names, mapped to SciPy's names.
METRICS: dict[str, str] = {
    "euclidean": "euclidean",
    "cosine": "cosine",
    "sqeuclidean": "sqeuclidean",
    "manhattan": "cityblock",
    "correlation": "correlation",
}

#: Metrics computable from dot products alone, hence from weighted per-probe embeddings.
GRAM_METRICS: tuple[str, ...] = ("euclidean", "sqeuclidean", "cosine")

#: Every accepted name: each metric, also with the ``+csls`` hubness correction.
METRIC_CHOICES: tuple[str, ...] = (*METRICS, *(f"{m}+csls" for m in METRICS))

#: Names accepted for per-probe embeddings.
PROBE_METRIC_CHOICES: tuple[str, ...] = (*GRAM_METRICS, *(f"{m}+csls" for m in GRAM_METRICS))

CSLS_SUFFIX = "+csls"


@dataclass(frozen=True)
class Metric:
    """A parsed metric: the base distance and whether the hubness correction follows.

    Examples
    --------
    >>> parse_metric("cosine+csls")
    Metric(base='cosine', csls=True)
    >>> parse_metric("cosine+csls").name
    'cosine+csls'
    """

    base: str
    csls: bool = False

    @property
    def name(self) -> str:
        return self.base + (CSLS_SUFFIX if self.csls else "")

    @property
    def scipy_name(self) -> str:
        return METRICS[self.base]

    @property
    def from_dot_products(self) -> bool:
        """True when the base metric needs only dot products (:data:`GRAM_METRICS`)."""
        return self.base in GRAM_METRICS


def parse_metric(text: str | Metric, *, dot_products_only: bool = False, csls: bool = True, what: str = "metric") -> Metric:
    """Parse a metric name, refusing what the caller cannot compute.

    Parameters
    ----------
    text : str or Metric
        ``"euclidean"``, ``"cosine+csls"``, ...
    dot_products_only : bool
        Accept only :data:`GRAM_METRICS` (per-probe embeddings).
    csls : bool
        Accept the ``+csls`` suffix.
    what : str
        How the metric is called in the error message.

    Raises
    ------
    PhyloLLMError
        One line listing the names that would be accepted.

    Examples
    --------
    >>> parse_metric("manhattan", dot_products_only=True)
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: metric 'manhattan' cannot be used here; choose one of euclidean, sqeuclidean, cosine, euclidean+csls, sqeuclidean+csls, cosine+csls
    """
    if isinstance(text, Metric):
        text = text.name
    base, plus, modifier = str(text).partition("+")
    bases = GRAM_METRICS if dot_products_only else tuple(METRICS)
    ok = base in bases and (not plus or (modifier == "csls" and csls))
    if not ok:
        allowed = [*bases, *((f"{b}{CSLS_SUFFIX}" for b in bases) if csls else ())]
        if base in METRICS and (not plus or modifier == "csls"):
            raise PhyloLLMError(f"{what} {text!r} cannot be used here; choose one of {', '.join(allowed)}")
        raise PhyloLLMError(f"unknown {what} {text!r}; choose one of {', '.join(allowed)}")
    return Metric(base, bool(plus))
