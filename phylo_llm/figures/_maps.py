"""Pictures of the DNA space: a t-SNE map and the distance matrix in tree order, coloured by family."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from Bio.Phylo.BaseTree import Tree
from matplotlib.colors import to_rgb

from ..distance import DistanceMatrix
from ..dna import DNA
from ..errors import PhyloLLMError
from ..tree import iter_leaves
from . import palette
from ._embedding import tsne_coordinates, tsne_perplexity
from ._meta import families_of
from ._style import DOUBLE_COLUMN, family_handles, legend_right, new_figure, styled


@styled
def dna_map(dna: DNA, info: Mapping[str, Mapping], seed: int = 0, title: str = ""):
    """2-D t-SNE of the DNA vectors (Euclidean), one point per model coloured by family; seeded.

    Families keep their colours of :mod:`phylo_llm.figures.palette`; models of
    no documented family are grey and drawn first, so coloured points lie on top.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> lineage = pl.load_lineage("data/demo")
    >>> fig = dna_map(dna, {m: lineage.info(m) for m in dna.ids})
    >>> len(fig.axes[0].collections[0].get_offsets())
    70
    """
    perplexity = tsne_perplexity(dna.n_models)
    xy = tsne_coordinates(dna.vectors, seed)
    families = families_of(dna.ids, info)
    colours = np.array([palette.family_colour(f) for f in families])
    order = np.argsort([c != palette.UNKNOWN for c in colours], kind="stable")  # unknown first, underneath
    fig = new_figure(DOUBLE_COLUMN * 0.75, 4.0)
    ax = fig.add_subplot(111)
    ax.scatter(xy[order, 0], xy[order, 1], c=colours[order], s=9 if dna.n_models > 150 else 16, linewidths=0.3,
               edgecolors="white", gid="dna-map-points")
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_xticks([])
    ax.set_yticks([])
    legend_right(ax, family_handles(families, marker="o"), title="family")
    ax.set_title(title or f"DNA map of {dna.n_models} models (t-SNE, perplexity {perplexity:g}, seed {seed})", loc="left")
    return fig


@styled
def distance_heatmap(dist: DistanceMatrix, order: Sequence[str] | Tree, info: Mapping[str, Mapping], title: str = ""):
    """The distance matrix in the tree's leaf order, family colour bars along both edges.

    ``order``: model ids in the order to show them, or the tree itself (its leaves, top to bottom).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> dist = pl.distance_matrix(dna)
    >>> fig = distance_heatmap(dist, sorted(dist.ids), {})
    >>> fig.axes[0].images[0].get_array().shape
    (70, 70)
    """
    if isinstance(order, Tree):
        order = [leaf.name for leaf in iter_leaves(order)]
    elif isinstance(order, str):  # one id is not an order (its characters would be read as ids)
        raise PhyloLLMError(f"the heatmap's order is a list of model ids or a tree, got the string {order!r}")
    order = list(order)
    ordered = dist.subset(order)
    families = families_of(order, info)
    strip = np.array([to_rgb(palette.family_colour(f)) for f in families])
    fig = new_figure(DOUBLE_COLUMN * 0.8, 4.6)
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 40], height_ratios=[1, 40], wspace=0.01, hspace=0.01)
    ax = fig.add_subplot(grid[1, 1])
    left, top = fig.add_subplot(grid[1, 0], sharey=ax), fig.add_subplot(grid[0, 1], sharex=ax)
    off = ordered.condensed()
    low, high = np.percentile(off, [1, 99]) if len(off) else (0.0, 1.0)  # the zero diagonal would take the scale
    image = ax.imshow(ordered.values, cmap="viridis_r", interpolation="nearest", aspect="auto", vmin=low, vmax=high,
                      gid="distance-image")
    left.imshow(strip[:, None, :], aspect="auto", interpolation="nearest", gid="family-strip")
    top.imshow(strip[None, :, :], aspect="auto", interpolation="nearest", gid="family-strip")
    for a in (ax, left, top):
        a.set_xticks([])
        a.set_yticks([])
        for spine in a.spines.values():
            spine.set_visible(False)
    ax.set_xlabel(f"{dist.n_models} models in the order of the tree's leaves (strips: family)")
    bar = fig.colorbar(image, ax=ax, location="bottom", fraction=0.035, pad=0.04, aspect=50, shrink=0.7, extend="both")
    bar.set_label(f"{dist.metric or 'DNA'} distance (colours span the 1st to 99th percentile of all pairs)")
    legend_right(ax, family_handles(families), title="family")
    top.set_title(title or "Pairwise DNA distances, models in tree order", loc="left")
    return fig
