"""The score report as a readable table."""

from __future__ import annotations


def _f(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.{digits}f}"
    return str(value)


def _b(spread: dict | None) -> str:
    return f"{_f(spread['mean'])}±{_f(spread['sd'])}" if spread else "-"


def format_report(report: dict, show_missing: int = 10) -> str:
    """Plain-text tables: relations, families, tree fit, noise floor, models without metadata.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> report = pl.score.score(pl.load_dna("data/demo/dna.parquet"), pl.load_lineage("data/demo"), permutations=5)
    >>> format_report(report).splitlines()[0]
    '70 models; distances: euclidean; tree: nj; chance baselines: 5 permutations (seed 0), shown as mean±sd'
    """
    lines = []
    meta = report["input"]
    lines.append(
        f"{meta['models']} models; distances: {meta['metric'] or '-'}; tree: {meta['method']}; "
        f"chance baselines: {meta['permutations']} permutations (seed {meta['seed']}), shown as mean±sd"
    )
    relations = report.get("relations", {})
    if relations:
        spaces = [s for s in ("dna", "tree", "model") if any(f"auc_{s}" in e for e in relations.values())]
        titles = {"dna": "DNA distance", "tree": "tree (patristic) distance", "model": "relation model P(related)"}
        for s in spaces:
            rows = [["relation", "pairs", "AUC", "chance AUC", "top-1", "top-5", "median rank", "MRR", "chance MRR"]]
            for relation, entry in relations.items():
                r = entry[f"retrieval_{s}"]
                rows.append([relation, str(entry["pairs"]), _f(entry[f"auc_{s}"]), _b(entry[f"auc_{s}_baseline"]),
                             _f(r["top1"]), _f(r["top5"]), _f(r["median_rank"], 1), _f(r["mrr"]), _b(entry[f"mrr_{s}_baseline"])])
            lines += ["", f"Documented pairs by {titles[s]} (AUC: documented pairs vs all other pairs; rank of the parent among all models)"]
            lines += _table(rows)
    else:
        lines += ["", "No documented pair has both ends among these models."]
    fam = report.get("families", {})
    if "baseline" in fam:
        b = fam["baseline"]
        lines += ["", f"Families ({fam['families']} families, {fam['families_with_2_or_more']} with >= 2 members, "
                      f"{fam['labelled_models']} models; tree {'rooted' if fam['rooted'] else 'unrooted'})"]
        rows = [["measure", "value", "chance"],
                ["monophyletic families (share)", _f(fam["monophyletic_share"]), _b(b["monophyletic_share"])],
                ["mean purity", _f(fam["mean_purity"]), _b(b["mean_purity"])]]
        for kind in ("unrooted", "rooted"):
            if f"rf_{kind}" in fam:
                rf = fam[f"rf_{kind}"]
                rows.append([f"Robinson-Foulds, {kind}, normalized ({rf['rf']}/{rf['max_rf']})", _f(rf["normalized"]), _b(b[f"rf_{kind}_normalized"])])
                rows.append([f"taxonomy splits recovered, {kind}", _f(rf["recovery"]), _b(b[f"rf_{kind}_recovery"])])
        rows.append([f"ARI (tree cut into {fam['families']} clusters, {fam['clusters_from']})", _f(fam["ari"]), _b(b["ari"])])
        rows.append(["NMI", _f(fam["nmi"]), _b(b["nmi"])])
        if "tree_fit" in report:
            fit = report["tree_fit"]
            rows.append(["cophenetic correlation (tree vs distances)", _f(fit["cophenetic_r"]), _b(fit["baseline"])])
        lines += _table(rows)
    noise = report.get("noise_floor")
    if noise and noise.get("same_weights"):
        q = noise["same_weights"]
        a = noise["all_pairs"]
        lines += ["", f"Noise floor: distances between copies of the same weights ({noise['same_weights_pairs']} pairs) vs all pairs"]
        rows = [["", *q.keys()], ["same weights", *map(_f, q.values())], ["all pairs", *map(_f, a.values())]]
        lines += _table(rows)
        lines.append(f"{100 * noise['all_pairs_below_same_weights_median']:.2f}% of all pairs are closer than the median same-weights pair")
    missing = report["coverage"]["without"]
    lines += ["", f"Lineage metadata for {report['coverage']['with_metadata']} of {meta['models']} models"
              + (f"; none for {len(missing)}: {', '.join(missing[:show_missing])}{' ...' if len(missing) > show_missing else ''}" if missing else "")]
    return "\n".join(lines) + "\n"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append("  ".join(cell.ljust(w) if k == 0 else cell.rjust(w) for k, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
