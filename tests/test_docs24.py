"""Bugs found while writing the public API's examples (docs24)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import phylo_llm as pl
from phylo_llm.tree import iter_leaves

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def test_attribute_root_accepts_a_lineage_folder_like_every_public_function_taking_a_lineage():
    """attribute_root(tree, folder, ...) called ``.select`` on the string (AttributeError) instead of reading it."""
    tree = pl.build_tree(pl.distance_matrix(pl.load_dna(DEMO / "dna.parquet")))
    rooted, chosen = pl.attribute_root(tree, str(DEMO), "family", "T5")
    models = pd.read_csv(DEMO / "models.csv")  # the reference: the demo's own table, read by pandas
    expected = set(models.loc[models["family"] == "T5", "model"]) & {leaf.name for leaf in iter_leaves(tree)}
    assert expected and set(chosen) == expected
    assert rooted.rooted
