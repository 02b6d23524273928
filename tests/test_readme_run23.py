"""A newcomer's run of the README (session 23): what failed or misled, fixed; each test fails before its fix."""

from __future__ import annotations

import pytest

import phylo_llm as pl
from tests.helpers import DEMO, run_cli


def test_annotate_with_a_missing_outgroup_names_the_tree(tmp_path):
    """'phylo-llm: error: outgroup model ... is not a leaf of the tree' named no file."""
    assert run_cli("tree", DEMO / "dna.parquet", "-o", tmp_path / "t.nwk", "-q").returncode == 0
    result = run_cli("annotate", tmp_path / "t.nwk", "-o", tmp_path / "t.nhx", "--outgroup", "google-t5/t5-base")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"phylo-llm: error: {tmp_path / 't.nwk'}: outgroup model 'google-t5/t5-base'")
    assert not (tmp_path / "t.nhx").exists()


def test_highlighting_an_id_that_is_not_a_leaf_is_refused():
    """draw_tree(..., highlight=["org/model"]) highlighted nothing, silently."""
    import matplotlib

    matplotlib.use("Agg")
    from phylo_llm.figures import draw_tree

    dna = pl.load_dna(DEMO / "dna.parquet")
    tree = pl.build_tree(pl.distance_matrix(dna))
    with pytest.raises(pl.PhyloLLMError, match="highlight: 'org/model' is not a leaf of the tree"):
        draw_tree(tree, {}, highlight=["org/model", dna.ids[0]])
    draw_tree(tree, {}, highlight=[dna.ids[0]])
