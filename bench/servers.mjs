// Server-engine benchmarks (run `pnpm bench servers`, or `node bench/servers.mjs` after
// `pnpm build` and `pnpm build:llama-server`):
//
// 1. Client accuracy: llem's load generator against llama-server's own `timings` on the same
//    requests, at concurrency 1, 4 and 16 — TTFT against `prompt_ms`, and each request's decode
//    rate (n − 1) / (e2e − TTFT) against the server's `predicted_per_second` (which this build
//    computes over the same n − 1 intervals: (predicted_n − 1) / predicted_ms). Target: median
//    ratio within 2 %. The server gets one batch large enough for every prompt at once, so its
//    prompt_ms is the whole wait for a first token (with smaller batches, prompts queue inside the
//    server and TTFT includes a wait that prompt_ms does not count). The requests go through the `openai` engine (the load generator every server
//    engine uses) to a llama-server this script starts, so they can carry a logit_bias that keeps
//    synthetic models off the bytes ≥ 0x80 — llama-server holds an incomplete UTF-8 byte back until
//    its character is complete, which would merge tokens into one chunk and delay the first one.
//    The same prompts and bodies then go through a bare node:http client (no llem code), closed
//    loop at the same concurrencies, as the reference for the TTFT − prompt_ms gap: what of it the
//    server spends outside its prompt processing, which no client can remove.
// 2. Engines side by side: the same GGUF through `llamacpp` (embedded), `llama-server` (started by
//    llem) and llama.cpp's `llama-bench`, one request at a time, interleaved rep by rep: output
//    tok/s of whole requests and the decode rate (1 / TPOT) against llama-bench's tg.
//
// Options: --model=synthetic:medium --threads=1 --reps=3 --parts=accuracy,engines
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  apiUrl,
  ensureSyntheticModel,
  loadPrompts,
  requestBody,
  runExperiment,
} from "../packages/backends/dist/index.js";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const option = (name, fallback) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const MODEL = option("model", "synthetic:medium");
const THREADS = Number(option("threads", "1"));
const REPS = Number(option("reps", "3"));
const PARTS = option("parts", "accuracy,engines").split(",");
const OUTPUT_TOKENS = 64;
const load = [loadavg()[0]];
const lines = [];
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const f = (value, digits = 3) => value.toFixed(digits);
const within = (ratio) => (Math.abs(ratio - 1) <= 0.02 ? "within 2 %" : "outside 2 %");

