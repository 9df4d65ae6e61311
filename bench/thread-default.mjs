// The default thread count (`llamacpp.threads: null`) against the fastest one, over fresh
// calibrations (`node bench/thread-default.mjs`, after `pnpm --filter @llem/backends build`).
//
// Each run is a fresh process with an empty calibration cache: it prepares an engine with
// threads: null (which calibrates), then measures generation at every thread count itself — the
// same 64-token prompt and 32 generated tokens as bench/engine.mjs, `--reps` rounds interleaving the
// counts — and calls the count with the best median the run's fastest. Target: the default is the
// fastest in at least 9 of 10 runs, for each model. Counts within 3 % of each other are a tie the
// measurement cannot split (the calibration then takes fewer threads, pickThreads in
// thread-default.ts); the table says both: fastest outright, and fastest or tied.
//
// Options: --models=small,medium  --runs=10  --reps=8  --binary=auto|native|prebuilt
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ensureSyntheticModel,
  LlamaCppEngine,
  llamaCppProcessEnv,
} from "../packages/backends/dist/index.js";
import { parseExperimentConfig } from "../packages/schema/dist/index.js";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const models = option("models", "small,medium").split(",");
const runs = Number(option("runs", "10"));
const reps = Number(option("reps", "8"));
const binary = option("binary", "auto");
const PROMPT_TOKENS = 64;
const GEN_TOKENS = 32;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** One run (in a child process): calibrate afresh, then measure every thread count. */
async function oneRun(model) {
  const cacheDir = join(here, ".work", "cache");
  const { path } = ensureSyntheticModel(`synthetic:${model}`, cacheDir);
  const calibrated = new LlamaCppEngine(parseExperimentConfig({ task: { model: path } }), {
    cacheDir: mkdtempSync(join(tmpdir(), "llem-thread-default-")),
  });
  const started = performance.now();
  await calibrated.prepare({});
  const calibrationMs = performance.now() - started;
  const settings = calibrated.resolvedSettings();
  await calibrated.dispose();
  const counts = Array.from({ length: availableParallelism() }, (_, index) => index + 1);
  const engines = [];
  for (const threads of counts) {
    const engine = new LlamaCppEngine(
      parseExperimentConfig({
        task: { model: path, max_input_tokens: PROMPT_TOKENS, max_output_tokens: GEN_TOKENS + 1 },
        llamacpp: { threads, batch_size: 1, flash_attention: true },
      }),
    );
    await engine.prepare({});
    engines.push({ threads, engine, tg: [] });
  }
  const prompt = "x".repeat(PROMPT_TOKENS - 1);
  for (let rep = 0; rep < reps; rep++) {
    for (const entry of engines) {
      await entry.engine.warmup(prompt, {});
      const { itlMs } = await entry.engine.warmup(prompt, {});
      entry.tg.push(itlMs.length / (itlMs.reduce((sum, gap) => sum + gap, 0) / 1000));
    }
  }
  for (const { engine } of engines) await engine.dispose();
  const medians = Object.fromEntries(engines.map((entry) => [entry.threads, median(entry.tg)]));
  const fastest = engines.reduce((a, b) => (median(b.tg) > median(a.tg) ? b : a)).threads;
  return {
    model,
    default: settings.threads,
    calibration: settings.threads_calibration_tokens_per_s,
    calibration_ms: Math.round(calibrationMs),
    medians,
    fastest,
    binary: settings.llama_binary?.kind ?? settings.binary,
    load: loadavg()[0],
  };
}

if (process.argv.includes("--child")) {
  console.log(JSON.stringify(await oneRun(option("model", "small"))));
  process.exit(0);
}

const heading = `${new Date().toISOString().slice(0, 10)} thread default (bench/thread-default.mjs) — ${cpus()[0]?.model.trim()}, ${availableParallelism()} cores`;
const lines = [
  `Command: \`node bench/thread-default.mjs ${process.argv.slice(2).join(" ")}\`. ${runs} fresh processes per model, each with an empty calibration cache: the default llem picks (\`threads: null\`) against the fastest count measured in the same process right after (median generation tok/s over ${reps} interleaved rounds of a ${PROMPT_TOKENS}-token prompt + ${GEN_TOKENS} tokens). Load = 1-minute load average at the end of each run.`,
  "",
  "| model | run | binary | default | calibration median tok/s | measured median tg tok/s by threads | fastest | default is fastest | or within 3 % | calibration ms | load |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
];
const summary = [];
for (const model of models) {
  let agree = 0;
  let tied = 0;
  for (let run = 0; run < runs; run++) {
    const env = llamaCppProcessEnv({ ...process.env, UV_THREADPOOL_SIZE: undefined });
    if (binary !== "auto") env.LLEM_LLAMACPP_BINARY = binary;
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), "--child", `--model=${model}`, `--reps=${reps}`],
      { encoding: "utf8", env, stdio: ["ignore", "pipe", "inherit"] },
    );
    if (child.status !== 0) throw new Error(`run ${run} of ${model} failed`);
    const result = JSON.parse(child.stdout.trim().split("\n").at(-1));
    const agrees = result.default === result.fastest;
    if (agrees) agree++;
    // Within the calibration's tie (pickThreads' 3 %) of the fastest: as good as it can tell.
    const best = Math.max(...Object.values(result.medians));
    const withinTie = (result.medians[result.default] ?? 0) >= best * (1 - 0.03);
    if (withinTie) tied++;
    const row = `| ${model} | ${run + 1} | ${result.binary} | ${result.default} | ${JSON.stringify(result.calibration)} | ${Object.entries(
      result.medians,
    )
      .map(([threads, rate]) => `${threads}: ${rate.toFixed(0)}`)
      .join(
        ", ",
      )} | ${result.fastest} | ${agrees ? "yes" : "no"} | ${withinTie ? "yes" : "no"} | ${result.calibration_ms} | ${result.load.toFixed(1)} |`;
    console.log(row);
    lines.push(row);
  }
  summary.push(
    `${model}: the default was the fastest in ${agree} of ${runs} runs, the fastest or within 3 % of it in ${tied} (target ≥ 9).`,
  );
}
lines.push("", ...summary);
console.log(summary.join("\n"));
await recordLatest({
  bench: "thread-default.mjs",
  title: "Thread default",
  heading,
  body: lines.join("\n"),
  replaces: /^### \d{4}-\d{2}-\d{2} thread default/,
});
