"""Run the notebooks top to bottom on the demo data and store their outputs, so they display on a repository page.

    python notebooks/execute.py              # every notebook here, in place
    python notebooks/execute.py 01_quickstart.ipynb

Outputs are made from the demo data (``PHYLO_LLM_SHARED_DATA`` is removed from
the kernel's environment), and everything that changes from run to run is
stripped: execution timings, kernel and Python versions, widget state. Running
it twice on one machine gives the same bytes. The tests run the same
:func:`execute` and compare the outputs' kinds with the committed ones.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
#: Metadata a notebook keeps: nothing that depends on the machine or the moment.
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """``path`` executed in a fresh kernel on the demo data, with volatile metadata stripped."""
    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "PHYLO_LLM_SHARED_DATA"}
    env["PYTHONHASHSEED"] = "0"
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)  # passed on to the kernel manager: the kernel's own environment
    return clean(notebook)


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what differs between runs: timings and per-cell execution metadata, versions, widget state."""
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("execution", None)
    return notebook


def main(names: list[str]) -> None:
    paths = [HERE / n for n in names] if names else sorted(HERE.glob("*.ipynb"))
    for path in paths:
        notebook = execute(path)
        nbformat.write(notebook, path)
        print(f"{path.name}: {sum(len(c.get('outputs', [])) for c in notebook.cells)} outputs, {path.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main(sys.argv[1:])
