"""One style for every figure: sizes at print scale, fonts, legends outside the data, deterministic files.

Figures are drawn at the size they are printed (a journal's double column is
7.2 inches wide), so a font size here is the printed size; no text is smaller
than :data:`MIN_FONT` points. Figures are :class:`PaperFigure` objects, not
registered with pyplot: the library never touches the pyplot state or the
backend, and a notebook cell that ends with a figure shows it once (as PNG).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..io import atomic_path
from . import palette

#: Smallest font anywhere in a figure, in points at the printed size.
MIN_FONT = 5.0
#: Printed widths (inches): one journal column, two columns.
SINGLE_COLUMN = 3.5
DOUBLE_COLUMN = 7.2
#: Resolution of the PNG files (the PDF is vector).
DPI = 300

RC: dict[Any, Any] = {
    "font.size": 7,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 6,
    "legend.title_fontsize": 6.5,
    "figure.titlesize": 8,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    # Editable text in the PDF (TrueType), as journals ask, instead of Type 3 glyph drawings.
    "pdf.fonttype": 42,
    "svg.hashsalt": "phylo-llm",
    # Text is shown as written: a model id "$x^2$" is not typeset as math, and "$\\undefined$" does not stop the figure.
    "text.parse_math": False,
}


class PaperFigure(Figure):
    """A matplotlib :class:`~matplotlib.figure.Figure` that shows itself in Jupyter.

    It is not registered with pyplot (no global state, nothing shown twice):
    a notebook cell that ends with it displays it as PNG at
    :attr:`display_dpi`; ``savefig`` works as on any figure.

    Examples
    --------
    >>> fig = new_figure(3, 2)
    >>> isinstance(fig, PaperFigure), fig.get_size_inches().tolist()
    (True, [3.0, 2.0])
    """

    display_dpi = 110

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        with matplotlib.rc_context(RC):
            self.savefig(buffer, format="png", dpi=self.display_dpi, metadata={"Software": None})
        return buffer.getvalue()


def styled(function):
    """Run a figure function inside the package style (fonts, spines), leaving the user's rcParams alone."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(RC):
            return function(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float, layout: Any = "constrained") -> PaperFigure:
    """A :class:`PaperFigure` of the printed size ``width`` x ``height`` inches, with an Agg canvas (no pyplot)."""
    fig = PaperFigure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, folder: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` (300 dpi) and ``name.pdf``, atomically and without timestamps (same bytes every run).

    Examples
    --------
    >>> import tempfile
    >>> fig = new_figure(3, 2)
    >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> [p.name for p in save(fig, tempfile.mkdtemp(), "demo")]
    ['demo.png', 'demo.pdf']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context(RC):
        for suffix, metadata in ((".png", {"Software": None}), (".pdf", {"CreationDate": None, "Producer": None, "Creator": None})):
            target = folder / f"{name}{suffix}"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=suffix[1:], dpi=DPI, metadata=metadata)
            written.append(target)
    return written


def family_handles(families: Iterable[str | None], marker: str | None = None) -> list:
    """Legend entries for the families present: own colours in the frozen order, then "other family", "no family".

    Every family with its own colour (:data:`palette.FAMILY_COLOURS`, at most
    18) is listed, in every figure, so a colour means one family everywhere.
    """
    families = list(families)
    present = palette.ordered_families(families)
    handles = [_handle(palette.FAMILY_COLOURS[f], f, marker) for f in present if f in palette.FAMILY_COLOURS]
    if any(f not in palette.FAMILY_COLOURS for f in present):
        handles.append(_handle(palette.OTHER_FAMILY, "other family", marker))
    if any(palette.family_colour(f) == palette.UNKNOWN for f in families):
        handles.append(_handle(palette.UNKNOWN, "no documented family", marker))
    return handles


def _handle(colour: str, label: str, marker: str | None):
    if marker:
        return Line2D([], [], marker=marker, ls="", markerfacecolor=colour, markeredgecolor="none", markersize=5, label=label)
    return Patch(facecolor=colour, edgecolor="none", label=label)


def legend_right(ax, handles: list, title: str | None = None, **kwargs):
    """A legend outside ``ax``, to its right (constrained layout makes room for it): never on the data."""
    return ax.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                     alignment="left", handlelength=1.2, handletextpad=0.5, **kwargs)


def note(ax, text: str, y: float = -0.16) -> None:
    """A caption line under ``ax`` (axes coordinates), in the smallest legible size."""
    ax.text(0.0, y, text, transform=ax.transAxes, ha="left", va="top", fontsize=MIN_FONT + 0.5, color="#333333", wrap=True)
