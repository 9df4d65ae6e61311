// Client capacity of llem's load generator (run `pnpm bench client`, or `node bench/client.mjs`
// after `pnpm --filter @llem/backends build`), against a null SSE server in a process of its own
// (bench/support/null-sse-server.mjs: 64 text chunks per request, no model):
//
// 1. Open loop: seeded Poisson arrivals at 500 req/s, no concurrency cap — the achieved rate and
//    the send lag (sent − due) percentiles. Target ≥ 500 req/s with p99 send lag ≤ 5 ms.
// 2. Closed loop at concurrency 64: text chunks parsed per second. Target ≥ 50,000 chunks/s.
// Both report the client's CPU per request (user + system of this process ÷ requests).
//
// The requests go through runLoad, the code path of every server engine's measurement window.
// Options: --rate=500 --seconds=10 --concurrency=64 --requests=4000 --reps=3
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, requestBody, runLoad } from "../packages/backends/dist/index.js";
import { recordLatest } from "./lib/results-file.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) =>
  Number(
    process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback,
  );
const RATE = option("rate", 500);
const SECONDS = option("seconds", 10);
const CONCURRENCY = option("concurrency", 64);
const CLOSED_REQUESTS = option("requests", 4000);
const REPS = option("reps", 3);
const CHUNKS = 64;

const server = spawn(
  process.execPath,
  [join(here, "support/null-sse-server.mjs"), String(CHUNKS)],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const port = await new Promise((resolve) =>
  server.stdout.once("data", (data) => resolve(Number(String(data).trim()))),
);
const target = { url: `http://127.0.0.1:${port}/v1/completions`, api: "completions" };
const body = requestBody({
  api: "completions",
  model: "null",
  prompt: "hello",
  maxTokens: CHUNKS,
  seed: 1,
  includeUsage: true,
  extras: {},
});
const requests = (count) =>
  Array.from({ length: count }, (_, promptIndex) => ({ promptIndex, body }));
const load1 = loadavg()[0];

async function measure(count, plan) {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const results = await runLoad(target, requests(count), plan, {
    timeoutMs: 60_000,
    windowStart: start,
  });
  const wallS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const failed = results.filter((result) => result.status !== "ok");
  const lags = results
    .map((result) => result.timeline.sentMs - result.timeline.scheduledMs)
    .sort((a, b) => a - b);
  const chunks = results.reduce((sum, result) => sum + result.record.text_chunks, 0);
  return {
    requests: count,
    failed: failed.length,
    firstError: failed[0]?.error ?? null,
    wallS,
    requestsPerS: count / wallS,
    chunksPerS: chunks / wallS,
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    lagMax: lags.at(-1),
    cpuPerRequestUs: (cpu.user + cpu.system) / count,
    cpuShare: (cpu.user + cpu.system) / 1e6 / wallS,
  };
}

// Warm the connection pool and the JIT once, unmeasured.
await measure(500, { mode: "concurrent", concurrency: CONCURRENCY });
const open = [];
const closed = [];
for (let rep = 0; rep < REPS; rep++) {
  open.push(
    await measure(Math.round(RATE * SECONDS), {
      mode: "rate",
      requestRate: RATE,
      arrival: "poisson",
      maxConcurrency: null,
      seed: 42 + rep,
    }),
  );
  closed.push(await measure(CLOSED_REQUESTS, { mode: "concurrent", concurrency: CONCURRENCY }));
}
server.kill("SIGTERM");
const load2 = loadavg()[0];

const median = (runs, key) => {
  const values = runs.map((run) => run[key]).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
};
const f = (value, digits = 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const openMet = median(open, "requestsPerS") >= RATE * 0.98 && median(open, "lagP99") <= 5;
const closedMet = median(closed, "chunksPerS") >= 50_000;
const heading = `client — ${new Date().toISOString().slice(0, 10)}`;
const lines = [
  `\n## ${heading}`,
  "",
  `\`node bench/client.mjs\` (defaults: --rate=${RATE} --seconds=${SECONDS} --concurrency=${CONCURRENCY} --requests=${CLOSED_REQUESTS} --reps=${REPS}), Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}). llem's load generator (runLoad: node:http with one keep-alive agent per server, eventsource-parser) against bench/support/null-sse-server.mjs in its own process (${CHUNKS} text chunks per request, each its own write, no model). Medians of ${REPS} reps (each rep in brackets). 1-minute load average ${load1.toFixed(1)} before, ${load2.toFixed(1)} after (2 cores shared with other work: the null server competes with the client for them).`,
  "",
  "| load | achieved req/s | text chunks/s | send lag p50 / p99 / max, ms | client CPU per request | client CPU, share of one core | failed | target |",
  "|---|---|---|---|---|---|---|---|",
  `| open loop, Poisson ${RATE} req/s, ${f(RATE * SECONDS)} requests | ${f(median(open, "requestsPerS"))} (${open.map((run) => f(run.requestsPerS)).join(", ")}) | ${f(median(open, "chunksPerS"))} | ${f(median(open, "lagP50"), 2)} / ${f(median(open, "lagP99"), 2)} / ${f(median(open, "lagMax"), 1)} (p99: ${open.map((run) => f(run.lagP99, 2)).join(", ")}) | ${f(median(open, "cpuPerRequestUs"))} µs | ${f(median(open, "cpuShare") * 100)} % | ${open.map((run) => run.failed).join(", ")} | ≥ ${RATE} req/s, p99 lag ≤ 5 ms: ${openMet ? "met" : "not met"} |`,
  `| closed loop, concurrency ${CONCURRENCY}, ${f(CLOSED_REQUESTS)} requests | ${f(median(closed, "requestsPerS"))} | ${f(median(closed, "chunksPerS"))} (${closed.map((run) => f(run.chunksPerS)).join(", ")}) | — | ${f(median(closed, "cpuPerRequestUs"))} µs | ${f(median(closed, "cpuShare") * 100)} % | ${closed.map((run) => run.failed).join(", ")} | ≥ 50,000 chunks/s: ${closedMet ? "met" : "not met"} |`,
  "",
];
if ([...open, ...closed].some((run) => run.failed > 0))
  lines.push(
    `First failure: ${[...open, ...closed].find((run) => run.firstError)?.firstError}`,
    "",
  );
console.log(lines.join("\n"));
await recordLatest({
  bench: "client.mjs",
  title: "Client capacity",
  heading,
  body: lines.slice(1).join("\n"),
  replaces: /^### client — \d{4}-\d{2}-\d{2}/,
});
