// CLI benchmarks: `llem --help` cold start (target ≤ 300 ms) and `llem status` on a 56,832-run
// study (target ≤ 1 s). Medians of several runs of the real built CLI as a child process.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "../apps/cli/dist/cli.js");
const manifestModule = pathToFileURL(join(here, "../packages/manifest/dist/index.js")).href;

const gnuTime = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/**
 * Median wall time of `llem ARGS`, and median CPU time (user + sys, from GNU time) — the CPU
 * figure is what a quiet machine's wall time approaches when other work competes for the cores.
 */
function timeCli(args, runs) {
  const walls = [];
  const cpus = [];
  const cpuFile = join(tmpdir(), `llem-bench-cpu-${process.pid}`);
  for (let i = 0; i < runs; i++) {
    const command = gnuTime ?? process.execPath;
    const commandArgs = gnuTime
      ? ["-f", "%U %S", "-o", cpuFile, process.execPath, cli, ...args]
      : [cli, ...args];
    const start = process.hrtime.bigint();
    const outcome = spawnSync(command, commandArgs, { encoding: "utf8" });
    walls.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (outcome.status !== 0) {
      throw new Error(`llem ${args.join(" ")} exited ${outcome.status}: ${outcome.stderr}`);
    }
    if (gnuTime) {
      const [user, sys] = readFileSync(cpuFile, "utf8").trim().split(/\s+/).map(Number);
      cpus.push((user + sys) * 1000);
    }
  }
  rmSync(cpuFile, { force: true });
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const sorted = [...walls].sort((a, b) => a - b);
  return {
    median: median(walls),
    min: sorted[0],
    max: sorted.at(-1),
    cpu: cpus.length > 0 ? median(cpus) : null,
    runs,
  };
}

/** The same measurement for a bare `node -e 0`, the floor every Node CLI starts from. */
function timeNode() {
  const saved = [];
  const cpuFile = join(tmpdir(), `llem-bench-cpu-node-${process.pid}`);
  const cpus = [];
  for (let i = 0; i < 15; i++) {
    const start = process.hrtime.bigint();
    if (gnuTime) spawnSync(gnuTime, ["-f", "%U %S", "-o", cpuFile, process.execPath, "-e", "0"]);
    else spawnSync(process.execPath, ["-e", "0"]);
    saved.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (gnuTime) {
      const [user, sys] = readFileSync(cpuFile, "utf8").trim().split(/\s+/).map(Number);
      cpus.push((user + sys) * 1000);
    }
  }
  rmSync(cpuFile, { force: true });
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { median: median(saved), cpu: cpus.length > 0 ? median(cpus) : null };
}

const cpuText = (result) => (result.cpu === null ? "" : `, CPU ${result.cpu.toFixed(0)} ms`);

/** A study dir shaped like the Python tool's full example: 18,944 configs × 3 cycles. */
async function createLargeStudy(dir) {
  const { ManifestStore } = await import(manifestModule);
  const configs = 18_944;
  const runs = [];
  for (let cycle = 1; cycle <= 3; cycle++) {
    for (let index = 0; index < configs; index++) {
      runs.push({
        configHash: index.toString(16).padStart(16, "0"),
        configSummary: `llamacpp / synthetic:tiny / batch=${(index % 64) + 1} / threads=${(index % 4) + 1}`,
        cycle,
      });
    }
  }
  const store = await ManifestStore.create(dir, {
    studyName: "bench-large",
    studyYamlPath: join(dir, "study.yaml"),
    studyYamlHash: "0".repeat(64),
    runs,
  });
  // A study in progress: some completed, some failed, one running.
  for (let i = 0; i < 300; i++) {
    const run = runs[i];
    await store.markRunning(run.configHash, run.cycle);
    if (i % 50 === 49) {
      await store.markFailed(run.configHash, run.cycle, {
        errorType: "ProcessCrash",
        errorMessage: "worker exited with code 1",
      });
    } else {
      await store.markCompleted(run.configHash, run.cycle, `experiments/${i}/result.json`);
    }
  }
  await store.markRunning(runs[300].configHash, runs[300].cycle);
  await store.flush();
  await store.close();
  return runs.length;
}

const helpRuns = 15;
const load = () => loadavg()[0].toFixed(1);
const loadBefore = load();
const help = timeCli(["--help"], helpRuns);
const version = timeCli(["--version"], helpRuns);
const bare = timeNode();
const helpLine = `\`llem --help\` cold start: median ${help.median.toFixed(0)} ms wall${cpuText(help)} (min ${help.min.toFixed(0)}, max ${help.max.toFixed(0)}, ${helpRuns} runs); target ≤ 300 ms`;
const versionLine = `\`llem --version\`: median ${version.median.toFixed(0)} ms wall${cpuText(version)}; bare \`node -e 0\`: median ${bare.median.toFixed(0)} ms wall${cpuText(bare)}`;
console.log(helpLine);
console.log(versionLine);

const work = mkdtempSync(join(tmpdir(), "llem-bench-cli-"));
let statusLine;
try {
  const studyDir = join(work, "bench-large_2026-01-01T00-00-00");
  const created = Date.now();
  const total = await createLargeStudy(studyDir);
  console.log(
    `created a ${total.toLocaleString("en-US")}-run manifest in ${((Date.now() - created) / 1000).toFixed(1)} s`,
  );
  const manifestMb = statSync(join(studyDir, "study_manifest.json")).size / 1e6;
  const status = timeCli(["status", studyDir], 5);
  statusLine = `\`llem status\` on a ${total.toLocaleString("en-US")}-run study (300 completed/failed, 1 running; study_manifest.json ${manifestMb.toFixed(1)} MB): median ${status.median.toFixed(0)} ms wall${cpuText(status)} (min ${status.min.toFixed(0)}, max ${status.max.toFixed(0)}, 5 runs); target ≤ 1000 ms`;
  console.log(statusLine);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const loadLine = `1-minute load average ${loadBefore} before, ${load()} after (2 cores; wall times grow with it, CPU times much less)`;
console.log(loadLine);

const date = new Date().toISOString().slice(0, 10);
await recordLatest({
  bench: "cli.mjs",
  title: "CLI",
  heading: `cli — ${date}`,
  body: `- ${helpLine}\n- ${versionLine}\n- ${statusLine}\n- ${loadLine}\n`,
  replaces: /^### cli — \d{4}-\d{2}-\d{2}/,
});
