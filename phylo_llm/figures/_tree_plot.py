"""Tree figures: circular for hundreds of leaves, rectangular for tens; a model's neighbourhood.

What a reader of a tree figure needs, and how it is drawn here:

* **the topology**: ``lengths="cladogram"`` or ``"sqrt"`` (see
  :mod:`phylo_llm.figures._tree_layout`) when terminal edges would hide it;
  children ordered by size (ladderized);
* **families**: a coloured ring (circular) or column (rectangular) beside the
  leaves, and the edges of every clade whose leaves are all of one family in
  that family's colour (:mod:`phylo_llm.figures.palette`);
* **release dates** (the paper's temporal progression): a second ring;
* **attributes** such as encoder-decoder architecture: a mark on every
  maximal clade whose models all have it, at the clade's root, and a bar
  spanning its leaves;
* **branch support**, when the tree carries it (clade ``confidence``):
  dots on the nodes, two levels;
* **labels** no smaller than 5 pt at the printed size and never overlapping:
  all leaves when they fit, otherwise as many as fit, highlighted and base
  models first (``labels="auto"``), or one per family clade (``"clades"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from Bio.Phylo.BaseTree import Tree
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_hex
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle, Wedge
from matplotlib.textpath import TextToPath

from ..errors import PhyloLLMError
from ..tree import copy_tree, flatten, iter_preorder
from . import palette
from ._meta import families_of, release_year
from ._style import DOUBLE_COLUMN, MIN_FONT, family_handles, new_figure, styled
from ._tree_layout import TreeLayout, pure_clades, tree_layout

#: Attribute marks drawn by default: label -> (lineage key, value).
DEFAULT_MARKS: dict[str, tuple[str, str]] = {"encoder-decoder": ("architecture", "encoder_decoder")}
RINGS = ("family", "release")
LABEL_MODES = ("auto", "all", "clades", "none")
_MARKERS = ("^", "s", "D", "v", "P")
_EDGE = "#4D4D4D"
_GUIDE = "#D9D9D9"
_MAX_LABEL_PT = 80.0  # longer ids are cut with an ellipsis (about 30 characters at 5 pt)
_ROW = 1.2  # label spacing, in label heights
_TEXT = TextToPath()


@styled
def draw_tree(
    tree: Tree,
    info: Mapping[str, Mapping] | None = None,
    layout: str = "circular",
    title: str = "",
    label_size: float | None = None,
    *,
    lengths: str = "given",
    labels: str | Iterable[str] = "auto",
    rings: Iterable[str] = ("family",),
    marks: Mapping[str, tuple[str, str]] | None = None,
    highlight: Iterable[str] = (),
    colour_branches: bool = True,
    ladderize: bool = True,
    support_levels: tuple[float, float] = (0.7, 0.9),
    width: float | None = None,
):
    """A figure of ``tree``: families, release dates, attributes and support on the leaves and clades.

    Parameters
    ----------
    tree : Bio.Phylo tree
        Rooted as it should be drawn; internal clades' ``confidence`` is drawn
        as branch support (proportions, or percentages when above 1).
    info : dict
        model -> lineage info (``family``, ``release`` as ``YYYY-MM``,
        ``architecture``, ``is_base``), e.g. ``{m: lineage.info(m) for m in ids}``.
    layout : {"circular", "rectangular"}
    title : str
    label_size : float
        Font size of the leaf labels in points (at least 5, the default).
    lengths : {"given", "sqrt", "cladogram"}
        Edges as estimated, square-root transformed, or all equal (topology only).
    labels : {"auto", "all", "clades", "none"} or list of model ids
        Which leaves are named: as many as fit without overlap, highlighted and
        base models first (``"auto"``); all of them (``"all"``: a circular
        figure grows until they fit, a rectangular one grows in height); one
        label per clade of one family (``"clades"``); none; or the given models.
    rings : sequence of {"family", "release"}
        Coloured rings (columns) beside the leaves, innermost first.
    marks : dict
        label -> (info key, value); models with that value are marked on
        their clades. Default: encoder-decoder architecture.
    highlight : list of str
        Models whose labels are always drawn, in bold.
    colour_branches : bool
        Draw the edges of one-family clades in the family's colour.
    ladderize : bool
        Children ordered by size, smallest first.
    support_levels : (float, float)
        Support at or above the second is a black dot, at or above the first
        a grey one; below, nothing.
    width : float
        Printed width in inches (default: 7.2, a journal's double column).

    Returns
    -------
    PaperFigure
        A matplotlib figure; it shows itself when it ends a notebook cell.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> from phylo_llm.figures import draw_tree
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> lineage = pl.load_lineage("data/demo")
    >>> tree, _ = pl.mad_root(pl.build_tree(pl.distance_matrix(dna)))
    >>> fig = draw_tree(tree, {m: lineage.info(m) for m in dna.ids}, lengths="cladogram")
    >>> min(t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and a.get_text()))
    5.0
    """
    if layout not in ("circular", "rectangular"):
        raise PhyloLLMError(f"unknown tree layout {layout!r}; choose circular or rectangular")
    rings = tuple(rings)
    unknown = [r for r in rings if r not in RINGS]
    if unknown:
        raise PhyloLLMError(f"unknown ring {unknown[0]!r}; choose from {', '.join(RINGS)}")
    if isinstance(labels, str) and labels not in LABEL_MODES:
        raise PhyloLLMError(f"unknown labels {labels!r}; choose one of {', '.join(LABEL_MODES)} or give model ids")
    size = max(float(label_size or MIN_FONT), MIN_FONT)
    geometry = tree_layout(tree, lengths, ladderize)
    leaves = _Leaves(geometry, info or {}, DEFAULT_MARKS if marks is None else marks, highlight)
    draw = _Circular if layout == "circular" else _Rectangular
    return draw(geometry, leaves, size, labels, rings, colour_branches, support_levels, width or DOUBLE_COLUMN, title).figure


class _Leaves:
    """What is known of each leaf, in slot order."""

    def __init__(self, geometry: TreeLayout, info: Mapping[str, Mapping], marks: Mapping, highlight: Iterable[str]):
        meta = [dict(info.get(name, {}) or {}) for name in geometry.names]
        self.family = families_of(geometry.names, info)
        self.release = np.array([release_year(m.get("release")) for m in meta])
        self.is_base = np.array([str(m.get("is_base", "")).lower() in ("true", "1", "yes") for m in meta])
        self.marks = {label: np.array([str(m.get(key, "")).lower() == str(value).lower() for m in meta])
                      for label, (key, value) in marks.items()}
        wanted = set(highlight)
        unknown = sorted(wanted - set(geometry.names))
        if unknown:  # a misspelt id would silently highlight nothing
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise PhyloLLMError(f"highlight: {unknown[0]!r}{more} is not a leaf of the tree")
        self.highlight = np.array([name in wanted for name in geometry.names])


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` in points at ``size`` (the font's own metrics: no canvas needed)."""
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    return float(_TEXT.get_text_width_height_descent(text, prop, ismath=False)[0])


