// How fast a fresh process generates at each thread count from its first token, per binary
// (`node bench/thread-cold-start.mjs`, after `pnpm --filter @llem/backends build`).
//
// Every experiment runs in a fresh process, and the thread default is calibrated at the start of
// one. bench/thread-default.mjs judges the default by rates measured after the calibration, in a
// process already running for seconds; this one shows what the first seconds of a process look
// like. Each run is a fresh child: an engine at a fixed thread count generates 8-token requests
// back to back for --seconds, and the run prints its rate over the first 100 tokens, the median
// rate over its last half, and how many tokens it took until a request first ran at half that
// median or more.
//
// Options: --models=small  --threads=1,2  --binaries=prebuilt,native  --runs=3  --seconds=4
//          --record (also record the table in bench/RESULTS.md; without it, it prints only)
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
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
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const GEN_TOKENS = 8;

/** One run (in a child process): generate from the first token on, at one thread count. */
async function oneRun(model, threads, seconds) {
  const { path } = ensureSyntheticModel(`synthetic:${model}`, join(here, ".work", "cache"));
  const engine = new LlamaCppEngine(
    parseExperimentConfig({
      task: { model: path, max_input_tokens: 32, max_output_tokens: GEN_TOKENS + 1 },
      llamacpp: { threads, batch_size: 1, flash_attention: true },
    }),
    { cacheDir: mkdtempSync(join(tmpdir(), "llem-cold-start-")) },
  );
  await engine.prepare({});
  const requests = [];
  let tokens = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const { itlMs } = await engine.warmup("x".repeat(31), {});
    const ms = itlMs.reduce((sum, gap) => sum + gap, 0);
    requests.push({ tokensBefore: tokens, tokens: itlMs.length, ms });
    tokens += itlMs.length;
  }
  const binary = engine.resolvedSettings().llama_binary?.kind ?? "?";
  await engine.dispose();
  const rate = (list) =>
    list.reduce((sum, r) => sum + r.tokens, 0) / (list.reduce((sum, r) => sum + r.ms, 0) / 1000);
  const steady = median(requests.slice(Math.floor(requests.length / 2)).map((r) => rate([r])));
  const first = requests.filter((r) => r.tokensBefore < 100);
  const settled = requests.find((r) => rate([r]) >= steady / 2);
  return {
    binary,
    first100: rate(first),
    steady,
    tokensUntilSteady: settled?.tokensBefore ?? tokens,
    total: tokens,
  };
}

if (process.argv.includes("--child")) {
  const result = await oneRun(
    option("model", "small"),
    Number(option("threads", "1")),
    Number(option("seconds", "4")),
  );
  console.log(JSON.stringify(result));
  process.exit(0);
}

const models = option("models", "small").split(",");
const threadCounts = option("threads", "1,2").split(",").map(Number);
const binaries = option("binaries", "prebuilt,native").split(",");
const runs = Number(option("runs", "3"));
const seconds = option("seconds", "4");
const record = process.argv.includes("--record");
const heading = `${new Date().toISOString().slice(0, 10)} thread cold start (bench/thread-cold-start.mjs) — ${cpus()[0]?.model.trim()}, ${cpus().length} cores`;
const lines = [];
/** Prints a line of the table; with --record, keeps it for RESULTS.md too. */
const say = (line) => {
  console.log(line);
  lines.push(line);
};
console.log(`## ${heading}`);
console.log("");
say(`Command: \`node bench/thread-cold-start.mjs ${process.argv.slice(2).join(" ")}\`.`);
say("");
say(
  "| model | binary | threads | run | tok/s over the first 100 tokens | median tok/s over the last half | tokens until a request ran at ≥ half that | load |",
);
say("|---|---|---|---|---|---|---|---|");
for (const model of models) {
  for (const binary of binaries) {
    for (const threads of threadCounts) {
      for (let run = 0; run < runs; run++) {
        const env = llamaCppProcessEnv({ ...process.env, UV_THREADPOOL_SIZE: undefined });
        env.LLEM_LLAMACPP_BINARY = binary;
        const child = spawnSync(
          process.execPath,
          [
            fileURLToPath(import.meta.url),
            "--child",
            `--model=${model}`,
            `--threads=${threads}`,
            `--seconds=${seconds}`,
          ],
          { encoding: "utf8", env, stdio: ["ignore", "pipe", "inherit"] },
        );
        if (child.status !== 0) throw new Error(`${model} ${binary} ${threads} threads failed`);
        const result = JSON.parse(child.stdout.trim().split("\n").at(-1));
        say(
          `| ${model} | ${result.binary} | ${threads} | ${run + 1} | ${result.first100.toFixed(0)} | ${result.steady.toFixed(0)} | ${result.tokensUntilSteady} | ${loadavg()[0].toFixed(1)} |`,
        );
      }
    }
  }
}
if (record) {
  await recordLatest({
    bench: "thread-cold-start.mjs",
    title: "Thread cold start",
    heading,
    body: lines.join("\n"),
    replaces: /^### \d{4}-\d{2}-\d{2} thread cold start/,
  });
}
