// Engine benchmarks for @llem/backends (run `pnpm bench engine`, or `node bench/engine.mjs`
// after `pnpm --filter @llem/backends build`).
//
// 1. Engine overhead: llem's llamacpp engine against llama.cpp's own `llama-bench`, built from the
//    llama.cpp source node-llama-cpp ships (bench/build-llama-bench.sh), on the same synthetic GGUF,
//    thread count, prompt length and generation length. The two are interleaved rep by rep so a
//    busy neighbour hurts both alike; the table shows best-of-reps (the machine's capability; the
//    2-core VM is shared) and medians, for every thread count tried. It is measured once per llama.cpp
//    binary (--binaries=native,prebuilt: the native build the install makes, and node-llama-cpp's
//    prebuilt one, its fallback), each in its own process (one binary per process:
//    LLEM_LLAMACPP_BINARY), model by model, alternating, in the same run.
// 2. Batch scaling: runExperiment on the medium preset at batch 1, 2, 4, 8: output tok/s and
//    estimated J per output token.
//
// Options: --models=medium,large  --threads=1,2 (default 1..nproc)  --reps=5  --parts=overhead,batch
//          --binaries=native,prebuilt (the llama.cpp binaries the overhead part compares)
//          --prompt=64 --gen=32 (tokens of the overhead comparison)
//          --uv=1 (default: re-run itself with llamaCppProcessEnv(), i.e. UV_THREADPOOL_SIZE=1, as a
//          process running the llamacpp engine should be started) | --uv=inherit (keep this env)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ensureSyntheticModel,
  LlamaCppEngine,
  libuvThreadpoolSize,
  llamaCppProcessEnv,
  runExperiment,
} from "../packages/backends/dist/index.js";
import { parseExperimentConfig } from "../packages/schema/dist/index.js";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(here, ".work", "cache");
const option = (name, fallback) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const reps = Number(option("reps", "5"));
const PROMPT_TOKENS = Number(option("prompt", "64"));
const GEN_TOKENS = Number(option("gen", "32"));
const models = option("models", "medium,large")
  .split(",")
  .map((name) => (name.includes(":") ? name : `synthetic:${name}`));
const cores = availableParallelism();
const threadCounts = option(
  "threads",
  Array.from({ length: cores }, (_, index) => index + 1).join(","),
)
  .split(",")
  .map(Number);
const parts = option("parts", "overhead,batch").split(",");
const binaries = option("binaries", "native,prebuilt").split(",");
// Set in the per-binary child processes of the overhead part: where their rows go.
const rowsOut = option("rows-out", null);

// The libuv pool is sized before any module code runs, so the right env needs a fresh process.
if (option("uv", "1") === "1" && libuvThreadpoolSize() !== 1) {
  const child = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: "inherit",
    env: llamaCppProcessEnv({ ...process.env, UV_THREADPOOL_SIZE: undefined }),
  });
  process.exit(child.status ?? 1);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const best = (values) => Math.max(...values);
/** Median of the per-rep ratios a[i] / b[i]: each pair ran back to back, so slow drifts of the shared machine cancel. */
const pairedRatio = (a, b) => median(a.map((value, index) => value / b[index]));
const fmt = (value, digits = 0) => value.toFixed(digits);

