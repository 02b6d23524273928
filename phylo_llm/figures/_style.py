"""One style for every figure: colourblind-safe palette, fonts, deterministic PNG and PDF output."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt

from ..io import atomic_path

#: Paul Tol's "muted" qualitative scheme (colourblind-safe), then grey for everything else.
PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
OTHER = "#BBBBBB"
RC = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "svg.hashsalt": "phylo-llm",
}


def family_colours(families, top: int = len(PALETTE)) -> dict[str, str]:
    """The ``top`` most frequent families get palette colours (ties by name); the rest grey."""
    counts: dict[str, int] = {}
    for family in families:
        if family:
            counts[family] = counts.get(family, 0) + 1
    ranked = sorted(counts, key=lambda f: (-counts[f], f))
    return {f: PALETTE[k] if k < top else OTHER for k, f in enumerate(ranked)}


def styled(function):
    """Run a figure function inside the package style (fonts, spines), leaving the user's rcParams alone."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with plt.rc_context(RC):
            return function(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float):
    return plt.figure(figsize=(width, height))


def save(fig, folder: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` (300 dpi) and ``name.pdf``, atomically and without timestamps (same bytes every run)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(RC):
        for suffix, metadata in ((".png", {"Software": None}), (".pdf", {"CreationDate": None, "Producer": None, "Creator": None})):
            target = folder / f"{name}{suffix}"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=suffix[1:], dpi=300, metadata=metadata)
            written.append(target)
    plt.close(fig)
    return written
