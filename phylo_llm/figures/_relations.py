"""Relation detection by DNA distance: ROC curves (figure 4) and how it changes with the DNA dimension (figure 5).

Every AUC is drawn with its 95% bootstrap interval over the documented pairs
and the number of pairs behind it (:mod:`phylo_llm.figures._uncertainty`).
"""

from __future__ import annotations

import numpy as np

from ..distance import DistanceMatrix, distance_matrix
from ..dna import DNA
from ..lineage import RELATION_TYPES, LineageLike
from ..score import condensed_index, documented_pairs
from . import palette
from ._style import DOUBLE_COLUMN, legend_right, new_figure, note, styled
from ._uncertainty import MIN_POINTS, REPLICATES, Detection, detection

_GRID = np.linspace(0.0, 1.0, 201)


def relation_detections(dist: DistanceMatrix, lineage, min_pairs: int = 2) -> dict[str, Detection]:
    """Per relation type (in :data:`RELATION_TYPES` order), how its documented pairs rank among all pairs.

    Relations with fewer than ``min_pairs`` distinct pairs among the models are left out.
    """
    pairs = documented_pairs(lineage, dist.ids)
    condensed = dist.condensed()
    out = {}
    for relation in RELATION_TYPES:
        group = pairs[pairs.relation == relation]
        if len(group):
            index = np.unique(condensed_index(group.i.to_numpy(), group.j.to_numpy(), dist.n_models))
            if len(index) >= min_pairs:
                out[relation] = detection(condensed, index)
    return out


@styled
def roc_figure(dist: DistanceMatrix, lineage: LineageLike, title: str = "", replicates: int = REPLICATES, seed: int = 0, caption: str = ""):
    """ROC curves of documented pairs against all other pairs, one per relation, with 95% bootstrap bands.

    The legend gives each relation's number of pairs and AUC with its
    interval; a note under the axes says what was resampled, followed by
    ``caption``.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> fig = roc_figure(pl.distance_matrix(dna), pl.load_lineage("data/demo"), replicates=200)
    >>> [t.get_text().split(" (")[0] for t in fig.axes[0].get_legend().get_texts()][:3]
    ['chance', 'same_weights', 'finetune']
    """
    found = relation_detections(dist, lineage)
    fig = new_figure(DOUBLE_COLUMN * 0.68, 3.3)
    ax = fig.add_subplot(111)
    ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--", label="chance (AUC 0.5)", gid="chance")
    for k, (relation, hit) in enumerate(found.items()):
        colour = palette.relation_colour(relation)
        if hit.n >= MIN_POINTS:
            (lo, hi), band_lo, band_hi = hit.bootstrap(_GRID, replicates, seed + k)
            ax.fill_between(_GRID, band_lo, band_hi, color=colour, alpha=0.18, linewidth=0, step="post", gid=f"band:{relation}")
            interval = f"[{lo:.2f}, {hi:.2f}]"
        else:
            interval = "(too few pairs for a CI)"
        ax.step(_GRID, hit.roc(_GRID), where="post", color=colour, lw=1.2, gid=f"roc:{relation}",
                label=f"{relation} (n = {hit.n}) AUC {hit.auc:.2f} {interval}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false-positive rate (all other pairs)")
    ax.set_ylabel("true-positive rate (documented pairs)")
    legend_right(ax, ax.get_legend_handles_labels()[0], title="relation (pairs) AUC [95% CI]")
    negatives = next(iter(found.values())).negatives if found else 0
    ax.set_title(title or f"Relation detection by DNA distance ({dist.n_models} models)", loc="left")
    note(ax, f"n: documented pairs. Bands and [intervals]: 95% bootstrap over the documented pairs ({replicates:,} "
             f"resamples; {negatives:,} other pairs held fixed), drawn for n ≥ {MIN_POINTS}. {caption}".rstrip(), y=-0.2)
    return fig


