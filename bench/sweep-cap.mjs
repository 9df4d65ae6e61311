// Sweep-size benchmark: how long `loadStudy` takes to refuse a study that expands to 10^6, 10^7
// and 10^12 configs (study_execution.max_runs, default 100,000 runs, counted before expanding),
// and what expanding 10^6 costs when a study raises the limit. Each load runs in a fresh process,
// killed after a time limit; wall time and the process's peak RSS are reported.
//
//   node bench/sweep-cap.mjs                      this checkout (needs `pnpm --filter @llem/study build`)
//   node bench/sweep-cap.mjs --study-dist DIR     another build's packages/study/dist (a "before")
//   node bench/sweep-cap.mjs --no-record          print only
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const distArg = args.indexOf("--study-dist");
const studyDist = resolve(distArg >= 0 ? args[distArg + 1] : join(here, "../packages/study/dist"));
const record = !args.includes("--no-record");

/** Twelve axes of ten valid values each; a study uses the first `axes` of them. */
const AXES = [
  ["task.random_seed", 1],
  ["task.max_output_tokens", 1],
  ["task.max_input_tokens", 1],
  ["task.dataset.n_prompts", 1],
  ["llamacpp.batch_size", 1],
  ["llamacpp.threads", 1],
  ["llamacpp.gpu_layers", 0],
  ["llamacpp.context_size", 16],
  ["measurement.energy.sample_interval_ms", 10],
  ["measurement.warmup.n_warmup", 1],
  ["measurement.warmup.window_size", 2],
  ["measurement.warmup.max_prompts", 1],
];

function studyYaml(axes, maxRuns) {
  const lines = AXES.slice(0, axes).map(
    ([key, from]) => `  ${key}: [${Array.from({ length: 10 }, (_, i) => i + from).join(", ")}]`,
  );
  const limit = maxRuns ? `study_execution: {max_runs: ${maxRuns}}\n` : "";
  return `task: {model: "synthetic:tiny"}\nsweep:\n${lines.join("\n")}\n${limit}`;
}

/** Loads `file` in a fresh process; resolves with its outcome, wall time and peak RSS. */
function measure(file, limitS) {
  const script = `
    const { loadStudy } = await import(${JSON.stringify(pathToFileURL(join(studyDist, "index.js")).href)});
    const start = performance.now();
    let outcome;
    try { const loaded = await loadStudy(${JSON.stringify(file)}); outcome = "loaded " + loaded.configs.length + " configs"; }
    catch (error) { outcome = "refused (" + error.code + ")"; }
    const ms = performance.now() - start;
    console.log(JSON.stringify({ outcome, ms, rssMb: process.resourceUsage().maxRSS / 1024 }));`;
  return new Promise((resolveRun) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), limitS * 1000);
    child.on("close", () => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1);
      if (line?.startsWith("{")) return resolveRun(JSON.parse(line));
      resolveRun({ outcome: `killed after ${limitS} s`, ms: Date.now() - started, rssMb: null });
    });
  });
}

const cases = [
  { label: "10^6 configs", axes: 6, limitS: 120 },
  { label: "10^7 configs", axes: 7, limitS: 120 },
  { label: "10^12 configs (a 1 KB file)", axes: 12, limitS: 30 },
  { label: "10^6 configs, max_runs: 1000000", axes: 6, maxRuns: 1_000_000, limitS: 120 },
];
const dir = mkdtempSync(join(tmpdir(), "llem-bench-sweep-cap-"));
const rows = [];
for (const item of cases) {
  const file = join(dir, `${item.axes}-${item.maxRuns ?? "default"}.yaml`);
  writeFileSync(file, studyYaml(item.axes, item.maxRuns));
  const result = await measure(file, item.limitS);
  rows.push({ ...item, ...result });
  console.log(item.label, result);
}
rmSync(dir, { recursive: true, force: true });

if (record) {
  const fmt = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${Math.round(ms)} ms`);
  const date = new Date().toISOString().slice(0, 10);
  const section = [
    `\`node bench/sweep-cap.mjs${distArg >= 0 ? ` --study-dist ${args[distArg + 1]}` : ""}\` — loadStudy in a fresh process per case (study dist: ${distArg >= 0 ? args[distArg + 1] : "this checkout"}).`,
    `Load average while measuring (1/5/15 min): ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" / ")} on ${(await import("node:os")).cpus().length} cores, shared.`,
    "",
    "| study | outcome | wall time | peak RSS |",
    "|---|---|---|---|",
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.outcome} | ${fmt(row.ms)} | ${row.rssMb === null ? "-" : `${Math.round(row.rssMb)} MB`} |`,
    ),
  ];
  // RESULTS.md keeps a "before" (another build, --study-dist) and an "after" (this checkout)
  // side by side: each run replaces only the entry of its own kind.
  const kind = distArg >= 0 ? "before" : "after";
  await recordLatest({
    bench: "sweep-cap.mjs",
    title: "Sweep-cap",
    heading:
      kind === "before"
        ? `sweep-cap — ${date} (before: the build at ${args[distArg + 1]})`
        : `sweep-cap — ${date} (after: this checkout, study_execution.max_runs counted before expanding)`,
    body: section.join("\n"),
    replaces: new RegExp(`^### sweep-cap — \\d{4}-\\d{2}-\\d{2} \\(${kind}\\b`),
  });
}
