"""``make_figures``: every figure of the paper from one probe-set folder or DNA file."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path

from ..distance import distance_matrix
from ..dna import DNA
from ..errors import PhyloLLMError, PhyloLLMWarning
from ..io import atomic_output, is_published_layout, load_dna
from ..lineage import LineageLike, as_lineage
from ..tree import build_tree, mad_root
from ._ablation import encoder_ablation
from ._maps import distance_heatmap, dna_map
from ._relations import auc_intervals, dimension_ablation, roc_figure
from ._speed import evolutionary_speed
from ._style import save
from ._tree_layout import internal_share, tree_layout
from ._tree_plot import draw_tree

DIMENSIONS = (4, 32, 128, 1024, 4096)
ENCODERS = {"Qwen3-Embedding-8B": None, "bge": "bge", "mpnet": "mpnet"}


#: Every figure make_figures may write (as NAME.png and NAME.pdf), and the file of its numbers.
FIGURE_NAMES = ("1_tree", "1b_tree_cladogram", "2_dna_map", "3_distance_heatmap", "4_relation_roc", "5_dimension_ablation",
                "6_encoder_ablation", "7_evolutionary_speed")
NUMBERS_FILE = "figures.json"


def make_figures(source: str | Path, lineage: LineageLike, out: str | Path, *, seed: int = 0, allow_mixed: bool = False, say: Callable[[str], object] = print) -> dict:
    """Regenerate every figure from a published probe-set folder or a DNA file into ``out``.

    Figures that need what the input lacks (dimension variants, encoder
    subfolders) are skipped with a one-line note through ``say``. Returns
    the numbers behind the figures (also written to ``out/figures.json``).

    Examples
    --------
    >>> # Not run here: it draws every figure of the paper (about a minute on the demo).
    >>> numbers = make_figures("data/demo/dna.parquet", "data/demo", "figures-out")  # doctest: +SKIP
    """
    lineage = as_lineage(lineage)
    source = Path(source)
    dna = _quiet(load_dna, source, allow_mixed=allow_mixed)
    known = lineage.among(dna.ids)
    info = {m: known.info(m) for m in dna.ids}
    say(known.coverage().summary())
    dist = distance_matrix(dna)
    tree, mad = mad_root(build_tree(dist, "nj"))
    numbers: dict = {"models": dna.n_models, "dimensions": dna.dim, "tree": "neighbour joining, Euclidean, MAD-rooted", "mad": mad}
    title = f"DNA tree of {dna.n_models} models (neighbour joining on Euclidean distances, MAD root)"
    numbers["tree_figure"] = {}
    for name, lengths, labels in (("1_tree", "sqrt", "auto"), ("1b_tree_cladogram", "cladogram", "clades")):
        fig = draw_tree(tree, info, layout="circular" if dna.n_models > 60 else "rectangular", lengths=lengths,
                        labels=labels, rings=("family", "release"), title=title)
        save(fig, out, name)
        numbers["tree_figure"][name] = {
            "lengths": lengths,
            "internal_edge_share": internal_share(tree_layout(tree, lengths)),
            "labels_drawn": sum(t.get_gid() in ("leaf-label", "clade-label") for t in fig.findobj(lambda a: hasattr(a, "get_text"))),
        }
    numbers["tree_figure"]["given_lengths_internal_edge_share"] = internal_share(tree_layout(tree, "given"))
    save(dna_map(dna, info, seed=seed), out, "2_dna_map")
    order = list(tree_layout(tree).names)  # the tree figure's leaf order
    save(distance_heatmap(dist, order, info), out, "3_distance_heatmap")
    published = source.is_dir() and is_published_layout(source)
    caption = "Figure 5's table splits the difference between these AUCs and its 128-d ones." if published else ""
    save(roc_figure(dist, lineage, seed=seed, caption=caption), out, "4_relation_roc")
    numbers["relation_roc"] = auc_intervals(dist, lineage, seed=seed)
    if published:
        variants = {}
        for d in DIMENSIONS:
            with contextlib.suppress(PhyloLLMError):  # a variant the folder lacks
                variants[d] = _quiet(load_dna, source, variant=f"dna_dim{d}", allow_mixed=True)
        if len(variants) >= 2:
            fig, rows = dimension_ablation(variants, lineage, main=dna, seed=seed)
            save(fig, out, "5_dimension_ablation")
            numbers["dimension_ablation"] = rows
        else:
            say(f"skipped 5_dimension_ablation: {source} has no _dna_dim* variant files")
        encoders = {}
        for name, sub in ENCODERS.items():
            with contextlib.suppress(PhyloLLMError):  # an encoder subfolder the folder lacks
                encoders[name] = distance_matrix(_quiet(load_dna, source, encoder=sub, allow_mixed=True))
        if len(encoders) >= 2:
            fig, rows = encoder_ablation(encoders, seed=seed)
            save(fig, out, "6_encoder_ablation")
            numbers["encoder_ablation"] = rows
        else:
            say(f"skipped 6_encoder_ablation: {source} has no bge/ or mpnet/ encoder subfolders")
    else:
        say("skipped 5_dimension_ablation and 6_encoder_ablation: they need a published probe-set folder with variants")
    fig, speed = evolutionary_speed(tree, info, seed=seed)
    save(fig, out, "7_evolutionary_speed")
    numbers["evolutionary_speed"] = speed
    with atomic_output(Path(out) / NUMBERS_FILE) as handle:
        json.dump(numbers, handle, indent=1, sort_keys=True)
    return numbers


def _quiet(function, *args, **kwargs) -> DNA:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhyloLLMWarning)
        return function(*args, **kwargs)