def auc_intervals(dist: DistanceMatrix, lineage: LineageLike, replicates: int = REPLICATES, seed: int = 0) -> dict[str, dict]:
    """The numbers behind :func:`roc_figure`: per relation, pairs, AUC and its 95% bootstrap interval (same draws).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> numbers = auc_intervals(dist, "data/demo", replicates=20)
    >>> list(numbers), sorted(numbers["finetune"])
    (['same_weights', 'finetune', 'continued_pretraining', 'merge'], ['auc', 'auc_ci95', 'pairs'])
    """
    out: dict[str, dict] = {}
    for k, (relation, hit) in enumerate(relation_detections(dist, lineage).items()):
        out[relation] = {"pairs": hit.n, "auc": hit.auc}
        if hit.n >= MIN_POINTS:
            (lo, hi), _, _ = hit.bootstrap(_GRID, replicates, seed + k)
            out[relation]["auc_ci95"] = [float(lo), float(hi)]
    return out


@styled
def dimension_ablation(variants: dict[int, DNA], lineage: LineageLike, reference: int | None = None, main: DNA | None = None,
                       replicates: int = REPLICATES, seed: int = 0):
    """Agreement of each DNA dimension's distances with the largest one's, and relation AUC per dimension.

    Parameters
    ----------
    variants : dict
        dimension -> DNA of that dimension (e.g. the published ``_dna_dim*`` files).
    lineage : Lineage
    reference : int
        The dimension the others are compared with (default: the largest).
    main : DNA
        The main DNA (figure 4's). When given, its AUC on the same models is
        drawn at its dimension (open diamonds), and a table under the axes
        splits the difference between figure 4's AUC and this figure's into
        what the set of models changes and what the extraction changes.

    Returns
    -------
    (PaperFigure, list of dict)
        The figure and one row of numbers per dimension.

    Examples
    --------
    >>> import numpy as np, phylo_llm as pl
    >>> dna = pl.load_dna("data/demo/dna.parquet")
    >>> rng = np.random.default_rng(0)
    >>> variants = {d: pl.DNA(dna.ids, dna.vectors @ rng.normal(size=(dna.dim, d))) for d in (8, 64)}
    >>> fig, rows = dimension_ablation(variants, pl.load_lineage("data/demo"), replicates=100)
    >>> [r["dim"] for r in rows], rows[-1]["pearson_vs_ref"]
    ([8, 64], 1.0)
    """
    dims = sorted(variants)
    reference = reference or dims[-1]
    common = sorted(set.intersection(*(set(v.ids) for v in variants.values())))
    if main is not None:
        common = [m for m in common if m in set(main.ids)]
    dists = {d: distance_matrix(variants[d].subset(common)) for d in dims}
    ref = dists[reference].condensed()
    rows = []
    found = {}
    for d in dims:
        row: dict = {"dim": d, "models": len(common), "pearson_vs_ref": float(np.corrcoef(dists[d].condensed(), ref)[0, 1])}
        found[d] = relation_detections(dists[d], lineage)
        for k, (relation, hit) in enumerate(found[d].items()):
            row[f"auc_{relation}"] = hit.auc
            row[f"pairs_{relation}"] = hit.n
            if hit.n >= MIN_POINTS:
                (lo, hi), _, _ = hit.bootstrap(_GRID, replicates, seed + k)
                row[f"auc_{relation}_ci95"] = [float(lo), float(hi)]
        rows.append(row)
    relations = [r for r in RELATION_TYPES if any(r in f for f in found.values())]
    fig = new_figure(DOUBLE_COLUMN, 3.2 if main is None else 4.6)
    grid = fig.add_gridspec(2 if main is not None else 1, 2, height_ratios=[3.0, 1.5] if main is not None else None,
                            width_ratios=[1, 1.35])
    left, right = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    left.plot(dims, [r["pearson_vs_ref"] for r in rows], marker="o", ms=4, color="#333333", gid="pearson")
    left.set_xscale("log", base=2)
    left.set_xticks(dims, [str(d) for d in dims])
    left.minorticks_off()
    left.set_xlabel("DNA dimension")
    left.set_ylabel(f"Pearson r with the {reference}-d distances")
    left.set_title(f"Distance agreement ({len(common)} models)", loc="left")
    offsets = np.linspace(-0.15, 0.15, max(len(relations), 1))
    handles: list = []
    for k, relation in enumerate(relations):
        colour = palette.relation_colour(relation)
        x = np.array(dims, dtype=float) * 2 ** offsets[k]  # side by side, so intervals do not hide each other
        auc = np.array([r.get(f"auc_{relation}", np.nan) for r in rows])
        ci = np.array([r.get(f"auc_{relation}_ci95", [np.nan, np.nan]) for r in rows])
        n = max(r.get(f"pairs_{relation}", 0) for r in rows)
        label = f"{relation} (n = {n})" + ("" if n >= MIN_POINTS else ", no CI")
        if n >= MIN_POINTS:
            handles.append(right.errorbar(x, auc, yerr=[auc - ci[:, 0], ci[:, 1] - auc], color=colour, marker="o", ms=3.5,
                                          lw=1.0, elinewidth=0.7, capsize=1.5, label=label, gid=f"auc:{relation}"))
        else:
            handles += right.plot(x, auc, color=colour, marker="o", ms=3.5, lw=1.0, label=label, gid=f"auc:{relation}")
    if main is not None:
        at = main.dim
        base = relation_detections(distance_matrix(main.subset(common)), lineage)
        for k, relation in enumerate(relations):
            if relation in base:
                right.plot([at * 2 ** offsets[k]], [base[relation].auc], marker="D", ms=4.5, mfc="white",
                           mec=palette.relation_colour(relation), mew=1.0, ls="", gid=f"main-auc:{relation}")
        handles += right.plot([], [], marker="D", ms=4.5, mfc="white", mec="#333333", ls="",
                              label=f"main {at}-d DNA (figure 4), same models")
    handles.append(right.axhline(0.5, color="#999999", ls="--", lw=0.8, label="chance"))
    right.set_xscale("log", base=2)
    right.set_xticks(dims, [str(d) for d in dims])
    right.minorticks_off()
    right.set_xlabel("DNA dimension")
    right.set_ylabel(f"relation AUC (95% bootstrap CI for n ≥ {MIN_POINTS})")
    right.set_title("Relation detection", loc="left")
    legend_right(right, handles, title="relation (pairs)")
    if main is not None:
        _difference_table(fig.add_subplot(grid[1, :]), main, variants, common, lineage, relations)
    return fig, rows


