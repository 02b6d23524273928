"""Nearest relatives of a model, and close pairs that nothing documents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from ..ids import model_key, require_model
from ..lineage import Lineage, LineageLike, as_lineage
from ._pairs import documented_pairs


class Relatedness:
    """What the lineage documents between two present models (directly or through a shared ancestor).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> related = Relatedness(pl.load_lineage("data/demo"), ["meta-llama/Llama-1-7B", "meta-llama/Llama-2-7B", "Qwen/Qwen-1-7B"])
    >>> type(related).__name__
    'Relatedness'
    """

    def __init__(self, lineage: Lineage, ids: Sequence[str]) -> None:
        self.lineage = lineage.among(ids)
        self.found = self.lineage.resolved
        # Each present model's line of descent, nearest first, as lineage ids.
        self.lines: dict[str, list[str]] = {}
        for model, found in self.found.items():
            if found is not None:
                self.lines[model] = [found, *lineage.ancestors(found)]
        # A pair the lineage documents under two types (finetune and merge) says both, in table order.
        self.edges: dict[tuple[str, str], str] = {}
        for c, p, r in lineage.relations[["child", "parent", "relation"]].itertuples(index=False):
            key = (model_key(c), model_key(p))
            self.edges[key] = f"{self.edges[key]}, {r}" if key in self.edges else r

    def describe(self, a: str, b: str) -> str:
        """What ``b`` is to ``a``: ``parent (finetune)``, ``child (merge)``, ``ancestor``, ``descendant``,
        ``shared ancestor X``, or ``""`` when nothing is documented."""
        fa, fb = self.found.get(a), self.found.get(b)
        if fa is None or fb is None:
            return ""
        ka, kb = model_key(fa), model_key(fb)
        if ka == kb:
            return "same model"
        if (ka, kb) in self.edges:
            return f"parent ({self.edges[(ka, kb)]})"
        if (kb, ka) in self.edges:
            return f"child ({self.edges[(kb, ka)]})"
        line_a, line_b = self.lines.get(a, []), self.lines.get(b, [])
        keys_a, keys_b = {model_key(x) for x in line_a}, {model_key(x) for x in line_b}
        if kb in keys_a:
            return "ancestor"
        if ka in keys_b:
            return "descendant"
        shared = next((x for x in line_a if model_key(x) in keys_b), None)
        return f"shared ancestor {shared}" if shared else ""


#: Relative difference under which two distances of one pair, measured two ways (a matrix product, direct
#: differences), are one value when ranked.
TIE = 1e-9


def _documented_distances(dist: DistanceMatrix, lineage: Lineage) -> dict[str, np.ndarray]:
    pairs = documented_pairs(lineage, dist.ids)
    return {str(r): dist.values[g.i.to_numpy(), g.j.to_numpy()] for r, g in pairs.groupby("relation")}


def relatives(model: str, dist: DistanceMatrix, lineage: LineageLike, k: int = 10, all_pairs: np.ndarray | None = None,
              documented: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The ``k`` nearest models to ``model`` and where each distance falls.

    Columns: ``rank, model, distance``, ``all_pairs_pct`` (share of all pairs
    at most this close), ``<relation>_pct`` (share of documented pairs of
    that relation at most this close; ``same_weights_pct`` is the noise
    floor), ``family``, ``organization`` and ``documented`` (what the lineage
    says links the two, empty when nothing).

    ``all_pairs``, when given, stands for the distances of all pairs (a sample,
    e.g. when ``dist`` holds only a neighbourhood of a hub's models), and
    ``documented`` for the documented pairs' distances per relation.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> table = relatives("meta-llama/Llama-1-7B-Instruct", dist, pl.load_lineage("data/demo"), k=3)
    >>> list(table["rank"])
    [1, 2, 3]
    """
    lineage = as_lineage(lineage)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise PhyloLLMError(f"k must be a whole number >= 1 of nearest models, got {k!r}")
    found = require_model(model, dist.ids, str(dist.source))
    model = dist.ids[found]
    position = {m: i for i, m in enumerate(dist.ids)}
    row = dist.values[position[model]]
    order = [j for j in np.lexsort((np.array(dist.ids), row)) if j != position[model]][:k]
    everything = np.sort(dist.condensed() if all_pairs is None else all_pairs)
    documented = {r: np.sort(v) for r, v in (_documented_distances(dist, lineage) if documented is None
                                              else documented).items()}
    related = Relatedness(lineage, dist.ids)
    rows = []
    for rank, j in enumerate(order, start=1):
        d = row[j]
        # "At most this close", a documented pair measured apart (a hub's, pair by pair) counting as this one.
        at_most = d + TIE * abs(d)
        other = dist.ids[j]
        info = related.lineage.info(other)
        entry = {"rank": rank, "model": other, "distance": float(d),
                 "all_pairs_pct": float(np.searchsorted(everything, at_most, side="right") / len(everything))}
        for relation, values in documented.items():
            entry[f"{relation}_pct"] = float(np.searchsorted(values, at_most, side="right") / len(values))
        entry.update({"family": info.get("family", ""), "organization": info.get("organization", ""),
                      "documented": related.describe(model, other)})
        rows.append(entry)
    columns = ["rank", "model", "distance", "all_pairs_pct", *(f"{r}_pct" for r in documented), "family",
               "organization", "documented"]
    return pd.DataFrame(rows, columns=columns)  # the columns even when there is no other model


