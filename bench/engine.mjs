// Engine benchmarks for @llem/backends (run `pnpm bench engine`, or `node bench/engine.mjs`
// after `pnpm --filter @llem/backends build`).
//
// 1. Engine overhead: llem's llamacpp engine against llama.cpp's own `llama-bench`, built from the
//    llama.cpp source node-llama-cpp ships (bench/build-llama-bench.sh), on the same synthetic GGUF,
//    thread count, prompt length and generation length. The two are interleaved rep by rep so a
//    busy neighbour hurts both alike; the table shows best-of-reps (the machine's capability; the
//    2-core VM is shared) and medians, for every thread count tried.
// 2. Batch scaling: runExperiment on the medium preset at batch 1, 2, 4, 8: output tok/s and
//    estimated J per output token.
//
// Options: --models=medium,large  --threads=1,2 (default 1..nproc)  --reps=5  --parts=overhead,batch
//          --prompt=64 --gen=32 (tokens of the overhead comparison)
//          --uv=1 (default: re-run itself with llamaCppProcessEnv(), i.e. UV_THREADPOOL_SIZE=1, as a
//          process running the llamacpp engine should be started) | --uv=inherit (keep this env)
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
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

async function overhead(lines) {
  const binary = buildLlamaBench();
  // Synthetic models tokenize one token per byte after the BOS token.
  const prompt = "x".repeat(PROMPT_TOKENS - 1);
  const rows = [];
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
      // For comparison: llem's stepwise loop (what runs on node-llama-cpp's prebuilt binaries,
      // which lack the native generation loop), and node-llama-cpp's public evaluate path.
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
      for (let rep = 0; rep < reps; rep++) {
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
      const { binary: binaryKind, evaluator } = engine.resolvedSettings();
      await engine.dispose();
      const row = {
        model,
        threads,
        reference,
        ours,
        stepwise,
        evaluate,
        build,
        binaryKind,
        evaluator,
      };
      rows.push(row);
      console.log(
        `${model} t=${threads} [${binaryKind}]  tg llem ${fmt(best(ours.tg))} vs llama-bench ${fmt(best(reference.tg))} (ratio ${fmt(best(ours.tg) / best(reference.tg), 2)}, medians ${fmt(median(ours.tg) / median(reference.tg), 2)}, paired ${fmt(pairedRatio(ours.tg, reference.tg), 2)})` +
          `  pp llem ${fmt(best(ours.pp))} vs ${fmt(best(reference.pp))} (ratio ${fmt(best(ours.pp) / best(reference.pp), 2)}, medians ${fmt(median(ours.pp) / median(reference.pp), 2)}, paired ${fmt(pairedRatio(ours.pp, reference.pp), 2)})` +
          `  [tg at depth 0: llama-bench ${fmt(best(reference.tgDepth0))}, ratio ${fmt(best(ours.tg) / best(reference.tgDepth0), 2)}; stepwise loop tg ${fmt(best(stepwise.tg))}; node-llama-cpp evaluate(): tg ${fmt(best(evaluate.tg))}, pp ${fmt(best(evaluate.pp))}]`,
      );
    }
  }
  lines.push(
    `### Engine overhead: llem llamacpp engine vs llama-bench (prompt ${PROMPT_TOKENS}, generation ${GEN_TOKENS}, batch 1, ${reps} interleaved reps)`,
    "",
    `llama-bench build ${rows[0]?.build ?? "?"} from node-llama-cpp's bundled source (bench/build-llama-bench.sh), flash attention on as in llem's config. tok/s best-of-reps (median in brackets); ratio = llem ÷ llama-bench, of the bests (of the medians; paired = median of the per-rep ratios, each rep's two runs back to back). "tg @d${PROMPT_TOKENS}" is llama-bench's generation after a ${PROMPT_TOKENS}-token context, as llem's requests generate after their prompt (the target's reference); "@d0" is llama-bench's default, from an empty context. Stepwise and evaluate() are llem's fallbacks on binaries without the native loop, measured in the same reps.`,
    "",
    `| model | threads | llem binary | llem loop | tg llem | tg llama-bench @d${PROMPT_TOKENS} | tg ratio (medians; paired) | tg llama-bench @d0 | tg ratio @d0 | pp llem | pp llama-bench | pp ratio (medians; paired) | tg stepwise loop (ratio) | tg via evaluate() (ratio) |`,
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (row) =>
        `| ${row.model} | ${row.threads} | ${row.binaryKind} | ${row.evaluator} | ${fmt(best(row.ours.tg))} (${fmt(median(row.ours.tg))}) | ${fmt(best(row.reference.tg))} (${fmt(median(row.reference.tg))}) | ${fmt(best(row.ours.tg) / best(row.reference.tg), 2)} (${fmt(median(row.ours.tg) / median(row.reference.tg), 2)}; ${fmt(pairedRatio(row.ours.tg, row.reference.tg), 2)}) | ${fmt(best(row.reference.tgDepth0))} | ${fmt(best(row.ours.tg) / best(row.reference.tgDepth0), 2)} | ${fmt(best(row.ours.pp))} (${fmt(median(row.ours.pp))}) | ${fmt(best(row.reference.pp))} (${fmt(median(row.reference.pp))}) | ${fmt(best(row.ours.pp) / best(row.reference.pp), 2)} (${fmt(median(row.ours.pp) / median(row.reference.pp), 2)}; ${fmt(pairedRatio(row.ours.pp, row.reference.pp), 2)}) | ${fmt(best(row.stepwise.tg))} (${fmt(best(row.stepwise.tg) / best(row.reference.tg), 2)}) | ${fmt(best(row.evaluate.tg))} (${fmt(best(row.evaluate.tg) / best(row.reference.tg), 2)}) |`,
    ),
    "",
  );
  for (const model of models) {
    const forModel = rows.filter((row) => row.model === model);
    const fastest = forModel.reduce((a, b) => (best(b.ours.tg) > best(a.ours.tg) ? b : a));
    // What llem picks with threads: null (calibrated once per machine, binary and model).
    const { path } = ensureSyntheticModel(model, cacheDir);
    const engine = new LlamaCppEngine(parseExperimentConfig({ task: { model: path } }), {
      cacheDir,
    });
    await engine.prepare({});
    const settings = engine.resolvedSettings();
    await engine.dispose();
    const line = `${model}: fastest llem thread count in this run ${fastest.threads} (tg ${fmt(best(fastest.ours.tg))} tok/s); llem's default (threads: null) ${settings.threads}, its calibration tok/s ${JSON.stringify(settings.threads_calibration_tokens_per_s)}.`;
    console.log(line);
    lines.push(line, "");
  }
  lines.push("");
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
const loadBefore = loadavg()[0];
const lines = [
  `## ${new Date().toISOString().slice(0, 10)} engine (bench/engine.mjs) — ${cpus()[0]?.model.trim()}, ${cores} cores, libuv pool ${libuvThreadpoolSize()} thread(s)`,
  "",
];
if (parts.includes("overhead")) await overhead(lines);
if (parts.includes("batch")) await batchScaling(lines);
lines.push(
  `1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (${cores} cores; other processes slow both sides).`,
  "",
);
const results = join(here, "RESULTS.md");
if (!existsSync(results)) writeFileSync(results, "# Benchmark results\n");
appendFileSync(results, `\n${lines.join("\n")}`);
console.log(`appended to ${results}`);
