"""Trees drawn with matplotlib: circular (radial) for hundreds of leaves, rectangular for few."""

from __future__ import annotations

import numpy as np
from Bio.Phylo.BaseTree import Tree
from matplotlib.lines import Line2D

from ..lineage import real_family
from ..tree import flatten
from ._style import OTHER, family_colours, new_figure, styled


def _layout(tree: Tree):
    flat = flatten(tree)
    n_nodes = len(flat.parent)
    position = np.zeros(n_nodes)  # leaf order along the circle/axis
    position[flat.leaf_nodes] = np.arange(flat.n_leaves)
    children = flat.children()
    for node in range(n_nodes - 1, -1, -1):
        if node in children:
            position[node] = np.mean([position[c] for c in children[node]])
    return flat, children, position


@styled
def draw_tree(tree: Tree, info: dict[str, dict], layout: str = "circular", title: str = "", label_size: float | None = None):
    """A figure of ``tree`` with leaves coloured by family, encoder-decoder models marked.

    Parameters
    ----------
    info : dict
        model -> lineage info (``family``, ``architecture``).
    layout : {"circular", "rectangular"}
    """
    flat, children, position = _layout(tree)
    n = flat.n_leaves
    real = [real_family(info.get(name, {}).get("family")) for name in flat.names]
    colours = family_colours(real)
    leaf_colour = [colours.get(f, OTHER) if f else OTHER for f in real]
    encdec = [info.get(name, {}).get("architecture") == "encoder_decoder" for name in flat.names]
    depth = flat.depth
    radius = max(depth.max(), 1e-12)
    if layout == "circular":
        fig = new_figure(9, 9)
        ax = fig.add_subplot(111)
        angle = 2 * np.pi * position / n
        for node, kids in children.items():
            r = depth[node]
            span = np.linspace(min(angle[k] for k in kids), max(angle[k] for k in kids), 50)
            ax.plot(r * np.cos(span), r * np.sin(span), color="#444444", lw=0.4)
            for k in kids:
                ax.plot([r * np.cos(angle[k]), depth[k] * np.cos(angle[k])], [r * np.sin(angle[k]), depth[k] * np.sin(angle[k])], color="#444444", lw=0.4)
        leaf_angle = angle[flat.leaf_nodes]
        outer = radius * 1.02
        ax.scatter(outer * np.cos(leaf_angle), outer * np.sin(leaf_angle), c=leaf_colour, s=14, zorder=3, linewidths=0)
        marked = np.array(encdec)
        if marked.any():
            ax.scatter(radius * 1.07 * np.cos(leaf_angle[marked]), radius * 1.07 * np.sin(leaf_angle[marked]), marker="^", c="black", s=14, zorder=3)
        size = label_size or max(2.0, min(6.0, 900 / n))
        for name, a in zip(flat.names, leaf_angle):
            degrees = np.degrees(a) % 360
            flip = 90 < degrees < 270
            ax.text(radius * 1.11 * np.cos(a), radius * 1.11 * np.sin(a), name, rotation=degrees + (180 if flip else 0),
                    rotation_mode="anchor", ha="right" if flip else "left", va="center", fontsize=size, color="#222222")
        lim = radius * 2.1
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.axis("off")
    else:
        fig = new_figure(7, max(3, 0.16 * n + 1))
        ax = fig.add_subplot(111)
        for node, kids in children.items():
            ax.plot([depth[node], depth[node]], [min(position[k] for k in kids), max(position[k] for k in kids)], color="#444444", lw=0.6)
            for k in kids:
                ax.plot([depth[node], depth[k]], [position[k], position[k]], color="#444444", lw=0.6)
        leaf_y = position[flat.leaf_nodes]
        ax.scatter(depth[flat.leaf_nodes], leaf_y, c=leaf_colour, s=18, zorder=3, linewidths=0)
        marked = np.array(encdec)
        if marked.any():
            ax.scatter(depth[flat.leaf_nodes][marked] + radius * 0.025, leaf_y[marked], marker="^", c="black", s=14, zorder=3)
        for name, x, y in zip(flat.names, depth[flat.leaf_nodes], leaf_y):
            ax.text(x + radius * 0.05, y, name, va="center", fontsize=label_size or 6)
        ax.set_ylim(-1, n)
        ax.invert_yaxis()
        ax.set_yticks([])
        ax.set_xlabel("distance from the root")
        ax.set_xlim(0, radius * 1.6)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=f) for f, c in colours.items() if c != OTHER]
    handles.append(Line2D([], [], marker="o", ls="", color=OTHER, label="other / unknown family"))
    if any(encdec):
        handles.append(Line2D([], [], marker="^", ls="", color="black", label="encoder-decoder"))
    if layout == "circular":
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 1.0), frameon=False, title="family", fontsize=6)
    else:
        ax.legend(handles=handles, loc="lower right", frameon=False, title="family")
    if title:
        ax.set_title(title)
    return fig
