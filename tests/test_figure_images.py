"""What a reviewer would check on the figures, measured on their own geometry (drawn artists, display coordinates).

At the paper's size (313 models: the published paper set when ``PHYLO_LLM_SHARED_DATA`` is set, else 310
simulated ones): the tree shows its topology (internal edges hold a set share of the drawn edge length, where
the as-estimated lengths fail), no text is smaller than 5 pt at the printed size and no figure is wider than a
double column, tree labels never overlap, a family has one colour in every figure, and no legend covers data.
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pytest
from matplotlib.collections import Collection, LineCollection
from matplotlib.colors import to_hex
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

import phylo_llm as pl
from phylo_llm.figures import (
    dimension_ablation,
    distance_heatmap,
    dna_map,
    draw_tree,
    encoder_ablation,
    evolutionary_speed,
    palette,
    roc_figure,
)
from phylo_llm.simulate import simulate
from tests.helpers import shared_data

MIN_FONT = 5.0
DOUBLE_COLUMN = 7.2


@pytest.fixture(scope="module")
def paper_size():
    """(DNA, info, lineage, rooted tree, where from) of about 313 models."""
    shared = shared_data()
    folder = shared / "llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu" if shared else None
    if folder is not None and folder.is_dir():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pl.PhyloLLMWarning)
            dna = pl.load_dna(folder)
        lineage = pl.load_lineage()
        known = lineage.among(dna.ids)
        info = {m: known.info(m) for m in dna.ids}
        where = "paper set"
    else:
        s = simulate(finetunes_per_base=27, seed=1)
        dna, lineage = s.dna, pl.Lineage(s.models.set_index("model"), s.relations)
        info = {m: dict(lineage.info(m), release=f"{2021 + k % 4}-{1 + k % 12:02d}") for k, m in enumerate(dna.ids)}
        where = "simulation"
    tree = pl.mad_root(pl.build_tree(pl.distance_matrix(dna)))[0]
    return dna, info, lineage, tree, where


@pytest.fixture(scope="module")
def figures(paper_size):
    dna, info, lineage, tree, _ = paper_size
    dist = pl.distance_matrix(dna)
    rng = np.random.default_rng(0)
    variants = {d: pl.DNA(dna.ids, dna.vectors @ rng.normal(size=(dna.dim, d))) for d in (8, 64)}
    demo = pl.load_dna(pl_demo())
    demo_lineage = pl.load_lineage(pl_demo().parent)
    demo_tree = pl.mad_root(pl.build_tree(pl.distance_matrix(demo)))[0]
    demo_info = {m: demo_lineage.info(m) for m in demo.ids}
    figs = {
        "tree": draw_tree(tree, info, lengths="sqrt", rings=("family", "release"), title="t"),
        "cladogram": draw_tree(tree, info, lengths="cladogram", labels="clades", rings=("family", "release")),
        "demo_tree": draw_tree(demo_tree, demo_info, layout="rectangular"),
        "dna_map": dna_map(dna.subset(dna.ids[::5]), info),  # t-SNE of every fifth model (fast): the legend is what is tested
        "heatmap": distance_heatmap(dist, [c.name for c in tree.get_terminals()], info),
        "roc": roc_figure(dist, lineage, replicates=200),
        "dimensions": dimension_ablation(variants, lineage, main=dna, replicates=200)[0],
        "encoders": encoder_ablation({"a": dist, "b": pl.distance_matrix(variants[8])}, permutations=9)[0],
        "speed": evolutionary_speed(tree, info, replicates=200)[0],
    }
    for fig in figs.values():
        fig.canvas.draw()
        fig.info = demo_info if fig is figs["demo_tree"] else info  # whose lineage the figure shows
    return figs


def pl_demo():
    from tests.helpers import DEMO

    return DEMO / "dna.parquet"


def drawn_length(fig, gid: str) -> float:
    """Total length of the segments of the line collection ``gid``, in display units."""
    total = 0.0
    for collection in fig.findobj(lambda a: a.get_gid() == gid):
        transform = collection.get_transform()
        for segment in collection.get_segments():
            xy = transform.transform(np.asarray(segment))
            total += float(np.hypot(*np.diff(xy, axis=0).T).sum())
    return total


@pytest.mark.parametrize("lengths, least", [("sqrt", 0.15), ("cladogram", 0.40)])
def test_the_tree_figure_shows_its_topology(paper_size, lengths, least):
    _, info, _, tree, where = paper_size
    share = {}
    for kind in ("given", lengths):
        fig = draw_tree(tree, info, lengths=kind, labels="none")
        internal, terminal = drawn_length(fig, "tree-internal-edges"), drawn_length(fig, "tree-terminal-edges")
        share[kind] = internal / (internal + terminal)
    assert share[lengths] > least, f"{where}: internal edges hold {share[lengths]:.3f} of the drawn edges"
    assert share["given"] < 0.10, f"{where}: as estimated, terminal edges dominate ({share['given']:.3f}): the test can fail"


def test_no_text_below_the_minimum_and_no_figure_wider_than_two_columns(figures):
    for name, fig in figures.items():
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= MIN_FONT, f"{name}: a {min(sizes)} pt text"
        width = fig.get_tightbbox(fig.canvas.get_renderer()).width  # inches: what the saved file holds
        assert width <= DOUBLE_COLUMN + 0.05, f"{name} is {width:.2f} in wide"


def test_tree_labels_never_overlap(figures):
    fig = figures["tree"]
    ax = fig.axes[0]
    labels = [t for t in fig.findobj(Text) if t.get_gid() == "leaf-label"]
    assert len(labels) >= 40
    to_points = ax.transData + fig.dpi_scale_trans.inverted()  # data -> inches
    xy = np.array([to_points.transform(t.get_position()) for t in labels]) * 72  # points
    centre = to_points.transform((0, 0)) * 72
    radius = np.hypot(*(xy - centre).T)
    angle = np.sort(np.arctan2(*(xy - centre).T[::-1]))
    gaps = np.diff(np.r_[angle, angle[0] + 2 * np.pi]) * radius.min()  # arc between neighbouring baselines
    assert gaps.min() >= max(t.get_fontsize() for t in labels), "two radial labels closer than their height"
    renderer = fig.canvas.get_renderer()
    rect = [t.get_window_extent(renderer) for t in figures["demo_tree"].findobj(Text) if t.get_gid() == "leaf-label"]
    assert len(rect) == 70
    assert not any(a.overlaps(b) for a, b in combinations(rect, 2))


def _colour_of(handle) -> str:
    if isinstance(handle, Patch):
        return to_hex(handle.get_facecolor())
    if isinstance(handle, Line2D):
        return to_hex(handle.get_markerfacecolor())
    return to_hex(handle.get_facecolor()[0])


def test_a_family_has_one_colour_in_every_figure(figures):
    seen: dict[str, set[str]] = {}
    for fig in figures.values():
        legends = [a for a in fig.findobj(Legend)]
        for legend in legends:
            if legend.get_title().get_text() == "family":
                for handle, text in zip(legend.legend_handles, legend.get_texts()):
                    seen.setdefault(text.get_text(), set()).add(_colour_of(handle))
        for artist in fig.findobj(lambda a: str(a.get_gid() or "").startswith("ring-family:")):
            family = pl.lineage.real_family(fig.info.get(artist.get_gid().split(":", 1)[1], {}).get("family"))
            seen.setdefault(family or "no documented family", set()).add(to_hex(artist.get_facecolor()))
        for artist in fig.findobj(lambda a: str(a.get_gid() or "").startswith("points:")):
            seen.setdefault(artist.get_gid().split(":", 1)[1], set()).add(to_hex(artist.get_facecolor()[0]))
    named = {f: c for f, c in seen.items() if f not in ("other family", "no documented family")}
    assert len(named) >= 5
    for family, colours in named.items():
        assert colours == {palette.family_colour(family).lower()} or (
            family not in palette.FAMILY_COLOURS and colours == {palette.OTHER_FAMILY.lower()}), (family, colours)
    assert seen.get("no documented family", {palette.UNKNOWN.lower()}) == {palette.UNKNOWN.lower()}


def _along(xy: np.ndarray, steps: int) -> np.ndarray:
    """Points along a polyline (display coordinates): a legend on a line between two vertices is on the data."""
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 2:
        return xy
    t = np.linspace(0, 1, steps)[:, None, None]
    return (xy[:-1][None] * (1 - t) + xy[1:][None] * t).reshape(-1, 2)


def _box(box) -> np.ndarray:
    """A grid of points over a display box (an image is data everywhere)."""
    gx, gy = np.meshgrid(np.linspace(box.x0, box.x1, 25), np.linspace(box.y0, box.y1, 25))
    return np.c_[gx.ravel(), gy.ravel()]


def data_points(fig, renderer) -> np.ndarray:
    """Display coordinates of everything that is data: markers, lines and edges (along them), images, rings, tree labels."""
    points = []
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>" or ax.get_gid() == "release-colourbar":
            continue
        for artist in ax.get_children():
            if not artist.get_visible() or isinstance(artist, Legend):
                continue
            if isinstance(artist, Line2D) and len(artist.get_xydata()):
                points.append(_along(artist.get_transform().transform(artist.get_xydata()), 40))
            elif isinstance(artist, Collection):
                offsets = artist.get_offsets()
                if len(offsets) and np.ndim(offsets) == 2 and not isinstance(artist, LineCollection):
                    points.append(artist.get_offset_transform().transform(offsets))
                else:  # every path's vertices at once: one transform call, then points along each edge
                    paths = [p.vertices for p in artist.get_paths() if len(p.vertices) >= 2]
                    if paths:
                        starts = artist.get_transform().transform(np.vstack([v[:-1] for v in paths]))
                        ends = artist.get_transform().transform(np.vstack([v[1:] for v in paths]))
                        t = np.linspace(0, 1, 6)[:, None, None]
                        points.append((starts[None] * (1 - t) + ends[None] * t).reshape(-1, 2))
            elif isinstance(artist, AxesImage):
                points.append(_box(artist.get_window_extent(renderer)))
            elif isinstance(artist, Patch) and str(artist.get_gid() or "").startswith("ring-"):
                points.append(artist.get_transform().transform(artist.get_path().vertices))
            elif isinstance(artist, Text) and artist.get_gid() in ("leaf-label", "clade-label"):
                points.append(_box(artist.get_window_extent(renderer)))
    return np.vstack([p for p in points if len(p)])


def test_no_legend_covers_data(figures):
    for name, fig in figures.items():
        renderer = fig.canvas.get_renderer()
        points = data_points(fig, renderer)
        legends = fig.findobj(Legend)
        assert legends or name in ("encoders", "speed"), f"{name} has no legend"  # those two are labelled per panel
        for legend in legends:
            box = legend.get_window_extent(renderer).padded(-1.0)
            inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
            assert not inside.any(), f"{name}: {int(inside.sum())} data points under the legend"


def test_the_legend_check_finds_a_legend_on_the_data(figures):
    from phylo_llm.figures._style import new_figure

    fig = new_figure(3, 3)
    ax = fig.add_subplot(111)
    ax.scatter(*np.random.default_rng(0).uniform(size=(2, 400)), label="points")
    legend = ax.legend(loc="center")  # where the old figures put theirs
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box, points = legend.get_window_extent(renderer), data_points(fig, renderer)
    assert ((points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)).any()
