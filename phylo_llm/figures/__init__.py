"""The paper's figures, regenerated: one function per figure, and ``make_figures`` for all of them.

Every function returns a matplotlib figure (and the numbers behind it where
there are any); :func:`save` writes PNG (300 dpi) and PDF. One style, one
colour per meaning (:mod:`phylo_llm.figures.palette`, shared with the
explorer), deterministic. The library never chooses a matplotlib backend.
Names load on first use, so the palette is available without matplotlib.
"""

import lazy_loader as _lazy

from .._deprecation import install_module_aliases as _install_module_aliases

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
_install_module_aliases(__name__)
