// Scale-out (issue 12): a 2,000-run study of the test-only fake experiment worker (10 ms per run)
// with 1, 2, 4 and 8 workers on this node (`llem run --workers N`) — runs/s and the ratio to one
// worker, measured in the same session (`--with-single` adds the single runner, `llem run`). First
// the manifest's own cost per claim: N processes claiming and completing the 2,000 runs of a shared
// study with no experiment at all, timing every claimNext and markCompleted (lock wait included);
// when N claimers keep the lock busy, wall time ÷ calls is how long each call holds the lock.
// Target: a claim does not serialise behind the lock for longer than a few ms at 8 workers.
// Usage: node bench/scale.mjs [--quick] [--with-single]   (needs a build; --quick: 500 runs)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");
const cli = join(repo, "apps/cli/dist/cli.js");
const manifestDist = join(repo, "packages/manifest/dist/index.js");
const faultWorker = join(repo, "tools/fault-study/dist/worker.js");
const quick = process.argv.includes("--quick");
const withSingle = process.argv.includes("--with-single");
const CYCLES = quick ? 2 : 8; // × 250 configs
const RUNS = 250 * CYCLES;
const WORKERS = [1, 2, 4, 8];

const work = mkdtempSync(join(tmpdir(), "llem-bench-scale-"));
const studyFile = join(work, "study.yaml");
const sizes = Array.from({ length: 250 }, (_, index) => index + 1).join(", ");
writeFileSync(
  studyFile,
  `study_name: scale\ntask: {model: "synthetic:tiny", max_output_tokens: 4}\nsweep: {llamacpp.batch_size: [${sizes}]}\nstudy_execution: {n_cycles: ${CYCLES}}\n`,
);
const env = {
  ...process.env,
  LLEM_STUDY_WORKER: faultWorker,
  LLEM_TEST_WORKER_FAULT: "fake",
  LLEM_TEST_WORKER_DELAY_MS: "10",
};

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function endToEnd(workers) {
  const resultsDir = join(work, `results-${workers ?? "single"}`);
  const args = ["run", studyFile, "--results-dir", resultsDir, "--json"];
  if (workers !== undefined) args.push("--workers", String(workers));
  const load = loadavg()[0];
  const started = performance.now();
  const outcome = await run(process.execPath, [cli, ...args], { env });
  const seconds = (performance.now() - started) / 1000;
  if (outcome.code !== 0) throw new Error(`llem run failed (${outcome.code}): ${outcome.stderr}`);
  rmSync(resultsDir, { recursive: true, force: true });
  return { workers, seconds, runsPerS: RUNS / seconds, load };
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function claimCost(claimers) {
  const { ManifestStore } = await import(pathToFileURL(manifestDist).href);
  const dir = mkdtempSync(join(work, `claims-${claimers}-`));
  const runs = Array.from({ length: RUNS }, (_, index) => ({
    configHash: index.toString(16).padStart(16, "0"),
    configSummary: `config ${index}`,
    cycle: 1,
  }));
  const creator = await ManifestStore.create(dir, {
    studyName: "claims",
    studyYamlPath: "study.yaml",
    studyYamlHash: "0".repeat(64),
    runs,
  });
  await creator.close();
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: claimers }, (_, index) =>
      run(process.execPath, [join(here, "lib/claim-worker.mjs"), manifestDist, dir, `c${index}`]),
    ),
  );
  const wallMs = performance.now() - started;
  const claims = [];
  const completions = [];
  for (const outcome of outcomes) {
    if (outcome.code !== 0) throw new Error(`claimer failed: ${outcome.stderr}`);
    const parsed = JSON.parse(outcome.stdout);
    claims.push(...parsed.claims);
    completions.push(...parsed.completions);
  }
  rmSync(dir, { recursive: true, force: true });
  const calls = claims.length + completions.length;
  return {
    claimers,
    claimsPerS: RUNS / (wallMs / 1000),
    claimP50: quantile(claims, 0.5),
    claimP95: quantile(claims, 0.95),
    holdMs: wallMs / calls,
  };
}

const loadBefore = loadavg()[0];
const date = new Date().toISOString();
console.log(`${RUNS}-run study, fake runs of 10 ms; 1-minute load ${loadBefore.toFixed(1)}`);
const claims = [];
for (const claimers of WORKERS) {
  const result = await claimCost(claimers);
  claims.push(result);
  console.log(
    `${claimers} claimers: ${result.claimsPerS.toFixed(0)} claims/s, claimNext p50 ${result.claimP50.toFixed(2)} ms p95 ${result.claimP95.toFixed(2)} ms, lock held ≈ ${result.holdMs.toFixed(2)} ms per call`,
  );
}
const single = withSingle ? await endToEnd(undefined) : undefined;
if (single) {
  console.log(
    `single runner: ${single.seconds.toFixed(1)} s, ${single.runsPerS.toFixed(2)} runs/s`,
  );
}
const scaling = [];
for (const workers of WORKERS) {
  const result = await endToEnd(workers);
  scaling.push(result);
  console.log(
    `--workers ${workers}: ${result.seconds.toFixed(1)} s, ${result.runsPerS.toFixed(2)} runs/s (${(result.runsPerS / scaling[0].runsPerS).toFixed(2)}× one worker), load ${result.load.toFixed(1)}`,
  );
}
const loadAfter = loadavg()[0];
rmSync(work, { recursive: true, force: true });

const lines = [
  `\`node bench/scale.mjs\`${quick ? " --quick" : ""}: a ${RUNS.toLocaleString("en")}-run study (250 configs × ${CYCLES} cycles) of the test-only fake experiment worker (10 ms per run; every run still forks its own experiment process, which dominates), run by \`llem run --workers N\` (one worker is the reference)${single ? " and by the single runner, `llem run`" : ""}. 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on 2 cores shared with other sessions.`,
  "",
  "| runner | wall s | runs/s | × one worker | load at start |",
  "|---|---|---|---|---|",
  ...(single
    ? [
        `| single (\`llem run\`) | ${single.seconds.toFixed(1)} | ${single.runsPerS.toFixed(2)} | ${(single.runsPerS / scaling[0].runsPerS).toFixed(2)} | ${single.load.toFixed(1)} |`,
      ]
    : []),
  ...scaling.map(
    (r) =>
      `| --workers ${r.workers} | ${r.seconds.toFixed(1)} | ${r.runsPerS.toFixed(2)} | ${(r.runsPerS / scaling[0].runsPerS).toFixed(2)} | ${r.load.toFixed(1)} |`,
  ),
  "",
  `The manifest's cost per claim: N processes claim and complete all ${RUNS.toLocaleString("en")} runs of a shared study with no experiment (through the built @llem/manifest store, shared mode: each call takes the study lock, catches up with the journal, appends one fsynced line, releases). "Lock held per call" = wall time ÷ calls while the claimers keep the lock busy (the calls serialise on it): target a few ms at 8.`,
  "",
  "| claimers | claims/s | claimNext p50 ms | claimNext p95 ms | lock held per call, ms |",
  "|---|---|---|---|---|",
  ...claims.map(
    (r) =>
      `| ${r.claimers} | ${r.claimsPerS.toFixed(0)} | ${r.claimP50.toFixed(2)} | ${r.claimP95.toFixed(2)} | ${r.holdMs.toFixed(2)} |`,
  ),
];
await recordLatest({
  bench: "scale.mjs",
  title: "Scale-out",
  heading: `Scale-out: workers sharing one study — ${date}`,
  body: lines.join("\n"),
  replaces: /^### Scale-out: workers sharing one study\b/,
});