function buildLlamaBench() {
  const build = spawnSync("bash", [join(here, "build-llama-bench.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (build.status !== 0) throw new Error("bench/build-llama-bench.sh failed");
  return build.stdout.trim().split("\n").pop();
}

/** One llama-bench repetition: pp and tg tok/s. */
function llamaBench(binary, modelPath, threads) {
  const run = spawnSync(
    binary,
    [
      "-m",
      modelPath,
      "-t",
      String(threads),
      "-p",
      String(PROMPT_TOKENS),
      "-n",
      String(GEN_TOKENS),
      // llem's requests generate after their prompt, so the matching reference is generation at
      // depth PROMPT_TOKENS; depth 0 (llama-bench's default) is kept for comparison.
      "-d",
      `0,${PROMPT_TOKENS}`,
      // As llem's config below; llama-bench's default (auto) would decide by itself.
      "-fa",
      "on",
      "-r",
      "1",
      "-o",
      "json",
    ],
    {
      encoding: "utf8",
    },
  );
  if (run.status !== 0) throw new Error(`llama-bench failed: ${run.stderr}`);
  const rows = JSON.parse(run.stdout);
  const pp = rows.find((row) => row.n_prompt > 0 && row.n_gen === 0 && row.n_depth === 0);
  const tg = rows.find(
    (row) => row.n_gen > 0 && row.n_prompt === 0 && row.n_depth === PROMPT_TOKENS,
  );
  const tgDepth0 = rows.find((row) => row.n_gen > 0 && row.n_prompt === 0 && row.n_depth === 0);
  return {
    pp: pp.avg_ts,
    tg: tg.avg_ts,
    tgDepth0: tgDepth0.avg_ts,
    build: `${rows[0].build_commit} (${rows[0].build_number})`,
  };
}

/**
 * One llem request: a PROMPT_TOKENS-token prompt, then GEN_TOKENS generated tokens, streamed.
 * An unmeasured request goes right before it, as llama-bench runs one unmeasured pass before each
 * measured one: both sides are timed with warm caches and a running thread team, the steady state
 * of a workload's back-to-back requests.
 */
async function llemRequest(engine, prompt) {
  await engine.warmup(prompt, {});
  const measurement = await engine.warmup(prompt, {});
  if (measurement.inputTokens !== PROMPT_TOKENS)
    throw new Error(`prompt is ${measurement.inputTokens} tokens, expected ${PROMPT_TOKENS}`);
  const generation = measurement.itlMs.reduce((sum, gap) => sum + gap, 0);
  // The first token comes out of the prompt's decode; the GEN_TOKENS after it each need one decode.
  return {
    pp: PROMPT_TOKENS / (measurement.ttftMs / 1000),
    tg: measurement.itlMs.length / (generation / 1000),
  };
}

/** The overhead rows of one binary (this process's), for the models given; see overhead(). */
async function measureOverhead() {
  const binary = buildLlamaBench();
  // Synthetic models tokenize one token per byte after the BOS token.
  const prompt = "x".repeat(PROMPT_TOKENS - 1);
  const rows = [];
  const defaults = [];
  for (const model of models) {
    const { path } = ensureSyntheticModel(model, cacheDir);
    for (const threads of threadCounts) {
      const config = parseExperimentConfig({
        // Context sized by the prompt and generation lengths, as llama-bench's n_ctx (p + n).
        task: { model: path, max_input_tokens: PROMPT_TOKENS, max_output_tokens: GEN_TOKENS + 1 },
        // flash attention on: llama-bench's default (auto) enables it on the CPU backend.
        llamacpp: { threads, batch_size: 1, flash_attention: true },
      });
      const engine = new LlamaCppEngine(config);
      await engine.prepare({});
      await llemRequest(engine, prompt);
      // For comparison: llem's stepwise loop (what runs on binaries without the native generation
      // loop), and node-llama-cpp's public evaluate path.
      const stepwiseEngine = new LlamaCppEngine(config, { evaluator: "stepwise" });
      await stepwiseEngine.prepare({});
      await llemRequest(stepwiseEngine, prompt);
      const viaEvaluate = new LlamaCppEngine(config, { evaluator: "sequence" });
      await viaEvaluate.prepare({});
      await llemRequest(viaEvaluate, prompt);
      const evaluate = { pp: [], tg: [] };
      const stepwise = { pp: [], tg: [] };
      const reference = { pp: [], tg: [], tgDepth0: [] };
      const ours = { pp: [], tg: [] };
      let build = "";
      const loads = [];
      for (let rep = 0; rep < reps; rep++) {
        loads.push(loadavg()[0]);
        const bench = llamaBench(binary, path, threads);
        build = bench.build;
        reference.pp.push(bench.pp);
        reference.tg.push(bench.tg);
        reference.tgDepth0.push(bench.tgDepth0);
        const mine = await llemRequest(engine, prompt);
        ours.pp.push(mine.pp);
        ours.tg.push(mine.tg);
        const step = await llemRequest(stepwiseEngine, prompt);
        stepwise.pp.push(step.pp);
        stepwise.tg.push(step.tg);
        const public_ = await llemRequest(viaEvaluate, prompt);
        evaluate.pp.push(public_.pp);
        evaluate.tg.push(public_.tg);
      }
      await viaEvaluate.dispose();
      await stepwiseEngine.dispose();
      const settings = engine.resolvedSettings();
      const label = engine.versions()["llama.cpp-binary"];
      await engine.dispose();
      const row = {
        model,
        threads,
        reference,
        ours,
        stepwise,
        evaluate,
        build,
        binaryKind: settings.binary,
        label,
        loads,
        evaluator: settings.evaluator,
      };
      rows.push(row);
      console.log(
        `${model} t=${threads} [${label}]  tg llem ${fmt(best(ours.tg))} vs llama-bench ${fmt(best(reference.tg))} (ratio ${fmt(best(ours.tg) / best(reference.tg), 2)}, paired ${fmt(pairedRatio(ours.tg, reference.tg), 2)})` +
          `  pp llem ${fmt(best(ours.pp))} vs ${fmt(best(reference.pp))} (ratio ${fmt(best(ours.pp) / best(reference.pp), 2)}, paired ${fmt(pairedRatio(ours.pp, reference.pp), 2)})` +
          `  [stepwise loop tg ${fmt(best(stepwise.tg))}; evaluate(): tg ${fmt(best(evaluate.tg))}]`,
      );
    }
    // What llem picks with threads: null (calibrated once per machine, binary and model), from a
    // fresh calibration cache, so each run calibrates anew.
    const engine = new LlamaCppEngine(parseExperimentConfig({ task: { model: path } }), {
      cacheDir: mkdtempSync(join(tmpdir(), "llem-bench-calibration-")),
    });
    await engine.prepare({});
    const settings = engine.resolvedSettings();
    await engine.dispose();
    defaults.push({
      model,
      threads: settings.threads,
      rates: settings.threads_calibration_tokens_per_s,
    });
  }
  return { rows, defaults };
}

/**
 * Engine overhead for each binary: a child process per (model, binary), alternating binaries model
 * by model, each with its own interleaved llama-bench reps; then one table per binary.
 */
async function overhead(lines) {
  const results = new Map(binaries.map((name) => [name, { rows: [], defaults: [], error: null }]));
  const work = mkdtempSync(join(tmpdir(), "llem-bench-engine-"));
  for (const model of models) {
    for (const name of binaries) {
      const result = results.get(name);
      if (result.error) continue;
      const out = join(work, `${name}-${model.replace(/[^a-z0-9]+/gi, "_")}.json`);
      const args = process.argv
        .slice(2)
        .filter((arg) => !/^--(models|rows-out|binaries|parts)=/.test(arg));
      const child = spawnSync(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          ...args,
          `--models=${model}`,
          "--parts=overhead",
          `--rows-out=${out}`,
        ],
        {
          stdio: ["ignore", "inherit", "pipe"],
          encoding: "utf8",
          env: { ...process.env, LLEM_LLAMACPP_BINARY: name },
        },
      );
      if (child.status !== 0 || !existsSync(out)) {
        result.error = (child.stderr || `exit ${child.status}`)
          .trim()
          .split("\n")
          .slice(-3)
          .join(" ");
        console.log(`${name}: not measured (${result.error})`);
        continue;
      }
      const part = JSON.parse(readFileSync(out, "utf8"));
      result.rows.push(...part.rows);
      result.defaults.push(...part.defaults);
    }
  }
  const build =
    [...results.values()].find((result) => result.rows.length > 0)?.rows[0]?.build ?? "?";
  lines.push(
    `### Engine overhead: llem llamacpp engine vs llama-bench (prompt ${PROMPT_TOKENS}, generation ${GEN_TOKENS}, batch 1, ${reps} interleaved reps)`,
    "",
    `Command: \`node bench/engine.mjs ${process.argv.slice(2).join(" ")}\`. llama-bench build ${build} from node-llama-cpp's bundled source (bench/build-llama-bench.sh), flash attention on as in llem's config. tok/s best-of-reps (median in brackets); ratio = llem ÷ llama-bench of the bests (paired = median of the per-rep ratios, each rep's two runs back to back). "tg" is compared with llama-bench's generation after a ${PROMPT_TOKENS}-token context (\`-d ${PROMPT_TOKENS}\`), as llem's requests generate after their prompt. ★ marks llem's default thread count (\`threads: null\`, calibrated afresh in the same process). Each binary ran in its own processes, model by model, alternating.`,
    "",
  );
  for (const [name, result] of results) {
    lines.push(
      `#### ${name === "native" ? "Native build (what the install builds where a compiler is present)" : "Prebuilt binary (node-llama-cpp's; the fallback)"}`,
      "",
    );
    if (result.rows.length === 0) {
      lines.push(`Not measured: ${result.error ?? "no rows"}.`, "");
      continue;
    }
    const loads = result.rows.flatMap((row) => row.loads);
    lines.push(
      `Binary: ${result.rows[0].label}. 1-minute load average during its reps: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} (median ${fmt(median(loads), 1)}).`,
      "",
      "| model | threads | tg ratio (best / paired) | pp ratio (best / paired) | tg llem | tg llama-bench | pp llem | pp llama-bench | stepwise loop tg ratio | evaluate() tg ratio |",
      "|---|---|---|---|---|---|---|---|---|---|",
      ...result.rows.map((row) => {
        const isDefault =
          result.defaults.find((entry) => entry.model === row.model)?.threads === row.threads;
        return `| ${row.model.replace("synthetic:", "")} | ${row.threads}${isDefault ? " ★" : ""} | ${fmt(best(row.ours.tg) / best(row.reference.tg), 2)} / ${fmt(pairedRatio(row.ours.tg, row.reference.tg), 2)} | ${fmt(best(row.ours.pp) / best(row.reference.pp), 2)} / ${fmt(pairedRatio(row.ours.pp, row.reference.pp), 2)} | ${fmt(best(row.ours.tg))} (${fmt(median(row.ours.tg))}) | ${fmt(best(row.reference.tg))} (${fmt(median(row.reference.tg))}) | ${fmt(best(row.ours.pp))} (${fmt(median(row.ours.pp))}) | ${fmt(best(row.reference.pp))} (${fmt(median(row.reference.pp))}) | ${fmt(best(row.stepwise.tg) / best(row.reference.tg), 2)} | ${fmt(best(row.evaluate.tg) / best(row.reference.tg), 2)} |`;
      }),
      "",
    );
    for (const entry of result.defaults) {
      const forModel = result.rows.filter((row) => row.model === entry.model);
      // Fastest by the median of the reps, as the calibration and bench/thread-default.mjs judge it.
      const fastest = forModel.reduce((a, b) => (median(b.ours.tg) > median(a.ours.tg) ? b : a));
      lines.push(
        `${entry.model}: default ${entry.threads} thread(s) (calibration median tok/s ${JSON.stringify(entry.rates)}); fastest in this run by median tg: ${fastest.threads} (${forModel.map((row) => `${row.threads}: ${fmt(median(row.ours.tg))}`).join(", ")} tok/s).`,
        "",
      );
    }
  }
}

async function batchScaling(lines) {
  const sizes = [1, 2, 4, 8];
  const runs = new Map(sizes.map((batch) => [batch, []]));
  // Rounds interleave the batch sizes so a burst of load from other processes hits all of them;
  // each size reports its best round.
  for (let round = 0; round < 3; round++) {
    for (const batch of sizes) {
      const result = await runExperiment(
        {
          task: {
            model: "synthetic:medium",
            dataset: { source: "builtin:mixed", n_prompts: 16 },
            max_input_tokens: 128,
            max_output_tokens: 32,
          },
          llamacpp: { batch_size: batch },
          measurement: {
            energy: { sampler: "estimate" },
            baseline: { enabled: false },
            warmup: { n_warmup: 1 },
          },
        },
        { cacheDir },
      );
      runs.get(batch).push(result);
    }
  }
  const rows = [];
  for (const batch of sizes) {
    const result = runs
      .get(batch)
      .reduce((a, b) =>
        b.throughput.output_tokens_per_s > a.throughput.output_tokens_per_s ? b : a,
      );
    rows.push({ batch, result });
    console.log(
      `batch ${batch}: ${fmt(result.throughput.output_tokens_per_s, 1)} output tok/s, ${result.energy.energy_per_output_token_j?.toFixed(4)} J/token (estimated), threads ${result.engine_settings?.threads}`,
    );
  }
  lines.push(
    "### Batch scaling: synthetic:medium, 16 prompts (builtin:mixed, ≤ 128 input tokens), 32 output tokens each, best of 3 interleaved rounds",
    "",
    "| batch | output tok/s | J per output token (estimated) | TTFT p50 ms | ITL p50 ms |",
    "|---|---|---|---|---|",
    ...rows.map(
      ({ batch, result }) =>
        `| ${batch} | ${fmt(result.throughput.output_tokens_per_s, 1)} | ${result.energy.energy_per_output_token_j?.toFixed(4) ?? "n/a"} | ${fmt(result.latency.ttft_ms?.p50 ?? 0, 1)} | ${fmt(result.latency.itl_ms?.p50 ?? 0, 2)} |`,
    ),
    "",
  );
  const first = rows[0].result.throughput.output_tokens_per_s;
  const last = rows[rows.length - 1].result.throughput.output_tokens_per_s;
  lines.push(`Batch 8 vs batch 1: ${fmt(last / first, 2)}× output tok/s.`, "");
}

mkdirSync(cacheDir, { recursive: true });
if (rowsOut) {
  writeFileSync(rowsOut, JSON.stringify(await measureOverhead()));
  process.exit(0);
}
const loadBefore = loadavg()[0];
// A batch-only run is its own kind of entry (RESULTS.md keeps the latest batch table apart from
// the latest overhead run); a run with the overhead part replaces the latest overhead run.
const batchOnly = !parts.includes("overhead") && parts.includes("batch");
const heading = `${new Date().toISOString().slice(0, 10)} engine${batchOnly ? " batch scaling" : ""} (bench/engine.mjs) — ${cpus()[0]?.model.trim()}, ${cores} cores, libuv pool ${libuvThreadpoolSize()} thread(s)`;
const lines = [];
if (parts.includes("overhead")) await overhead(lines);
if (parts.includes("batch")) await batchScaling(lines);
lines.push(
  `1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (${cores} cores; other processes slow both sides).`,
);
await recordLatest({
  bench: "engine.mjs",
  title: "Engine: llem's llamacpp engine vs llama-bench",
  heading,
  body: lines.join("\n"),
  replaces: batchOnly
    ? /^### (Batch scaling\b|\d{4}-\d{2}-\d{2} engine batch scaling)/
    : /^### \d{4}-\d{2}-\d{2} engine \(/,
});