def candidates(
    dist: DistanceMatrix, lineage: LineageLike, threshold: float | None = None, limit: int | None = 1000
) -> tuple[pd.DataFrame, float, int]:
    """Undocumented pairs at least as close as a typical documented fine-tune.

    Parameters
    ----------
    threshold : float, optional
        Distance cut-off; default the median distance of the documented
        ``finetune`` pairs present (or of all documented pairs if none).
    limit : int, optional
        Keep the closest ``limit`` pairs (None or 0: all, as ``--limit 0``).

    Returns
    -------
    (table, threshold, qualifying) : the ranked pairs, the cut-off used and how many pairs passed it.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> table, threshold, qualifying = candidates(dist, pl.load_lineage("data/demo"))
    >>> list(table.columns[:3])
    ['model_a', 'model_b', 'distance']
    """
    lineage = as_lineage(lineage)
    if limit is not None and limit < 0:
        raise PhyloLLMError(f"limit must be >= 0 pairs (0 or None: all), got {limit}")
    if threshold is None:
        threshold = documented_threshold(dist, lineage)
    iu, ju = np.triu_indices(dist.n_models, 1)
    values = dist.values[iu, ju]
    close = values <= threshold
    table, qualifying = candidates_from_pairs(dist.ids, iu[close], ju[close], values[close], lineage, dist.condensed(), limit or None)
    return table, threshold, qualifying


def documented_threshold(dist: DistanceMatrix, lineage: LineageLike, documented: dict[str, np.ndarray] | None = None) -> float:
    """The median distance of the documented ``finetune`` pairs among ``dist``'s models (else of all documented pairs).

    ``documented``: those pairs' distances per relation, when measured elsewhere (a hub's pairs, pair by pair).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> threshold = documented_threshold(dist, "data/demo")
    >>> bool(0 < threshold < dist.values.max())
    True
    """
    lineage = as_lineage(lineage)
    documented = _documented_distances(dist, lineage) if documented is None else documented
    reference = documented.get("finetune")
    if reference is None or len(reference) == 0:
        reference = np.concatenate(list(documented.values())) if documented else np.array([])
    if len(reference) == 0:
        raise PhyloLLMError(f"{dist.source}: no documented pair among these models: give a distance threshold (--threshold)")
    return float(np.median(reference))


def candidates_from_pairs(
    ids: Sequence[str], iu: np.ndarray, ju: np.ndarray, values: np.ndarray, lineage: Lineage, all_pairs: np.ndarray, limit: int | None = 1000
) -> tuple[pd.DataFrame, int]:
    """The undocumented pairs among the given close pairs (rows ``iu``, ``ju`` of ``ids``), closest first, and their count.

    ``all_pairs``: the distances of all pairs, or a sample of them, for the ``all_pairs_pct`` column.

    Examples
    --------
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> ids = ("meta-llama/Llama-1-7B", "meta-llama/Llama-2-7B", "Qwen/Qwen-1-7B")
    >>> table, count = candidates_from_pairs(ids, np.array([0, 0]), np.array([1, 2]), np.array([0.1, 0.5]),
    ...                                      pl.load_lineage("data/demo"), all_pairs=np.array([0.1, 0.5, 0.9]))
    >>> count, table[["model_a", "model_b"]].values.tolist()  # the undocumented pair only
    (1, [['meta-llama/Llama-1-7B', 'Qwen/Qwen-1-7B']])
    """
    ids = tuple(ids)
    names = np.array(ids, dtype=object).astype(str)
    order = np.lexsort((names[ju], names[iu], values))
    related = Relatedness(lineage, ids)
    everything = np.sort(all_pairs)
    rows: list[dict] = []
    qualifying = 0
    for k in order:
        a, b = ids[iu[k]], ids[ju[k]]
        if related.describe(a, b):
            continue
        qualifying += 1
        if limit is not None and len(rows) >= limit:
            continue
        ia, ib = related.lineage.info(a), related.lineage.info(b)
        rows.append({
            "model_a": a, "model_b": b, "distance": float(values[k]),
            "all_pairs_pct": float(np.searchsorted(everything, values[k], side="right") / len(everything)),
            "family_a": ia.get("family", ""), "family_b": ib.get("family", ""),
            "organization_a": ia.get("organization", ""), "organization_b": ib.get("organization", ""),
        })
    columns = ["model_a", "model_b", "distance", "all_pairs_pct", "family_a", "family_b", "organization_a", "organization_b"]
    return pd.DataFrame(rows, columns=columns), qualifying
