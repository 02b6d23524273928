"""Regenerates ``figures/explorer.png``, the README's screenshot of the demo explorer.

    python figures/explorer_screenshot.py

The demo explorer (``phylo-llm view data/demo/dna.parquet -o demo.html --lineage data/demo``) in headless
Chromium, 1500 x 900, with one model searched and selected: its card, its documented relatives ringed in
both views, the clade of another family collapsed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import phylo_llm as pl
from phylo_llm.viewer._browser import browser_context, open_explorer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    explorer = pl.view(None, pl.load_dna(ROOT / "data/demo/dna.parquet"), pl.load_lineage(ROOT / "data/demo"))
    with tempfile.TemporaryDirectory() as folder, browser_context() as context:
        path = explorer.save(Path(folder) / "demo.html")
        page, messages, _ = open_explorer(context, str(path))
        t5 = [m for m in explorer.data["ids"] if "T5-2-" in m]
        node = page.evaluate(f"window.phyloExplorer.commonAncestor({t5!r})")
        page.evaluate(f"window.phyloExplorer.toggle({node})")
        page.click("#search")
        page.keyboard.type("llama-1-7b-inst")
        page.keyboard.press("Enter")
        page.evaluate("window.phyloExplorer.zoomTo('tree', 1, 0, 0)")
        page.mouse.move(5, 5)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ROOT / "figures" / "explorer.png"))
        assert not messages, messages


if __name__ == "__main__":
    main()
