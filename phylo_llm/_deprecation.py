"""Old names kept working, with a :class:`DeprecationWarning` that says where the new one is.

Three kinds: a module that moved (``phylo_llm.root`` is now part of
``phylo_llm.tree``: :data:`MOVED_MODULES`, registered as light stand-ins by
each package on import, so no shim files stand in the layout), a name that moved out of a module
(:func:`moved_names`), and a keyword that was renamed (:func:`renamed_keyword`).
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

#: Old module path -> where its public names live now (version 0.2 renovation).
MOVED_MODULES: dict[str, str] = {
    "phylo_llm.root": "phylo_llm.tree",
    "phylo_llm.annotate": "phylo_llm.tree",
    "phylo_llm.support": "phylo_llm.tree",
    "phylo_llm.placement": "phylo_llm.tree",
    "phylo_llm.memory": "phylo_llm._memory",
    "phylo_llm.stats": "phylo_llm.distance",
    "phylo_llm.io.trees": "phylo_llm.io",
    "phylo_llm.io.ete": "phylo_llm.tree",
    "phylo_llm.io.atomic": "phylo_llm.io",
    "phylo_llm.io.tables": "phylo_llm.io._tables",
    "phylo_llm.io.distances": "phylo_llm.io._distances",
    "phylo_llm.io.probes": "phylo_llm.io._probes",
    "phylo_llm.io.published": "phylo_llm.io._published",
    "phylo_llm.tree.topology": "phylo_llm.tree",
    "phylo_llm.tree.nj": "phylo_llm.tree._nj",
    "phylo_llm.tree.linkage": "phylo_llm.tree._linkage",
    "phylo_llm.tree.merges": "phylo_llm.tree",
    "phylo_llm.tree.working": "phylo_llm.tree._working",
    "phylo_llm.lineage.knowledge": "phylo_llm.lineage",
    "phylo_llm.score.pairs": "phylo_llm.score",
    "phylo_llm.score.relatives": "phylo_llm.score",
    "phylo_llm.score.report": "phylo_llm.score",
    "phylo_llm.score.taxonomy": "phylo_llm.score._taxonomy",
    "phylo_llm.score.text": "phylo_llm.score",
    "phylo_llm.extract.encoders": "phylo_llm.extract",
    "phylo_llm.extract.pipeline": "phylo_llm.extract",
    "phylo_llm.extract.responses": "phylo_llm.extract",
    "phylo_llm.figures.panels": "phylo_llm.figures",
    "phylo_llm.figures.style": "phylo_llm.figures",
    "phylo_llm.figures.tree_plot": "phylo_llm.figures",
}


class _MovedModule(types.ModuleType):
    """Stands in ``sys.modules`` for a module that moved: its names come from the new home, with a warning."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"Deprecated: moved to {target}.")
        self.__target = target

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        value = getattr(importlib.import_module(self.__target), attribute)  # AttributeError for unknown names: no warning
        warnings.warn(f"{self.__name__} is deprecated; use {self.__target} instead", DeprecationWarning, stacklevel=2)
        return value


def install_module_aliases(package: str) -> None:
    """Register the moved modules of ``package`` (from :data:`MOVED_MODULES`) in ``sys.modules``.

    Being there already, ``import phylo_llm.root`` and ``from phylo_llm.root import x``
    find them without the import system setting them as attributes of their
    package, which would hide a function of the same name (``score.relatives``).
    Where the package has no such name, the alias is also its attribute.
    """
    parent = sys.modules[package]
    public = set(getattr(parent, "__all__", ())) | set(vars(parent))
    for old, target in MOVED_MODULES.items():
        head, _, name = old.rpartition(".")
        if head != package or old in sys.modules:
            continue
        alias = _MovedModule(old, target)
        sys.modules[old] = alias
        if name not in public:
            setattr(parent, name, alias)


def moved_names(module: str, moved: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved elsewhere (``{"old": "package.module:new"}``)."""

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target, _, attribute = moved[name].partition(":")
        warnings.warn(f"{module}.{name} is deprecated; use {target}.{attribute or name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(target), attribute or name)

    return __getattr__


def renamed_keyword(function: str, old: str, new: str, old_value: Any, new_value: Any, default: Any) -> Any:
    """The value of keyword ``new``, taking the deprecated ``old`` when only it was given."""
    if old_value is None:
        return new_value
    warnings.warn(f"{function}({old}=...) is deprecated; use {new}=...", DeprecationWarning, stacklevel=3)
    if new_value != default:
        raise TypeError(f"{function}() got both {old!r} and {new!r}")
    return old_value
