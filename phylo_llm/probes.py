"""Per-probe answer embeddings: the "alignment columns" behind a DNA.

A DNA vector is a random projection of a model's concatenated answer
embeddings, one block per probe. Keeping the blocks apart (a
:class:`ProbeEmbeddings`, written by ``phylo-llm extract --cache``) lets the
probes be resampled (bootstrap support), distances be computed between new
and known models (placement), and DNA be re-made with other settings, without
embedding a single answer again.

Each block is the answer's unit-norm embedding reduced to ``probe_dim``
dimensions by its own Gaussian projection, so squared Euclidean distances
between concatenations are preserved in expectation; summed over P probes with
independent projections the distortion shrinks as ``sqrt(2 / (probe_dim * P))``
(about 1.3% for 128 dimensions and 100 probes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ._deprecation import moved_names
from ._display import html_summary, preview_ids, settings_text
from .errors import PhyloLLMError
from .ids import check_unique, positions


@dataclass(frozen=True)
class ProbeEmbeddings:
    """Answer embeddings of ``n`` models on ``P`` probes, ``k`` dimensions each.

    Attributes
    ----------
    ids : tuple of str
        Model ids in row order, unique.
    values : numpy.ndarray
        ``(n, P, k)`` float16 or float32, possibly a read-only memory map.
    settings : dict
        How the embeddings were made (:data:`phylo_llm.settings.PROBE_SETTINGS`).
    source : str
        Where they came from, for messages.

    Examples
    --------
    >>> import numpy as np
    >>> probes = ProbeEmbeddings(["org/a", "org/b"], np.zeros((2, 3, 4), dtype=np.float32), {"probe_dim": 4})
    >>> probes.n_models, probes.n_probes, probes.concatenated().shape
    (2, 3, (2, 12))
    >>> probes
    ProbeEmbeddings(2 models x 3 probes x 4 dimensions, float32, source='<memory>')
    """

    ids: tuple[str, ...]
    values: np.ndarray
    settings: dict = field(default_factory=dict)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.ids)
        object.__setattr__(self, "ids", ids)
        if self.values.ndim != 3 or self.values.shape[0] != len(ids):
            raise PhyloLLMError(f"{self.source}: expected (models, probes, dimensions) for {len(ids)} models, got shape {self.values.shape}")
        check_unique(ids, self.source)

    @property
    def n_models(self) -> int:
        return len(self.ids)

    @property
    def n_probes(self) -> int:
        return int(self.values.shape[1])

    def __repr__(self) -> str:
        n, p, k = self.values.shape
        return f"ProbeEmbeddings({n:,} models x {p:,} probes x {k:,} dimensions, {self.values.dtype}, source={self.source!r})"

    def _repr_html_(self) -> str:
        n, p, k = self.values.shape
        rows: list[tuple[str, object]] = [("models", f"{n:,}"), ("probes", f"{p:,}"), ("dimensions per probe", f"{k:,}"),
                                          ("dtype", str(self.values.dtype)), ("source", self.source)]
        described = settings_text(self.settings, ("probe_set", "encoder", "answer_dim", "extraction_seed", "max_chars"))
        if described:
            rows.append(("settings", described))
        rows.append(("ids", preview_ids(self.ids)))
        return html_summary("ProbeEmbeddings", rows)

    def subset(self, ids: Iterable[str]) -> ProbeEmbeddings:
        """The embeddings of the given models, in the given order (read into memory)."""
        rows = positions(self.ids, ids, self.source, "probe cache")
        return ProbeEmbeddings(tuple(ids), np.asarray(self.values[rows]), dict(self.settings), self.source)

    def concatenated(self, weights: np.ndarray | None = None) -> np.ndarray:
        """``(n, P' k)`` float64: each probe block scaled by ``sqrt(weight)``; probes of weight 0 left out.

        Squared Euclidean distances (and dot products) between rows are then
        the ``weights``-weighted sums of the per-probe ones: a bootstrap
        replicate that drew a probe ``c`` times counts it ``c`` times.
        """
        if weights is None:
            return np.asarray(self.values, dtype=np.float64).reshape(self.n_models, -1)
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (self.n_probes,) or (weights < 0).any():
            raise PhyloLLMError(f"probe weights must be {self.n_probes} non-negative numbers")
        used = np.flatnonzero(weights)
        blocks = np.asarray(self.values[:, used, :], dtype=np.float64)
        blocks *= np.sqrt(weights[used])[None, :, None]
        return blocks.reshape(self.n_models, -1)


__getattr__ = moved_names(__name__, {
    "PROBE_SETTINGS": "phylo_llm.settings:PROBE_SETTINGS",
    "check_comparable": "phylo_llm.settings:check_comparable",
})
