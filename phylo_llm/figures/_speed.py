"""Figure 7: the paper's "evolutionary speed" (root distance against release date, per family) and where
architectures sit in the rooted tree."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from Bio.Phylo.BaseTree import Tree
from matplotlib.ticker import MaxNLocator

from ..lineage import real_family
from ..tree import flatten
from . import palette
from ._meta import release_year
from ._style import DOUBLE_COLUMN, new_figure, styled
from ._uncertainty import REPLICATES, fit_slope

#: Fewest models, and fewest distinct release months, a family needs for a fitted line.
MIN_MODELS = 5
MIN_MONTHS = 3
ARCHITECTURES = ("decoder_only", "encoder_decoder", "encoder_only")


@styled
def evolutionary_speed(tree: Tree, info: Mapping[str, Mapping], min_models: int = MIN_MODELS, min_months: int = MIN_MONTHS,
                       replicates: int = REPLICATES, seed: int = 0, max_families: int = 11):
    """Root-to-leaf distance against release month, one panel per family, and edges from the root by architecture.

    A family with at least ``min_models`` dated models gets a panel; a
    least-squares line with its 95% bootstrap band (models resampled) is
    drawn only when they span at least ``min_months`` release months: a line
    through two months is two means, not a trend.

    Returns
    -------
    (PaperFigure, dict)
        The figure and the numbers: per family slope (distance per year),
        interval, models and months; per architecture models, median root
        distance and median edges from the root.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:1,b:2):1,(c:1,d:3):1);"), "newick")
    >>> info = {m: {"family": "F", "release": r} for m, r in zip("abcd", ["2023-01", "2023-06", "2024-01", "2024-06"])}
    >>> fig, numbers = evolutionary_speed(tree, info, min_models=4, replicates=50)
    >>> round(numbers["slopes"]["F"]["slope_per_year"], 3), numbers["slopes"]["F"]["months"]
    (1.0, 4)
    """
    flat = flatten(tree)
    depth = flat.depth[flat.leaf_nodes]
    edges = np.zeros(len(flat.parent), dtype=int)
    for node in range(1, len(flat.parent)):
        edges[node] = edges[flat.parent[node]] + 1
    hops = edges[flat.leaf_nodes]
    dated: dict[str, list[tuple[float, float]]] = {}
    for name, d in zip(flat.names, depth):
        meta = info.get(name) or {}
        family, when = real_family(meta.get("family")), release_year(meta.get("release"))
        if family and np.isfinite(when):
            dated.setdefault(family, []).append((when, float(d)))
    families = sorted((f for f, p in dated.items() if len(p) >= min_models), key=lambda f: (-len(dated[f]), f))[:max_families]
    fitted: dict[str, dict] = {}
    columns = 4 if families else 1
    panels = len(families) + 1
    rows = int(np.ceil(panels / columns))
    fig = new_figure(DOUBLE_COLUMN if families else DOUBLE_COLUMN / 2, 1.45 * rows + 0.45 if families else 2.2)
    grid = fig.add_gridspec(rows, columns)
    axes: list = []
    all_points = np.array([p for f in families for p in dated[f]]) if families else np.zeros((0, 2))
    for k, family in enumerate(families):
        ax = fig.add_subplot(grid[k // columns, k % columns], sharex=axes[0] if axes else None, sharey=axes[0] if axes else None)
        axes.append(ax)
        points = np.array(dated[family])
        colour = palette.family_colour(family)
        months = len(np.unique(np.round(points[:, 0] * 12)))
        ax.scatter(points[:, 0], points[:, 1], s=7, color=colour, linewidths=0.3, edgecolors="white", zorder=3, gid=f"points:{family}")
        entry: dict = {"models": len(points), "months": months, "from": float(points[:, 0].min()), "to": float(points[:, 0].max())}
        if months >= min_months:
            fit = fit_slope(points[:, 0], points[:, 1], replicates, seed)
            ax.fill_between(fit.grid, *fit.band, color=colour, alpha=0.2, linewidth=0, gid=f"band:{family}")
            ax.plot(fit.grid, fit.intercept + fit.slope * fit.grid, color=colour, lw=1.1, gid=f"fit:{family}")
            entry.update(slope_per_year=fit.slope, slope_ci95=list(fit.slope_interval), intercept=fit.intercept)
            text = f"{fit.slope:+.3f}/yr [{fit.slope_interval[0]:+.3f}, {fit.slope_interval[1]:+.3f}]\n{months} release months"
        else:
            text = f"no fit: {months} release month{'s' if months != 1 else ''}"
        fitted[family] = entry
        ax.set_title(f"{family} (n = {len(points)})", loc="left", fontsize=6.5, pad=2)
        ax.text(0.02, 0.97, text, transform=ax.transAxes, fontsize=5.5, va="top", ha="left", color="#333333")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.xaxis.set_major_formatter(lambda v, _: f"'{int(v) % 100:02d}")
        if k % columns == 0:
            ax.set_ylabel("distance from root")
        else:
            ax.tick_params(labelleft=False)
    if len(all_points):
        pad = 0.08 * np.ptp(all_points[:, 1])
        axes[0].set_ylim(all_points[:, 1].min() - pad, all_points[:, 1].max() + pad * 3.5)  # room for the two-line note
    arch = [(info.get(name) or {}).get("architecture", "(unknown)") for name in flat.names]
    groups = [(a, depth[[x == a for x in arch]], hops[[x == a for x in arch]]) for a in ARCHITECTURES]
    groups = [g for g in groups if len(g[1])]
    right = fig.add_subplot(grid[(panels - 1) // columns, (panels - 1) % columns])
    rng = np.random.default_rng(seed)
    for k, (name, _, h) in enumerate(groups):
        jitter = rng.uniform(-0.18, 0.18, len(h))
        right.scatter(k + jitter, h, s=4 if len(h) > 50 else 9, color="#555555", alpha=0.5 if len(h) > 50 else 0.9,
                      linewidths=0, gid=f"edges:{name}")
        right.plot([k - 0.3, k + 0.3], [np.median(h)] * 2, color="black", lw=1.2, gid=f"median:{name}")
    names = [g[0].replace("_", "\n") for g in groups]  # decoder / only: two lines, so neighbours never touch
    right.set_xticks(range(len(groups)), [f"{name}\n(n = {len(g[1])})" for name, g in zip(names, groups)], fontsize=5.5)
    right.set_xlim(-0.6, len(groups) - 0.4)
    right.set_ylabel("edges from the root")
    right.set_title("Architectures (bar: median)", loc="left", fontsize=6.5, pad=2)
    if families:
        fig.supxlabel("release date (year)", fontsize=7)
        fig.suptitle("Distance from the root against release date, per family (line: least squares, band: 95% bootstrap "
                     f"over models); families with ≥ {min_models} dated models", x=0.01, ha="left", fontsize=7)
    else:
        fig.suptitle(f"No family has {min_models} or more models with a documented release date: edges from the root "
                     "by architecture only", x=0.01, ha="left", fontsize=7)
    placement = {g[0]: {"models": int(len(g[1])), "median_root_distance": float(np.median(g[1])),
                        "median_edges_from_root": float(np.median(g[2]))} for g in groups}
    return fig, {"slopes": fitted, "architectures": placement}
