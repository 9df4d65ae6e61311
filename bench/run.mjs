// Runs every benchmark in bench/ (or the ones named: `pnpm bench manifest engine`), one after the
// other so they do not compete for the 2 cores. Each benchmark prints its figures and records them,
// with the date, in its own section of bench/RESULTS.md (bench/lib/results-file.mjs).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((file) => file.endsWith(".mjs") && file !== "run.mjs")
  .map((file) => file.replace(/\.mjs$/, ""))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== bench/${name}.mjs`);
  const { status } = spawnSync(process.execPath, [join(here, `${name}.mjs`)], { stdio: "inherit" });
  if (status !== 0) {
    failed++;
    console.error(`bench/${name}.mjs exited with ${status}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
