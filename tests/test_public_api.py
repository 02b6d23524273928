"""The public surface: every exported name loads, every exported function shows an example, start-up stays light."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import phylo_llm as pl

PACKAGES = ["phylo_llm", "phylo_llm.tree", "phylo_llm.io", "phylo_llm.distance", "phylo_llm.figures", "phylo_llm.hub"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_lazy_name_resolves(package):
    """The .pyi stub lists what the package exports: each name must import (a typo would only fail on first use)."""
    module = __import__(package, fromlist=["_"])
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def public_modules() -> list[str]:
    """Every public module of the package: ``phylo_llm`` and each submodule none of whose dotted parts is private."""
    names = ["phylo_llm"]
    for info in pkgutil.walk_packages(pl.__path__, "phylo_llm."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def public_names(module) -> list[str]:
    """The module's ``__all__`` (from its .pyi stub); for a plain module without one, the public names it defines."""
    if "__all__" in vars(module) or hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]


def needs_example(obj) -> bool:
    """Functions and classes need examples; constants, re-exported modules and exceptions do not."""
    if inspect.ismodule(obj) or not callable(obj):
        return False
    return not (inspect.isclass(obj) and issubclass(obj, BaseException))


@pytest.mark.parametrize("package", public_modules())
def test_exported_functions_and_classes_have_runnable_examples(package):
    """Every public function or class shows an Examples section (a class counts by its class docstring)."""
    module = importlib.import_module(package)
    missing = []
    for name in public_names(module):
        obj = getattr(module, name)
        if needs_example(obj) and "Examples" not in (inspect.getdoc(obj) or ""):
            missing.append(name)
    assert not missing, f"{package} exports without an Examples section: {missing}"


def test_version_and_import_load_nothing_heavy():
    """`import phylo_llm` and `phylo-llm --version` must not load NumPy, pandas, numba or matplotlib."""
    code = (
        "import sys, phylo_llm, phylo_llm.cli; phylo_llm.cli.build_parser(); "
        "print(sorted(m for m in ('numpy', 'pandas', 'numba', 'matplotlib', 'scipy', 'Bio', 'ete3', 'sklearn', 'dask', 'distributed') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"loaded at start-up: {loaded}"


def test_small_trees_do_not_load_the_compiled_kernels():
    code = (
        "import sys, phylo_llm as pl; d = pl.distance_matrix(pl.load_dna('data/demo/dna.parquet')); pl.build_tree(d); "
        "print('numba' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=pl.__path__[0] + "/..")
    assert result.stdout.strip() == "False"
