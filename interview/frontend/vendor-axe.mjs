// Copies axe-core (pinned in package-lock.json) into tests/vendor/axe-core for the browser tests'
// accessibility check: `npm ci && npm run vendor-axe`.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "node_modules/axe-core");
const out = resolve(here, "../../tests/vendor/axe-core");
mkdirSync(out, { recursive: true });
for (const file of ["axe.min.js", "LICENSE", "package.json"]) copyFileSync(join(src, file), join(out, file));
console.log(`axe-core copied to ${out}`);