def _fit_label(text: str, size: float, limit: float = _MAX_LABEL_PT, bold: bool = False) -> str:
    """``text``, or its longest prefix that fits in ``limit`` points with an ellipsis (binary search)."""
    if _text_width(text, size, bold) <= limit:
        return text
    lo, hi = 1, len(text) - 1  # lo always fits (or is the floor), hi + 1 never does
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _text_width(text[:mid] + "…", size, bold) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def _choose_labels(spacing_needed: float, positions: np.ndarray, priority: np.ndarray, circular_span: float | None) -> np.ndarray:
    """Leaves to label, greedily by priority, so that no two chosen are closer than ``spacing_needed``.

    ``positions`` are in the same unit as the spacing (radians or slots); on a
    circle (``circular_span`` the full turn) distances wrap around.
    """
    chosen: list[float] = []
    keep = np.zeros(len(positions), dtype=bool)
    for k in np.lexsort((np.arange(len(positions)), -priority)):
        p = positions[k]
        gaps = np.abs(np.array(chosen) - p)
        if circular_span is not None:
            gaps = np.minimum(gaps, circular_span - gaps)
        if not chosen or gaps.min() >= spacing_needed * (1 - 1e-9):
            keep[k] = True
            chosen.append(p)
    return keep


class _Drawing:
    """What both layouts share: colours of edges, ring colours, marks, support, legends."""

    def __init__(self, geometry, leaves, size, labels, rings, colour_branches, support_levels, width, title):
        self.g, self.leaves, self.size = geometry, leaves, size
        self.labels_mode, self.rings, self.width, self.title = labels, rings, width, title
        self.support_levels = support_levels
        n = geometry.n_leaves
        self.line_width = 0.45 if n > 150 else 0.6 if n > 50 else 0.8
        self.edge_colour = self._edge_colours(colour_branches)
        releases = leaves.release[np.isfinite(leaves.release)]
        self.release_norm = Normalize(np.floor(releases.min()), np.floor(releases.max()) + 1) if len(releases) else None
        self.figure = self.build()

    # colours -----------------------------------------------------------------------------------------------------------
    def _edge_colours(self, by_family: bool) -> list[str]:
        colours = [_EDGE] * len(self.g.parent)
        if by_family:
            for node, family in pure_clades(self.g, self.leaves.family):
                for sub in self._nodes_below(node):
                    colours[sub] = palette.family_colour(str(family))
        return colours

    def _nodes_below(self, node: int) -> np.ndarray:
        """Every node in the clade of ``node`` (its leaves' slots span first..last)."""
        g = self.g
        inside = (g.first >= g.first[node]) & (g.last <= g.last[node])
        # a node's slot range lies within ``node``'s exactly when it descends from it (or is it)
        return np.flatnonzero(inside)

    def ring_colours(self, ring: str) -> list[str]:
        if ring == "family":
            return [palette.family_colour(f) for f in self.leaves.family]
        cmap = colormaps[palette.RELEASE_CMAP]
        return [to_hex(cmap(self.release_norm(t))) if np.isfinite(t) else palette.UNKNOWN for t in self.leaves.release]

    def label_priority(self) -> np.ndarray:
        """Highlighted models first, then marked, then base models, then the rest."""
        lv = self.leaves
        marked = np.any(list(lv.marks.values()), axis=0) if lv.marks else np.zeros(self.g.n_leaves, dtype=bool)
        return 8.0 * lv.highlight + 4.0 * marked + 2.0 * lv.is_base

    def wanted_labels(self) -> np.ndarray | None:
        """Leaves that must be labelled (a list of ids), or ``None`` for a mode."""
        if isinstance(self.labels_mode, str):
            return None
        wanted = set(self.labels_mode)
        return np.array([name in wanted for name in self.g.names]) | self.leaves.highlight

    # legend ------------------------------------------------------------------------------------------------------------
    def legend_handles(self) -> list[tuple[str, list]]:
        sections = []
        if "family" in self.rings or any(c != _EDGE for c in self.edge_colour):
            sections.append(("family", family_handles(self.leaves.family)))
        other: list = []
        for k, (label, flags) in enumerate(self.leaves.marks.items()):
            if flags.any():
                other.append(Line2D([], [], marker=_MARKERS[k % len(_MARKERS)], ls="", color="black", markersize=4,
                                    label=f"{label} ({int(flags.sum())})"))
        lo, hi = self.support_levels
        if np.isfinite(self.g.support).any():
            other.append(Line2D([], [], marker="o", ls="", color="black", markersize=3, label=f"support ≥ {hi:g}"))
            other.append(Line2D([], [], marker="o", ls="", color="#9A9A9A", markersize=3, label=f"support {lo:g}–{hi:g}"))
        if "release" in self.rings and self.leaves.release.size and not np.isfinite(self.leaves.release).all():
            other.append(Patch(facecolor=palette.UNKNOWN, edgecolor="none", label="release unknown"))
        if other:
            sections.append(("", other))
        return sections

    def lengths_note(self) -> str:
        g = self.g
        return {"given": "branch lengths as estimated",
                "sqrt": "branch lengths square-root transformed",
                "cladogram": "cladogram: branch lengths not drawn"}[g.lengths]

    def scale(self) -> tuple[float, str] | None:
        """A scale bar (drawing units, label) about a fifth of the tree's depth, or ``None`` for a cladogram."""
        g = self.g
        if g.lengths == "cladogram":
            return None
        # a true branch length: a fifth of the depth, or (square-root drawing) half the longest edge
        wanted = 0.2 * g.unit if g.lengths == "given" else (g.edge_length().max() * g.unit) ** 2 / 2
        target = 10 ** np.floor(np.log10(wanted))
        target *= max(step for step in (1, 2, 5) if step * target <= wanted)
        drawn = target / g.unit if g.lengths == "given" else np.sqrt(target) / g.unit
        return float(drawn), f"{target:g}" + (" (one edge, √ scale)" if g.lengths == "sqrt" else "")

    def add_legends(self, fig, x: float, top: float) -> None:
        """Legends in the figure's right column, from ``top`` down (figure fractions)."""
        y = top
        for title, handles in self.legend_handles():
            legend = fig.legend(handles=handles, title=title or None, loc="upper left", bbox_to_anchor=(x, y),
                                frameon=False, alignment="left", handlelength=1.0, handletextpad=0.5,
                                borderaxespad=0.0, labelspacing=0.3, fontsize=6)
            y -= (len(handles) + (1.4 if title else 0.3)) * 6 * 1.55 / 72 / fig.get_figheight() + 0.02
            legend.set_gid(f"legend-{title or 'marks'}")
        if "release" in self.rings and self.release_norm is not None:
            height = 0.09 / fig.get_figheight()
            bar = fig.add_axes((x + 0.005, y - 0.06 - height, 0.9 * (1 - x) - 0.01, height))
            lo, hi = self.release_norm.vmin, self.release_norm.vmax
            bar.imshow(np.linspace(lo, hi, 256)[None, :], aspect="auto", cmap=palette.RELEASE_CMAP, extent=(lo, hi, 0, 1))
            bar.set_yticks([])
            years = np.arange(np.ceil(lo), np.floor(hi) + 1)
            bar.set_xticks(years[:: max(1, len(years) // 4)])
            bar.xaxis.set_major_formatter(lambda v, _: f"{int(v)}")
            bar.tick_params(labelsize=6, length=2, pad=1)
            bar.set_title("release", fontsize=6.5, loc="left", pad=2)
            bar.set_gid("release-colourbar")
            for side in ("top", "right", "left"):
                bar.spines[side].set_visible(False)
            y -= 0.06 + height + 0.08
        fig.text(x, max(y, 0.02), self.lengths_note(), fontsize=6, color="#333333", va="top", wrap=True)


class _Circular(_Drawing):
    RING = 0.045
    GAP = 0.012

    def build(self):
        g, lv = self.g, self.leaves
        n = g.n_leaves
        width = self.width
        title_h = 0.3 if self.title else 0.05
        legend_w = min(1.75, 0.3 * width)
        side = width - legend_w  # the square that holds the tree, in inches
        mode = self.labels_mode
        # Radii in drawing units: tree 0..1, then the rings, the marks, the labels.
        ring_start = 1.0 + 2 * self.GAP
        ring_end = ring_start + len(self.rings) * (self.RING + self.GAP)
        mark_r = ring_end + (0.03 if lv.marks and any(f.any() for f in lv.marks.values()) else 0.0)
        label_r = mark_r + 0.03
        bold = lv.highlight
        texts = [_fit_label(name, self.size, _MAX_LABEL_PT, b) for name, b in zip(g.names, bold)]
        widths = np.array([_text_width(t, self.size, b) for t, b in zip(texts, bold)])
        if mode == "none":
            widths[:] = 0.0
        elif mode == "clades":
            widths[:] = max((_text_width(f"{f} ({s})", self.size + 1) for f, s in self._clade_labels()), default=0.0)
        if mode == "all":  # grow the square until every label fits at this size
            needed = n * self.size * _ROW / (2 * np.pi * label_r)  # points per drawing unit
            side = max(side, (2 * label_r * needed + 2 * widths.max() + 10) / 72)
            width = side + legend_w
        points = side * 72
        lim = label_r / max(0.2, 1 - 2 * (widths.max() + 4) / points) * 1.01
        per_unit = points / (2 * lim)  # points per drawing unit
        fig = new_figure(width, side + title_h, layout=None)
        ax = fig.add_axes((0, 0, side / width, side / (side + title_h)))
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.axis("off")
        self.ax = ax
        span = 2 * np.pi * (1 - 1 / max(n, 40))  # a gap where the circle starts and ends

        def angle_of(s):  # clockwise from the top
            return np.pi / 2 - span * (np.asarray(s) + 0.5) / n

        angle = angle_of(g.slot)
        self._draw_edges(ax, angle)
        leaf_angle = angle[g.leaf_node]
        for k, ring in enumerate(self.rings):
            r0 = ring_start + k * (self.RING + self.GAP)
            half = np.degrees(span / n) / 2
            for name, a, colour in zip(g.names, leaf_angle, self.ring_colours(ring)):
                d = np.degrees(a)
                ax.add_patch(Wedge((0, 0), r0 + self.RING, d - half, d + half, width=self.RING, facecolor=colour,
                                   edgecolor="none", gid=f"ring-{ring}:{name}"))
        self._draw_marks(ax, mark_r, angle, arc=lambda r, s0, s1: _arc(r, angle_of(s0 - 0.4), angle_of(s1 + 0.4)))
        self._draw_support(ax, g.radius * np.cos(angle), g.radius * np.sin(angle))
        # labels
        if mode == "clades":
            clades = self._family_clades()
            middle = np.array([(g.first[node] + g.last[node]) / 2 for node, _ in clades])
            count = np.array([g.last[node] - g.first[node] + 1 for node, _ in clades], dtype=float)
            step = (self.size + 1) * _ROW / (label_r * per_unit)
            keep = _choose_labels(step, span * (middle + 0.5) / n, count, 2 * np.pi)
            for (_, family), m, c in zip(np.array(clades, dtype=object)[keep], middle[keep], count[keep]):
                self._radial_text(ax, f"{family} ({int(c)})", label_r, angle_of(m), self.size + 1, "#222222", False, "clade-label")
        elif mode != "none":
            step = self.size * _ROW / (label_r * per_unit)  # radians between two label baselines
            wanted = self.wanted_labels()
            if mode == "all":
                keep = np.ones(n, dtype=bool)
            elif wanted is not None:
                keep = wanted
            else:
                keep = _choose_labels(step, (span * (np.arange(n) + 0.5) / n), self.label_priority(), 2 * np.pi)
            for k in np.flatnonzero(keep):
                self._radial_text(ax, texts[k], label_r, leaf_angle[k], self.size, "#222222", bool(bold[k]), "leaf-label")
        bar = self.scale()
        if bar is not None:
            length, text = bar
            x0, y0 = -lim * 0.97, -lim * 0.97
            ax.plot([x0, x0 + length], [y0, y0], color="black", lw=0.8, solid_capstyle="butt", gid="scale-bar")
            ax.text(x0, y0 + 6 / per_unit, text, fontsize=6, ha="left", va="bottom")
        if self.title:
            fig.text(0.01, 1 - 0.04 / (side + title_h), self.title, fontsize=8, va="top", ha="left")
        self.add_legends(fig, side / width + 0.01, 1 - title_h / (side + title_h) - 0.01)
        return fig

    def _draw_edges(self, ax, angle):
        g = self.g
        radial, connectors, guides = [], [], []
        colours = []
        internal = ~g.is_leaf
        for node in range(1, len(g.parent)):
            up = g.parent[node]
            r0, r1, a = g.radius[up], g.radius[node], angle[node]
            radial.append(((r0 * np.cos(a), r0 * np.sin(a)), (r1 * np.cos(a), r1 * np.sin(a))))
            colours.append(self.edge_colour[node])
        radial_internal = [s for s, node in zip(radial, range(1, len(g.parent))) if internal[node]]
        radial_terminal = [s for s, node in zip(radial, range(1, len(g.parent))) if not internal[node]]
        c_internal = [c for c, node in zip(colours, range(1, len(g.parent))) if internal[node]]
        c_terminal = [c for c, node in zip(colours, range(1, len(g.parent))) if not internal[node]]
        for node, kids in g.children().items():
            a0, a1 = angle[kids[0]], angle[kids[-1]]
            connectors.append((_arc(g.radius[node], a0, a1), self.edge_colour[node]))
        tips = g.radius[g.leaf_node]
        for a, r in zip(angle[g.leaf_node], tips):
            if r < 1.0 - 1e-9:
                guides.append(((r * np.cos(a), r * np.sin(a)), ((1 + self.GAP) * np.cos(a), (1 + self.GAP) * np.sin(a))))
        lw = self.line_width
        if guides:
            ax.add_collection(LineCollection(guides, colors=_GUIDE, linewidths=0.3, linestyles=(0, (1, 1.5)), gid="tree-guides"))
        ax.add_collection(LineCollection([c[0] for c in connectors], colors=[c[1] for c in connectors], linewidths=lw,
                                         capstyle="butt", gid="tree-connectors"))
        ax.add_collection(LineCollection(radial_internal, colors=c_internal, linewidths=lw, capstyle="butt", gid="tree-internal-edges"))
        ax.add_collection(LineCollection(radial_terminal, colors=c_terminal, linewidths=lw, capstyle="butt", gid="tree-terminal-edges"))

    def _radial_text(self, ax, text, r, a, size, colour, bold, gid):
        degrees = np.degrees(a) % 360
        flip = 90 < degrees < 270
        ax.text(r * np.cos(a), r * np.sin(a), text, rotation=degrees + (180 if flip else 0), rotation_mode="anchor",
                ha="right" if flip else "left", va="center", fontsize=size, color=colour,
                fontweight="bold" if bold else "normal", gid=gid)

    def _family_clades(self):
        return [(node, f) for node, f in pure_clades(self.g, self.leaves.family)
                if self.g.last[node] - self.g.first[node] + 1 >= 2]

    def _clade_labels(self):
        return [(f, int(self.g.last[node] - self.g.first[node] + 1)) for node, f in self._family_clades()]

    def _draw_marks(self, ax, mark_r, angle, arc):
        g = self.g
        for k, (label, flags) in enumerate(self.leaves.marks.items()):
            if not flags.any():
                continue
            clades = pure_clades(g, [True if f else None for f in flags])
            xs, ys, bars = [], [], []
            for node, _ in clades:
                r = g.radius[node]
                xs.append(r * np.cos(angle[node]))
                ys.append(r * np.sin(angle[node]))
                bars.append(arc(mark_r, g.first[node], g.last[node]))
            ax.add_collection(LineCollection(bars, colors="black", linewidths=1.2, capstyle="butt", gid=f"mark-bar:{label}"))
            ax.scatter(xs, ys, marker=_MARKERS[k % len(_MARKERS)], s=14, c="black", edgecolors="white", linewidths=0.4,
                       zorder=4, gid=f"mark:{label}")

    def _draw_support(self, ax, x, y):
        support = self.g.support
        lo, hi = self.support_levels
        for level, colour, gid in ((support >= hi, "black", "support-high"), ((support >= lo) & (support < hi), "#9A9A9A", "support-mid")):
            nodes = np.flatnonzero(level & ~self.g.is_leaf)
            nodes = nodes[nodes > 0]
            if len(nodes):
                ax.scatter(x[nodes], y[nodes], s=5 if self.g.n_leaves > 100 else 9, c=colour, linewidths=0, zorder=3, gid=gid)


def _arc(r: float, a0: float, a1: float) -> np.ndarray:
    steps = max(2, int(abs(a1 - a0) / np.radians(1.0)) + 1)
    t = np.linspace(a0, a1, steps)
    return np.c_[r * np.cos(t), r * np.sin(t)]


class _Rectangular(_Drawing):
    COLUMN = 0.025

    def build(self):
        g, lv = self.g, self.leaves
        n = g.n_leaves
        mode = self.labels_mode
        width = self.width
        legend_w = min(1.6, 0.32 * width)
        bold = lv.highlight
        texts = [_fit_label(name, self.size, 2 * _MAX_LABEL_PT, b) for name, b in zip(g.names, bold)]
        widths = np.array([_text_width(t, self.size, b) for t, b in zip(texts, bold)])
        row = self.size * _ROW  # points per leaf row when every leaf is labelled
        all_fit = mode == "all" or (mode == "auto" and n * row / 72 <= 9.0)
        title_h = 0.3 if self.title else 0.05
        height = (n * row / 72 if all_fit or not isinstance(mode, str) else min(9.0, max(2.5, n * 2.2 / 72))) + 0.35 + title_h
        fig = new_figure(width, height, layout=None)
        plot_w = width - legend_w
        bottom = 0.3 / height
        ax = fig.add_axes((0.01, bottom, plot_w / width - 0.01, 1 - bottom - title_h / height))
        ax.axis("off")
        self.ax = ax
        points_x = (plot_w - 0.05) * 72
        column_start = 1.0 + 0.02
        columns_end = column_start + len(self.rings) * (self.COLUMN + 0.008)
        mark_x = columns_end + (0.02 if lv.marks and any(f.any() for f in lv.marks.values()) else 0.0)
        label_x = mark_x + 0.015
        longest = widths.max() if mode != "none" else 0.0
        xmax = label_x / max(0.2, 1 - (longest + 4) / points_x)
        ax.set_xlim(-0.01, xmax)
        ax.set_ylim(n - 0.5, -0.5)
        points_y = (1 - bottom - title_h / height) * height * 72
        per_row = points_y / n
        x, y = g.radius, g.slot
        self._draw_edges(ax)
        for k, ring in enumerate(self.rings):
            x0 = column_start + k * (self.COLUMN + 0.008)
            for slot, (name, colour) in enumerate(zip(g.names, self.ring_colours(ring))):
                ax.add_patch(Rectangle((x0, slot - 0.5), self.COLUMN, 1.0, facecolor=colour, edgecolor="none",
                                       gid=f"ring-{ring}:{name}"))
        self._draw_marks(ax, mark_x)
        self._draw_support(ax, x, y)
        if mode == "clades":
            clades = [(node, f) for node, f in pure_clades(g, lv.family) if g.last[node] > g.first[node]]
            middle = np.array([(g.first[node] + g.last[node]) / 2 for node, _ in clades])
            count = np.array([g.last[node] - g.first[node] + 1 for node, _ in clades], dtype=float)
            keep = _choose_labels((self.size + 1) * _ROW / per_row, middle, count, None)
            for (_, family), m, c in zip(np.array(clades, dtype=object)[keep], middle[keep], count[keep]):
                ax.text(label_x, m, f"{family} ({int(c)})", fontsize=self.size + 1, va="center", color="#222222",
                        gid="clade-label")
        elif mode != "none":
            wanted = self.wanted_labels()
            if all_fit and wanted is None:
                keep = np.ones(n, dtype=bool)
            elif wanted is not None:
                keep = wanted
            else:
                keep = _choose_labels(self.size * _ROW / per_row, np.arange(n, dtype=float), self.label_priority(), None)
            for k in np.flatnonzero(keep):
                ax.text(label_x, k, texts[k], fontsize=self.size, va="center", ha="left", color="#222222",
                        fontweight="bold" if bold[k] else "normal", gid="leaf-label")
        bar = self.scale()
        if bar is not None:
            length, text = bar
            ax.plot([0, length], [n - 0.5 + 0.9 * 9 / per_row * 1.2] * 2, color="black", lw=0.8, clip_on=False, gid="scale-bar")
            ax.text(0, n - 0.5 + 0.4 * 9 / per_row * 1.2, text, fontsize=6, va="bottom", clip_on=False)
        if self.title:
            fig.text(0.01, 1 - 0.04 / height, self.title, fontsize=8, va="top", ha="left")
        self.add_legends(fig, plot_w / width + 0.01, 1 - title_h / height - 0.01)
        return fig

    def _draw_edges(self, ax):
        g = self.g
        internal = ~g.is_leaf
        segments = {True: [], False: []}
        colours = {True: [], False: []}
        for node in range(1, len(g.parent)):
            up = g.parent[node]
            segments[bool(internal[node])].append(((g.radius[up], g.slot[node]), (g.radius[node], g.slot[node])))
            colours[bool(internal[node])].append(self.edge_colour[node])
        connectors = [((g.radius[node], g.slot[kids[0]]), (g.radius[node], g.slot[kids[-1]])) for node, kids in g.children().items()]
        connector_colours = [self.edge_colour[node] for node in g.children()]
        guides = [((r, s), (1.0 + 0.01, s)) for r, s in zip(g.radius[g.leaf_node], g.slot[g.leaf_node]) if r < 1 - 1e-9]
        lw = self.line_width
        if guides:
            ax.add_collection(LineCollection(guides, colors=_GUIDE, linewidths=0.3, linestyles=(0, (1, 1.5)), gid="tree-guides"))
        ax.add_collection(LineCollection(connectors, colors=connector_colours, linewidths=lw, capstyle="butt", gid="tree-connectors"))
        ax.add_collection(LineCollection(segments[True], colors=colours[True], linewidths=lw, capstyle="butt", gid="tree-internal-edges"))
        ax.add_collection(LineCollection(segments[False], colors=colours[False], linewidths=lw, capstyle="butt", gid="tree-terminal-edges"))

    def _draw_marks(self, ax, mark_x):
        g = self.g
        for k, (label, flags) in enumerate(self.leaves.marks.items()):
            if not flags.any():
                continue
            clades = pure_clades(g, [True if f else None for f in flags])
            bars = [((mark_x, g.first[node] - 0.4), (mark_x, g.last[node] + 0.4)) for node, _ in clades]
            ax.add_collection(LineCollection(bars, colors="black", linewidths=1.2, capstyle="butt", gid=f"mark-bar:{label}"))
            ax.scatter([g.radius[node] for node, _ in clades], [g.slot[node] for node, _ in clades], marker=_MARKERS[k % len(_MARKERS)],
                       s=16, c="black", edgecolors="white", linewidths=0.4, zorder=4, gid=f"mark:{label}")

    _draw_support = _Circular._draw_support


@styled
def draw_neighbourhood(tree: Tree, model: str, info: Mapping[str, Mapping] | None = None, size: int = 25, **options: Any):
    """The smallest clade of ``tree`` holding ``model`` and at least ``size`` leaves, drawn with ``model`` highlighted.

    Parameters
    ----------
    tree : Bio.Phylo tree
        Rooted as it should be read.
    model : str
        A leaf of ``tree``.
    info : dict
        model -> lineage info, as for :func:`draw_tree`.
    size : int
        Fewest leaves to show (the whole tree when it has fewer).
    **options
        Passed to :func:`draw_tree` (default: rectangular, every label, branch
        lengths as estimated).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> tree, _ = pl.mad_root(pl.build_tree(pl.distance_matrix(dna)))
    >>> fig = draw_neighbourhood(tree, "meta-llama/Llama-2-7B-Instruct", size=10)
    >>> labels = fig.findobj(lambda a: getattr(a, "get_gid", lambda: None)() == "leaf-label")
    >>> len(labels) >= 10, [t.get_text() for t in labels if t.get_fontweight() == "bold"]
    (True, ['meta-llama/Llama-2-7B-Instruct'])
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise PhyloLLMError(f"a neighbourhood shows at least 2 models (size), got {size!r}")
    clade = neighbourhood(tree, model, size)
    options = {"layout": "rectangular", "labels": "all", "title": f"Neighbourhood of {model} ({clade.count_terminals()} models)",
               **options}
    options["highlight"] = [model, *options.get("highlight", ())]
    return draw_tree(clade, info, **options)


def neighbourhood(tree: Tree, model: str, size: int = 25) -> Tree:
    """A copy of the smallest clade of ``tree`` that holds ``model`` and at least ``size`` leaves (rooted at the clade).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("(((a,b),c),(d,e));"), "newick")
    >>> sorted(c.name for c in neighbourhood(tree, "a", 3).get_terminals())
    ['a', 'b', 'c']
    """
    flat = flatten(tree)
    if model not in flat.names:
        raise PhyloLLMError(f"{model!r} is not a leaf of the tree")
    node = int(flat.leaf_nodes[flat.names.index(model)])
    while node > 0 and flat.below[node].sum() < size:
        node = int(flat.parent[node])
    clades = list(iter_preorder(tree))  # the numbering of flatten
    return copy_tree(Tree(root=clades[node], rooted=True))
