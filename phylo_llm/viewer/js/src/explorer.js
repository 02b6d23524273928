// The phylo-llm explorer: a tree and a DNA map of the same models, linked, on two canvases.
//
// Everything the page shows comes from the JSON block #phylo-llm-data that Python wrote
// (phylo_llm/viewer/_data.py documents its fields). Model ids and lineage values are text from
// files: they reach the page only through textContent, canvas fillText and JSON.parse — never
// innerHTML — so an id such as "<script>" is shown, not run.
//
// Library parts: d3-hierarchy (the visible tree after collapsing, walked pre/post order),
// d3-zoom (pan and zoom on both canvases), d3-quadtree (what is under the pointer),
// d3-selection (events). Canvas 2D draws; SVG with one element per branch is too slow at
// 20,000 leaves (benchmarks/README.md).

import { hierarchy } from "d3-hierarchy";
import { quadtree } from "d3-quadtree";
import { select } from "d3-selection";
import { zoom, zoomIdentity } from "d3-zoom";

const started = performance.now();
const DATA = JSON.parse(document.getElementById("phylo-llm-data").textContent);
const N = DATA.ids.length;
const IDS = DATA.ids;
const NEUTRAL = "#555555";       // branches whose leaves do not share one value
const SELECTED = "#000000";
const MATCH = "#E8A200";         // search matches and legend picks
const TIP_RADIUS = 2.5;          // px

// ---------------------------------------------------------------- the full tree as nodes
const TREE = DATA.tree;
const nodes = TREE.parent.map((p, i) => ({
  i, parent: p, length: Math.max(0, TREE.length[i]), model: TREE.model[i],
  support: TREE.support ? TREE.support[i] : null, children: [],
}));
for (const node of nodes) if (node.parent >= 0) nodes[node.parent].children.push(node);
// Below every node (nodes are in preorder, so children come after parents): leaf count, deepest leaf.
const leavesBelow = new Int32Array(nodes.length);
const deepest = new Float64Array(nodes.length);
const rootDistance = new Float64Array(nodes.length);
for (let i = 1; i < nodes.length; i++) rootDistance[i] = rootDistance[nodes[i].parent] + nodes[i].length;
for (let i = nodes.length - 1; i >= 0; i--) {
  const node = nodes[i];
  if (!node.children.length) { leavesBelow[i] = 1; deepest[i] = rootDistance[i]; }
  if (node.parent >= 0) {
    leavesBelow[node.parent] += leavesBelow[i];
    deepest[node.parent] = Math.max(deepest[node.parent], deepest[i]);
  }
}
const leafNode = new Int32Array(N).fill(-1);   // model -> its tree node (-1: not in the tree)
nodes.forEach((n) => { if (n.model >= 0) leafNode[n.model] = n.i; });
const maxDepth = Math.max(deepest[0], 1e-12);

// ---------------------------------------------------------------- state
const state = {
  layout: DATA.layout === "circular" ? "circular" : "rectangular",
  colourBy: DATA.colour_by,
  collapsed: new Set(),
  selected: -1,
  matches: new Set(),
  relatives: new Map(),          // model -> relation (documented relatives of the selected model)
};
const placed = new Set(DATA.placed || []);

// ---------------------------------------------------------------- the page's elements
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};
const treeCanvas = $("tree-canvas");
const mapCanvas = $("map-canvas");
const tooltip = $("tooltip");
$("title").textContent = DATA.title;
$("subtitle").textContent = DATA.subtitle;

// ---------------------------------------------------------------- colours
function colouring() {
  return DATA.colours[state.colourBy];
}
function modelColour(m) {
  const c = colouring();
  return c.categories[c.codes[m]].colour;
}
// The category shared by every leaf below a node, or -1: branches of such clades take its colour.
let uniform = new Int32Array(nodes.length);
function computeUniform() {
  const codes = colouring().codes;
  uniform = new Int32Array(nodes.length).fill(-2);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.children.length) uniform[i] = node.model >= 0 ? codes[node.model] : -1;
    if (node.parent >= 0) {
      const p = node.parent;
      uniform[p] = uniform[p] === -2 ? uniform[i] : uniform[p] === uniform[i] ? uniform[p] : -1;
    }
  }
}
function nodeColour(i) {
  const u = uniform[i];
  return u >= 0 ? colouring().categories[u].colour : NEUTRAL;
}

// ---------------------------------------------------------------- layout of the visible tree
let visible = null;   // d3 hierarchy of the visible tree
let tips = 0;
let treeIndex = null; // quadtree of visible node positions (world coordinates)
const world = { width: 1, height: 1 };
const position = new Float64Array(nodes.length * 2);   // world x, y of each visible node
const slotOf = new Float64Array(nodes.length);
const shown = new Uint8Array(nodes.length);            // node visible in the current layout

