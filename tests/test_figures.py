"""Figures: each function draws what it should, checked on the drawn artists against independent references
(scikit-learn, SciPy, brute force, Biopython's own tree walks), and the CLI writes every file."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb as _rgb
from scipy.stats import linregress, pearsonr
from sklearn.metrics import roc_auc_score

import phylo_llm as pl
from phylo_llm.distance import mantel
from phylo_llm.figures import (
    dimension_ablation,
    distance_heatmap,
    dna_map,
    draw_neighbourhood,
    draw_tree,
    encoder_ablation,
    evolutionary_speed,
    palette,
    roc_figure,
)
from phylo_llm.figures._uncertainty import detection, fit_slope
from phylo_llm.simulate import simulate
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


def by_gid(fig, prefix):
    return [a for a in fig.findobj(lambda a: str(a.get_gid() or "").startswith(prefix))]


def maximal_clades(tree, members: set[str]) -> int:
    """Clades whose leaves are all in ``members`` and whose parent's are not, counted with Biopython's own walks."""
    count = 0
    parents = {id(c): p for p in tree.find_clades() for c in p.clades}
    for clade in tree.find_clades():
        inside = {leaf.name for leaf in clade.get_terminals()} <= members
        up = parents.get(id(clade))
        if inside and (up is None or not {leaf.name for leaf in up.get_terminals()} <= members):
            count += 1
    return count


@pytest.mark.parametrize("layout", ["circular", "rectangular"])
def test_tree_figure_rings_marks_and_labels(sim, layout):
    s, _, info, _, tree = sim
    fig = draw_tree(tree, info, layout=layout, labels="all", rings=("family", "release"))
    ring = {w.get_gid().split(":", 1)[1]: w.get_facecolor() for w in by_gid(fig, "ring-family:")}
    assert set(ring) == set(s.dna.ids)  # one ring cell per leaf
    for model, colour in ring.items():
        assert colour == pytest.approx((*_rgb(palette.family_colour(info[model]["family"])), 1.0))
    assert len(by_gid(fig, "ring-release:")) == s.dna.n_models
    encdec = {m for m in s.dna.ids if info[m]["architecture"] == "encoder_decoder"}
    marks = by_gid(fig, "mark:encoder-decoder")[0]
    assert len(marks.get_offsets()) == maximal_clades(tree, encdec) >= 1  # one mark per maximal clade
    labels = sorted(t.get_text() for t in by_gid(fig, "leaf-label"))
    assert len(labels) == s.dna.n_models
    assert all(text == model or (text.endswith("…") and model.startswith(text[:-1])) for text, model in zip(labels, sorted(s.dna.ids)))
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert {"Llama", "Qwen", "Mistral", "Gemma", "T5", "encoder-decoder (14)"} <= set(legend)


def test_tree_support_is_drawn_when_present():
    from io import StringIO

    from Bio import Phylo

    tree = Phylo.read(StringIO("(((a,b)0.95,(c,d)0.8)0.5,(e,f)0.3);"), "newick")
    fig = draw_tree(tree, {}, layout="rectangular")
    high, mid = by_gid(fig, "support-high")[0], by_gid(fig, "support-mid")[0]
    assert len(high.get_offsets()) == 1 and len(mid.get_offsets()) == 1  # 0.95 and 0.8; 0.5 and 0.3 below 0.7
    assert not by_gid(draw_tree(Phylo.read(StringIO("((a,b),(c,d));"), "newick"), {}), "support")


def test_neighbourhood_is_the_smallest_clade_with_enough_leaves(sim):
    s, _, info, _, tree = sim
    model = s.dna.ids[7]
    fig = draw_neighbourhood(tree, model, info, size=12)
    shown = {t.get_text() for t in by_gid(fig, "leaf-label")}
    parents = {id(c): p for p in tree.find_clades() for c in p.clades}
    clade = next(c for c in tree.get_terminals() if c.name == model)
    while clade.count_terminals() < 12:  # Biopython's walk, independent of the package's
        clade = parents[id(clade)]
    assert shown == {leaf.name for leaf in clade.get_terminals()}
    bold = [t for t in by_gid(fig, "leaf-label") if t.get_fontweight() == "bold"]
    assert [t.get_text() for t in bold] == [model]


def test_dna_map_colours_every_model_by_its_family(sim):
    s, _, info, _, _ = sim
    fig = dna_map(s.dna, info, seed=0)
    points = fig.axes[0].collections[0]
    assert len(points.get_offsets()) == s.dna.n_models
    drawn = sorted(tuple(np.round(c[:3], 4)) for c in points.get_facecolors())
    wanted = sorted(tuple(np.round(_rgb(palette.family_colour(info[m]["family"])), 4)) for m in s.dna.ids)
    assert drawn == wanted
    again = dna_map(s.dna, info, seed=0).axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(points.get_offsets(), again)


def test_heatmap_in_tree_order(sim):
    s, _, info, dist, tree = sim
    order = [leaf.name for leaf in tree.get_terminals()]
    fig = distance_heatmap(dist, order, info)
    image = by_gid(fig, "distance-image")[0].get_array()
    np.testing.assert_array_equal(image, dist.subset(order).values)
    strip = by_gid(fig, "family-strip")[0].get_array()[:, 0, :]
    np.testing.assert_allclose(strip, [_rgb(palette.family_colour(info[m]["family"])) for m in order])


def test_detection_auc_and_bootstrap_against_sklearn_and_brute_force():
    rng = np.random.default_rng(5)
    condensed = rng.normal(size=400).round(1)  # ties on purpose
    positives = rng.choice(400, size=12, replace=False)
    found = detection(condensed, positives)
    labels = np.zeros(400, dtype=bool)
    labels[positives] = True
    assert found.auc == pytest.approx(roc_auc_score(labels, -condensed))
    (lo, hi), band_lo, band_hi = found.bootstrap(np.linspace(0, 1, 11), replicates=300, seed=2)
    draws = np.random.default_rng(2).integers(0, 12, size=(300, 12))  # the same resamples, scored by scikit-learn
    sorted_pos = np.sort(positives)
    reference = []
    for draw in draws:
        chosen = sorted_pos[draw]
        keep = ~labels
        scores = np.r_[-condensed[chosen], -condensed[keep]]
        truth = np.r_[np.ones(len(chosen)), np.zeros(keep.sum())]
        reference.append(roc_auc_score(truth, scores))
    assert (lo, hi) == pytest.approx(tuple(np.percentile(reference, [2.5, 97.5])))
    assert (band_lo <= band_hi).all() and band_hi[-1] == 1.0


def test_slope_interval_against_linregress_and_brute_force():
    rng = np.random.default_rng(3)
    x = rng.uniform(2022, 2025, 30)
    y = 0.1 * x + rng.normal(0, 0.05, 30)
    fit = fit_slope(x, y, replicates=400, seed=4)
    assert fit.slope == pytest.approx(linregress(x, y).slope)
    take = np.random.default_rng(4).integers(0, 30, size=(400, 30))
    slopes = [linregress(x[t], y[t]).slope for t in take]
    assert fit.slope_interval == pytest.approx(tuple(np.percentile(slopes, [2.5, 97.5])))
    assert fit.slope_interval[0] < 0.1 < fit.slope_interval[1]


def test_roc_curves_have_the_right_auc_and_intervals_only_for_enough_pairs(sim):
    s, lineage, _, dist, _ = sim
    fig = roc_figure(dist, lineage, replicates=200)
    texts = legend_texts(fig.axes[0])
    pos = {m: i for i, m in enumerate(dist.ids)}
    iu, ju = np.triu_indices(dist.n_models, 1)
    for relation in ("same_weights", "finetune"):
        edges = s.relations[s.relations.relation == relation]
        wanted = {tuple(sorted((pos[c], pos[p]))) for c, p in zip(edges.child, edges.parent)}
        labels = [(a, b) in wanted for a, b in zip(iu, ju)]
        auc = roc_auc_score(labels, -dist.values[iu, ju])
        line = next(t for t in texts if t.startswith(f"{relation} (n = {len(wanted)}) AUC {auc:.2f} ["))
        assert line.endswith("]")
    assert len(by_gid(fig, "band:")) == sum(t.endswith("]") for t in texts)
    assert "chance (AUC 0.5)" in texts


def test_dimension_ablation(sim):
    s, lineage, _, _, _ = sim
    rng = np.random.default_rng(0)
    variants = {d: pl.DNA(s.dna.ids, s.dna.vectors @ rng.normal(size=(128, d)) / np.sqrt(d)) for d in (4, 32, 256)}
    fig, rows = dimension_ablation(variants, lineage, main=s.dna, replicates=100)
    assert [r["dim"] for r in rows] == [4, 32, 256] and rows[-1]["pearson_vs_ref"] == pytest.approx(1.0)
    assert rows[0]["pearson_vs_ref"] < rows[1]["pearson_vs_ref"]
    reference = pearsonr(pl.distance_matrix(variants[4]).condensed(), pl.distance_matrix(variants[256]).condensed())[0]
    assert rows[0]["pearson_vs_ref"] == pytest.approx(reference)
    assert by_gid(fig, "main-auc:") and by_gid(fig, "difference-table")


def test_mantel_against_scipy_and_by_construction():
    rng = np.random.default_rng(1)
    a = pl.distance_matrix(pl.DNA([f"m{i}" for i in range(30)], rng.normal(size=(30, 5)))).values
    b = pl.distance_matrix(pl.DNA([f"m{i}" for i in range(30)], rng.normal(size=(30, 5)))).values
    iu = np.triu_indices(30, 1)
    r, p = mantel(a, b, permutations=199)
    assert r == pytest.approx(pearsonr(a[iu], b[iu])[0])
    assert p > 0.01  # independent matrices
    assert mantel(a, a, permutations=199) == (pytest.approx(1.0), 1 / 200)


def test_encoder_ablation_hexbins_hold_every_pair(sim):
    _, _, _, dist, _ = sim
    noisy = pl.DistanceMatrix(dist.ids, dist.values * 1.1, "x")
    fig, rows = encoder_ablation({"a": dist, "b": noisy, "c": dist}, permutations=49)
    assert all(r["r"] == pytest.approx(1.0) for r in rows)
    hexbins = by_gid(fig, "hexbin:")
    assert len(hexbins) == 3 and all(h.get_array().sum() == dist.n_models * (dist.n_models - 1) // 2 for h in hexbins)


def test_evolutionary_speed_slopes_only_where_enough_months(sim):
    _, _, info, _, tree = sim
    fig, numbers = evolutionary_speed(tree, info, replicates=200)
    depth = {c.name: d for c, d in tree.depths().items() if c.is_terminal()}
    points = [(int(info[m]["release"][:4]) + (int(info[m]["release"][5:]) - 1) / 12, depth[m]) for m in depth if info[m]["family"] == "Llama"]
    assert numbers["slopes"]["Llama"]["slope_per_year"] == pytest.approx(linregress(*zip(*points)).slope)
    assert numbers["architectures"]["encoder_decoder"]["models"] == 14
    few = {m: dict(info[m], release="2024-01" if k % 2 else "2024-02") for k, m in enumerate(info)}
    fig, numbers = evolutionary_speed(tree, few, replicates=50)  # two release months: no line anywhere
    assert not by_gid(fig, "fit:") and all("slope_per_year" not in v for v in numbers["slopes"].values())


def test_figures_cli_on_the_demo(tmp_path):
    result = run_cli("figures", DEMO / "dna.parquet", "--lineage", DEMO, "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped 5_dimension_ablation and 6_encoder_ablation" in result.stderr
    for name in ("1_tree", "1b_tree_cladogram", "2_dna_map", "3_distance_heatmap", "4_relation_roc", "7_evolutionary_speed"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000 and (tmp_path / f"{name}.pdf").exists()
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert run_cli("figures", DEMO / "dna.parquet", "--lineage", DEMO, "-o", tmp_path, "-q").returncode == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first  # deterministic, every file


def test_figures_of_the_published_paper_set(shared, tmp_path):
    result = run_cli("figures", shared / "llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu", "-o", tmp_path, "-q")
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.png"))) == 8 and (tmp_path / "figures.json").exists()
