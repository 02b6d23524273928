"""Old names keep working after the renovation, each with a DeprecationWarning naming the new home."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm._deprecation import MOVED_MODULES


@pytest.mark.parametrize("old,new", sorted(MOVED_MODULES.items()))
def test_moved_modules_import_and_warn_on_use(old, new):
    module = importlib.import_module(old)
    target = importlib.import_module(new)
    name = next(n for n in sorted(dir(target)) if not n.startswith("_"))
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        assert getattr(module, name) is getattr(target, name)


def test_old_module_paths_still_give_the_same_functions():
    with pytest.warns(DeprecationWarning):
        from phylo_llm.placement import place
        from phylo_llm.root import mad_root
    assert mad_root is pl.mad_root and place is pl.place
    import phylo_llm.score.relatives  # noqa: F401  (the old module path) must not hide the function
    assert callable(pl.score.relatives) and pl.score.relatives is pl.relatives


def test_moved_names_and_renamed_keywords():
    from io import StringIO

    from Bio import Phylo

    import phylo_llm.dna as dna_module

    with pytest.warns(DeprecationWarning, match="phylo_llm.settings"):
        assert dna_module.SETTINGS_COLUMNS == pl.settings.DNA_SETTINGS
    tree = Phylo.read(StringIO("((a:1,b:1):1,c:2,d:1);"), "newick")
    rows = np.array([[1.5, 2.5, 3.5, 2.5]])
    with pytest.warns(DeprecationWarning, match="local="):
        old = pl.tree.place_distances(tree, ["q"], rows, ["a", "b", "c", "d"], nearest=3)
    new = pl.tree.place_distances(tree, ["q"], rows, ["a", "b", "c", "d"], local=3)
    assert old.edge.tolist() == new.edge.tolist()
