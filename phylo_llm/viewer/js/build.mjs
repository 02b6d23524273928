// Builds the explorer's one script and one style sheet into ../static/, the files Python inlines into every
// explorer HTML. Run after `npm ci` here: `node build.mjs`. Minified and without source maps or timestamps, so
// the same sources give the same bytes; the committed output is what the package ships (nothing is fetched at
// run time). The licences of the bundled npm packages are gathered into ../static/THIRD-PARTY-LICENSES.txt.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";

const out = new URL("../static/", import.meta.url);
await build({
  entryPoints: ["src/explorer.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  charset: "utf8",
  outfile: new URL("explorer.js", out).pathname,
});
await build({
  entryPoints: ["src/explorer.css"],
  bundle: true,
  minify: true,
  outfile: new URL("explorer.css", out).pathname,
});
const bundled = ["d3-dispatch", "d3-drag", "d3-color", "d3-ease", "d3-hierarchy", "d3-interpolate", "d3-quadtree",
  "d3-selection", "d3-timer", "d3-transition", "d3-zoom"];
const texts = bundled.map((name) => {
  const pkg = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
  return `${name} ${pkg.version} (${pkg.license}, ${pkg.homepage})\n\n${readFileSync(`node_modules/${name}/LICENSE`, "utf8").trim()}\n`;
});
writeFileSync(new URL("THIRD-PARTY-LICENSES.txt", out),
  "The explorer's script (explorer.js) bundles these npm packages; their licences follow.\n\n" + texts.join("\n" + "-".repeat(72) + "\n\n"));
