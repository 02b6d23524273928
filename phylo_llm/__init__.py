"""phylo-llm: phylogenetics of large language models from their DNA.

The pipeline, one subpackage per stage: files (:mod:`phylo_llm.io`) ->
distances (:mod:`phylo_llm.distance`) -> trees (:mod:`phylo_llm.tree`:
build, walk, root, annotate, support, place) -> lineage
(:mod:`phylo_llm.lineage`) -> scores (:mod:`phylo_llm.score`) -> figures
(:mod:`phylo_llm.figures`); extraction of DNA from answers beside it
(:mod:`phylo_llm.extract`). The names below are the public interface; they
are loaded on first use (SPEC 1 lazy loading), so ``import phylo_llm`` and
``phylo-llm --version`` load neither NumPy nor anything else heavy.

Examples
--------
>>> import phylo_llm as pl
>>> dna = pl.load_dna("data/demo/dna.parquet")  # doctest: +SKIP
>>> tree = pl.build_tree(pl.distance_matrix(dna), "nj")  # doctest: +SKIP
"""

import lazy_loader as _lazy

from ._deprecation import install_module_aliases as _install_module_aliases
from ._version import __version__

__getattr__, __dir__, _lazy_all = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *_lazy_all]
_install_module_aliases(__name__)
