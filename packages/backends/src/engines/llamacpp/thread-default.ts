import { mkdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { writeJsonAtomic } from "@llem/manifest";
import { percentile } from "../../metrics/stats.js";
import {
  directDecoder,
  endOfGenerationTokens,
  hasNativeGenerate,
  runDirect,
  SamplerPool,
} from "./direct-decode.js";
import { type Llama, nodeLlamaCppVersion } from "./node-llama-cpp.js";
import { libuvThreadpoolSize } from "./process-env.js";

/**
 * The default thread count (`llamacpp.threads: null`) is the count that generated fastest on this
 * machine, with this llama.cpp binary and this model, measured once and cached. The model matters:
 * a per-token fixed cost favours fewer threads for small models, compute favours more for large ones. A fixed rule is wrong in both
 * directions: node-llama-cpp's prebuilt CPU binaries (no OpenMP; a thread pool created and torn
 * down for every graph) are fastest with 1 thread on a 2-core VM, while a build with OpenMP from
 * the bundled source scales with every core. See docs/backends-engines.md, "Thread default".
 */

const PROMPT_TOKENS = 32;
const GENERATED_TOKENS = 32;
/** Interleaved rounds per window, and windows per calibration (see windowedRate). */
const ROUNDS_PER_WINDOW = 8;
const WINDOWS = 3;
/** Names the measuring method in the cache key; v2: windows of rounds (v1: one set of 8 rounds). */
const CALIBRATION_METHOD = "windows-v2";

interface CalibrationFile {
  schema_version: 1;
  entries: Record<
    string,
    { threads: number; tokens_per_s: Record<string, number>; measured_at: string }
  >;
}

type LoadedModel = Awaited<ReturnType<Llama["loadModel"]>>;

/** Identifies the model by what decides its speed: file name (synthetic names spell out the spec) and size. */
export interface ModelIdentity {
  fileName: string;
  sizeBytes: number;
}

function calibrationKey(llama: Llama, model: ModelIdentity): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown";
  return [
    cpu,
    cpus().length,
    llama.buildType,
    llama.llamaCppRelease.release,
    nodeLlamaCppVersion() ?? "?",
    model.fileName,
    model.sizeBytes,
    // The libuv pool size changes how well OpenMP builds scale with threads (process-env.ts).
    `uv${libuvThreadpoolSize()}`,
    // The loop decides the per-token fixed cost, which decides how well threads pay off.
    hasNativeGenerate(llama) ? "native-loop" : "stepwise-loop",
    // How the rates were measured: a calibration by an earlier method is measured again.
    CALIBRATION_METHOD,
  ].join("|");
}

function readCalibration(path: string): CalibrationFile {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as CalibrationFile;
    if (parsed.schema_version === 1 && typeof parsed.entries === "object") return parsed;
  } catch {
    // absent or unreadable: measure again
  }
  return { schema_version: 1, entries: {} };
}

/**
 * Generation tok/s of the loaded model at each thread count, through the loop the engine itself
 * will use (the native one where the binary has it), so the per-token cost that decides between
 * thread counts is the engine's own. The counts are measured in interleaved rounds, grouped in
 * up to three windows of eight; each count's rate is windowedRate of its windows. The third window
 * is measured only when the first two do not both name the same count 10 % ahead of the others
 * (clearLead), so a clear machine pays two windows.
 *
 * A count under a quarter of the leader's median after two rounds, or under half after three, is
 * not measured further, which bounds the calibration's time when a count is hopeless.
 */
