// Where the time of one generated token goes in llem's direct decode loop (run after
// `pnpm --filter @llem/backends build`). Per token: the time from calling decodeBatch to its
// promise resolving (llama_decode on a libuv pool thread + the hand-offs to and from it), the same
// for sampleToken, and the whole step; plus the prompt's decode. Compare with llama-bench's time
// per token for the same GGUF and threads (bench/build-llama-bench.sh). Figures are printed, not
// recorded in RESULTS.md: this is a diagnostic (docs/engine-performance.md cites what it found).
// UV_THREADPOOL_SIZE, OMP_WAIT_POLICY and GOMP_SPINCOUNT act when set before the process starts.
//
// Usage: node bench/engine-profile.mjs --model=small --threads=1 --gen=64 --reps=5
//        [--ctx=N context size] [--fa=false] [--spin: keep the event loop polling while waiting]
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSyntheticModel, LlamaCppEngine } from "../packages/backends/dist/index.js";
import { parseExperimentConfig } from "../packages/schema/dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const model = option("model", "small");
const threads = Number(option("threads", String(availableParallelism())));
const gen = Number(option("gen", "64"));
const reps = Number(option("reps", "5"));
const prompt = Number(option("prompt", "64"));

const { path } = ensureSyntheticModel(`synthetic:${model}`, join(here, ".work", "cache"));
const config = parseExperimentConfig({
  task: { model: path, max_input_tokens: null, max_output_tokens: gen },
  llamacpp: {
    threads,
    batch_size: 1,
    flash_attention: option("fa", "true") === "true",
    context_size: option("ctx", null) === null ? null : Number(option("ctx", "0")),
  },
});
const engine = new LlamaCppEngine(config);
await engine.prepare({});
await engine.warmup("x".repeat(prompt - 1), {});
// The engine's private direct-decode internals, on purpose: the calls are timed one by one.
const { context } = engine.direct;
const sampler = engine.samplers.get(0);

// --spin: keep the event loop polling (setImmediate) while a native call runs, so the main thread
// never sleeps in epoll and the worker's completion needs no wake-up.
const spin = process.argv.includes("--spin");
const spinning = async (promise) => {
  if (!spin) return promise;
  let done = false;
  const loop = () => {
    if (!done) setImmediate(loop);
  };
  setImmediate(loop);
  try {
    return await promise;
  } finally {
    done = true;
  }
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rows = [];
for (let rep = 0; rep < reps; rep++) {
  context.disposeSequence(0);
  const tokens = Uint32Array.from({ length: prompt }, (_, index) => (index === 0 ? 1 : 123));
  let t0 = performance.now();
  context.initBatch(prompt);
  let [logit] = context.addToBatch(0, 0, tokens, Uint32Array.of(prompt - 1));
  await context.decodeBatch();
  const ppDecode = performance.now() - t0;
  let sampled = await context.sampleToken(logit, sampler);
  const ppTotal = performance.now() - t0;
  const decode = [];
  const sample = [];
  const total = [];
  let position = prompt;
  for (let index = 0; index < gen; index++) {
    const token = Array.isArray(sampled) ? sampled[0] : sampled;
    t0 = performance.now();
    context.initBatch(1);
    [logit] = context.addToBatch(0, position++, Uint32Array.of(token), Uint32Array.of(0));
    const t1 = performance.now();
    await spinning(context.decodeBatch());
    const t2 = performance.now();
    sampled = await spinning(context.sampleToken(logit, sampler));
    const t3 = performance.now();
    decode.push(t2 - t1);
    sample.push(t3 - t2);
    total.push(t3 - t0);
  }
  rows.push({
    ppDecode,
    ppTotal,
    decode: median(decode),
    sample: median(sample),
    total: median(total),
    mean: total.reduce((a, b) => a + b) / total.length,
  });
}
const viaEngine = [];
for (let rep = 0; rep < reps; rep++) {
  const m = await engine.warmup("x".repeat(prompt - 1), {});
  viaEngine.push({ ttft: m.ttftMs, itl: m.itlMs.reduce((a, b) => a + b) / m.itlMs.length });
}
const best = (key) => Math.min(...rows.map((row) => row[key]));
console.log(
  JSON.stringify({
    model,
    threads,
    env: {
      OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY,
      GOMP_SPINCOUNT: process.env.GOMP_SPINCOUNT,
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE,
    },
    pp_ms: { decode: best("ppDecode"), total: best("ppTotal") },
    tg_ms_per_token: {
      decode: best("decode"),
      sample: best("sample"),
      total: best("total"),
      mean: best("mean"),
    },
    tg_tok_s: 1000 / best("mean"),
    engine_warmup_ms: {
      ttft: Math.min(...viaEngine.map((row) => row.ttft)),
      itl: Math.min(...viaEngine.map((row) => row.itl)),
    },
  }),
);
await engine.dispose();
