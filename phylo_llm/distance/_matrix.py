"""A labelled matrix of distances between models, checked once when it is made."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import InitVar, dataclass

import numpy as np

from .._display import html_summary, preview_ids
from ..errors import PhyloLLMError
from ..ids import check_unique, positions

#: Rows checked at a time: bounds the temporaries of validation to ``BLOCK x n`` values.
BLOCK = 1024


@dataclass(frozen=True)
class DistanceMatrix:
    """A symmetric matrix of finite, non-negative distances with a zero diagonal.

    Attributes
    ----------
    ids : tuple of str
        Row and column labels, one model each (:func:`phylo_llm.ids.check_unique`).
    values : numpy.ndarray
        ``(n, n)`` float64, or float32 as given (large sets computed here are float32).
    metric : str
        How the distances were computed (``""`` when unknown, e.g. read from a file).
    source : str
        Where the data came from, for messages.
    symmetric : bool, init only
        The caller guarantees ``values`` is symmetric (it computed it so):
        the O(n^2) symmetry comparison is skipped. Finiteness, signs and the
        diagonal are checked whatever the caller says.

    Examples
    --------
    >>> import numpy as np
    >>> dm = DistanceMatrix(("a", "b"), np.array([[0.0, 1.5], [1.5, 0.0]]))
    >>> dm
    DistanceMatrix(2 models, metric=None, source='<memory>')
    >>> DistanceMatrix(("a", "b"), np.array([[0.0, np.nan], [np.nan, 0.0]]))
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: <memory>: distance between 'a' and 'b' (nan) is not finite
    """

    ids: tuple[str, ...]
    values: np.ndarray
    metric: str = ""
    source: str = "<memory>"
    symmetric: InitVar[bool] = False

    def __post_init__(self, symmetric: bool) -> None:
        ids = tuple(str(i) for i in self.ids)
        values = np.asarray(self.values)
        if values.dtype not in (np.float32, np.float64):
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                raise PhyloLLMError(f"{self.source}: distances are not numbers (dtype {values.dtype})") from None
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "values", values)
        validate_distances(ids, values, self.source, check_symmetry=not symmetric)

    def __repr__(self) -> str:
        return f"DistanceMatrix({self.n_models} models, metric={self.metric or None!r}, source={self.source!r})"

    def _repr_html_(self) -> str:
        """A summary and the top-left corner of the matrix (never the whole of it)."""
        k = min(self.n_models, 5)
        corner = self.values[:k, :k]
        head = "".join(f'<th title="{html.escape(i)}">{html.escape(_short(i))}</th>' for i in self.ids[:k])
        body = "".join(
            f'<tr><th style="text-align:left" title="{html.escape(i)}">{html.escape(_short(i))}</th>'
            + "".join(f"<td>{v:.4g}</td>" for v in row) + "</tr>"
            for i, row in zip(self.ids[:k], corner)
        )
        more = f"<p>first {k} of {self.n_models:,} rows and columns</p>" if self.n_models > k else ""
        table = f"<table><tr><th></th>{head}</tr>{body}</table>{more}"
        rows = [("models", f"{self.n_models:,}"), ("metric", self.metric or "unknown"), ("dtype", str(self.values.dtype)),
                ("source", self.source), ("ids", preview_ids(self.ids))]
        return html_summary("DistanceMatrix", rows, table)

    @property
    def n_models(self) -> int:
        return len(self.ids)

    def condensed(self) -> np.ndarray:
        """The upper triangle, row by row, as SciPy's condensed vector."""
        n = self.n_models
        out = np.empty(n * (n - 1) // 2, dtype=self.values.dtype)
        start = 0
        for i in range(n - 1):  # row slices: no index arrays of n^2 / 2 entries
            out[start : start + n - 1 - i] = self.values[i, i + 1 :]
            start += n - 1 - i
        return out

    def subset(self, ids: Iterable[str]) -> DistanceMatrix:
        """The distances between the given models, in the given order."""
        ids = tuple(ids)
        rows = positions(self.ids, ids, self.source, "distance matrix")
        return DistanceMatrix(ids, self.values[np.ix_(rows, rows)], self.metric, self.source, symmetric=True)


def _short(model: str, width: int = 24) -> str:
    """A model id cut to ``width`` characters for a table header (the full id is the cell's tooltip)."""
    return model if len(model) <= width else model[: width - 1] + "…"


def validate_distances(ids: tuple[str, ...], values: np.ndarray, source: str, check_symmetry: bool = True) -> None:
    """Raise :class:`PhyloLLMError` unless ``values`` is a valid labelled distance matrix.

    Checks, in blocks of :data:`BLOCK` rows (no n x n temporary): shape, one
    model per id, finite, non-negative, symmetric (relative 1e-9; unless
    ``check_symmetry`` is off) and a zero diagonal. The message names the
    first offending pair.

    Examples
    --------
    >>> import numpy as np
    >>> validate_distances(("a", "b"), np.array([[0.0, 1.0], [1.0, 0.0]]), "d.csv")  # fine: nothing happens
    >>> validate_distances(("a", "b"), np.array([[0.0, -1.0], [-1.0, 0.0]]), "d.csv")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: d.csv: ...
    """
    n = len(ids)
    if n == 0:
        raise PhyloLLMError(f"{source}: no models found")
    if values.shape != (n, n):
        raise PhyloLLMError(f"{source}: expected a {n} x {n} matrix, got shape {values.shape}")
    check_unique(ids, source)
    for start in range(0, n, BLOCK):
        block = values[start : start + BLOCK]
        _refuse(~np.isfinite(block), "is not finite", start, ids, values, source)
        _refuse(block < 0, "is negative", start, ids, values, source)
        if check_symmetry:
            mirror = values[:, start : start + BLOCK].T
            _refuse(np.abs(block - mirror) > 1e-9 * np.maximum(1.0, np.abs(block)), "is not symmetric", start, ids, values, source)
    diagonal = np.diagonal(values)
    if (diagonal != 0).any():
        i = int(np.argmax(diagonal != 0))
        raise PhyloLLMError(f"{source}: distance of {ids[i]!r} to itself is {float(diagonal[i])!r}, not 0")


def _refuse(bad: np.ndarray, what: str, start: int, ids: tuple[str, ...], values: np.ndarray, source: str) -> None:
    """Raise naming the first pair flagged in ``bad`` (rows ``start...`` of ``values``)."""
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        i += start
        raise PhyloLLMError(f"{source}: distance between {ids[i]!r} and {ids[j]!r} ({float(values[i, j])!r}) {what}")