function sizeOf(canvas) {
  const rect = canvas.getBoundingClientRect();
  return { width: Math.max(rect.width, 10), height: Math.max(rect.height, 10) };
}

function layoutTree() {
  const size = sizeOf(treeCanvas);
  world.width = size.width;
  world.height = size.height;
  visible = hierarchy(nodes[0], (d) => (state.collapsed.has(d.i) || !d.children.length ? null : d.children));
  shown.fill(0);
  tips = 0;
  visible.eachAfter((h) => {
    shown[h.data.i] = 1;
    if (!h.children) slotOf[h.data.i] = tips++;
    else slotOf[h.data.i] = (slotOf[h.children[0].data.i] + slotOf[h.children[h.children.length - 1].data.i]) / 2;
  });
  const margin = 14;
  if (state.layout === "rectangular") {
    // Room for the labels when they are shown at this size (rows far enough apart), else a little.
    const rows = (size.height - 2 * margin) / Math.max(tips - 1, 1);
    const labelRoom = rows >= 9 ? Math.min(longestLabel() + 12, size.width * 0.5) : 16;
    world.labelRoom = labelRoom;
    const w = size.width - labelRoom - 2 * margin;
    const h = size.height - 2 * margin;
    visible.each((v) => {
      const i = v.data.i;
      position[2 * i] = margin + (rootDistance[i] / maxDepth) * w;
      position[2 * i + 1] = margin + (tips > 1 ? slotOf[i] / (tips - 1) : 0.5) * h;
    });
  } else {
    const cx = size.width / 2, cy = size.height / 2;
    const radius = Math.min(size.width, size.height) / 2 - margin - 4;
    visible.each((v) => {
      const i = v.data.i;
      const r = (rootDistance[i] / maxDepth) * radius;
      const a = angleOf(slotOf[i]);
      position[2 * i] = cx + r * Math.cos(a);
      position[2 * i + 1] = cy + r * Math.sin(a);
    });
    world.cx = cx; world.cy = cy; world.radius = radius;
  }
  treeIndex = quadtree().x((i) => position[2 * i]).y((i) => position[2 * i + 1]);
  visible.each((v) => treeIndex.add(v.data.i));
}
let longest = -1;
function longestLabel() {
  if (longest < 0) {
    const ctx = treeCanvas.getContext("2d");
    ctx.font = "11px system-ui, sans-serif";
    longest = 0;
    for (const id of IDS) longest = Math.max(longest, ctx.measureText(id).width);
  }
  return longest;
}
function angleOf(slot) {
  return (slot / Math.max(tips, 1)) * 2 * Math.PI * 0.97 - Math.PI / 2;
}
function radiusOf(i) {
  return (rootDistance[i] / maxDepth) * world.radius;
}
// Rows per pixel: labels are drawn when rows are at least this far apart on screen.
function rowSpacing(k) {
  if (state.layout === "rectangular") return ((world.height - 28) / Math.max(tips - 1, 1)) * k;
  return ((2 * Math.PI * world.radius) / Math.max(tips, 1)) * k;
}

// ---------------------------------------------------------------- canvases and zoom
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const size = sizeOf(canvas);
  const w = Math.round(size.width * dpr), h = Math.round(size.height * dpr);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, size.width, size.height);
  return { ctx, dpr, size };
}
const views = {
  tree: { transform: zoomIdentity, canvas: treeCanvas },
  map: { transform: zoomIdentity, canvas: mapCanvas },
};
for (const [name, view] of Object.entries(views)) {
  view.zoom = zoom().scaleExtent([0.5, 4000]).on("zoom", (event) => {
    view.transform = event.transform;
    requestDraw(name);
  });
  select(view.canvas).call(view.zoom).on("dblclick.zoom", null);
}

let pending = new Set();
function requestDraw(...which) {
  const first = pending.size === 0;
  for (const w of which.length ? which : ["tree", "map"]) pending.add(w);
  if (first) requestAnimationFrame(() => {
    const now = pending;
    pending = new Set();
    if (now.has("tree")) drawTree();
    if (now.has("map")) drawMap();
  });
}

// ---------------------------------------------------------------- drawing the tree
const stats = { loadMs: 0, treeMs: [], mapMs: [], layoutMs: 0 };
const drawn = { tree: [], map: [] };   // models highlighted in the last frame of each view

function highlightedModels() {
  const out = new Map();  // model -> colour of its ring
  for (const m of state.matches) out.set(m, MATCH);
  for (const [m, relation] of state.relatives) out.set(m, DATA.relation_colours[relation] || NEUTRAL);
  if (state.selected >= 0) { out.delete(state.selected); out.set(state.selected, SELECTED); }  // drawn last: on top
  return out;
}
// The visible node standing for a model: its leaf, or the collapsed clade holding it.
function visibleNodeOf(m) {
  let i = leafNode[m];
  if (i < 0) return -1;
  let shownAt = i;
  while (i >= 0) { if (state.collapsed.has(i)) shownAt = i; i = nodes[i].parent; }
  return shownAt;
}

