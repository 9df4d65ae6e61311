// @llem/manifest bookkeeping at scale: studies of 100, 1,000, 10,000 and 56,832 runs (the Python
// tool's full example study). For each size a whole study is run through the built store
// (create → markRunning + markCompleted for every run → close), timing every durable transition
// and counting the bytes it writes through an instrumented fs layer. For contrast, a few
// transitions of the naive design (rewrite the whole JSON on every change) are timed at each size.
// Targets (issue 3): p50 ≤ 5 ms per durable transition at 56,832 runs, and ≤ 2× growth of the p50
// from 1,000 to 56,832 runs. Usage: node bench/manifest.mjs [sizes…]   (needs a build)
import { existsSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "../packages/manifest/dist/index.js");
if (!existsSync(dist)) {
  console.error(`${dist} is missing: run \`pnpm --filter @llem/manifest build\` first`);
  process.exit(2);
}
const { ManifestStore, readManifest } = await import(pathToFileURL(dist).href);

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const SIZES = sizes.length > 0 ? sizes : [100, 1_000, 10_000, 56_832];
const NAIVE_SAMPLES = 20;

/** An fs layer that counts the bytes written through it. */
function countingFs() {
  const counter = { bytes: 0 };
  const count = (data) => {
    counter.bytes += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  };
  const fs = {
    ...fsp,
    open: async (...args) => {
      const handle = await fsp.open(...args);
      return new Proxy(handle, {
        get(target, property) {
          const value = Reflect.get(target, property);
          if (property === "writeFile") {
            return (data, ...rest) => {
              count(data);
              return value.call(target, data, ...rest);
            };
          }
          if (property === "write") {
            return (buffer, offset, length, ...rest) => {
              counter.bytes += typeof buffer === "string" ? Buffer.byteLength(buffer) : length;
              return value.call(target, buffer, offset, length, ...rest);
            };
          }
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  };
  return { fs, counter };
}

/** Shaped like the Python tool's example: configs × 3 cycles. */
function makeRuns(count) {
  const configs = Math.ceil(count / 3);
  return Array.from({ length: count }, (_, index) => ({
    configHash: (index % configs).toString(16).padStart(16, "0"),
    configSummary: `llamacpp / synthetic:tiny / batch=${(index % 64) + 1} / threads=${(index % 4) + 1}`,
    cycle: Math.floor(index / configs) + 1,
  }));
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (value) => (value < 10 ? value.toFixed(2) : value.toFixed(0));
const now = () => performance.now();

function formatDuration(milliseconds) {
  const seconds = milliseconds / 1000;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

async function benchSize(size) {
  const dir = await fsp.mkdtemp(join(tmpdir(), `llem-bench-manifest-${size}-`));
  const runs = makeRuns(size);
  const { fs, counter } = countingFs();
  const studyStart = now();
  const store = await ManifestStore.create(dir, {
    studyName: `bench-${size}`,
    studyYamlPath: "study.yaml",
    studyYamlHash: "b".repeat(64),
    runs,
    fs,
  });
  const createMs = now() - studyStart;
  const createBytes = counter.bytes;
  const times = new Float64Array(size * 2);
  let slot = 0;
  const transitionsStart = now();
  const bytesBefore = counter.bytes;
  for (const run of runs) {
    let start = now();
    await store.markRunning(run.configHash, run.cycle);
    times[slot++] = now() - start;
    start = now();
    await store.markCompleted(
      run.configHash,
      run.cycle,
      `experiments/${run.configHash}_c${run.cycle}/result.json`,
    );
    times[slot++] = now() - start;
  }
  const transitionsMs = now() - transitionsStart;
  const transitionBytes = counter.bytes - bytesBefore;
  const closeStart = now();
  await store.close();
  const closeMs = now() - closeStart;
  const studyMs = now() - studyStart;
  const manifestBytes = (await fsp.stat(join(dir, "study_manifest.json"))).size;

  const readStart = now();
  const manifest = await readManifest(dir);
  const readMs = now() - readStart;
  if (!manifest.experiments.every((entry) => entry.status === "completed")) {
    throw new Error(`bench study of ${size} runs did not complete`);
  }

  // Lock refusal: how long a second opener takes to get MANIFEST_LOCKED.
  const holder = await ManifestStore.open(dir);
  const refuseStart = now();
  const refusal = await ManifestStore.open(dir).then(
    () => "opened?!",
    (error) => error.code,
  );
  const refuseMs = now() - refuseStart;
  await holder.close();

  // The naive design for contrast: whole-JSON rewrite (fsynced, atomic) on every transition.
  const naiveDir = await fsp.mkdtemp(join(tmpdir(), `llem-bench-naive-${size}-`));
  const naive = await ManifestStore.create(naiveDir, {
    studyName: `naive-${size}`,
    studyYamlPath: "study.yaml",
    studyYamlHash: "b".repeat(64),
    runs,
    snapshotEveryTransitionUpTo: Number.POSITIVE_INFINITY,
  });
  const naiveTimes = [];
  for (const run of runs.slice(0, NAIVE_SAMPLES / 2)) {
    let start = now();
    await naive.markRunning(run.configHash, run.cycle);
    naiveTimes.push(now() - start);
    start = now();
    await naive.markCompleted(run.configHash, run.cycle, "r.json");
    naiveTimes.push(now() - start);
  }
  await naive.close();
  await fsp.rm(naiveDir, { recursive: true, force: true });
  await fsp.rm(dir, { recursive: true, force: true });

  const sorted = Array.from(times).sort((a, b) => a - b);
  const naiveSorted = naiveTimes.sort((a, b) => a - b);
  const meanMs = transitionsMs / times.length;
  return {
    size,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1),
    meanMs,
    bytesPerTransition: transitionBytes / times.length,
    createMs,
    createBytes,
    closeMs,
    studyMs,
    projected3Ms: meanMs * 3 * size,
    manifestBytes,
    readMs,
    refusal,
    refuseMs,
    naiveP50: quantile(naiveSorted, 0.5),
    naiveDayMs: quantile(naiveSorted, 0.5) * 3 * size,
  };
}

const results = [];
for (const size of SIZES) {
  process.stdout.write(`${size} runs … `);
  const result = await benchSize(size);
  results.push(result);
  console.log(
    `p50 ${ms(result.p50)} ms, p95 ${ms(result.p95)} ms, ${Math.round(result.bytesPerTransition)} B/transition, ` +
      `whole study ${formatDuration(result.studyMs)} (naive rewrite p50 ${ms(result.naiveP50)} ms)`,
  );
}

const table = [
  "| runs | p50 ms | p95 ms | p99 ms | mean ms | bytes written / transition | whole study (create + 2 transitions/run + close) | 3 transitions/run at mean | manifest size | readManifest | 2nd opener refused | naive whole-JSON rewrite p50 (→ 3 transitions/run) |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...results.map(
    (r) =>
      `| ${r.size.toLocaleString("en-US")} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.meanMs)} | ` +
      `${Math.round(r.bytesPerTransition).toLocaleString("en-US")} | ${formatDuration(r.studyMs)} | ` +
      `${formatDuration(r.projected3Ms)} | ${(r.manifestBytes / 1e6).toFixed(2)} MB | ${ms(r.readMs)} ms | ` +
      `${r.refusal} in ${ms(r.refuseMs)} ms | ${ms(r.naiveP50)} ms (→ ${formatDuration(r.naiveDayMs)}) |`,
  ),
];
const small = results.find((r) => r.size === 1_000);
const large = results.find((r) => r.size === 56_832);
const verdicts = [];
if (large)
  verdicts.push(
    `p50 at 56,832 runs: ${ms(large.p50)} ms (target ≤ 5 ms: ${large.p50 <= 5 ? "met" : "NOT met"})`,
  );
if (small && large) {
  const growth = large.p50 / small.p50;
  verdicts.push(
    `p50 growth 1,000 → 56,832 runs: ${growth.toFixed(2)}× (target ≤ 2×: ${growth <= 2 ? "met" : "NOT met"})`,
  );
}
const load = loadavg()
  .map((value) => value.toFixed(1))
  .join(" / ");
console.log(
  `\n${table.join("\n")}\n\n${verdicts.join("\n")}\nload average during the run: ${load}`,
);

const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const section = [
  "`node bench/manifest.mjs`: a whole study per size through the built store (create → markRunning +",
  "markCompleted per run → close), every transition fsynced before it resolves. Studies ≤ 1,000 runs",
  "append to the journal and rewrite study_manifest.json on every transition; larger ones append one",
  "journal line per transition and rewrite the manifest in the background (≤ ~1 s behind; its cost is",
  "included in the bytes and in the whole-study time). Bytes count everything the store writes.",
  "",
  ...table,
  "",
  ...verdicts.map((line) => `- ${line}`),
  `- load average (1/5/15 min) at the end: ${load} (2 cores, shared with other work)`,
];
await recordLatest({
  bench: "manifest.mjs",
  title: "Manifest bookkeeping per durable transition",
  heading: `@llem/manifest — bookkeeping per durable transition (${date})`,
  body: section.join("\n"),
  replaces: /^### @llem\/manifest — bookkeeping per durable transition/,
});
