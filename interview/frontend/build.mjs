// Reproducible build of the code editor: `npm ci && npm run build` (versions pinned in
// package-lock.json). Writes interview/static/vendor/codemirror/editor.min.js and, beside it,
// LICENSES.txt with the licence of every package inside the bundle.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "../static/vendor/codemirror");
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src/editor.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  legalComments: "none",
  metafile: true,
  outfile: join(out, "editor.min.js"),
  logLevel: "info",
});

// the packages whose code is in the bundle, with their licences, sorted for a stable file
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (!m || packages.has(m[1])) continue;
  const dir = join(here, "node_modules", m[1]);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  if (!file) throw new Error(`${m[1]} ships no licence file`);
  packages.set(m[1], { version: meta.version, license: meta.license, text: readFileSync(join(dir, file), "utf8") });
}
const names = [...packages.keys()].sort();
let text = "Third-party code bundled in editor.min.js (built by interview/frontend/build.mjs).\n";
for (const name of names) {
  const p = packages.get(name);
  text += `\n${"=".repeat(72)}\n${name} ${p.version} (${p.license})\n${"=".repeat(72)}\n\n${p.text.trim()}\n`;
}
writeFileSync(join(out, "LICENSES.txt"), text);
console.log(`bundled ${names.length} packages: ${names.join(", ")}`);
