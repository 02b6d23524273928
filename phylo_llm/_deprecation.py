"""Old names kept working, with a :class:`DeprecationWarning` that says where the new one is.

Three kinds: a module that moved (``phylo_llm.root`` is now part of
``phylo_llm.tree``: :data:`MOVED_MODULES`, served by an import hook, so no
shim files stand in the layout), a name that moved out of a module
(:func:`moved_names`), and a keyword that was renamed (:func:`renamed_keyword`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
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


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``import phylo_llm.root`` (and friends) with the module that now holds its names."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec) -> ModuleType:
        target = MOVED_MODULES[spec.name]
        warnings.warn(f"{spec.name} is deprecated; use {target} instead", DeprecationWarning, stacklevel=3)
        return importlib.import_module(target)

    def exec_module(self, module: ModuleType) -> None:
        pass


def install_module_aliases() -> None:
    """Install the import hook for :data:`MOVED_MODULES` (once)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())


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
