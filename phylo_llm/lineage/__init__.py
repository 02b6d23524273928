"""Documented lineage of models: what each model is, and which model each was made from.

A lineage is two tables:

* ``models``: one row per model id, with ``family``, ``subfamily``,
  ``organization``, ``architecture``, ``multimodal``, ``params_b``, ``release``
  (``YYYY-MM``), ``is_base`` (and anything else);
* ``relations``: documented parent edges ``child, parent, relation, evidence,
  confidence, note``, relation one of :data:`RELATION_TYPES`.

:func:`load_lineage` reads and validates them; :class:`Lineage` answers the
questions downstream code asks (who is this model, who are its documented
ancestors) with model ids matched case-insensitively and across the
published folder-name form.
"""

import lazy_loader as _lazy

from .._deprecation import install_module_aliases as _install_module_aliases

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
_install_module_aliases(__name__)
