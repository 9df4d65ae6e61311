// CLI benchmarks: `llem --help` cold start (target ≤ 300 ms) and `llem status` on a 56,832-run
// study (target ≤ 1 s). Medians of several runs of the real built CLI as a child process.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "../apps/cli/dist/cli.js");
const manifestModule = pathToFileURL(join(here, "../packages/manifest/dist/index.js")).href;

function timeCli(args, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const outcome = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (outcome.status !== 0) {
      throw new Error(`llem ${args.join(" ")} exited ${outcome.status}: ${outcome.stderr}`);
    }
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times.at(-1), runs };
}

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
const help = timeCli(["--help"], helpRuns);
const version = timeCli(["--version"], helpRuns);
console.log(
  `llem --help cold start: median ${help.median.toFixed(0)} ms (min ${help.min.toFixed(0)}, max ${help.max.toFixed(0)}, ${helpRuns} runs); target ≤ 300 ms`,
);
console.log(`llem --version cold start: median ${version.median.toFixed(0)} ms`);

const nodeOnly = (() => {
  const times = [];
  for (let i = 0; i < helpRuns; i++) {
    const start = process.hrtime.bigint();
    spawnSync(process.execPath, ["-e", "0"]);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
})();
console.log(`bare \`node -e 0\` for comparison: median ${nodeOnly.toFixed(0)} ms`);

const work = mkdtempSync(join(tmpdir(), "llem-bench-cli-"));
let statusLine;
try {
  const studyDir = join(work, "bench-large_2026-01-01T00-00-00");
  const created = Date.now();
  const total = await createLargeStudy(studyDir);
  console.log(
    `created a ${total.toLocaleString("en-US")}-run manifest in ${((Date.now() - created) / 1000).toFixed(1)} s`,
  );
  const status = timeCli(["status", studyDir], 5);
  statusLine = `llem status on a ${total.toLocaleString("en-US")}-run study: median ${status.median.toFixed(0)} ms (min ${status.min.toFixed(0)}, max ${status.max.toFixed(0)}, 5 runs); target ≤ 1000 ms`;
  console.log(statusLine);
} finally {
  rmSync(work, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
appendFileSync(
  join(here, "RESULTS.md"),
  `\n## cli — ${date}\n\n` +
    `- \`llem --help\` cold start: median ${help.median.toFixed(0)} ms (min ${help.min.toFixed(0)}, max ${help.max.toFixed(0)}, ${helpRuns} runs); target ≤ 300 ms\n` +
    `- \`llem --version\` cold start: median ${version.median.toFixed(0)} ms; bare \`node -e 0\`: median ${nodeOnly.toFixed(0)} ms\n` +
    `- ${statusLine.replace(/^llem status/, "`llem status`")}\n`,
);
