// Expansion benchmark: loadStudy on a 56,832-run study (three engines, many axes and groups,
// 3 cycles → 18,944 unique configs, 1,536 invalid combinations skipped), in a fresh process.
// Targets: ≤ 2 s and ≤ 500 MB. Reports wall time (median of 3 in-process repeats, plus the first,
// cold one) and the process's peak RSS. Needs `pnpm --filter @llem/study build`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { loadStudy } = await import(join(here, "../packages/study/dist/index.js"));
const { BIG_STUDY } = await import("./lib/big-study.mjs");

const dir = mkdtempSync(join(tmpdir(), "llem-bench-expand-"));
const file = join(dir, "big.yaml");
writeFileSync(file, BIG_STUDY);
const times = [];
let loaded;
for (let repeat = 0; repeat < 4; repeat++) {
  const start = process.hrtime.bigint();
  loaded = await loadStudy(file);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
rmSync(dir, { recursive: true, force: true });
const peakRssMb = process.resourceUsage().maxRSS / 1024;
const cold = times[0];
const warm = times.slice(1).sort((a, b) => a - b)[1];
const figures = {
  runs: loaded.runs.length,
  unique_configs: loaded.configs.length,
  skipped: loaded.skipped.length,
  cold_ms: Math.round(cold),
  warm_median_ms: Math.round(warm),
  peak_rss_mb: Math.round(peakRssMb),
};
console.log(figures);
const ok =
  figures.runs === 56_832 && figures.unique_configs === 18_944 && cold <= 2000 && peakRssMb <= 500;
const section = [
  "`loadStudy` of a three-engine study (llamacpp, vllm, tensorrt; 4 axes shared, 11 engine axes, 4 groups),",
  `3 cycles, shuffle order: ${figures.runs} runs, ${figures.unique_configs} unique configs, ${figures.skipped} invalid combinations skipped.`,
  "YAML parse, validation of every generated config (zod), config hashes, dedup, design hash, seeded shuffle.",
  "",
  "| figure | value | target |",
  "|---|---|---|",
  `| first (cold) loadStudy | ${figures.cold_ms} ms | ≤ 2,000 ms |`,
  `| median of 3 warm repeats | ${figures.warm_median_ms} ms | |`,
  `| peak RSS of the process (4 loads) | ${figures.peak_rss_mb} MB | ≤ 500 MB |`,
  `| within targets | ${ok ? "yes" : "NO"} | |`,
  `| machine load average (1 min) while measuring | ${loadavg()[0].toFixed(1)} | |`,
  "",
];
await recordLatest({
  bench: "expand.mjs",
  title: "Expand",
  heading: `expand — ${new Date().toISOString().slice(0, 10)}`,
  body: section.join("\n"),
  replaces: /^### expand — \d{4}-\d{2}-\d{2}/,
});
// A missed target is recorded above, not an error of the benchmark (the machine is shared).
