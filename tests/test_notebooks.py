"""The notebooks run top to bottom on the demo data, show a figure in every plotting cell, and are committed with
the outputs they make (so they display on a repository page); regenerate with ``python notebooks/execute.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def executor():
    spec = importlib.util.spec_from_file_location("notebook_execute", FOLDER / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kinds(cell) -> list[str]:
    """What a cell shows, output by output: stream name or the data's richest type."""
    out = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            out.append(output["name"])
        elif "data" in output:
            out.append("image/png" if "image/png" in output["data"] else "text/html" if "text/html" in output["data"] else "text/plain")
        else:
            out.append(output["output_type"])
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_shows_its_figures_and_is_committed_with_them(path):
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need the [test] extra (nbformat, nbclient, ipykernel)")
    pytest.importorskip("nbclient", reason="notebook tests need the [test] extra")
    committed = nbformat.read(path, as_version=4)
    assert path.stat().st_size < 1_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"
    # Outputs name files relative to the checkout: re-running elsewhere changes nothing.
    assert str(path.resolve().parents[1]) not in path.read_text(encoding="utf-8"), "an absolute path in the outputs"
    executed = executor().execute(path)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert not [k for c in code for k in kinds(c) if k in ("error", "stderr")], "errors or warnings in the outputs"
    plotting = [c for c in code if "figure" in c.metadata.get("tags", [])]
    assert plotting, "no cell is tagged as drawing a figure"
    for cell in plotting:
        assert "image/png" in kinds(cell), f"no image from:\n{cell.source}"
    assert [c.source for c in committed.cells] == [c.source for c in executed.cells]
    assert [kinds(c) for c in committed.cells] == [kinds(c) for c in executed.cells], (
        "the committed outputs are stale: run python notebooks/execute.py")
