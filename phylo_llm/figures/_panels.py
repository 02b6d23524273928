"""The other figures: DNA map, distance heatmap, ROC curves, ablations, evolutionary speed."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from sklearn.manifold import TSNE
from sklearn.metrics import roc_auc_score, roc_curve

from ..distance import DistanceMatrix, distance_matrix, mantel
from ..dna import DNA
from ..lineage import real_family
from ..score import PairRanker, condensed_index, documented_pairs
from ..tree import flatten
from ._style import OTHER, PALETTE, family_colours, new_figure, styled


def _family_of(ids, info):
    return [real_family(info.get(m, {}).get("family")) for m in ids]


def _legend(ax, colours, loc="best"):
    handles = [Patch(color=c, label=f) for f, c in colours.items() if c != OTHER]
    handles.append(Patch(color=OTHER, label="other / unknown"))
    ax.legend(handles=handles, loc=loc, frameon=False, title="family")


@styled
def dna_map(dna: DNA, info: dict, seed: int = 0, title: str = ""):
    """2-D t-SNE of the DNA vectors (Euclidean), points coloured by family; seeded."""
    perplexity = float(min(30, max(2, (dna.n_models - 1) / 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(dna.vectors)
    families = _family_of(dna.ids, info)
    colours = family_colours(families)
    fig = new_figure(6.5, 5.5)
    ax = fig.add_subplot(111)
    ax.scatter(xy[:, 0], xy[:, 1], c=[colours.get(f, OTHER) if f else OTHER for f in families], s=12, linewidths=0)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_xticks([])
    ax.set_yticks([])
    _legend(ax, colours, loc="center left")
    ax.set_title(title or f"DNA map of {dna.n_models} models (t-SNE, seed {seed})")
    return fig


@styled
def distance_heatmap(dist: DistanceMatrix, order: list[str], info: dict, title: str = ""):
    """The distance matrix in the tree's leaf order, with a family colour bar."""
    ordered = dist.subset(order)
    families = _family_of(order, info)
    colours = family_colours(families)
    fig = new_figure(7, 6.2)
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 30], wspace=0.02)
    bar, ax = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    bar.imshow(np.array([[to_rgb(colours.get(f, OTHER) if f else OTHER)] for f in families]), aspect="auto", interpolation="nearest")
    bar.axis("off")
    image = ax.imshow(ordered.values, cmap="viridis_r", interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{dist.n_models} models in tree order")
    fig.colorbar(image, ax=ax, fraction=0.04, label=f"{dist.metric or 'distance'}")
    _legend(ax, colours, loc="upper right")
    ax.set_title(title or "Pairwise DNA distances (tree order)")
    return fig


@styled
def roc_figure(dist: DistanceMatrix, lineage, title: str = ""):
    """ROC curves of documented pairs vs all other pairs, one per relation type, AUC in the legend."""
    pairs = documented_pairs(lineage, dist.ids)
    scores = -dist.condensed()
    fig = new_figure(4.8, 4.5)
    ax = fig.add_subplot(111)
    ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--", label="chance (AUC 0.5)")
    for k, (relation, group) in enumerate(sorted(pairs.groupby("relation"), key=lambda g: -len(g[1]))):
        labels = np.zeros(len(scores), dtype=bool)
        labels[condensed_index(group.i.to_numpy(), group.j.to_numpy(), dist.n_models)] = True
        if labels.sum() < 2:
            continue
        fpr, tpr, _ = roc_curve(labels, scores)
        auc = roc_auc_score(labels, scores)
        ax.plot(fpr, tpr, color=PALETTE[k % len(PALETTE)], lw=1.2, label=f"{relation} (n={int(labels.sum())}, AUC {auc:.3f})")
    ax.set_xlabel("false positive rate (other pairs)")
    ax.set_ylabel("true positive rate (documented pairs)")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(title or "Relation detection by DNA distance")
    return fig


@styled
def dimension_ablation(variants: dict[int, DNA], lineage, reference: int | None = None):
    """Correlation of each DNA dimension's distances with the largest one's, and relation AUC per dimension.

    Returns the figure and the numbers behind it.
    """
    dims = sorted(variants)
    reference = reference or dims[-1]
    common = sorted(set.intersection(*(set(v.ids) for v in variants.values())))
    dists = {d: distance_matrix(variants[d].subset(common)) for d in dims}
    ref = dists[reference].condensed()
    rows = []
    pairs = documented_pairs(lineage, common)
    for d in dims:
        row = {"dim": d, "pearson_vs_ref": float(np.corrcoef(dists[d].condensed(), ref)[0, 1])}
        ranker = PairRanker(dists[d])
        for relation, group in pairs.groupby("relation"):
            if len(group) >= 2:
                row[f"auc_{relation}"] = ranker.auc(group.i.to_numpy(), group.j.to_numpy())
        rows.append(row)
    fig = new_figure(8, 3.4)
    left, right = fig.add_subplot(121), fig.add_subplot(122)
    left.plot(dims, [r["pearson_vs_ref"] for r in rows], marker="o", color=PALETTE[0])
    left.set_xscale("log", base=2)
    left.set_xlabel("DNA dimension")
    left.set_ylabel(f"Pearson r with {reference}-d distances")
    left.set_title("Distance agreement")
    relations = sorted({k[4:] for r in rows for k in r if k.startswith("auc_")})
    for k, relation in enumerate(relations):
        right.plot(dims, [r.get(f"auc_{relation}", np.nan) for r in rows], marker="o", color=PALETTE[k % len(PALETTE)], label=relation)
    right.axhline(0.5, color="#999999", ls="--", lw=0.8)
    right.set_xscale("log", base=2)
    right.set_xlabel("DNA dimension")
    right.set_ylabel("relation AUC")
    right.set_title("Relation detection")
    right.legend(frameon=False)
    return fig, rows


@styled
def encoder_ablation(dists: dict[str, DistanceMatrix], permutations: int = 999, seed: int = 0):
    """Mantel tests between the distance matrices of different encoders, as scatter panels."""
    names = list(dists)
    common = sorted(set.intersection(*(set(d.ids) for d in dists.values())))
    aligned = {k: v.subset(common) for k, v in dists.items()}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    fig = new_figure(3.2 * len(pairs), 3.2)
    results = []
    for k, (a, b) in enumerate(pairs):
        r, p = mantel(aligned[a].values, aligned[b].values, permutations=permutations, seed=seed)
        results.append({"a": a, "b": b, "r": r, "p": p, "models": len(common)})
        ax = fig.add_subplot(1, len(pairs), k + 1)
        ax.scatter(aligned[a].condensed(), aligned[b].condensed(), s=1, alpha=0.3, color=PALETTE[0], linewidths=0, rasterized=True)
        ax.set_xlabel(f"{a} distance")
        ax.set_ylabel(f"{b} distance")
        ax.set_title(f"Mantel r = {r:.3f}, p = {p:.3g}")
    return fig, results


@styled
def evolutionary_speed(tree, info: dict, min_models: int = 5):
    """Root-to-leaf distance against release month per family (with a least-squares slope), and where
    encoder-decoder models sit: root distance and depth (edges from the root) by architecture.

    Returns the figure and the fitted slopes.
    """
    flat = flatten(tree)
    depth = flat.depth[flat.leaf_nodes]
    edges = np.zeros(len(flat.parent), dtype=int)
    for node in range(1, len(flat.parent)):
        edges[node] = edges[flat.parent[node]] + 1
    hops = edges[flat.leaf_nodes]
    rows = []
    for name, d in zip(flat.names, depth):
        meta = info.get(name, {})
        release, family = meta.get("release"), real_family(meta.get("family"))
        if release and family:
            year, month = str(release).split("-")[:2]
            rows.append((family, int(year) + (int(month) - 1) / 12, d))
    families = {}
    for family, t, d in rows:
        families.setdefault(family, []).append((t, d))
    fitted = {}
    for family, points in sorted(families.items(), key=lambda kv: -len(kv[1])):
        t = np.array([p[0] for p in points])
        if len(points) >= min_models and np.ptp(t) > 0:
            slope, intercept = np.polyfit(t, [p[1] for p in points], 1)
            fitted[family] = {"slope_per_year": float(slope), "intercept": float(intercept), "models": len(points),
                              "from": float(t.min()), "to": float(t.max())}
    fig = new_figure(9, 3.8)
    left, right = fig.add_subplot(121), fig.add_subplot(122)
    for k, (family, fit) in enumerate(list(fitted.items())[: len(PALETTE)]):
        points = np.array(families[family])
        colour = PALETTE[k]
        left.scatter(points[:, 0], points[:, 1], s=8, color=colour, linewidths=0)
        span = np.array([fit["from"], fit["to"]])
        left.plot(span, fit["intercept"] + fit["slope_per_year"] * span, color=colour, lw=1.2,
                  label=f"{family} ({fit['slope_per_year']:+.3f}/yr, n={fit['models']})")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("release (year)")
    left.set_ylabel("distance from the root")
    left.set_title("Evolutionary speed per family")
    left.legend(frameon=False, fontsize=6)
    arch = [info.get(name, {}).get("architecture", "(unknown)") for name in flat.names]
    groups = [(a, depth[[x == a for x in arch]], hops[[x == a for x in arch]]) for a in ("decoder_only", "encoder_decoder", "encoder_only")]
    groups = [g for g in groups if len(g[1])]
    right.boxplot([g[2] for g in groups], tick_labels=[f"{g[0]}\n(n={len(g[1])})" for g in groups], showfliers=True)
    right.set_ylabel("edges from the root")
    right.set_title("Where architectures sit in the rooted tree")
    placement = {g[0]: {"models": int(len(g[1])), "median_root_distance": float(np.median(g[1])), "median_edges_from_root": float(np.median(g[2]))} for g in groups}
    return fig, {"slopes": fitted, "architectures": placement}


__all__ = ["dna_map", "distance_heatmap", "roc_figure", "dimension_ablation", "encoder_ablation", "evolutionary_speed"]