function drawTree() {
  const t0 = performance.now();
  const { ctx, dpr, size } = prepare(treeCanvas);
  const t = views.tree.transform;
  const k = t.k;
  const circular = state.layout === "circular";
  // Branches, batched by colour and width (one stroke per batch: fast at 20,000 leaves).
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * t.x, dpr * t.y);
  const batches = new Map();
  const batch = (colour, width) => {
    const key = colour + "|" + width;
    let b = batches.get(key);
    if (!b) { b = { colour, width, path: new Path2D() }; batches.set(key, b); }
    return b.path;
  };
  const widthOf = (i) => {
    const s = nodes[i].support;
    return s === null || s === undefined ? 1 : Math.round((0.5 + 2.5 * s) * 2) / 2;
  };
  visible.each((h) => {
    const i = h.data.i;
    const x = position[2 * i], y = position[2 * i + 1];
    if (h.parent) {
      const p = h.parent.data.i;
      const path = batch(nodeColour(i), widthOf(i));
      if (circular) {
        const a = angleOf(slotOf[i]), r0 = radiusOf(p);
        path.moveTo(world.cx + r0 * Math.cos(a), world.cy + r0 * Math.sin(a));
        path.lineTo(x, y);
      } else {
        path.moveTo(position[2 * p], y);
        path.lineTo(x, y);
      }
    }
    if (h.children) {
      const first = h.children[0].data.i, last = h.children[h.children.length - 1].data.i;
      const path = batch(nodeColour(i), 1);
      if (circular) {
        const r = radiusOf(i);
        const a0 = angleOf(slotOf[first]), a1 = angleOf(slotOf[last]);
        path.moveTo(world.cx + r * Math.cos(a0), world.cy + r * Math.sin(a0));
        path.arc(world.cx, world.cy, r, a0, a1);
      } else {
        path.moveTo(x, position[2 * first + 1]);
        path.lineTo(x, position[2 * last + 1]);
      }
    }
  });
  for (const b of batches.values()) {
    ctx.strokeStyle = b.colour;
    ctx.lineWidth = b.width / k;
    ctx.stroke(b.path);
  }
  // Collapsed clades: a wedge reaching their deepest leaf.
  for (const i of state.collapsed) {
    if (!shown[i]) continue;
    ctx.fillStyle = nodeColour(i);
    ctx.globalAlpha = 0.55;
    ctx.beginPath();
    const half = Math.min(0.45, 0.45);
    if (circular) {
      const r0 = radiusOf(i), r1 = (deepest[i] / maxDepth) * world.radius;
      const a0 = angleOf(slotOf[i] - half), a1 = angleOf(slotOf[i] + half);
      ctx.moveTo(world.cx + r0 * Math.cos(angleOf(slotOf[i])), world.cy + r0 * Math.sin(angleOf(slotOf[i])));
      ctx.lineTo(world.cx + r1 * Math.cos(a0), world.cy + r1 * Math.sin(a0));
      ctx.lineTo(world.cx + r1 * Math.cos(a1), world.cy + r1 * Math.sin(a1));
    } else {
      const rowH = (world.height - 28) / Math.max(tips - 1, 1);
      const x1 = 14 + (deepest[i] / maxDepth) * (world.width - world.labelRoom - 28);
      const y = position[2 * i + 1], dy = Math.max(rowH * half, 3 / k);
      ctx.moveTo(position[2 * i], y);
      ctx.lineTo(x1, y - dy);
      ctx.lineTo(x1, y + dy);
    }
    ctx.closePath();
    ctx.fill();
    ctx.globalAlpha = 1;
  }
  // Everything below is drawn in screen pixels.
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const sx = (i) => position[2 * i] * k + t.x;
  const sy = (i) => position[2 * i + 1] * k + t.y;
  const inView = (x, y) => x > -50 && y > -50 && x < size.width + 50 && y < size.height + 50;
  // Tips: one square per colour batch.
  const r = TIP_RADIUS;
  const byColour = new Map();
  const placedTips = [];
  for (const leaf of visible.leaves()) {
    const i = leaf.data.i;
    const m = nodes[i].model;
    if (m < 0) continue;
    const x = sx(i), y = sy(i);
    if (!inView(x, y)) continue;
    if (placed.has(m)) { placedTips.push([x, y]); continue; }
    const c = modelColour(m);
    if (!byColour.has(c)) byColour.set(c, []);
    byColour.get(c).push(x, y);
  }
  for (const [c, xy] of byColour) {
    ctx.fillStyle = c;
    for (let j = 0; j < xy.length; j += 2) ctx.fillRect(xy[j] - r, xy[j + 1] - r, 2 * r, 2 * r);
  }
  // Placed models: a black-edged diamond.
  for (const [x, y] of placedTips) {
    ctx.beginPath();
    ctx.moveTo(x, y - 5); ctx.lineTo(x + 5, y); ctx.lineTo(x, y + 5); ctx.lineTo(x - 5, y); ctx.closePath();
    ctx.fillStyle = "#FFFFFF"; ctx.fill();
    ctx.strokeStyle = "#000000"; ctx.lineWidth = 1.5; ctx.stroke();
  }
  // Labels when rows are far enough apart; support values at internal nodes likewise.
  const spacing = rowSpacing(k);
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  if (spacing >= 9) {
    ctx.fillStyle = "#222222";
    for (const leaf of visible.leaves()) {
      const i = leaf.data.i;
      const x = sx(i), y = sy(i);
      if (!inView(x, y)) continue;
      if (state.collapsed.has(i)) {
        // A collapsed clade's label starts where its wedge ends.
        const far = deepestPoint(i);
        drawLabel(ctx, collapsedLabel(i), i, far[0] * k + t.x, far[1] * k + t.y, circular, k, t);
      } else if (nodes[i].model >= 0) {
        drawLabel(ctx, IDS[nodes[i].model], i, x, y, circular, k, t);
      }
    }
  }
  if (spacing >= 16 && TREE.support) {
    ctx.fillStyle = "#666666";
    ctx.font = "9px system-ui, sans-serif";
    visible.each((h) => {
      const i = h.data.i;
      if (!h.children || !h.parent || nodes[i].support === null) return;
      const x = sx(i), y = sy(i);
      if (inView(x, y)) ctx.fillText(nodes[i].support.toFixed(2), x + 2, y - 6);
    });
  }
  // Highlights: rings (and the selected model's path to the root).
  const rings = highlightedModels();
  const drawnNow = [];
  if (state.selected >= 0 && visibleNodeOf(state.selected) >= 0) {
    ctx.strokeStyle = SELECTED;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    let i = visibleNodeOf(state.selected);
    ctx.moveTo(sx(i), sy(i));
    while (nodes[i].parent >= 0) {
      const p = nodes[i].parent;
      if (circular) {
        const a = angleOf(slotOf[i]), rp = radiusOf(p);
        ctx.lineTo((world.cx + rp * Math.cos(a)) * k + t.x, (world.cy + rp * Math.sin(a)) * k + t.y);
        ctx.lineTo(sx(p), sy(p));
      } else {
        ctx.lineTo(sx(p), sy(i));
        ctx.lineTo(sx(p), sy(p));
      }
      i = p;
    }
    ctx.stroke();
  }
  for (const [m, colour] of rings) {
    const i = visibleNodeOf(m);
    if (i < 0) continue;
    drawnNow.push(m);
    ring(ctx, sx(i), sy(i), m === state.selected ? 8 : 6, colour);
  }
  drawn.tree = drawnNow;
  record(stats.treeMs, performance.now() - t0);
}
function deepestPoint(i) {
  if (state.layout === "circular") {
    const r = (deepest[i] / maxDepth) * world.radius, a = angleOf(slotOf[i]);
    return [world.cx + r * Math.cos(a), world.cy + r * Math.sin(a)];
  }
  return [14 + (deepest[i] / maxDepth) * (world.width - world.labelRoom - 28), position[2 * i + 1]];
}
function collapsedLabel(i) {
  const u = uniform[i];
  const name = u >= 0 ? colouring().categories[u].name : "clade";
  return `${name} (${leavesBelow[i]} models)`;
}
function drawLabel(ctx, text, i, x, y, circular, k, t) {
  if (!circular) {
    ctx.textAlign = "left";
    ctx.fillText(text, x + 5, y);
    return;
  }
  const a = angleOf(slotOf[i]);
  ctx.save();
  ctx.translate(x, y);
  const flip = Math.cos(a) < 0;
  ctx.rotate(flip ? a + Math.PI : a);
  ctx.textAlign = flip ? "right" : "left";
  ctx.fillText(text, flip ? -5 : 5, 0);
  ctx.restore();
}
function ring(ctx, x, y, radius, colour) {
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = "#FFFFFF";
  ctx.stroke();
  ctx.lineWidth = 2;
  ctx.strokeStyle = colour;
  ctx.stroke();
}
function record(list, ms) {
  list.push(ms);
  if (list.length > 200) list.shift();
}

