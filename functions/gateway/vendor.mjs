// Copies the front-end assets the UI needs from node_modules/ into static/vendor/.
// Run after `npm ci` whenever package.json's pinned versions change: `npm run vendor`.
// The copies are committed; node_modules/ is not (the shop's PC may be offline: no CDN).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "vendor");
const files = [
  ["htmx.org", "dist/htmx.min.js", "htmx.min.js"],
  ["htmx.org", "LICENSE", "htmx.LICENSE.txt"],
  ["chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"],
  ["chart.js", "LICENSE.md", "chart.js.LICENSE.md"],
];

mkdirSync(out, { recursive: true });
const lines = ["Vendored by functions/gateway/vendor.mjs from the npm registry; do not edit.", ""];
for (const [pkg, from, to] of files) {
  copyFileSync(join(here, "node_modules", pkg, from), join(out, to));
  const { version } = JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json")));
  lines.push(`${to}\t${pkg}@${version}\t${from}`);
}
writeFileSync(join(out, "VERSIONS.txt"), lines.join("\n") + "\n");
console.log(lines.join("\n"));
