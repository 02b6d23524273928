"""Tree figures at the sizes of the published sets: time to draw and to save, against Biopython's ``Phylo.draw``.

    python benchmarks/bench_figures.py ../shared/data/llm-dna-web/dna-out/squad_cqa_hs_wg_arc_mmlu \\
        ../shared/data/llm-dna-web/dna-out/rand

For each DNA set: the MAD-rooted NJ tree is drawn by ``draw_tree`` (circular,
square-root lengths, rings, labels that fit) and by Biopython's ``Phylo.draw``
(rectangular, every label, as estimated: the reference matplotlib tree
drawing), each drawn and saved as a 300-dpi PNG; also the share of the drawn
edge length on internal edges for each way of drawing edges.
"""

from __future__ import annotations

import argparse
import io
import time
import warnings

import matplotlib

matplotlib.use("Agg")  # a script: no display
import matplotlib.pyplot as plt
from Bio import Phylo

import phylo_llm as pl
from phylo_llm.figures import draw_tree, internal_share, tree_layout


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def png(fig) -> int:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=300)
    return len(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    lineage = pl.load_lineage()
    print("| models | draw_tree: draw | save PNG | PNG size | Bio.Phylo.draw: draw | save PNG | ratio (ours / Biopython, draw + save) | internal-edge share: given / sqrt / cladogram |")
    print("|---|---|---|---|---|---|---|---|")
    for source in args.inputs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pl.PhyloLLMWarning)
            dna = pl.load_dna(source, allow_mixed=True)
        known = lineage.among(dna.ids)
        info = {m: known.info(m) for m in dna.ids}
        tree = pl.mad_root(pl.build_tree(pl.distance_matrix(dna)))[0]
        ours, draw_ours = timed(lambda: draw_tree(tree, info, lengths="sqrt", rings=("family", "release")))  # noqa: B023
        size, save_ours = timed(lambda: png(ours))  # noqa: B023

        def biopython(tree=tree, n=dna.n_models):
            fig = plt.figure(figsize=(7.2, max(4.0, n * 0.1)))
            Phylo.draw(tree, axes=fig.add_subplot(111), do_show=False)
            return fig

        theirs, draw_theirs = timed(biopython)
        _, save_theirs = timed(lambda: png(theirs))  # noqa: B023
        plt.close(theirs)
        shares = " / ".join(f"{internal_share(tree_layout(tree, k)):.3f}" for k in ("given", "sqrt", "cladogram"))
        ratio = (draw_ours + save_ours) / (draw_theirs + save_theirs)
        print(f"| {dna.n_models:,} | {draw_ours:.2f} s | {save_ours:.2f} s | {size / 1e6:.1f} MB | {draw_theirs:.2f} s | "
              f"{save_theirs:.2f} s | {ratio:.2f} | {shares} |")


if __name__ == "__main__":
    main()
