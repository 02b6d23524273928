"""The score report as tidy pandas tables (one row per observation), and as a dict that shows itself in Jupyter."""

from __future__ import annotations

import pandas as pd

from .._display import html_summary

#: The sections of :func:`report_tables`, in order.
SECTIONS = ("relations", "ranks", "families", "per_family", "noise_floor", "missing")


def report_tables(report: dict) -> dict[str, pd.DataFrame]:
    """Every section of a :func:`~phylo_llm.score.score` report as a tidy table.

    Works on the report itself or on its JSON read back (plain dicts).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``relations``: one row per relation and distance (``dna``, ``tree``):
        pairs, AUC, its chance mean and sd, top-1, top-5, median rank, MRR
        and its chance mean and sd. ``ranks``: one row per documented pair:
        the parent's rank among all models by each distance. ``families``:
        one row per measure of the tree against the family taxonomy: value,
        chance mean and sd. ``per_family``: size, smallest clade holding the
        family, purity. ``noise_floor``: distance quantiles of copies of the
        same weights and of all pairs. ``missing``: models without lineage metadata.
        A section the report lacks is an empty table.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> report = pl.score.score(pl.load_dna("data/demo/dna.parquet"), pl.load_lineage("data/demo"), permutations=5)
    >>> tables = report_tables(report)
    >>> tables["relations"].columns[:4].tolist()
    ['relation', 'distance', 'pairs', 'auc']
    >>> bool(tables["families"].set_index("measure").loc["ari", "value"] == report["families"]["ari"])
    True
    """
    relations, ranks = [], []
    for relation, entry in report.get("relations", {}).items():
        for space in ("dna", "tree", "model"):
            if f"auc_{space}" not in entry:
                continue
            retrieval = entry.get(f"retrieval_{space}", {})
            auc_chance = entry.get(f"auc_{space}_baseline") or {}
            mrr_chance = entry.get(f"mrr_{space}_baseline") or {}
            relations.append({
                "relation": relation, "distance": space, "pairs": entry.get("pairs"), "auc": entry[f"auc_{space}"],
                "auc_chance_mean": auc_chance.get("mean"), "auc_chance_sd": auc_chance.get("sd"),
                "top1": retrieval.get("top1"), "top5": retrieval.get("top5"), "median_rank": retrieval.get("median_rank"),
                "mrr": retrieval.get("mrr"), "mrr_chance_mean": mrr_chance.get("mean"), "mrr_chance_sd": mrr_chance.get("sd"),
            })
        if relation != "any":
            ranks += [{"relation": relation, **row} for row in entry.get("ranks", [])]
    fam = report.get("families", {})
    baseline = fam.get("baseline", {})
    measures = []
    for key in ("monophyletic_share", "mean_purity", "ari", "nmi"):
        if key in fam:
            measures.append(_measure(key, fam[key], baseline.get(key)))
    for kind in ("unrooted", "rooted"):
        if f"rf_{kind}" in fam:
            rf = fam[f"rf_{kind}"]
            measures.append(_measure(f"rf_{kind}_normalized", rf["normalized"], baseline.get(f"rf_{kind}_normalized")))
            measures.append(_measure(f"rf_{kind}_recovery", rf["recovery"], baseline.get(f"rf_{kind}_recovery")))
    if "tree_fit" in report:
        measures.append(_measure("cophenetic_r", report["tree_fit"]["cophenetic_r"], report["tree_fit"].get("baseline")))
    per_family = [{"family": f, **v} for f, v in fam.get("per_family", {}).items()]
    noise = report.get("noise_floor") or {}
    floor = [{"pairs": name, **noise[name]} for name in ("same_weights", "all_pairs") if noise.get(name)]
    missing = [{"model": m} for m in report.get("coverage", {}).get("without", [])]
    return {
        "relations": _frame(relations, ["relation", "distance", "pairs", "auc"]),
        "ranks": _frame(ranks, ["relation", "child", "parent"]),
        "families": _frame(measures, ["measure", "value", "chance_mean", "chance_sd"]),
        "per_family": _frame(per_family, ["family", "size", "clade", "purity"]),
        "noise_floor": _frame(floor, ["pairs"]),
        "missing": _frame(missing, ["model"]),
    }


def _measure(name: str, value, chance: dict | None) -> dict:
    chance = chance or {}
    return {"measure": name, "value": value, "chance_mean": chance.get("mean"), "chance_sd": chance.get("sd")}


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)


class ScoreReport(dict):
    """The report of :func:`~phylo_llm.score.score`: a plain ``dict`` (JSON as before) that also
    gives its sections as tidy tables (:meth:`tables`) and shows them in Jupyter.

    Examples
    --------
    >>> report = ScoreReport({"input": {"models": 3, "metric": "euclidean", "method": "nj", "permutations": 0, "seed": 0}})
    >>> report
    ScoreReport(3 models, euclidean, nj; sections: input)
    >>> import json; json.loads(json.dumps(report)) == dict(report)
    True
    """

    def tables(self) -> dict[str, pd.DataFrame]:
        """:func:`report_tables` of this report."""
        return report_tables(self)

    def __repr__(self) -> str:
        meta = self.get("input", {})
        return (f"ScoreReport({meta.get('models', '?')} models, {meta.get('metric') or 'no distances'}, "
                f"{meta.get('method', '?')}; sections: {', '.join(self)})")

    def _repr_html_(self) -> str:
        meta = self.get("input", {})
        tables = self.tables()
        parts = []
        titles = {"relations": "Documented pairs (AUC: vs all other pairs; ranks of the parent)",
                  "families": "Tree against the family taxonomy (chance: permuted labels)"}
        for name, caption in titles.items():
            if len(tables[name]):
                parts.append(f"<p><b>{caption}</b></p>" + tables[name].to_html(index=False, float_format=lambda v: f"{v:.3f}",
                                                                               na_rep="-"))
        rows = [("models", meta.get("models")), ("distances", meta.get("metric") or "-"), ("tree", meta.get("method")),
                ("chance baselines", f"{meta.get('permutations')} permutations (seed {meta.get('seed')})"),
                ("more", "report.tables(): " + ", ".join(SECTIONS))]
        return html_summary("Score report", rows, "".join(parts))