// ---------------------------------------------------------------- the DNA map
const MAP = DATA.map;   // [x0, y0, x1, y1, ...] or null (no DNA for some models: NaN)
const mapWorld = new Float64Array(2 * N);
let mapIndex = null;
function layoutMap() {
  const size = sizeOf(mapCanvas);
  const margin = 12;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let m = 0; m < N; m++) {
    const x = MAP[2 * m], y = MAP[2 * m + 1];
    if (x === null) continue;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const scale = Math.min((size.width - 2 * margin) / Math.max(x1 - x0, 1e-12), (size.height - 2 * margin) / Math.max(y1 - y0, 1e-12));
  const ox = (size.width - scale * (x1 - x0)) / 2, oy = (size.height - scale * (y1 - y0)) / 2;
  mapIndex = quadtree().x((m) => mapWorld[2 * m]).y((m) => mapWorld[2 * m + 1]);
  for (let m = 0; m < N; m++) {
    if (MAP[2 * m] === null) { mapWorld[2 * m] = NaN; continue; }
    mapWorld[2 * m] = ox + (MAP[2 * m] - x0) * scale;
    mapWorld[2 * m + 1] = oy + (y1 - MAP[2 * m + 1]) * scale;
    mapIndex.add(m);
  }
}
function drawMap() {
  const t0 = performance.now();
  const { ctx, size } = prepare(mapCanvas);
  const t = views.map.transform;
  const r = N > 5000 ? 1.5 : 3;
  const byColour = new Map();
  for (let m = 0; m < N; m++) {
    if (Number.isNaN(mapWorld[2 * m])) continue;
    const x = mapWorld[2 * m] * t.k + t.x, y = mapWorld[2 * m + 1] * t.k + t.y;
    if (x < -5 || y < -5 || x > size.width + 5 || y > size.height + 5) continue;
    const c = modelColour(m);
    if (!byColour.has(c)) byColour.set(c, []);
    byColour.get(c).push(x, y);
  }
  ctx.globalAlpha = 0.85;
  for (const [c, xy] of byColour) {
    ctx.fillStyle = c;
    ctx.beginPath();
    for (let j = 0; j < xy.length; j += 2) { ctx.moveTo(xy[j] + r, xy[j + 1]); ctx.arc(xy[j], xy[j + 1], r, 0, 2 * Math.PI); }
    ctx.fill();
  }
  ctx.globalAlpha = 1;
  const drawnNow = [];
  for (const [m, colour] of highlightedModels()) {
    if (Number.isNaN(mapWorld[2 * m])) continue;
    drawnNow.push(m);
    ring(ctx, mapWorld[2 * m] * t.k + t.x, mapWorld[2 * m + 1] * t.k + t.y, m === state.selected ? 8 : 6, colour);
  }
  if (state.selected >= 0 && !Number.isNaN(mapWorld[2 * state.selected])) {
    const m = state.selected;
    ctx.font = "bold 11px system-ui, sans-serif";
    ctx.fillStyle = "#000000";
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.fillText(IDS[m], mapWorld[2 * m] * t.k + t.x + 11, mapWorld[2 * m + 1] * t.k + t.y);
  }
  drawn.map = drawnNow;
  record(stats.mapMs, performance.now() - t0);
}

