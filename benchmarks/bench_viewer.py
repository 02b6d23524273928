"""The explorer at 1,585 and 20,000 leaves: file size, page load and frame times, against an SVG drawing.

    python benchmarks/bench_viewer.py --rand rand.parquet --sizes 20000

``rand.parquet``: ``phylo-llm import .../dna-out/rand --allow-mixed -o rand.parquet`` (the published rand set).
Each size N > 0 of ``--sizes`` is random 128-d DNA of N models (the tree's shape does not matter to drawing).
For each data set: the time to make the page in Python (distances, NJ tree, t-SNE map, card data, HTML), the
file's size, then in headless Chromium (Debian's, software rendering, no GPU: the slow case) the time from
opening the file to the first drawn frame, and the time to draw one frame of the tree and of the map while
zooming and panning (the script's drawing time per frame, median and 95th percentile over 40 frames), in the
rectangular and the circular layout, and the time to re-lay the tree out after collapsing a clade.

The reference, measured in the same run: the same rectangular tree as SVG, one ``<path>`` per branch (how
SVG viewers such as phylotree.js draw), its load time and the time per frame when a zoom transform changes
(the interval between frames while the transform changes every frame, so it includes the browser's
re-rasterising of the SVG; 16.7 ms is the display's pace, the floor).
Also reported: the size of Bokeh's inline resources, the other standalone option considered.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import phylo_llm as pl
from phylo_llm.viewer._browser import browser_context, find_chromium, open_explorer, why_no_browser

FRAMES = """async ([view, frames]) => {
  // One zoom step per frame; the interval between frames includes drawing and rasterising; "draw" is the
  // script's drawing of one frame plus the canvas flush it forces (getImageData waits for the pixels).
  const e = window.phyloExplorer;
  const intervals = [], draw = [];
  let last = await new Promise((done) => requestAnimationFrame(done));
  for (let i = 0; i < frames; i++) {
    e.zoomTo(view, 1 + 0.15 * i, -20 * i, -25 * i);
    const now = await new Promise((done) => requestAnimationFrame(done));
    intervals.push(now - last);
    last = now;
  }
  for (let i = 0; i < frames; i++) {
    e.zoomTo(view, 1 + 0.15 * i, -20 * i, -25 * i);
    draw.push(e.drawNow(view));
    await new Promise((done) => requestAnimationFrame(done));
  }
  return {draw, intervals};
}"""

SVG_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>svg</title></head><body style="margin:0">
<svg id="s" width="{w}" height="{h}"><g id="g" fill="none" stroke="#555" stroke-width="1">{paths}</g></svg>
<script>
window.svgReady = performance.now();
window.svgFrames = async (frames) => {{
  const g = document.getElementById("g"); const out = [];
  let last = await new Promise((done) => requestAnimationFrame(done));
  for (let i = 0; i < frames; i++) {{
    g.setAttribute("transform", `translate(${{-20 * i}},${{-25 * i}}) scale(${{1 + 0.15 * i}})`);
    const now = await new Promise((done) => requestAnimationFrame(done));
    out.push(now - last);
    last = now;
  }}
  return out;
}};
</script></body></html>"""


def svg_page(data: dict, width: float = 640, height: float = 850) -> str:
    """The explorer's rectangular tree as an SVG document: one path per branch (horizontal + vertical part)."""
    tree = data["tree"]
    parent, length = tree["parent"], tree["length"]
    n = len(parent)
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(1, n):
        children[parent[i]].append(i)
    depth = [0.0] * n
    for i in range(1, n):
        depth[i] = depth[parent[i]] + max(length[i], 0.0)
    slot = [0.0] * n
    tips = 0
    for i in range(n - 1, -1, -1):  # reverse preorder: children before parents, last leaf first
        if not children[i]:
            slot[i] = tips
            tips += 1
    for i in range(n - 1, -1, -1):
        if children[i]:
            slot[i] = (slot[children[i][0]] + slot[children[i][-1]]) / 2
    top = max(depth) or 1.0
    x = [10 + d / top * (width - 20) for d in depth]
    y = [10 + s / max(tips - 1, 1) * (height - 20) for s in slot]
    paths = "".join(f'<path d="M{x[parent[i]]:.1f},{y[parent[i]]:.1f}V{y[i]:.1f}H{x[i]:.1f}"/>' for i in range(1, n))
    return SVG_PAGE.format(w=width, h=height, paths=paths)


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{statistics.median(ordered):7.1f} / {ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]:7.1f}"


