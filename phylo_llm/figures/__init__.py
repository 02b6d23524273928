"""The paper's figures, regenerated: one function per figure, and ``make_figures`` for all of them.

Every function returns a figure drawn at its printed size (no text under
5 pt, legends outside the data) and, where there are any, the numbers behind
it; a figure shows itself when it ends a notebook cell, and :func:`save`
writes PNG (300 dpi) and PDF. One colour per meaning
(:mod:`phylo_llm.figures.palette`, shared with the explorer), deterministic.
The library never chooses a matplotlib backend nor touches pyplot's state.
Names load on first use, so the palette is available without matplotlib.
"""

import lazy_loader as _lazy

from .._deprecation import install_module_aliases as _install_module_aliases

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
_install_module_aliases(__name__)