function built(flag) {
  const run = spawnSync("bash", [join(root, "scripts/build-llama-server.sh"), ...flag], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (run.status !== 0) throw new Error("scripts/build-llama-server.sh failed");
  return run.stdout.trim().split("\n").at(-1);
}
const llamaServer = built([]);
const gguf = ensureSyntheticModel(MODEL).path;
const measurement = {
  baseline: { enabled: false },
  energy: { sampler: "none" },
  warmup: { n_warmup: 2 },
};

/** Requests of one run of an experiment, from its requests.jsonl. */
async function run(config) {
  const dir = mkdtempSync(join(tmpdir(), "llem-bench-"));
  try {
    const result = await runExperiment(config, { outputDir: dir });
    const records = readFileSync(join(dir, "requests.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    return { result, records };
  } catch (error) {
    throw new Error(`${config.engine}: ${error.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function accuracy() {
  const port = 21_000 + Math.floor(Math.random() * 10_000);
  const slots = 16;
  const server = spawn(
    llamaServer,
    [
      "--model",
      gguf,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--parallel",
      String(slots),
      "--ctx-size",
      String(slots * 512),
      "--threads",
      String(THREADS),
      "--threads-http",
      String(slots + 8),
      "--flash-attn",
      "off",
      "--batch-size",
      String(slots * 512),
      "--ubatch-size",
      String(slots * 512),
    ],
    { stdio: "ignore" },
  );
  try {
    for (let attempt = 0; ; attempt++) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      if (attempt > 600) throw new Error("llama-server did not become ready");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Byte tokens 0x80–0xFF of the synthetic byte-level vocabulary (ids 131–258) never sampled.
    const logitBias = Object.fromEntries(
      Array.from({ length: 128 }, (_, index) => [String(131 + index), -100]),
    );
    // A fresh llama-server spends longer outside prompt_ms on some of its early requests
    // (TTFT − prompt_ms 9–14 ms against 2–3 ms, e.g. the first requests after all 16 slots had
    // served one; a second pass on the same server: 2–3 ms throughout), time no client can remove.
    // Warm it before measuring: every prompt at once, twice, through the bare client.
    const { prompts } = await loadPrompts({ source: "builtin:long", n_prompts: slots }, 0);
    const bodyOf = (prompt) =>
      requestBody({
        api: "completions",
        model: MODEL,
        prompt,
        maxTokens: OUTPUT_TOKENS,
        seed: 0,
        includeUsage: true,
        extras: { ignore_eos: true, cache_prompt: false, logit_bias: logitBias },
      });
    const url = apiUrl(`http://127.0.0.1:${port}`, "completions");
    for (let round = 0; round < 2; round++)
      await Promise.all(prompts.map((prompt) => bareRequest(url, bodyOf(prompt))));
    const rows = [];
    const atConcurrency = new Map();
    for (const concurrency of [1, 4, 16]) {
      const { records } = await run({
        engine: "openai",
        task: {
          model: MODEL,
          dataset: { source: "builtin:long", n_prompts: Math.max(16, 2 * concurrency) },
          max_output_tokens: OUTPUT_TOKENS,
        },
        openai: {
          endpoint: `http://127.0.0.1:${port}`,
          ignore_eos: true,
          extra_body: { cache_prompt: false, logit_bias: logitBias },
        },
        workload: { mode: "concurrent", concurrency },
        measurement,
      });
      const ok = records.filter((record) => record.status === "ok" && record.server_timings);
      atConcurrency.set(concurrency, ok);
      const ttft = ok.map((record) => record.ttft_ms / record.server_timings.prompt_ms);
      const clientRate = (record) =>
        (record.output_tokens - 1) / ((record.e2e_ms - record.ttft_ms) / 1000);
      const decode = ok.map(
        (record) => clientRate(record) / record.server_timings.predicted_per_second,
      );
      const chunksPerToken = median(ok.map((record) => record.text_chunks / record.output_tokens));
      rows.push({
        concurrency,
        requests: ok.length,
        ttft: median(ttft),
        decode: median(decode),
        chunksPerToken,
        ttftMs: median(ok.map((record) => record.ttft_ms)),
        promptMs: median(ok.map((record) => record.server_timings.prompt_ms)),
      });
    }
    // The same prompts and bodies through a bare node:http client (no llem code), closed loop at
    // concurrency 1, 4 and 16: how much of the TTFT − prompt_ms gap is the server's, not the client's.
    const gapOf = (entries) => median(entries.map((entry) => entry.ttftMs - entry.promptMs));
    const bareRows = [];
    for (const concurrency of [1, 4, 16]) {
      const count = rows.find((row) => row.concurrency === concurrency)?.requests ?? 16;
      const { prompts: list } = await loadPrompts({ source: "builtin:long", n_prompts: count }, 0);
      const bare = await bareLoop(url, list.map(bodyOf), concurrency);
      const llem = atConcurrency.get(concurrency) ?? [];
      bareRows.push({
        concurrency,
        requests: bare.length,
        ttftMs: median(bare.map((entry) => entry.ttftMs)),
        promptMs: median(bare.map((entry) => entry.promptMs)),
        ttft: median(bare.map((entry) => entry.ttftMs / entry.promptMs)),
        headersMs: median(bare.map((entry) => entry.headersMs)),
        // TTFT − prompt_ms: the time outside the server's prompt processing, which does not move
        // with prompt_ms from one pass to the next (a ratio of two passes' TTFTs would).
        gapMs: gapOf(bare),
        llemGapMs: gapOf(
          llem.map((record) => ({
            ttftMs: record.ttft_ms,
            promptMs: record.server_timings.prompt_ms,
          })),
        ),
      });
    }
    load.push(loadavg()[0]);
    lines.push(
      `\n### Client accuracy: llem's load generator against llama-server's own timings (${MODEL}, builtin:long prompts, ${OUTPUT_TOKENS} output tokens, ${THREADS} thread(s), ${slots} slots)`,
      "",
      "Per request, ratio = llem ÷ server; median over the requests. TTFT ÷ prompt_ms: the client's time to the first text chunk against the server's prompt processing (one batch holds every prompt, so no prompt queues inside the server; the client's figure also holds HTTP and the first token's sampling). Decode: (n − 1) / (e2e − TTFT) against predicted_per_second (= (predicted_n − 1) / predicted_ms in this build). Text chunks per token: 1.00 means every token came in its own chunk (the logit_bias kept the sampler off incomplete UTF-8 bytes).",
      "",
      "| concurrency | requests | TTFT median ms (prompt_ms) | TTFT ratio | decode-rate ratio | chunks per token | target |",
      "|---|---|---|---|---|---|---|",
      ...rows.map(
        (row) =>
          `| ${row.concurrency} | ${row.requests} | ${f(row.ttftMs, 1)} (${f(row.promptMs, 1)}) | ${f(row.ttft)} | ${f(row.decode)} | ${f(row.chunksPerToken, 2)} | TTFT ${within(row.ttft)}, decode ${within(row.decode)} |`,
      ),
      ...bareRows.map(
        (row) =>
          `| ${row.concurrency}, a bare node:http client (no llem code), same prompts and bodies | ${row.requests} | ${f(row.ttftMs, 1)} (${f(row.promptMs, 1)}) | ${f(row.ttft)} | — | — | reference for the gap |`,
      ),
      "",
      `TTFT − prompt_ms (median): ${bareRows.map((row) => `at concurrency ${row.concurrency} llem ${f(row.llemGapMs, 1)} ms, the bare client ${f(row.gapMs, 1)} ms`).join("; ")}. The bare client's response headers arrived ${f(bareRows[0].headersMs, 1)} ms (median, concurrency 1) after its request was sent.`,
      "",
    );
  } finally {
    server.kill();
  }
}

/** Requests in a closed loop of `concurrency` through bareRequest, each body once. */
async function bareLoop(url, bodies, concurrency) {
  const results = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const index = next++;
        results.push({ index, ...(await bareRequest(url, bodies[index])) });
      }
    }),
  );
  return results;
}