async function generationRate(
  llama: Llama,
  model: LoadedModel,
  threadCounts: number[],
): Promise<Map<number, number>> {
  const banned = endOfGenerationTokens(model);
  // One context (with its loop internals and sampler) per thread count, measured in turn.
  const candidates = await Promise.all(
    threadCounts.map(async (threads) => {
      const context = await model.createContext({
        contextSize: 128,
        sequences: 1,
        threads,
        flashAttention: true,
      });
      const internals = directDecoder(llama, model, context);
      const samplers = internals ? new SamplerPool(internals, banned) : null;
      return {
        threads,
        context,
        internals,
        samplers,
        windows: Array.from({ length: WINDOWS }, () => [] as number[]),
        active: true,
      };
    }),
  );
  try {
    const prompt = model.tokenize("x".repeat(PROMPT_TOKENS));
    const request = { index: 0, tokens: prompt.map(Number), truncated: false };
    for (let round = 0; round < ROUNDS_PER_WINDOW * WINDOWS; round++) {
      const window = Math.floor(round / ROUNDS_PER_WINDOW);
      for (const candidate of candidates) {
        if (!candidate.active) continue;
        const { context, internals, samplers } = candidate;
        let rate: number;
        if (internals && samplers) {
          let itlMs: number[] = [];
          await runDirect(internals, samplers, [request], {
            maxOutputTokens: GENERATED_TOKENS + 1,
            mode: "batch",
            slots: 1,
            maxBatchTokens: context.batchSize,
            onRequest: (_index, measurement) => {
              itlMs = measurement.itlMs;
            },
          });
          rate = itlMs.length / (itlMs.reduce((sum, gap) => sum + gap, 0) / 1000);
        } else {
          rate = await evaluateRate(context, prompt);
        }
        candidate.windows[window]?.push(rate);
      }
      // Hopeless counts stop early: under a quarter of the leader after two rounds, under half
      // after three.
      const cutoff = round >= 2 ? 0.5 : round === 1 ? 0.25 : 0;
      const rounds = (candidate: (typeof candidates)[number]) => median(candidate.windows.flat());
      const leader = Math.max(...candidates.map(rounds));
      for (const candidate of candidates)
        if (rounds(candidate) < leader * cutoff) candidate.active = false;
      // Two windows that name the same count by a clear margin settle it: a third is measured
      // only where one of them may have fallen in a slow span.
      if (round === 2 * ROUNDS_PER_WINDOW - 1) {
        const active = candidates.filter((candidate) => candidate.active);
        const windowRates = [0, 1].map(
          (index) =>
            new Map(active.map((c) => [c.threads, median(c.windows[index] ?? [])] as const)),
        );
        const [first, second] = windowRates.map(clearLead);
        if (first !== null && first === second) break;
      }
    }
  } finally {
    for (const { context, samplers } of candidates) {
      samplers?.dispose();
      await context.dispose();
    }
  }
  return new Map(
    candidates.map((candidate) => [candidate.threads, windowedRate(candidate.windows)]),
  );
}

/**
 * A count's rate from its windows of rounds: the best window's median.
 *
 * The median within a window, not the best round: on a shared machine a count whose speed swings
 * (two threads whose team waits for a core another process holds) has the occasional fast round
 * and is slow in most; best-of-8 rounds picked 2 threads for small in 2 of 10 fresh calibrations
 * under load while 1 thread was 1.5–6× faster in the same minute. The best of three windows, not
 * one window: on this 2-core VM two threads now and then run no faster than one for 0.2–0.6 s
 * while one thread does not notice (2-thread/1-thread ratio ~1.4, but ≤ 1.08 in 32 of 270
 * windows of ~0.2 s, up to three in a row, with no steal time accounted), and a calibration of
 * one window that fell in such a span picked 1 thread for small in 2 of 10 fresh calibrations
 * while 2 threads were 1.4× faster for the rest of the minute (docs/engine-performance.md). A
 * count slow in every window is slow; one slow in one window was unlucky.
 *
 *   [[3000, 3100, 3050], [4400, 4500, 4450], [4300, 4400, 4350]] → 4450
 *   [[900, 4000, 950], [1000, 980, 990]]                         → 990   (a fast round is luck)
 *   []                                                            → 0     (never measured)
 */
export function windowedRate(windows: readonly (readonly number[])[]): number {
  const medians = windows.filter((window) => window.length > 0).map(median);
  return medians.length === 0 ? 0 : Math.max(...medians);
}

/** p50 of a count's rounds (stats.ts's percentile: linear between order statistics). */
function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((x, y) => x - y),
    50,
  );
}

