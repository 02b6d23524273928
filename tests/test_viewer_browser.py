"""The explorer in a real browser: headless Chromium (Debian's) driven by Playwright.

Skipped, with the reason, where no Chromium or Playwright is installed (CI installs both: ``.ci/run``).
Each test acts as a user would (typing, clicking at the position of a leaf or node on the canvas) and reads
the answer from the page: the card's text, what each view drew in its last frame, the pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

import phylo_llm as pl
from phylo_llm.viewer._browser import browser_context, find_chromium, open_explorer, why_no_browser
from tests.helpers import DEMO

pytestmark = pytest.mark.skipif(find_chromium() is None, reason=why_no_browser())

HOSTILE = ('<script>alert("id")</script>', "a\"b'c", "x&amp;y<z>", "</script><img src=x onerror=alert(2)>",
           "plain/model", "o'neil/<b>bold</b>")


@pytest.fixture(scope="module")
def browser():
    with browser_context() as context:
        yield context


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("explorer") / "demo.html"
    pl.view(None, pl.load_dna(DEMO / "dna.parquet"), pl.load_lineage(DEMO)).save(path)
    return path


@pytest.fixture()
def demo(browser, demo_file):
    page, messages, requests = open_explorer(browser, str(demo_file))
    yield page
    page.close()
    assert not [m for m in messages if m[0] in ("error", "pageerror", "dialog", "warning")], messages
    assert all(url.startswith("file:") for url in requests), requests


def test_loads_without_errors_or_network(browser, demo_file):
    page, messages, requests = open_explorer(browser, str(demo_file))
    assert page.evaluate("window.phyloExplorer.visibleLeafIds().length") == 70
    page.close()
    assert messages == []
    assert requests == [demo_file.as_uri()]


def test_search_highlights_in_both_views(demo):
    target = "meta-llama/Llama-2-7B-Instruct"
    demo.click("#search")
    demo.keyboard.type("llama-2-7b-inst")
    suggestions = demo.locator("#suggestions li.suggestion").all_inner_texts()
    assert target in suggestions and all("llama-2-7b-inst" in s.lower() for s in suggestions)
    demo.keyboard.press("Enter")
    demo.wait_for_timeout(150)
    drawn = demo.evaluate("window.phyloExplorer.highlighted()")
    assert target in drawn["tree"] and target in drawn["map"]
    assert demo.text_content("#card-id") == target
    # The ring is really on the map: dark pixels on the circle of radius 8 around the model's point.
    at = demo.evaluate(f"window.phyloExplorer.screenOf('map', {target!r})")
    box = demo.locator("#map-canvas").bounding_box()
    png = demo.screenshot(clip={"x": at["x"] - 12, "y": at["y"] - 12, "width": 24, "height": 24})
    pixels = np.array(_png_pixels(png))[:, :, :3]
    yy, xx = np.mgrid[0:24, 0:24]
    on_ring = np.abs(np.hypot(xx + 0.5 - 12, yy + 0.5 - 12) - 8) < 1.2
    dark = pixels.max(axis=2) < 70
    # The selected model's black ring: most of the circle is black (others' rings may cross a few pixels).
    assert box is not None and (dark & on_ring).sum() > 0.6 * on_ring.sum(), (dark & on_ring).sum()


def test_clicking_a_leaf_shows_its_card_with_the_documented_parent(demo):
    model = "lmsys/Llama-1-7B-tune-1"
    at = demo.evaluate(f"window.phyloExplorer.screenOf('tree', {model!r})")
    demo.mouse.click(at["x"], at["y"])
    assert demo.text_content("#card-id") == model
    parents = demo.text_content("#card-parents")
    assert "meta-llama/Llama-1-7B-Instruct" in parents and "finetune" in parents
    # Its documented relatives are highlighted in both views; the nearest list matches relatives().
    drawn = demo.evaluate("window.phyloExplorer.highlighted()")
    assert "meta-llama/Llama-1-7B-Instruct" in drawn["tree"] and "meta-llama/Llama-1-7B-Instruct" in drawn["map"]
    dist = pl.distance_matrix(pl.load_dna(DEMO / "dna.parquet"))
    expected = list(pl.relatives(model, dist, pl.load_lineage(DEMO), k=10)["model"])
    assert demo.locator("table.near .model-link").all_inner_texts() == expected
    # Clicking on the map selects there too.
    other = "google/Gemma-1-7B"
    at = demo.evaluate(f"window.phyloExplorer.screenOf('map', {other!r})")
    demo.mouse.click(at["x"], at["y"])
    assert demo.text_content("#card-id") == other or demo.evaluate("window.phyloExplorer.selected()") != model


def test_collapsing_a_clade_hides_its_leaves(demo):
    gemma = [m for m in pl.load_dna(DEMO / "dna.parquet").ids if "Gemma-2-" in m]
    node = demo.evaluate(f"window.phyloExplorer.commonAncestor({gemma!r})")
    below = demo.evaluate(f"window.phyloExplorer.leavesBelow({node})")
    at = demo.evaluate(f"window.phyloExplorer.nodeScreen({node})")
    demo.mouse.click(at["x"], at["y"])
    demo.wait_for_timeout(100)
    visible = demo.evaluate("window.phyloExplorer.visibleLeafIds()")
    assert demo.evaluate(f"window.phyloExplorer.isCollapsed({node})")
    assert len(visible) == 70 - below and not set(gemma) & set(visible)
    at = demo.evaluate(f"window.phyloExplorer.nodeScreen({node})")  # the collapsed clade is now one row
    demo.mouse.click(at["x"], at["y"])  # and expanding shows them again
    demo.wait_for_timeout(100)
    assert len(demo.evaluate("window.phyloExplorer.visibleLeafIds()")) == 70


def test_circular_layout_and_colouring_switch(demo):
    demo.click("#layout-circular")
    demo.select_option("#colour-by", "organization")
    model = "google/Gemma-2-7B"
    at = demo.evaluate(f"window.phyloExplorer.screenOf('tree', {model!r})")
    demo.mouse.click(at["x"], at["y"])
    assert demo.text_content("#card-id") == model
    assert demo.locator("#legend h3").inner_text().lower() == "organization"


def test_hostile_ids_are_shown_as_text(browser, tmp_path):
    x = np.random.default_rng(2).normal(size=(len(HOSTILE), 8))
    path = tmp_path / "hostile.html"
    pl.view(None, pl.DNA(HOSTILE, x), pl.load_lineage(DEMO)).save(path)
    page, messages, requests = open_explorer(browser, str(path))
    try:
        for model in HOSTILE:
            page.fill("#search", model)
            page.keyboard.press("Enter")
            assert page.text_content("#card-id") == model
        page.click("#reset-view")
        page.wait_for_timeout(100)
        at = page.evaluate(f"window.phyloExplorer.screenOf('tree', {HOSTILE[3]!r})")
        page.mouse.click(at["x"], at["y"])
        assert page.text_content("#card-id") == HOSTILE[3]
        assert page.evaluate("document.scripts.length") == 2 and page.evaluate("document.images.length") == 0
        assert page.evaluate("document.querySelectorAll('b, img, [onerror]').length") == 0
        texts = page.locator("table.near .model-link").all_inner_texts()
        assert set(texts) <= set(HOSTILE) and len(texts) == len(HOSTILE) - 1
    finally:
        page.close()
    assert not [m for m in messages if m[0] in ("error", "pageerror", "dialog")], messages
    assert all(url.startswith("file:") for url in requests)


def test_screenshot_of_the_demo(demo, tmp_path):
    demo.fill("#search", "meta-llama/Llama-1-7B-Instruct")
    demo.keyboard.press("Enter")
    demo.evaluate("window.phyloExplorer.zoomTo('tree', 1, 0, 0)")
    demo.wait_for_timeout(200)
    path = tmp_path / "explorer.png"
    demo.screenshot(path=str(path))
    pixels = np.array(_png_pixels(path.read_bytes()))
    colours = {tuple(p[:3]) for p in pixels.reshape(-1, pixels.shape[-1])[::7]}
    assert pixels.shape[:2] == (900, 1500) and len(colours) > 50  # a drawn page, not a blank one


def _png_pixels(png: bytes) -> list:
    """RGBA rows of a PNG, decoded by matplotlib (an independent reader)."""
    import io

    from matplotlib.image import imread

    image = imread(io.BytesIO(png), format="png")
    return (np.asarray(image) * 255).round().astype(int).tolist()