def _difference_table(ax, main: DNA, variants: dict[int, DNA], common: list[str], lineage, relations: list[str]) -> None:
    """Why figure 4's AUC differs from figure 5's at the same dimension: models (pairs), then extraction."""
    ax.axis("off")
    dim = main.dim if main.dim in variants else min(variants, key=lambda d: abs(d - main.dim))
    everything = relation_detections(distance_matrix(main), lineage)
    same_models = relation_detections(distance_matrix(main.subset(common)), lineage)
    variant = relation_detections(distance_matrix(variants[dim].subset(common)), lineage)
    header = ["AUC (pairs)", f"figure 4: main DNA,\nall {main.n_models} models", f"main DNA,\nthese {len(common)} models",
              f"{dim}-d dimension file,\nthese {len(common)} models"]
    cells = []
    for relation in relations:
        row = [relation]
        for found in (everything, same_models, variant):
            hit = found.get(relation)
            row.append(f"{hit.auc:.2f} (n = {hit.n})" if hit else "-")
        cells.append(row)
    table = ax.table(cellText=cells, colLabels=header, cellLoc="left", colLoc="left", edges="open",
                     bbox=(0.0, 0.3, 0.8, 0.7), colWidths=[0.26, 0.24, 0.24, 0.26])
    table.auto_set_font_size(False)
    table.set_fontsize(6)
    table.set_gid("difference-table")
    made = "were extracted separately"
    counts = variants[dim].subset(common).metadata.get("probe_count")
    if counts is not None and counts.notna().all():
        short = int((counts < counts.max()).sum())
        made += f": {short} of {len(common)} models from fewer than {int(counts.max())} probes"
    note(ax, f"Why figure 4's AUCs differ from the {dim}-d points here: the models (columns 2 to 3: pairs whose models "
             f"lack a dimension file drop out) and the extraction (columns 3 to 4: the dimension files {made}).", y=0.22)
