"""Files: DNA, distance matrices, probe caches and trees, read and written in every supported format.

=======================  ===========================================================
:func:`load_dna`         DNA from parquet, CSV/TSV, ``.npz`` or the published folder layout
:func:`save_dna`         DNA to parquet (canonical), CSV/TSV or ``.npz``
:func:`load_distances`   a distance matrix from PHYLIP or a square CSV/TSV/parquet table
:func:`save_distances`   the same formats
:func:`load_probes`      a per-probe embedding cache (memory-mapped)
:func:`save_probes`      the same, float16 or float32
:func:`load_input`       DNA, a distance matrix or a probe cache, whichever the file holds
:func:`read_tree`        Newick, NHX, NEXUS or PhyloXML (recognised by content)
:func:`write_tree`       the same, atomically; Newick safe for deep trees
:class:`OutputPlan`      all outputs of one command, checked first and written together
:data:`FORMATS`          the registry: format name, kind, suffixes, implementing module
=======================  ===========================================================

Every writer goes through an unnamed temporary file named only when complete,
so a failure or a signal never leaves a partial file or destroys an existing one.
Lineage tables and model answers have readers of their own
(:func:`phylo_llm.load_lineage`, :mod:`phylo_llm.extract`); they open files
through :func:`read_text` and :func:`open_text` too.
"""

import lazy_loader as _lazy

from .._deprecation import install_module_aliases as _install_module_aliases

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
_install_module_aliases(__name__)