// ---------------------------------------------------------------- pointer: click, hover
function pointer(view, event) {
  const rect = view.canvas.getBoundingClientRect();
  const t = view.transform;
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  return { px, py, wx: (px - t.x) / t.k, wy: (py - t.y) / t.k, k: t.k };
}
function nodeAt(event) {
  const p = pointer(views.tree, event);
  const found = treeIndex.find(p.wx, p.wy, 9 / p.k);
  return found === undefined ? -1 : found;
}
function modelAt(event) {
  const p = pointer(views.map, event);
  const found = mapIndex.find(p.wx, p.wy, 9 / p.k);
  return found === undefined ? -1 : found;
}
treeCanvas.addEventListener("click", (event) => {
  const i = nodeAt(event);
  if (i < 0) return;
  if (nodes[i].model >= 0 && !state.collapsed.has(i)) selectModel(nodes[i].model, { from: "tree" });
  else toggle(i);
});
mapCanvas.addEventListener("click", (event) => {
  const m = modelAt(event);
  if (m >= 0) selectModel(m, { from: "map" });
});
function hover(event, text) {
  if (text === null) { tooltip.hidden = true; return; }
  tooltip.textContent = text;
  tooltip.hidden = false;
  tooltip.style.left = `${event.clientX + 12}px`;
  tooltip.style.top = `${event.clientY + 12}px`;
}
treeCanvas.addEventListener("mousemove", (event) => {
  const i = nodeAt(event);
  if (i < 0) return hover(event, null);
  if (nodes[i].model >= 0) return hover(event, IDS[nodes[i].model]);
  const what = state.collapsed.has(i) ? "expand" : "collapse";
  const support = nodes[i].support === null ? "" : `, support ${nodes[i].support.toFixed(2)}`;
  hover(event, `${leavesBelow[i]} models${support} — click to ${what}`);
});
mapCanvas.addEventListener("mousemove", (event) => {
  const m = modelAt(event);
  hover(event, m < 0 ? null : IDS[m]);
});
for (const c of [treeCanvas, mapCanvas]) c.addEventListener("mouseleave", () => { tooltip.hidden = true; });

