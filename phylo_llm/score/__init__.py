"""Scoring DNA distances and trees against documented lineage, with chance baselines.
"""

import lazy_loader as _lazy

from .._deprecation import install_module_aliases as _install_module_aliases

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
_install_module_aliases(__name__)