/** One streaming request through node:http alone: when its headers and its first text arrived. */
function bareRequest(url, body) {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    let headersMs = 0;
    let ttftMs = 0;
    let text = "";
    const request = httpRequest(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        headersMs = performance.now() - sent;
        response.setEncoding("utf8");
        response.on("data", (chunk) => {
          if (ttftMs === 0 && /"text":"[^"]/.test(chunk)) ttftMs = performance.now() - sent;
          text += chunk;
        });
        response.on("end", () => {
          const promptMs = Number((text.match(/"prompt_ms":([0-9.]+)/g) ?? []).at(-1)?.slice(12));
          if (!(ttftMs > 0 && promptMs > 0))
            reject(new Error(`bare request: no timings in ${text.slice(-300)}`));
          else resolve({ headersMs, ttftMs, promptMs });
        });
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

async function engines() {
  const bench = built(["--bench"]);
  const prompts = { source: "builtin:short", n_prompts: 8 };
  const task = { model: MODEL, dataset: prompts, max_output_tokens: OUTPUT_TOKENS };
  const results = { llamacpp: [], "llama-server": [], "llama-bench": [] };
  const decodeOf = (result) => 1000 / result.latency.tpot_ms.p50;
  let depth = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const embedded = await runExperiment({
      engine: "llamacpp",
      task,
      llamacpp: { threads: THREADS, batch_size: 1 },
      measurement,
    });
    results.llamacpp.push({
      output: embedded.throughput.output_tokens_per_s,
      decode: decodeOf(embedded),
    });
    depth = Math.round(embedded.tokens.input / embedded.tokens.requests);
    const { result: served } = await run({
      engine: "llama-server",
      task,
      "llama-server": { threads: THREADS, n_parallel: 1 },
      measurement,
    });
    results["llama-server"].push({
      output: served.throughput.output_tokens_per_s,
      decode: decodeOf(served),
    });
    const reference = spawnSync(
      bench,
      [
        "-m",
        gguf,
        "-t",
        String(THREADS),
        "-p",
        "0",
        "-n",
        String(OUTPUT_TOKENS),
        "-d",
        String(depth),
        "-fa",
        "off",
        "-r",
        "3",
        "-o",
        "json",
      ],
      { encoding: "utf8" },
    );
    if (reference.status !== 0) throw new Error(`llama-bench failed: ${reference.stderr}`);
    const tg = JSON.parse(reference.stdout).find((row) => row.n_gen > 0).avg_ts;
    results["llama-bench"].push({ output: null, decode: tg });
  }
  load.push(loadavg()[0]);
  const tg = median(results["llama-bench"].map((rep) => rep.decode));
  const embeddedOutput = median(results.llamacpp.map((rep) => rep.output));
  lines.push(
    `\n### Engines side by side: ${MODEL} (${gguf.split("/").at(-1)}), ${THREADS} thread(s), one request at a time, ${OUTPUT_TOKENS} output tokens, ${REPS} interleaved reps (medians)`,
    "",
    `Output tok/s: whole requests (prompt + generation) of the window, builtin:short prompts (mean ${depth} tokens). Decode: 1 / median TPOT for the engines; llama-bench's tg (-p 0 -n ${OUTPUT_TOKENS} -d ${depth}, generation after a ${depth}-token context). Same build of llama.cpp for llama-server and llama-bench (scripts/build-llama-server.sh); llamacpp runs node-llama-cpp's binaries of the same llama.cpp release.`,
    "",
    "| engine | output tok/s | output tok/s ÷ llamacpp | decode tok/s | decode ÷ llama-bench tg |",
    "|---|---|---|---|---|",
    ...["llamacpp", "llama-server", "llama-bench"].map((engine) => {
      const reps = results[engine];
      const output = engine === "llama-bench" ? null : median(reps.map((rep) => rep.output));
      const decode = median(reps.map((rep) => rep.decode));
      return `| ${engine} | ${output === null ? "—" : f(output, 1)} | ${output === null ? "—" : f(output / embeddedOutput, 2)} | ${f(decode, 1)} | ${f(decode / tg, 2)} |`;
    }),
    "",
  );
}

if (PARTS.includes("accuracy")) await accuracy();
if (PARTS.includes("engines")) await engines();
const heading = `servers — ${new Date().toISOString().slice(0, 10)}`;
const header = [
  `\n## ${heading}`,
  "",
  `\`node bench/servers.mjs --model=${MODEL} --threads=${THREADS} --reps=${REPS} --parts=${PARTS.join(",")}\`, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}). 1-minute load average ${load.map((value) => value.toFixed(1)).join(" → ")} over the run (2 cores shared with other work).`,
];
const text = [...header, ...lines].join("\n");
console.log(text);
await recordLatest({
  bench: "servers.mjs",
  title: "Servers: client accuracy and engines side by side",
  heading,
  body: [...header.slice(1), ...lines].join("\n"),
  replaces: /^### servers — \d{4}-\d{2}-\d{2}/,
});