// ---------------------------------------------------------------- collapse, select, search
function toggle(i) {
  if (nodes[i].children.length === 0) return;
  if (state.collapsed.has(i)) state.collapsed.delete(i);
  else state.collapsed.add(i);
  relayout();
}
function relayout() {
  const t0 = performance.now();
  computeUniform();
  layoutTree();
  stats.layoutMs = performance.now() - t0;
  requestDraw("tree");
}
function expandTo(m) {
  let i = leafNode[m];
  let changed = false;
  while (i >= 0) { if (state.collapsed.delete(i)) changed = true; i = nodes[i].parent; }
  if (changed) relayout();
}
function selectModel(m, options = {}) {
  state.selected = m;
  state.relatives = new Map();
  for (const [other, relation] of DATA.related[m] || []) state.relatives.set(other, relation);
  if (options.reveal) { expandTo(m); centreOn(m); }
  showCard(m);
  requestDraw();
}
function centreOn(m) {
  const i = leafNode[m];
  if (i >= 0) {
    const size = sizeOf(treeCanvas);
    const k = Math.max(views.tree.transform.k, Math.min(40, Math.max(1, 12 / rowSpacing(1))));
    const target = zoomIdentity.translate(size.width / 2 - position[2 * i] * k, size.height / 2 - position[2 * i + 1] * k).scale(k);
    select(treeCanvas).call(views.tree.zoom.transform, target);
  }
  if (!Number.isNaN(mapWorld[2 * m])) {
    const size = sizeOf(mapCanvas);
    const k = views.map.transform.k;
    const target = zoomIdentity.translate(size.width / 2 - mapWorld[2 * m] * k, size.height / 2 - mapWorld[2 * m + 1] * k).scale(k);
    select(mapCanvas).call(views.map.zoom.transform, target);
  }
}

const searchBox = $("search");
const suggestions = $("suggestions");
const lowerIds = IDS.map((s) => s.toLowerCase());
let suggested = [];
let active = -1;
function findMatches(text) {
  const q = text.trim().toLowerCase();
  if (!q) return [];
  const starts = [], contains = [];
  for (let m = 0; m < N; m++) {
    const at = lowerIds[m].indexOf(q);
    if (at < 0) continue;
    (at === 0 || lowerIds[m][at - 1] === "/" ? starts : contains).push(m);
  }
  const byName = (a, b) => (IDS[a] < IDS[b] ? -1 : IDS[a] > IDS[b] ? 1 : 0);
  const shortFirst = (a, b) => IDS[a].length - IDS[b].length || byName(a, b);
  return starts.sort(shortFirst).concat(contains.sort(byName));
}
function showSuggestions() {
  const all = findMatches(searchBox.value);
  state.matches = new Set(all);
  suggested = all.slice(0, 12);
  active = -1;
  suggestions.replaceChildren();
  for (const m of suggested) {
    const item = el("li", "suggestion", IDS[m]);
    item.dataset.model = String(m);
    item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(m); });
    suggestions.append(item);
  }
  if (all.length > suggested.length) suggestions.append(el("li", "more", `${all.length - suggested.length} more: all highlighted`));
  suggestions.hidden = suggested.length === 0;
  $("search-count").textContent = searchBox.value.trim() ? `${all.length} found` : "";
  requestDraw();
}
function choose(m) {
  searchBox.value = IDS[m];
  suggestions.hidden = true;
  state.matches = new Set([m]);
  $("search-count").textContent = "";
  selectModel(m, { reveal: true });
}
searchBox.addEventListener("input", showSuggestions);
searchBox.addEventListener("keydown", (event) => {
  const items = [...suggestions.querySelectorAll(".suggestion")];
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    if (!items.length) return;
    active = (active + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    items.forEach((item, j) => item.classList.toggle("active", j === active));
  } else if (event.key === "Enter") {
    const pick = active >= 0 ? suggested[active] : suggested[0];
    if (pick !== undefined) choose(pick);
  } else if (event.key === "Escape") {
    suggestions.hidden = true;
  }
});
searchBox.addEventListener("blur", () => { suggestions.hidden = true; });

