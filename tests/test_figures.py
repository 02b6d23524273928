"""Figures: each function draws what it should (inspecting matplotlib objects, not pixels); the CLI writes every file."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from scipy.stats import linregress, pearsonr
from sklearn.metrics import roc_auc_score

import phylo_llm as pl
from phylo_llm.distance import mantel
from phylo_llm.figures import (
    dimension_ablation,
    distance_heatmap,
    dna_map,
    draw_tree,
    encoder_ablation,
    evolutionary_speed,
    roc_figure,
)
from phylo_llm.simulate import simulate
from phylo_llm.tree import iter_leaves
from tests.helpers import DEMO, run_cli


@pytest.fixture(scope="module")
def sim():
    s = simulate(seed=3)
    lineage = pl.Lineage(s.models.set_index("model"), s.relations)
    info = {m: lineage.info(m) for m in s.dna.ids}
    for k, m in enumerate(s.dna.ids):  # give releases so the speed panel has data
        info[m]["release"] = f"{2022 + k % 3}-{1 + k % 12:02d}"
    dist = pl.distance_matrix(s.dna)
    tree = pl.mad_root(pl.build_tree(dist))[0]
    return s, lineage, info, dist, tree


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize("layout", ["circular", "rectangular"])
def test_tree_figure(sim, layout):
    s, _, info, _, tree = sim
    fig = draw_tree(tree, info, layout=layout)
    ax = fig.axes[0]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points[0].get_offsets()) == s.dna.n_models  # one coloured dot per leaf
    assert len(points[1].get_offsets()) == 14  # the T5 family is encoder-decoder: marked
    assert {"Llama", "Qwen", "Mistral", "Gemma", "T5", "encoder-decoder"} <= set(legend_texts(ax))
    labels = [t.get_text() for t in ax.texts]
    assert sorted(labels) == sorted(s.dna.ids)


def test_dna_map(sim):
    s, _, info, _, _ = sim
    fig = dna_map(s.dna, info, seed=0)
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == s.dna.n_models
    assert ax.get_xlabel() == "t-SNE 1" and "Gemma" in legend_texts(ax)
    again = dna_map(s.dna, info, seed=0).axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), again)


def test_heatmap_in_tree_order(sim):
    s, _, info, dist, tree = sim
    order = [leaf.name for leaf in iter_leaves(tree)]
    fig = distance_heatmap(dist, order, info)
    image = fig.axes[1].images[0].get_array()
    assert image.shape == (s.dna.n_models, s.dna.n_models)
    np.testing.assert_array_equal(image, dist.subset(order).values)


def test_roc_curves_have_the_right_auc(sim):
    s, lineage, _, dist, _ = sim
    fig = roc_figure(dist, lineage)
    texts = legend_texts(fig.axes[0])
    pos = {m: i for i, m in enumerate(dist.ids)}
    copies = s.relations[s.relations.relation == "same_weights"]
    iu, ju = np.triu_indices(dist.n_models, 1)
    wanted = {tuple(sorted((pos[c], pos[p]))) for c, p in zip(copies.child, copies.parent)}
    labels = [(a, b) in wanted for a, b in zip(iu, ju)]
    auc = roc_auc_score(labels, -dist.values[iu, ju])
    assert f"same_weights (n=10, AUC {auc:.3f})" in texts and "chance (AUC 0.5)" in texts


def test_dimension_ablation(sim):
    s, lineage, _, _, _ = sim
    rng = np.random.default_rng(0)
    variants = {d: pl.DNA(s.dna.ids, s.dna.vectors @ rng.normal(size=(128, d)) / np.sqrt(d)) for d in (4, 32, 256)}
    fig, rows = dimension_ablation(variants, lineage)
    assert [r["dim"] for r in rows] == [4, 32, 256] and rows[-1]["pearson_vs_ref"] == pytest.approx(1.0)
    assert rows[0]["pearson_vs_ref"] < rows[1]["pearson_vs_ref"]
    assert fig.axes[0].get_xlabel() == "DNA dimension" and len(fig.axes[1].lines) >= 3


def test_mantel_against_scipy_and_by_construction():
    rng = np.random.default_rng(1)
    a = pl.distance_matrix(pl.DNA([f"m{i}" for i in range(30)], rng.normal(size=(30, 5)))).values
    b = pl.distance_matrix(pl.DNA([f"m{i}" for i in range(30)], rng.normal(size=(30, 5)))).values
    iu = np.triu_indices(30, 1)
    r, p = mantel(a, b, permutations=199)
    assert r == pytest.approx(pearsonr(a[iu], b[iu])[0])
    assert p > 0.01  # independent matrices
    assert mantel(a, a, permutations=199) == (pytest.approx(1.0), 1 / 200)


def test_encoder_ablation_panels(sim):
    _, _, _, dist, _ = sim
    noisy = pl.DistanceMatrix(dist.ids, dist.values * 1.1, "x")
    fig, rows = encoder_ablation({"a": dist, "b": noisy, "c": dist}, permutations=49)
    assert len(fig.axes) == 3 and all(r["r"] == pytest.approx(1.0) for r in rows)
    assert fig.axes[0].get_title().startswith("Mantel r = 1.000")


def test_evolutionary_speed_slopes(sim):
    _, _, info, _, tree = sim
    fig, numbers = evolutionary_speed(tree, info)
    depth = {c.name: d for c, d in tree.depths().items() if c.is_terminal()}
    points = [(int(info[m]["release"][:4]) + (int(info[m]["release"][5:]) - 1) / 12, depth[m]) for m in depth if info[m]["family"] == "Llama"]
    reference = linregress(*zip(*points)).slope
    assert numbers["slopes"]["Llama"]["slope_per_year"] == pytest.approx(reference)
    assert numbers["architectures"]["encoder_decoder"]["models"] == 14
    assert fig.axes[0].get_ylabel() == "distance from the root"


def test_figures_cli_on_the_demo(tmp_path):
    result = run_cli("figures", DEMO / "dna.parquet", "--lineage", DEMO, "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped 5_dimension_ablation and 6_encoder_ablation" in result.stderr
    for name in ("1_tree", "2_dna_map", "3_distance_heatmap", "4_relation_roc", "7_evolutionary_speed"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000 and (tmp_path / f"{name}.pdf").exists()
    first = (tmp_path / "4_relation_roc.pdf").read_bytes()
    assert run_cli("figures", DEMO / "dna.parquet", "--lineage", DEMO, "-o", tmp_path, "-q").returncode == 0
    assert (tmp_path / "4_relation_roc.pdf").read_bytes() == first  # deterministic


def test_figures_of_the_published_paper_set(shared, tmp_path):
    result = run_cli("figures", shared / "llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu", "-o", tmp_path, "-q")
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.png"))) == 7 and (tmp_path / "figures.json").exists()
