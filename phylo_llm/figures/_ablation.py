"""Figure 6: do DNA made with different answer encoders agree? Mantel tests, pair densities as hexbins."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm

from ..distance import DistanceMatrix, mantel
from ._style import DOUBLE_COLUMN, new_figure, styled


@styled
def encoder_ablation(dists: dict[str, DistanceMatrix], permutations: int = 999, seed: int = 0):
    """Mantel tests between the distance matrices of different encoders; each panel a hexbin of all model pairs.

    With tens of thousands of pairs per panel a scatter plot only shows its
    outline; hexagonal bins with a logarithmic count scale show where the
    pairs are. Models present in every matrix only.

    Returns
    -------
    (PaperFigure, list of dict)
        The figure and, per pair of encoders, Mantel r, p, models and pairs.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> fig, rows = encoder_ablation({"a": dist, "b": dist}, permutations=9)
    >>> round(rows[0]["r"], 3), rows[0]["pairs"]
    (1.0, 2415)
    """
    names = list(dists)
    common = sorted(set.intersection(*(set(d.ids) for d in dists.values())))
    aligned = {k: v.subset(common) for k, v in dists.items()}
    condensed = {k: v.condensed() for k, v in aligned.items()}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    n_pairs = len(common) * (len(common) - 1) // 2
    fig = new_figure(min(DOUBLE_COLUMN, 2.3 * len(pairs) + 0.6), 2.55)
    grid = fig.add_gridspec(1, len(pairs))
    results = []
    bins = []
    for k, (a, b) in enumerate(pairs):
        r, p = mantel(aligned[a].values, aligned[b].values, permutations=permutations, seed=seed)
        results.append({"a": a, "b": b, "r": r, "p": p, "models": len(common), "pairs": n_pairs, "permutations": permutations})
        ax = fig.add_subplot(grid[k])
        bins.append(ax.hexbin(condensed[a], condensed[b], gridsize=45, mincnt=1, cmap="viridis", linewidths=0,
                              norm=LogNorm(), rasterized=True, gid=f"hexbin:{a}:{b}"))
        ax.set_xlabel(f"{a} distance")
        ax.set_ylabel(f"{b} distance")
        floor = 1 / (permutations + 1)
        shown = f"p ≤ {floor:.3g}" if p <= floor else f"p = {p:.3g}"
        ax.set_title(f"Mantel r = {r:.3f}, {shown}", loc="left")
    top = max(float(np.max(np.asarray(h.get_array()))) for h in bins)
    for h in bins:
        h.set_norm(LogNorm(1, top))
    bar = fig.colorbar(bins[-1], ax=fig.axes, location="right", fraction=0.03, pad=0.02, aspect=25)
    bar.set_label("pairs per hexagon")
    fig.suptitle(f"Distances of the same {len(common)} models ({n_pairs:,} pairs) under different answer encoders; "
                 f"Mantel test with {permutations:,} permutations", x=0.01, ha="left", fontsize=7)
    return fig, results