// ---------------------------------------------------------------- the model card
const card = $("card");
function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "";
  return typeof value === "number" ? Number(value.toPrecision(digits)).toString() : String(value);
}
function pct(value) {
  return value === null || value === undefined ? "" : `${(value * 100).toFixed(1)}%`;
}
function modelLink(m) {
  const a = el("button", "model-link", IDS[m]);
  a.type = "button";
  a.title = IDS[m];
  a.addEventListener("click", () => selectModel(m, { reveal: true }));
  return a;
}
function swatch(colour) {
  const s = el("span", "swatch");
  s.style.background = colour;
  return s;
}
function showCard(m) {
  card.replaceChildren();
  const head = el("h2", "card-id", IDS[m]);
  head.id = "card-id";
  card.append(head);
  const meta = DATA.meta[m] || {};
  const table = el("table", "meta");
  for (const [key, label] of DATA.meta_fields) {
    if (meta[key] === undefined) continue;
    const row = el("tr");
    row.append(el("th", null, label));
    const cell = el("td");
    if (key === state.colourBy || DATA.colours[key]) {
      const c = DATA.colours[key];
      if (c) cell.append(swatch(c.categories[c.codes[m]].colour));
    }
    cell.append(document.createTextNode(String(meta[key])));
    row.append(cell);
    table.append(row);
  }
  if (placed.has(m)) {
    const row = el("tr");
    row.append(el("th", null, "placed"));
    row.append(el("td", null, "yes: attached to the tree by phylo-llm place"));
    table.append(row);
  }
  card.append(table);
  // Documented parents (in the data or not).
  const parents = DATA.parents[m] || [];
  const parentBox = el("div", "parents");
  parentBox.id = "card-parents";
  parentBox.append(el("h3", null, "Documented parent" + (parents.length > 1 ? "s" : "")));
  if (!parents.length) parentBox.append(el("p", "none", "none documented"));
  for (const [name, relation, index] of parents) {
    const line = el("p", "parent");
    line.append(swatch(DATA.relation_colours[relation] || NEUTRAL));
    line.append(index >= 0 ? modelLink(index) : el("span", "absent", name));
    line.append(el("span", "relation", ` ${relation}` + (index >= 0 ? "" : " (not in this data)")));
    parentBox.append(line);
  }
  card.append(parentBox);
  // Documented relatives present in the data.
  const related = DATA.related[m] || [];
  if (related.length) {
    const box = el("div", "relatives");
    box.append(el("h3", null, `Documented relatives here (${related.length})`));
    for (const [other, relation, direction] of related) {
      const line = el("p", "relative");
      line.append(swatch(DATA.relation_colours[relation] || NEUTRAL));
      line.append(modelLink(other));
      line.append(el("span", "relation", ` ${direction} (${relation})`));
      box.append(line);
    }
    card.append(box);
  }
  // Nearest models, as phylo_llm.score.relatives computes them.
  const near = DATA.nearest[m];
  if (near && near.model.length) {
    const box = el("div", "nearest");
    box.append(el("h3", null, `Nearest ${near.model.length} (${DATA.metric})`));
    const t = el("table", "near");
    const header = el("tr");
    for (const h of ["#", "model", "distance", "all pairs"]) header.append(el("th", null, h));
    t.append(header);
    near.model.forEach((other, j) => {
      const row = el("tr");
      row.append(el("td", "num", j + 1));
      const cell = el("td", "name");
      cell.append(swatch(modelColour(other)));
      cell.append(modelLink(other));
      if (near.documented[j]) cell.append(el("div", "documented", near.documented[j]));
      const shares = DATA.relations.map((r) => `${r.replace("_", " ")} ${pct(near[`${r}_pct`][j])}`).join(" · ");
      if (shares) cell.append(el("div", "shares", shares));
      row.append(cell);
      row.append(el("td", "num", fmt(near.distance[j])));
      row.append(el("td", "num", pct(near.all_pairs_pct[j])));
      t.append(row);
    });
    box.append(t);
    box.append(el("p", "note", "Percentiles: the share of all pairs (all pairs), and of the documented pairs of each relation (grey line), at most this far apart; same weights is the noise floor."));
    card.append(box);
  }
  const extra = DATA.extra && DATA.extra[m];
  if (extra) {
    const box = el("div", "extra");
    box.append(el("h3", null, "Placement"));
    const t = el("table", "meta");
    for (const [key, value] of Object.entries(extra)) {
      const row = el("tr");
      row.append(el("th", null, key));
      row.append(el("td", null, value));
      t.append(row);
    }
    box.append(t);
    card.append(box);
  }
}

