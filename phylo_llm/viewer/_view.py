"""``view``: models, their tree and their lineage in one interactive page (a file, or inline in Jupyter)."""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from Bio.Phylo.BaseTree import Tree

from .. import io
from ..distance import DistanceMatrix
from ..dna import DNA
from ..errors import PhyloLLMError
from ..lineage import LineageLike, as_lineage
from ..probes import ProbeEmbeddings
from ..tree import build_tree, count_leaves, root_tree
from ._data import check_colour_by, check_leaves, explorer_data
from ._html import explorer_html
from ._map import map_coordinates

#: Most models one explorer shows. Set above the 20,000 leaves the issue asks to stay usable; the browser cost
#: grows linearly (3,000 random models: tree frame 13 ms median in software rendering, benchmarks/README.md),
#: the work behind the page (n x n distances, t-SNE, nearest models) as n^2: beyond this a subset is asked for.
MAX_MODELS = 25_000
#: Layouts of the tree.
LAYOUTS: tuple[str, ...] = ("rectangular", "circular")


class Explorer:
    """An explorer page: :attr:`data` (what it shows), :attr:`html` (the page), shown inline by Jupyter.

    Examples
    --------
    >>> explorer = Explorer({"title": "empty", "ids": []})
    >>> explorer
    Explorer('empty', 0 models)
    >>> explorer._repr_html_().startswith("<iframe")
    True
    """

    def __init__(self, data: dict, inputs: Iterable[str | os.PathLike] = ()) -> None:
        self.data = data
        #: The files it was made from: :meth:`save` never writes over one of them.
        self.inputs = [Path(p) for p in inputs if p and Path(p).exists()]
        self._html: str | None = None

    @property
    def html(self) -> str:
        """The self-contained page (computed once)."""
        if self._html is None:
            self._html = explorer_html(self.data)
        return self._html

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page to ``path`` (atomically: a complete file or none; never over one of :attr:`inputs`)."""
        plan = io.OutputPlan(inputs=self.inputs)
        plan.add(path, "the page")
        with plan, io.atomic_output(path) as handle:
            handle.write(self.html)
        return Path(path)

    def _repr_html_(self) -> str:
        # An iframe keeps the page's own style, script and security policy apart from the notebook's.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="phylo-llm explorer" '
                'style="width: 100%; height: 720px; border: 1px solid #ddd;"></iframe>')

    def __repr__(self) -> str:
        return f"Explorer({self.data.get('title', '')!r}, {len(self.data.get('ids', []))} models)"


def check_size(n_models: int, source: str = "INPUT") -> None:
    """Refuse more models than :data:`MAX_MODELS`, in one line that says what to do.

    Examples
    --------
    >>> check_size(30_000, "rand.parquet")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: rand.parquet: 30,000 models is more than the explorer shows (25,000); view a subset, e.g. --only family=Llama
    """
    if n_models > MAX_MODELS:
        raise PhyloLLMError(f"{source}: {n_models:,} models is more than the explorer shows ({MAX_MODELS:,}); "
                            "view a subset, e.g. --only family=Llama")


def view(
    tree: Tree | str | os.PathLike | None,
    data: DNA | DistanceMatrix | ProbeEmbeddings,
    lineage: LineageLike = None,
    *,
    metric: str = "euclidean",
    method: str = "nj",
    root: str = "none",
    colour_by: str = "family",
    k: int = 10,
    seed: int = 0,
    placed: Iterable[str] = (),
    extra: Mapping[str, Mapping[str, object]] | None = None,
    layout: str = "rectangular",
    title: str | None = None,
    progress: bool = False,
) -> Explorer:
    """An interactive explorer of ``data``'s tree and DNA map, with model cards from ``lineage``.

    Parameters
    ----------
    tree : Bio.Phylo.BaseTree.Tree, path or None
        The tree to show (its leaves are ``data``'s models, plus ``placed`` ones);
        ``None`` builds it from ``data`` with ``method``.
    data : DNA, DistanceMatrix or ProbeEmbeddings
        The models' DNA, distances or per-probe embeddings.
    lineage : Lineage, path or None
        What is documented about the models (default: the built-in knowledge base).
    metric : str
        Distance between DNA vectors (or probes); ignored for a distance matrix.
    method : {"nj", "upgma", "wpgma"}
        How a missing tree is built.
    root : {"none", "midpoint", "mad"}
        Rooting applied to the tree (``"none"``: as given or built).
    colour_by : str
        Lineage attribute that colours the leaves at first (``family``, ``organization``, ...).
    k : int
        Nearest models on each model card.
    seed : int
        Seed of the t-SNE map.
    placed : iterable of str
        Models to mark as placed (e.g. by :func:`phylo_llm.place`); those without data show in the tree only.
    extra : mapping, optional
        Per model, rows for its card (the placement table).
    layout : {"rectangular", "circular"}
        The tree layout shown first.
    title : str, optional

    Returns
    -------
    Explorer
        ``.save(path)`` writes the page; Jupyter shows it inline.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> explorer = pl.view(None, pl.load_dna("data/demo/dna.parquet"), "data/demo")
    >>> explorer
    Explorer('phylo-llm explorer: dna.parquet', 70 models)
    >>> len(explorer.html) > 100_000
    True
    """
    from .. import inputs  # the input path (it imports the extraction code): loaded when a page is made

    if layout not in LAYOUTS:
        raise PhyloLLMError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if root not in ("none", "midpoint", "mad"):
        raise PhyloLLMError(f"unknown rooting {root!r}; choose none, midpoint or mad")
    if not 1 <= k <= 1000:
        raise PhyloLLMError(f"k must be from 1 to 1,000 nearest models, got {k}")
    placed = [str(m) for m in placed]
    check_size(data.n_models + len(set(placed) - set(data.ids)), data.source)
    fewest = 2 if tree is not None else 3  # without a given tree it builds one, and a tree needs 3
    if data.n_models < fewest:
        raise PhyloLLMError(f"{data.source}: the explorer needs at least {fewest} models"
                            f"{'' if tree is not None else ' (it builds their tree)'}, got {data.n_models}")
    source = "the tree"
    read_from = [data.source, *(p for p in (tree, lineage) if isinstance(p, (str, os.PathLike)))]
    if isinstance(tree, (str, os.PathLike)):
        source = str(tree)
        tree = io.read_tree(Path(tree))
    lineage = as_lineage(lineage)
    check_colour_by(lineage, colour_by)
    if tree is not None:
        if count_leaves(tree) > MAX_MODELS:
            check_size(count_leaves(tree), "the tree")
        check_leaves(tree, data.ids, placed, source)  # before any work: a mismatch is named at once
    elif set(placed) - set(data.ids):
        raise PhyloLLMError(f"{data.source}: placed models not in INPUT ({sorted(set(placed) - set(data.ids))[0]!r}, ...) show only "
                            "in the tree they were placed into: give it (--tree)")
    dist = inputs.to_distances(data, metric)
    if tree is None:
        shown = build_tree(dist, method, progress=progress)
        what = f"{method.upper()} tree"
    else:
        shown = tree
        what = "given tree"
    if root != "none":
        try:
            shown = root_tree(shown, root)
        except PhyloLLMError as error:  # a given tree without lengths: name it
            raise PhyloLLMError(f"{source}: {error}" if tree is not None else str(error)) from None
        what += f", {root} root"
    xy = map_coordinates(data, dist, seed)
    name = parse_name(data.source)
    subtitle = f"{data.n_models:,} models · {dist.metric or 'distances'} · {what} · t-SNE map, seed {seed}"
    result = explorer_data(shown, dist, lineage, np.asarray(xy), colour_by=colour_by, k=k, placed=placed, extra=extra,
                           layout=layout, title=title or (f"phylo-llm explorer: {name}" if name else "phylo-llm explorer"),
                           subtitle=subtitle)
    return Explorer(result, read_from)


def parse_name(source: str) -> str:
    """The file name of a data source, or ``""`` for data made in memory."""
    return "" if not source or source.startswith("<") else Path(source).name