/** Generation tok/s through node-llama-cpp's public evaluate path (when llem's loops cannot run). */
async function evaluateRate(
  context: Awaited<ReturnType<LoadedModel["createContext"]>>,
  prompt: ReturnType<LoadedModel["tokenize"]>,
) {
  const sequence = context.getSequence();
  let generated = 0;
  let firstAt = 0;
  for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
    if (generated === 0) firstAt = performance.now();
    generated++;
    if (generated > GENERATED_TOKENS) break;
  }
  sequence.dispose();
  return GENERATED_TOKENS / ((performance.now() - firstAt) / 1000);
}

/**
 * The count that leads every other by at least CLEAR_LEAD in these rates, or null if none does.
 *
 *   {1: 3000, 2: 4400} → 2   {1: 3100, 2: 3050} → null   {1: 900, 2: 300} → 1   {2: 4400} → 2
 */
export function clearLead(rates: ReadonlyMap<number, number>): number | null {
  const sorted = [...rates].sort((a, b) => b[1] - a[1]);
  const [first, second] = sorted;
  if (first === undefined) return null;
  return second === undefined || first[1] >= second[1] * (1 + CLEAR_LEAD) ? first[0] : null;
}
const CLEAR_LEAD = 0.1;

/** Counts within this fraction of the fastest median are a tie. */
export const THREAD_TIE = 0.03;

/**
 * The thread count to use from each count's median rate: the fastest, except that a count within
 * 3 % of it (the calibration cannot tell them apart on a shared machine) with fewer threads wins
 * the tie — fewer threads cost less CPU time per token and are less exposed to other processes.
 *
 *   {1: 3156, 2: 3098} → 1   (a tie: fewer threads)
 *   {1: 300, 2: 439}   → 2   (46 % faster)
 *   {1: 1000, 2: 1020} → 1   (2 % is a tie)
 */
export function pickThreads(rates: ReadonlyMap<number, number>): number {
  const best = Math.max(...rates.values());
  const tied = [...rates].filter(([, rate]) => rate >= best * (1 - THREAD_TIE));
  return Math.min(...tied.map(([threads]) => threads));
}

const inFlight = new Map<string, Promise<number>>();

/**
 * The fastest thread count for this machine, binary and model, from the cache or measured now on
 * the loaded model (every count from 1 to the physical cores × 3 windows of 8 interleaved rounds
 * × 32 tokens, the best window's median of each).
 */
export function defaultThreadCount(
  llama: Llama,
  model: LoadedModel,
  identity: ModelIdentity,
  cacheDir: string,
): Promise<number> {
  const key = calibrationKey(llama, identity);
  let pending = inFlight.get(key);
  if (!pending) {
    pending = calibrate(llama, model, cacheDir, key);
    inFlight.set(key, pending);
    pending.catch(() => inFlight.delete(key));
  }
  return pending;
}

async function calibrate(
  llama: Llama,
  model: LoadedModel,
  cacheDir: string,
  key: string,
): Promise<number> {
  const path = join(cacheDir, "thread-calibration.json");
  const cached = readCalibration(path).entries[key];
  if (cached) return cached.threads;
  const maxThreads = Math.max(1, Math.min(llama.cpuMathCores, cpus().length, 16));
  const candidates = Array.from({ length: maxThreads }, (_, index) => index + 1);
  if (candidates.length === 1) return 1;
  const rates = await generationRate(llama, model, candidates);
  const fastest = pickThreads(rates);
  mkdirSync(cacheDir, { recursive: true });
  const file = readCalibration(path);
  file.entries[key] = {
    threads: fastest,
    tokens_per_s: Object.fromEntries(
      [...rates].map(([threads, rate]) => [String(threads), Math.round(rate)]),
    ),
    measured_at: new Date().toISOString(),
  };
  await writeJsonAtomic(path, file);
  return fastest;
}

/** What the cache says for this machine, for reports (`llem doctor`, results). */
export function cachedThreadCalibration(
  llama: Llama,
  identity: ModelIdentity,
  cacheDir: string,
): CalibrationFile["entries"][string] | null {
  return (
    readCalibration(join(cacheDir, "thread-calibration.json")).entries[
      calibrationKey(llama, identity)
    ] ?? null
  );
}