// ---------------------------------------------------------------- legend and controls
const legend = $("legend");
function showLegend() {
  legend.replaceChildren();
  const c = colouring();
  legend.append(el("h3", null, c.label));
  for (const [j, category] of c.categories.entries()) {
    const item = el("button", "legend-item");
    item.type = "button";
    item.append(swatch(category.colour));
    item.append(el("span", "legend-name", category.name));
    item.append(el("span", "legend-count", category.count));
    item.addEventListener("click", () => {
      state.matches = new Set();
      c.codes.forEach((code, m) => { if (code === j) state.matches.add(m); });
      $("search-count").textContent = `${state.matches.size} ${category.name}`;
      requestDraw();
    });
    legend.append(item);
  }
  const keys = el("div", "keys");
  if (placed.size) {
    const p = el("p", "key");
    p.append(el("span", "diamond"));
    p.append(document.createTextNode("placed model"));
    keys.append(p);
  }
  if (TREE.support) keys.append(el("p", "key", "branch width: support (thin 0, thick 1)"));
  keys.append(el("p", "key", "click a clade's node to collapse or expand it"));
  const rel = el("p", "key");
  rel.append(document.createTextNode("rings: selected, search, documented relatives:"));
  for (const r of DATA.relations) {
    const item = el("span", "key-item");
    item.append(swatch(DATA.relation_colours[r]));
    item.append(document.createTextNode(r.replace("_", " ")));
    rel.append(item);
  }
  keys.append(rel);
  legend.append(keys);
}
const colourSelect = $("colour-by");
for (const key of Object.keys(DATA.colours)) {
  const option = el("option", null, DATA.colours[key].label);
  option.value = key;
  colourSelect.append(option);
}
colourSelect.value = state.colourBy;
colourSelect.addEventListener("change", () => {
  state.colourBy = colourSelect.value;
  showLegend();
  relayout();
  requestDraw("map");
  if (state.selected >= 0) showCard(state.selected);
});
for (const name of ["rectangular", "circular"]) {
  $(`layout-${name}`).addEventListener("click", () => setLayout(name));
}
function setLayout(name) {
  state.layout = name;
  $("layout-rectangular").classList.toggle("on", name === "rectangular");
  $("layout-circular").classList.toggle("on", name === "circular");
  relayout();
  select(treeCanvas).call(views.tree.zoom.transform, zoomIdentity);
}
$("expand-all").addEventListener("click", () => { state.collapsed.clear(); relayout(); });
$("reset-view").addEventListener("click", () => {
  select(treeCanvas).call(views.tree.zoom.transform, zoomIdentity);
  select(mapCanvas).call(views.map.zoom.transform, zoomIdentity);
});
window.addEventListener("resize", () => { layoutTree(); layoutMap(); requestDraw(); });

// ---------------------------------------------------------------- start, and a handle for tests and benchmarks
setLayout(state.layout);
computeUniform();
layoutTree();
layoutMap();
showLegend();
card.replaceChildren(el("p", "hint", "Click a model in the tree or the map, or search for one, to see its card."));
drawTree();
drawMap();
stats.loadMs = performance.now() - started;

function screenOf(view, m) {
  const v = views[view];
  const rect = v.canvas.getBoundingClientRect();
  const t = v.transform;
  let x, y;
  if (view === "tree") {
    const i = visibleNodeOf(m);
    if (i < 0) return null;
    x = position[2 * i]; y = position[2 * i + 1];
  } else {
    if (Number.isNaN(mapWorld[2 * m])) return null;
    x = mapWorld[2 * m]; y = mapWorld[2 * m + 1];
  }
  return { x: rect.left + x * t.k + t.x, y: rect.top + y * t.k + t.y };
}
window.phyloExplorer = {
  ready: true,
  stats,
  ids: IDS,
  modelIndex: (id) => IDS.indexOf(id),
  // Client coordinates of a model in a view ("tree" or "map"), or of a tree node.
  screenOf: (view, id) => screenOf(view, IDS.indexOf(id)),
  nodeScreen: (i) => {
    const rect = treeCanvas.getBoundingClientRect();
    const t = views.tree.transform;
    return shown[i] ? { x: rect.left + position[2 * i] * t.k + t.x, y: rect.top + position[2 * i + 1] * t.k + t.y } : null;
  },
  // The tree node whose leaves are exactly these models' common ancestor's.
  commonAncestor: (ids) => {
    const lines = ids.map((id) => { const out = []; let i = leafNode[IDS.indexOf(id)]; while (i >= 0) { out.push(i); i = nodes[i].parent; } return out; });
    return lines[0].find((i) => lines.every((line) => line.includes(i)));
  },
  leavesBelow: (i) => leavesBelow[i],
  toggle: (i) => toggle(i),
  isCollapsed: (i) => state.collapsed.has(i),
  largestChild: () => nodes[0].children.reduce((a, b) => (leavesBelow[b.i] > leavesBelow[a.i] ? b : a)).i,
  visibleLeafIds: () => visible.leaves().filter((h) => nodes[h.data.i].model >= 0 && !state.collapsed.has(h.data.i)).map((h) => IDS[nodes[h.data.i].model]),
  highlighted: () => ({ tree: drawn.tree.map((m) => IDS[m]), map: drawn.map.map((m) => IDS[m]) }),
  selected: () => (state.selected >= 0 ? IDS[state.selected] : null),
  layout: setLayout,
  redraw: () => { drawTree(); drawMap(); },
  // Draw one view now and wait for its pixels (getImageData flushes the canvas): the full cost of a frame, in ms.
  drawNow: (view) => {
    const t0 = performance.now();
    if (view === "tree") drawTree(); else drawMap();
    views[view].canvas.getContext("2d").getImageData(0, 0, 1, 1);
    return performance.now() - t0;
  },
  zoomTo: (view, k, x, y) => select(views[view].canvas).call(views[view].zoom.transform, zoomIdentity.translate(x, y).scale(k)),
};
document.body.dataset.ready = "1";
