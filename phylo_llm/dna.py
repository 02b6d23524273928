"""The DNA of a set of models: ids, one vector per model, and what is known about each.

A :class:`DNA` is plain data. Readers in :mod:`phylo_llm.io` build it; everything
downstream (distances, trees, scores) reads it. Validation happens once, here.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._deprecation import moved_names
from ._display import html_summary, preview_ids
from .errors import PhyloLLMError, PhyloLLMWarning
from .ids import check_unique, positions


@dataclass(frozen=True)
class DNA:
    """DNA vectors of ``n`` models.

    Attributes
    ----------
    ids : tuple of str
        Model ids, unique, in row order.
    vectors : numpy.ndarray
        ``(n, d)`` float64 array, one DNA per row, all finite.
    metadata : pandas.DataFrame
        One row per model (index: the ids); extraction settings and anything
        else the source file carried.
    source : str
        Where the DNA came from, for messages.

    Examples
    --------
    >>> import numpy as np
    >>> dna = DNA(["org/a", "org/b"], np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> dna.n_models, dna.dim
    (2, 2)
    >>> dna
    DNA(2 models x 2 dimensions, source='<memory>')
    """

    ids: tuple[str, ...]
    vectors: np.ndarray
    metadata: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.ids)
        vectors = np.asarray(self.vectors, dtype=np.float64)
        validate_vectors(ids, vectors, self.source)  # first: an id that is not text must not reach pandas' index
        meta = self.metadata
        if meta is None or len(meta.columns) == 0:
            meta = pd.DataFrame(index=pd.Index(ids, name="model"))
        else:
            meta = meta.copy()
            meta.index = pd.Index(ids, name="model")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "metadata", meta)

    @property
    def n_models(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __repr__(self) -> str:
        return f"DNA({self.n_models:,} models x {self.dim:,} dimensions, source={self.source!r})"

    def _repr_html_(self) -> str:
        rows: list[tuple[str, object]] = [("models", f"{self.n_models:,}"), ("dimensions", f"{self.dim:,}"), ("source", self.source)]
        for column in ("probe_set", "probe_count", "encoder", "dna_dim", "extraction_seed"):
            if column in self.metadata.columns:
                values = self.metadata[column].dropna().astype(str).unique()
                if len(values):
                    rows.append((column, values[0] if len(values) == 1 else f"{len(values)} different values"))
        rows.append(("ids", preview_ids(self.ids)))
        return html_summary("DNA", rows)

    def subset(self, ids: Iterable[str]) -> DNA:
        """The DNA of the given models, in the given order."""
        rows = positions(self.ids, ids, self.source, "DNA")
        return DNA(tuple(ids), self.vectors[rows], self.metadata.iloc[rows], self.source)


def validate_vectors(ids: tuple[str, ...], vectors: np.ndarray, source: str) -> None:
    """Raise :class:`PhyloLLMError` for anything that cannot be a DNA matrix.

    Checks: at least one model, a 2-D matrix with one row per id and at least
    one dimension, unique ids, finite values.

    Examples
    --------
    >>> import numpy as np
    >>> validate_vectors(("a", "b"), np.zeros((2, 3)), "dna.csv")  # fine: nothing happens
    >>> validate_vectors(("a", "a"), np.zeros((2, 3)), "dna.csv")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: dna.csv: ...'a'...
    """
    if len(ids) == 0:
        raise PhyloLLMError(f"{source}: no models found")
    if vectors.ndim != 2 or vectors.shape[0] != len(ids):
        raise PhyloLLMError(
            f"{source}: expected one DNA vector per model ({len(ids)} models), got an array of shape {vectors.shape}"
        )
    if vectors.shape[1] == 0:
        raise PhyloLLMError(f"{source}: the DNA vectors have no dimensions")
    check_unique(ids, source)
    bad = ~np.isfinite(vectors)
    if bad.any():
        row, dim = map(int, np.argwhere(bad)[0])
        raise PhyloLLMError(
            f"{source}: model {ids[row]!r} (row {row + 1}) has a non-finite value {float(vectors[row, dim])!r} in dimension {dim}"
        )


def check_equal_lengths(lengths: np.ndarray, ids: Sequence[str], source: str) -> None:
    """Refuse ragged DNA: every model must have as many dimensions as the first.

    Examples
    --------
    >>> import numpy as np
    >>> check_equal_lengths(np.array([3, 3]), ("a", "b"), "dna.json")  # fine: nothing happens
    >>> check_equal_lengths(np.array([3, 2]), ("a", "b"), "dna.json")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: dna.json: ...'b'...
    """
    lengths = np.asarray(lengths)
    if len(lengths) and (lengths != lengths[0]).any():
        row = int(np.argmax(lengths != lengths[0]))
        raise PhyloLLMError(
            f"{source}: ragged DNA: model {ids[row]!r} (row {row + 1}) has {lengths[row]} dimensions, "
            f"model {ids[0]!r} has {lengths[0]}"
        )


def identical_groups(ids: tuple[str, ...], vectors: np.ndarray) -> list[list[str]]:
    """Groups of models whose DNA vectors are bit-for-bit identical (copies of the same weights).

    Examples
    --------
    >>> import numpy as np
    >>> identical_groups(("a", "b", "c"), np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]]))
    [['a', 'c']]
    """
    groups: dict[bytes, list[str]] = defaultdict(list)
    contiguous = np.ascontiguousarray(vectors)
    for model, row in zip(ids, contiguous):
        groups[row.tobytes()].append(model)
    return [g for g in groups.values() if len(g) > 1]


def warn_identical(dna: DNA) -> None:
    """One warning listing models whose DNA is identical (allowed: real copies of the same weights).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> dna = DNA(("a", "b", "c"), np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]]))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_identical(dna)
    >>> print(caught[0].message)
    <memory>: 1 group(s) of models have identical DNA: a = c
    """
    groups = identical_groups(dna.ids, dna.vectors)
    if groups:
        listed = "; ".join(" = ".join(g) for g in groups[:5])
        more = f" (and {len(groups) - 5} more groups)" if len(groups) > 5 else ""
        warnings.warn(
            f"{dna.source}: {len(groups)} group(s) of models have identical DNA: {listed}{more}",
            PhyloLLMWarning,
            stacklevel=2,
        )


__getattr__ = moved_names(__name__, {
    "SETTINGS_COLUMNS": "phylo_llm.settings:DNA_SETTINGS",
    "check_settings": "phylo_llm.settings:check_settings",
    "settings_groups": "phylo_llm.settings:settings_groups",
})
