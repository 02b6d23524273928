"""Relations between two models from their per-probe answers: pair features, labels, model-disjoint evaluation.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
