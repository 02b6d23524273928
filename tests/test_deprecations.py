"""Old names keep working after the renovation, each with a DeprecationWarning naming the new home."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm._deprecation import MOVED_MODULES


@pytest.mark.parametrize("old,new", sorted(MOVED_MODULES.items()))
def test_moved_modules_import_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_old_module_paths_still_give_the_same_functions():
    for old in ("phylo_llm.root", "phylo_llm.placement"):
        sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning):
        from phylo_llm.root import mad_root
        from phylo_llm.placement import place
    assert mad_root is pl.mad_root and place is pl.place


def test_moved_names_and_renamed_keywords():
    import phylo_llm.dna as dna_module

    with pytest.warns(DeprecationWarning, match="phylo_llm.settings"):
        assert dna_module.SETTINGS_COLUMNS == pl.settings.DNA_SETTINGS
    from io import StringIO

    from Bio import Phylo

    tree = Phylo.read(StringIO("((a:1,b:1):1,c:2,d:1);"), "newick")
    rows = np.array([[1.5, 2.5, 3.5, 2.5]])
    with pytest.warns(DeprecationWarning, match="local="):
        old = pl.tree.place_distances(tree, ["q"], rows, ["a", "b", "c", "d"], nearest=3)
    new = pl.tree.place_distances(tree, ["q"], rows, ["a", "b", "c", "d"], local=3)
    assert old.edge.tolist() == new.edge.tolist()
