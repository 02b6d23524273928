"""Reliability diagram of a relation model's P(related): predicted against observed, per probability bin."""

from __future__ import annotations

import numpy as np

from . import palette
from ._style import SINGLE_COLUMN, new_figure, note, styled


@styled
def reliability_figure(report: dict, title: str = ""):
    """Observed share of documented pairs against mean predicted P(related), per bin, with each bin's pair count.

    ``report``: :func:`phylo_llm.relate.cross_validate` (or ``evaluate_relations``)
    output, whose ``reliability`` bins come from the model-disjoint folds.

    Examples
    --------
    >>> fig = reliability_figure({"reliability": [
    ...     {"low": 0.0, "high": 0.1, "pairs": 900, "mean_predicted": 0.01, "observed": 0.02},
    ...     {"low": 0.9, "high": 1.0, "pairs": 10, "mean_predicted": 0.95, "observed": 0.9}], "ece": 0.01})
    >>> len(fig.axes)
    2
    """
    bins = report["reliability"]
    predicted = np.array([b["mean_predicted"] for b in bins])
    observed = np.array([b["observed"] for b in bins])
    pairs = np.array([b["pairs"] for b in bins])
    fig = new_figure(SINGLE_COLUMN, 3.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--", label="perfect calibration")
    colour = palette.relation_colour("finetune")
    top.plot(predicted, observed, marker="o", ms=3, lw=1.0, color=colour, label="relation model")
    top.set_ylim(0, 1)
    top.set_ylabel("observed share documented")
    top.legend(loc="upper left", frameon=False)
    top.set_title(title or f"Reliability of P(related), model-disjoint (ECE {report.get('ece', float('nan')):.3f})", loc="left")
    bottom.bar([(b["low"] + b["high"]) / 2 for b in bins], pairs, width=0.09, color=palette.UNKNOWN, log=True)
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("mean predicted P(related) in the bin")
    bottom.set_ylabel("pairs")
    note(bottom, "Bins of width 0.1; pairs scored only in the fold holding both models.", y=-0.9)
    return fig