def measure(label: str, dna: pl.DNA, lineage, folder: str) -> dict:
    timings = {}
    start = time.perf_counter()
    explorer = pl.view(None, dna, lineage)
    timings["python_s"] = time.perf_counter() - start
    page_path = os.path.join(folder, f"{label}.html")
    explorer.save(page_path)
    svg_path = os.path.join(folder, f"{label}-svg.html")
    with open(svg_path, "w", encoding="utf-8") as handle:
        handle.write(svg_page(explorer.data))
    out = {"label": label, "models": dna.n_models, "python_s": timings["python_s"],
           "html_mb": os.path.getsize(page_path) / 1e6, "svg_mb": os.path.getsize(svg_path) / 1e6}
    with browser_context() as context:
        t0 = time.perf_counter()
        page, messages, requests = open_explorer(context, page_path)
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        out["load_s"] = time.perf_counter() - t0
        out["script_start_ms"] = page.evaluate("window.phyloExplorer.stats.loadMs")
        out["errors"] = [m for m in messages if m[0] in ("error", "pageerror", "dialog")]
        out["other_requests"] = [r for r in requests if not r.startswith("file:")]
        for layout in ("rectangular", "circular"):
            page.evaluate(f"window.phyloExplorer.layout('{layout}')")
            page.wait_for_timeout(200)
            tree = page.evaluate(FRAMES, ["tree", 40])
            out[f"tree_{layout}_draw_ms"] = tree["draw"]
            out[f"tree_{layout}_frame_ms"] = tree["intervals"]
        out["map_draw_ms"] = page.evaluate(FRAMES, ["map", 40])["draw"]
        page.evaluate("window.phyloExplorer.layout('rectangular')")
        relayout = []
        for _ in range(5):
            # Collapse and expand the root's largest child clade: a full re-layout each time.
            relayout.append(page.evaluate("""() => { const e = window.phyloExplorer; const i = e.largestChild();
              const t0 = performance.now(); e.toggle(i); e.redraw(); const t1 = performance.now(); e.toggle(i); return t1 - t0; }"""))
        out["collapse_ms"] = relayout
        page.close()
        t0 = time.perf_counter()
        svg = context.new_page()
        svg.goto("file://" + svg_path, timeout=600_000)
        svg.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        out["svg_load_s"] = time.perf_counter() - t0
        out["svg_frame_ms"] = svg.evaluate("window.svgFrames(40)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rand", help="the published rand set as DNA (phylo-llm import ... --allow-mixed)")
    parser.add_argument("--lineage", default="builtin")
    parser.add_argument("--sizes", type=int, nargs="*", default=[20000])
    parser.add_argument("--json", help="also write the raw numbers here")
    args = parser.parse_args()
    if find_chromium() is None:
        sys.exit(f"bench_viewer: {why_no_browser()}")
    lineage = pl.load_lineage(*([] if args.lineage == "builtin" else [args.lineage]))
    sets = []
    if args.rand:
        sets.append(("rand", pl.load_dna(args.rand, allow_mixed=True)))
    for n in args.sizes:
        x = np.random.default_rng(0).normal(size=(n, 128))
        sets.append((f"random-{n}", pl.DNA(tuple(f"org{i % 97:02d}/model-{i:05d}" for i in range(n)), x)))
    from bokeh.resources import INLINE  # the alternative considered: its inline resources alone

    print(f"Bokeh {__import__('bokeh').__version__} inline resources: {sum(len(s) for s in INLINE.js_raw) / 1e6:.2f} MB of script")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for label, dna in sets:
            r = measure(label, dna, lineage, folder)
            results.append(r)
            print(f"\n{label}: {r['models']:,} models; page made in {r['python_s']:.1f} s; {r['html_mb']:.1f} MB "
                  f"(SVG tree alone: {r['svg_mb']:.1f} MB); console errors {len(r['errors'])}, requests leaving the file {len(r['other_requests'])}")
            print(f"  load to first frame: explorer {r['load_s']:.2f} s (script {r['script_start_ms']:.0f} ms), SVG {r['svg_load_s']:.2f} s")
            print("  per frame, median / p95 (ms):")
            for layout in ("rectangular", "circular"):
                print(f"    tree {layout:<11} draw {summary(r[f'tree_{layout}_draw_ms'])}   frame {summary(r[f'tree_{layout}_frame_ms'])}")
            print(f"    map              draw {summary(r['map_draw_ms'])}")
            print(f"    SVG tree (reference) frame {summary(r['svg_frame_ms'])}")
            print(f"  collapse a clade (layout + draw): {summary(r['collapse_ms'])} ms")
            sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
